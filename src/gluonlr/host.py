r"""The model and its per-sample loss on the host, in numpy: one definition of each.

Training computes on the device (:mod:`gluonlr.manual`, :mod:`gluonlr.gluon`);
everything that needs the model's values in numpy computes them here:

- :func:`predict`, the linear model :math:`\hat y = x w + b`: the evaluation
  passes (:mod:`gluonlr.metrics`: the metrics, the validation loss and the
  divergence guard's losses) in float32 as the device computes,
  :meth:`gluonlr.FitResult.predict` (and so ``gluonlr predict``, ``gluonlr
  evaluate`` and ``gluonlr fit``'s summary) in float32, and
  :meth:`gluonlr.sklearn.LinearRegressor.predict` in float64, as
  scikit-learn's regressors (and the true plane of
  :func:`gluonlr.plot.plot_predictions`);
- :func:`sample_losses`, each sample's loss of its residual
  :math:`r = \hat y - y`: the losses of :func:`gluonlr.manual.make_loss`
  (and Gluon's loss blocks), for the evaluation passes.

Both keep the dtype of their arguments: the arithmetic is the caller's
choice, float32 to match the device, float64 where scikit-learn's
conventions ask for it. ``gluonlr.testing``'s reference keeps its own
float64 loss and prediction on purpose: it checks this code rather than
sharing it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gluonlr.conventions import LOSS_SCALE
from gluonlr.data.sources import is_sparse

__all__ = ["predict", "sample_losses"]


def predict(
    x: np.ndarray,
    weight: np.ndarray,
    bias: float | np.floating[Any] | np.ndarray,
    out: np.ndarray | None = None,
) -> np.ndarray:
    r"""Return the linear model's predictions :math:`\hat y = x w + b`, computed with numpy.

    The product is numpy's ``matmul`` (BLAS) in the dtype of ``x`` and
    ``weight``; the bias is then added in place, in that dtype.

    Parameters
    ----------
    x : ndarray or scipy.sparse matrix of shape (n_samples, n_features)
        A sparse ``x`` is multiplied by scipy (``x @ weight``), in its dtype.
    weight : ndarray of shape (n_features,) or (n_features, n_outputs)
    bias : float or ndarray of shape () or (n_outputs,)
    out : ndarray of shape (n_samples,) or (n_samples, n_outputs), optional
        Where to write the predictions (``matmul``'s ``out``), for a caller
        that fills one array block by block.

    Returns
    -------
    ndarray of shape (n_samples,) or (n_samples, n_outputs)
        One prediction per sample for a weight of shape ``(n_features,)``,
        one column per output otherwise; ``out`` if given.

    Examples
    --------
    >>> x = np.array([[1.0, 1.0], [0.0, 2.0]], np.float32)
    >>> predict(x, np.array([2.0, 51.0], np.float32), np.float32(21.2))
    array([ 74.2, 123.2], dtype=float32)
    >>> predict(x, np.array([[2.0, 1.0], [51.0, 0.0]], np.float32), np.array([21.2, -1.0], np.float32))
    array([[ 74.2,   0. ],
           [123.2,  -1. ]], dtype=float32)
    """
    if is_sparse(x):  # a CSR block of rows (a sparse X): scipy's product, never densified
        predictions = np.asarray(x @ weight)
        if out is not None:
            out[...] = predictions
            predictions = out
    else:
        predictions = np.matmul(x, weight, out=out)
    predictions += bias
    return predictions


def sample_losses(residual: np.ndarray, loss: str, rho: float = 1.0) -> np.ndarray:
    r"""Return each sample's loss of the residuals ``residual = yhat - y``, of shape (n_samples, n_outputs).

    The losses of :func:`gluonlr.manual.make_loss` in numpy, in the residual's
    dtype: :math:`c r^2` (``"squared"``: c = 1, ``"l2"``: c = 1/2), :math:`|r|`
    (``"l1"``), Huber's (``"huber"``, threshold ``rho``), averaged over the
    outputs.

    Examples
    --------
    >>> sample_losses(np.array([[3.0], [0.5]]), "squared").tolist()
    [9.0, 0.25]
    >>> sample_losses(np.array([[3.0, -1.0]]), "l1").tolist()
    [2.0]
    >>> sample_losses(np.array([[3.0], [0.5]]), "huber", rho=1.0).tolist()
    [2.5, 0.125]
    """
    if loss == "l1":
        values = np.abs(residual)
    elif loss == "huber":
        size = np.abs(residual)
        values = np.where(size > rho, size - 0.5 * rho, (0.5 / rho) * np.square(size))
    else:
        scale = LOSS_SCALE[loss]
        values = np.square(residual) if scale == 1.0 else residual.dtype.type(scale) * np.square(residual)
    return values[:, 0] if values.shape[1] == 1 else values.mean(axis=1)
