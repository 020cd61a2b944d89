"""fit(standardize=True) and lr="auto": fits that work on raw data (issue 14, deliverable 3).

The acceptance test trains on the raw diabetes features shipped with scikit-learn; the property tests draw
badly scaled data (features on scales from 1e-3 to 1e4) and standardized data; the unit tests pin the rule's
numbers on hand-computable data, the units of every parameter in and out, the one pass over the data, the
checkpoints, and the error messages.
"""

import contextlib
import sys
import warnings
from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gluonlr import (
    PATHS,
    CheckpointError,
    ConvergenceWarning,
    DivergenceError,
    WorseThanMeanWarning,
    fit,
    load,
    synthetic_data,
)
from gluonlr.callbacks import Callback
from gluonlr.config import FitConfig
from gluonlr.data import sources
from gluonlr.metrics import scores
from gluonlr.scaling import FeatureStats, Standardized, Standardizer, auto_lr, largest_eigenvalues
from gluonlr.schedules import Cosine
from gluonlr.testing import (
    PATH_ATOL,
    PATH_RTOL,
    REFERENCE_RTOL,
    RowArray,
    assert_matches_reference,
    assert_runs_agree,
    record_fit,
    reference_fit,
)
from gluonlr.testing.strategies import ALL_LOSSES, OPTIMIZERS, SCHEDULES, datasets, fit_configs

#: The optimizers of fit by the names of gluonlr.testing.strategies.OPTIMIZERS.
OPTIMIZER_OPTIONS = {
    "sgd": {},
    "momentum": {"momentum": 0.9},
    "nesterov": {"momentum": 0.9, "nesterov": True},
    "adam": {"optimizer": "adam"},
}


def raw_article_data():
    """The article's data with features in other units: x1 in thousandths around 5000, x2 in thousands around -3."""
    X, y = synthetic_data()
    return (X * np.array([1000.0, 0.001]) + np.array([5000.0, -3.0])).astype(np.float32), y


def standardized(X):
    """X standardized in float64 (a constant column becomes 0), as float32."""
    X = np.asarray(X, dtype=np.float64)
    std = X.std(axis=0)
    return ((X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)).astype(np.float32)


class Start(Callback):
    """Record the parameters before the first epoch, in the units fit reports them."""

    def on_train_begin(self, logs=None):
        self.weight, self.bias = self.run.get_parameters()


# -- the acceptance test: the raw diabetes data ------------------------------------------------------------------


@pytest.fixture(scope="module")
def diabetes():
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True, scaled=False)
    A = np.column_stack([X, np.ones(len(X))])
    coefficients = np.linalg.lstsq(A, y, rcond=None)[0]
    residual = y - A @ coefficients
    closed_form = 1 - residual @ residual / np.sum((y - y.mean()) ** 2)
    return X, y, closed_form


@pytest.mark.slow  # over ~3 s: python -m pytest -m slow and CI run it
def test_raw_diabetes_features_reach_the_closed_form(diabetes, path):
    X, y, closed_form = diabetes
    assert closed_form == pytest.approx(0.5177, abs=1e-4)
    with pytest.raises(DivergenceError):  # the defaults, as a new user tries them: the starting point
        fit(X, y, path=path)
    result = fit(X, y, path=path, standardize=True, lr="auto", lr_schedule="cosine", epochs=100)
    assert result.score(X, y) >= closed_form - 0.01
    assert result.history["lr"][0] == pytest.approx(result.lr, rel=1e-3)  # the cosine's first update
    assert result.params["lr"] == "auto" and result.params["standardize"] is True


# -- lr="auto": the rule's numbers on data computed by hand ------------------------------------------------------

