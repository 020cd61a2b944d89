"""A scikit-learn estimator over :func:`gluonlr.fit`: pipelines, grid search, cross-validation, ``partial_fit``.

``pip install "gluonlr[sklearn]"`` installs scikit-learn (1.6 or later) with gluonlr; ``import gluonlr`` alone
never imports it.
"""

from __future__ import annotations

import copy
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
from gluonlr.data.prepare import resolve_dtype
from gluonlr.errors import ConvergenceWarning
from gluonlr.fit import fit as gluonlr_fit
from gluonlr.options import OPTIONS, resolve_batch_size
from gluonlr.result import FitResult
from gluonlr.schedules import Schedule, make_schedule

__all__ = ["EXCLUDED_OPTIONS", "LinearRegressor"]

#: The options of :func:`gluonlr.fit` that are no constructor parameters of :class:`LinearRegressor`, and why
#: (from the table of options, :data:`gluonlr.options.OPTIONS`).
EXCLUDED_OPTIONS: dict[str, str] = {
    name: option.not_on["estimator"] for name, option in OPTIONS.items() if not option.on("estimator")
}


class _TrainingState(Callback):
    """Carries the optimizer's state from one :func:`gluonlr.fit` to the next: what ``partial_fit`` continues.

    Before training it puts back ``state`` (a learner's ``get_state()``:
    parameters, momentum or Adam's moments, the update count); after training
    it keeps the final state in :attr:`state`, as numpy arrays.
    """

    def __init__(self, state: dict[str, np.ndarray] | None = None) -> None:
        self.state = state

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        """Restore the state of the previous fit, if any."""
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


