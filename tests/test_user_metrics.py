"""Metrics of the user's own: functions metric(y_true, y_pred) (scikit-learn's as they are), (name, function)
pairs and mxnet EvalMetrics, in the history beside the four names, on both paths and in the reference."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.metrics import explained_variance_score, mean_absolute_percentage_error, median_absolute_error

from gluonlr import CheckpointError, DivergenceError, fit, synthetic_data
from gluonlr._mxnet import mx
from gluonlr.callbacks import EarlyStopping
from gluonlr.metrics import UserMetric, check_metrics, metric_names
from gluonlr.options import OPTIONS, check_options, record
from gluonlr.sklearn import LinearRegressor
from gluonlr.testing import REFERENCE_ATOL, REFERENCE_RTOL, assert_matches_reference, reference_fit
from gluonlr.testing.strategies import datasets, fit_configs

#: A metric of the user's is computed in float64 from the same float32 predictions as fit's host pass;
#: result.predict computes them in float32 too, but may round the product differently.
PREDICT_RTOL = 1e-5


def noisy_data(n=200, n_outputs=None, seed=0):
    """Data no model fits exactly: the metrics stay away from their limits (explained variance from 1)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)).astype(np.float32)
    w = np.array([1.5, -2.0, 0.5]) if n_outputs is None else rng.normal(size=(3, n_outputs))
    y = X @ w + 3.0 + rng.normal(scale=0.5, size=(n,) if n_outputs is None else (n, n_outputs))
    return X, (y + 10.0).astype(np.float32)  # away from 0: MAPE divides by y


def test_scikit_learn_metrics_equal_scoring_the_fitted_model(path):
    X, y = noisy_data()
    metrics = [explained_variance_score, ("mape", mean_absolute_percentage_error), "mae"]
    result = fit(X, y, path=path, epochs=3, lr=0.005, validation_split=0.25, metrics=metrics, verbose=0)
    train, validation = slice(0, 150), slice(150, None)
    predictions = result.predict(X).astype(np.float64)
    y64 = y.astype(np.float64)
    for name, function in (
        ("explained_variance_score", explained_variance_score),
        ("mape", mean_absolute_percentage_error),
    ):
        assert len(result.history[name]) == len(result.history["val_" + name]) == 3
        np.testing.assert_allclose(
            result.history[name][-1], function(y64[train], predictions[train]), rtol=PREDICT_RTOL
        )
        np.testing.assert_allclose(
            result.history["val_" + name][-1], function(y64[validation], predictions[validation]), rtol=PREDICT_RTOL
        )
    assert list(result.history) == [
        "loss", "lr", "explained_variance_score", "mape", "mae",
        "val_loss", "val_explained_variance_score", "val_mape", "val_mae",
    ]  # fmt: skip
    assert result.params["metrics"] == ["explained_variance_score", "mape", "mae"]


def test_the_paths_agree_on_a_metric_of_the_user_s():
    X, y = noisy_data()
    kwargs = dict(epochs=3, lr=0.005, validation_split=0.25, metrics=[median_absolute_error], verbose=0)
    manual, gluon = fit(X, y, path="manual", **kwargs), fit(X, y, path="gluon", **kwargs)
    for key in ("median_absolute_error", "val_median_absolute_error"):
        np.testing.assert_allclose(manual.history[key], gluon.history[key], rtol=1e-5)


def test_an_eval_metric_equals_the_name(path):
    X, y = noisy_data()
    kwargs = dict(path=path, epochs=2, validation_split=0.2, verbose=0)
    named = fit(X, y, metrics=["mae", "rmse"], **kwargs)
    mine = fit(X, y, metrics=[mx.metric.MAE(), mx.metric.RMSE(name="mx_rmse")], **kwargs)
    np.testing.assert_allclose(mine.history["mae"], named.history["mae"], rtol=1e-12)
    np.testing.assert_allclose(mine.history["val_mae"], named.history["val_mae"], rtol=1e-12)
    np.testing.assert_allclose(mine.history["mx_rmse"], named.history["rmse"], rtol=1e-12)
    both = fit(X, y, metrics=["mae", mx.metric.MAE(name="mx_mae")], **kwargs)
    np.testing.assert_allclose(both.history["mx_mae"], both.history["mae"], rtol=1e-12)


