"""One ``fit`` for both training paths."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Sequence
from types import FrameType, TracebackType
from typing import Any

import numpy as np

from gluonlr import gluon, manual
from gluonlr._mxnet import mx, nd
from gluonlr._validation import (
    check_choice,
    check_positive_float,
    check_positive_int,
    check_seed,
    check_X,
    check_y,
)
from gluonlr.callbacks import Callback, DivergenceGuard, History, ModelCheckpoint, Run
from gluonlr.conventions import LOSSES, REDUCTIONS
from gluonlr.errors import CheckpointError
from gluonlr.persistence import PathLike, checkpoint_files, data_fingerprint, read_checkpoint
from gluonlr.result import FitResult

__all__ = ["PATHS", "FitResult", "fit", "initial_params"]

#: Operators MXNet's engine may group into one scheduling unit inside an epoch.
_BULK_SIZE = 64

#: The training paths by name: each a ``Learner`` class with the same interface.
PATHS: dict[str, Any] = {"manual": manual.Learner, "gluon": gluon.Learner}


def initial_params(
    n_features: int, seed: int, init_weight: Any = None, init_bias: float | None = None
) -> tuple[np.ndarray, float]:
    """Return the starting ``(weight, bias)`` that both paths share.

    As in the article, ``w ~ N(0, 1)`` drawn from ``seed`` and ``b = 0``,
    unless explicit values are given.

    Examples
    --------
    >>> w, b = initial_params(2, seed=0)
    >>> w.shape, w.dtype, b
    ((2,), dtype('float32'), 0.0)
    >>> initial_params(2, seed=0, init_weight=[1, 2], init_bias=3)
    (array([1., 2.], dtype=float32), 3.0)
    """
    if init_weight is None:
        weight = np.random.default_rng(seed).standard_normal(n_features).astype(np.float32)
    else:
        weight = np.asarray(init_weight, dtype=np.float32)
        if weight.shape != (n_features,):
            raise ValueError(
                f"The 'init_weight' parameter of fit must have shape ({n_features},), one weight per feature of X. "
                f"Got shape {weight.shape} instead."
            )
        if not np.isfinite(weight).all():
            raise ValueError("The 'init_weight' parameter of fit must be finite. Got NaN or infinity.")
    bias = 0.0 if init_bias is None else float(init_bias)
    if not np.isfinite(bias):
        raise ValueError(f"The 'init_bias' parameter of fit must be a finite float. Got {init_bias!r} instead.")
    return weight, bias


class _CtrlC:
    """Within ``with``: the first Ctrl-C asks training to stop after the current batch.

    Installed only in the main thread and only over Python's default handler
    (so it never overrides a handler the program set). A second Ctrl-C stops at
    once with ``KeyboardInterrupt``.
    """

    requested = False

    def __enter__(self) -> _CtrlC:
        self._previous = None
        if threading.current_thread() is threading.main_thread():
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


def _run_epoch(learner: Any, epoch: int, ctrl_c: _CtrlC | None = None) -> nd.NDArray:
    """Train one epoch; return its summed per-sample loss, still on the device.

    The losses are summed on the device: no synchronisation per batch. (The
    next epoch's gather waits for this one's operators to finish reading the
    data, once.) ``engine.bulk`` lets MXNet's engine schedule the epoch's many
    small operators in bulk. A Ctrl-C (``ctrl_c.requested``) ends the epoch
    after the current batch.
    """
    losses = []
    with mx.engine.bulk(_BULK_SIZE):
        for x, y in learner.batches(epoch):
            losses.append(learner.train_step(x, y))
            if ctrl_c is not None and ctrl_c.requested:
                break
        return nd.concat(*losses, dim=0).sum()


def _check_callbacks(callbacks: Any) -> list[Callback]:
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback) or not isinstance(callbacks, Sequence):
        raise TypeError(
            "The 'callbacks' parameter of fit must be a list of gluonlr.callbacks.Callback. "
            f"Got {type(callbacks).__name__} instead."
        )
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(
                "The 'callbacks' parameter of fit must hold gluonlr.callbacks.Callback instances. "
                f"Got a {type(callback).__name__}."
            )
    return list(callbacks)


def _resume_source(checkpoint: PathLike | None, resume: Any) -> PathLike | None:
    """Return the checkpoint to resume from, or None to start afresh; never overwrite one silently."""
    if resume is None or resume is False:
        if checkpoint is not None and checkpoint_files(checkpoint)[1].exists():
            raise CheckpointError(
                f"A checkpoint already exists at {str(checkpoint_files(checkpoint)[1])!r}. Pass resume=True to "
                "continue that run, or delete it or choose another checkpoint path to start afresh."
            )
        return None
    if resume is True:
        if checkpoint is None:
            raise ValueError("resume=True continues from the 'checkpoint' parameter of fit, which is not set.")
        return checkpoint if checkpoint_files(checkpoint)[1].exists() else None
    if isinstance(resume, bool) or not isinstance(resume, str | os.PathLike):
        raise TypeError(
            f"The 'resume' parameter of fit must be True, False, None or a checkpoint path. Got {resume!r} instead."
        )
    return resume


def _check_resumable(meta: dict[str, Any], X: np.ndarray, y: np.ndarray, params: dict[str, Any]) -> None:
    """Raise ``CheckpointError`` unless the checkpoint's run is this one, cut short."""
    saved = meta["params"]
    differ = [
        f"{key}={saved.get(key)!r} there, {value!r} here"
        for key, value in params.items()
        if key != "epochs" and saved.get(key) != value
    ]
    if differ:
        raise CheckpointError(
            "Cannot resume: the checkpoint was made with other arguments (" + "; ".join(differ) + "). "
            "Pass the same arguments, or start afresh."
        )
    if meta["data"] != data_fingerprint(X, y):
        raise CheckpointError(
            f"Cannot resume: the checkpoint was trained on other data ({meta['data']['n_samples']} x "
            f"{meta['data']['n_features']}, another SHA-256) than X {X.shape} and y given here."
        )
    if meta["epoch"] > params["epochs"]:
        raise CheckpointError(
            f"Cannot resume: the checkpoint has {meta['epoch']} epochs done, more than epochs={params['epochs']}. "
            f"Pass epochs >= {meta['epoch']}."
        )


