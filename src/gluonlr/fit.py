"""One ``fit`` for both training paths."""

from __future__ import annotations

from dataclasses import dataclass, field
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
from gluonlr.conventions import LOSSES, REDUCTIONS

__all__ = ["PATHS", "FitResult", "fit", "initial_params"]

#: Operators MXNet's engine may group into one scheduling unit inside an epoch.
_BULK_SIZE = 64

#: The training paths by name: each a ``Learner`` class with the same interface.
PATHS: dict[str, Any] = {"manual": manual.Learner, "gluon": gluon.Learner}


@dataclass
class FitResult:
    """What :func:`fit` returns: the learned parameters and the training history.

    Attributes
    ----------
    weight : ndarray of shape (n_features,), float32
    bias : float
    history : dict of str to list of float
        ``history["loss"][e]`` is the mean per-sample training loss of epoch
        ``e``, computed on each batch before its update.
    path : {"manual", "gluon"}
        The path that trained the model.
    params : dict
        The arguments of :func:`fit` (other than the data) that produced it.
    """

    weight: np.ndarray
    bias: float
    history: dict[str, list[float]]
    path: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        """Number of features the model was fitted on."""
        return int(self.weight.shape[0])

    def predict(self, X: Any) -> np.ndarray:
        """Predict targets for ``X``: ``X @ weight + bias``, in float32.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,), float32

        Raises
        ------
        ValueError
            If ``X`` is not 2-D, is empty, holds NaN/inf or has another number
            of features than the model.

        Examples
        --------
        >>> from gluonlr import synthetic_data
        >>> result = fit(*synthetic_data())
        >>> print(result.predict([[1.0, 1.0]]).round(1))
        [74.2]
        """
        X = check_X(X, where="predict", n_features=self.n_features)
        return X @ self.weight + np.float32(self.bias)


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


def _run_epoch(learner: Any, epoch: int) -> nd.NDArray:
    """Train one epoch; return its summed per-sample loss, still on the device.

    The losses are summed on the device and nothing is read here: no
    synchronisation per batch, nor per epoch. (The next epoch's gather waits
    for this one's operators to finish reading the data, once.) ``engine.bulk``
    lets MXNet's engine schedule the epoch's many small operators in bulk.
    """
    losses = []
    with mx.engine.bulk(_BULK_SIZE):
        for x, y in learner.batches(epoch):
            losses.append(learner.train_step(x, y))
        return nd.concat(*losses, dim=0).sum()


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

    Returns
    -------
    FitResult
        ``weight``, ``bias``, ``history``, ``path`` and ``predict``.

    Raises
    ------
    ValueError
        If an argument is out of range or unknown, or ``X`` and ``y`` have
        the wrong shapes or non-finite values.
    TypeError
        If ``X`` or ``y`` are not numeric.

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

    params = dict(loss=loss, reduction=reduction, lr=lr, batch_size=batch_size, epochs=epochs, seed=seed)
    learner = PATHS[path](X, y, weight=weight, bias=bias, **{k: v for k, v in params.items() if k != "epochs"})
    totals = [_run_epoch(learner, epoch) for epoch in range(epochs)]
    # One read per epoch, all after training: the host never waits on an epoch's loss.
    history = {"loss": [float(total.asscalar()) / len(y) for total in totals]}
    weight, bias = learner.parameters()
    return FitResult(weight=weight, bias=bias, history=history, path=path, params=params)