def test_a_function_gets_all_the_rows_in_y_s_shape_and_units(path):
    seen = []

    def shapes(y_true, y_pred):
        seen.append((y_true.shape, y_pred.shape, y_true.dtype, y_pred.dtype))
        return 0.0

    X, y = noisy_data(n_outputs=2)
    fit(X, y, path=path, epochs=1, validation_split=0.25, metrics=[shapes], verbose=0)
    assert seen == [((150, 2), (150, 2), np.float64, np.float64), ((50, 2), (50, 2), np.float64, np.float64)]
    seen.clear()
    X, y = noisy_data()
    result = fit(X, y, path=path, epochs=2, standardize_target=True, metrics=[shapes, ("mean", lambda t, p: t.mean())])
    assert seen[0][:2] == ((200,), (200,))
    # y's units: y rounded to float32 once standardized, and back
    np.testing.assert_allclose(result.history["mean"], y.astype(np.float64).mean(), rtol=1e-7)


def test_standardize_target_scores_in_y_s_units(path):
    X, y = noisy_data()
    result = fit(X, y, path=path, epochs=3, lr=0.005, standardize_target=True, metrics=[explained_variance_score])
    expected = explained_variance_score(y.astype(np.float64), result.predict(X).astype(np.float64))
    np.testing.assert_allclose(result.history["explained_variance_score"][-1], expected, rtol=1e-4)


def test_early_stopping_on_a_metric_of_the_user_s(path):
    values = iter([3.0, 2.0, 1.0, 1.5, 1.2, 0.5, 0.1])  # best in epoch 3 (index 2); two epochs without improvement

    def countdown(y_true, y_pred):
        return next(values)

    stopper = EarlyStopping(monitor="countdown", patience=2)
    result = fit(*synthetic_data(), path=path, epochs=7, metrics=[countdown], early_stopping=stopper, verbose=0)
    assert result.stopped_epoch == 4 and result.history["countdown"] == [3.0, 2.0, 1.0, 1.5, 1.2]
    assert result.stop_reason.startswith("early stopping: countdown did not improve")
    # higher is better: mode="max"
    X, y = noisy_data()
    stopper = EarlyStopping(monitor="val_explained_variance_score", patience=1, mode="max")
    result = fit(X, y, path=path, epochs=3, lr=0.005, validation_split=0.2, metrics=[explained_variance_score],
                 early_stopping=stopper)  # fmt: skip
    assert result.stopped_epoch is None and stopper.best == result.history["val_explained_variance_score"][-1]
    with pytest.raises(ValueError, match=r"monitors 'countdwn'.*it records 'loss', 'countdown'\). Add the metric"):
        fit(X, y, epochs=1, metrics=[countdown], early_stopping=EarlyStopping(monitor="countdwn"))


def test_the_reference_takes_metrics_of_the_user_s():
    X, y = noisy_data(n=40)
    metrics = ["mae", explained_variance_score, ("ev", explained_variance_score), mx.metric.MAE(name="m")]
    result = reference_fit(X, y, epochs=2, validation_split=0.25, metrics=metrics)
    assert result.history["ev"] == result.history["explained_variance_score"]
    np.testing.assert_allclose(result.history["m"], result.history["mae"], rtol=1e-12)
    np.testing.assert_allclose(result.history["val_m"], result.history["val_mae"], rtol=1e-12)
    w, b = result.epoch_weights[-1], result.epoch_biases[-1]
    X64, y64 = X.astype(np.float64), y.astype(np.float64)
    np.testing.assert_allclose(result.history["val_ev"][-1], explained_variance_score(y64[30:], X64[30:] @ w + b))


