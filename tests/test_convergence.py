"""fit(tol=...): stopping when the loss stops improving, as scikit-learn's SGDRegressor, and saying when it has not."""

import warnings

import numpy as np
import pytest

from gluonlr import ConvergenceWarning, WorseThanMeanWarning, fit, synthetic_data
from gluonlr.callbacks import Callback, Convergence, EarlyStopping
from gluonlr.testing import reference_fit

X, y = synthetic_data()
rng = np.random.default_rng(1)
X_wide = rng.standard_normal((200, 6)).astype(np.float32)
y_wide = (X_wide @ rng.standard_normal(6) + 3.0 + 0.3 * rng.standard_normal(200)).astype(np.float32)

CASES = [
    dict(X=X, y=y, options=dict(epochs=100, tol=1e-3)),
    dict(X=X, y=y, options=dict(epochs=100, tol=1e-2, n_iter_no_change=2, validation_split=0.2)),
    dict(X=X_wide, y=y_wide, options=dict(epochs=200, tol=1e-4, lr=0.01, reduction="mean", batch_size=16)),
    dict(X=X_wide, y=y_wide, options=dict(epochs=200, tol=0.0, n_iter_no_change=3, lr=0.3, reduction="mean")),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_both_paths_and_the_reference_stop_at_the_same_epoch(path, case):
    data, options = CASES[case], CASES[case]["options"]
    result = fit(data["X"], data["y"], path=path, **options)
    reference = reference_fit(data["X"], data["y"], **options)
    assert result.converged is True and reference.converged is True
    assert result.n_epochs == len(reference.history["loss"]) < options["epochs"]
    assert result.stopped_epoch == result.n_epochs - 1
    assert result.stop_reason.startswith("converged: ")
    assert all(len(values) == result.n_epochs for values in result.history.values())  # the history ends there
    np.testing.assert_allclose(result.weight, reference.weight, rtol=1e-3, atol=1e-3)


def test_the_rule_is_scikit_learns_counted_by_hand():
    # Losses 10, 9.5, 9.45, 9.44, 9.46 with tol=0.1: the 3rd, 4th and 5th do not beat the best by 0.1.
    seen = []

    class Losses(Callback):
        priority = -1000  # before Convergence reads the logs

        def on_epoch_end(self, epoch, logs):
            logs["loss"] = [10.0, 9.5, 9.45, 9.44, 9.46, 1.0][epoch]
            seen.append(epoch)

    result = fit(X, y, epochs=6, tol=0.1, n_iter_no_change=3, callbacks=[Losses()])
    assert result.converged and seen == [0, 1, 2, 3, 4] and result.n_epochs == 5
    assert result.stop_reason == (
        "converged: loss did not improve by more than tol=0.1 for 3 epochs; best 9.44 in epoch 4"
    )
    with pytest.warns(ConvergenceWarning, match=r"loss still improved by more than tol=0.1 within its last 4 epochs"):
        result = fit(X, y, epochs=6, tol=0.1, n_iter_no_change=4, callbacks=[Losses()])  # 1.0 resets the count
    assert result.converged is False


def test_running_out_of_epochs_warns_saying_what_to_change():
    with pytest.warns(ConvergenceWarning, match=r"last epoch \(epochs=3\) without converging.*Increase epochs"):
        result = fit(X, y, epochs=3, tol=1e-6, lr=0.001)
    assert result.converged is False and result.stopped_epoch is None and result.n_epochs == 3
    assert issubclass(ConvergenceWarning, UserWarning)


@pytest.mark.parametrize(
    "options",
    [
        dict(),
        dict(tol=1e-3, epochs=100),
        dict(tol=1e-9, epochs=6, early_stopping=EarlyStopping(monitor="loss", patience=1)),
    ],
)
def test_no_warning_without_tol_after_convergence_or_an_early_stop(options):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = fit(X, y, **options)
    assert result.converged is (None if "tol" not in options else "early_stopping" not in options)


def test_a_checkpointed_run_resumes_to_the_same_stop_and_a_converged_one_stays_stopped(tmp_path, path):
    options = dict(path=path, epochs=100, tol=1e-3)
    whole = fit(X, y, **options)
    cut = tmp_path / "cut.params"
    stopped = fit(X, y, **options, checkpoint=cut, callbacks=[_StopAfter(3)])  # stopped, not converged: no warning
    assert stopped.converged is False and stopped.n_epochs == 3
    resumed = fit(X, y, **options, checkpoint=cut, resume=True)
    assert resumed.weight.tobytes() == whole.weight.tobytes() and resumed.history == whole.history
    assert resumed.converged and resumed.stopped_epoch == whole.stopped_epoch
    again = fit(X, y, **options, checkpoint=cut, resume=True)  # converged: nothing more to train
    assert again.weight.tobytes() == whole.weight.tobytes() and again.converged


class _StopAfter(Callback):
    """Stop after ``n`` epochs, a stop that a resumed run continues from (not final)."""

    def __init__(self, n):
        self.n = n

    def on_epoch_end(self, epoch, logs):
        if epoch + 1 == self.n:
            self.run.stop_training = True


def test_convergence_checks_its_arguments():
    with pytest.raises(ValueError, match=r"The 'tol' parameter of fit must be a float in \[0, inf\). Got -1"):
        fit(X, y, tol=-1)
    with pytest.raises(ValueError, match=r"The 'n_iter_no_change' parameter of fit must be an int >= 1. Got 0"):
        fit(X, y, tol=0.1, n_iter_no_change=0)
    with pytest.raises(ValueError, match="n_iter_no_change' parameter of Convergence"):
        Convergence(0.1, n_iter_no_change=True)


# -- never silently worse than the mean (issue 22, 3) ----------------------------------------------------------------


def _wide(n=200, d=500):
    """More features than rows, a true model of them: the issue's 2,000 x 5,000 case, scaled down."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = (X @ (rng.standard_normal(d) / np.sqrt(d)) + 0.1 * rng.standard_normal(n)).astype(np.float32)
    return X, y


@pytest.mark.parametrize("path", ["manual", "gluon"])
def test_a_model_worse_than_the_mean_is_not_returned_in_silence(path):
    """w ~ N(0, 1) over 500 features: the issue's settings ended at training R² -121.6 (here -114), silently."""
    X, y = _wide()
    with pytest.warns(WorseThanMeanWarning, match=r"worse than predicting the mean of y.*training R² -\d") as caught:
        result = fit(X, y, path=path, standardize=True, lr="auto", reduction="mean", batch_size=64, epochs=10)
    assert result.score(X, y) < 0 and result.converged is False
    message = str(caught[0].message)
    assert "init='zeros' with standardize_target=True starts at the mean" in message and "epochs=10" in message
    assert issubclass(WorseThanMeanWarning, ConvergenceWarning)


def test_a_model_stopped_by_tol_worse_than_the_mean_is_not_told_to_train_more_epochs():
    """A rate too small to move the loss: tol stops the run after a few of its 50 epochs, worse than the mean.
    More epochs would not run; the warning names the stop and what loosens it."""
    X, y = _wide(n=100, d=20)
    with pytest.warns(WorseThanMeanWarning) as caught:
        result = fit(X, y, lr=1e-12, epochs=50, tol=1e-5)
    assert result.n_epochs < 50
    message = str(caught[0].message)
    assert "training stopped before its last epoch (converged: loss did not improve by more than tol=1e-05" in message
    assert "a smaller tol (or tol=None), or a longer patience, trains longer" in message
    assert "train longer (epochs=" not in message


def test_the_yardstick_is_the_means_loss_whatever_the_start():
    """The loss compared with is the mean's (the variance of y), not the initial parameters': a start a million
    times farther does not move it, and a start that far does not hide a bad model."""
    X, y = _wide(n=100, d=20)
    variance = float(np.mean((y.astype(np.float64) - y.mean()) ** 2))
    for scale in (1.0, 1e3):
        with pytest.warns(WorseThanMeanWarning) as caught:
            fit(X, y, init_weight=np.full(20, scale, np.float32), lr=1e-6, epochs=1)
        assert f"is above the mean's, {variance:.4g}" in str(caught[0].message)


def test_a_model_as_good_as_the_mean_or_better_does_not_warn():
    X, y = synthetic_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the suite ignores this warning (its many short runs): not here
        assert fit(X, y).score(X, y) > 0.99  # the article's run
        constant = np.full(len(X), 3.0, np.float32)  # the mean is exact: nothing to be worse than
        fit(X, constant, lr=1e-9, epochs=1)


def test_the_users_defaults_fit_the_wide_case(path):
    from gluonlr.sklearn import LinearRegressor

    X, y = _wide()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = LinearRegressor(path=path).fit(X, y)
    assert model.score(X, y) > 0.999 and model.converged_
