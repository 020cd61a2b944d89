"""Callbacks: code :func:`gluonlr.fit` calls at the start, after each epoch and at the end.

The protocol is Keras': a callback gets the running :class:`Run` through
:meth:`Callback.set_run`, then ``on_train_begin(logs)``,
``on_epoch_begin(epoch, logs)``, ``on_batch_begin(batch, logs)`` and
``on_batch_end(batch, logs)`` around every batch, ``on_epoch_end(epoch,
logs)`` after every complete epoch and ``on_train_end(logs)``. Besides
:class:`Callback` subclasses, ``fit(callbacks=[...])`` takes any object with
some of these methods, as Keras users write them (:class:`CallbackAdapter`),
and :class:`LambdaCallback` makes one of functions. It stops
training by setting ``run.stop_training = True`` (and, for the result,
``run.stop_reason``). gluonlr's own history, divergence check and checkpoints
are callbacks too. The loop calls the callbacks in the order of their
``priority`` (lowest first; among equals, in the order given), as Gluon's
``Estimator`` orders its event handlers, and names none of them:
:class:`History` (-400), :class:`DivergenceGuard` (-300),
:class:`EarlyStopping` (-200), :class:`ProgressBar` (-100), then the user's
(0 unless they say otherwise), and :class:`ModelCheckpoint` (1000) last, so a
checkpoint holds the epoch's final state.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from gluonlr._validation import check_float
from gluonlr.data.sources import chunks
from gluonlr.errors import ConvergenceWarning, DivergenceError, WorseThanMeanWarning
from gluonlr.learners import Learner
from gluonlr.metrics import training_loss
from gluonlr.persistence import PathLike, data_fingerprint, write_checkpoint

__all__ = [
    "HOOKS",
    "Callback",
    "CallbackAdapter",
    "Convergence",
    "DivergenceGuard",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "ModelCheckpoint",
    "ProgressBar",
    "Run",
    "as_callback",
    "data_overflow",
]


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
HOOKS = (
    "on_train_begin",
    "on_epoch_begin",
    "on_batch_begin",
    "on_batch_end",
    "on_epoch_end",
    "on_train_end",
    "on_train_error",
)

_KERAS_NAMES = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}


class _Hooks(Callback):
    """A callback whose methods call the functions it holds by hook name; it listens to those only."""

    def __init__(self, hooks: dict[str, Callable[..., Any]]) -> None:
        self.hooks = hooks

    def listens_to(self, hook: str) -> bool:
        """Whether it holds a function for ``hook``."""
        return hook in self.hooks

    def _call(self, hook: str, *args: Any) -> None:
        function = self.hooks.get(hook)
        if function is not None:
            function(*args)

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        """Call the ``on_train_begin`` function with the logs (a dict, as Keras passes)."""
        self._call("on_train_begin", {} if logs is None else logs)

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        """Call the ``on_epoch_begin`` function with the epoch and the logs."""
        self._call("on_epoch_begin", epoch, {} if logs is None else logs)

    def on_batch_begin(self, batch: int, logs: dict[str, float]) -> None:
        """Call the ``on_batch_begin`` function with the batch and the logs."""
        self._call("on_batch_begin", batch, logs)

    def on_batch_end(self, batch: int, logs: dict[str, float]) -> None:
        """Call the ``on_batch_end`` function with the batch and the logs."""
        self._call("on_batch_end", batch, logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Call the ``on_epoch_end`` function with the epoch and the logs."""
        self._call("on_epoch_end", epoch, logs)

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        """Call the ``on_train_end`` function with the logs."""
        self._call("on_train_end", {} if logs is None else logs)

    def on_train_error(self, error: BaseException) -> None:
        """Call the ``on_train_error`` function with the error."""
        self._call("on_train_error", error)