@settings(max_examples=15)
@given(data=st.data(), dataset=datasets(min_samples=4, noise=1.0))
def test_fit_matches_the_reference_with_metrics_of_the_user_s(data, dataset):
    X, y = dataset
    config = data.draw(fit_configs(X, y, max_epochs=4))
    path = data.draw(st.sampled_from(["manual", "gluon"]))
    absolute = ("abs", lambda t, p: float(np.mean(np.abs(t - p))))
    config["metrics"] = ["mae", absolute, mx.metric.MAE(name="eval_mae"), median_absolute_error]
    run, _ = assert_matches_reference(X, y, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL, path=path, **config)
    assert {"abs", "eval_mae", "median_absolute_error"} <= set(run.history)
    np.testing.assert_allclose(run.history["abs"], run.history["mae"], rtol=1e-9)  # mae over all rows, summed apart
    np.testing.assert_allclose(run.history["eval_mae"], run.history["mae"], rtol=1e-9)  # data of one chunk


def test_a_diverged_model_is_not_scored_by_the_function():
    def finite_only(y_true, y_pred):
        assert np.isfinite(y_pred).all()
        return 0.0

    with pytest.raises(DivergenceError, match="the loss became"):
        fit(*synthetic_data(), lr=10.0, metrics=[finite_only, mx.metric.MAE(name="eval")])


@pytest.mark.parametrize(
    ("returned", "error", "message"),
    [
        (None, TypeError, r"The metric 'bad' returned None on the training rows; a metric must return one real number"),
        ("0.5", TypeError, r"The metric 'bad' returned '0.5' on the training rows; a metric must return one real"),
        (
            np.array([0.1, 0.2]),
            TypeError,
            r"returned array\(\[0.1, 0.2\]\) on the training rows \(an array of shape \(2,\)\)",
        ),
        (True, TypeError, r"The metric 'bad' returned True"),
        (math.nan, ValueError, r"The metric 'bad' returned nan on the training rows, whose predictions are all finite"),
        (np.float32(np.inf), ValueError, r"returned inf on the training rows, whose predictions are all finite"),
    ],
)
def test_a_function_that_returns_no_number_is_named(returned, error, message):
    with pytest.raises(error, match=message):
        fit(*synthetic_data(), epochs=1, metrics=[("bad", lambda y_true, y_pred: returned)])


def test_a_number_in_an_array_of_one_is_a_number():
    result = fit(*synthetic_data(), epochs=1, validation_split=0.1, metrics=[("one", lambda t, p: np.array([0.5]))])
    assert result.history["one"] == result.history["val_one"] == [0.5]


def test_the_validation_rows_are_named_in_the_error():
    calls = iter([0.5, None])
    with pytest.raises(TypeError, match=r"The metric 'bad' returned None on the validation rows"):
        fit(*synthetic_data(), epochs=1, validation_split=0.1, metrics=[("bad", lambda t, p: next(calls))])


@pytest.mark.parametrize(
    ("metrics", "error", "message"),
    [
        (["auc"], ValueError, r"must be one of 'mse', 'rmse', 'mae', 'r2', a function metric\(y_true, y_pred\) -> "
                              r"float, a \(name, function\) pair or an mxnet.metric.EvalMetric. Got 'auc' instead."),
        ([3], TypeError, r"must be one of 'mse', .* Got 3 instead"),
        ([lambda t, p: 0.0], TypeError, r"names a function by its __name__, and <function <lambda> .*> has '<lambda>': "
                                       r"pass a pair \(name, function\)"),
        ([("only a name",)], TypeError, r"takes a pair \(name, function\) with a str name and a callable"),
        ([("x", "not callable")], TypeError, r"takes a pair \(name, function\)"),
        ([explained_variance_score, explained_variance_score], ValueError,
         r"names the metric 'explained_variance_score' twice; .* \('explained_variance_score_2', metric\)"),
        (["mae", mx.metric.MAE()], ValueError, r"names the metric 'mae' twice"),
        ([("loss", np.mean)], ValueError, r"names a metric 'loss', which the epoch's logs already hold; the names "
                                          r"'loss', 'lr' and those starting with 'val_' .* are taken"),
        ([("lr", np.mean)], ValueError, r"names a metric 'lr'"),
        ([("val_x", np.mean)], ValueError, r"names a metric 'val_x'"),
        ([("", np.mean)], ValueError, r"names a metric ''"),
        ("mae", TypeError, r"must be a list of metric names"),
    ],
)  # fmt: skip
def test_errors_name_the_metric(metrics, error, message):
    with pytest.raises(error, match=message):
        fit(*synthetic_data(), epochs=1, metrics=metrics)


