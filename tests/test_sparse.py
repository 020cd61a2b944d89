"""A scipy.sparse X trains on MXNet's sparse storage, on both paths, to the fit of the same X densified (issue 26).

Tolerances: the sparse fit multiplies with ``nd.sparse.dot`` (CSR x dense) and steps with ``sgd_update(...,
lazy_update=True)``, the dense one with ``nd.dot``/``FullyConnected`` and ``multi_sgd_update``: the same
arithmetic in another order, float32 round-off apart at each step, which a few epochs of SGD carry on.
``RTOL``/``ATOL`` allow that, relative to the weights' scale.
"""

import json
import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given
from hypothesis import strategies as st

import gluonlr
from gluonlr.conventions import LOSSES
from gluonlr.data import SparseSource, epoch_data
from gluonlr.sklearn import LinearRegressor

RTOL, ATOL = 1e-4, 1e-5

PATHS = ("manual", "gluon")


@pytest.fixture(params=PATHS)
def path(request):
    return request.param


def _quiet_fit(X, y, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # WorseThanMean and the like, on random data
        return gluonlr.fit(X, y, verbose=0, **options)


@st.composite
def sparse_problems(draw):
    """A random CSR X (some empty rows and columns), y of one or two outputs, and the options sparse X takes."""
    n = draw(st.integers(5, 60))
    d = draw(st.integers(1, 30))
    density = draw(st.sampled_from([0.05, 0.2, 0.6]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    X = scipy.sparse.random(n, d, density=density, random_state=seed, format="csr", dtype=np.float64)
    X.data = rng.uniform(-2.0, 2.0, X.nnz)
    outputs = draw(st.sampled_from([None, 2]))
    y = rng.standard_normal(n if outputs is None else (n, outputs))
    options = {
        "loss": draw(st.sampled_from(LOSSES)),
        "reduction": draw(st.sampled_from(["sum", "mean"])),
        "batch_size": draw(st.integers(1, n + 3)),
        "epochs": draw(st.integers(1, 3)),
        "lr_schedule": draw(st.sampled_from([None, "cosine"])),
        "init": draw(st.sampled_from(["normal", "zeros"])),
        "seed": draw(st.integers(0, 100)),
    }
    options["lr"] = 0.02 / (options["batch_size"] if options["reduction"] == "sum" else 1)
    if draw(st.booleans()):
        options["sample_weight"] = rng.uniform(0.1, 2.0, n)
    if draw(st.booleans()):
        options["validation_split"] = 0.25 if n >= 8 else 0.0
        options["metrics"] = ("r2", "mae")
    return X, y, options


@pytest.mark.slow
@given(sparse_problems())
def test_sparse_fit_equals_the_densified_fit_on_both_paths(problem):
    X, y, options = problem
    results = {}
    for path in PATHS:
        sparse = _quiet_fit(X, y, path=path, **options)
        dense = _quiet_fit(X.toarray(), y, path=path, **options)
        np.testing.assert_allclose(sparse.weight, dense.weight, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(sparse.bias, dense.bias, rtol=RTOL, atol=ATOL)
        for key, values in dense.history.items():
            np.testing.assert_allclose(sparse.history[key], values, rtol=RTOL, atol=ATOL, err_msg=key)
        results[path] = sparse
    np.testing.assert_allclose(results["manual"].weight, results["gluon"].weight, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(results["manual"].bias, results["gluon"].bias, rtol=RTOL, atol=ATOL)


def test_one_step_from_zero_is_the_hand_computed_one(path):
    # x = [[0, 2]], y = 1, w = b = 0: residual -1, gradient of the squared loss 2 * (-1) * [0, 2] = [0, -4], b: -2.
    X = scipy.sparse.csr_matrix(np.array([[0.0, 2.0]]))
    result = _quiet_fit(X, [1.0], path=path, epochs=1, batch_size=1, init="zeros", lr=0.1)
    np.testing.assert_allclose(result.weight, [0.0, 0.4], rtol=1e-6)
    assert result.bias == pytest.approx(0.2)


def test_batches_are_csr_rows_over_their_columns_in_the_dense_order():
    X = scipy.sparse.random(23, 7, density=0.3, random_state=0, format="csr", dtype=np.float32)
    y = np.arange(23.0, dtype=np.float32)
    order = gluonlr.data.epoch_order(23, seed=3, epoch=1)
    sparse, dense = epoch_data(SparseSource(X), y, 5), epoch_data(X.toarray(), y, 5)
    for (xs, ys), (xd, yd) in zip(sparse.batches(order), dense.batches(order), strict=True):
        assert xs.x.stype == "csr" and xs.shape == xd.shape
        columns = xs.columns.asnumpy()
        assert (np.diff(columns) > 0).all()  # ascending, each once
        whole = np.zeros(xd.shape, np.float32)
        whole[:, columns] = xs.x.asnumpy()  # the batch's columns put back where they are in X
        np.testing.assert_array_equal(whole, xd.asnumpy())
        assert set(columns) == set(np.flatnonzero(xd.asnumpy().any(axis=0)))  # the columns the rows store values in
        np.testing.assert_array_equal(ys.asnumpy(), yd.asnumpy())
    sparse.close()


def test_the_manual_step_keeps_the_gradient_row_sparse():
    from gluonlr.learners import ManualLearner

    X = scipy.sparse.random(40, 1000, density=0.005, random_state=0, format="csr", dtype=np.float32)
    data = gluonlr.data.prepare.prepare_data(X, np.ones(40))
    config = gluonlr.options.make_config(
        gluonlr.options.check_options(
            {name: option.default for name, option in gluonlr.options.OPTIONS.items()} | {"batch_size": 4}
        ),
        40,
        n_features=1000,
    )
    learner = ManualLearner(data.X, data.y, config, weight=np.zeros(1000), bias=0.0)
    batch = next(iter(learner.batches(0)))
    learner.train_step(*batch)
    w = learner.params[0]
    assert w.grad.stype == "row_sparse"
    # the batch's features only: the columns its rows store values in
    assert w.grad.indices.asnumpy().tolist() == batch[0].columns.asnumpy().tolist()
    assert set(w.grad.indices.asnumpy()) == set(X[batch_rows(learner, 0)].indices)
    learner.close()


def batch_rows(learner, epoch):
    """The rows of X in the learner's first batch of ``epoch``."""
    order = gluonlr.data.epoch_order(len(learner.data), learner.config.seed, epoch, learner.config.shuffle)
    return order[: learner.config.batch_size]


def test_a_batch_wider_than_mxnets_largest_array_trains(path):
    # 2,100 rows x 2**20 features is 2.2e9 values, over MXNet 1.9.1's 2**31 - 1: a CSR batch of the whole width
    # failed (its "Size of tensor ... larger than 2^31 elements"). One step of gradient descent from zero, by hand.
    n, d = 2_100, 2**20
    rng = np.random.default_rng(0)
    X = scipy.sparse.random(n, d, density=3 / d, random_state=rng, format="csr", dtype=np.float32)
    y = rng.standard_normal(n).astype(np.float32)
    result = _quiet_fit(X, y, path=path, epochs=1, batch_size=n, init="zeros", lr=0.5, reduction="mean")
    # the squared loss (y - b - Xw)^2 from w = b = 0: the gradient is -2 X^T y / n (mean), and -2 mean(y) for b
    expected = 0.5 * 2 * (X.T.astype(np.float64) @ y.astype(np.float64)) / n
    np.testing.assert_allclose(result.weight, expected, rtol=1e-5, atol=1e-7)
    assert result.bias == pytest.approx(0.5 * 2 * y.astype(np.float64).mean(), rel=1e-5)


def test_empty_rows_and_a_batch_of_no_values_train(path):
    # rows with no stored value, and a whole batch of them: only the bias moves on that batch
    X = scipy.sparse.csr_matrix(np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 2.0], [0.0, 0.0, 0.0]]))
    y = np.array([1.0, 2.0, 3.0, 4.0])
    sparse = _quiet_fit(X, y, path=path, epochs=3, batch_size=2, init="zeros", lr=0.05, shuffle=False)
    dense = _quiet_fit(X.toarray(), y, path=path, epochs=3, batch_size=2, init="zeros", lr=0.05, shuffle=False)
    np.testing.assert_allclose(sparse.weight, dense.weight, rtol=1e-6)
    assert sparse.weight[1] == 0.0  # a column with no value never moves
    assert sparse.bias == pytest.approx(dense.bias, rel=1e-6)


def test_any_scipy_format_is_read_once_as_csr(path):
    rng = np.random.default_rng(0)
    dense = scipy.sparse.random(30, 6, density=0.3, random_state=1, dtype=np.float64).toarray()
    y = rng.standard_normal(30)
    expected = _quiet_fit(dense, y, path=path, epochs=2)
    for form in ("coo", "csc", "lil", "dok", "bsr"):
        X = scipy.sparse.csr_matrix(dense).asformat(form)
        result = _quiet_fit(X, y, path=path, epochs=2)
        np.testing.assert_allclose(result.weight, expected.weight, rtol=RTOL, atol=ATOL, err_msg=form)
    as_array = _quiet_fit(scipy.sparse.csr_array(dense), y, path=path, epochs=2)
    np.testing.assert_allclose(as_array.weight, expected.weight, rtol=RTOL, atol=ATOL)


def test_the_users_matrix_is_not_modified():
    X = scipy.sparse.coo_matrix((np.array([1.0, 2.0, 3.0]), (np.array([0, 0, 1]), np.array([1, 1, 0]))), (2, 3))
    before = (X.data.copy(), X.row.copy(), X.col.copy())
    _quiet_fit(X, [1.0, 2.0], epochs=1)  # duplicates (0, 1) summed in fit's copy, not in X
    for array, old in zip((X.data, X.row, X.col), before, strict=True):
        np.testing.assert_array_equal(array, old)


def test_standardize_scales_without_centring(path):
    # StandardScaler(with_mean=False): the fit of X / std, reported in the units of X.
    X = scipy.sparse.random(80, 5, density=0.4, random_state=2, format="csr", dtype=np.float64)
    X.data = X.data * 10.0
    y = np.asarray(X @ np.arange(1.0, 6.0)) + 1.0
    std = X.toarray().astype(np.float32).std(axis=0, dtype=np.float64)
    scaled = X.toarray().astype(np.float32) * (1.0 / std).astype(np.float32)
    options = {"path": path, "epochs": 3, "batch_size": 8, "reduction": "mean", "lr": 0.05, "init": "zeros"}
    result = _quiet_fit(X, y, standardize=True, **options)
    expected = _quiet_fit(scaled, y, **options)
    np.testing.assert_allclose(result.weight * std, expected.weight, rtol=RTOL, atol=ATOL)
    assert result.bias == pytest.approx(expected.bias, rel=RTOL, abs=ATOL)


@pytest.mark.parametrize(
    "options",
    [
        dict(fit_intercept=False, lr=0.05),
        dict(fit_intercept=False, standardize=True, lr="auto"),
        dict(shuffle=False, lr=0.05),
    ],
    ids=["no-intercept", "no-intercept-standardized-auto", "in-order"],
)
def test_fit_intercept_and_shuffle_on_sparse_data_equal_the_densified_fit(path, options):
    rng = np.random.default_rng(0)
    X = scipy.sparse.random(200, 30, density=0.2, random_state=0, format="csr", dtype=np.float32)
    y = X @ rng.standard_normal(30)
    sparse = _quiet_fit(X, y, path=path, epochs=3, reduction="mean", **options)
    dense = _quiet_fit(X.toarray(), y, path=path, epochs=3, reduction="mean", **options)
    np.testing.assert_allclose(sparse.weight, dense.weight, rtol=1e-5, atol=1e-6)
    assert sparse.lr == dense.lr and abs(sparse.bias - dense.bias) <= 1e-6
    assert options.get("fit_intercept", True) or sparse.bias == 0.0


def test_lr_auto_samples_rows_as_for_dense(path):
    X = scipy.sparse.random(200, 12, density=0.3, random_state=3, format="csr", dtype=np.float64)
    y = np.asarray(X @ np.ones(12))
    sparse = _quiet_fit(X, y, path=path, lr="auto", epochs=2)
    dense = _quiet_fit(X.toarray(), y, path=path, lr="auto", epochs=2)
    assert sparse.lr == pytest.approx(dense.lr, rel=1e-6)
    np.testing.assert_allclose(sparse.weight, dense.weight, rtol=RTOL, atol=ATOL)


def wide_csr(n, d, per_row, seed=0, dtype=np.float32):
    """A CSR matrix of ``per_row`` random columns a row (``scipy.sparse.random`` draws from all n * d positions)."""
    rng = np.random.default_rng(seed)
    indices = np.sort(rng.integers(0, d, (n, per_row)), axis=1).ravel()
    indptr = np.arange(0, n * per_row + 1, per_row)
    X = scipy.sparse.csr_matrix((rng.standard_normal(n * per_row).astype(dtype), indices, indptr), shape=(n, d))
    X.sum_duplicates()
    return X


def test_lr_auto_on_wide_data_densifies_only_the_sample():
    X = wide_csr(3000, 2**20, 10, seed=4)
    result = _quiet_fit(X, np.ones(3000), lr="auto", epochs=1, batch_size=100, standardize=True)
    assert 0 < result.lr < np.inf


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"optimizer": "adam"}, "optimizer"),
        ({"momentum": 0.9}, "momentum"),
        ({"momentum": 0.9, "nesterov": True}, "momentum"),
        ({"weight_decay": 0.01}, "weight_decay"),
        ({"penalty": "l2"}, "penalty"),
        ({"penalty": "l1"}, "penalty"),
        ({"ctx": "cpu:0,cpu:1"}, "ctx"),
        ({"dtype": "float64"}, "dtype"),
    ],
)
def test_options_sparse_cannot_train_with_are_refused(options, name):
    X = scipy.sparse.random(10, 3, density=0.5, random_state=0, format="csr")
    with pytest.raises(ValueError, match=rf"The '{name}' parameter of fit is .* a sparse X cannot train with: .*Pass"):
        gluonlr.fit(X, np.ones(10), **options)