# Two rows x = 1 and x = -1: with the bias's column of ones, x~ = (1, 1) and (-1, 1), |x~|^2 = 2, and the mean of
# x~ x~^T over both rows is the identity.
X_HAND = np.array([[1.0], [-1.0]], np.float32)
Y_HAND = np.array([3.0, -3.0], np.float32)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (dict(batch_size=1), 1 / (2 * 2)),  # squared (curvature 2), one row: lambda = |x~|^2 = 2
        (dict(batch_size=2), 1 / (2 * 2 * 1)),  # squared, summed over 2 rows: 2 * lambda(identity)
        (dict(batch_size=2, loss="l2", reduction="mean"), 1.0),  # curvature 1, the mean: the identity
        (dict(batch_size=2, loss="l2", reduction="mean", weight_decay=1.0), 0.5),  # plus the decay
        (dict(batch_size=2, loss="huber", rho=0.5, reduction="mean"), 0.5),  # curvature 1 / rho
        (dict(batch_size=2, loss="l1", reduction="mean"), 1.0),  # no curvature: l2's rate
        (dict(batch_size=1, momentum=0.9), 0.1 / 4),  # (1 - momentum) / L
        (dict(batch_size=1, momentum=0.5, nesterov=True), 0.5 / 4),
        (dict(batch_size=1, sample_weight=[3.0, 1.0]), 1 / (2 * 3 * 2)),  # the heaviest row
        (dict(batch_size=2, optimizer="adam"), 0.05 * 3 / 2),  # 5% of RMS(y - 0) / mean |x~|_1
    ],
    ids=["one-row", "sum", "mean", "decay", "huber", "l1", "momentum", "nesterov", "weights", "adam"],
)
def test_the_rate_of_hand_computed_data(options, expected, path):
    result = fit(X_HAND, Y_HAND, path=path, lr="auto", epochs=1, init_weight=[0.0], init_bias=0.0, **options)
    assert result.lr == pytest.approx(expected, rel=1e-6)
    assert result.history["lr"] == [result.lr]


def test_the_rate_of_several_outputs_and_of_a_short_last_batch():
    # Two outputs: a sample's loss is the mean over them, half the curvature.
    two = fit(X_HAND, np.column_stack([Y_HAND, Y_HAND]), lr="auto", batch_size=1, epochs=1)
    assert two.lr == pytest.approx(1 / 2)
    # Three rows in batches of 2, the mean: the epoch's last batch is one row, whose mean step is |x~|^2 = 2,
    # more than any batch of two (at most 2 too, for two equal rows; 1 for x = 1 and -1).
    X = np.array([[1.0], [-1.0], [1.0]], np.float32)
    result = fit(X, np.zeros(3), lr="auto", batch_size=2, loss="l2", reduction="mean", epochs=1)
    assert result.lr == pytest.approx(1 / 2)
    four = fit(np.tile(X_HAND, (2, 1)), np.zeros(4), lr="auto", batch_size=2, loss="l2", reduction="mean", epochs=1)
    assert four.lr > 1 / 2  # no short batch: every batch of two rows counts, at most 2, at least 1


def test_largest_eigenvalues_match_numpy():
    rng = np.random.default_rng(1)
    batches = rng.standard_normal((6, 5, 4)) * np.array([100.0, 1.0, 0.01, 1.0])
    weights = rng.uniform(0, 2, (6, 5))
    expected = [np.linalg.eigvalsh(b.T @ (w[:, None] * b) / 5)[-1] for b, w in zip(batches, weights, strict=True)]
    np.testing.assert_allclose(largest_eigenvalues(batches, weights), expected, rtol=1e-5)


def test_the_rate_depends_on_the_data_not_the_seed():
    X, y = raw_article_data()
    rates = {fit(X, y, lr="auto", epochs=1, seed=seed, standardize=True).lr for seed in (0, 1, 2)}
    assert len(rates) == 1


def test_a_sample_without_weighted_rows_counts_every_row_as_the_heaviest():
    X, y = synthetic_data(n=40)
    sampled = np.random.default_rng(0).choice(40, 3, replace=False)  # the rows auto_lr samples, below
    weights = np.zeros(40, np.float32)
    weights[np.setdiff1d(np.arange(40), sampled)[0]] = 2.0  # one row weighs, not a sampled one
    with mock.patch("gluonlr.scaling.SAMPLE_ROWS", 3):
        chosen = auto_lr(X, y, FitConfig(batch_size=1), (np.zeros(2), 0.0), sample_weight=weights)
        unweighted = auto_lr(X, y, FitConfig(batch_size=1), (np.zeros(2), 0.0))
    assert chosen == pytest.approx(unweighted / 2)


def test_large_data_is_sampled_not_read():
    """lr="auto" reads SAMPLE_ROWS rows of a source, in increasing order, in one read."""
    X, y = synthetic_data(n=5000)
    rows = RowArray(X)
    auto_lr(sources.Source(rows), y, FitConfig(), (np.zeros(2), 0.0))
    assert rows.rows_read() == 4096 and len(rows.reads) == 1


# -- lr="auto" never diverges on badly scaled data ---------------------------------------------------------------