def test_names_repeated_among_the_four_count_once():
    assert check_metrics(["mse", "r2", "mse"]) == ("mse", "r2")
    assert metric_names(check_metrics(["mse", ("r", np.mean)])) == ("mse", "r")


@pytest.mark.parametrize("kvstore", ["dist_sync", "dist_sync_device"])
def test_a_dist_sync_job_refuses_metrics_of_the_user_s_before_joining(kvstore):
    message = rf"The metrics of your own \('median_absolute_error'\) cannot be computed with kvstore='{kvstore}': "
    with pytest.raises(ValueError, match=message + "each worker holds a part of the rows"):
        fit(*synthetic_data(), kvstore=kvstore, metrics=["mae", median_absolute_error])


def test_the_checkpoint_records_the_name_and_a_resumed_run_repeats_it(tmp_path, path):
    X, y = noisy_data()
    checkpoint = tmp_path / "run.params"
    kwargs = dict(path=path, validation_split=0.2, verbose=0, checkpoint=checkpoint)
    fit(X, y, epochs=2, metrics=[explained_variance_score, mx.metric.MAE(name="m")], **kwargs)
    whole = fit(
        X, y, path=path, epochs=4, validation_split=0.2, metrics=[explained_variance_score, mx.metric.MAE(name="m")]
    )
    resumed = fit(X, y, epochs=4, resume=True, metrics=[explained_variance_score, mx.metric.MAE(name="m")], **kwargs)
    for key in ("explained_variance_score", "val_m"):
        np.testing.assert_allclose(resumed.history[key], whole.history[key], rtol=1e-6)
    with pytest.raises(CheckpointError, match=r"metrics=\['explained_variance_score', 'm'\] there, \['ev', 'm'\] here"):
        fit(X, y, epochs=4, resume=True, metrics=[("ev", explained_variance_score), mx.metric.MAE(name="m")], **kwargs)


def test_the_record_of_options_holds_names():
    defaults = {name: option.default for name, option in OPTIONS.items()}
    options = check_options(defaults | {"metrics": [explained_variance_score, ("m", np.mean), "r2"]})
    assert record(options)["metrics"] == ["explained_variance_score", "m", "r2"]
    assert repr(options["metrics"][1]) == f"UserMetric('m', {np.mean!r})"
    assert isinstance(options["metrics"][0], UserMetric)


def test_the_estimator_passes_them_through_and_clones():
    X, y = noisy_data()
    metrics = (explained_variance_score, mx.metric.MAE(name="m"))
    model = LinearRegressor(metrics=metrics, epochs=3, tol=None, validation_split=0.2)
    copy = clone(model).fit(X, y)
    assert {"explained_variance_score", "m", "val_explained_variance_score", "val_m"} <= set(copy.history_)
    assert model.metrics[1].num_inst == 0 and copy.metrics[1].num_inst == 0  # each fit updates a copy
    assert clone(copy).get_params()["metrics"][0] is explained_variance_score


def test_the_command_line_takes_names_only():
    from gluonlr.cli.options import FIT_FLAGS

    (flag,) = [flag for flag in FIT_FLAGS if flag.option == "metrics"]
    assert "names only on the command line" in flag.help