def fit(
    X: Any,
    y: Any,
    *,
    path: str = "manual",
    loss: str = "squared",
    reduction: str = "sum",
    lr: float = 0.01,
    batch_size: int = 10,
    epochs: int = 10,
    seed: int = 0,
    init_weight: Any = None,
    init_bias: float | None = None,
    callbacks: Sequence[Callback] | None = None,
    checkpoint: PathLike | None = None,
    resume: bool | PathLike | None = None,
) -> FitResult:
    r"""Fit ``y ~ X w + b`` by mini-batch SGD on the manual or the Gluon path.

    Both paths start from the same parameters, see the same batches in the same
    order and take the same steps, so they return the same result to float32
    round-off. The defaults reproduce the article.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Training features; converted to float32; never modified.
    y : array-like of shape (n_samples,)
        Training targets; converted to float32.
    path : {"manual", "gluon"}, default="manual"
        ``"manual"``: raw autograd and in-place SGD (:mod:`gluonlr.manual`);
        ``"gluon"``: ``Dense``, ``L2Loss``, ``DataLoader`` and ``Trainer``
        (:mod:`gluonlr.gluon`).
    loss : {"squared", "l2"}, default="squared"
        ``"squared"`` is the article's :math:`(\hat y - y)^2`; ``"l2"`` is
        Gluon's ``L2Loss``, :math:`\tfrac12 (\hat y - y)^2`.
    reduction : {"sum", "mean"}, default="sum"
        ``"sum"`` steps with the gradient summed over the batch (the article);
        ``"mean"`` divides it by the batch's actual size
        (``trainer.step(batch_size)``).
    lr : float, default=0.01
        Learning rate, > 0.
    batch_size : int, default=10
        Samples per batch; the last batch of an epoch may be shorter.
    epochs : int, default=10
        Passes over the data.
    seed : int, default=0
        Seeds the initial weights and each epoch's shuffle.
    init_weight : array-like of shape (n_features,), optional
        Initial weights; default ``N(0, 1)`` draws from ``seed``.
    init_bias : float, optional
        Initial bias; default 0.
    callbacks : list of Callback, optional
        Called after each epoch, after gluonlr's own (see
        :mod:`gluonlr.callbacks`); one may stop training.
    checkpoint : str or os.PathLike, optional
        Save a checkpoint after every epoch: the parameters in Gluon's
        ``save_parameters`` format at this path (``gluonlr.params`` if it is a
        directory) and the full training state beside it (``.state``), each
        written atomically. An existing checkpoint is never overwritten unless
        ``resume=True``.
    resume : bool or str or os.PathLike, optional
        ``True``: continue from ``checkpoint`` if it exists (else start
        afresh); a path: continue from that checkpoint. The run must have the
        same data and arguments except ``epochs``, the total to reach. A resumed
        run gives bitwise the same result as one never interrupted.

    Returns
    -------
    FitResult
        ``weight``, ``bias``, ``history``, ``path`` and ``predict``. If Ctrl-C
        stopped training (after the batch it came in), ``interrupted`` is True
        and the result holds the parameters so far; a second Ctrl-C raises
        ``KeyboardInterrupt`` at once.

    Raises
    ------
    ValueError
        If an argument is out of range or unknown, or ``X`` and ``y`` have
        the wrong shapes or non-finite values.
    TypeError
        If ``X`` or ``y`` are not numeric, or an argument has the wrong type.
    DivergenceError
        If the loss or the parameters stop being finite (checked after every
        epoch); it carries the history and the last finite parameters.
    CheckpointError
        If ``resume`` names a corrupt checkpoint or one of another run, or
        ``checkpoint`` exists and ``resume`` is not set.

    Warns
    -----
    DataConversionWarning
        If ``y`` is a column of shape ``(n_samples, 1)``; it is raveled.

    Notes
    -----
    ``X`` and ``y`` may be float64, integer or boolean arrays or nested lists;
    they are converted to float32 (and never modified in place).

    Examples
    --------
    >>> from gluonlr import fit, synthetic_data
    >>> result = fit(*synthetic_data(), path="gluon")
    >>> result.weight.round(2).tolist(), round(result.bias, 2)
    ([2.0, 51.0], 21.2)
    >>> len(result.history["loss"])
    10
    """
    check_choice("path", path, tuple(PATHS))
    check_choice("loss", loss, LOSSES)
    check_choice("reduction", reduction, REDUCTIONS)
    lr = check_positive_float("lr", lr)
    batch_size = check_positive_int("batch_size", batch_size)
    epochs = check_positive_int("epochs", epochs)
    seed = check_seed(seed)
    X = check_X(X)
    y = check_y(y, n_samples=X.shape[0])
    weight, bias = initial_params(X.shape[1], seed, init_weight, init_bias)
    user_callbacks = _check_callbacks(callbacks)
    if checkpoint is not None and not checkpoint_files(checkpoint)[0].parent.is_dir():
        raise FileNotFoundError(f"The directory of checkpoint {str(checkpoint)!r} does not exist; create it first.")
    params = dict(loss=loss, reduction=reduction, lr=lr, batch_size=batch_size, epochs=epochs, seed=seed)
    source = _resume_source(checkpoint, resume)
    state, meta = read_checkpoint(source) if source is not None else (None, None)
    if meta is not None:
        _check_resumable(meta, X, y, params)

    learner = PATHS[path](X, y, weight=weight, bias=bias, **{k: v for k, v in params.items() if k != "epochs"})
    run = Run(learner, X, y, path=path, params=params, epochs=epochs)
    if state is not None and meta is not None:
        learner.set_state(state)
        run.initial_epoch, run.history = meta["epoch"], meta["history"]
    callbacks_ = [History(), DivergenceGuard(), *([ModelCheckpoint(checkpoint)] if checkpoint else []), *user_callbacks]
    stopped_epoch, interrupted = _fit_loop(run, callbacks_)
    weight, bias = learner.parameters()
    return FitResult(
        weight=weight,
        bias=bias,
        history=run.history,
        path=path,
        params=params,
        stopped_epoch=stopped_epoch,
        stop_reason=run.stop_reason if stopped_epoch is not None else None,
        interrupted=interrupted,
    )


