"""The training loop :func:`gluonlr.fit` runs for both paths: epochs of batches, the callbacks, a clean Ctrl-C.

:func:`train` runs the epochs of a :class:`~gluonlr.callbacks.Run` and calls
its callbacks after each; :func:`run_epoch` trains one epoch of either
path's :class:`~gluonlr.learners.Learner`, summing the losses on the device; :class:`Evaluation`
adds the epoch's learning rate, metrics and validation scores to its logs.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Sequence
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

from gluonlr._mxnet import mx, nd
from gluonlr.callbacks import Callback, Run
from gluonlr.data import Share
from gluonlr.learners import Learner
from gluonlr.metrics import evaluate, evaluate_training

if TYPE_CHECKING:
    from gluonlr.data.prepare import TargetScale

__all__ = ["CtrlC", "Evaluation", "run_epoch", "train"]

#: Operators MXNet's engine may group into one scheduling unit inside an epoch.
_BULK_SIZE = 64

#: The epoch's per-sample losses are summed this many batches at a time (an epoch of fewer: in one sum).
_SUM_EVERY = 64

#: While a callback follows the batches, the loop waits for the device at most this often (seconds).
_PROGRESS_SYNC = 0.5


class CtrlC:
    """Within ``with``: the first Ctrl-C asks training to stop after the current batch.

    Installed only in the main thread and only over Python's default handler
    (so it never overrides a handler the program set), and not at all when
    ``enabled`` is False (a worker of a ``dist_sync`` job, whose peers would
    wait forever for the batch it did not train: there Ctrl-C raises
    ``KeyboardInterrupt`` and ``gluonlr launch`` stops the job). A second
    Ctrl-C stops at once with ``KeyboardInterrupt``.

    Examples
    --------
    >>> import os, signal
    >>> with CtrlC() as ctrl_c:
    ...     os.kill(os.getpid(), signal.SIGINT)  # as a Ctrl-C would
    ...     ctrl_c.requested
    True
    """

    requested = False

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    def __enter__(self) -> CtrlC:
        self._previous = None
        if self.enabled and threading.current_thread() is threading.main_thread():
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def run_epoch(
    learner: Learner, epoch: int, ctrl_c: CtrlC | None = None, on_batch: Sequence[Callback] = ()
) -> nd.NDArray:
    """Train one epoch; return its summed per-sample loss, still on the device.

    The losses are summed on the device, ``_SUM_EVERY`` (64) batches at a
    time, and the sums added: no synchronisation per batch, and no
    per-sample memory however large the epoch. After each block the loop
    waits for the block before it: MXNet's engine queues every operator
    Python sends, and on a busy machine a loop far ahead of it would hold the
    batches of the whole epoch in memory. (The
    next epoch's gather waits for this one's operators to finish reading the
    data, once.) ``engine.bulk`` lets MXNet's engine schedule the epoch's many
    small operators in bulk. A Ctrl-C (``ctrl_c.requested``) ends the epoch
    after the current batch. The callbacks ``on_batch`` hear of each batch
    (:meth:`~gluonlr.callbacks.Callback.on_batch_end`); while they listen,
    the loop waits for the device at most every ``_PROGRESS_SYNC`` (0.5)
    seconds, so that what they report as done is close to done.

    Examples
    --------
    >>> import numpy as np
    >>> from gluonlr import synthetic_data
    >>> from gluonlr.config import FitConfig
    >>> from gluonlr.learners import ManualLearner
    >>> learner = ManualLearner(*synthetic_data(), FitConfig(), weight=np.zeros(2), bias=0.0)
    >>> total = run_epoch(learner, epoch=0)
    >>> bool(total.asscalar() > 0)
    True
    """
    losses, sums = [], []
    synced = time.monotonic()
    with mx.engine.bulk(_BULK_SIZE):
        for k, batch in enumerate(learner.batches(epoch)):  # (x, y), (x, y, sample_weight), or a worker's Share
            batch_losses = learner.train_step(*batch)
            if batch_losses is None:  # a worker with no rows in this batch (dist_sync)
                continue
            losses.append(batch_losses)
            if len(losses) == _SUM_EVERY:  # memory stays flat however many batches the epoch has
                sums.append(nd.concat(*losses, dim=0).sum())
                losses = []
                if len(sums) > 1:  # and at most two blocks of batches in flight: the engine never lags far
                    sums[-2].wait_to_read()
            if on_batch:
                if time.monotonic() - synced > _PROGRESS_SYNC:
                    batch_losses.wait_to_read()
                    synced = time.monotonic()
                for callback in on_batch:
                    callback.on_batch_end(k, {"size": batch.rows if isinstance(batch, Share) else batch[0].shape[0]})
            if ctrl_c is not None and ctrl_c.requested:
                break
        if losses:
            sums.append(nd.concat(*losses, dim=0).sum())
        if not sums:  # a worker that had no rows in the whole epoch
            return nd.zeros(1, ctx=learner.ctx[0])
        return sums[0] if len(sums) == 1 else nd.add_n(*sums)


class Evaluation:
    """The epoch's logs beyond the training loss: learning rate, metrics, validation loss and metrics.

    Examples
    --------
    >>> import numpy as np
    >>> from gluonlr import synthetic_data
    >>> from gluonlr.config import FitConfig
    >>> from gluonlr.learners import ManualLearner
    >>> X, y = synthetic_data()
    >>> learner = ManualLearner(X, y, FitConfig(), weight=np.array([2.0, 51.0]), bias=21.2)
    >>> logs = Evaluation(learner, ("r2",), (X, y))(epoch=0)
    >>> sorted(logs), round(logs["val_r2"], 4)
    (['lr', 'r2', 'val_loss', 'val_r2'], 1.0)
    """

    def __init__(
        self,
        learner: Learner,
        metrics: tuple[str, ...],
        validation: tuple[Any, Any] | None,
        target: TargetScale | None = None,
    ) -> None:
        self.learner, self.metrics = learner, metrics
        self.validation = validation  # read in chunks by evaluate: in memory or a source
        self.target = target  # fit(standardize_target=True): the metrics in y's units, the loss in training's

    def __call__(self, epoch: int) -> dict[str, float]:
        """Return epoch ``epoch``'s logs beyond its loss: ``lr``, the metrics, ``val_loss`` and ``val_`` metrics."""
        data = self.learner.data
        logs = {"lr": self.learner.config.lr_at(epoch * data.n_batches + 1, data.n_batches)}
        if self.metrics:
            logs.update(evaluate_training(self.learner, self.metrics, self.target))
        if self.validation is not None:
            logs.update(evaluate(self.learner, *self.validation, self.metrics, prefix="val_", target=self.target))
        return logs


