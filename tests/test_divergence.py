"""No silent garbage: the divergence check against the loss of the initial parameters, and data that overflows."""

import itertools

import numpy as np
import pytest

from gluonlr import DivergenceError, fit, initial_params, synthetic_data
from gluonlr.callbacks import Callback, DivergenceGuard, data_overflow
from gluonlr.persistence import read_checkpoint

X, y = synthetic_data()
W0, B0 = initial_params(2, seed=0)
# The loss of the initial parameters (w ~ N(0, 1), b = 0) on the article's data: about 3084.
START = float(np.mean((X.astype(np.float64) @ W0 + B0 - y) ** 2))

# One batch of all 300 samples: lr 0.01 on the summed gradient overshoots, ~25x the loss per epoch.
ONE_BATCH = dict(batch_size=1000)


@pytest.mark.parametrize("epochs", [1, 3])
def test_a_run_that_ends_far_worse_than_it_began_is_refused(path, epochs, monkeypatch):
    """The issue's run: the epoch losses never reach 1e6 x the start, but the fitted model is garbage."""
    with pytest.raises(DivergenceError, match=r"Training diverged: the loss of the fitted parameters, ") as info:
        fit(X, y, path=path, epochs=epochs, **ONE_BATCH)
    error = info.value
    assert error.epoch == epochs - 1 and len(error.history["loss"]) == epochs
    assert f"times its start ({START:.3g}, the loss of the initial parameters)" in str(error)
    assert "Try a smaller lr (it is 0.01; e.g. 0.001)" in str(error)
    assert "last finite parameters (the fitted ones)" in str(error)
    # The error carries the fitted parameters: those a guard-free run returns, bitwise.
    monkeypatch.setattr(DivergenceGuard, "on_train_end", lambda self, logs=None: None)
    monkeypatch.setattr(DivergenceGuard, "on_epoch_end", lambda self, epoch, logs: None)
    unguarded = fit(X, y, path=path, epochs=epochs, **ONE_BATCH)  # what the user was handed before
    assert error.weight.tobytes() == unguarded.weight.tobytes() and error.bias == unguarded.bias
    fitted_loss = float(np.mean((X.astype(np.float64) @ unguarded.weight + unguarded.bias - y) ** 2))
    assert fitted_loss > 10 * START  # what the guard measured: ~25x after one epoch


def test_a_steady_rise_is_caught_after_patience_epochs(path):
    """With 10 epochs the same run raises in epoch 4 (it rose 3 epochs in a row), not epoch 6 as before."""
    with pytest.raises(DivergenceError, match=r"epoch 4/10: the loss rose 3 epochs in a row, to ") as info:
        fit(X, y, path=path, epochs=10, **ONE_BATCH)
    losses = info.value.history["loss"]
    assert len(losses) == 4 and losses[0] == pytest.approx(START, rel=1e-5)  # one batch: the start's loss
    assert all(later > 10 * earlier for earlier, later in itertools.pairwise(losses))
    assert losses[-1] < 1e6 * START  # far below the explosion factor: only the rise catches it
    assert "last finite parameters (after epoch 3)" in str(info.value)
    with pytest.raises(DivergenceError, match=r"epoch 3/10: the loss rose 2 epochs in a row"):
        fit(X, y, path=path, epochs=10, callbacks=[DivergenceGuard(patience=2)], **ONE_BATCH)


def test_a_rise_that_turns_into_convergence_is_not_divergence(path):
    """Momentum 0.99 raises the loss in epoch 2 (1.6x the start), then converges: no error."""
    result = fit(X, y, path=path, momentum=0.99, lr=0.002, epochs=20)
    losses = result.history["loss"]
    assert losses[1] > losses[0] > START * 0.8 and max(losses) > START
    assert losses[-1] < START / 5


def test_a_converging_adam_run_is_not_divergence(path):
    result = fit(X, y, path=path, optimizer="adam", lr=3.0, epochs=10)
    assert result.history["loss"][-1] < 1e-2


@pytest.mark.parametrize(
    ("scale_X", "scale_y", "named", "not_named"),
    [
        (1.0, 1e20, ["y reaches 1.76e+22", "Scale y (e.g. divide it by its standard deviation"], ["X reaches"]),
        (1e20, 1.0, ["X reaches 3.9e+20", "Standardize the features of X"], ["y reaches", "Scale y"]),
        (
            1e20,
            1e20,
            ["X reaches", "y reaches", "Standardize the features of X ((X - X.mean(0)) / X.std(0)) and scale y"],
            [],
        ),
    ],
)
def test_data_that_overflows_float32_is_named_before_training(path, scale_X, scale_y, named, not_named):
    """Squares of values around 1e20 overflow float32 whatever the lr: say so, and what to scale."""
    with pytest.raises(
        DivergenceError, match=r"^Training cannot start: the loss of the initial parameters is already inf"
    ) as info:
        fit(X * scale_X, y * scale_y, path=path)
    message = str(info.value)
    assert "The data's scale overflows float32" in message and "A smaller lr cannot help" in message
    assert "Try a smaller lr" not in message
    for text in named:
        assert text in message
    for text in not_named:
        assert text not in message
    assert info.value.epoch == 0 and info.value.history == {}
    assert info.value.weight.tobytes() == W0.tobytes()