@st.composite
def badly_scaled(draw, max_samples=60, max_features=5):
    """(X, y): each feature on its own scale, 10**k for k in [-3, 4], some off-centre; y linear in X (each feature
    contributing alike), plus noise."""
    n = draw(st.integers(2, max_samples))
    d = draw(st.integers(1, max_features))
    values = st.floats(-2, 2, width=32).map(lambda value: 0.0 if abs(value) < 1e-6 else value)
    Z = draw(hnp.arrays(np.float64, (n, d), elements=values))
    scales = 10.0 ** draw(hnp.arrays(np.int64, (d,), elements=st.integers(-3, 4)))
    offsets = draw(hnp.arrays(np.float64, (d,), elements=st.sampled_from([0.0, 0.0, 1.0, 10.0]))) * scales
    w = draw(hnp.arrays(np.float64, (d,), elements=st.floats(-10, 10)))
    noise = draw(hnp.arrays(np.float64, (n,), elements=st.floats(-1, 1)))
    X = Z * scales + offsets
    y = Z @ w + draw(st.floats(-100, 100)) + noise
    return X.astype(np.float32), y.astype(np.float32)


@pytest.mark.slow  # over ~3 s: python -m pytest -m slow and CI run it
@given(data=st.data(), dataset=badly_scaled())
def test_auto_lr_never_diverges_on_badly_scaled_data(data, dataset):
    """With standardize=True and without: every loss, optimizer, reduction, batch size and schedule, sample weights,
    weight decay and validation; from far starts. fit raises DivergenceError when training diverges: none may."""
    X, y = dataset
    config = data.draw(
        fit_configs(
            X, y, losses=ALL_LOSSES, optimizers=OPTIMIZERS, weight_decay=True, sample_weight=True, validation=True,
            max_epochs=6, init_params=True,
        )
    )  # fmt: skip
    config.update(lr="auto", lr_schedule=data.draw(st.sampled_from(SCHEDULES)))
    path = data.draw(st.sampled_from(list(PATHS)))
    for standardize in (True, False):
        if not standardize and config["lr_schedule"] == "step":  # MXNet's step schedule never decays below 1e-8
            try:
                with warnings.catch_warnings():  # lr="auto" warns of the scales (tested below): not the question here
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    result = fit(X, y, path=path, standardize=standardize, **config)
            except ValueError as error:  # a rate below it would rise to it: refused (not diverged)
                assert "below the step schedule's floor of 1e-08" in str(error)
                continue
        with warnings.catch_warnings():  # as above: the scales' warning is tested on its own
            warnings.simplefilter("ignore", ConvergenceWarning)
            result = fit(X, y, path=path, standardize=standardize, **config)
        assert np.isfinite(result.weight).all() and np.isfinite(result.bias).all()
        assert np.isfinite(result.history["loss"]).all() and np.isfinite(result.predict(X)).all()
        assert 0 < result.lr < np.inf


@pytest.mark.slow  # over ~3 s: python -m pytest -m slow and CI run it
@pytest.mark.parametrize("optimizer", list(OPTIMIZER_OPTIONS))
@pytest.mark.parametrize("loss", ALL_LOSSES)
def test_each_optimizer_and_loss_fits_badly_scaled_features(optimizer, loss):
    """Features 1e-3 to 1e4 apart and off-centre: lr="auto" with standardize=True fits them with every optimizer
    and loss (each on one path, the paths in turn); lr="auto" alone is stable there, and slow (documented)."""
    path = list(PATHS)[(list(OPTIMIZER_OPTIONS).index(optimizer) + ALL_LOSSES.index(loss)) % 2]
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((200, 4))
    X = (Z * [1e-3, 1.0, 1e2, 1e4] + [0.0, 5.0, 1e3, 1e5]).astype(np.float32)
    y = (Z @ [3.0, -2.0, 1.0, 4.0] + 10.0 + 0.1 * rng.standard_normal(200)).astype(np.float32)
    options = dict(path=path, loss=loss, lr="auto", lr_schedule="cosine", epochs=20, **OPTIMIZER_OPTIONS[optimizer])
    both = fit(X, y, standardize=True, **options)
    assert both.score(X, y) > 0.99, both.lr
    warns = pytest.warns(ConvergenceWarning, match=r"differ by a factor of .*Pass standardize=True")
    with warns if optimizer != "adam" else contextlib.nullcontext():  # Adam scales each coordinate's step
        alone = fit(X, y, **options)  # no DivergenceError; from N(0, 1) weights on features of 1e5, barely moving
    assert np.isfinite(alone.weight).all() and alone.history["loss"][-1] <= alone.history["loss"][0]


