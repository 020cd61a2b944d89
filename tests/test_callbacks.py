"""The callback protocol, stopping early, and the divergence check."""

import numpy as np
import pytest

from gluonlr import DivergenceError, fit, initial_params, synthetic_data
from gluonlr.callbacks import Callback, DivergenceGuard

X, y = synthetic_data()


class Recorder(Callback):
    def __init__(self, stop_after=None):
        self.calls, self.stop_after = [], stop_after

    def set_run(self, run):
        super().set_run(run)
        self.calls.append(("set_run", run.epochs))

    def on_train_begin(self, logs=None):
        self.calls.append(("begin", len(self.run.history.get("loss", []))))

    def on_epoch_end(self, epoch, logs):
        self.calls.append(("epoch", epoch, logs["loss"], len(self.run.history["loss"])))
        if epoch == self.stop_after:
            self.run.stop_training = True
            self.run.stop_reason = "enough"

    def on_train_end(self, logs=None):
        self.calls.append(("end", logs["loss"]))


def test_protocol(path):
    recorder = Recorder()
    result = fit(X, y, path=path, epochs=3, callbacks=[recorder])
    losses = result.history["loss"]
    assert recorder.calls == [
        ("set_run", 3),
        ("begin", 0),
        # gluonlr's History runs first: the user's callback sees the epoch already recorded
        *[("epoch", epoch, losses[epoch], epoch + 1) for epoch in range(3)],
        ("end", losses[-1]),
    ]
    assert result.stopped_epoch is None and result.stop_reason is None and not result.interrupted


def test_a_callback_stops_training(path):
    recorder = Recorder(stop_after=3)
    result = fit(X, y, path=path, epochs=10, callbacks=[recorder])
    assert (result.stopped_epoch, result.stop_reason, result.interrupted) == (3, "enough", False)
    assert [call[0] for call in recorder.calls[-2:]] == ["epoch", "end"]  # on_train_end runs after a stop too
    short = fit(X, y, path=path, epochs=4)
    np.testing.assert_array_equal(result.weight, short.weight)
    assert result.history == short.history


def test_stopping_in_the_last_epoch_is_not_stopping_early(path):
    result = fit(X, y, path=path, epochs=4, callbacks=[Recorder(stop_after=3)])
    assert result.stopped_epoch is None and result.stop_reason is None


@pytest.mark.parametrize("lr", [10.0, 1.0])
def test_divergence_in_the_first_epoch(lr, path):
    with pytest.raises(DivergenceError, match=r"Training diverged in epoch 1/10: the loss became (nan|inf)") as info:
        fit(X, y, path=path, lr=lr)
    error = info.value
    assert isinstance(error, FloatingPointError) and isinstance(error, ValueError)
    assert f"Try a smaller lr (it is {lr}; e.g. {lr / 10:g}) or scale the features of X" in str(error)
    assert error.epoch == 0
    assert len(error.history["loss"]) == 1 and not np.isfinite(error.history["loss"][0])
    w0, b0 = initial_params(2, seed=0)
    np.testing.assert_array_equal(error.weight, w0)  # the last finite parameters: the initial ones
    assert error.bias == b0
    assert "last finite parameters (the initial ones)" in str(error)


def test_exploding_loss_is_caught_before_it_overflows(path):
    """lr=0.1 grows the loss 1e6-fold by epoch 3 (it overflows float32 only in epoch 14)."""
    with pytest.raises(DivergenceError, match=r"epoch 3/10: the loss grew to .*, over 1e\+06 times its start") as info:
        fit(X, y, path=path, lr=0.1)
    error = info.value
    assert error.epoch == 2 and len(error.history["loss"]) == 3
    with pytest.raises(DivergenceError, match=r"the loss of the fitted parameters, .* times its start") as two:
        fit(X, y, path=path, lr=0.1, epochs=2)  # refused too: its end is far worse than its start
    np.testing.assert_array_equal(error.weight, two.value.weight)  # the parameters after epoch 2, bitwise
    assert error.bias == two.value.bias
    assert error.history["loss"][:2] == two.value.history["loss"]
    assert "last finite parameters (after epoch 2)" in str(error)
    assert "last finite parameters (the fitted ones)" in str(two.value)


def test_divergence_guard_factor(path):
    """A stricter guard of the user's own catches the same run two epochs earlier."""
    with pytest.raises(DivergenceError, match=r"epoch 1/10: the loss grew to .*, over 100 times its start"):
        fit(X, y, path=path, lr=0.1, callbacks=[DivergenceGuard(factor=100)])
    fit(X, y, path=path, callbacks=[DivergenceGuard(factor=1.0)])  # a converging run never exceeds its start


def test_stable_runs_are_not_flagged(path):
    result = fit(X, y, path=path, lr=0.05, epochs=20)
    assert np.isfinite(result.weight).all()


def test_an_error_closes_the_progress_bar(path):
    from tqdm import tqdm

    with pytest.raises(DivergenceError):
        fit(X, y, path=path, lr=10.0, verbose=1)
    assert len(tqdm._instances) == 0


def test_divergence_guard_factor_is_checked():
    with pytest.raises(ValueError, match=r"'factor' parameter of DivergenceGuard must be a float in \[1, inf\)"):
        DivergenceGuard(factor=-1)


def test_a_start_near_zero_is_not_mistaken_for_an_explosion(path):
    """An exact fit at the start (loss ~0, y = 0), then the bias jittering by lr=1: not divergence (level >= 1)."""
    result = fit(np.array([[1e-30]]), np.array([0.0]), path=path, loss="l1", lr=1.0, epochs=3, batch_size=1)
    assert np.isfinite(result.weight).all()
