"""Unit tests of fit: the article run, determinism, hand-computed steps, errors."""

import gc
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gluonlr import FitResult, epoch_order, fit, gluon, initial_params, manual, synthetic_data
from gluonlr._mxnet import autograd, nd
from gluonlr.data import EpochData
from gluonlr.data import batches as data_module
from gluonlr.testing.strategies import datasets, fit_configs


@pytest.fixture(scope="module")
def article_data():
    return synthetic_data()


def test_article_run_converges(article_data, path):
    result = fit(*article_data, path=path)
    assert isinstance(result, FitResult)
    assert result.path == path
    assert result.weight.shape == (2,) and result.weight.dtype == np.float32
    assert isinstance(result.bias, float)
    np.testing.assert_allclose(result.weight, [2, 51], atol=1e-2)
    assert abs(result.bias - 21.2) < 1e-2
    loss = result.history["loss"]
    assert len(loss) == 10
    assert loss[-1] < 1e-3 < loss[0]  # reaches the noise floor (noise variance is 1e-4)


def test_gluon_conventions_take_smaller_steps(article_data, path):
    """Gluon's habits (L2Loss, step(batch_size)) take 20x smaller steps: far from the truth after 10 epochs."""
    result = fit(*article_data, path=path, loss="l2", reduction="mean")
    assert np.abs(result.weight - [2, 51]).max() > 1


def test_same_seed_same_result(article_data, path):
    first, second = fit(*article_data, path=path, seed=3), fit(*article_data, path=path, seed=3)
    np.testing.assert_array_equal(first.weight, second.weight)
    assert first.bias == second.bias
    assert first.history == second.history


def test_seed_changes_init_and_order(article_data, path):
    """The seed draws the initial parameters (a seed's run is the run from its initial_params) and the order of
    the samples (from the same start, two seeds end apart)."""
    w1, b1 = initial_params(2, seed=1)
    assert not np.array_equal(w1, initial_params(2, seed=2)[0])
    seeded = fit(*article_data, path=path, seed=1, epochs=1)
    assert seeded.weight.tobytes() == fit(*article_data, path=path, seed=1, epochs=1, init_weight=w1).weight.tobytes()
    other_order = fit(*article_data, path=path, seed=2, epochs=1, init_weight=w1, init_bias=b1)
    assert not np.array_equal(seeded.weight, other_order.weight) and seeded.bias != other_order.bias


def test_fit_does_not_modify_inputs(article_data, path):
    X, y = article_data
    X64, y64 = X.astype(np.float64), y.astype(np.float64)
    X_copy, y_copy = X64.copy(), y64.copy()
    fit(X64, y64, path=path, epochs=1)
    np.testing.assert_array_equal(X64, X_copy)
    np.testing.assert_array_equal(y64, y_copy)


@pytest.mark.filterwarnings("ignore::gluonlr.errors.WorseThanMeanWarning")  # a step or two: worse than the mean
def test_accepts_lists_and_integers(path):
    """Lists of ints (data, init_weight, init_bias) train exactly as float32 arrays of the same values."""
    kwargs = dict(path=path, epochs=2, batch_size=2, lr=0.01)
    from_lists = fit([[0], [1], [2]], [1, 3, 5], init_weight=[0], init_bias=1, **kwargs)
    X, y = np.array([[0.0], [1.0], [2.0]], np.float32), np.array([1.0, 3.0, 5.0], np.float32)
    from_arrays = fit(X, y, init_weight=np.zeros(1, np.float32), init_bias=1.0, **kwargs)
    assert from_lists.weight.dtype == np.float32 and from_lists.weight.tobytes() == from_arrays.weight.tobytes()
    assert from_lists.bias == from_arrays.bias and from_lists.history == from_arrays.history
    assert from_lists.weight[0] != 0 and from_lists.predict([[3]]).tolist() == from_arrays.predict(X[:1] + 3).tolist()


def test_one_step_by_hand(path):
    """One sample x=1, y=1 from w=0, b=0: loss 1, gradient -2 on both, so w = b = 2 * lr."""
    result = fit([[1.0]], [1.0], path=path, epochs=1, lr=0.1, init_weight=[0.0], init_bias=0.0)
    np.testing.assert_allclose(result.weight, [0.2], rtol=1e-6)
    assert result.bias == pytest.approx(0.2, rel=1e-6)
    assert result.history["loss"] == [1.0]


