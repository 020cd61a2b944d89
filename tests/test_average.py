"""fit(average=...): averaged SGD, the model the running mean of the parameters after each step (scikit-learn's).

With batches of one row in order, no L1 part and float64, the mean is ``SGDRegressor(average=...)``'s to float64
round-off (scikit-learn's lazy form, ``WeightVector.add_average``, is the same mean computed otherwise). With an L1
part the two differ by design, and the test below that shows it computes both means by hand.
"""

import warnings

import numpy as np
import pytest

from gluonlr import fit, load, synthetic_data
from gluonlr.averaging import Averager
from gluonlr.callbacks import EarlyStopping
from gluonlr.cli import main
from gluonlr.persistence import read_checkpoint
from gluonlr.testing import (
    PATH_RTOL,
    REFERENCE_ATOL,
    REFERENCE_RTOL,
    assert_matches_reference,
    record_fit,
    reference_fit,
)

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.linear_model import SGDRegressor  # noqa: E402

from gluonlr.sklearn import LinearRegressor  # noqa: E402
from test_sklearn_equality import DATASETS, PENALTIES, _assert_same, _gluonlr_options  # noqa: E402


def _sgdregressor(X, y, lr, epochs, **options):
    model = SGDRegressor(learning_rate="constant", eta0=lr, shuffle=False, tol=None, max_iter=epochs, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return model.fit(X, y)


# -- scikit-learn's mean, step for step ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(DATASETS))
@pytest.mark.parametrize("average", [True, 7, 100])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_the_mean_is_sgdregressors(name, average, fit_intercept, path):
    make, lr, epochs = DATASETS[name]
    X, y = make()
    model = _sgdregressor(X, y, lr, epochs, penalty=None, average=average, fit_intercept=fit_intercept)
    options = _gluonlr_options(lr, epochs, fit_intercept, "mean")
    result = fit(X, y, path=path, verbose=0, average=average, **options)
    _assert_same(result.weight, result.bias, model)


@pytest.mark.parametrize("name", ["diabetes", "random-wide"])
def test_the_mean_with_an_l2_penalty_and_invscaling_is_sgdregressors(name, path):
    make, lr, epochs = DATASETS[name]
    X, y = make()
    model = SGDRegressor(
        learning_rate="invscaling", eta0=lr, power_t=0.25, shuffle=False, tol=None, max_iter=epochs, average=10,
        **PENALTIES["l2"],
    ).fit(X, y)  # fmt: skip
    options = {**_gluonlr_options(lr, epochs, True, "mean"), "lr_schedule": "invscaling"}
    result = fit(X, y, path=path, verbose=0, average=10, **options, **PENALTIES["l2"])
    np.testing.assert_allclose(result.weight, model.coef_, rtol=1e-7, atol=1e-9)  # MXNet's float32 rate, as there


def test_before_its_start_the_model_is_the_last_step_as_in_scikit_learn(path):
    make, lr, epochs = DATASETS["random"]
    X, y = make()
    late = len(X) * epochs + 1  # never reached
    model = _sgdregressor(X, y, lr, epochs, penalty=None, average=late)
    result = fit(X, y, path=path, verbose=0, average=late, **_gluonlr_options(lr, epochs, True, "mean"))
    plain = fit(X, y, path=path, verbose=0, **_gluonlr_options(lr, epochs, True, "mean"))
    assert result.weight.tobytes() == plain.weight.tobytes()
    _assert_same(result.weight, result.bias, model)


def _l1_means(X, y, lr, epochs, alpha):
    """SGD with scikit-learn's L1 step on rows in order; return (the mean of the weights after each step,
    scikit-learn's lazy mean): the lazy mean follows the gradient steps and shifts by each truncation in full."""
    w, b, u, q = np.zeros(X.shape[1]), 0.0, 0.0, np.zeros(X.shape[1])
    mean, lazy, k = np.zeros_like(w), np.zeros_like(w), 0
    for _ in range(epochs):
        for x, target in zip(X, y, strict=True):
            update = -lr * (x @ w + b - target)
            w, b = w + update * x, b + update
            k += 1
            lazy += (w - lazy) / k  # scikit-learn averages before its l1penalty...
            u += lr * alpha
            before = w.copy()
            w = np.where(w > 0, np.maximum(0, w - (u + q)), np.where(w < 0, np.minimum(0, w + (u - q)), w))
            q += w - before
            lazy += w - before  # ...whose change to w its lazy form carries into the mean in full
            mean += (w - mean) / k  # gluonlr's: the weights after the step
    return mean, lazy


def test_with_an_l1_penalty_the_mean_is_of_the_weights_after_each_truncation(path):
    """A difference by design: SGDRegressor's mean shifts by every truncation in full, as if each earlier iterate
    had been truncated too; gluonlr's is the mean of the weights the model had after each step."""
    make, lr, epochs = DATASETS["sparse-truth"]
    X, y = make()
    alpha = PENALTIES["l1"]["alpha"]
    model = _sgdregressor(X, y, lr, epochs, average=True, **PENALTIES["l1"])
    mean, lazy = _l1_means(X, y, lr, epochs, alpha)
    np.testing.assert_allclose(lazy, model.coef_, rtol=0, atol=1e-10)  # the hand-written step is scikit-learn's
    result = fit(
        X, y, path=path, verbose=0, average=True, **_gluonlr_options(lr, epochs, True, "mean"), **PENALTIES["l1"]
    )
    np.testing.assert_allclose(result.weight, mean, rtol=0, atol=1e-10)
    assert np.abs(mean - lazy).max() > 1e-3  # not a rounding: a different mean


# -- both paths, the reference, and what fit does with the mean --------------------------------------------------

X, y = synthetic_data(n=200)
MINI = dict(batch_size=16, epochs=4, lr=0.01, seed=3)


@pytest.mark.parametrize("average", [True, 150, 601])
def test_mini_batches_average_a_step_each_on_both_paths_and_the_reference(average):
    """On mini-batches each step is one iterate; averaging starts at the step whose rows reach the sample."""
    reference = reference_fit(X, y, average=average, **MINI)
    options = dict(average=average, validation_split=0.2, metrics=["r2"], **MINI)
    for path in ("manual", "gluon"):  # every epoch's model, loss, validation loss and metric
        assert_matches_reference(X, y, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL, path=path, **options)
    plain = reference_fit(X, y, **MINI)
    # The mean is not the last step, unless its start is never reached (the 4 epochs see 800 samples)
    differs = np.abs(reference.weight - plain.weight).max() > 1e-6
    assert differs == (average is True or average <= 200 * MINI["epochs"])
    assert reference.history["loss"] == plain.history["loss"]  # the steps are plain SGD's, and so their losses


def test_the_averaged_model_is_what_fit_returns_predicts_and_saves(tmp_path, path):
    target = tmp_path / "run.params"
    result = fit(X, y, path=path, average=True, checkpoint=target, verbose=0, **MINI)
    expected = reference_fit(X, y, average=True, **MINI)
    np.testing.assert_allclose(result.weight, expected.weight, rtol=1e-5)
    np.testing.assert_allclose(result.predict(X[:5]), X[:5] @ expected.weight + expected.bias, rtol=1e-5)
    saved = load(target)
    assert saved.weight.tobytes() == np.asarray(result.weight, np.float32).tobytes()
    state = read_checkpoint(target)[0]
    assert int(state["average/count"]) == MINI["epochs"] * 13 and int(state["average/seen"]) == 800
    assert state["average/weight"].shape == (1, 2) and not np.allclose(state["average/weight"], state["weight"])


@pytest.mark.parametrize("done", [1, 3])
def test_resume_carries_the_mean_bitwise(tmp_path, path, done):
    target = tmp_path / "run.params"
    fit(X, y, path=path, average=50, checkpoint=target, verbose=0, **{**MINI, "epochs": done})
    resumed = fit(X, y, path=path, average=50, checkpoint=target, resume=True, verbose=0, **MINI)
    straight = fit(X, y, path=path, average=50, verbose=0, **MINI)
    assert resumed.weight.tobytes() == straight.weight.tobytes() and resumed.bias == straight.bias
    assert resumed.history == straight.history


def test_a_checkpoint_resumes_on_the_other_path(tmp_path):
    target = tmp_path / "run.params"
    fit(X, y, path="manual", average=True, checkpoint=target, verbose=0, **{**MINI, "epochs": 2})
    resumed = fit(X, y, path="gluon", average=True, resume=target, verbose=0, **MINI)
    straight = fit(X, y, path="gluon", average=True, verbose=0, **MINI)
    np.testing.assert_allclose(resumed.weight, straight.weight, rtol=PATH_RTOL)
    np.testing.assert_allclose(resumed.history["loss"], straight.history["loss"], rtol=PATH_RTOL)


def test_early_stopping_restores_the_best_epochs_mean(path):
    """restore_best_weights restores the model that scored best: the mean of that epoch, and its count."""
    stopper = EarlyStopping(patience=1, restore_best_weights=True)
    rng = np.random.default_rng(0)
    noisy = y + rng.standard_normal(len(y)) * 40
    result = record_fit(X, noisy, path=path, average=True, validation_split=0.3, early_stopping=stopper,
                        batch_size=4, epochs=40, lr=0.02)  # fmt: skip
    best = stopper.best_epoch
    assert stopper.stopped_epoch is not None and best < stopper.stopped_epoch
    np.testing.assert_allclose(result.weight, result.epoch_weights[best], rtol=0, atol=0)


def test_several_devices_average_the_same_mean():
    one = fit(X, y, path="gluon", average=True, verbose=0, **MINI)
    two = fit(X, y, path="gluon", average=True, ctx="cpu:0,cpu:1", verbose=0, **MINI)
    manual = fit(X, y, path="manual", average=True, ctx="cpu:0,cpu:1", verbose=0, **MINI)
    np.testing.assert_allclose(two.weight, one.weight, rtol=1e-5)
    np.testing.assert_allclose(manual.weight, one.weight, rtol=1e-5)


def test_the_averager_counts_samples_across_steps():
    averager = Averager(start=5)
    from gluonlr._mxnet import nd

    param = nd.zeros((1,))
    mean = averager.create_state(param)
    for step, value in enumerate([1.0, 2.0, 3.0, 4.0]):  # 2 rows a step: samples 1-2, 3-4, 5-6, 7-8
        param[:] = value
        averager.step([param], [mean], rows=2)
        assert averager.count == max(0, step - 1)
    assert mean.asnumpy().tolist() == [3.5] and averager.seen == 8
    with pytest.raises(ValueError, match="starts at a sample >= 1"):
        Averager(start=0)


# -- the option on every surface ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -1, 1.5, "yes", None])
def test_bad_values_are_refused_before_training(value):
    with pytest.raises(ValueError, match=r"The 'average' parameter of fit must be True, False or an int >= 1 .*"):
        fit(X, y, average=value)


def test_the_estimator_averages_and_partial_fit_carries_the_mean_on():
    model = LinearRegressor(average=True, epochs=3, tol=None, path="gluon").fit(X, y)
    assert clone(model).get_params()["average"] is True
    expected = fit(X, y, average=True, verbose=0, **{**_cli_options(), "epochs": 3, "path": "gluon"})
    np.testing.assert_allclose(model.coef_, expected.weight, rtol=1e-6)
    # partial_fit: one epoch more on each call, the mean going on over them (as SGDRegressor's partial_fit)
    first = LinearRegressor(average=True, tol=None, batch_size=20, shuffle=False).partial_fit(X, y)
    whole = LinearRegressor(average=True, tol=None, batch_size=20, shuffle=False, epochs=2).fit(X, y)
    first.partial_fit(X, y)
    assert first.coef_.tobytes() == whole.coef_.tobytes() and first.intercept_ == whole.intercept_


def test_a_warm_start_starts_from_the_mean_and_averages_afresh():
    """scikit-learn's warm_start with average: coef_init is the fitted mean, the new mean starts empty."""
    warm = LinearRegressor(average=True, warm_start=True, epochs=2, tol=None, batch_size=20).fit(X, y)
    start = warm.coef_.copy(), warm.intercept_
    warm.fit(X, y)
    by_hand = LinearRegressor(average=True, epochs=2, tol=None, batch_size=20).fit(
        X, y, coef_init=start[0], intercept_init=start[1]
    )
    assert warm.coef_.tobytes() == by_hand.coef_.tobytes()


@pytest.mark.parametrize(("text", "value"), [("true", True), ("false", False), ("25", 25)])
def test_the_command_line_takes_true_false_or_a_sample(tmp_path, text, value, capsys):
    data = tmp_path / "data.csv"
    rows = np.column_stack([X, y])
    np.savetxt(data, rows, delimiter=",", header="x1,x2,y", comments="")
    model = tmp_path / "model.params"
    main(
        [
            "fit",
            str(data),
            "--target",
            "y",
            "--average",
            text,
            "--epochs",
            "2",
            "--tol",
            "none",
            "--out",
            str(model),
            "-q",
        ]
    )
    expected = fit(X.astype(np.float32), y.astype(np.float32), average=value, verbose=0, **_cli_options())
    np.testing.assert_allclose(load(model).weight, expected.weight, rtol=1e-5)


def _cli_options():
    """The defaults for users' data, of the estimator and ``gluonlr fit FILE``; two epochs, every one run."""
    return dict(
        standardize=True, standardize_target=True, lr="auto", reduction="mean", batch_size="auto", init="zeros",
        dtype="auto", epochs=2, tol=None,
    )  # fmt: skip


def test_the_command_line_refuses_a_bad_value(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["fit", "x.csv", "--target", "y", "--average", "0"])
    assert "argument --average: must be True, False or an int >= 1" in capsys.readouterr().err


def test_sparse_rows_average_as_dense_ones(path):
    """Lazy steps move only the batch's features, but the mean takes in every weight after each step."""
    scipy_sparse = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(0)
    X_sparse = scipy_sparse.random(300, 50, density=0.1, format="csr", random_state=0, dtype=np.float32)
    target = X_sparse @ rng.standard_normal(50) + 1
    options = dict(average=20, batch_size=16, epochs=3, lr=0.05)
    result = fit(X_sparse, target, path=path, verbose=0, **options)
    expected = reference_fit(X_sparse.toarray(), target, **options)
    np.testing.assert_allclose(result.weight, expected.weight, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.bias, expected.bias, rtol=1e-5)
