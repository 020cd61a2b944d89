"""Stopping early: on the validation loss (:class:`EarlyStopping`) or on ``tol`` (:class:`Convergence`)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from gluonlr._validation import check_float
from gluonlr.callbacks.base import Callback
from gluonlr.errors import ConvergenceWarning
from gluonlr.learners.protocol import model_state


class EarlyStopping(Callback):
    """Stop training when a monitored value stops improving, as Keras' ``EarlyStopping``.

    ``fit(early_stopping=True)`` uses the defaults below; pass an instance to
    choose. Its own state (best value, patience used, best weights) is
    checkpointed too, so a resumed run stops where the uninterrupted one would.

    Parameters
    ----------
    monitor : str, default="val_loss"
        A key of the epoch's logs: ``"loss"``, ``"val_loss"``, or a metric
        such as ``"val_r2"`` (``fit(metrics=...)``, a metric of your own by
        its name too).
    min_delta : float, default=0.0
        The least change that counts as an improvement.
    patience : int, default=5
        Epochs without improvement before stopping (Keras' default is 0).
    mode : {"auto", "min", "max"}, default="auto"
        Whether lower or higher is better; ``"auto"``: higher for R², lower
        for everything else (pass ``"max"`` for a metric of your own that is
        better higher, such as ``explained_variance_score``).
    restore_best_weights : bool, default=True
        On stopping, put back the parameters of the best epoch (Keras' default
        is False).

    Examples
    --------
    >>> from gluonlr import fit, synthetic_data
    >>> result = fit(*synthetic_data(), epochs=50, validation_split=0.2, early_stopping=EarlyStopping(patience=2))
    >>> result.stopped_epoch < 49, result.stop_reason.startswith("early stopping: val_loss did not improve")
    (True, True)
    """

    priority = -200

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 5,
        mode: str = "auto",
        restore_best_weights: bool = True,
    ) -> None:
        if not isinstance(monitor, str):
            raise TypeError(f"The 'monitor' parameter of EarlyStopping must be a str: 'val_loss'... Got {monitor!r}.")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"The 'mode' parameter of EarlyStopping must be 'auto', 'min' or 'max'. Got {mode!r}.")
        if not isinstance(restore_best_weights, bool):
            raise TypeError(
                f"The 'restore_best_weights' parameter of EarlyStopping must be True or False. "
                f"Got {restore_best_weights!r}."
            )
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"The 'patience' parameter of EarlyStopping must be an int >= 0. Got {patience!r}.")
        if not (isinstance(min_delta, int | float) and min_delta >= 0):
            raise ValueError(f"The 'min_delta' parameter of EarlyStopping must be a float >= 0. Got {min_delta!r}.")
        self.monitor, self.min_delta, self.patience = monitor, float(min_delta), patience
        self.restore_best_weights, self.mode = restore_best_weights, mode
        self.higher_is_better = mode == "max" or (mode == "auto" and monitor.endswith("r2"))
        self.stopped_epoch: int | None = None

    def params(self) -> dict[str, Any]:
        """Return the settings, which a resumed run must share (a checkpoint records them)."""
        return {
            "monitor": self.monitor,
            "min_delta": self.min_delta,
            "patience": self.patience,
            "mode": self.mode,
            "restore_best_weights": self.restore_best_weights,
        }

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        """Start with no best value."""
        self.best: float = -np.inf if self.higher_is_better else np.inf
        self.best_epoch: int | None = None
        self.wait = 0
        self.best_state: dict[str, np.ndarray] | None = None
        self.stopped_epoch = None

    def _improved(self, value: float) -> bool:
        if self.higher_is_better:
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Track the best value; stop (and restore) when patience runs out."""
        value = logs[self.monitor]
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                state = self.run.get_state()
                self.best_state = model_state(state)  # the parameters, and with average their mean
            return
        self.wait += 1
        if self.wait < self.patience:
            return
        self.run.stop_training, self.run.stop_is_final, self.stopped_epoch = True, True, epoch
        restored = self.restore_best_weights and self.best_state is not None
        if restored and self.best_state is not None:
            self.run.set_state(self.best_state)
        best_epoch = "none" if self.best_epoch is None else self.best_epoch + 1
        self.run.stop_reason = (
            f"early stopping: {self.monitor} did not improve by more than {self.min_delta:g} for "
            f"{self.wait} epochs; best {self.best:.6g} in epoch {best_epoch}"
            + (", whose parameters were restored" if restored else "")
        )

    def get_state(self) -> dict[str, Any]:
        """Return the best value and epoch, the epochs waited and the best parameters."""
        best_state = None
        if self.best_state is not None:
            best_state = {key: value.tolist() for key, value in self.best_state.items()}
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait, "best_state": best_state}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`get_state` from a checkpoint."""
        self.best, self.best_epoch, self.wait = float(state["best"]), state["best_epoch"], int(state["wait"])
        if state["best_state"] is not None:
            # float64 holds a float32 or a float64 model's values exactly: the learner casts them to its dtype
            self.best_state = {key: np.asarray(value, np.float64) for key, value in state["best_state"].items()}


class Convergence(Callback):
    """Stop when the loss stops improving by ``tol``, as scikit-learn's ``SGDRegressor(tol=...)``; ``fit(tol=...)``.

    After each epoch, the monitored value (the epoch's training loss, or the
    validation loss when there is validation data) counts as no improvement
    when it is above the best so far minus ``tol``; after ``n_iter_no_change``
    such epochs in a row, training has converged and stops, for good (a run
    resumed from its checkpoint stays stopped). A run that reaches its last
    epoch without converging warns with :class:`~gluonlr.errors.ConvergenceWarning`.

    Parameters
    ----------
    tol : float
        The improvement, in the monitored loss's units, that counts; >= 0.
    n_iter_no_change : int, default=5
        Epochs in a row without it before training stops; >= 1.
    monitor : {"loss", "val_loss"}, default="loss"

    Examples
    --------
    >>> from gluonlr import fit, synthetic_data
    >>> result = fit(*synthetic_data(), epochs=100, tol=1e-3)
    >>> result.converged, result.n_epochs, result.stop_reason  # doctest: +ELLIPSIS
    (True, 7, 'converged: loss did not improve by more than tol=0.001 for 5 epochs; best 8.74...e-05 in epoch 4')
    """

    priority = -150

    def __init__(self, tol: float, n_iter_no_change: int = 5, monitor: str = "loss") -> None:
        self.tol = check_float("tol", tol, low=0.0, where="Convergence")
        if isinstance(n_iter_no_change, bool) or not isinstance(n_iter_no_change, int) or n_iter_no_change < 1:
            raise ValueError(
                f"The 'n_iter_no_change' parameter of Convergence must be an int >= 1. Got {n_iter_no_change!r}."
            )
        self.n_iter_no_change, self.monitor = n_iter_no_change, monitor

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        """Start counting: no best value yet."""
        self.best, self.wait, self.converged = float("inf"), 0, False
        self.best_epoch: int | None = None
        self.run.converged = False

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Count an epoch without an improvement of ``tol``; stop after ``n_iter_no_change`` in a row."""
        value = logs[self.monitor]
        self.wait = self.wait + 1 if value > self.best - self.tol else 0
        if value < self.best:
            self.best, self.best_epoch = value, epoch
        if self.wait < self.n_iter_no_change:
            return
        learner = self.run.get_learner()
        lr = learner.config.lr_schedule.on_plateau(learner.config.lr)  # lr_schedule="adaptive": a smaller rate
        if lr is not None:
            learner.set_lr(lr)
            self.wait = 0
            return
        self.converged = self.run.converged = True
        self.run.stop_training = self.run.stop_is_final = True
        self.run.stop_reason = (
            f"converged: {self.monitor} did not improve by more than tol={self.tol:g} for {self.wait} epochs; "
            f"best {self.best:.6g} in epoch {(self.best_epoch or 0) + 1}"
        )

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        """Warn if training ran all its epochs without converging."""
        if self.converged or self.run.interrupted or self.run.stop_training:
            return
        last = logs.get(self.monitor) if logs else None
        warnings.warn(
            ConvergenceWarning(
                f"Training reached its last epoch (epochs={self.run.epochs}) without converging: the "
                f"{self.monitor} still improved by more than tol={self.tol:g} within its last {self.n_iter_no_change} "
                "epochs" + (f" (last {last:.6g}, best {self.best:.6g})" if last is not None else "") + ". "
                "Increase epochs, or raise tol; a larger lr (or lr='auto' with standardize=True) may converge in "
                "fewer epochs."
            ),
            stacklevel=5,  # Convergence.on_train_end < loop.train < phases.train_to_result < fit < the caller
        )

    def get_state(self) -> dict[str, Any]:
        """Return the best value and epoch, the epochs waited, whether training converged, and the rate now."""
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "converged": self.converged,
            "lr": self.run.get_learner().config.lr,  # lr_schedule="adaptive" divides it at each plateau
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`get_state` from a checkpoint (one without a rate keeps the learner's)."""
        self.best, self.best_epoch, self.wait = float(state["best"]), state["best_epoch"], int(state["wait"])
        self.converged = self.run.converged = bool(state["converged"])
        if "lr" in state:
            self.run.get_learner().set_lr(float(state["lr"]))
