"""A scikit-learn estimator over :func:`gluonlr.fit`: pipelines, grid search, cross-validation, ``partial_fit``.

``pip install "gluonlr[sklearn]"`` installs scikit-learn (1.6 or later) with gluonlr; ``import gluonlr`` alone
never imports it.
"""

from __future__ import annotations

import copy
import inspect
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

try:
    from sklearn.base import BaseEstimator, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as error:  # scikit-learn < 1.6 has no validate_data
    raise ImportError(
        f"gluonlr.sklearn needs scikit-learn 1.6 or later ({error}). Install it with: pip install 'gluonlr[sklearn]'"
    ) from error

from gluonlr import host
from gluonlr._mxnet import mx
from gluonlr.callbacks import Callback
from gluonlr.data import is_sparse
from gluonlr.data.prepare import TargetScale, resolve_dtype
from gluonlr.errors import ConvergenceWarning
from gluonlr.fit import fit as gluonlr_fit
from gluonlr.metrics import MetricLike, scores
from gluonlr.options import OPTIONS, resolve_batch_size
from gluonlr.result import FitResult
from gluonlr.scaling import Standardizer
from gluonlr.schedules import Schedule, make_schedule

__all__ = ["ESTIMATOR_ONLY", "EXCLUDED_OPTIONS", "NOT_OFFERED", "RENAMED", "LinearRegressor"]

#: The options of :func:`gluonlr.fit` that are no constructor parameters of :class:`LinearRegressor`, and why
#: (from the table of options, :data:`gluonlr.options.OPTIONS`).
EXCLUDED_OPTIONS: dict[str, str] = {
    name: option.not_on["estimator"] for name, option in OPTIONS.items() if not option.on("estimator")
}


class _TrainingState(Callback):
    """Carries the optimizer's state from one :func:`gluonlr.fit` to the next: what ``partial_fit`` continues.

    Before training it puts back ``state`` (a learner's ``get_state()``:
    parameters, momentum or Adam's moments, the update count); after training
    it keeps the final state in :attr:`state`, as numpy arrays. It also keeps
    the statistics the fit standardized by (``x_scale``: the features' mean
    and scale; ``y_scale``: the target's), or None: what ``partial_fit``
    trains by afterwards.
    """

    def __init__(self, state: dict[str, np.ndarray] | None = None) -> None:
        self.state = state
        self.x_scale: tuple[np.ndarray, np.ndarray] | None = None
        self.y_scale: tuple[np.ndarray, np.ndarray] | None = None

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        """Keep the fit's statistics; restore the state of the previous fit, if any."""
        scaler = self.run.get_learner().scaler  # fit(standardize=True)'s Standardizer, or None
        if scaler is not None:
            self.x_scale = (scaler.mean.copy(), scaler.scale.copy())
        target = self.run._target  # fit(standardize_target=True)'s TargetScale, or None
        if target is not None:
            self.y_scale = (target.mean.copy(), target.scale.copy())
        if self.state is not None:
            self.run.set_state(self.state)

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        """Keep the state the fit ends with."""
        self.state = self.run.get_state()


class _Spanning(Schedule):
    """``schedule`` over ``epochs`` epochs, whatever the ``epochs`` of the fit: one ``partial_fit`` runs one.

    With the update count carried over (:class:`_TrainingState`), ``epochs``
    calls of ``partial_fit`` follow the schedule of one ``fit(epochs=epochs)``.
    """

    name = "spanning"

    def __init__(self, schedule: Schedule, epochs: int) -> None:
        self.schedule, self.epochs = schedule, epochs

    def lr_at(self, update: int, *, lr: float, n_batches: int, epochs: int) -> float:
        """Return the inner schedule's rate of ``update`` in a run of :attr:`epochs` epochs."""
        return self.schedule.lr_at(update, lr=lr, n_batches=n_batches, epochs=self.epochs)

    def mxnet_scheduler(self, *, lr: float, n_batches: int, epochs: int) -> mx.lr_scheduler.LRScheduler | None:
        """Return the inner schedule's MXNet scheduler for a run of :attr:`epochs` epochs."""
        return self.schedule.mxnet_scheduler(lr=lr, n_batches=n_batches, epochs=self.epochs)

    def on_plateau(self, lr: float) -> float | None:
        """Return the inner schedule's rate after a plateau."""
        return self.schedule.on_plateau(lr)

    def params(self) -> dict[str, Any]:
        """Return the inner schedule's name and parameters, and the epochs it spans."""
        return {"schedule": self.schedule.name, **self.schedule.params(), "epochs": self.epochs}


