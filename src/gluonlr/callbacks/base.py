"""The callback protocol: the running fit (:class:`Run`) and the base class (:class:`Callback`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gluonlr.learners import Learner
from gluonlr.metrics import training_loss
from gluonlr.persistence import data_fingerprint


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
    stop_is_final : bool
        Set it with ``stop_training`` when the stop ends the run for good, as
        early stopping's does: a checkpoint records it, and a run resumed from
        that checkpoint stays stopped. (A stop by a time budget, say, resumes.)
    epoch : int
        The epoch in progress, from 0.
    converged : bool or None
        Whether training converged, as :class:`Convergence` measures it;
        None when nothing measures it (``fit(tol=None)``).
    interrupted : bool
        Whether Ctrl-C stopped training (set before ``on_train_end``).
    more_data : tuple of ndarray
        Sample weights and validation data, if any: part of the data a
        checkpoint's fingerprint covers, with ``X`` and ``y``.

    Examples
    --------
    >>> from gluonlr import fit, synthetic_data
    >>> class Show(Callback):
    ...     def on_epoch_end(self, epoch, logs):
    ...         print(epoch, self.run.epochs, self.run.path, self.run.get_parameters()[0].shape)
    >>> _ = fit(*synthetic_data(), epochs=2, callbacks=[Show()])
    0 2 manual (2,)
    1 2 manual (2,)
    """

    def __init__(
        self,
        learner: Learner,
        X: Any,
        y: Any,
        *,
        path: str,
        params: dict[str, Any],
        epochs: int,
        initial_epoch: int = 0,
        history: dict[str, list[float]] | None = None,
        more_data: tuple[np.ndarray, ...] = (),
        fingerprint: dict[str, Any] | None = None,
        target: Any = None,
    ) -> None:
        self.learner: Learner | None = learner  # None once fit returned (close)
        self.X: Any = X
        self.y: Any = y
        self.path, self.params = path, params
        self.epochs, self.initial_epoch = epochs, initial_epoch
        self.history: dict[str, list[float]] = history if history is not None else {}
        self.stop_training = False
        self.stop_is_final = False
        self.stop_reason: str | None = None
        self.epoch = initial_epoch
        self.converged: bool | None = None
        self.interrupted = False
        self.callbacks: list[Callback] = []
        self._fingerprint = fingerprint
        self._target = target  # fit(standardize_target=True)'s TargetScale: the model comes out in y's units
        self._more_data = more_data

    def close(self) -> None:
        """Let go of the learner, the data and the callbacks; :func:`gluonlr.fit` calls it as it returns or raises.

        A callback the caller keeps (and its ``run``) then holds no device
        memory, and no reference cycle keeps the learner's buffers alive until
        the garbage collector's next pass.
        """
        self.learner = self.X = self.y = None
        self._more_data = ()
        self.callbacks = []

    def get_learner(self) -> Learner:
        """Return the running fit's :class:`~gluonlr.learners.Learner`.

        Raises
        ------
        AttributeError
            Once fit has returned: it let go of the learner (:meth:`close`).
        """
        if self.learner is None:
            raise AttributeError("The run is over: fit has let go of its learner. Read the result fit returned.")
        return self.learner

    def get_parameters(self) -> tuple[np.ndarray, float | np.ndarray]:
        """Return a copy of the current ``(weight of shape (n_features,), bias)``, in the units of ``X`` and ``y``."""
        weight, bias = self.get_learner().parameters()
        return self._target.to_raw(weight, bias) if self._target is not None else (weight, bias)

    def get_trained_parameters(self) -> tuple[np.ndarray, float | np.ndarray]:
        """Return the current parameters in the units training updates them.

        With ``fit(standardize=True)``, those of the standardized features
        (:meth:`gluonlr.scaling.Standardized.trained_parameters`); otherwise
        :meth:`get_parameters`.
        """
        return self.get_learner().trained_parameters()

    def loss(self, zero_model: bool = False, mean_model: bool = False) -> float:
        """Return the training loss of the current parameters, as ``history["loss"]`` measures it.

        Or of predicting 0 (``zero_model``), or the mean of ``y`` (``mean_model``). One forward pass over the
        training data: see :func:`gluonlr.metrics.training_loss`.
        """
        return training_loss(self.get_learner(), zero_model=zero_model, mean_model=mean_model)

    def get_state(self) -> dict[str, np.ndarray]:
        """Return a copy of the learner's state: parameters and optimizer state."""
        return self.get_learner().get_state()

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Overwrite the learner's state with one from :meth:`get_state`."""
        self.get_learner().set_state(state)

    def data_fingerprint(self) -> dict[str, Any]:
        """Return the shape and SHA-256 of the training data: as fit's pass over the data computed it, else once now."""
        if self._fingerprint is None:
            self._fingerprint = data_fingerprint(self.X, self.y, *self._more_data)
        return self._fingerprint

    def callback_keys(self) -> list[str]:
        """Return a name per callback, unique in this run: the class name and its count, e.g. ``EarlyStopping#0``."""
        counts: dict[str, int] = {}
        keys = []
        for callback in self.callbacks:
            name = type(getattr(callback, "wrapped", callback)).__name__  # a CallbackAdapter's: the object's class
            keys.append(f"{name}#{counts.get(name, 0)}")
            counts[name] = counts.get(name, 0) + 1
        return keys

    def callback_states(self) -> dict[str, Any]:
        """Return the :meth:`Callback.get_state` of each callback that has one, by :meth:`callback_keys`."""
        states = {}
        for key, callback in zip(self.callback_keys(), self.callbacks, strict=True):
            state = callback.get_state()
            if state is not None:
                states[key] = state
        return states