# -- standardize=True ----------------------------------------------------------------------------------------------


@pytest.mark.slow  # over ~3 s: python -m pytest -m slow and CI run it
@given(data=st.data(), dataset=datasets(max_samples=80, max_outputs=2))
def test_standardize_on_standardized_data_changes_nothing(data, dataset):
    """On features already standardized, standardize=True is the same fit (to float32 round-off: the float32 mean
    and scale are 0 and 1 to about 1e-7), with every option, on either path."""
    X, y = dataset
    X = standardized(X)
    config = data.draw(fit_configs(X, y, losses=ALL_LOSSES, optimizers=OPTIMIZERS, max_epochs=6, init_params=True))
    path = data.draw(st.sampled_from(list(PATHS)))
    plain = record_fit(X, y, path=path, **config)
    scaled = record_fit(X, y, path=path, standardize=True, **config)
    assert_runs_agree(scaled, plain, rtol=10 * PATH_RTOL, atol=10 * PATH_ATOL, names=("standardize", "without"))


@pytest.mark.parametrize("path", PATHS)
@given(data=st.data(), dataset=datasets(max_samples=60, conditioning=("well", "ill-scaled")))
def test_standardize_matches_the_reference(path, data, dataset):
    """The float64 reference trains on the standardized features too (fit_configs(standardize=True) draws it in
    the equivalence tests with every other option); here always on, on features of scales 1 to 1e4 (1e6 with
    ill-scaled columns) off-centre, from far starts. A start of weights up to 10 in those units is one of weights
    up to 1e5 for the standardized features, and residuals as large: the bias, updated by their sums, is compared
    to the scale of the quantity (REFERENCE_RTOL of at least 1), not to its own size."""
    X, y = dataset
    X = (X * 10.0 ** np.arange(X.shape[1]) + 3.0).astype(np.float32)
    config = data.draw(fit_configs(X, y, max_epochs=6, init_params=True, validation=True, standardize=True))
    config["standardize"] = True
    assert_matches_reference(X, y, rtol=REFERENCE_RTOL, path=path, **config)


def test_weight_and_bias_are_in_the_units_of_X(path):
    X, y = raw_article_data()
    result = fit(X, y, path=path, standardize=True, lr="auto", lr_schedule="cosine", epochs=30)
    np.testing.assert_allclose(result.weight, [2 / 1000, 51 / 0.001], rtol=1e-3)
    np.testing.assert_allclose(result.bias, 21.2 - 5000 * 2 / 1000 + 3 * 51 / 0.001, rtol=1e-4)
    np.testing.assert_allclose(result.predict(X), X @ result.weight + result.bias, rtol=1e-6)
    assert result.score(X, y) > 0.9999


def test_constant_features_are_scaled_by_one_not_nan(path):
    X, y = synthetic_data()
    init = np.array([0.5, -0.5, 7.0, 2.0], np.float32)
    constants = np.column_stack([X, np.full(300, 5.0), np.zeros(300)]).astype(np.float32)
    with_constants = fit(constants, y, path=path, standardize=True, init_weight=init)
    without = fit(X, y, path=path, standardize=True, init_weight=init[:2])
    assert np.isfinite(with_constants.weight).all() and np.isfinite(with_constants.history["loss"]).all()
    # z = x - mean = 0: the constant features take no part; their weights stay where they started
    np.testing.assert_array_equal(with_constants.weight[2:], init[2:])
    np.testing.assert_allclose(with_constants.weight[:2], without.weight, rtol=1e-5)
    np.testing.assert_allclose(with_constants.predict(constants), without.predict(X), rtol=1e-5)


def test_statistics_of_the_training_rows_only(path):
    """The validation rows (here 1000 times larger) do not enter the mean and standard deviation."""
    X, y = raw_article_data()
    X[240:] *= 1000
    split = fit(X, y, path=path, standardize=True, validation_split=0.2)
    alone = fit(X[:240], y[:240], path=path, standardize=True)
    np.testing.assert_array_equal(split.weight, alone.weight)
    assert split.bias == alone.bias and split.history["loss"] == alone.history["loss"]