def test_float64_sparse_data_trains_in_float32():
    X = scipy.sparse.random(20, 3, density=0.5, random_state=0, format="csr", dtype=np.float64)
    assert _quiet_fit(X, np.ones(20), dtype="auto").dtype == "float32"  # the estimator's dtype="auto"


def test_sparse_y_is_refused():
    X = scipy.sparse.random(10, 3, density=0.5, random_state=0, format="csr")
    with pytest.raises(TypeError, match=r"y passed to fit is a sparse csr_matrix; only X may be sparse"):
        gluonlr.fit(X, scipy.sparse.csr_matrix(np.ones((10, 1))))


def test_nan_in_a_sparse_x_is_named_by_row():
    X = scipy.sparse.csr_matrix(np.array([[0.0, 1.0], [0.0, 0.0], [np.nan, 0.0]]))
    with pytest.raises(ValueError, match=r"X passed to fit contains NaN or infinity .* first in row 2"):
        gluonlr.fit(X, np.ones(3))


def test_predict_score_save_and_load_take_sparse_x(path, tmp_path):
    X = scipy.sparse.random(50, 8, density=0.3, random_state=5, format="csr", dtype=np.float64)
    y = np.asarray(X @ np.arange(8.0)) + 0.5
    result = _quiet_fit(X, y, path=path, epochs=5)
    np.testing.assert_allclose(result.predict(X.tocoo()), result.predict(X.toarray()), rtol=1e-6, atol=1e-6)
    assert result.score(X, y) == pytest.approx(result.score(X.toarray(), y), rel=1e-6)
    gluonlr.save(result, tmp_path / "m.params")
    loaded = gluonlr.load(tmp_path / "m.params")
    np.testing.assert_array_equal(loaded.predict(X), result.predict(X))
    assert pickle.loads(pickle.dumps(result)).predict(X).shape == (50,)