def test_data_overflow_names_what_is_too_large():
    ones = np.ones((300, 2), np.float32)
    assert data_overflow(ones, np.ones(300), np.ones(2), 0.0) is None
    limit = np.sqrt(np.finfo(np.float32).max / 300) / 2  # about 5.3e17
    assert data_overflow(ones, np.full(300, limit * 0.99), np.ones(2), 0.0) is None
    assert "y reaches" in data_overflow(ones, np.full(300, limit * 1.01), np.ones(2), 0.0)
    # X counts through the initial predictions: a large weight on small features overflows as well
    assert "X reaches 1 (the initial predictions up to 1e+18)" in data_overflow(ones, np.ones(300), [5e17, 5e17], 0.0)
    # several outputs: the largest column of weights counts
    assert data_overflow(ones, np.ones((300, 2)), np.array([[1.0, 3e17], [1.0, 3e17]]), np.zeros(2)) is not None


def test_a_resumed_run_keeps_the_guards_start_and_rise(tmp_path, path):
    """The starting level and the rise so far are checkpointed: resumed, the run raises where it would have."""
    target = tmp_path / "run.params"
    with pytest.raises(DivergenceError):  # ends after 2 epochs far worse than it began; the checkpoint stays
        fit(X, y, path=path, epochs=2, checkpoint=target, **ONE_BATCH)
    state = read_checkpoint(target)[1]["callbacks"]["DivergenceGuard#0"]
    assert state["level"] == pytest.approx(START, rel=1e-5) and state["rises"] == 1
    with pytest.raises(DivergenceError, match=r"epoch 4/10: the loss rose 3 epochs in a row") as info:
        fit(X, y, path=path, epochs=10, checkpoint=target, resume=True, **ONE_BATCH)
    with pytest.raises(DivergenceError) as straight:
        fit(X, y, path=path, epochs=10, **ONE_BATCH)
    assert str(info.value) == str(straight.value)
    assert info.value.weight.tobytes() == straight.value.weight.tobytes()


def test_an_interrupted_run_is_returned_unjudged(path):
    """Ctrl-C returns the model so far, marked interrupted: the end check does not run."""
    import signal

    class CtrlCAfter(Callback):
        def on_epoch_end(self, epoch, logs):
            signal.raise_signal(signal.SIGINT)

    result = fit(X, y, path=path, epochs=5, callbacks=[CtrlCAfter()], **ONE_BATCH)
    assert result.interrupted and len(result.history["loss"]) == 1


def test_early_stopping_is_judged_by_the_restored_parameters(path):
    """The end check measures the parameters fit returns: early stopping's restored best, not the last epoch's."""
    result = fit(X, y, path=path, lr=0.05, epochs=30, validation_split=0.2, early_stopping=True)
    assert result.stopped_epoch is not None and np.isfinite(result.weight).all()


def test_divergence_guard_arguments_are_checked():
    with pytest.raises(ValueError, match=r"'patience' parameter of DivergenceGuard must be an int >= 1. Got 0"):
        DivergenceGuard(patience=0)
    with pytest.raises(ValueError, match=r"'patience' parameter of DivergenceGuard must be an int >= 1. Got True"):
        DivergenceGuard(patience=True)
    with pytest.raises(ValueError, match=r"'growth' parameter of DivergenceGuard must be a float in \[1, inf\)"):
        DivergenceGuard(growth=0.5)


@pytest.mark.parametrize("n_outputs", [1, 2])
def test_the_guards_loss_weighs_each_sample_once(path, n_outputs):
    """The loss the guard measures is sum_i s_i loss_i / n on both paths. (The manual path's per-sample losses of one
    output are (n, 1): times the (n,) weights they broadcast to (n, n), the unweighted loss times sum(s), and a
    run whose only weighted sample was fitted exactly was refused as diverged.)"""
    from gluonlr import PATHS
    from gluonlr.config import FitConfig
    from gluonlr.metrics import training_loss

    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 2)).astype(np.float32)
    y = rng.standard_normal((12, n_outputs) if n_outputs > 1 else 12).astype(np.float32)
    weights = rng.uniform(0, 2, 12).astype(np.float32)
    weight, bias = np.ones((2, n_outputs) if n_outputs > 1 else 2), np.zeros(n_outputs) if n_outputs > 1 else 0.0
    learner = PATHS[path](X, y, FitConfig(), weight=weight, bias=bias, sample_weight=weights)
    residual = (X @ weight + bias - y).reshape(12, -1)
    expected = float(weights @ np.mean(residual**2, axis=1)) / 12
    assert training_loss(learner) == pytest.approx(expected, rel=1e-5)
    learner.close()
    X1 = np.ones((12, 1), np.float32)
    X1[0] = 0
    y1, only_first = np.zeros(12, np.float32), np.zeros(12, np.float32)
    y1[0], only_first[0] = -4.0, 1.0
    result = fit(X1, y1, path=path, sample_weight=only_first, lr=0.5, batch_size=1, epochs=1)  # fits row 0 exactly
    assert result.bias == -4.0