def test_init_weight_and_init_bias_are_in_the_units_of_X(path):
    X, y = raw_article_data()
    start = Start()
    fit(X, y, path=path, standardize=True, init_weight=[0.002, 51000.0], init_bias=-5.0, epochs=1, callbacks=[start])
    np.testing.assert_allclose(start.weight, [0.002, 51000.0], rtol=1e-6)
    assert start.bias == pytest.approx(-5.0, abs=0.05)  # the difference of terms of 1.5e5, in float32
    # A fitted model warm-starts another fit where it ended
    first = fit(X, y, path=path, standardize=True, lr="auto", epochs=5)
    warm = Start()
    fit(X, y, path=path, standardize=True, init_weight=first.weight, init_bias=first.bias, callbacks=[warm])
    np.testing.assert_allclose(warm.weight, first.weight, rtol=1e-6)
    assert warm.bias == pytest.approx(first.bias, rel=1e-5)


def test_the_default_start_is_the_articles_for_the_standardized_features(path):
    X, y = raw_article_data()
    start = Start()
    fit(X, y, path=path, standardize=True, epochs=1, callbacks=[start])
    mean, std = X.astype(np.float64).mean(axis=0), X.astype(np.float64).std(axis=0)
    w0 = np.random.default_rng(0).standard_normal(2).astype(np.float32)  # initial_params(2, seed=0)
    np.testing.assert_allclose(start.weight, w0 / std, rtol=1e-6)
    assert start.bias == pytest.approx(-mean @ (w0 / std), rel=1e-5)  # b' = 0