@contextmanager
def _unchanged_on_error(estimator: BaseEstimator) -> Iterator[None]:
    """Put back the estimator's attributes if the block raises: a failed fit leaves the fitted model as it was."""
    before = dict(estimator.__dict__)
    try:
        yield
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(before)
        raise


@contextmanager
def _sklearn_warnings() -> Iterator[None]:
    """Emit gluonlr's :class:`~gluonlr.errors.ConvergenceWarning` as scikit-learn's, which its users filter on.

    The other warnings pass as they are, after the call (or not at all if it raises: the error says more).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            warnings.warn(SklearnConvergenceWarning(str(warning.message)), stacklevel=5)
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)


#: scikit-learn's ``SGDRegressor`` parameters that gluonlr names otherwise: ``{scikit-learn's: gluonlr's}``, from
#: the table of options (each :class:`~gluonlr.options.Option`'s ``sklearn_name``). Given to the estimator, each
#: is a ``TypeError`` naming gluonlr's parameter.
RENAMED: dict[str, str] = {option.sklearn_name: name for name, option in OPTIONS.items() if option.sklearn_name}

#: The estimator's parameters that are not options of :func:`gluonlr.fit`: how the estimator calls it.
ESTIMATOR_ONLY: dict[str, str] = {
    "warm_start": "fit starts from the fitted coef_ and intercept_ (scikit-learn's warm_start), not from init",
}

#: ``SGDRegressor``'s parameters that have no counterpart here, and what to do instead.
NOT_OFFERED: dict[str, str] = {
    "coef_init": "it is an argument of fit, as in SGDRegressor: LinearRegressor().fit(X, y, coef_init=...)",
    "intercept_init": "it is an argument of fit, as in SGDRegressor: LinearRegressor().fit(X, y, intercept_init=...)",
    "power_t": "a parameter of the schedule: lr_schedule=gluonlr.schedules.InverseScaling(power_t=...), "
    "scikit-learn's 'invscaling' (the name alone: power_t=0.25)",
}


def _check_names(params: dict[str, Any]) -> None:
    """Raise ``TypeError`` for a scikit-learn parameter name that gluonlr calls otherwise or does not offer."""
    for name in params:
        if name in RENAMED:
            raise TypeError(
                f"LinearRegressor has no parameter {name!r}: scikit-learn's {name} is gluonlr's {RENAMED[name]!r}. "
                f"Pass {RENAMED[name]}= instead (the table: gluonlr.sklearn.RENAMED)."
            )
        if name in NOT_OFFERED:
            raise TypeError(f"LinearRegressor has no parameter {name!r}: {NOT_OFFERED[name]}.")


class LinearRegressor(RegressorMixin, BaseEstimator):
    r"""Linear regression by mini-batch gradient descent on MXNet, as a scikit-learn estimator.

    A thin estimator over :func:`gluonlr.fit`: each constructor parameter is the
    option of ``fit`` of the same name, and ``fit`` trains on either path. Its
    defaults are those for users' own data (each option's
    :meth:`~gluonlr.options.Option.default_on` ``("estimator")``, as
    ``gluonlr fit FILE``'s), not the article's that ``gluonlr.fit`` keeps:
    standardized features and target (the model reported in their units),
    ``lr="auto"``, the mean over the batch, zero initial weights, all the rows
    in one batch (64 batches an epoch above 65,536) and training until the loss stops
    improving by ``tol`` (at most ``epochs``), so ``LinearRegressor().fit(X, y)``
    converges on ordinary data with no parameter set. Pass the article's
    settings (``reduction="sum", lr=0.01, standardize=False,
    standardize_target=False, batch_size=10, epochs=10, tol=None,
    init="normal"``) to get ``gluonlr.fit(X, y)``'s run. Named
    ``LinearRegressor``, like scikit-learn's ``SGDRegressor``, for a model
    fitted iteratively: scikit-learn's ``LinearRegression`` is the closed-form
    solution.

    The options of ``fit`` that are no parameters here (see
    :data:`EXCLUDED_OPTIONS`): ``sample_weight``, ``init_weight`` and
    ``init_bias`` are arguments of :meth:`fit` (``coef_init`` and
    ``intercept_init``, as ``SGDRegressor``'s); ``validation_data``,
    ``callbacks``, ``checkpoint`` and ``resume`` are data, live objects or files
    that the clones of a grid search or a cross-validation would share;
    ``check_input``: the estimator always checks its input, with scikit-learn's
    ``check_array``.

    Parameters
    ----------
    path : {"manual", "gluon"}, default="manual"
        The training path; see :func:`gluonlr.fit` for this and every other parameter.
    loss : {"squared", "l2", "l1", "huber"}, default="squared"
    rho : float, default=1.0
    reduction : {"sum", "mean"}, default="mean"
    lr : float or "auto", default="auto"
        ``"auto"`` picks a stable rate from the data; :meth:`partial_fit` picks
        it on its first call (or takes the last :meth:`fit`'s) and keeps it.
    standardize : bool, default=True
        Standardize the features inside :meth:`fit` (the model's ``coef_`` and
        ``intercept_`` stay in the units of ``X``): no ``StandardScaler`` needed.
        A sparse ``X`` (any ``scipy.sparse`` format, read as CSR) is scaled
        only, not centred, as ``StandardScaler(with_mean=False)``: see
        :doc:`/sparse`.
        :meth:`partial_fit` standardizes by the statistics of its first call's
        chunk (or of the last :meth:`fit`'s data), then keeps them: the
        features the model trains on do not change from call to call.
    standardize_target : bool, default=True
        Train on ``y`` standardized (``coef_`` and ``intercept_`` stay in its
        units); ``history_``'s losses are of the standardized target, its
        metrics in ``y``'s units. :meth:`partial_fit` keeps the first call's
        mean and standard deviation of ``y``, as ``standardize``'s.
    batch_size : int or "auto", default="auto"
        ``"auto"``: all the rows in one batch up to 65,536 (and 64 MiB in
        float64), else 64 batches an epoch of at least 256 rows
        (:func:`gluonlr.options.resolve_batch_size`).
    epochs : int, default=1000
        The most epochs of :meth:`fit` (scikit-learn's ``max_iter``); the
        epochs a learning-rate schedule spans in :meth:`partial_fit`.
    tol : float or None, default=1e-5
        Stop when the loss stops improving by ``tol`` (scikit-learn's ``tol``);
        a fit that reaches ``epochs`` first warns with scikit-learn's
        ``ConvergenceWarning``. None trains every epoch.
    n_iter_no_change : int, default=5
    seed : int, default=0
        Seeds the initial weights and the shuffles (scikit-learn's
        ``random_state``, under ``fit``'s name). An int only: a fit is
        reproducible bitwise.
    shuffle : bool, default=True
        Shuffle the rows every epoch (by ``seed``), as scikit-learn's
        ``shuffle``; False visits them in their order every epoch.
    init : {"normal", "zeros"}, default="zeros"
        The initial weights when ``coef_init`` is not given: zeros, as
        scikit-learn's, or the article's ``N(0, 1)`` draws from ``seed``.
    fit_intercept : bool, default=True
        Fit ``intercept_``, as scikit-learn's ``fit_intercept``. False keeps
        ``intercept_`` exactly 0 (``intercept_init`` must be None or 0), and
        ``standardize`` and ``standardize_target`` then only scale, as
        ``StandardScaler(with_mean=False)``: the model stays ``X @ coef_.T``.
    optimizer : {"sgd", "adam"}, default="sgd"
    momentum : float, default=0.0
    nesterov : bool, default=False
    beta1, beta2, epsilon : float, default=0.9, 0.999, 1e-8
    penalty : {None, "l2", "l1", "elasticnet"}, default=None
        scikit-learn's penalties of the weights (never of the intercept), with
        ``SGDRegressor``'s arithmetic: ``"l2"`` shrinks the weights by
        :math:`1 - \eta\alpha` before each step (MXNet's weight decay),
        ``"l1"`` applies the cumulative truncated gradient after each step, so
        weights reach exactly 0, ``"elasticnet"`` both. ``"l1"`` and
        ``"elasticnet"`` need plain SGD (``optimizer="sgd"``, ``momentum=0``).
        None by default, where ``SGDRegressor``'s is ``"l2"``: ``penalty="l2"``
        with the default ``alpha`` is scikit-learn's default model. With
        ``standardize=True`` (the default) the penalty is on the weights of
        the standardized features, as in a pipeline with ``StandardScaler``.
        :meth:`partial_fit` carries the L1 penalty's state on.
    alpha : float, default=0.0001
        The penalty's strength, as ``SGDRegressor``'s.
    l1_ratio : float, default=0.15
        The L1 share of ``"elasticnet"``, in [0, 1], as ``SGDRegressor``'s.
    weight_decay : float, default=0.0
        MXNet's name for ``penalty="l2", alpha=weight_decay``; given with a
        ``penalty`` it must say the same.
    average : bool or int, default=False
        Averaged SGD, as ``SGDRegressor``'s: ``coef_`` and ``intercept_`` are
        the mean of the parameters after each step, from the step that sees
        sample ``average`` on (True: the first). :meth:`partial_fit` carries
        the mean on; a ``warm_start`` fit starts from the mean and averages
        afresh, as scikit-learn's.
    lr_schedule : {None, "constant", "step", "cosine", "invscaling", "adaptive"} or Schedule, default=None
    dtype : {"float32", "float64", "auto"}, default="float32"
        The model's dtype: ``X`` and ``y`` are converted to it, ``coef_`` and
        ``intercept_`` are in it. ``"auto"`` keeps float64 input in float64
        (scikit-learn's estimators compute in float64) and trains other input
        in float32.
    validation_split : float, default=0.0
        Ignored by :meth:`partial_fit`, as early stopping.
    metrics : tuple of str, callable or EvalMetric, default=()
        Recorded in ``history_``: names, functions ``metric(y_true, y_pred)``
        such as scikit-learn's, ``(name, function)`` pairs or
        ``mxnet.metric.EvalMetric`` (copied for each fit), as
        :func:`gluonlr.fit` takes them.
    early_stopping : bool or EarlyStopping, default=False
        An :class:`~gluonlr.callbacks.EarlyStopping` given is copied for each
        fit, never changed.
    verbose : {"auto", 0, 1}, default="auto"
    ctx : Context, str or list of Context, optional
    kvstore : {None, "device", "local", "dist_sync", "dist_sync_device"}, optional
        By name: an ``mx.kv.KVStore`` object is a live MXNet handle, which
        ``clone`` and pickling cannot copy.
    warm_start : bool, default=False
        The estimator's own (:data:`ESTIMATOR_ONLY`), as scikit-learn's: a
        :meth:`fit` of a fitted estimator starts from its ``coef_`` and
        ``intercept_`` (unless ``coef_init`` or ``intercept_init`` is given)
        instead of ``init``'s start. The rest starts afresh, as in
        scikit-learn: the optimizer's state, the update count, the
        standardization's statistics (of the new data; the start is in the
        units of ``X``, so it carries over). :meth:`partial_fit` always
        continues, whatever ``warm_start``.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features), float32 or float64 (``dtype``)
        The weights, in scikit-learn's layout: ``(n_targets, n_features)`` for a
        2-D ``y`` (as scikit-learn's ``LinearRegression``).
    intercept_ : float or ndarray of shape (n_targets,)
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        The column names of a data frame ``X``, when they are all strings;
        defined only then, as in scikit-learn. ``predict`` on a data frame
        checks them; on an array without names it warns, as scikit-learn does.
    history_ : dict of str to list of float
        The history of :func:`gluonlr.fit` since the last :meth:`fit`, one
        entry per epoch; each :meth:`partial_fit` appends its epoch.
    n_iter_ : int
        Epochs trained since the last :meth:`fit`: the entries of ``history_``.
    t_ : int
        Optimizer updates (batches) since the last :meth:`fit`, as
        ``SGDRegressor.t_`` counts them; the update count a schedule and Adam's
        bias correction continue from in :meth:`partial_fit`.
    converged_ : bool or None
        Whether the last :meth:`fit` (or :meth:`partial_fit`'s epoch) converged
        (``FitResult.converged``): False when it ran out of
        ``epochs`` first, or ended worse than predicting the mean of ``y``
        (both warn); None when nothing measured it (``tol=None``, and every
        :meth:`partial_fit` call, which runs one epoch, unless it ended worse
        than the mean).

    Notes
    -----
    Pickling keeps the parameters, the history and the optimizer's state as numpy
    arrays; no MXNet object is held between calls. A pickled and unpickled
    estimator predicts the same and continues the same under ``partial_fit``.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from gluonlr import synthetic_data
    >>> from gluonlr.sklearn import LinearRegressor
    >>> X, y = synthetic_data()
    >>> model = LinearRegressor().fit(X, y)
    >>> round(model.score(X, y), 4), model.n_iter_, model.converged_
    (1.0, 8, True)

    In a pipeline, with the article's settings on features scaled beforehand:

    >>> article = {"reduction": "sum", "lr": 0.01, "standardize": False, "standardize_target": False,
    ...            "batch_size": 10, "epochs": 10, "tol": None, "init": "normal"}
    >>> model = make_pipeline(StandardScaler(), LinearRegressor(**article))
    >>> round(model.fit(X, y).score(X, y), 4)
    1.0
    """

    coef_: np.ndarray
    intercept_: float | np.ndarray
    n_features_in_: int
    history_: dict[str, list[float]]
    n_iter_: int
    t_: int
    converged_: bool | None
    _state: dict[str, np.ndarray]  # the learner's state after the last fit: what partial_fit continues
    _targets_2d: bool  # fitted on a 2-D y
    _fit_path: str | None
    _fit_params: dict[str, Any]
    _lr: float  # the rate the last fit trained with (lr="auto"'s choice): what partial_fit keeps
    _x_scale: tuple[np.ndarray, np.ndarray] | None  # standardize's mean and scale, fixed by the first fit
    _y_scale: tuple[np.ndarray, np.ndarray] | None  # standardize_target's, likewise

    def __init__(
        self,
        *,
        path: str = "manual",
        loss: str = "squared",
        rho: float = 1.0,
        reduction: str = "mean",
        lr: float | str = "auto",
        standardize: bool = True,
        standardize_target: bool = True,
        batch_size: int | str = "auto",
        epochs: int = 1000,
        tol: float | None = 1e-5,
        n_iter_no_change: int = 5,
        seed: int = 0,
        shuffle: bool = True,
        init: str = "zeros",
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
        dtype: str = "auto",
        validation_split: float = 0.0,
        metrics: tuple[MetricLike, ...] = (),
        early_stopping: Any = False,
        verbose: int | str = "auto",
        ctx: Any = None,
        kvstore: Any = None,
        warm_start: bool = False,
    ) -> None:
        self.path = path
        self.loss = loss
        self.rho = rho
        self.reduction = reduction
        self.lr = lr
        self.standardize = standardize
        self.standardize_target = standardize_target
        self.batch_size = batch_size
        self.epochs = epochs
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.seed = seed
        self.shuffle = shuffle
        self.init = init
        self.fit_intercept = fit_intercept
        self.optimizer = optimizer
        self.momentum = momentum
        self.nesterov = nesterov
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.weight_decay = weight_decay
        self.average = average
        self.lr_schedule = lr_schedule
        self.dtype = dtype
        self.validation_split = validation_split
        self.metrics = metrics
        self.early_stopping = early_stopping
        self.verbose = verbose
        self.ctx = ctx
        self.kvstore = kvstore
        self.warm_start = warm_start

    def __new__(cls, *args: Any, **params: Any) -> LinearRegressor:
        """Refuse scikit-learn's names for gluonlr's parameters with a ``TypeError`` naming gluonlr's.

        Before ``__init__``'s bare "unexpected keyword argument": :data:`RENAMED` and :data:`NOT_OFFERED`.
        """
        _check_names(params)
        return super().__new__(cls)

    def set_params(self, **params: Any) -> LinearRegressor:
        """Set parameters, as scikit-learn's ``set_params``.

        A scikit-learn name that gluonlr calls otherwise is a ``TypeError`` naming gluonlr's: a grid search over
        ``max_iter`` says to search ``epochs``.
        """
        _check_names(params)
        return super().set_params(**params)

    def __sklearn_tags__(self) -> Any:
        """Declare what the estimator takes: several targets (a 2-D ``y``), no NaN, and a sparse ``X`` (as CSR).

        A sparse ``X`` only with the settings it trains with: plain SGD (no momentum, no penalty), float32.
        """
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        plain_sgd = self.optimizer == "sgd" and not self.momentum and not self.weight_decay and self.penalty is None
        tags.input_tags.sparse = plain_sgd and self.dtype != "float64"
        return tags

    def _fit_options(self) -> dict[str, Any]:
        """Return the constructor parameters as :func:`gluonlr.fit`'s options: every one has fit's name."""
        options = {name: value for name, value in self.get_params(deep=False).items() if name not in ESTIMATOR_ONLY}
        options["early_stopping"] = copy.deepcopy(self.early_stopping)  # fit changes an EarlyStopping's state
        options["metrics"] = copy.deepcopy(self.metrics)  # and an EvalMetric's (functions are not copied)
        return options

    def fit(
        self, X: Any, y: Any, sample_weight: Any = None, coef_init: Any = None, intercept_init: Any = None
    ) -> LinearRegressor:
        """Fit the model by :func:`gluonlr.fit` with the estimator's parameters.

        Parameters
        ----------
        X : array-like or data frame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), optional
            Weights of the samples' losses, >= 0.
        coef_init : array-like of shape (n_features,) or (n_targets, n_features), optional
            The initial weights (``fit``'s ``init_weight``); default ``N(0, 1)`` draws from ``seed``.
        intercept_init : float or array-like of shape (n_targets,), optional
            The initial intercept (``fit``'s ``init_bias``); default 0.

        Returns
        -------
        LinearRegressor
            The estimator, fitted. If :func:`gluonlr.fit` raises (a bad
            parameter, a ``DivergenceError``), the estimator is left as it was.
        """
        with _unchanged_on_error(self):
            dtype = self._dtype(X, y)
            X, y = validate_data(
                self, X, y, accept_sparse="csr", dtype=dtype, multi_output=True, y_numeric=True, reset=True
            )
            if self.warm_start and hasattr(self, "coef_"):  # scikit-learn's warm_start: from the fitted model
                coef_init = self.coef_ if coef_init is None else coef_init
                intercept_init = self.intercept_ if intercept_init is None else intercept_init
            init_weight = None if coef_init is None else np.asarray(coef_init, dtype=dtype).T
            self._train(X, y, sample_weight, init_weight, intercept_init, None, self._fit_options() | {"dtype": dtype})
        return self

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> LinearRegressor:
        """Train one epoch more on ``X, y``, continuing the parameters and the optimizer's state.

        As ``SGDRegressor.partial_fit``: the first call (on an unfitted
        estimator) starts from the initial weights ``fit`` would start from,
        every later one from the current ones, with the optimizer's state
        (momentum, Adam's moments and update count) and the learning-rate
        schedule carried on: ``epochs`` calls follow the schedule of one
        ``fit(epochs=epochs)``. Each call shuffles its data as ``fit``'s first
        epoch does. ``validation_split``, ``early_stopping`` and ``tol`` are
        ignored.

        What the first call (or the last :meth:`fit`) measured on its data is
        kept, as a scaler fitted once: ``standardize``'s mean and standard
        deviation of each feature, ``standardize_target``'s of ``y``, and the
        rate ``lr="auto"`` chose. Later calls train on the same standardized
        features with the same rate, so a chunk's statistics never change the
        model's units or step; make the first chunk a fair sample of the data
        (shuffle the rows beforehand if they are sorted).

        Parameters
        ----------
        X : array-like or data frame of shape (n_samples, n_features)
            The features of the fitted model, with the same names if it had names.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            As many targets as the fitted model's.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        LinearRegressor
            The estimator, one epoch further; left as it was if training raises.

        Examples
        --------
        >>> from gluonlr import synthetic_data
        >>> from gluonlr.sklearn import LinearRegressor
        >>> X, y = synthetic_data()
        >>> model = LinearRegressor(batch_size=20)  # 5 steps a chunk of 100 rows
        >>> for chunk in range(3):
        ...     model = model.partial_fit(X[100 * chunk : 100 * (chunk + 1)], y[100 * chunk : 100 * (chunk + 1)])
        >>> model.n_iter_, model.t_, model.coef_.round(1).tolist()
        (3, 15, [2.0, 51.0])
        """
        first = not hasattr(self, "coef_")
        with _unchanged_on_error(self):
            # A fitted model keeps its dtype: the first call's ("auto": of its data)
            dtype = self._dtype(X, y) if first else str(self.coef_.dtype)
            X, y = validate_data(
                self, X, y, accept_sparse="csr", dtype=dtype, multi_output=True, y_numeric=True, reset=first
            )
            options = {
                **self._fit_options(),
                "dtype": dtype,
                "validation_split": 0.0,
                "early_stopping": False,
                "epochs": 1,
                "tol": None,
            }
            options["lr_schedule"] = _Spanning(make_schedule(self.lr_schedule), self.epochs)
            if first:
                self._train(X, y, sample_weight, None, None, None, options)
                return self
            if (y.ndim == 2) != self._targets_2d or (y.ndim == 2 and y.shape[1] != self.coef_.shape[0]):
                raise ValueError(
                    f"y passed to partial_fit has shape {y.shape}, but the model was fitted on "
                    f"{self.coef_.shape[0] if self._targets_2d else 'a 1-D y of one'} target(s)."
                )
            # The units and the rate the model trains in are those of the first fit: its statistics, its rate.
            options |= {"standardize": False, "standardize_target": False}
            options["lr"] = self._lr if isinstance(self.lr, str) else self.lr
            if self._x_scale is not None:
                X = Standardizer(*self._x_scale, dtype).transform(X)
            if self._y_scale is not None:
                y = TargetScale(*self._y_scale, dtype).transform(y)
            state, history = self._state, self.history_
            weight, bias = state["weight"].T, state["bias"]  # the trained parameters, in the units trained in
            self._train(X, y, sample_weight, weight if self._targets_2d else weight[:, 0], bias, state, options, True)
            self.history_ = {key: history.get(key, []) + values for key, values in self.history_.items()}
            self.n_iter_ = len(self.history_["loss"])
        return self

    def _dtype(self, X: Any, y: Any) -> str:
        """Return the dtype to fit ``X`` and ``y`` in: the ``dtype`` parameter, ``"auto"`` resolved from the data."""
        return resolve_dtype(OPTIONS["dtype"].check(self.dtype), X, y)

    def _train(
        self,
        X: np.ndarray,
        y: np.ndarray,
        sample_weight: Any,
        init_weight: Any,
        init_bias: Any,
        state: dict[str, np.ndarray] | None,
        options: dict[str, Any],
        kept_scales: bool = False,
    ) -> None:
        """Run :func:`gluonlr.fit` from ``state`` (or none) and set the fitted attributes from its result.

        With ``kept_scales``, ``X`` and ``y`` come standardized by the kept statistics (:meth:`partial_fit`),
        and the model fit returns is mapped back to their units.
        """
        targets_2d = y.ndim == 2
        if targets_2d and y.shape[1] == 1 and init_weight is not None:  # one target, fitted from a 1-D y
            init_weight = np.reshape(init_weight, -1)
        carried = _TrainingState(state)
        updates = 0 if state is None else int(state["updates"])
        with _sklearn_warnings():
            result = gluonlr_fit(
                X,
                y[:, 0] if targets_2d and y.shape[1] == 1 else y,  # one target as a column: coef_ (1, n_features)
                **options,
                sample_weight=sample_weight,
                init_weight=init_weight,
                init_bias=init_bias,
                callbacks=[carried],
                check_input=False,  # validate_data checked X and y; fit checks sample_weight
            )
        assert carried.state is not None  # on_train_end ran: fit returned
        weight, result_bias = result.weight, result.bias
        if kept_scales:
            if self._x_scale is not None:
                weight, result_bias = Standardizer(*self._x_scale, options["dtype"]).to_original(weight, result_bias)
            if self._y_scale is not None:
                weight, result_bias = TargetScale(*self._y_scale, options["dtype"]).to_raw(weight, result_bias)
        else:  # a fit from scratch: its statistics are what partial_fit keeps
            self._x_scale, self._y_scale = carried.x_scale, carried.y_scale
        weight = weight.reshape(len(weight), -1).T if targets_2d else weight
        self.coef_ = weight.copy()
        bias = np.asarray(result_bias, dtype=result.dtype).reshape(-1)  # one target: fit's float
        self.intercept_ = bias if targets_2d else float(bias[0])
        self.history_ = {key: list(values) for key, values in result.history.items()}
        if kept_scales and self._y_scale is not None and options["metrics"]:  # in y's units, as fit's
            mean, scale = self._y_scale
            predicted = host.predict(
                _float64(X), np.asarray(result.weight, np.float64), np.asarray(result.bias, np.float64)
            )
            raw = [values.reshape(len(values), -1) * scale + mean for values in (y, predicted)]
            self.history_ |= {name: [value] for name, value in scores(raw[0], raw[1], options["metrics"]).items()}
        if "lr" in self.history_ and state is not None:  # fit counts this epoch's updates from 1; they go on
            schedule, n_batches = (
                options["lr_schedule"],
                -(-len(X) // resolve_batch_size(options["batch_size"], len(X), X.shape[1])),
            )
            self.history_["lr"] = [schedule.lr_at(updates + 1, lr=result.lr, n_batches=n_batches, epochs=1)]
        self.n_iter_ = len(self.history_.get("loss", []))
        self.t_ = int(carried.state["updates"])
        self.converged_ = result.converged
        self._lr = float(result.lr) if result.lr is not None else float(options["lr"])
        self._state = carried.state
        self._targets_2d = targets_2d
        self._fit_path, self._fit_params = result.path, result.params

    def predict(self, X: Any) -> np.ndarray:
        """Predict the targets of ``X``: ``X @ coef_.T + intercept_``, in float64 as scikit-learn's regressors.

        Parameters
        ----------
        X : array-like or data frame of shape (n_samples, n_features)
            A data frame must have the columns the model was fitted on, in
            the same order (a ``ValueError`` otherwise); an array without
            names given to a model fitted on a data frame gets scikit-learn's
            warning.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_targets), float64
        """
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", dtype=(np.float64, np.float32), reset=False)
        coef = np.asarray(self.coef_, dtype=np.float64)
        return host.predict(_float64(X), coef.T, np.asarray(self.intercept_, dtype=np.float64))

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Return the coefficient of determination R² of :meth:`predict` on ``X``, as scikit-learn's regressors.

        Parameters
        ----------
        X : array-like or data frame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        float
            ``sklearn.metrics.r2_score(y, self.predict(X), sample_weight=sample_weight)``:
            1 is a perfect fit, 0 no better than the mean; several targets are averaged.

        Examples
        --------
        >>> from gluonlr import synthetic_data
        >>> from gluonlr.sklearn import LinearRegressor
        >>> X, y = synthetic_data()
        >>> round(LinearRegressor().fit(X, y).score(X, y), 6)
        1.0
        """
        return float(super().score(X, y, sample_weight=sample_weight))

    def to_result(self) -> FitResult:
        """Return the fitted model as :func:`gluonlr.fit`'s :class:`~gluonlr.FitResult`, e.g. for :func:`gluonlr.save`.

        Its ``feature_names`` are ``feature_names_in_``, its ``history``
        ``history_``. A model fitted on a column ``y`` of shape
        ``(n_samples, 1)`` predicts 1-D there.

        Examples
        --------
        >>> from gluonlr import synthetic_data
        >>> from gluonlr.sklearn import LinearRegressor
        >>> X, y = synthetic_data()
        >>> result = LinearRegressor().fit(X, y).to_result()
        >>> result.weight.round(1).tolist(), result.path
        ([2.0, 51.0], 'manual')
        """
        check_is_fitted(self)
        names = getattr(self, "feature_names_in_", None)
        weight, bias = self.coef_.T.copy(), self.intercept_
        if self._targets_2d:  # fit returns one target as 1-D, several as columns
            bias = np.asarray(bias, dtype=self.coef_.dtype).copy()
            weight, bias = (weight[:, 0], float(bias[0])) if weight.shape[1] == 1 else (weight, bias)
        return FitResult(
            weight=weight,
            bias=bias,
            history={key: list(values) for key, values in self.history_.items()},
            path=self._fit_path,
            params=dict(self._fit_params),
            feature_names=None if names is None else tuple(str(name) for name in names),
        )


def _float64(X: Any) -> Any:
    """Return ``X`` in float64: a numpy array, or a ``scipy.sparse`` matrix kept sparse."""
    return X.astype(np.float64) if is_sparse(X) else np.asarray(X, dtype=np.float64)


# inspect.signature(LinearRegressor) reads __new__'s (*args, **params) otherwise; scikit-learn's checks call the
# class with the names of its signature: show __init__'s.
LinearRegressor.__signature__ = inspect.signature(LinearRegressor.__init__).replace(
    parameters=list(inspect.signature(LinearRegressor.__init__).parameters.values())[1:]
)