class CallbackAdapter(_Hooks):
    """A callback of any object with some of the methods of :data:`HOOKS`, as Keras users write them.

    :func:`gluonlr.fit` wraps each object of ``callbacks`` that is not a
    :class:`Callback` in one (:func:`as_callback`). The loop calls the
    object's methods that exist, with Keras' arguments (``logs`` always a
    dict); the missing ones are no-ops, and an object with no ``on_batch_*``
    method costs nothing per batch. The object gets the :class:`Run` from its
    own ``set_run(run)`` if it has one, else as its attribute ``run`` (where
    Keras sets ``model``: stop training with ``self.run.stop_training =
    True``). Its ``priority`` and ``wants_batch_loss`` attributes are read,
    and its ``get_state``/``set_state`` called, if it has them.

    Parameters
    ----------
    wrapped : object
        Anything with at least one method of :data:`HOOKS` (or Keras'
        ``on_train_batch_begin``/``on_train_batch_end``).

    Raises
    ------
    TypeError
        If ``wrapped`` has none of them.

    Examples
    --------
    >>> from gluonlr import fit, synthetic_data
    >>> class KerasStyle:  # no gluonlr base class
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         print(epoch, sorted(logs), self.run.path)
    >>> _ = fit(*synthetic_data(), epochs=2, callbacks=[KerasStyle()])
    0 ['loss', 'lr'] manual
    1 ['loss', 'lr'] manual
    """

    def __init__(self, wrapped: Any) -> None:
        hooks = {hook: getattr(wrapped, hook) for hook in HOOKS if callable(getattr(wrapped, hook, None))}
        for keras, hook in _KERAS_NAMES.items():
            if hook not in hooks and callable(getattr(wrapped, keras, None)):
                hooks[hook] = getattr(wrapped, keras)
        if not hooks:
            raise TypeError(_expected(wrapped, "has none of them"))
        super().__init__(hooks)
        self.wrapped = wrapped
        priority = getattr(wrapped, "priority", 0)
        if isinstance(priority, bool) or not isinstance(priority, numbers.Integral):
            raise TypeError(f"The priority of a callback must be an int. Got {priority!r} on {wrapped!r}.")
        self.priority = int(priority)
        self.wants_batch_loss = bool(getattr(wrapped, "wants_batch_loss", False))

    def __repr__(self) -> str:
        return f"CallbackAdapter({self.wrapped!r})"

    def set_run(self, run: Run) -> None:
        """Give the object the run: its ``set_run(run)``, else its attribute ``run``."""
        super().set_run(run)
        if callable(getattr(self.wrapped, "set_run", None)):
            self.wrapped.set_run(run)
        else:
            try:
                self.wrapped.run = run
            except (AttributeError, TypeError):  # __slots__ or frozen: it does without
                pass

    def get_state(self) -> dict[str, Any] | None:
        """Return the object's ``get_state()``, if it has one."""
        get_state = getattr(self.wrapped, "get_state", None)
        return get_state() if callable(get_state) else None

    def set_state(self, state: dict[str, Any]) -> None:
        """Call the object's ``set_state(state)``, if it has one."""
        set_state = getattr(self.wrapped, "set_state", None)
        if callable(set_state):
            set_state(state)


class LambdaCallback(_Hooks):
    """A callback made of functions, as Keras' ``LambdaCallback``.

    Each argument is a function called at that point with Keras' arguments:
    ``on_train_begin(logs)``, ``on_epoch_begin(epoch, logs)``,
    ``on_batch_begin(batch, logs)``, ``on_batch_end(batch, logs)``,
    ``on_epoch_end(epoch, logs)``, ``on_train_end(logs)``; the ``logs`` are
    :class:`Callback`'s. Functions of the batches cost nothing unless given.

    Parameters
    ----------
    on_train_begin, on_epoch_begin, on_batch_begin, on_batch_end, on_epoch_end, on_train_end : callable, optional
    wants_batch_loss : bool, default=False
        Whether ``on_batch_end``'s logs carry the batch's ``"loss"`` (a wait
        for the device every batch, see :meth:`Callback.on_batch_end`).
    priority : int, default=0
        Where it runs among the callbacks, see :class:`Callback`.

    Examples
    --------
    >>> from gluonlr import fit, synthetic_data
    >>> losses = []
    >>> log = LambdaCallback(on_batch_end=lambda batch, logs: losses.append(logs["loss"]), wants_batch_loss=True)
    >>> _ = fit(*synthetic_data(), epochs=1, callbacks=[log, LambdaCallback(on_train_end=lambda logs: print("done"))])
    done
    >>> len(losses), losses[0] > losses[-1]
    (30, True)
    """

    def __init__(
        self,
        on_train_begin: Callable[[dict[str, float]], Any] | None = None,
        on_epoch_begin: Callable[[int, dict[str, float]], Any] | None = None,
        on_batch_begin: Callable[[int, dict[str, float]], Any] | None = None,
        on_batch_end: Callable[[int, dict[str, float]], Any] | None = None,
        on_epoch_end: Callable[[int, dict[str, float]], Any] | None = None,
        on_train_end: Callable[[dict[str, float]], Any] | None = None,
        *,
        wants_batch_loss: bool = False,
        priority: int = 0,
    ) -> None:
        given = {
            "on_train_begin": on_train_begin,
            "on_epoch_begin": on_epoch_begin,
            "on_batch_begin": on_batch_begin,
            "on_batch_end": on_batch_end,
            "on_epoch_end": on_epoch_end,
            "on_train_end": on_train_end,
        }
        for hook, function in given.items():
            if function is not None and not callable(function):
                raise TypeError(f"The {hook!r} parameter of LambdaCallback must be a function. Got {function!r}.")
        super().__init__({hook: function for hook, function in given.items() if function is not None})
        self.wants_batch_loss, self.priority = bool(wants_batch_loss), priority


