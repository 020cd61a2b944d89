"""One ``fit`` for both training paths."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gluonlr._mxnet import mx
from gluonlr.callbacks import Callback, EarlyStopping
from gluonlr.data.prepare import prepare_data, resolve_dtype
from gluonlr.metrics import MetricLike
from gluonlr.options import check_monitor, check_options
from gluonlr.persistence import PathLike
from gluonlr.phases import PATHS, build_learner, initial_params, resume_state, start_run, train_to_result
from gluonlr.result import FitResult
from gluonlr.schedules import Schedule

__all__ = ["PATHS", "FitResult", "fit", "initial_params"]


def fit(
    X: Any,
    y: Any,
    *,
    path: str = "manual",
    loss: str = "squared",
    rho: float = 1.0,
    reduction: str = "sum",
    lr: float | str = 0.01,
    standardize: bool = False,
    standardize_target: bool = False,
    batch_size: int | str = 10,
    epochs: int = 10,
    tol: float | None = None,
    n_iter_no_change: int = 5,
    seed: int = 0,
    shuffle: bool = True,
    init: str = "normal",
    fit_intercept: bool = True,
    optimizer: str = "sgd",
    momentum: float = 0.0,
    nesterov: bool = False,
    beta1: float = 0.9,
    beta2: float = 0.999,
    epsilon: float = 1e-8,
    penalty: str | None = None,
    alpha: float = 0.0001,
    l1_ratio: float = 0.15,
    weight_decay: float = 0.0,
    average: bool | int = False,
    lr_schedule: str | Schedule | None = None,
    dtype: str = "float32",
    sample_weight: Any = None,
    validation_split: float = 0.0,
    validation_data: tuple[Any, Any] | None = None,
    metrics: Sequence[MetricLike] = (),
    early_stopping: bool | EarlyStopping = False,
    init_weight: Any = None,
    init_bias: Any = None,
    callbacks: Sequence[Callback] | None = None,
    checkpoint: PathLike | None = None,
    resume: bool | PathLike | None = None,
    check_input: bool = True,
    verbose: int | str = "auto",
    ctx: mx.Context | str | Sequence[mx.Context | str] | None = None,
    kvstore: str | mx.kv.KVStore | None = None,
) -> FitResult:
    r"""Fit ``y ~ X w + b`` by mini-batch gradient descent on the manual or the Gluon path.

    Both paths start from the same parameters, see the same batches in the same
    order and take the same steps, so they return the same result to float32
    round-off. The defaults reproduce the article.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Training features; converted to ``dtype``; never modified. A numpy
        memmap (``np.load(path, mmap_mode="r")``) or any array-like with
        ``shape``, ``dtype`` and numpy-style row indexing (an
        ``h5py.Dataset``) is not loaded: each batch's rows are read when due
        (see :doc:`/data`).
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Training targets; converted to ``dtype``. A 2-D ``y`` fits one linear
        model per column (``weight`` of shape ``(n_features, n_outputs)``).
        May be a memmap or an array-like as ``X``.
    path : {"manual", "gluon"}, default="manual"
        ``"manual"``: raw autograd and hand-written updates (:mod:`gluonlr.manual`,
        :mod:`gluonlr.optimizers`); ``"gluon"``: ``Dense``, Gluon's losses,
        ``DataLoader`` and ``Trainer`` (:mod:`gluonlr.gluon`).
    loss : {"squared", "l2", "l1", "huber"}, default="squared"
        ``"squared"`` is the article's :math:`(\hat y - y)^2`; ``"l2"`` is
        Gluon's ``L2Loss``, :math:`\tfrac12 (\hat y - y)^2`; ``"l1"`` is
        ``L1Loss``; ``"huber"`` is ``HuberLoss(rho)``. With several outputs a
        sample's loss is the mean over them, as Gluon's losses compute it.
    rho : float, default=1.0
        Where the Huber loss turns from quadratic to linear; > 0.
    reduction : {"sum", "mean"}, default="sum"
        ``"sum"`` steps with the gradient summed over the batch (the article);
        ``"mean"`` divides it by the batch's actual size, a short last
        batch by its own (``trainer.step(len(batch))``).
    lr : float or "auto", default=0.01
        Learning rate, > 0: the start of ``lr_schedule``. ``"auto"`` chooses
        it from the data, for the loss, batch size, reduction, momentum and
        weight decay: half the largest step that does not overshoot the worst
        of a sample of batches (the largest eigenvalue of its Hessian, by
        power iteration); for Adam, a rate that moves the predictions by 5% of
        the initial residual per update. The rate chosen is ``result.lr`` and
        ``history["lr"][0]``, the same whatever ``seed``; see
        :mod:`gluonlr.scaling` for the rule. On badly scaled features it never
        diverges but may converge slowly: add ``standardize=True``.
    standardize : bool, default=False
        Train on standardized features, :math:`(x - \mu) / \sigma` with the
        mean and standard deviation of each feature over the training rows
        (not a validation split's), computed in the pass over the data that
        ``check_input`` makes (a memmap is read in chunks, never copied), and
        each batch standardized on the device as it is read. A constant
        feature is divided by 1, as scikit-learn's ``StandardScaler`` does.
        ``weight`` and ``bias`` are reported in the units of ``X``, so
        ``predict`` takes raw ``X``.
    standardize_target : bool, default=False
        Train on the target standardized, :math:`(y - \mu_y) / \sigma_y` with
        the mean and standard deviation of each output over the training rows
        (a constant output divided by 1), as scikit-learn's
        ``TransformedTargetRegressor(transformer=StandardScaler())``; ``weight``
        and ``bias`` are reported in the units of ``y``. The losses in
        ``history`` (and ``tol``) are then those of the standardized target,
        whatever its units, and so are the metrics but ``"r2"``. ``y`` is read
        into memory whole (a memmap ``X`` is not).
    batch_size : int or "auto", default=10
        Samples per batch; the last batch of an epoch may be shorter.
        ``"auto"``: all the training rows in one batch when there are at most
        65,536 (and 64 MiB in float64), else ``ceil(n / 64)`` (64 batches an
        epoch, at least 256 rows): MXNet costs about 100 µs a step whatever the
        batch, so larger batches train faster per epoch, and a whole-data batch
        has no sampling noise (with ``reduction="mean"``; ``lr="auto"``
        follows). See :func:`gluonlr.options.resolve_batch_size`.
    epochs : int, default=10
        Passes over the data; with ``tol``, the most.
    tol : float, optional
        Stop when the training loss (the validation loss when there is
        validation data) has not improved by more than ``tol`` for
        ``n_iter_no_change`` epochs in a row, as scikit-learn's
        ``SGDRegressor(tol=...)``: ``result.converged`` is then True. A run that
        reaches ``epochs`` first warns with
        :class:`~gluonlr.errors.ConvergenceWarning`. In the loss's units (the
        mean per-sample loss), >= 0; None (the article's) trains all ``epochs``.
        See :class:`~gluonlr.callbacks.Convergence`.
    n_iter_no_change : int, default=5
        Epochs in a row without an improvement of ``tol`` before training stops.
    seed : int, default=0
        Seeds the initial weights and each epoch's shuffle. The same data
        and arguments give bitwise the same result on the same path, on the
        same machine, with the same number of OpenMP threads
        (``OMP_NUM_THREADS``); the two paths agree with each other to
        float32 round-off, not bitwise. With another
        count, large data sets may differ in the last bits (MXNet sums dot
        products in another order). The article's run is bitwise the same
        with 1, 2 and 4 threads.
    shuffle : bool, default=True
        Visit the training rows in a new order every epoch, the permutation
        :func:`gluonlr.data.epoch_order` draws from ``seed`` and the epoch
        (scikit-learn's ``SGDRegressor(shuffle=...)``). False visits them in
        their order, ``0, 1, ..., n - 1``, every epoch, on both paths, with a
        validation split, on several devices and in a ``dist_sync`` job alike:
        with ``batch_size=1`` the steps are then those of ``SGDRegressor(shuffle=False)``.
    init : {"normal", "zeros"}, default="normal"
        The initial weights when ``init_weight`` is not given: ``N(0, 1)``
        draws from ``seed`` (the article's), or zeros (scikit-learn's).
    fit_intercept : bool, default=True
        Fit the bias (scikit-learn's name). False fits ``y ~ X w``: the bias
        stays exactly 0 and is no parameter of the steps (no gradient, no
        optimizer state, no weight decay); ``init_bias`` must then be None or
        0. ``standardize`` and ``standardize_target`` then divide by the
        standard deviation without subtracting the mean (as scikit-learn's
        ``StandardScaler(with_mean=False)``), so that the model stays ``X w``,
        its bias 0, in the units of ``X`` and ``y``; ``lr="auto"`` leaves the
        bias out of the curvature.
    optimizer : {"sgd", "adam"}, default="sgd"
        MXNet's optimizer of that name on the Gluon path, its update written
        out by hand on the manual path (see :mod:`gluonlr.optimizers`).
    momentum : float, default=0.0
        Momentum of ``"sgd"``, in [0, 1).
    nesterov : bool, default=False
        Nesterov momentum (MXNet's ``"nag"``) for ``"sgd"``; needs ``momentum > 0``.
    beta1, beta2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's decay rates, in [0, 1), and its epsilon, > 0.
    penalty : {None, "l2", "l1", "elasticnet"}, default=None
        A penalty of the weights (never of the bias), as scikit-learn's
        ``SGDRegressor`` defines it. ``"l2"``, :math:`\tfrac{\alpha}{2}\lVert w\rVert_2^2`: MXNet's weight
        decay, ``wd = alpha`` (each step :math:`w \leftarrow w - \eta\,(g + \alpha w)`, the multiplicative
        shrink :math:`w \leftarrow (1 - \eta\alpha) w` before the gradient step), with every optimizer.
        ``"l1"``, :math:`\alpha \lVert w\rVert_1`: after each SGD step, scikit-learn's cumulative truncated
        gradient (Tsuruoka et al., 2009; :class:`~gluonlr.optimizers.L1Penalty`), which sets weights to exactly
        0; plain SGD only (``optimizer="sgd"``, ``momentum=0``: a ``ValueError`` otherwise). ``"elasticnet"``:
        both, the L2 part with ``(1 - l1_ratio) * alpha``, the L1 part with ``l1_ratio * alpha``. The
        penalty applies to the weights the steps update: with ``standardize=True``, those of the standardized
        features. With ``batch_size=1``, ``shuffle=False``, ``loss="l2"`` and ``dtype="float64"``, the steps
        are ``SGDRegressor(penalty=..., alpha=..., l1_ratio=..., shuffle=False, learning_rate="constant")``'s
        (see :doc:`/sklearn`).
    alpha : float, default=0.0001
        The penalty's strength, >= 0 (scikit-learn's ``alpha`` and default); unused without a penalty.
    l1_ratio : float, default=0.15
        ``"elasticnet"``'s share of L1, in [0, 1] (scikit-learn's); unused by the other penalties.
    weight_decay : float, default=0.0
        MXNet's name for the L2 penalty, >= 0: ``weight_decay=a`` is ``penalty="l2", alpha=a``, on the weights
        only (the ``Dense`` bias's ``wd_mult`` is 0). Given with a ``penalty``, it must say the same
        (``penalty="l2", alpha=a``): a ``ValueError`` otherwise.
    average : bool or int, default=False
        Averaged SGD (Polyak and Juditsky, 1992; scikit-learn's ``average``): the model returned, evaluated,
        checkpointed and predicted with is the running mean of the parameters after each update, from the
        update that sees sample ``average`` on (counted over the whole run; ``True``: from the first), while
        the steps go on from the last parameters. A constant rate then ends at the mean of the noise band
        rather than a point in it. With ``batch_size=1``, ``shuffle=False`` and no L1 part the mean is
        ``SGDRegressor(average=...)``'s (:mod:`gluonlr.averaging`; with L1 it is the mean of the parameters
        after each truncation, which scikit-learn's lazy mean is not).
    lr_schedule : {None, "constant", "step", "cosine", "invscaling", "adaptive"} or Schedule, default=None
        How the learning rate changes over the run, see :mod:`gluonlr.schedules`;
        None is constant. ``history["lr"]`` records each epoch's first rate.
    dtype : {"float32", "float64", "auto"}, default="float32"
        The dtype of the model and of MXNet's arithmetic on either path: the
        data, the parameters (``Dense(dtype=...)`` on the Gluon path), the
        gradients and the optimizer's state. ``"float32"`` is the article's;
        ``"float64"`` resolves what float32 cannot, such as a target around
        ``1e7`` or a feature offset by ``1e6``, at about twice the memory.
        ``"auto"`` (the default of the estimator and ``gluonlr fit FILE``)
        is ``"float64"`` when ``X`` or ``y`` is float64 (a numpy array, a
        memmap, a data frame's float64 columns, a list of Python floats) and
        ``"float32"`` for any other input. ``weight``, ``bias`` and
        ``predict`` are in that dtype, and so are saved models and
        checkpoints. A ``dist_sync`` job refuses float64: MXNet's parameter
        servers sum the gradients to float32 precision.
    sample_weight : array-like of shape (n_samples,), optional
        Weights multiplying each sample's loss (Gluon's ``sample_weight``),
        >= 0. ``history["loss"]`` is then the weighted sum over ``n_samples``.
    validation_split : float, default=0.0
        Hold out this fraction of the samples, the last ones (as Keras, before
        any shuffling), for validation; in [0, 1).
    validation_data : tuple (X_val, y_val), optional
        Validation data instead of a split.
    metrics : sequence of {"mse", "rmse", "mae", "r2"}, callable or EvalMetric, default=()
        Recorded after every epoch, on the training data (``history["mse"]``)
        and the validation data (``history["val_mse"]``); ``history["val_loss"]``
        is recorded whenever there is validation data. Besides the four names:
        a function ``metric(y_true, y_pred) -> float`` such as scikit-learn's
        (recorded under its ``__name__``; it gets all the rows at once, which
        costs 16 bytes a row and output), a pair ``(name, function)``, or an
        ``mxnet.metric.EvalMetric`` (under its ``name``; updated a chunk at a
        time), see :class:`gluonlr.metrics.UserMetric`. All are taken in the
        units of ``y``, also with ``standardize_target=True``; none in a
        ``dist_sync`` job but the four names.
    early_stopping : bool or EarlyStopping, default=False
        Stop when the validation loss stops improving:
        ``True`` is :class:`~gluonlr.callbacks.EarlyStopping` with its defaults
        (``monitor="val_loss"``, ``patience=5``, the best weights restored).
    init_weight : array-like of shape (n_features,) or (n_features, n_outputs), optional
        Initial weights, in the units of ``X`` also with ``standardize=True``
        (as ``result.weight``: a fitted model can warm-start a fit); default
        ``N(0, 1)`` draws from ``seed`` (with ``standardize=True``, the
        weights of the standardized features).
    init_bias : float or array-like of shape (n_outputs,), optional
        Initial bias, in the units of ``X`` also with ``standardize=True``;
        default 0 (with ``standardize=True``, the standardized model's).
    callbacks : list of Callback, optional
        Called after each epoch, after gluonlr's own history, divergence check,
        early stopping and progress bar, and before its checkpoint (see
        :mod:`gluonlr.callbacks`); one may stop training.
    checkpoint : str or os.PathLike, optional
        Save a checkpoint after every epoch: the parameters in Gluon's
        ``save_parameters`` format at this path (``gluonlr.params`` if it is a
        directory or ends in ``/``) and the full training state beside it
        (``.state``: optimizer state, epochs done, history, early-stopping
        state), each written atomically. An existing checkpoint is never
        overwritten unless ``resume=True``. Whether both files can be written is
        checked before training (see
        :func:`~gluonlr.persistence.check_checkpoint`).
    resume : bool or str or os.PathLike, optional
        ``True``: continue from ``checkpoint`` if it exists (else start
        afresh); a path: continue from that checkpoint. The run must have the
        same data and arguments except ``epochs``, the total to reach (and
        ``path``, ``ctx``, ``callbacks``, ``verbose`` and ``check_input``, which
        may change); with ``lr_schedule="cosine"``, whose curve spans the run's
        epochs, ``epochs`` too must stay the same. A run
        resumed on the path that made the checkpoint gives bitwise the same
        result as one never interrupted, with the same thread count (on the
        other path, the same to float32 round-off). A run that early stopping ended stays ended.
        The checkpoint's data fingerprint (SHA-256) is computed in the same
        pass over the data as ``check_input``'s check.
    check_input : bool, default=True
        Check every value of the data for NaN and infinity before training (as
        scikit-learn's ``check_input``): one pass, in chunks of 16 MiB, that
        names the first bad row. ``False`` skips the pass for data you trust
        (a NaN then stops training with a ``DivergenceError``); shapes and
        dtypes are always checked.
    verbose : {"auto", 0, 1}, default="auto"
        1 shows a progress bar of the epochs (tqdm, on standard error), 0 shows
        none; ``"auto"`` shows it only when standard error is a terminal or in
        a Jupyter kernel.
    ctx : Context, str or list of Context, optional
        The devices to train on (MXNet 1.x's ``ctx``): None is one CPU; a
        list such as ``[mx.cpu(0), mx.cpu(1)]`` or a string such as
        ``"cpu:0,cpu:1"`` trains data-parallel, each device on a contiguous
        share of every batch's rows, their gradients summed by MXNet's
        ``"device"`` KVStore (see :mod:`gluonlr.parallel`). The result equals
        the one-device fit to float32 round-off, not bitwise. Not part of
        a checkpoint's arguments: a run may resume on other devices.
    kvstore : {None, "device", "local", "dist_sync", "dist_sync_device"} or KVStore, default=None
        Where gradients are summed (see :doc:`/distributed`). None and
        ``"device"`` sum the devices' gradients on the devices, ``"local"`` on
        the CPU. ``"dist_sync"`` trains as one worker of a ``dist_sync`` job
        (``gluonlr launch -n 2 -- python train.py``): ``batch_size`` is the
        *global* batch, of which each worker trains on a contiguous share of
        the rows, read from ``X`` and nothing more; the servers sum the
        workers' gradients, every worker takes the same step and returns the
        same result, equal to this fit in one process to float32 round-off. Only
        rank 0 writes ``checkpoint``. An ``mx.kv.KVStore`` is used as it is.

    Returns
    -------
    FitResult
        ``weight``, ``bias``, ``history``, ``path``, ``predict`` and ``score``;
        ``converged`` and ``n_epochs`` say whether (with ``tol``) and after how
        many epochs training ended.
        If Ctrl-C stopped training (after the batch it came in), ``interrupted``
        is True and the result holds the parameters so far; a second Ctrl-C
        raises ``KeyboardInterrupt`` at once. If a callback or early stopping
        stopped it, ``stopped_epoch`` and ``stop_reason`` say when and why.

    Raises
    ------
    ValueError
        If an argument is out of range or unknown, or ``X`` and ``y`` have
        the wrong shapes or non-finite values.
    TypeError
        If ``X`` or ``y`` are not numeric, or an argument has the wrong type.
    DivergenceError
        If the loss or the parameters stop being finite, the loss explodes or
        keeps rising (checked after every epoch), or the fitted parameters'
        loss ends over 10 times the initial parameters' (see
        :class:`~gluonlr.callbacks.DivergenceGuard`); also before training if
        the data's squares overflow ``dtype``. It carries the history and the
        last finite parameters.
    CheckpointError
        If ``resume`` names a corrupt checkpoint or one of another run, or
        ``checkpoint`` exists and ``resume`` is not set.
    OSError
        If the files of ``checkpoint`` cannot be written, before training:
        ``FileNotFoundError`` for a missing directory, ``PermissionError``
        for a read-only file or directory, ``NotADirectoryError``; a device, FIFO or socket
        is a ``ValueError``. ``FileNotFoundError`` too if ``resume`` names a
        checkpoint that does not exist.

    Warns
    -----
    DataConversionWarning
        If ``y`` is a column of shape ``(n_samples, 1)``; it is raveled.

    Notes
    -----
    ``X`` and ``y`` may be float64, integer or boolean arrays or nested lists;
    they are converted to ``dtype``, float32 by default (and never modified in place).

    The paths apply the same operations in a different order, so they agree to
    float32 round-off at each step. A long run that amplifies round-off, such
    as Adam on noise-free data near the optimum, where :math:`\sqrt v`
    shrinks towards ``epsilon``, may drift apart further, as any two float32
    implementations would.

    Examples
    --------
    >>> from gluonlr import fit, synthetic_data
    >>> result = fit(*synthetic_data(), path="gluon")
    >>> result.weight.round(2).tolist(), round(result.bias, 2)
    ([2.0, 51.0], 21.2)
    >>> len(result.history["loss"])
    10
    >>> result = fit(*synthetic_data(), optimizer="adam", lr=0.5, epochs=20, validation_split=0.2, metrics=["r2"])
    >>> round(result.history["val_r2"][-1], 4)
    1.0

    Raw features in other units (``x1`` in thousandths, around 5000; ``x2``
    in thousands, around -3), where the defaults diverge: standardized, with
    a step chosen from the data, the model comes back in those units:

    >>> X, y = synthetic_data()
    >>> X_raw = X * [1000.0, 0.001] + [5000.0, -3.0]
    >>> result = fit(X_raw, y, standardize=True, lr="auto", lr_schedule="cosine", epochs=20)
    >>> (result.weight * [1000.0, 0.001]).round(2).tolist(), round(result.score(X_raw, y), 4), round(result.lr, 4)
    ([2.0, 51.0], 1.0, 0.0183)

    An L1 penalty sets the weight of a feature that does not matter to exactly 0, where the noise leaves
    plain SGD's near it:

    >>> X, y = synthetic_data(true_w=[2.0, 0.0], true_b=1.0)
    >>> plain = fit(X, y, loss="l2", init="zeros", epochs=5)
    >>> lasso = fit(X, y, loss="l2", init="zeros", epochs=5, penalty="l1", alpha=0.01)
    >>> [round(float(w), 4) for w in plain.weight], [round(float(w), 4) for w in lasso.weight]
    ([2.0005, 0.0009], [1.9994, 0.0])

    Data without an intercept, fitted without one; the rows in their order:

    >>> X, y = synthetic_data(true_w=[2.0, -3.4], true_b=0.0)
    >>> result = fit(X, y, fit_intercept=False, shuffle=False, init="zeros")
    >>> print(result.weight.round(2), result.bias)
    [ 2.  -3.4] 0.0
    """
    options = check_options({name: value for name, value in locals().items() if name not in ("X", "y")})
    options["dtype"] = resolve_dtype(options["dtype"], X, y)
    data = prepare_data(
        X,
        y,
        dtype=options["dtype"],
        sample_weight=options["sample_weight"],
        validation_split=options["validation_split"],
        validation_data=options["validation_data"],
        check_input=options["check_input"],
        standardize=options["standardize"],
        standardize_target=options["standardize_target"],
        centre=options["fit_intercept"],
        fingerprint=options["checkpoint"] is not None or options["resume"] is not None,
    )
    check_monitor(options["early_stopping"], has_validation=data.validation is not None, metrics=options["metrics"])
    resumed = resume_state(options, data)
    learner = build_learner(options, data)
    run = start_run(learner, options, data, resumed)
    return train_to_result(run, options, data, resumed)
