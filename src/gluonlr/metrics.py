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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from gluonlr import host
from gluonlr._mxnet import mx, nd
from gluonlr.data.sources import chunks
from gluonlr.host import sample_losses  # also gluonlr.metrics.sample_losses, where it was first
from gluonlr.learners import Learner
from gluonlr.parallel import row_bounds
from gluonlr.scaling import _BLOCK_BYTES

if TYPE_CHECKING:
    from gluonlr.data.prepare import TargetScale

__all__ = ["METRICS", "R2", "evaluate", "evaluate_training", "r2_score", "sample_losses", "scores", "training_loss"]


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
    metrics: tuple[str, ...],
    weighted: bool = False,
    target: TargetScale | None = None,
) -> tuple[float, dict[str, float]]:
    """Return ``(summed per-sample loss, metrics)`` over chunks ``(x, y)`` or ``(x, y, w)`` of rows.

    An ``x`` of None scores predictions of 0. Computed on the host from
    ``learner``'s current parameters (:func:`_host_model`), in the model's dtype
    as the device computes; each chunk's losses summed in float64. ``weighted``
    multiplies the losses by ``w``, as training does. With a ``target``
    scale, ``y`` is the standardized target and the metrics are taken in the
    target's own units (the loss in training's).
    """
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
                totals.add(y * target.scale + target.mean, predictions * target.scale + target.mean)
            elif metrics:
                totals.add(y, predictions)
            residual = np.subtract(predictions, y, out=predictions)  # in place: a chunk's rows hold one array each
            losses = sample_losses(residual, config.loss, config.rho)
            if weighted and sample_weight and sample_weight[0] is not None:
                losses *= sample_weight[0].reshape(-1)
            loss += float(np.sum(losses, dtype=np.float64))
    workers = learner.workers
    if workers is not None:  # every worker's sums, through the servers, merged the same way by every worker
        loss, totals = _Totals.unpack(workers.gather(totals.pack(loss, learner.data.n_outputs)))
    return loss, totals.scores(metrics) if metrics else {}


def _span(learner: Learner, n: int) -> tuple[int, int] | None:
    """Return the rows of a pass over ``n`` rows that ``learner`` reads: its worker's part in a dist_sync job."""
    workers = learner.workers
    return None if workers is None else row_bounds(n, workers.num_workers)[workers.rank]


def evaluate(
    learner: Learner, X: Any, y: Any, metrics: tuple[str, ...], prefix: str = "", target: TargetScale | None = None
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
    metrics : tuple of str
        Names from :data:`METRICS`.
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
    loss, scores = _score(learner, batches, metrics, target=target)
    return {f"{prefix}loss": loss / len(X), **{prefix + name: value for name, value in scores.items()}}


def evaluate_training(
    learner: Learner, metrics: tuple[str, ...], target: TargetScale | None = None
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


def training_loss(learner: Learner, zero_model: bool = False) -> float:
    """Return the training loss of ``learner``'s current parameters, as ``history["loss"]`` measures it.

    The per-sample losses (``fit``'s ``loss``, averaged over the outputs)
    over the whole training set, weighted by the sample weights if any,
    divided by the number of samples.
    :class:`gluonlr.callbacks.DivergenceGuard` compares the fitted parameters'
    loss with the initial parameters' this way. With ``zero_model``, the loss
    of predicting 0 instead (a pass over ``y`` only).

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
    """
    # Predicting 0 reads y (and the weights) only.
    chunks = learner.data.chunks(features=not zero_model, span=_span(learner, len(learner.data)))
    return _score(learner, chunks, (), weighted=True)[0] / len(learner.data)


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
        predictions = np.empty((len(x), weight.shape[1]), dtype=dtype)
        rows = max(1, _BLOCK_BYTES // (dtype.itemsize * max(1, x.shape[1])))
        for start in range(0, len(x), rows):
            block = x[start : start + rows]
            out = predictions[start : start + rows]
            host.predict(scaler.transform(block) if scaler is not None else block, weight, bias, out=out)
        return predictions

    return predict