class LinearRegressor(RegressorMixin, BaseEstimator):
    r"""Linear regression by mini-batch gradient descent on MXNet, as a scikit-learn estimator.

    A thin estimator over :func:`gluonlr.fit`: each constructor parameter is the
    option of ``fit`` of the same name, with the same default (so
    ``LinearRegressor().fit(X, y)`` is ``gluonlr.fit(X, y)``, the article's
    run), and ``fit`` trains on either path. Named ``LinearRegressor``, like
    scikit-learn's ``SGDRegressor``, for a model fitted iteratively:
    scikit-learn's ``LinearRegression`` is the closed-form solution.

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
    reduction : {"sum", "mean"}, default="sum"
    lr : float or "auto", default=0.01
    standardize : bool, default=False
        Standardize the features inside :meth:`fit` (the model's ``coef_`` and
        ``intercept_`` stay in the units of ``X``): no ``StandardScaler`` needed.
        :meth:`partial_fit` refuses it: each call sees one chunk, whose mean and
        standard deviation would change the features the model trains on.
    standardize_target : bool, default=False
        Train on ``y`` standardized (``coef_`` and ``intercept_`` stay in its
        units); ``history_``'s losses are of the standardized target.
    batch_size : int or "auto", default=10
    epochs : int, default=10
        Epochs of :meth:`fit` (scikit-learn's ``max_iter``); the epochs a
        learning-rate schedule spans in :meth:`partial_fit`.
    tol : float, optional
        Stop when the loss stops improving by ``tol`` (scikit-learn's ``tol``);
        a fit that reaches ``epochs`` first warns with scikit-learn's
        ``ConvergenceWarning``. None trains every epoch.
    n_iter_no_change : int, default=5
    seed : int, default=0
        Seeds the initial weights and the shuffles (scikit-learn's
        ``random_state``, under ``fit``'s name). An int only: a fit is
        reproducible bitwise.
    init : {"normal", "zeros"}, default="normal"
        The initial weights when ``coef_init`` is not given.
    optimizer : {"sgd", "adam"}, default="sgd"
    momentum : float, default=0.0
    nesterov : bool, default=False
    beta1, beta2, epsilon : float, default=0.9, 0.999, 1e-8
    weight_decay : float, default=0.0
    lr_schedule : {None, "constant", "step", "cosine"} or Schedule, default=None
    dtype : {"float32", "float64", "auto"}, default="float32"
        The model's dtype: ``X`` and ``y`` are converted to it, ``coef_`` and
        ``intercept_`` are in it. ``"auto"`` keeps float64 input in float64
        (scikit-learn's estimators compute in float64) and trains other input
        in float32.
    validation_split : float, default=0.0
        Ignored by :meth:`partial_fit`, as early stopping.
    metrics : tuple of str, default=()
        Recorded in ``history_``.
    early_stopping : bool or EarlyStopping, default=False
        An :class:`~gluonlr.callbacks.EarlyStopping` given is copied for each
        fit, never changed.
    verbose : {"auto", 0, 1}, default="auto"
    ctx : Context, str or list of Context, optional
    kvstore : {None, "device", "local", "dist_sync", "dist_sync_device"}, optional
        By name: an ``mx.kv.KVStore`` object is a live MXNet handle, which
        ``clone`` and pickling cannot copy.

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
    >>> model = make_pipeline(StandardScaler(), LinearRegressor(lr=0.05, reduction="mean", epochs=30))
    >>> round(model.fit(X, y).score(X, y), 4)
    1.0
    """

    coef_: np.ndarray
    intercept_: float | np.ndarray
    n_features_in_: int
    history_: dict[str, list[float]]
    n_iter_: int
    t_: int
    _state: dict[str, np.ndarray]  # the learner's state after the last fit: what partial_fit continues
    _targets_2d: bool  # fitted on a 2-D y
    _fit_path: str | None
    _fit_params: dict[str, Any]

    def __init__(
        self,
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
        init: str = "normal",
        optimizer: str = "sgd",
        momentum: float = 0.0,
        nesterov: bool = False,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
        weight_decay: float = 0.0,
        lr_schedule: str | Schedule | None = None,
        dtype: str = "float32",
        validation_split: float = 0.0,
        metrics: tuple[str, ...] = (),
        early_stopping: Any = False,
        verbose: int | str = "auto",
        ctx: Any = None,
        kvstore: Any = None,
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
        self.init = init
        self.optimizer = optimizer
        self.momentum = momentum
        self.nesterov = nesterov
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.dtype = dtype
        self.validation_split = validation_split
        self.metrics = metrics
        self.early_stopping = early_stopping
        self.verbose = verbose
        self.ctx = ctx
        self.kvstore = kvstore

    def __sklearn_tags__(self) -> Any:
        """Declare what the estimator takes: several targets (a 2-D ``y``), no sparse input, no NaN."""
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _fit_options(self) -> dict[str, Any]:
        """Return the constructor parameters as :func:`gluonlr.fit`'s options: every one has fit's name."""
        options = self.get_params(deep=False)
        options["early_stopping"] = copy.deepcopy(self.early_stopping)  # fit changes an EarlyStopping's state
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
            X, y = validate_data(self, X, y, dtype=dtype, multi_output=True, y_numeric=True, reset=True)
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
        epoch does. ``validation_split`` and ``early_stopping`` are ignored.

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
        >>> model = LinearRegressor(momentum=0.5)
        >>> for chunk in range(3):
        ...     model = model.partial_fit(X[100 * chunk : 100 * (chunk + 1)], y[100 * chunk : 100 * (chunk + 1)])
        >>> model.n_iter_, model.t_, model.coef_.round(1).tolist()
        (3, 30, [2.0, 51.0])
        """
        if self.standardize:
            raise ValueError(
                "partial_fit cannot standardize=True: each call sees one chunk of the data, whose mean and standard "
                "deviation would change the features the model trains on from call to call. Standardize the data "
                "beforehand (StandardScaler().partial_fit over the chunks, then transform each), or use fit."
            )
        first = not hasattr(self, "coef_")
        with _unchanged_on_error(self):
            # A fitted model keeps its dtype: the first call's ("auto": of its data)
            dtype = self._dtype(X, y) if first else str(self.coef_.dtype)
            X, y = validate_data(self, X, y, dtype=dtype, multi_output=True, y_numeric=True, reset=first)
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
            state, history = self._state, self.history_
            self._train(X, y, sample_weight, self.coef_.T, self.intercept_, state, options)
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
    ) -> None:
        """Run :func:`gluonlr.fit` from ``state`` (or none) and set the fitted attributes from its result."""
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
        weight = result.weight.reshape(len(result.weight), -1).T if targets_2d else result.weight
        self.coef_ = weight.copy()
        bias = np.asarray(result.bias, dtype=result.dtype).reshape(-1)
        self.intercept_ = bias if targets_2d else float(bias[0])
        self.history_ = {key: list(values) for key, values in result.history.items()}
        if "lr" in self.history_ and state is not None:  # fit counts this epoch's updates from 1; they go on
            schedule, n_batches = (
                options["lr_schedule"],
                -(-len(X) // resolve_batch_size(options["batch_size"], len(X))),
            )
            self.history_["lr"] = [schedule.lr_at(updates + 1, lr=result.lr, n_batches=n_batches, epochs=1)]
        self.n_iter_ = len(self.history_.get("loss", []))
        self.t_ = int(carried.state["updates"])
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
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        coef = np.asarray(self.coef_, dtype=np.float64)
        return host.predict(np.asarray(X, dtype=np.float64), coef.T, np.asarray(self.intercept_, dtype=np.float64))

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