@pytest.mark.parametrize(
    ("loss", "reduction", "expected"),
    [
        # Two samples x=1, y=1 and x=1, y=3 in one batch from w=b=0: residuals -1, -3.
        # Summed gradient of c*r^2 w.r.t. w (and b): 2c * (-1 - 3) = -8c.
        ("squared", "sum", 0.8),  # lr 0.1 * 8
        ("squared", "mean", 0.4),  # divided by the batch's 2 samples
        ("l2", "sum", 0.4),
        ("l2", "mean", 0.2),
    ],
)
@pytest.mark.filterwarnings("ignore::gluonlr.errors.WorseThanMeanWarning")  # a step or two: worse than the mean
def test_conventions_by_hand(path, loss, reduction, expected):
    result = fit(
        [[1.0], [1.0]],
        [1.0, 3.0],
        path=path,
        loss=loss,
        reduction=reduction,
        lr=0.1,
        batch_size=2,
        epochs=1,
        init_weight=[0.0],
    )
    np.testing.assert_allclose(result.weight, [expected], rtol=1e-6)
    assert result.bias == pytest.approx(expected, rel=1e-6)
    c = 1.0 if loss == "squared" else 0.5
    assert result.history["loss"] == [pytest.approx(c * (1 + 9) / 2)]


def test_short_last_batch_is_divided_by_its_own_size(path):
    """Three samples x=1, y=1 in batches of 2, reduction 'mean', lr 0.1, from w=b=0.

    Batch 1 (2 samples): residuals -1, summed gradient -4, divided by 2: w = b = 0.2.
    Batch 2 (1 sample): residual -0.6, gradient -1.2, divided by its own size 1:
    w = b = 0.32 (dividing by the nominal batch size 2 would give 0.26).
    """
    X, y = np.ones((3, 1), np.float32), np.ones(3, np.float32)
    result = fit(X, y, path=path, reduction="mean", lr=0.1, batch_size=2, epochs=1, init_weight=[0])
    np.testing.assert_allclose(result.weight, [0.32], rtol=1e-6)
    assert result.bias == pytest.approx(0.32, rel=1e-6)


def test_initial_params_are_shared_and_seeded():
    w, b = initial_params(3, seed=5)
    np.testing.assert_array_equal(w, np.random.default_rng(5).standard_normal(3).astype(np.float32))
    assert b == 0.0


def test_both_paths_start_from_the_same_parameters():
    w, b = initial_params(2, seed=0)
    mw, mb = manual.init_params(w, b)
    dense = gluon.init_params(w, b)
    np.testing.assert_array_equal(mw.asnumpy().ravel(), dense.weight.data().asnumpy().ravel())
    np.testing.assert_array_equal(mb.asnumpy(), dense.bias.data().asnumpy())