class Callback:
    """Base class of callbacks; override the methods you need.

    ``priority`` orders the callbacks of a run (lowest first, the order given
    among equals): 0, after gluonlr's history, divergence check, early stopping
    and progress bar, and before its checkpoint.

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

    #: Where the loop calls this callback among the others: lowest first.
    priority: int = 0

    #: Whether ``on_batch_end``'s logs are to carry the batch's ``"loss"``: reading it waits for the device after
    #: every batch (see :meth:`on_batch_end`), so only a callback that sets this to True makes fit pay for it.
    wants_batch_loss: bool = False

    def set_run(self, run: Run) -> None:
        """Give the callback the running fit; called before ``on_train_begin``."""
        self.run = run

    def listens_to(self, hook: str) -> bool:
        """Whether the method ``hook`` (e.g. ``"on_batch_end"``) does anything.

        The loop calls a batch's hooks only on the callbacks that listen, so
        the others cost nothing per batch. A subclass listens to the methods
        it overrides.
        """
        return getattr(type(self), hook) is not getattr(Callback, hook)

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        """Run once, before the first epoch."""

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        """Run before epoch ``epoch`` (from 0); ``logs`` is empty."""

    def on_batch_begin(self, batch: int, logs: dict[str, float]) -> None:
        """Run before batch ``batch`` (from 0) of the epoch is dispatched; ``logs`` is ``{"size": rows in it}``."""

    def on_batch_end(self, batch: int, logs: dict[str, float]) -> None:
        """Run after batch ``batch`` (from 0) of the epoch was dispatched; ``logs`` is ``{"size": rows in it}``.

        No loss unless a callback asks for it (``wants_batch_loss = True``):
        reading it waits for the device after every batch, which on a CPU
        costs about as much as the step itself for small batches (MXNet is
        asynchronous: the loop otherwise runs ahead of the device). Then the
        logs of every callback that listens carry ``"loss"``, the batch's mean
        per-sample loss before its update (weighted by ``sample_weight`` as
        ``history["loss"]``, summed in float64; in a ``dist_sync`` job over
        this worker's rows of the batch) — the batch's own, not Keras' running
        mean of the epoch so far. Without it, the batch's work may still be
        running; :func:`gluonlr.fit` waits for the device at most every half
        second while any callback listens, so "done" stays close to the
        truth. Callbacks that do not override it cost nothing per batch.
        """

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Run after each complete epoch ``epoch`` (from 0) with its ``logs``, e.g. ``{"loss": ...}``."""

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        """Run once, after the last epoch (also when stopped early or interrupted)."""

    def on_train_error(self, error: BaseException) -> None:
        """Training raised ``error`` (``on_train_end`` is not called): release what ``on_train_begin`` took."""

    def get_state(self) -> dict[str, Any] | None:
        """Return what the callback must remember across a checkpoint and resume (JSON values), or None."""
        return None

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`get_state` of a resumed run; called after ``on_train_begin``."""


#: The methods of a callback the loop calls, in Keras' names (Keras' ``on_train_batch_begin`` and
#: ``on_train_batch_end`` are taken for ``on_batch_begin`` and ``on_batch_end``).
