"""Callbacks: code :func:`gluonlr.fit` calls at the start, after each epoch and at the end.

The protocol is Keras': a callback gets the running :class:`Run` through
:meth:`Callback.set_run`, then ``on_train_begin(logs)``, ``on_epoch_end(epoch,
logs)`` after every complete epoch and ``on_train_end(logs)``. It stops
training by setting ``run.stop_training = True`` (and, for the result,
``run.stop_reason``). gluonlr's own history, divergence check and checkpoints
are callbacks too; :func:`gluonlr.fit` runs them before the user's, in this
order: :class:`History`, :class:`DivergenceGuard`, :class:`ModelCheckpoint`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gluonlr.errors import DivergenceError
from gluonlr.persistence import PathLike, data_fingerprint, write_checkpoint

__all__ = ["Callback", "DivergenceGuard", "History", "ModelCheckpoint", "Run"]


class Run:
    """What a callback sees of a running :func:`gluonlr.fit`.

    Attributes
    ----------
    path : str
        The training path, ``"manual"`` or ``"gluon"``.
    params : dict
        The arguments of ``fit`` other than the data.
    epochs : int
        The number of epochs the run is to reach.
    initial_epoch : int
        The epoch it started from: 0, or the epochs done in a resumed checkpoint.
    history : dict of str to list of float
        The logs of the complete epochs so far (filled by :class:`History`).
    stop_training : bool
        Set it to True to stop after the current epoch.
    stop_reason : str or None
        Why, in words, for ``FitResult.stop_reason``.
    """

    def __init__(
        self,
        learner: Any,
        X: np.ndarray,
        y: np.ndarray,
        *,
        path: str,
        params: dict[str, Any],
        epochs: int,
        initial_epoch: int = 0,
        history: dict[str, list[float]] | None = None,
    ) -> None:
        self.learner = learner
        self.X, self.y = X, y
        self.path, self.params = path, params
        self.epochs, self.initial_epoch = epochs, initial_epoch
        self.history: dict[str, list[float]] = history if history is not None else {}
        self.stop_training = False
        self.stop_reason: str | None = None
        self._fingerprint: dict[str, Any] | None = None

    def get_parameters(self) -> tuple[np.ndarray, float]:
        """Return a copy of the current ``(weight of shape (n_features,), bias)``."""
        return self.learner.parameters()

    def get_state(self) -> dict[str, np.ndarray]:
        """Return a copy of the learner's state: parameters and optimizer state."""
        return self.learner.get_state()

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Overwrite the learner's state with one from :meth:`get_state`."""
        self.learner.set_state(state)

    def data_fingerprint(self) -> dict[str, Any]:
        """Shape and SHA-256 of the training data (computed once)."""
        if self._fingerprint is None:
            self._fingerprint = data_fingerprint(self.X, self.y)
        return self._fingerprint


class Callback:
    """Base class of callbacks; override the methods you need.

    Examples
    --------
    >>> from gluonlr import fit, synthetic_data
    >>> class StopBelow(Callback):
    ...     def on_epoch_end(self, epoch, logs):
    ...         if logs["loss"] < 1.0:
    ...             self.run.stop_training = True
    ...             self.run.stop_reason = f"loss {logs['loss']:.2g} < 1"
    >>> result = fit(*synthetic_data(), callbacks=[StopBelow()])
    >>> result.stopped_epoch, len(result.history["loss"]), result.stop_reason
    (1, 2, 'loss 0.00023 < 1')
    """

    run: Run

    def set_run(self, run: Run) -> None:
        """Give the callback the running fit; called before ``on_train_begin``."""
        self.run = run

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        """Run once, before the first epoch."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Run after each complete epoch ``epoch`` (from 0) with its ``logs``, e.g. ``{"loss": ...}``."""

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        """Run once, after the last epoch (also when stopped early or interrupted)."""


class History(Callback):
    """Append each epoch's logs to ``run.history``; :func:`gluonlr.fit` always runs it first."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Append ``logs`` to the history."""
        for key, value in logs.items():
            self.run.history.setdefault(key, []).append(value)


class DivergenceGuard(Callback):
    """Raise :class:`~gluonlr.errors.DivergenceError` when training diverges.

    After each epoch: the loss or the parameters are NaN or infinite, or the
    loss exploded to over ``factor`` times its starting level, the larger of
    the first epoch's loss and ``mean(y**2)`` (the loss of predicting 0).
    Checked once per epoch, when the epoch's loss is read anyway: never a
    synchronisation per batch. Keeps a copy of the last finite parameters for
    the error.

    Parameters
    ----------
    factor : float, default=1e6
        How many times its starting level the loss may grow.
    """

    def __init__(self, factor: float = 1e6) -> None:
        self.factor = factor

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        """Remember the starting parameters."""
        self.last_finite = self.run.get_parameters()
        self.zero_model_loss = float(np.mean(np.square(self.run.y, dtype=np.float64)))

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Raise if a log value or a parameter is NaN or infinite, or the loss exploded."""
        weight, bias = self.run.get_parameters()
        bad_logs = {key: value for key, value in logs.items() if not np.isfinite(value)}
        finite_parameters = bool(np.isfinite(weight).all() and np.isfinite(bias))
        level = max(self.run.history["loss"][0], self.zero_model_loss)
        exploded = not bad_logs and logs["loss"] > self.factor * level
        if not bad_logs and finite_parameters and not exploded:
            self.last_finite = weight, bias
            return
        problems = [f"the {key} became {value}" for key, value in bad_logs.items()]
        if exploded:
            problems.append(f"the loss grew to {logs['loss']:.3g}, over {self.factor:g} times its start ({level:.3g})")
        if not finite_parameters:
            problems.append("the parameters became NaN or infinite")
        last_weight, last_bias = self.last_finite
        lr = self.run.params["lr"]
        start = "the initial ones" if epoch == self.run.initial_epoch else f"after epoch {epoch}"
        raise DivergenceError(
            f"Training diverged in epoch {epoch + 1}/{self.run.epochs}: {' and '.join(problems)}. "
            f"Try a smaller lr (it is {lr}; e.g. {lr / 10:g}) or scale the features of X (standardize them). "
            "This error's .history holds the epochs so far; .weight and .bias hold the last finite "
            f"parameters ({start}).",
            epoch=epoch,
            history={key: list(values) for key, values in self.run.history.items()},
            weight=last_weight,
            bias=last_bias,
        )


class ModelCheckpoint(Callback):
    """Write a checkpoint after every epoch, atomically; :func:`gluonlr.fit` runs it for ``checkpoint=``.

    See :mod:`gluonlr.persistence` for the files and their format.

    Parameters
    ----------
    checkpoint : str or os.PathLike
        A file name (``run.params``) or an existing directory.
    """

    def __init__(self, checkpoint: PathLike) -> None:
        self.checkpoint = checkpoint

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Save the state after ``epoch + 1`` complete epochs."""
        write_checkpoint(
            self.checkpoint,
            state=self.run.get_state(),
            epoch=epoch + 1,
            path=self.run.path,
            params=self.run.params,
            history=self.run.history,
            data=self.run.data_fingerprint(),
        )