def test_the_estimator_takes_sparse_x(path):
    X = scipy.sparse.random(120, 10, density=0.3, random_state=6, format="csr", dtype=np.float64)
    y = np.asarray(X @ np.linspace(-1.0, 1.0, 10)) + 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LinearRegressor(path=path, epochs=200).fit(X, y)  # standardize=True: scaled only
    predictions = model.predict(X)
    np.testing.assert_allclose(predictions, model.predict(X.toarray()), rtol=1e-10, atol=1e-10)
    assert model.score(X, y) > 0.99
    assert model.score(X.tocsc(), y) == pytest.approx(model.score(X.toarray(), y))


# Memory: a fresh interpreter builds a 20,000 x 2**18 CSR X with 20 non-zeros a row (about 3 MiB of CSR; 20 GiB
# dense), warms up on a tiny sparse fit, then samples RssAnon (every 2 ms, from a thread) while one epoch of fit runs.
MEMORY_SCRIPT = r"""
import json, sys

sys.setswitchinterval(0.001)
sys.path.insert(0, sys.argv[1])

import numpy as np
import gluonlr
from memory_probe import peak_growth
from test_sparse import wide_csr

path, options = sys.argv[2], json.loads(sys.argv[3])
n, d, per_row = 20_000, 2**18, 20
X = wide_csr(n, d, per_row, seed=0)
y = np.asarray(X @ np.random.default_rng(1).standard_normal(d).astype(np.float32)) + 1.0
options = {"path": path, "epochs": 1, "batch_size": 1000, "loss": "l2", "reduction": "mean", "lr": 0.01, "verbose": 0,
           **options}

gluonlr.fit(wide_csr(200, d, per_row, seed=2), np.ones(200), **options)  # the warm-up
measured, result = peak_growth(lambda: gluonlr.fit(X, y, **options))
assert np.isfinite(result.weight).all()
csr_mib = (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 2**20
print(json.dumps({**measured, "csr": csr_mib, "weights": 4 * d / 2**20}))
"""

