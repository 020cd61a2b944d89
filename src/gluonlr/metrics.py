"""Evaluation metrics, computed with ``mxnet.metric`` classes: MSE, RMSE, MAE, and R² (added here).

:func:`gluonlr.fit` evaluates them once per epoch, on the whole training set
and on the validation set, with the parameters at the end of the epoch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gluonlr._mxnet import mx, nd

__all__ = ["METRICS", "R2", "evaluate", "r2_score", "training_loss"]


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


#: The metric names :func:`gluonlr.fit` accepts, and their ``mxnet.metric`` classes.
METRICS: dict[str, type[mx.metric.EvalMetric]] = {
    "mse": mx.metric.MSE,
    "rmse": mx.metric.RMSE,
    "mae": mx.metric.MAE,
    "r2": R2,
}


def evaluate(
    learner: Any, X: nd.NDArray, y: nd.NDArray, metrics: tuple[str, ...], prefix: str = ""
) -> dict[str, float]:
    """Score ``learner``'s predictions of ``X`` against ``y``: the loss and each metric.

    Parameters
    ----------
    learner : manual.Learner or gluon.Learner
        Its ``predict`` and ``loss`` are used.
    X : NDArray of shape (n_samples, n_features)
    y : NDArray of shape (n_samples, n_outputs)
    metrics : tuple of str
        Names from :data:`METRICS`.
    prefix : str
        Put before each name, e.g. ``"val_"``.

    Returns
    -------
    dict
        ``{prefix + "loss": mean per-sample loss (unweighted), prefix + name: value, ...}``.

    Examples
    --------
    >>> from gluonlr import manual
    >>> from gluonlr.config import FitConfig
    >>> learner = manual.Learner(np.eye(2), np.array([1.0, 2.0]), FitConfig(), weight=np.ones(2), bias=0.0)
    >>> evaluate(learner, nd.array(np.eye(2)), nd.array([[1.0], [2.0]]), ("mae", "r2"), prefix="val_")
    {'val_loss': 0.5, 'val_mae': 0.5, 'val_r2': -1.0}
    """
    predictions = learner.predict(X)
    scores = {f"{prefix}loss": float(learner.loss(predictions, y).mean().asscalar())}
    for name in metrics:
        metric = METRICS[name]()
        metric.update([y], [predictions])
        scores[prefix + name] = float(metric.get()[1])
    return scores


def training_loss(learner: Any, zero_model: bool = False) -> float:
    """Return the training loss of ``learner``'s current parameters, as ``history["loss"]`` measures it.

    The per-sample losses over the whole training set, weighted by the sample
    weights if any, summed in float32 on the device and divided by the number
    of samples: one forward pass, one read. :class:`gluonlr.callbacks.DivergenceGuard`
    compares the fitted parameters' loss with the initial parameters' this way.
    With ``zero_model``, the loss of predicting 0 instead.

    Examples
    --------
    >>> from gluonlr import manual
    >>> from gluonlr.config import FitConfig
    >>> learner = manual.Learner(np.eye(2), np.array([1.0, 2.0]), FitConfig(), weight=np.ones(2), bias=0.0)
    >>> training_loss(learner)  # (1 - 1)**2 and (1 - 2)**2, averaged
    0.5
    >>> training_loss(learner, zero_model=True)  # 1**2 and 2**2, averaged
    2.5
    """
    X, y, *sample_weight = learner.data.in_order()
    predictions = nd.zeros_like(y) if zero_model else learner.predict(X)
    losses = learner.loss(predictions, y)  # as evaluate calls it: a hybridized loss keeps its call signature
    if sample_weight:
        losses = losses * sample_weight[0].reshape(-1)
    return float(losses.sum().asscalar()) / len(learner.data)