@pytest.mark.parametrize(("n", "batch_size"), [(7, 3), (6, 3), (5, 9), (1, 1)])
def test_both_paths_see_the_same_batches(n, batch_size):
    X = np.arange(n, dtype=np.float32).reshape(n, 1)
    y = X[:, 0] * 10
    manual_data, gluon_data = EpochData(X, y, batch_size), EpochData(X, y, batch_size)
    sampler = gluon.EpochBatchSampler(gluon_data, seed=7)
    loader = gluon.fast_batches(gluon_data, sampler)
    for epoch in range(2):
        order = epoch_order(n, seed=7, epoch=epoch)
        manual_batches = [(xb.asnumpy(), yb.asnumpy()) for xb, yb in manual.fast_batches(manual_data, order)]
        sampler.set_epoch(epoch)
        gluon_batches = [(xb.asnumpy(), yb.asnumpy()) for xb, yb in loader]
        assert len(manual_batches) == len(gluon_batches) == -(-n // batch_size)
        for (mx_, my), (gx, gy) in zip(manual_batches, gluon_batches, strict=True):
            np.testing.assert_array_equal(mx_, gx)
            np.testing.assert_array_equal(my, gy)
        assert np.concatenate([b[0][:, 0] for b in manual_batches]).tolist() == order.tolist()
        assert np.concatenate([b[1][:, 0] for b in manual_batches]).tolist() == (order * 10).tolist()


def test_epoch_data_without_cached_views(monkeypatch):
    """Past _MAX_CACHED_VIEWS batches, EpochData slices each batch when asked, with the same result."""
    monkeypatch.setattr(data_module, "_MAX_CACHED_VIEWS", 1)
    X = np.arange(7, dtype=np.float32).reshape(7, 1)
    order = epoch_order(7, seed=3, epoch=0)
    batches = manual.fast_batches(EpochData(X, X[:, 0], 3), order)
    assert [xb.asnumpy().ravel().tolist() for xb, _ in batches] == [order[:3].tolist(), order[3:6].tolist(), [order[6]]]


def test_epoch_data_waits_for_pending_reads():
    """Refilling the buffer for the next epoch never changes what the previous epoch's queued operators read."""
    n = 2000
    X = np.arange(n, dtype=np.float32).reshape(n, 1)
    data = EpochData(X, X[:, 0], n)
    ((x, _),) = data.batches(np.arange(n))
    sums = [nd.dot(x.T, x) for _ in range(50)]  # queued, reading the buffer
    data.gather(np.arange(n)[::-1].copy() * 0)  # would change the result if it did not wait
    expected = float((X[:, 0].astype(np.float64) ** 2).sum())
    assert all(s.asscalar() == pytest.approx(expected) for s in sums)


def test_epoch_order_ignores_global_random_state():
    np.random.seed(1)  # noqa: NPY002  (the legacy global state is the point)
    first = epoch_order(10, seed=0, epoch=0)
    np.random.seed(2)  # noqa: NPY002
    np.testing.assert_array_equal(first, epoch_order(10, seed=0, epoch=0))
    assert not np.array_equal(first, epoch_order(10, seed=0, epoch=1))


def test_predict(article_data, path):
    X, y = article_data
    result = fit(X, y, path=path)
    prediction = result.predict(X)
    assert prediction.shape == (300,) and prediction.dtype == np.float32
    np.testing.assert_allclose(prediction, X @ result.weight + result.bias, rtol=1e-6)
    assert np.abs(prediction - y).max() < 0.1


def test_result_records_its_parameters(article_data):
    result = fit(*article_data, lr=0.02, epochs=2)
    assert result.params == dict(
        loss="squared",
        rho=1.0,
        reduction="sum",
        lr=0.02,
        standardize=False,
        standardize_target=False,
        batch_size=10,
        epochs=2,
        tol=None,
        n_iter_no_change=5,
        seed=0,
        shuffle=True,
        init="normal",
        fit_intercept=True,
        optimizer="sgd",
        momentum=0.0,
        nesterov=False,
        beta1=0.9,
        beta2=0.999,
        epsilon=1e-8,
        penalty=None,
        alpha=0.0001,
        l1_ratio=0.15,
        average=False,
        lr_schedule={"name": "constant"},
        dtype="float32",
        validation_split=0.0,
        metrics=[],
        sample_weight=False,
        early_stopping=None,
    )
    json.dumps(result.params)  # plain values: checkpoints store them as JSON


def test_fast_sgd_is_the_articles_update():
    """The fused in-place step equals the article's param[:] = param - lr / d * param.grad."""
    rng = np.random.default_rng(0)
    X, y = nd.array(rng.standard_normal((7, 3))), nd.array(rng.standard_normal(7))
    params = manual.init_params(rng.standard_normal(3), 0.5)
    with autograd.record():
        loss = manual.make_loss("squared")(manual.net(X, *params), y)
    loss.backward()
    expected = [(p - 0.05 / 7 * p.grad).asnumpy() for p in params]
    manual.fast_sgd(params, lr=0.05, divisor=7)
    for param, value in zip(params, expected, strict=True):
        np.testing.assert_allclose(param.asnumpy(), value, rtol=1e-6)


def test_epoch_losses_are_read_once_per_epoch(path, monkeypatch):
    """History and the divergence check read from the device once per epoch, never once per batch; the check's
    passes read the parameters once each and compute on the host."""
    reads = {"asscalar": [], "asnumpy": []}
    for method, calls in reads.items():
        original = getattr(nd.NDArray, method)

        def counted(self, calls=calls, original=original):
            calls.append(1)
            return original(self)

        monkeypatch.setattr(nd.NDArray, method, counted)
    counts = []
    for batch_size in (5, 1):  # 10 and 50 batches per epoch
        fit(*synthetic_data(n=50), path=path, epochs=3, batch_size=batch_size)
        counts.append({method: len(calls) for method, calls in reads.items()})
        assert len(reads["asscalar"]) == 3  # each epoch's loss
        reads["asscalar"].clear(), reads["asnumpy"].clear()
    # asnumpy: weight and bias at the start, after each epoch and at the end; for the divergence check's passes
    # of the initial and the fitted parameters (predicting 0 reads none); and the 3 inside asscalar
    assert counts == [{"asscalar": 3, "asnumpy": 2 * (1 + 3 + 1) + 2 * 2 + 3}] * 2


@settings(max_examples=15)
@given(dataset=datasets(max_samples=60, max_features=3), data=st.data())
@pytest.mark.filterwarnings("ignore::gluonlr.errors.WorseThanMeanWarning")  # random data, few epochs
def test_bitwise_deterministic(dataset, data):
    """The same arguments give bitwise the same weights and history, on both paths, run after run."""
    X, y = dataset
    config = data.draw(fit_configs(X))
    for path in ("manual", "gluon"):
        first, second = fit(X, y, path=path, **config), fit(X, y, path=path, **config)
        assert first.weight.tobytes() == second.weight.tobytes() and first.bias == second.bias
        assert first.history == second.history


@pytest.mark.slow
def test_bitwise_deterministic_across_processes(path):
    """The article's run is bitwise the same in other processes, with 1 or 2 OpenMP threads (the docs say so)."""
    script = (
        f"import gluonlr; r = gluonlr.fit(*gluonlr.synthetic_data(), path={path!r}, epochs=3); "
        "print(r.weight.tobytes().hex(), r.bias.hex(), [v.hex() for v in r.history['loss']])"
    )
    command = [sys.executable, "-c", script]
    outputs = {
        subprocess.run(
            command, capture_output=True, text=True, check=True, timeout=120, env={**os.environ, "OMP_NUM_THREADS": n}
        ).stdout
        for n in ("1", "2")
    }
    assert len(outputs) == 1
    here = fit(*synthetic_data(), path=path, epochs=3)
    assert outputs.pop().split()[0] == here.weight.tobytes().hex()


def test_fit_leaves_no_learner_behind(path):
    """No reference cycle keeps a finished fit's device buffers alive until the garbage collector's next pass,
    not even through a callback the caller keeps."""
    from gluonlr import PATHS
    from gluonlr.callbacks import EarlyStopping

    gc.collect()
    gc.disable()
    try:
        kept = EarlyStopping("loss")
        fit(*synthetic_data(n=50), path=path, epochs=2, early_stopping=kept)
        alive = [obj for obj in gc.get_objects() if isinstance(obj, PATHS[path] | EpochData)]
    finally:
        gc.enable()
    assert alive == [] and kept.run.learner is None


def test_the_gluon_path_leaves_no_object_frozen():
    """gluon.fast_batches freezes objects only while DataLoader's gc.collect runs; a program's own freeze stays.

    Frozen objects still die by reference count, so a freeze count can fall while fit runs: the checks
    are that fit adds none and does not unfreeze what the program froze (objects held here stay counted).
    """
    X, y = synthetic_data(50)
    before = gc.get_freeze_count()  # 0, or the few hundred objects Python 3.12 freezes itself
    fit(X, y, path="gluon", epochs=1, verbose=0)
    assert gc.get_freeze_count() <= before
    if before == 0:
        assert gc.get_freeze_count() == 0
    held = [[] for _ in range(1000)]  # tracked by gc, alive until the end of the test
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen >= len(held)
        fit(X, y, path="gluon", epochs=1, verbose=0)
        assert len(held) <= gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()
