"""The phases of one :func:`gluonlr.fit` call, each a small function that :func:`gluonlr.fit` calls in turn.

1. **check options** — :func:`gluonlr.options.check_options`: every option by
   the table's constraint, then the rules across options; nothing is read yet.
2. **prepare data** — :func:`gluonlr.data.prepare.prepare_data`: ``X`` and
   ``y`` checked, the validation rows split off, one pass over the values
   (NaN check, fingerprint, statistics).
3. **resume state** — :func:`resume_state`: the checkpoint to continue from,
   read and compared with this run's arguments and data.
4. **build the learner** — :func:`build_learner`: the initial parameters,
   ``lr="auto"``'s rate, the ``dist_sync`` job joined (last: the first step
   that changes anything outside this call), the path's learner.
5. **default callbacks** — :func:`start_run`: the :class:`~gluonlr.callbacks.Run`
   and its callbacks, gluonlr's own and the user's, in the order of their
   ``priority``.
6. **train** and 7. **result** — :func:`train_to_result`: the loop of
   :mod:`gluonlr.loop`, then the :class:`~gluonlr.result.FitResult`.

The page "Architecture" of the docs follows one call through them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from gluonlr.callbacks import Callback, Convergence, DivergenceGuard, History, ModelCheckpoint, ProgressBar, Run
from gluonlr.data import SparseSource
from gluonlr.data.prepare import TrainingData
from gluonlr.distributed import check_kvstore
from gluonlr.errors import CheckpointError
from gluonlr.learners import GluonLearner, Learner, ManualLearner
from gluonlr.loop import Evaluation, train
from gluonlr.options import OPTIONS, make_config, record
from gluonlr.persistence import read_checkpoint
from gluonlr.result import FitResult
from gluonlr.scaling import Standardized, Standardizer, auto_lr

__all__ = [
    "PATHS",
    "Resumed",
    "build_learner",
    "default_callbacks",
    "initial_params",
    "resume_state",
    "start_run",
    "train_to_result",
]

#: The training paths by name: each the class of its engine, a :class:`~gluonlr.learners.Learner`.
PATHS: dict[str, type[ManualLearner] | type[GluonLearner]] = {"manual": ManualLearner, "gluon": GluonLearner}


def initial_params(
    n_features: int,
    seed: int,
    init_weight: Any = None,
    init_bias: Any = None,
    n_outputs: int | None = None,
    init: str = "normal",
    dtype: str = "float32",
) -> tuple[np.ndarray, float | np.ndarray]:
    """Return the starting ``(weight, bias)`` that both paths share.

    As in the article, ``w ~ N(0, 1)`` drawn from ``seed`` and ``b = 0``,
    unless explicit values are given; ``init="zeros"`` starts from ``w = 0``,
    as scikit-learn's ``SGDRegressor``. For ``n_outputs`` outputs (a 2-D ``y``)
    the weight has shape ``(n_features, n_outputs)`` and the bias
    ``(n_outputs,)``. The weight (and a bias array) are in ``dtype``, the
    model's; a drawn ``w`` is the same draws, rounded to it.

    Examples
    --------
    >>> w, b = initial_params(2, seed=0)
    >>> w.shape, w.dtype, b
    ((2,), dtype('float32'), 0.0)
    >>> initial_params(2, seed=0, init="zeros")
    (array([0., 0.], dtype=float32), 0.0)
    >>> initial_params(2, seed=0, init_weight=[1, 2], init_bias=3)
    (array([1., 2.], dtype=float32), 3.0)
    >>> w, b = initial_params(2, seed=0, n_outputs=3)
    >>> w.shape, b.tolist()
    ((2, 3), [0.0, 0.0, 0.0])
    >>> initial_params(2, seed=0, init_weight=[0.1, 2], dtype="float64")
    (array([0.1, 2. ]), 0.0)
    """
    shape = (n_features,) if n_outputs is None else (n_features, n_outputs)
    if init_weight is None and init == "zeros":
        weight = np.zeros(shape, dtype)
    elif init_weight is None:
        weight = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    else:
        try:
            weight = np.asarray(init_weight, dtype=dtype)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"The 'init_weight' parameter of fit must be an array of real numbers of shape {shape}. "
                f"Got {init_weight!r}, which numpy could not convert ({error})."
            ) from None
        if weight.shape != shape:
            what = "one weight per feature of X" if n_outputs is None else "one column per output of y"
            raise ValueError(
                f"The 'init_weight' parameter of fit must have shape {shape}, {what}. Got shape {weight.shape} instead."
            )
        if not np.isfinite(weight).all():
            raise ValueError("The 'init_weight' parameter of fit must be finite. Got NaN or infinity.")
    bias: float | np.ndarray
    try:
        values = np.asarray(0.0 if init_bias is None else init_bias, dtype=dtype)
        if n_outputs is None:
            bias = float(values.reshape(-1)[0]) if values.size == 1 else np.nan
        else:
            bias = np.broadcast_to(values, (n_outputs,)).copy()
    except (TypeError, ValueError):
        bias = np.nan
    if not np.isfinite(bias).all():
        expected = "a finite float" if n_outputs is None else f"a finite float or array of shape ({n_outputs},)"
        raise ValueError(f"The 'init_bias' parameter of fit must be {expected}. Got {init_bias!r} instead.")
    return weight, bias


@dataclass(frozen=True)
class Resumed:
    """What a checkpoint holds for the run that continues it: the learner's state and the run's record.

    Examples
    --------
    >>> Resumed(state={}, meta={"epoch": 3, "stopped": None}).stopped is None
    True
    """

    state: dict[str, Any]
    meta: dict[str, Any]

    @property
    def stopped(self) -> dict[str, Any] | None:
        """The epoch and reason of an early stop that ended the checkpointed run, or None."""
        return self.meta.get("stopped")


def resume_state(options: dict[str, Any], data: TrainingData) -> Resumed | None:
    """Read the checkpoint ``options["resume"]`` names; raise ``CheckpointError`` unless it is this run, cut short.

    Examples
    --------
    >>> import os, tempfile
    >>> from gluonlr import fit, synthetic_data
    >>> from gluonlr.data.prepare import prepare_data
    >>> from gluonlr.options import check_options
    >>> path = os.path.join(tempfile.mkdtemp(), "run.params")
    >>> _ = fit(*synthetic_data(), epochs=2, checkpoint=path)
    >>> options = check_options(_defaults() | {"checkpoint": path, "resume": True, "epochs": 4})
    >>> resume_state(options, prepare_data(*synthetic_data(), fingerprint=True)).meta["epoch"]
    2
    >>> resume_state(options | {"epochs": 1}, prepare_data(*synthetic_data(), fingerprint=True))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gluonlr.errors.CheckpointError: Cannot resume: the checkpoint has 2 epochs done, more than epochs=1. ...
    """
    if options["resume"] is None:
        return None
    state, meta = read_checkpoint(options["resume"])
    _check_resumable(meta, data, record(options))
    return Resumed(state, meta)


def _check_resumable(meta: dict[str, Any], data: TrainingData, params: dict[str, Any]) -> None:
    saved = meta["params"]
    # An option the checkpoint does not record is newer than it: the checkpoint's run had its default.
    unrecorded = {name: OPTIONS[name].default for name in params if name not in saved}
    differ = [
        f"{key}={saved.get(key, unrecorded.get(key))!r} there, {value!r} here"
        for key, value in params.items()
        if key != "epochs" and saved.get(key, unrecorded.get(key)) != value
    ]
    if differ:
        raise CheckpointError(
            "Cannot resume: the checkpoint was made with other arguments (" + "; ".join(differ) + "). "
            "Pass the same arguments, or start afresh."
        )
    if meta["data"] != data.fingerprint:
        raise CheckpointError(
            f"Cannot resume: the checkpoint was trained on other data ({meta['data']['n_samples']} x "
            f"{meta['data']['n_features']}, another SHA-256) than X {data.X.shape} and y given here."
        )
    if params["lr_schedule"]["name"] == "cosine" and saved["epochs"] != params["epochs"]:
        raise CheckpointError(
            f"Cannot resume: the cosine schedule spans the run's epochs ({saved['epochs']} there, "
            f"{params['epochs']} here). Pass epochs={saved['epochs']}."
        )
    if meta["epoch"] > params["epochs"]:
        raise CheckpointError(
            f"Cannot resume: the checkpoint has {meta['epoch']} epochs done, more than epochs={params['epochs']}. "
            f"Pass epochs >= {meta['epoch']}."
        )


def build_learner(options: dict[str, Any], data: TrainingData) -> Learner:
    """Return the path's learner at the initial parameters, standardizing if asked; join a ``dist_sync`` job.

    Examples
    --------
    >>> from gluonlr import synthetic_data
    >>> from gluonlr.data.prepare import prepare_data
    >>> from gluonlr.options import check_options
    >>> learner = build_learner(check_options(_defaults() | {"lr": "auto"}), prepare_data(*synthetic_data()))
    >>> round(learner.config.lr, 4), learner.parameters()[0].shape
    (0.0192, (2,))
    """
    _refuse_on_sparse(options, data.X)
    given_weight, given_bias = options["init_weight"], options["init_bias"]
    weight, bias = initial_params(
        data.X.shape[1],
        options["seed"],
        given_weight,
        given_bias,
        data.n_outputs,
        init=options["init"],
        dtype=options["dtype"],
    )
    if data.target is not None:  # a given start is in the units of y; a drawn one is the standardized target's
        raw_weight, raw_bias = data.target.from_raw(weight, bias)
        weight = raw_weight if given_weight is not None else weight
        bias = raw_bias if given_bias is not None else bias
    if not options["fit_intercept"] and np.any(np.asarray(bias) != 0):
        raise ValueError(
            f"init_bias={given_bias!r} cannot start a fit with fit_intercept=False: the bias stays 0 (the model is "
            "x . w). Leave init_bias out, or pass fit_intercept=True."
        )
    # Without a bias, standardize only scales (StandardScaler(with_mean=False)); a sparse X too (centring would
    # densify it).
    centre = options["fit_intercept"] and not isinstance(data.X, SparseSource)
    scaler = Standardizer.from_stats(data.stats, options["dtype"], centre) if data.stats is not None else None
    if scaler is not None:  # the standardized model's start; init_weight and init_bias are in the units of X
        weight, bias = scaler.initial(
            weight, bias, given_weight=given_weight is not None, given_bias=given_bias is not None
        )
    _refuse_float64_jobs(options["dtype"], options["kvstore"])
    config = make_config(options, len(data.X), n_features=data.X.shape[1])
    if options["lr"] == "auto":
        config = replace(config, lr=auto_lr(data.X, data.y, config, (weight, bias), data.sample_weight, scaler))
    kind, workers = check_kvstore(options["kvstore"])  # "dist_sync" joins the job: last, once all is checked
    learner = PATHS[options["path"]](
        data.X,
        data.y,
        config,
        weight=weight,
        bias=bias,
        sample_weight=data.sample_weight,
        ctx=options["ctx"],
        kvstore=kind,
        workers=workers,
    )
    return Standardized(learner, scaler) if scaler is not None else learner


def _refuse_on_sparse(options: dict[str, Any], X: Any) -> None:
    """Raise ``ValueError`` for an option a sparse ``X`` cannot train with, naming it and what to pass instead.

    A sparse ``X`` trains with lazy SGD steps (:func:`gluonlr.optimizers.lazy_sgd`): only the weights of each
    batch's features move, which equals a dense fit's step for plain SGD only. Momentum, Adam's moments and a
    penalty (weight decay) change every weight at every step. Its batches are MXNet CSR arrays on one device (in a
    ``dist_sync`` job, one a worker), in float32 (MXNet 1.9.1's sparse dot has no float64 ``row_sparse`` gradient).
    """
    if not isinstance(X, SparseSource):
        return
    several = len(options["ctx"]) > 1  # checked: a list of Contexts
    lazy = "each step updates only the weights of the batch's features"
    refused = [
        ("optimizer", options["optimizer"] != "sgd", "optimizer='sgd'", f"{lazy}; Adam's moments move every weight"),
        ("momentum", options["momentum"] > 0, "momentum=0", f"{lazy}; momentum moves every weight"),
        ("weight_decay", options["weight_decay"] > 0, "weight_decay=0", f"{lazy}; the decay shrinks every weight"),
        ("penalty", options["penalty"] is not None, "penalty=None", f"{lazy}; the penalty shrinks every weight"),
        ("dtype", options["dtype"] != "float32", "dtype='float32'", "MXNet 1.9.1's sparse dot has no float64 gradient"),
        ("ctx", several, "one device", "its batches train on one device"),
    ]
    for name, bad, fix, why in refused:
        if bad:
            raise ValueError(
                f"The {name!r} parameter of fit is {options[name]!r}, which a sparse X cannot train with: {why}. "
                f"Pass {fix}, or a dense X (X.toarray()) if it fits in memory."
            )


def _refuse_float64_jobs(dtype: str, kvstore: Any) -> None:
    """Raise ``ValueError`` for a float64 model in a ``dist_sync`` job, before the job is joined.

    MXNet 1.9.1's parameter servers sum float64 gradients to float32 precision (a job's SGD steps differ from
    one process's by 2e-7 relative): a float64 model there would be silently a float32 one.
    """
    kind = kvstore if isinstance(kvstore, str) else str(getattr(kvstore, "type", ""))
    if dtype == "float64" and kind.startswith("dist"):
        raise ValueError(
            f"The 'dtype' parameter of fit is 'float64' (resolved from the data if 'auto'), which a {kind} job "
            "cannot keep: MXNet's parameter servers sum the gradients to float32 precision. Pass dtype='float32' "
            "(or float32 data with dtype='auto') to train in the job, or train float64 in one process "
            "(ctx='cpu:0,cpu:1' for several devices)."
        )


def default_callbacks(options: dict[str, Any], rank: int | None, has_validation: bool = False) -> list[Callback]:
    """Return gluonlr's own callbacks for ``options`` and the user's; the loop orders them by ``priority``.

    ``rank`` is this worker's in a ``dist_sync`` job (only rank 0 writes the checkpoint), None outside one;
    with ``has_validation``, convergence (``tol``) is measured on the validation loss.

    Examples
    --------
    >>> from gluonlr.options import check_options
    >>> options = check_options(_defaults() | {"verbose": 0})
    >>> [type(callback).__name__ for callback in default_callbacks(options, rank=None)]
    ['History', 'DivergenceGuard']
    """
    checkpoint, tol = options["checkpoint"], options["tol"]
    monitor = "val_loss" if has_validation else "loss"
    return [
        History(),
        DivergenceGuard(),
        *([options["early_stopping"]] if options["early_stopping"] is not None else []),
        *([Convergence(tol, options["n_iter_no_change"], monitor)] if tol is not None else []),
        *([ProgressBar()] if options["verbose"] else []),
        *options["callbacks"],
        *([ModelCheckpoint(checkpoint)] if checkpoint is not None and rank in (None, 0) else []),
    ]


def start_run(learner: Learner, options: dict[str, Any], data: TrainingData, resumed: Resumed | None) -> Run:
    """Return the :class:`~gluonlr.callbacks.Run` of ``learner``: its callbacks, and a resumed run's state.

    Examples
    --------
    >>> from gluonlr import synthetic_data
    >>> from gluonlr.data.prepare import prepare_data
    >>> from gluonlr.options import check_options
    >>> options, data = check_options(_defaults() | {"verbose": 0}), prepare_data(*synthetic_data())
    >>> run = start_run(build_learner(options, data), options, data, resumed=None)
    >>> run.epochs, [type(callback).__name__ for callback in run.callbacks]
    (10, ['History', 'DivergenceGuard'])
    """
    run = Run(
        learner,
        data.X,
        data.y,
        path=options["path"],
        params=record(options),
        epochs=options["epochs"],
        more_data=data.more,
        fingerprint=data.fingerprint,
        target=data.target,
    )
    if resumed is not None:
        learner.set_state(resumed.state)
        run.initial_epoch, run.history = resumed.meta["epoch"], resumed.meta["history"]
        if resumed.stopped:  # the checkpointed run had stopped early: it stays stopped
            run.initial_epoch, run.stop_reason = run.epochs, resumed.stopped["reason"]
    workers = learner.workers
    rank = workers.rank if workers is not None else None
    run.callbacks = default_callbacks(options, rank, has_validation=data.validation is not None)
    return run


def train_to_result(run: Run, options: dict[str, Any], data: TrainingData, resumed: Resumed | None) -> FitResult:
    """Train the run's epochs; return the fitted model, its history and how training ended.

    Examples
    --------
    >>> from gluonlr import synthetic_data
    >>> from gluonlr.data.prepare import prepare_data
    >>> from gluonlr.options import check_options
    >>> options, data = check_options(_defaults() | {"verbose": 0}), prepare_data(*synthetic_data())
    >>> result = train_to_result(start_run(build_learner(options, data), options, data, None), options, data, None)
    >>> result.weight.round(1).tolist(), len(result.history["loss"])
    ([2.0, 51.0], 10)
    """
    learner = run.get_learner()
    evaluation = Evaluation(learner, options["metrics"], data.validation, data.target)
    try:
        stopped_epoch, interrupted = train(run, evaluation, resumed.meta.get("callbacks", {}) if resumed else {})
    finally:
        learner.close()
        run.close()
    stopped = resumed.stopped if resumed is not None else None
    if stopped:
        stopped_epoch = stopped["epoch"]
    weight, bias = learner.parameters()
    if data.target is not None:
        weight, bias = data.target.to_raw(weight, bias)
    return FitResult(
        weight=weight,
        bias=bias,
        history=run.history,
        path=options["path"],
        params=run.params,
        stopped_epoch=stopped_epoch,
        stop_reason=run.stop_reason if stopped_epoch is not None else None,
        interrupted=interrupted,
        feature_names=data.names,
        lr=learner.config.lr,
        converged=run.converged,
    )


def _defaults() -> dict[str, Any]:
    """Return every option at its default (the examples' starting point)."""
    return {name: option.default for name, option in OPTIONS.items()}