def _expected(callback: Any, what: str) -> str:
    return (
        "The 'callbacks' parameter of fit must hold gluonlr.callbacks.Callback instances or objects with some of "
        f"the methods {', '.join(HOOKS[:-1])} (Keras' names). Got {callback!r}, which {what}."
    )


def as_callback(callback: Any) -> Callback:
    """Return ``callback`` as the loop takes it: a :class:`Callback` itself, any other in a :class:`CallbackAdapter`.

    Raises
    ------
    TypeError
        For a class (not an instance), a plain function (wrap it in
        :class:`LambdaCallback`) or an object with no method of :data:`HOOKS`.

    Examples
    --------
    >>> as_callback(print)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: The 'callbacks' parameter of fit ... which is a function: pass LambdaCallback(on_epoch_end=print) ...
    """
    if isinstance(callback, Callback):
        return callback
    if isinstance(callback, type):
        raise TypeError(_expected(callback, f"is a class: pass an instance, {callback.__name__}()"))
    if callable(callback) and not any(hasattr(callback, hook) for hook in (*HOOKS, *_KERAS_NAMES)):
        name = getattr(callback, "__name__", "function")
        raise TypeError(
            _expected(callback, f"is a function: pass LambdaCallback(on_epoch_end={name}) to call it after each epoch")
        )
    return CallbackAdapter(callback)