#: The anonymous memory a sparse fit may add: this many times the CSR data and the weights (4.2 MiB here), for
#: the batches' CSR copies on the host and the device, the weights, their gradient and the evaluation passes'
#: chunks, MXNet's memory pool and the reading thread. A dense 20,000 x 2**18 X is 20 GiB; a dense copy of one
#: batch (1000 rows) is 1 GiB.
MEMORY_MULTIPLE = 8


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads RssAnon from Linux's /proc/self/status")
@pytest.mark.parametrize("options", [{}, {"standardize": True, "lr": "auto"}], ids=["plain", "standardize-auto"])
def test_anonymous_memory_grows_with_the_non_zeros(path, options, popen):
    process = popen(
        [sys.executable, "-c", MEMORY_SCRIPT, str(Path(__file__).parent), path, json.dumps(options)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    measured = json.loads(stdout)
    assert measured["samples"] >= 10, measured
    bound = MEMORY_MULTIPLE * (measured["csr"] + measured["weights"])
    assert measured["growth"] <= bound, f"RssAnon grew by {measured['growth']:.1f} MiB, bound {bound:.1f}: {measured}"


def test_gradient_sum_adds_row_sparse_gradients_through_dense_buffers():
    """What a dist_sync job's store does with CSR batches' gradients, shown on two devices' "device" store: each
    row_sparse gradient becomes the sum, row_sparse still, its rows those any copy touched."""
    from gluonlr._mxnet import mx, nd
    from gluonlr.parallel import GradientSum

    devices = [mx.cpu(0), mx.cpu(1)]
    dense = [np.array([[1.0], [0.0], [2.0], [0.0]], np.float32), np.array([[0.0], [0.0], [3.0], [4.0]], np.float32)]
    grads = [[nd.array(value, ctx=device).tostype("row_sparse")] for value, device in zip(dense, devices, strict=True)]
    GradientSum(grads)()
    for (grad,), device in zip(grads, devices, strict=True):
        assert grad.stype == "row_sparse" and grad.context == device
        assert grad.asnumpy().tolist() == [[1.0], [0.0], [5.0], [4.0]]
        assert sorted(grad.indices.asnumpy().tolist()) == [0, 2, 3]