def train(run: Run, evaluation: Evaluation, callback_states: dict[str, Any]) -> tuple[int | None, bool]:
    """Train the epochs ``run.initial_epoch`` to ``run.epochs - 1``, calling ``run.callbacks``.

    The callbacks are called in the order of their ``priority`` (lowest
    first; stable among equals), and named by none of this code: each hears
    ``on_train_begin``, ``on_batch_end`` (only those that override it),
    ``on_epoch_end``, then ``on_train_end``, or ``on_train_error`` if training
    raises. ``callback_states`` are the callbacks' states saved in the
    checkpoint a run resumes from. Returns ``(stopped_epoch, interrupted)``: the epoch in
    which training stopped early (or None) and whether Ctrl-C stopped it.

    Examples
    --------
    >>> import numpy as np
    >>> from gluonlr import synthetic_data
    >>> from gluonlr.callbacks import History
    >>> from gluonlr.config import FitConfig
    >>> from gluonlr.learners import ManualLearner
    >>> X, y = synthetic_data()
    >>> learner = ManualLearner(X, y, FitConfig(), weight=np.zeros(2), bias=0.0)
    >>> run = Run(learner, X, y, path="manual", params={}, epochs=3)
    >>> run.callbacks = [History()]
    >>> train(run, Evaluation(learner, (), None), {}), len(run.history["loss"])
    ((None, False), 3)
    """
    run.callbacks = sorted(run.callbacks, key=lambda callback: callback.priority)
    for callback in run.callbacks:
        callback.set_run(run)
    logs: dict[str, float] = {}
    stopped_epoch, interrupted = None, False
    workers = run.get_learner().workers  # a dist_sync job's, or None
    with CtrlC(enabled=workers is None) as ctrl_c:
        for callback in run.callbacks:
            callback.on_train_begin()
        for key, callback in zip(run.callback_keys(), run.callbacks, strict=True):
            if key in callback_states:
                callback.set_state(callback_states[key])
        on_batch = [callback for callback in run.callbacks if type(callback).on_batch_end is not Callback.on_batch_end]
        try:
            for epoch in range(run.initial_epoch, run.epochs):
                run.epoch = epoch
                total = run_epoch(run.get_learner(), epoch, ctrl_c, on_batch)
                if workers is not None:  # this worker's sum over its rows: the epoch's is the sum over the workers
                    total = workers.sum(total)
                if ctrl_c.requested:
                    run.stop_reason = f"interrupted (Ctrl-C) in epoch {epoch + 1}/{run.epochs}"
                    stopped_epoch, interrupted = epoch, True
                    break
                # One read per epoch: the next epoch's gather waits for this one anyway.
                logs = {"loss": float(total.asscalar()) / len(run.y), **evaluation(epoch)}
                for callback in run.callbacks:
                    callback.on_epoch_end(epoch, logs)
                if ctrl_c.requested:  # during the epoch's evaluation or callbacks, or the last batch
                    run.stop_reason = f"interrupted (Ctrl-C) after epoch {epoch + 1}/{run.epochs}"
                    stopped_epoch, interrupted = (epoch if epoch + 1 < run.epochs else None), True
                    break
                if run.stop_training and epoch + 1 < run.epochs:
                    stopped_epoch = epoch
                    break
            run.interrupted = interrupted
            for callback in run.callbacks:  # DivergenceGuard's: the fitted parameters' loss against the start
                callback.on_train_end(logs)
        except BaseException as error:
            for callback in run.callbacks:  # e.g. no half-drawn progress bar left behind by an error
                callback.on_train_error(error)
            raise
    return stopped_epoch, interrupted
