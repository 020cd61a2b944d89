"""Callbacks as Keras users write them: any object with ``on_*`` methods, and :class:`LambdaCallback`."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

from gluonlr.callbacks.base import Callback, Run

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