def test_one_pass_over_the_data_for_the_check_and_the_statistics():
    """Standardizing reads X in the chunks of the check's pass: no second pass, no copy of X. Without the check
    (and a checkpoint's fingerprint), it makes that one pass itself, over X alone."""
    X, y = synthetic_data(n=100)
    chunks = [slice(0, 30), slice(30, 60), slice(60, 90), slice(90, 100)]

    def passes(**options):  # X's reads in chunks: the passes over it; every other read is a batch of 10 rows
        rows = RowArray(X)
        fit(rows, y, epochs=1, **options)
        assert all(isinstance(key, slice) or len(key) <= 10 for key, _ in rows.reads)
        slices = [key for key, _ in rows.reads if isinstance(key, slice)]
        assert slices == chunks * (len(slices) // 4)
        return len(slices) // 4

    with mock.patch.object(sources, "CHUNK_BYTES", 4 * 2 * 30):  # chunks of 30 rows
        assert passes(standardize=True) == passes() == 3  # the check; the loss at the start and at the end
        assert passes(standardize=True, check_input=False) == passes(check_input=False) + 1 == 3


@pytest.mark.parametrize("rows", [1, 7, 8, 9, 100])
def test_the_device_standardizes_bitwise_as_numpy(rows):
    """Batches up to the repeated rows (here 8) use elementwise operators, larger ones broadcasting ones: the same
    float32 values, (x - mean) * inverse, as numpy computes them."""
    from gluonlr._mxnet import nd

    rng = np.random.default_rng(rows)
    x = (rng.standard_normal((rows, 3)) * [1e-3, 1.0, 1e4] + [0.0, 5.0, 1e5]).astype(np.float32)
    scaler = Standardizer([0.0, 5.0, 1e5], [1e-3, 1.0, 1e4])
    with mock.patch("gluonlr.scaling._BLOCK_BYTES", 4 * 3 * 8):
        np.testing.assert_array_equal(scaler.transform_nd(nd.array(x)).asnumpy(), scaler.transform(x))
        np.testing.assert_array_equal(scaler.transform_nd(nd.array(x[:5])).asnumpy(), scaler.transform(x[:5]))


def test_validation_data_is_standardized_with_the_training_statistics(path):
    X, y = raw_article_data()
    split = fit(X, y, path=path, standardize=True, validation_split=0.2, metrics=["r2"])
    given = fit(X[:240], y[:240], path=path, standardize=True, validation_data=(X[240:], y[240:]), metrics=["r2"])
    assert given.history == split.history


def test_standardize_on_several_devices_equals_one(path):
    X, y = raw_article_data()
    options = dict(path=path, standardize=True, lr="auto", epochs=3, momentum=0.5)
    several = record_fit(X, y, ctx="cpu:0,cpu:1", **options)
    one = record_fit(X, y, **options)
    assert_runs_agree(several.trained, one.trained, rtol=PATH_RTOL, atol=PATH_ATOL, names=("2 devices", "one"))


@pytest.mark.parametrize("path", ["manual", "gluon"])
def test_a_standardized_worker_steps_on_an_empty_share(path):
    """A dist_sync worker with no rows in a batch (a Share whose x is None) takes the job's step with a zero
    gradient, standardized or not: the wrapper passes the empty share on rather than standardize None."""
    X, y = synthetic_data(n=20)
    scaler = Standardizer(X.mean(axis=0), X.std(axis=0))
    learners = [PATHS[path](X, y, FitConfig(), weight=np.ones(2), bias=0.5) for _ in range(2)]
    standardized = Standardized(learners[1], scaler)
    try:
        assert learners[0].train_step(None, None, None, rows=4) is None
        assert standardized.train_step(None, None, None, rows=4) is None
        for learner in (learners[0], standardized):
            weight, bias = learner.trained_parameters()  # a zero gradient: the step changes nothing
            assert (weight.tolist(), bias, int(learner.get_state()["updates"])) == ([1.0, 1.0], 0.5, 1)
    finally:
        for learner in learners:
            learner.close()


def test_feature_stats_do_not_depend_on_the_chunks():
    rng = np.random.default_rng(0)
    X = (rng.standard_normal((1000, 3)) * [1e-3, 1.0, 1e4] + [0.0, 2.0, 1e5]).astype(np.float32)
    X[:, 1] = 7.5  # constant: the variance is exactly 0
    expected_mean, expected_variance = X.astype(np.float64).mean(axis=0), X.astype(np.float64).var(axis=0)
    for chunk in (1, 7, 1000):
        with mock.patch("gluonlr.scaling._BLOCK_BYTES", 8 * 3 * 5):  # blocks of 5 rows inside each chunk
            stats = FeatureStats(3)
            assert stats._block == 5
            for start in range(0, 1000, chunk):
                stats.add(X[start : start + chunk])
        np.testing.assert_allclose(stats.mean, expected_mean, rtol=1e-12)
        np.testing.assert_allclose(stats.variance, expected_variance, rtol=1e-9)
        assert stats.variance[1] == 0 and Standardizer.from_stats(stats).scale[1] == 1


def test_checkpoint_and_resume_with_standardize_and_auto_lr(tmp_path, path):
    X, y = raw_article_data()
    options = dict(path=path, standardize=True, lr="auto", lr_schedule="cosine", epochs=8, optimizer="adam")
    run = tmp_path / "run.params"
    stopped = fit(X, y, checkpoint=run, callbacks=[StopAfter(3)], **options)
    assert stopped.stopped_epoch == 2
    resumed = fit(X, y, checkpoint=run, resume=True, **options)
    uninterrupted = fit(X, y, **options)
    np.testing.assert_array_equal(resumed.weight, uninterrupted.weight)
    assert resumed.bias == uninterrupted.bias and resumed.history == uninterrupted.history
    assert resumed.lr == uninterrupted.lr
    # The checkpoint's model file is the model in the units of X, as gluonlr.load reads it
    np.testing.assert_array_equal(load(run).weight, resumed.weight)
    assert load(run).bias == resumed.bias
    with pytest.raises(CheckpointError, match=r"standardize=True there, False here"):
        fit(X, y, checkpoint=run, resume=True, **{**options, "standardize": False})


class StopAfter(Callback):
    """Stop training after ``epochs`` epochs, as a time budget would (a run stopped so resumes)."""

    def __init__(self, epochs):
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs):
        self.run.stop_training = epoch + 1 == self.epochs


def test_early_stopping_restores_the_standardized_parameters_bitwise(path):
    X, y = raw_article_data()
    options = dict(path=path, standardize=True, lr="auto", epochs=40, validation_split=0.2, early_stopping=True)
    run = record_fit(X, y, **options)
    assert run.result.stopped_epoch is not None
    best = int(np.argmin(run.history["val_loss"]))
    np.testing.assert_array_equal(run.weight, run.epoch_weights[best])
    assert run.bias == run.epoch_biases[best]


