"""Evaluation metrics: ``mxnet.metric``'s MSE, RMSE and MAE, and R² (added here as an ``mxnet.metric`` class).

:func:`gluonlr.fit` evaluates them once per epoch, on the whole training set
and on the validation set, with the parameters at the end of the epoch. It
reads the data in chunks of bounded size (a data set may be larger than
memory) and sums each metric's terms over the chunks in float64
(:func:`evaluate`), so the value is the ``mxnet.metric`` class's on the
whole data at once, whatever the chunks. In a ``dist_sync`` job each worker
reads its part of the rows (:func:`~gluonlr.parallel.row_bounds`), and the
workers' sums are gathered through the servers and merged, in rank order, by
every worker alike.

Besides the names of :data:`METRICS`, ``fit(metrics=...)`` takes metrics of
the user's own (:class:`UserMetric`, :func:`check_metrics`): a function
``metric(y_true, y_pred) -> float`` such as scikit-learn's, called once a pass
with all the rows, or an ``mxnet.metric.EvalMetric``, updated once a chunk.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from gluonlr import host
from gluonlr._mxnet import mx, nd
from gluonlr.data.sources import chunks, is_sparse
from gluonlr.host import sample_losses  # also gluonlr.metrics.sample_losses, where it was first
from gluonlr.learners import Learner
from gluonlr.parallel import row_bounds
from gluonlr.scaling import _BLOCK_BYTES

if TYPE_CHECKING:
    from gluonlr.data.prepare import TargetScale

__all__ = [
    "METRICS",
    "R2",
    "UserMetric",
    "check_metrics",
    "evaluate",
    "evaluate_training",
    "metric_names",
    "r2_score",
    "sample_losses",
    "scores",
    "training_loss",
]


def r2_score(y_true: Any, y_pred: Any) -> float:
    r"""Return the coefficient of determination :math:`R^2 = 1 - SS_{res} / SS_{tot}`, as scikit-learn.

    Computed in float64. With several outputs, the mean of the outputs' scores
    (scikit-learn's ``multioutput="uniform_average"``). An output with constant
    targets scores 1 if predicted exactly, else 0 (``force_finite=True``) —
    also a single sample, where scikit-learn returns NaN: a NaN in the history
    would read as divergence.

    Examples
    --------
    >>> r2_score([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    1.0
    >>> r2_score([1.0, 2.0, 3.0], [2.0, 2.0, 2.0])
    0.0
    >>> r2_score([[1.0, 0.0], [2.0, 1.0], [3.0, 2.0]], [[1.0, 0.0], [2.0, 1.0], [3.0, 1.0]])  # mean of 1 and 0.5
    0.75
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(y_true.shape)
    if y_true.ndim == 1:
        y_true, y_pred = y_true[:, None], y_pred[:, None]
    residual = np.sum((y_true - y_pred) ** 2, axis=0)
    total = np.sum((y_true - y_true.mean(axis=0)) ** 2, axis=0)
    scores = np.where(total > 0, 1.0 - residual / np.where(total > 0, total, 1.0), np.where(residual == 0, 1.0, 0.0))
    return float(np.mean(scores))


class R2(mx.metric.EvalMetric):
    """R², the coefficient of determination, as an ``mxnet.metric.EvalMetric`` (MXNet has none).

    Each ``update`` scores its batch with :func:`r2_score`; ``get`` returns the
    mean over the updates, as MXNet's ``MSE`` does.

    Examples
    --------
    >>> metric = R2()
    >>> metric.update([nd.array([1.0, 2.0, 3.0])], [nd.array([1.0, 2.0, 2.0])])
    >>> metric.get()
    ('r2', 0.5)
    """

    def __init__(self, name: str = "r2", **kwargs: Any) -> None:
        super().__init__(name, **kwargs)

    def update(self, labels: list[nd.NDArray], preds: list[nd.NDArray]) -> None:
        """Add the R² of each ``(label, pred)`` pair."""
        for label, pred in zip(labels, preds, strict=True):
            score = r2_score(label.asnumpy(), pred.asnumpy())
            self.sum_metric += score
            self.global_sum_metric += score
            self.num_inst += 1
            self.global_num_inst += 1


#: The metric names :func:`gluonlr.fit` accepts, and the ``mxnet.metric`` class that defines each.
METRICS: dict[str, type[mx.metric.EvalMetric]] = {
    "mse": mx.metric.MSE,
    "rmse": mx.metric.RMSE,
    "mae": mx.metric.MAE,
    "r2": R2,
}


#: What ``fit(metrics=[...])`` takes: a name of :data:`METRICS`, a function ``metric(y_true, y_pred) -> float``, a
#: pair ``(name, function)`` or an ``mxnet.metric.EvalMetric``.
MetricLike: TypeAlias = str | Callable[[Any, Any], Any] | tuple[str, Callable[[Any, Any], Any]] | mx.metric.EvalMetric

#: The keys of an epoch's logs that are not metrics: a metric of the user's may not take these names.
RESERVED_NAMES = ("loss", "lr")

_EXPECTED = (
    "one of 'mse', 'rmse', 'mae', 'r2', a function metric(y_true, y_pred) -> float, a (name, function) pair "
    "or an mxnet.metric.EvalMetric"
)


class UserMetric:
    """A metric of the user's for ``fit(metrics=...)``: a function or an ``mxnet.metric.EvalMetric``, with its name.

    A function ``metric(y_true, y_pred) -> float`` (scikit-learn's metric
    functions as they are) is called once a pass, after the pass, with all
    its rows: ``y_true`` and ``y_pred`` of ``y``'s shape, ``(n_samples,)`` or
    ``(n_samples, n_outputs)``, in float64 and in ``y``'s units (also with
    ``standardize_target=True``). Collecting them costs ``16 * n_samples *
    n_outputs`` bytes for the pass, whatever the chunks. An
    ``EvalMetric`` is reset before each pass and updated once a chunk of
    :func:`~gluonlr.data.chunk_rows` rows (``update([y_true], [y_pred])``,
    float64 ``NDArray``), so it keeps no rows: its value is what its
    ``get()`` makes of the updates. (MXNet's ``MSE``, ``RMSE`` and ``MAE``
    average the chunks' values: with a pass of one chunk, 16 MiB of ``X``,
    they equal the names ``"mse"``, ``"rmse"`` and ``"mae"``.)

    Build it with :func:`check_metrics`, which names it and checks the name.

    Examples
    --------
    >>> def max_error(y_true, y_pred):
    ...     return float(np.max(np.abs(y_true - y_pred)))
    >>> metric = UserMetric("max_error", max_error)
    >>> metric.score(np.array([1.0, 2.0]), np.array([1.5, 2.0]), "the training rows")
    0.5
    """

    def __init__(self, name: str, metric: Callable[[np.ndarray, np.ndarray], Any] | mx.metric.EvalMetric) -> None:
        self.name: str = name
        self.metric: Any = metric  # a function or an EvalMetric

    @property
    def needs_all_rows(self) -> bool:
        """Whether the metric is a function, called with all the rows (an ``EvalMetric`` is updated by chunks)."""
        return not isinstance(self.metric, mx.metric.EvalMetric)

    def __repr__(self) -> str:
        return f"UserMetric({self.name!r}, {self.metric!r})"

    def score(self, y_true: np.ndarray, y_pred: np.ndarray, rows: str) -> float:
        """Return the function's value on all the ``rows`` (a phrase for the errors, e.g. ``"the training rows"``)."""
        if not np.isfinite(y_pred).all():  # training diverged: the divergence guard reports it, not the metric
            return math.nan
        assert not isinstance(self.metric, mx.metric.EvalMetric)
        return self.check_value(self.metric(y_true, y_pred), rows)

    def check_value(self, value: Any, rows: str) -> float:
        """Return ``value`` as a float if it is one finite real number, else raise naming the metric and the value."""
        shown = value.item() if isinstance(value, np.generic) else value  # numpy 2's repr: np.float32(inf)
        what = f"The metric {self.name!r} returned {shown!r} on {rows}"
        array = np.asarray(value) if isinstance(value, numbers.Real | np.ndarray | np.generic) else None
        if array is None or array.dtype.kind not in "fiu" or array.size != 1:
            shape = f" (an array of shape {array.shape})" if array is not None and array.size != 1 else ""
            raise TypeError(f"{what}{shape}; a metric must return one real number, e.g. a float.")
        number = float(array.reshape(()))
        if not math.isfinite(number):
            raise ValueError(
                f"{what}, whose predictions are all finite; a metric must return a finite number. (It is not "
                "called on the NaN or infinite predictions of a diverged model.)"
            )
        return number


def _named(metric: Any) -> UserMetric:
    """Return a metric of the user's named: a ``(name, metric)`` pair, an ``EvalMetric`` or a named function."""
    if isinstance(metric, tuple):
        if len(metric) != 2 or not isinstance(metric[0], str) or not callable(metric[1]):
            raise TypeError(
                f"The 'metrics' parameter of fit takes a pair (name, function) with a str name and a callable. "
                f"Got {metric!r}."
            )
        return UserMetric(*metric)
    if isinstance(metric, mx.metric.EvalMetric):
        return UserMetric(str(metric.name), metric)
    name = getattr(metric, "__name__", None)
    if not isinstance(name, str) or name == "<lambda>":
        raise TypeError(
            f"The 'metrics' parameter of fit names a function by its __name__, and {metric!r} has "
            f"{'none' if name is None else repr(name)}: pass a pair (name, function), e.g. "
            "metrics=[('max_error', function)]."
        )
    return UserMetric(name, metric)


def check_metrics(metrics: Any, where: str = "fit") -> tuple[str | UserMetric, ...]:
    """Return ``fit(metrics=...)`` checked: names of :data:`METRICS` and :class:`UserMetric`, in order.

    Each item is a name of :data:`METRICS`; a function ``metric(y_true,
    y_pred) -> float`` named by its ``__name__``; a pair ``(name, function)``;
    or an ``mxnet.metric.EvalMetric`` named by its ``name``. A name repeated
    among the four names counts once; a metric of the user's may take no name
    already taken, nor ``"loss"``, ``"lr"`` or one starting with ``"val_"``
    (the epoch's logs hold ``name`` and ``"val_" + name``).

    Examples
    --------
    >>> from sklearn.metrics import explained_variance_score
    >>> check_metrics(["r2", explained_variance_score, ("max", lambda t, p: 0.0), mx.metric.MAE(name="mx_mae")])
    ... # doctest: +ELLIPSIS
    ('r2', UserMetric('explained_variance_score', <function ...>), UserMetric('max', ...), UserMetric('mx_mae', ...))
    >>> check_metrics([("loss", np.mean)])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: The 'metrics' parameter of fit names a metric 'loss', which the epoch's logs already hold; ...
    """
    if isinstance(metrics, str) or not isinstance(metrics, Sequence):
        raise TypeError(
            f"The 'metrics' parameter of {where} must be a list of metric names, e.g. ['mse', 'r2'], or of metric "
            f"functions. Got {metrics!r}."
        )
    checked: list[str | UserMetric] = []
    names: set[str] = set()
    for metric in metrics:
        if isinstance(metric, str):
            if metric not in METRICS:
                raise ValueError(f"The 'metrics' parameter of {where} must be {_EXPECTED}. Got {metric!r} instead.")
            if metric not in names:
                checked.append(metric)
                names.add(metric)
            continue
        if not (isinstance(metric, tuple | mx.metric.EvalMetric) or callable(metric)):
            raise TypeError(f"The 'metrics' parameter of {where} must be {_EXPECTED}. Got {metric!r} instead.")
        user = _named(metric)
        if user.name in names:
            raise ValueError(
                f"The 'metrics' parameter of {where} names the metric {user.name!r} twice; give the metric of your "
                f"own another name: a pair (name, metric), e.g. ({user.name + '_2'!r}, metric)."
            )
        if user.name in RESERVED_NAMES or user.name.startswith("val_") or not user.name:
            raise ValueError(
                f"The 'metrics' parameter of {where} names a metric {user.name!r}, which the epoch's logs already "
                f"hold; the names 'loss', 'lr' and those starting with 'val_' (the validation rows' values) are "
                f"taken. Pass a pair (name, metric) with another name."
            )
        checked.append(user)
        names.add(user.name)
    return tuple(checked)


def metric_names(metrics: Iterable[str | UserMetric]) -> tuple[str, ...]:
    """Return the names of checked metrics (:func:`check_metrics`): the keys they take in the epoch's logs.

    Examples
    --------
    >>> metric_names(check_metrics(["mse", ("mean_error", np.mean)]))
    ('mse', 'mean_error')
    """
    return tuple(metric if isinstance(metric, str) else metric.name for metric in metrics)


class _Collected:
    """What a pass gives the metrics of the user's: each EvalMetric's updates, and all rows if a function needs them."""

    def __init__(self, metrics: tuple[UserMetric, ...]) -> None:
        self.metrics = metrics
        self.keep_rows = any(metric.needs_all_rows for metric in metrics)
        self.y: list[np.ndarray] = []
        self.predictions: list[np.ndarray] = []
        self.finite = True  # whether every prediction of the pass is finite
        for metric in metrics:
            if not metric.needs_all_rows:
                metric.metric.reset()

    def add(self, y: np.ndarray, predictions: np.ndarray) -> None:
        """Add a chunk: ``y`` and ``predictions`` of shape ``(rows, n_outputs)``, in y's units."""
        y, predictions = y.astype(np.float64), predictions.astype(np.float64)  # copies: the caller reuses its arrays
        if y.shape[1] == 1:  # fit's y of one output is 1-D (a column y is taken as y[:, 0])
            y, predictions = y[:, 0], predictions[:, 0]
        self.finite = self.finite and bool(np.isfinite(predictions).all())
        for metric in self.metrics:
            if not metric.needs_all_rows:
                metric.metric.update([nd.array(y, dtype=np.float64)], [nd.array(predictions, dtype=np.float64)])
        if self.keep_rows:
            self.y.append(y)
            self.predictions.append(predictions)

    def scores(self, rows: str) -> dict[str, float]:
        """Return each metric's value over the pass (``rows`` says which, for the errors)."""
        values = {}
        y = np.concatenate(self.y) if self.y else None
        predictions = np.concatenate(self.predictions) if self.predictions else None
        self.y, self.predictions = [], []
        for metric in self.metrics:
            if metric.needs_all_rows:
                assert y is not None and predictions is not None
                values[metric.name] = metric.score(y, predictions, rows)
            elif self.finite:
                values[metric.name] = metric.check_value(metric.metric.get()[1], rows)
            else:  # training diverged: the divergence guard reports it, not the metric
                values[metric.name] = math.nan
        return values


class _Totals:
    """Sums over chunks of rows, in float64: exact whatever the chunks, so any chunking gives the same scores."""

    def __init__(self) -> None:
        self.n, self.loss = 0, 0.0
        self.squared: np.ndarray | float = 0.0  # per output: sum of squared residuals
        self.absolute = 0.0
        self.mean: np.ndarray | float = 0.0  # per output: mean and sum of squared deviations of y (Chan et al.)
        self.deviations: np.ndarray | float = 0.0

    def add(self, y: np.ndarray, predictions: np.ndarray) -> None:
        y, residual = y.astype(np.float64), predictions.astype(np.float64) - y
        mean = y.mean(axis=0)
        squared, absolute = (residual**2).sum(axis=0), float(np.abs(residual).sum())
        self.merge(len(y), mean, ((y - mean) ** 2).sum(axis=0), squared, absolute)

    def merge(self, count: int, mean: Any, deviations: Any, squared: Any, absolute: float) -> None:
        """Add the sums of ``count`` more rows: their mean and squared deviations of ``y``, residual sums."""
        if count == 0:
            return
        n = self.n + count
        delta = mean - self.mean
        self.deviations = self.deviations + deviations + delta**2 * self.n * count / n
        self.mean = self.mean + delta * count / n
        self.squared = self.squared + squared
        self.absolute += absolute
        self.n = n

    def pack(self, loss: float, n_outputs: int) -> np.ndarray:
        """Return ``[n, loss, absolute, squared..., mean..., deviations...]`` as float64, for :meth:`unpack`."""
        per_output = [np.broadcast_to(np.asarray(part, dtype=np.float64), (n_outputs,)) for part in self._parts()]
        return np.concatenate([[self.n, loss, self.absolute], *per_output])

    def _parts(self) -> tuple[Any, Any, Any]:
        return self.squared, self.mean, self.deviations

    @classmethod
    def unpack(cls, rows: np.ndarray) -> tuple[float, _Totals]:
        """Merge packed totals, one row each (in row order), into ``(summed loss, totals)``."""
        totals, loss, k = cls(), 0.0, (rows.shape[1] - 3) // 3
        for row in rows:
            squared, mean, deviations = row[3 : 3 + k], row[3 + k : 3 + 2 * k], row[3 + 2 * k :]
            loss += float(row[1])
            totals.merge(int(row[0]), mean, deviations, squared, float(row[2]))
        return loss, totals

    def scores(self, metrics: tuple[str, ...]) -> dict[str, float]:
        squared, total = np.atleast_1d(self.squared), np.atleast_1d(self.deviations)
        mse = float(squared.sum()) / squared.size / self.n
        r2 = np.where(total > 0, 1.0 - squared / np.where(total > 0, total, 1.0), np.where(squared == 0, 1.0, 0.0))
        values = {"mse": mse, "rmse": float(np.sqrt(mse)), "mae": self.absolute / squared.size / self.n}
        values["r2"] = float(np.mean(r2))
        return {name: values[name] for name in metrics}


def scores(y_true: Any, y_pred: Any, metrics: Iterable[str] = tuple(METRICS)) -> dict[str, float]:
    """Return each metric of the predictions ``y_pred`` of ``y_true``, over all the rows: ``{name: value}``.

    The values of the ``mxnet.metric`` classes of :data:`METRICS` given all the rows at once (MSE, RMSE and
    MAE over every output, R² as :func:`r2_score`), summed in float64 over chunks of rows, so a memmap ``y_true``
    is read a chunk at a time. This is what ``gluonlr evaluate`` prints.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
    y_pred : array-like of the same shape
    metrics : iterable of str, default=all of METRICS
        Names from :data:`METRICS`.

    Examples
    --------
    >>> scores([1.0, 2.0, 3.0], [1.0, 2.0, 2.0])  # doctest: +ELLIPSIS
    {'mse': 0.333..., 'rmse': 0.577..., 'mae': 0.333..., 'r2': 0.5}
    """
    names = tuple(metrics)
    for name in names:
        if name not in METRICS:
            raise ValueError(f"Unknown metric {name!r}; the metrics are {', '.join(map(repr, METRICS))}.")
    y_true = y_true if isinstance(y_true, np.ndarray) else np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred)
    if y_pred.shape != y_true.shape:
        raise ValueError(f"y_true has shape {y_true.shape} and y_pred {y_pred.shape}; they must be the same.")
    totals = _Totals()
    for _, (y, predictions) in chunks(y_true, y_pred):
        totals.add(y.reshape(len(y), -1), predictions.reshape(len(predictions), -1))
    return totals.scores(names)


def _score(
    learner: Learner,
    batches: Iterable[tuple[np.ndarray | None, ...]],
    metrics: Sequence[str | UserMetric],
    weighted: bool = False,
    target: TargetScale | None = None,
    rows: str = "the training rows",
) -> tuple[float, dict[str, float]]:
    """Return ``(summed per-sample loss, metrics)`` over chunks ``(x, y)`` or ``(x, y, w)`` of rows.

    An ``x`` of None scores predictions of 0. Computed on the host from
    ``learner``'s current parameters (:func:`_host_model`), in the model's dtype
    as the device computes; each chunk's losses summed in float64. ``weighted``
    multiplies the losses by ``w``, as training does. With a ``target``
    scale, ``y`` is the standardized target and the metrics are taken in the
    target's own units (the loss in training's). The metrics of the user's
    (:class:`UserMetric`) see the chunks in those units too; ``rows`` names
    the rows in their errors.
    """
    names = tuple(metric for metric in metrics if isinstance(metric, str))
    users = tuple(metric for metric in metrics if isinstance(metric, UserMetric))
    if users and learner.workers is not None:  # fit's check refuses them; a learner built by hand may not
        raise ValueError(
            f"The metrics of your own ({', '.join(metric_names(users))}) cannot be computed in a dist_sync job: "
            "each worker holds a part of the rows. Use the names 'mse', 'rmse', 'mae', 'r2'."
        )
    collected = _Collected(users) if users else None
    predict, config, totals, loss = None, learner.config, _Totals(), 0.0
    for x, y, *sample_weight in batches:  # in a dist_sync job: this worker's part of the rows
        assert y is not None
        y = y.reshape(len(y), -1)
        # Overflow to infinity, and NaN, are results here, as on the device: the divergence guard reports them.
        with np.errstate(over="ignore", invalid="ignore"):
            if x is not None:
                predict = predict or _host_model(learner)  # the parameters, read once a pass
                predictions = predict(x)
            else:
                predictions = np.zeros_like(y)
            if metrics and target is not None:  # y * scale + mean, per output, in float64
                y_units, predictions_units = y * target.scale + target.mean, predictions * target.scale + target.mean
            else:
                y_units, predictions_units = y, predictions
            if names:
                totals.add(y_units, predictions_units)
            if collected is not None:
                collected.add(y_units, predictions_units)
            residual = np.subtract(predictions, y, out=predictions)  # in place: a chunk's rows hold one array each
            losses = sample_losses(residual, config.loss, config.rho)
            if weighted and sample_weight and sample_weight[0] is not None:
                losses *= sample_weight[0].reshape(-1)
            loss += float(np.sum(losses, dtype=np.float64))
    workers = learner.workers
    if workers is not None:  # every worker's sums, through the servers, merged the same way by every worker
        loss, totals = _Totals.unpack(workers.gather(totals.pack(loss, learner.data.n_outputs)))
    values = totals.scores(names) if names else {}
    if collected is not None:
        values.update(collected.scores(rows))
    return loss, {name: values[name] for name in metric_names(metrics)}  # in the order given


def _span(learner: Learner, n: int) -> tuple[int, int] | None:
    """Return the rows of a pass over ``n`` rows that ``learner`` reads: its worker's part in a dist_sync job."""
    workers = learner.workers
    return None if workers is None else row_bounds(n, workers.num_workers)[workers.rank]


def evaluate(
    learner: Learner,
    X: Any,
    y: Any,
    metrics: Sequence[str | UserMetric],
    prefix: str = "",
    target: TargetScale | None = None,
) -> dict[str, float]:
    """Score ``learner``'s predictions of ``X`` against ``y``: the loss and each metric.

    ``X`` and ``y`` are read in chunks of :func:`~gluonlr.data.chunk_rows`
    rows (16 MiB of ``X``): a pass over a data set larger than memory keeps
    its memory bounded. The metrics are those of ``mxnet.metric`` (``MSE``,
    ``RMSE``, ``MAE``, over every output) and R² as :func:`r2_score`, summed
    over the chunks in float64, so they do not depend on the chunking.

    The predictions and losses are computed on the host with numpy, from the
    parameters (read from the device once) in the model's dtype as the device computes
    them (:func:`gluonlr.host.predict`, :func:`~gluonlr.host.sample_losses`):
    on a CPU a pass on the device costs three to four times as much, MXNet's
    product of a many-column ``X`` by one column being several times slower
    than numpy's (see the benchmarks). A standardized model's rows are
    standardized first, as in training: its parameters in the units of ``X``
    would lose precision where a feature's mean is large against its spread.

    Parameters
    ----------
    learner : Learner
        Its current parameters, and its ``config``'s loss.
    X : ndarray or Source of shape (n_samples, n_features), float32
    y : ndarray or Source of shape (n_samples,) or (n_samples, n_outputs), float32
    metrics : sequence of str or UserMetric
        Names from :data:`METRICS`, and metrics of the user's (:func:`check_metrics`).
    prefix : str
        Put before each name, e.g. ``"val_"``.
    target : TargetScale, optional
        With ``fit(standardize_target=True)``: ``y`` is the standardized
        target, and the metrics are computed in the target's own units (the
        loss stays in the units training minimizes).

    Returns
    -------
    dict
        ``{prefix + "loss": mean per-sample loss (unweighted), prefix + name: value, ...}``.

    Examples
    --------
    >>> from gluonlr.learners import ManualLearner
    >>> from gluonlr.config import FitConfig
    >>> learner = ManualLearner(np.eye(2), np.array([1.0, 2.0]), FitConfig(), weight=np.ones(2), bias=0.0)
    >>> evaluate(learner, np.eye(2, dtype=np.float32), np.array([1.0, 2.0], np.float32), ("mae", "r2"), prefix="v_")
    {'v_loss': 0.5, 'v_mae': 0.5, 'v_r2': -1.0}
    """
    batches = (arrays for _, arrays in chunks(X, y, span=_span(learner, len(X))))
    rows = "the validation rows" if prefix == "val_" else "the rows evaluated"
    loss, scores = _score(learner, batches, metrics, target=target, rows=rows)
    return {f"{prefix}loss": loss / len(X), **{prefix + name: value for name, value in scores.items()}}


def evaluate_training(
    learner: Learner, metrics: Sequence[str | UserMetric], target: TargetScale | None = None
) -> dict[str, float]:
    """Score ``learner`` on its own training data, as :func:`evaluate` (the metrics only, not the loss).

    Examples
    --------
    >>> from gluonlr.learners import ManualLearner
    >>> from gluonlr.config import FitConfig
    >>> learner = ManualLearner(np.eye(2), np.array([1.0, 2.0]), FitConfig(), weight=np.ones(2), bias=0.0)
    >>> evaluate_training(learner, ("mse", "mae"))
    {'mse': 0.5, 'mae': 0.5}
    """
    return _score(learner, learner.data.chunks(span=_span(learner, len(learner.data))), metrics, target=target)[1]


def training_loss(learner: Learner, zero_model: bool = False, mean_model: bool = False) -> float:
    """Return the training loss of ``learner``'s current parameters, as ``history["loss"]`` measures it.

    The per-sample losses (``fit``'s ``loss``, averaged over the outputs)
    over the whole training set, weighted by the sample weights if any,
    divided by the number of samples.
    :class:`gluonlr.callbacks.DivergenceGuard` compares the fitted parameters'
    loss with the initial parameters' and with the mean's this way. With
    ``zero_model``, the loss of predicting 0 instead (a pass over ``y`` only);
    with ``mean_model``, of predicting the (sample-weighted) mean of each
    output of ``y``, the best constant for the squared loss (two passes over
    ``y``: its mean, then the losses).

    One pass over the training data, one chunk of
    :func:`~gluonlr.data.chunk_rows` rows at a time, on the host as
    :func:`evaluate` computes.

    Examples
    --------
    >>> from gluonlr.learners import ManualLearner
    >>> from gluonlr.config import FitConfig
    >>> learner = ManualLearner(np.eye(2), np.array([1.0, 2.0]), FitConfig(), weight=np.ones(2), bias=0.0)
    >>> training_loss(learner)  # (1 - 1)**2 and (1 - 2)**2, averaged
    0.5
    >>> training_loss(learner, zero_model=True)  # 1**2 and 2**2, averaged
    2.5
    >>> training_loss(learner, mean_model=True)  # (1.5 - 1)**2 and (1.5 - 2)**2, averaged
    0.25
    """
    # Predicting 0 (or the mean) reads y (and the weights) only.
    span = _span(learner, len(learner.data))
    chunks: Iterable[tuple[np.ndarray | None, ...]] = learner.data.chunks(features=not zero_model, span=span)
    if mean_model:
        mean = _mean_of_y(learner, span)
        chunks = _centred(learner.data.chunks(features=False, span=span), mean)
    return _score(learner, chunks, (), weighted=True)[0] / len(learner.data)


def _centred(chunks: Iterable[tuple[np.ndarray | None, ...]], mean: np.ndarray) -> Iterator[tuple[Any, ...]]:
    """Yield chunks ``(None, y - mean, ...)``: predicting the mean is scoring 0 against ``y - mean``.

    An infinite ``y`` (``check_input=False``) makes ``inf - inf``: a NaN loss, a result the divergence guard
    reports, not a warning.
    """
    for _, y, *rest in chunks:
        with np.errstate(invalid="ignore", over="ignore"):
            yield (None, y - mean, *rest)


def _mean_of_y(learner: Learner, span: tuple[int, int] | None) -> np.ndarray:
    """Return the sample-weighted mean of each output of the training ``y``, in float64 (every worker's rows)."""
    totals = np.zeros(1 + learner.data.n_outputs)  # the weights' sum, then each output's weighted sum
    for _, y, *weights in learner.data.chunks(features=False, span=span):
        assert y is not None
        y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        w = np.ones((len(y), 1)) if not weights or weights[0] is None else np.asarray(weights[0], np.float64)
        w = w.reshape(len(y), 1)
        totals += np.concatenate([[w.sum()], (w * y).sum(axis=0)])
    workers = learner.workers
    if workers is not None:  # the sums over every worker's rows
        totals = workers.gather(totals).sum(axis=0)
    return totals[1:] / totals[0] if totals[0] > 0 else np.zeros(learner.data.n_outputs)


def _host_model(learner: Learner) -> Callable[[np.ndarray], np.ndarray]:
    """Return ``predict(x)`` on the host: :func:`gluonlr.host.predict` in the model's dtype, ``learner``'s parameters.

    A standardized model standardizes ``x`` first. The predictions are written
    block by block into one array: the temporaries are at most 1 MiB of rows
    (the block :class:`~gluonlr.scaling.Standardized` predicts by), whatever
    the chunk.
    """
    weight, bias = learner.trained_parameters()  # a standardized model's: those of the standardized features
    dtype = np.dtype(learner.config.dtype)  # float32 (the article's) or float64, as the device computes
    weight = np.asarray(weight, dtype=dtype)
    weight = weight.reshape(len(weight), -1)
    bias = np.asarray(bias, dtype=dtype).reshape(-1)
    scaler = learner.scaler  # a standardized model's (gluonlr.scaling.Standardized)

    def predict(x: np.ndarray) -> np.ndarray:
        predictions = np.empty((x.shape[0], weight.shape[1]), dtype=dtype)
        # A sparse chunk (of a sparse X) in one block: its product makes no temporary of its dense rows.
        rows = x.shape[0] if is_sparse(x) else max(1, _BLOCK_BYTES // (dtype.itemsize * max(1, x.shape[1])))
        for start in range(0, x.shape[0], rows):
            block = x[start : start + rows]
            out = predictions[start : start + rows]
            host.predict(scaler.transform(block) if scaler is not None else block, weight, bias, out=out)
        return predictions

    return predict
