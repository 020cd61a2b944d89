"""The arguments of :func:`gluonlr.fit` that are not data: callbacks, resuming, optimizer, metrics, progress.

Each check raises the ``ValueError``, ``TypeError`` or ``CheckpointError`` fit documents, before fit changes
anything; fit itself only calls them in turn.
"""

from __future__ import annotations

import numbers
import os
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from gluonlr._validation import check_choice
from gluonlr.callbacks import Callback, EarlyStopping
from gluonlr.errors import CheckpointError
from gluonlr.metrics import METRICS
from gluonlr.persistence import PathLike, checkpoint_files


def check_callbacks(callbacks: Any) -> list[Callback]:
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


def resume_source(checkpoint: PathLike | None, resume: Any) -> PathLike | None:
    """Return the checkpoint to resume from, or None to start afresh.

    Refuses a ``checkpoint`` path where a file already exists (a checkpoint, a
    saved model, anything) unless the run resumes from that very checkpoint:
    fit never overwrites what it did not write in this run's line.
    """
    if resume is not None and not isinstance(resume, bool) and not isinstance(resume, str | os.PathLike):
        raise TypeError(
            f"The 'resume' parameter of fit must be True, False, None or a checkpoint path. Got {resume!r} instead."
        )
    if resume is True and checkpoint is None:
        raise ValueError("resume=True continues from the 'checkpoint' parameter of fit, which is not set.")
    targets = checkpoint_files(checkpoint) if checkpoint is not None else None
    source: PathLike | None = None
    if resume is True and targets is not None:
        source = checkpoint if targets[1].exists() else None
    elif resume and not isinstance(resume, bool):
        source = resume
    if targets is not None:
        existing = [target for target in targets if target.exists()]
        resuming_it = source is not None and checkpoint_files(source)[1].resolve() == targets[1].resolve()
        if existing and not resuming_it:
            raise CheckpointError(
                f"{str(existing[0])!r} already exists, and fit(checkpoint=...) would replace it after the first "
                "epoch. Pass resume=True to continue the run checkpointed there, or choose another checkpoint path "
                "(or delete the file) to start afresh."
            )
    return source


def check_resumable(meta: dict[str, Any], X: Any, y: Any, params: dict[str, Any], fingerprint: Any) -> None:
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
    if meta["data"] != fingerprint:
        raise CheckpointError(
            f"Cannot resume: the checkpoint was trained on other data ({meta['data']['n_samples']} x "
            f"{meta['data']['n_features']}, another SHA-256) than X {X.shape} and y given here."
        )
    if params["lr_schedule"]["name"] == "cosine" and meta["params"]["epochs"] != params["epochs"]:
        raise CheckpointError(
            f"Cannot resume: the cosine schedule spans the run's epochs ({meta['params']['epochs']} there, "
            f"{params['epochs']} here). Pass epochs={meta['params']['epochs']}."
        )
    if meta["epoch"] > params["epochs"]:
        raise CheckpointError(
            f"Cannot resume: the checkpoint has {meta['epoch']} epochs done, more than epochs={params['epochs']}. "
            f"Pass epochs >= {meta['epoch']}."
        )


def check_nesterov(nesterov: Any, momentum: Any, optimizer: Any) -> bool:
    if not isinstance(nesterov, bool | np.bool_):
        raise ValueError(f"The 'nesterov' parameter of fit must be True or False. Got {nesterov!r} instead.")
    if nesterov and (optimizer != "sgd" or not (isinstance(momentum, numbers.Real) and float(momentum) > 0)):
        raise ValueError(
            "nesterov=True needs optimizer='sgd' with momentum > 0, e.g. fit(..., momentum=0.9, nesterov=True)."
        )
    return bool(nesterov)


def check_metrics(metrics: Any) -> tuple[str, ...]:
    if isinstance(metrics, str) or not isinstance(metrics, Sequence):
        raise TypeError(
            f"The 'metrics' parameter of fit must be a list of metric names, e.g. ['mse', 'r2']. Got {metrics!r}."
        )
    for name in metrics:
        check_choice("metrics", name, tuple(METRICS))
    return tuple(dict.fromkeys(metrics))


def check_early_stopping(early_stopping: Any, *, has_validation: bool, metrics: tuple[str, ...]) -> Any:
    if early_stopping is False or early_stopping is None:
        return None
    stopper = EarlyStopping() if early_stopping is True else early_stopping
    if not isinstance(stopper, EarlyStopping):
        raise TypeError(
            "The 'early_stopping' parameter of fit must be True, False or a gluonlr.callbacks.EarlyStopping. "
            f"Got {early_stopping!r} instead."
        )
    available = ["loss", *metrics] + (["val_loss", *(f"val_{name}" for name in metrics)] if has_validation else [])
    if stopper.monitor not in available:
        hint = (
            " Pass validation_split=0.1 or validation_data=(X_val, y_val), or monitor='loss'."
            if stopper.monitor.startswith("val_") and not has_validation
            else " Add the metric to fit(metrics=...)."
        )
        raise ValueError(
            f"Early stopping monitors {stopper.monitor!r}, which this fit does not record "
            f"(it records {', '.join(map(repr, available))}).{hint}"
        )
    return stopper


def show_progress(verbose: Any) -> bool:
    if verbose == "auto":
        return sys.stderr is not None and (sys.stderr.isatty() or "ipykernel" in sys.modules)
    if verbose in (0, 1) and not isinstance(verbose, float):
        return bool(verbose)
    raise ValueError(f"The 'verbose' parameter of fit must be 'auto', 0 or 1. Got {verbose!r} instead.")