# -- errors ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (dict(lr="fast"), r"The 'lr' parameter of fit must be a finite float > 0 or 'auto'. Got 'fast' instead."),
        (dict(lr="Auto"), r"The 'lr' parameter of fit must be a finite float > 0 or 'auto'. Got 'Auto' instead."),
        (dict(lr=None), r"The 'lr' parameter of fit must be a finite float > 0 or 'auto'. Got None instead."),
        (dict(standardize="yes"), r"The 'standardize' parameter of fit must be True or False. Got 'yes' instead."),
        (dict(standardize=1), r"The 'standardize' parameter of fit must be True or False. Got 1 instead."),
        (dict(standardize=None), r"The 'standardize' parameter of fit must be True or False. Got None instead."),
        (
            dict(lr="auto", lr_schedule=Cosine(final_lr=1.0)),
            r"lr='auto' chose \S+, below the schedule's final_lr=1, which the cosine would climb to",
        ),
    ],
)
def test_bad_values_are_refused_before_training(options, message, tmp_path):
    X, y = synthetic_data()
    with pytest.raises(ValueError, match=message):
        fit(X, y, checkpoint=tmp_path / "run.params", **options)
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_nan_without_the_check_is_an_error_not_a_nan_model():
    X, y = synthetic_data()
    X[17, 1] = np.nan
    with pytest.raises(ValueError, match=r"standardize=True cannot compute the mean and standard deviation"):
        fit(X, y, standardize=True, check_input=False)
    with pytest.raises(ValueError, match=r"lr='auto' cannot choose a rate: the rows of the data it sampled hold NaN"):
        fit(X, y, lr="auto", check_input=False)
    with pytest.raises(ValueError, match=r"X passed to fit contains NaN or infinity .* first in row 17"):
        fit(X, y, standardize=True, lr="auto")  # with the check: the row


def test_features_too_large_for_a_float32_rate():
    X, y = synthetic_data()
    with pytest.raises(ValueError, match=r"lr='auto' chose .*, which float32 cannot hold.*Pass standardize=True"):
        fit(X * 1e19, y, lr="auto")
    assert fit(X * 1e19, y, lr="auto", standardize=True, epochs=2).score(X * 1e19, y) > 0.9


def test_a_divergence_error_names_the_rate_auto_chose():
    X, y = synthetic_data()
    # The module by object: the name gluonlr.fit is the function on Python 3.10, whose mock resolves it so.
    phases_module = sys.modules["gluonlr.phases"]  # where fit builds its learner and chooses lr="auto"
    with mock.patch.object(phases_module, "auto_lr", return_value=10.0), pytest.raises(DivergenceError) as info:
        fit(X, y, lr="auto")
    assert "Try a smaller lr (lr='auto' chose 10.0; e.g. 1) or scale the features of X (standardize=True)" in str(
        info.value
    )


# -- the scikit-learn estimator ----------------------------------------------------------------------------------


def test_the_estimator_standardizes_and_chooses_the_rate(diabetes):
    from sklearn.base import clone

    from gluonlr.sklearn import LinearRegressor

    X, y, closed_form = diabetes
    article = dict(standardize_target=False, reduction="sum", batch_size=10, init="normal", tol=None)
    model = LinearRegressor(standardize=True, lr="auto", lr_schedule="cosine", epochs=30, **article)
    assert clone(model).get_params()["standardize"] is True
    model.fit(X, y)
    assert model.score(X, y) >= closed_form - 0.01  # no StandardScaler: coef_ in the units of X
    chosen = fit(X, y, standardize=True, lr="auto", epochs=1).lr  # the estimator's fit is fit's
    assert model.history_["lr"][0] == pytest.approx(chosen, rel=1e-5)  # the cosine's first update
    chunked = LinearRegressor(lr="auto", momentum=0.5, tol=None)
    for chunk in np.array_split(np.arange(len(X)), 3):
        chunked.partial_fit(X[chunk], y[chunk])  # the first call's statistics and rate, then the same
    assert chunked.n_iter_ == 3 and np.isfinite(chunked.coef_).all()


def test_auto_lr_warns_when_the_scales_of_the_features_differ_and_nothing_standardizes_them():
    """The raw diabetes data: lr='auto' alone chose 5.9e-7 and trained almost nothing, silently. Now it says so."""
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.load_diabetes(return_X_y=True, scaled=False)
    with pytest.warns(
        ConvergenceWarning, match=r"lr='auto' chose 5.94e-07 .* differ by a factor of 192: .*standardize"
    ):
        fit(X, y, lr="auto")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", WorseThanMeanWarning)  # 10 epochs of the article's settings: not the point
        fit(X, y, lr="auto", standardize=True)  # standardized: nothing to say
        fit(*synthetic_data(), lr="auto")  # features of scale 1, as the bias's column
        fit(X, y, lr="auto", optimizer="adam")  # Adam scales each coordinate's step itself
        fit(X, y, lr=1e-7)  # a rate the user chose