class History(Callback):
    """Append each epoch's logs to ``run.history``; :func:`gluonlr.fit` always runs it first.

    Examples
    --------
    >>> from gluonlr import fit, synthetic_data
    >>> history = fit(*synthetic_data(), epochs=2, validation_split=0.1).history
    >>> sorted(history), len(history["loss"])
    (['loss', 'lr', 'val_loss'], 2)
    """

    priority = -400

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Append ``logs`` to the history."""
        for key, value in logs.items():
            self.run.history.setdefault(key, []).append(value)


class DivergenceGuard(Callback):
    """Raise :class:`~gluonlr.errors.DivergenceError` when training diverges or ends far worse than it began.

    The yardstick is the *starting level*: the largest of the loss of the
    initial parameters (one forward pass over the training data before the
    first epoch), the loss of predicting 0, and 1. After each epoch the guard
    raises if

    * the loss or the parameters are NaN or infinite;
    * the loss exploded to over ``factor`` times the starting level;
    * the loss rose ``patience`` epochs in a row (the first epoch compared with
      the initial parameters' loss) to over ``growth`` times the starting level.

    At the end of training (not after a Ctrl-C) a second forward pass measures
    the loss of the parameters ``fit`` returns: over ``growth`` times the
    starting level, training made the model far worse than where it began, and
    the guard raises rather than return it.

    Then it holds that loss against a yardstick that does not depend on where
    training started: the loss of predicting the (sample-weighted) mean of
    ``y``, measured before the first epoch. A model above it (for the squared
    loss: a training R² below 0) is worse than no model at all; the guard
    warns with :class:`~gluonlr.WorseThanMeanWarning`, saying what to
    change, and the result's ``converged`` is False. (A warning, not an error:
    the run did not diverge, and an epoch or two from a far start, as
    ``partial_fit`` takes, may well end there; the warning names what went
    wrong, as :class:`~gluonlr.errors.ConvergenceWarning` does.) The starting
    level grows with the initial weights (``init="normal"`` over 5,000
    features starts thousands of times above the mean's loss), so it can only
    say whether training diverged, never whether the model is any good.

    Why the margins: near its optimum, SGD jitters, and momentum and Adam may
    raise the loss for an epoch or two before converging; at a learning rate
    that keeps training stable, neither takes the loss to ``growth`` times the
    start. The floor of 1 keeps a start that is already an exact fit (a loss
    near 0) from making the jitter that follows look like growth; a loss below
    ``growth`` is never called divergence unless it is NaN or infinite.

    If the initial parameters' loss is already infinite, the data's scale
    overflows float32 (values around 1e20, whose squares exceed float32's
    largest value): the guard raises before the first step, and the message
    names what to scale (see :func:`data_overflow`). Every check reads from the
    device once per epoch, never once per batch; the guard keeps a copy of the
    last finite parameters for the error.

    Parameters
    ----------
    factor : float, default=1e6
        How many times the starting level the loss may reach in any epoch.
    patience : int, default=3
        How many epochs in a row the loss may rise while above ``growth``
        times the starting level.
    growth : float, default=10.0
        How many times the starting level the loss may end at, or rise above.

    Examples
    --------
    >>> from gluonlr import DivergenceError, fit, synthetic_data
    >>> X, y = synthetic_data()
    >>> try:  # one batch of all 300 samples: lr 0.01 on the summed gradient overshoots
    ...     fit(X, y, batch_size=300, epochs=3)
    ... except DivergenceError as error:
    ...     print(error.epoch, len(error.history["loss"]))
    2 3
    >>> try:  # a stricter guard than fit's own
    ...     fit(X, y, lr=0.1, callbacks=[DivergenceGuard(factor=100)])
    ... except DivergenceError as error:
    ...     print(error.epoch, len(error.history["loss"]))
    0 1
    """

    priority = -300

    #: How far above the mean's loss (relatively) the fitted loss may end before the guard warns: float32's
    #: rounding of the losses, and SGD's jitter around a model no better than the mean (a target without signal).
    worse_than_mean_rtol = 1e-4

    def __init__(self, factor: float = 1e6, patience: int = 3, growth: float = 10.0) -> None:
        self.factor = check_float("factor", factor, low=1.0, where="DivergenceGuard")
        self.growth = check_float("growth", growth, low=1.0, where="DivergenceGuard")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"The 'patience' parameter of DivergenceGuard must be an int >= 1. Got {patience!r}.")
        self.patience = patience

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        """Measure the starting level: one forward pass with the initial parameters (and one predicting 0)."""
        self.initial = self.last_finite = self.run.get_parameters()
        self.last_finite_name = "the initial ones"
        initial_loss, zero_loss = self.run.loss(), self.run.loss(zero_model=True)
        self.mean_loss = self.run.loss(mean_model=True)  # the yardstick of the fitted model, whatever the start
        self.level = max(initial_loss, zero_loss, 1.0)
        self.previous, self.rises = initial_loss, 0
        if not np.isfinite([initial_loss, zero_loss]).all():  # max() would hide a NaN behind 1.0
            finite = all(np.isfinite(_largest(data)) for data in (self.run.X, self.run.y))
            raise self._error(
                self.run.initial_epoch,
                f"Training cannot start: the loss of the initial parameters is already {initial_loss:g}",
                advice=None
                if finite
                else "The data holds NaN or infinity: fit(check_input=True), the default, finds the first bad row "
                "before training.",
            )

    def get_state(self) -> dict[str, Any]:
        """Return the starting level and the rise so far, which a resumed run continues from."""
        return {"level": self.level, "previous": self.previous, "rises": self.rises}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`get_state` from a checkpoint."""
        self.level, self.previous, self.rises = float(state["level"]), float(state["previous"]), int(state["rises"])

    def check_parameters(self, epoch: int) -> None:
        """Raise if the parameters are NaN or infinite (after a Ctrl-C, the epoch it cut short)."""
        self.on_epoch_end(epoch, {})

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Raise if a log value or a parameter is NaN or infinite, or the loss exploded or kept rising."""
        weight, bias = self.run.get_parameters()
        problems = [f"the {key} became {value}" for key, value in logs.items() if not np.isfinite(value)]
        if not problems and "loss" in logs:
            loss = logs["loss"]
            self.rises = self.rises + 1 if loss > self.previous else 0
            self.previous = loss
            if loss > self.factor * self.level:
                problems.append(f"the loss grew to {loss:.3g}, over {self.factor:g} times its start ({self.level:.3g})")
            elif self.rises >= self.patience and loss > self.growth * self.level:
                problems.append(
                    f"the loss rose {self.rises} epochs in a row, to {loss:.3g}, "
                    f"{loss / self.level:.3g} times its start ({self.level:.3g})"
                )
        if not (np.isfinite(weight).all() and np.isfinite(bias).all()):
            problems.append("the parameters became NaN or infinite")
        if problems:
            raise self._error(
                epoch, f"Training diverged in epoch {epoch + 1}/{self.run.epochs}: {' and '.join(problems)}"
            )
        self.last_finite, self.last_finite_name = (weight, bias), f"after epoch {epoch + 1}"

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        """Raise if the parameters fit returns have a loss over ``growth`` times the start.

        After a Ctrl-C, only if they are NaN or infinite: an epoch cut short is no measure of the fit.
        """
        if self.run.interrupted:
            self.check_parameters(self.run.epoch)
            return
        final = self.run.loss()
        if final <= self.growth * self.level:
            self._check_against_the_mean(final)
            return
        self.last_finite, self.last_finite_name = self.run.get_parameters(), "the fitted ones"
        raise self._error(
            max(len(self.run.history.get("loss", ())) - 1, 0),
            f"Training diverged: the loss of the fitted parameters is {final}"
            if not np.isfinite(final)
            else f"Training diverged: the loss of the fitted parameters, {final:.3g}, is {final / self.level:.3g} "
            f"times its start ({self.level:.3g}, the loss of the initial parameters)",
        )

    def _check_against_the_mean(self, final: float) -> None:
        """Warn (and mark the run not converged) if the fitted loss ``final`` is above the mean's."""
        mean_loss = self.mean_loss
        if not mean_loss > 0 or final <= mean_loss * (1 + self.worse_than_mean_rtol):
            return  # a constant target (the mean is exact, R² undefined), or a model at least as good as the mean
        self.run.converged = False
        params = self.run.params
        r2 = f" (training R² {1 - final / mean_loss:.4g})" if params.get("loss") in ("squared", "l2") else ""
        advice = []
        if params.get("init") == "normal":
            n_features = len(self.initial[0])
            advice.append(
                f"it started from w ~ N(0, 1) (init='normal', the article's), far from the mean over {n_features} "
                "feature(s): init='zeros' with standardize_target=True starts at the mean"
            )
        if not (params.get("standardize") and params.get("lr") == "auto"):
            advice.append("standardize=True with lr='auto' picks a rate that trains")
        from gluonlr.options import OPTIONS  # options imports this module

        def users(name: str) -> str:
            return f"{name}={OPTIONS[name].default_on('estimator')!r}"

        advice.append(
            f"train longer (epochs={self.run.epochs}"
            + (f", with {users('tol')} to stop once the loss stops improving)" if params.get("tol") is None else ")")
        )
        defaults = ", ".join(
            users(name) for name in ("standardize", "standardize_target", "lr", "reduction", "init", "tol")
        )
        warnings.warn(
            WorseThanMeanWarning(
                f"The fitted model is worse than predicting the mean of y: its training loss, {final:.4g}, is above "
                f"the mean's, {mean_loss:.4g}{r2}. It has not converged: {'; '.join(advice)}. The estimator's and "
                f"gluonlr fit FILE's defaults ({defaults}) fit ordinary data."
            ),
            stacklevel=6,  # _check_against_the_mean < on_train_end < loop.train < train_to_result < fit < the caller
        )

    def _advice(self) -> str:
        """Say what to change: the data's scale if it overflows the model's dtype, else the lr or X's scale."""
        overflow = data_overflow(self.run.X, self.run.y, *self.initial, dtype=self.run.get_learner().config.dtype)
        if overflow:
            return f"{overflow} A smaller lr cannot help."
        lr = self.run.get_learner().config.lr  # the rate lr="auto" chose, if that was the argument
        given = "lr='auto' chose" if self.run.params["lr"] == "auto" else "it is"
        return f"Try a smaller lr ({given} {lr}; e.g. {lr / 10:g}) or scale the features of X (standardize=True)."

    def _error(self, epoch: int, what: str, advice: str | None = None) -> DivergenceError:
        weight, bias = self.last_finite
        return DivergenceError(
            f"{what}. {advice or self._advice()} This error's .history holds the epochs so far; .weight and .bias "
            f"hold the last finite parameters ({self.last_finite_name}).",
            epoch=epoch,
            history={key: list(values) for key, values in self.run.history.items()},
            weight=weight,
            bias=bias,
        )


def _largest(array: Any) -> float:
    """Return ``max |array|``, reading an array or a :class:`~gluonlr.data.Source` in chunks."""
    return max(float(np.abs(chunk).max()) for _, (chunk,) in chunks(array))


def data_overflow(X: Any, y: Any, weight: np.ndarray, bias: float | np.ndarray, dtype: str = "float32") -> str | None:
    """Say which of ``X`` and ``y`` is too large for ``dtype`` (the model's) to sum its squared errors, or return None.

    Squared errors of values beyond ``sqrt(float32 max / n) / 2``, summed over
    ``n`` samples, can exceed float32's largest value (3.4e38); in float64,
    beyond ``sqrt(1.8e308 / n) / 2``.
    ``X`` counts by the predictions of the initial parameters ``weight`` and
    ``bias``, bounded by ``max|X| * sum|weight| + max|bias|``. ``X`` and
    ``y`` may be :class:`~gluonlr.data.Source`: read in chunks.

    Examples
    --------
    >>> X, y = np.ones((300, 2), np.float32), np.full(300, 1e20, np.float32)
    >>> print(data_overflow(X, y, np.ones(2), 0.0))  # doctest: +NORMALIZE_WHITESPACE
    The data's scale overflows float32: y reaches 1e+20; squared errors of values beyond 5.3e+17, summed over the
    300 samples, exceed float32's largest value (3.4e+38). Scale y (e.g. divide it by its standard deviation, and
    multiply the predictions back).
    >>> data_overflow(X, np.ones(300), np.ones(2), 0.0) is None
    True
    """
    n = len(X)
    largest = float(np.finfo(dtype).max)
    limit = np.sqrt(largest / n) / 2
    with np.errstate(over="ignore"):
        y_scale = _largest(y)
        weights = np.abs(np.asarray(weight, np.float64)).reshape(len(weight), -1).sum(axis=0).max()
        x_scale = _largest(X)
        prediction_scale = x_scale * float(weights) + float(np.abs(np.asarray(bias, np.float64)).max())
    large, fixes = [], []
    if x_scale >= limit or prediction_scale >= limit:
        large.append(f"X reaches {x_scale:.3g} (the initial predictions up to {prediction_scale:.3g})")
        fixes.append("standardize the features of X ((X - X.mean(0)) / X.std(0))")
    if y_scale >= limit:
        large.append(f"y reaches {y_scale:.3g}")
        fixes.append("scale y (e.g. divide it by its standard deviation, and multiply the predictions back)")
    if not large:
        return None
    fix = " and ".join(fixes)
    return (
        f"The data's scale overflows {dtype}: {' and '.join(large)}; squared errors of values beyond {limit:.2g}, "
        f"summed over the {n} samples, exceed {dtype}'s largest value ({largest:.2g}). {fix[0].upper()}{fix[1:]}."
    )


class ModelCheckpoint(Callback):
    """Write a checkpoint after every epoch, atomically; :func:`gluonlr.fit` runs it for ``checkpoint=``.

    See :mod:`gluonlr.persistence` for the files and their format.

    Parameters
    ----------
    checkpoint : str or os.PathLike
        A file name (``run.params``) or a directory (an existing one, or a path
        ending in ``/``); see :func:`~gluonlr.persistence.checkpoint_files`.

    Examples
    --------
    >>> import os, tempfile
    >>> from gluonlr import fit, synthetic_data
    >>> from gluonlr.persistence import read_checkpoint
    >>> path = os.path.join(tempfile.mkdtemp(), "run.params")
    >>> _ = fit(*synthetic_data(), epochs=3, checkpoint=path)  # fit adds ModelCheckpoint(path)
    >>> state, meta = read_checkpoint(path)
    >>> meta["epoch"], sorted(state)
    (3, ['bias', 'model/bias', 'model/weight', 'updates', 'weight'])
    """

    priority = 1000  # last: the epoch's final state

    def __init__(self, checkpoint: PathLike) -> None:
        self.checkpoint = checkpoint

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Save the state after ``epoch + 1`` complete epochs, with the other callbacks' states.

        :func:`gluonlr.fit` runs it after every other callback, so the
        checkpoint holds the epoch's final state: the parameters early stopping
        restored, and whether early stopping ended the run (resumed, such a run
        stays ended; a stop by any other callback, a time budget say, resumes).
        """
        stopped = None
        if self.run.stop_training and self.run.stop_is_final and epoch + 1 < self.run.epochs:
            stopped = {"epoch": epoch, "reason": self.run.stop_reason}
        write_checkpoint(
            self.checkpoint,
            state=self.run.get_state(),
            epoch=epoch + 1,
            path=self.run.path,
            params=self.run.params,
            history=self.run.history,
            data=self.run.data_fingerprint(),
            callbacks=self.run.callback_states(),
            stopped=stopped,
            model=self.run.get_parameters(),  # in the units of X (the state may be standardized)
        )


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
                self.best_state = {"weight": state["weight"], "bias": state["bias"]}
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


class ProgressBar(Callback):
    """Show a tqdm progress bar of the epochs with the latest loss; ``fit(verbose=1)``.

    Written to standard error. :func:`gluonlr.fit` adds it by default only when
    standard error is a terminal or in a Jupyter kernel (``verbose="auto"``).
    An epoch that runs longer than ``batch_delay`` seconds also shows its own
    bar: samples done, samples per second and the time left (from
    :meth:`~Callback.on_batch_end`, no device read per batch).

    Parameters
    ----------
    batch_delay : float, default=2.0
        Seconds into an epoch before its bar appears (tqdm's ``delay``); short
        epochs never show one.

    Examples
    --------
    >>> from gluonlr import fit, synthetic_data
    >>> result = fit(*synthetic_data(), epochs=3, verbose=1)  # the same as callbacks=[ProgressBar()]
    """

    priority = -100

    def __init__(self, batch_delay: float = 2.0) -> None:
        self.batch_delay = check_float("batch_delay", batch_delay, low=0.0, where="ProgressBar")
        self.epoch_bar: Any = None

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        """Open the bar at the epoch the run starts from."""
        from tqdm.auto import tqdm

        self._tqdm = tqdm
        self.bar = tqdm(
            total=self.run.epochs, initial=self.run.initial_epoch, unit="epoch", desc=f"gluonlr {self.run.path}"
        )
        self.epoch = self.run.initial_epoch

    def on_batch_end(self, batch: int, logs: dict[str, float]) -> None:
        """Advance the epoch's bar by the batch's samples (the bar shows after ``batch_delay`` seconds)."""
        if self.epoch_bar is None:
            self.epoch_bar = self._tqdm(
                total=len(self.run.y),
                unit="sample",
                unit_scale=True,
                leave=False,
                delay=self.batch_delay,
                desc=f"epoch {self.epoch + 1}/{self.run.epochs}",
            )
        self.epoch_bar.update(int(logs["size"]))

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Advance the bar and show the epoch's loss (and validation loss)."""
        self._close_epoch_bar()
        self.epoch = epoch + 1
        shown = {key: f"{logs[key]:.4g}" for key in ("loss", "val_loss") if key in logs}
        self.bar.set_postfix(shown, refresh=False)
        self.bar.update(1)

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        """Close the bars."""
        self._close_epoch_bar()
        self.bar.close()

    def on_train_error(self, error: BaseException) -> None:
        """Close the bars: no half-drawn bar is left behind by an error."""
        self.on_train_end()

    def _close_epoch_bar(self) -> None:
        if self.epoch_bar is not None:
            self.epoch_bar.close()
            self.epoch_bar = None
