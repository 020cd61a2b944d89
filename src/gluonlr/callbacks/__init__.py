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

from gluonlr.callbacks.adapters import HOOKS, CallbackAdapter, LambdaCallback, as_callback
from gluonlr.callbacks.base import Callback, Run
from gluonlr.callbacks.checkpoint import ModelCheckpoint
from gluonlr.callbacks.guard import DivergenceGuard, data_overflow
from gluonlr.callbacks.history import History
from gluonlr.callbacks.progress import ProgressBar
from gluonlr.callbacks.stopping import Convergence, EarlyStopping

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

# One public home: the classes' module is the package (their reprs, pickles and the docs name gluonlr.callbacks.X).
for _name in __all__:
    _member = globals()[_name]
    if isinstance(_member, type) or callable(_member):
        _member.__module__ = __name__
del _name, _member