def _fit_loop(run: Run, callbacks: list[Callback]) -> tuple[int | None, bool]:
    """Train the epochs ``run.initial_epoch`` to ``run.epochs - 1``, calling the callbacks.

    Returns ``(stopped_epoch, interrupted)``: the epoch in which training
    stopped early (or None) and whether Ctrl-C stopped it.
    """
    for callback in callbacks:
        callback.set_run(run)
    logs: dict[str, float] = {}
    stopped_epoch, interrupted = None, False
    with _CtrlC() as ctrl_c:
        for callback in callbacks:
            callback.on_train_begin()
        for epoch in range(run.initial_epoch, run.epochs):
            total = _run_epoch(run.learner, epoch, ctrl_c)
            if ctrl_c.requested:
                run.stop_reason = f"interrupted (Ctrl-C) in epoch {epoch + 1}/{run.epochs}"
                stopped_epoch, interrupted = epoch, True
                break
            # One read per epoch: the next epoch's gather waits for this one anyway.
            logs = {"loss": float(total.asscalar()) / len(run.y)}
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs)
            if epoch + 1 == run.epochs:
                break
            if ctrl_c.requested:
                run.stop_reason = f"interrupted (Ctrl-C) after epoch {epoch + 1}/{run.epochs}"
                stopped_epoch, interrupted = epoch, True
                break
            if run.stop_training:
                stopped_epoch = epoch
                break
        for callback in callbacks:
            callback.on_train_end(logs)
    return stopped_epoch, interrupted