# -- standardize_target=True ---------------------------------------------------------------------------------------


def _offset_target():
    X, y = synthetic_data()
    return X, (y * 1000.0 + 5e4).astype(np.float32)  # y in other units, far from 0


@pytest.mark.parametrize("outputs", [1, 2])
def test_standardize_target_trains_on_the_standardized_target_and_reports_the_model_in_its_units(path, outputs):
    X, y = _offset_target()
    if outputs == 2:
        y = np.column_stack([y, -0.5 * y])
    options = dict(standardize=True, standardize_target=True, lr=0.1, reduction="mean", epochs=20, validation_split=0.1)
    result = fit(X, y, path=path, **options)
    reference = reference_fit(X, y, **options)
    assert result.score(X, y) > 0.999
    np.testing.assert_allclose(result.weight, reference.weight, rtol=1e-4)
    np.testing.assert_allclose(result.bias, reference.bias, rtol=1e-5)
    np.testing.assert_allclose(result.history["loss"], reference.history["loss"], rtol=1e-3, atol=1e-6)
    assert result.history["loss"][-1] < 0.01  # the standardized target's loss, whatever y's units
    np.testing.assert_allclose(result.history["val_loss"], reference.history["val_loss"], rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("outputs", [1, 2])
def test_standardize_target_records_the_metrics_in_ys_units(path, outputs):
    """The loss is the one training minimizes (the standardized target's); mse, rmse, mae in y's units, as
    scores of the returned model's predictions say and as the reference records them."""
    X, y = _offset_target()
    if outputs == 2:
        y = np.column_stack([y, -0.01 * y])
    options = dict(standardize=True, standardize_target=True, lr=0.1, reduction="mean", epochs=5, validation_split=0.2)
    result = fit(X, y, path=path, metrics=("mse", "rmse", "mae", "r2"), **options)
    reference = reference_fit(X, y, metrics=("mse", "rmse", "mae", "r2"), **options)
    n = int(len(X) * 0.8)
    for rows, prefix in ((slice(0, n), ""), (slice(n, None), "val_")):
        measured = scores(y[rows], result.predict(X[rows]))
        for name in ("mse", "rmse", "mae", "r2"):
            # predict's float32 sums of values near 7e4 round residuals near 8 by ~1e-3: rel 2e-3
            assert result.history[prefix + name][-1] == pytest.approx(measured[name], rel=2e-3), prefix + name
            np.testing.assert_allclose(result.history[prefix + name], reference.history[prefix + name], rtol=2e-3)
    assert result.history["mse"][-1] > 100 * result.history["loss"][-1]  # y's units are not the loss's


def test_standardize_target_takes_a_given_start_in_the_units_of_y(path):
    X, y = _offset_target()
    truth = fit(X, y, standardize=True, standardize_target=True, lr=0.1, reduction="mean", epochs=30)
    starts = []

    class Start(Callback):
        def on_train_begin(self, logs=None):
            starts.append(self.run.get_parameters())

    fit(X, y, path=path, standardize_target=True, init_weight=truth.weight, init_bias=truth.bias, epochs=1,
        callbacks=[Start()])  # fmt: skip
    np.testing.assert_allclose(starts[0][0], truth.weight, rtol=1e-5)
    np.testing.assert_allclose(starts[0][1], truth.bias, rtol=1e-6)


def test_standardize_target_resumes_bitwise_and_checkpoints_the_model_in_ys_units(tmp_path, path):
    X, y = _offset_target()
    options = dict(path=path, standardize_target=True, lr=0.05, reduction="mean", epochs=4)
    whole = fit(X, y, **options)
    checkpoint = tmp_path / "run.params"
    fit(X, y, **{**options, "epochs": 2}, checkpoint=checkpoint)
    halfway = load(checkpoint)
    assert (
        abs(halfway.bias - 71200) < 2e3
    )  # 21.2 * 1000 + 5e4: the model file is in y's units, not the standardized target's
    resumed = fit(X, y, **options, checkpoint=checkpoint, resume=True)
    assert resumed.weight.tobytes() == whole.weight.tobytes() and resumed.bias == whole.bias
