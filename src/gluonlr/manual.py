"""The article's training pieces, written by hand with raw autograd.

Each function here has a twin of the same name in :mod:`gluonlr.gluon` that
does the same job with a Gluon building block; read the two modules side by
side to see what Gluon does for you:

==================  ==========================================  ====================================
role                here (the article)                          :mod:`gluonlr.gluon`
==================  ==========================================  ====================================
parameters          ``w``, ``b`` with ``attach_grad()``          ``nn.Dense(1)`` + ``initialize()``
net                 ``nd.dot(x, w) + b``                        ``dense(x)``
loss                ``c * (yhat - y) ** 2``                     ``gluon.loss.L2Loss(weight=2 * c)``
batches             slices of the epoch's gathered rows         ``DataLoader`` + batch ``Sampler``
sgd                 ``param -= lr / d * param.grad``, fused     ``gluon.Trainer.step(d)``
==================  ==========================================  ====================================
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gluonlr._mxnet import autograd, nd
from gluonlr.conventions import LOSS_SCALE, step_divisor
from gluonlr.data import EpochData, epoch_order

__all__ = ["Learner", "batches", "init_params", "make_loss", "net", "sgd"]

LossFn = Callable[[nd.NDArray, nd.NDArray], nd.NDArray]


def init_params(weight: np.ndarray, bias: float) -> list[nd.NDArray]:
    """Create the parameters ``[w, b]`` and attach a gradient buffer to each.

    ``attach_grad`` "asks the system for space for the gradient", as the article
    puts it; ``backward`` writes into that space.

    Parameters
    ----------
    weight : ndarray of shape (n_features,)
        Initial weights.
    bias : float
        Initial bias.

    Returns
    -------
    list of NDArray
        ``w`` of shape ``(n_features, 1)`` and ``b`` of shape ``(1,)``.

    Examples
    --------
    >>> w, b = init_params(np.array([1.0, 2.0]), 0.5)
    >>> w.shape, b.asnumpy().tolist()
    ((2, 1), [0.5])
    """
    w = nd.array(np.asarray(weight, dtype=np.float32).reshape(-1, 1))
    b = nd.array([bias])
    params = [w, b]
    for param in params:
        param.attach_grad()
    return params


def net(x: nd.NDArray, w: nd.NDArray, b: nd.NDArray) -> nd.NDArray:
    """Apply the article's network, the linear model ``x . w + b``.

    Examples
    --------
    >>> w, b = init_params(np.array([2.0, 51.0]), 21.2)
    >>> print(net(nd.array([[1.0, 1.0]]), w, b).asnumpy())
    [[74.2]]
    """
    return nd.dot(x, w) + b


def make_loss(loss: str = "squared") -> LossFn:
    r"""Return the per-sample loss function named ``loss``.

    .. math:: \ell(\hat y, y) = c \, (\hat y - y)^2

    with ``c = 1`` for ``"squared"`` (the article's ``square_loss``) and
    ``c = 1/2`` for ``"l2"`` (Gluon's ``L2Loss``); see
    :data:`gluonlr.conventions.LOSS_SCALE`.

    Examples
    --------
    >>> make_loss("squared")(nd.array([[3.0]]), nd.array([1.0])).asnumpy().tolist()
    [[4.0]]
    >>> make_loss("l2")(nd.array([[3.0]]), nd.array([1.0])).asnumpy().tolist()
    [[2.0]]
    """
    scale = LOSS_SCALE[loss]

    def loss_fn(yhat: nd.NDArray, y: nd.NDArray) -> nd.NDArray:
        # A y of shape (n,) is reshaped to yhat's (n, 1), so that (n, 1) - (n,)
        # cannot broadcast to (n, n); batches already come as (n, 1).
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        squared = nd.square(yhat - y)
        return squared if scale == 1.0 else scale * squared

    loss_fn.__name__ = f"{loss}_loss"
    return loss_fn


def batches(data: EpochData, order: np.ndarray) -> list[tuple[nd.NDArray, nd.NDArray]]:
    """Return the mini-batches of one epoch in the given sample order.

    The epoch's rows are gathered once into the device buffer of ``data`` (see
    :class:`gluonlr.data.EpochData`); each batch is a slice, a view, of it. No
    per-batch gather and no second copy of the data set. The last batch is
    kept even when short.

    Parameters
    ----------
    data : EpochData
        The data set and its device buffer, cut into batches of its
        ``batch_size``.
    order : ndarray of shape (n_samples,)
        This epoch's permutation, from :func:`gluonlr.data.epoch_order`.

    Returns
    -------
    list of (x, y)
        ``x`` of shape (batch, n_features), ``y`` of shape (batch, 1); valid
        until the next epoch's call.

    Examples
    --------
    >>> X = np.arange(5.0).reshape((5, 1))
    >>> [xb.asnumpy().ravel().tolist() for xb, _ in batches(EpochData(X, X[:, 0], 2), np.array([4, 3, 2, 1, 0]))]
    [[4.0, 3.0], [2.0, 1.0], [0.0]]
    """
    return data.batches(order)


def sgd(params: list[nd.NDArray], lr: float, batch_size: int, grads: list[nd.NDArray] | None = None) -> None:
    r"""Take one in-place gradient step, as the article's ``SGD(params, eta)``.

    .. math:: \theta \leftarrow \theta - \frac{\eta}{d} \nabla_\theta

    The article writes ``param[:] = param - eta * param.grad`` for each
    parameter: three operators and a copy per parameter. This is the same
    update, in place, with MXNet's fused ``multi_sgd_update`` operator, one call
    for all parameters (the kernel ``gluon.Trainer`` runs for ``"sgd"``).

    Parameters
    ----------
    params : list of NDArray
        Parameters with gradients from ``backward``; updated in place.
    lr : float
        The step size ``eta``.
    batch_size : int
        The divisor ``d`` of the summed gradient: 1 for the article's
        ``reduction="sum"``, the batch's size for ``"mean"`` (what
        ``gluon.Trainer.step(batch_size)`` does).
    grads : list of NDArray, optional
        The parameters' gradient buffers, ``[param.grad for param in params]``
        (the default). A caller stepping many times can pass them once held:
        each ``param.grad`` makes a new NDArray handle, and that costs
        a measurable share of a small step.

    Examples
    --------
    >>> w, b = init_params(np.array([0.0]), 0.0)
    >>> with autograd.record():
    ...     loss = make_loss()(net(nd.array([[1.0]]), w, b), nd.array([1.0]))
    >>> loss.backward()
    >>> sgd([w, b], lr=0.1, batch_size=1)
    >>> print(w.asnumpy(), b.asnumpy())
    [[0.2]] [0.2]
    """
    if grads is None:
        grads = [param.grad for param in params]
    weights_and_grads = [array for pair in zip(params, grads, strict=True) for array in pair]
    nd.multi_sgd_update(
        *weights_and_grads,
        lrs=[lr] * len(params),
        wds=[0.0] * len(params),
        rescale_grad=1.0 / batch_size,
        num_weights=len(params),
        out=params,
    )


class Learner:
    """The manual path, as :func:`gluonlr.fit` drives it.

    Holds the data on the device and the parameters, and offers the two things
    fit needs from a path: the batches of an epoch and one training step.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32
    y : ndarray of shape (n_samples,), float32
    weight : ndarray of shape (n_features,)
        Initial weights.
    bias : float
        Initial bias.
    loss : {"squared", "l2"}
    reduction : {"sum", "mean"}
    lr : float
    batch_size : int
    seed : int
        Seed of the batch order, see :func:`gluonlr.data.epoch_order`.
    """

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        weight: np.ndarray,
        bias: float,
        loss: str,
        reduction: str,
        lr: float,
        batch_size: int,
        seed: int,
    ) -> None:
        self.data = EpochData(X, y, batch_size)
        self.params = init_params(weight, bias)
        self.grads = [param.grad for param in self.params]  # handles held once, see sgd
        self.loss = make_loss(loss)
        self.reduction, self.lr = reduction, lr
        self.seed = seed

    def batches(self, epoch: int) -> list[tuple[nd.NDArray, nd.NDArray]]:
        """Return the mini-batches of epoch ``epoch``."""
        return batches(self.data, epoch_order(len(self.data), self.seed, epoch))

    def train_step(self, x: nd.NDArray, y: nd.NDArray) -> nd.NDArray:
        """Run forward, backward and one SGD step; return the per-sample losses."""
        w, b = self.params
        with autograd.record():
            loss = self.loss(net(x, w, b), y)
        loss.backward()
        sgd(self.params, self.lr, step_divisor(self.reduction, x.shape[0]), self.grads)
        return loss

    def parameters(self) -> tuple[np.ndarray, float]:
        """Return the current ``(weight of shape (n_features,), bias)`` as numpy."""
        w, b = self.params
        return w.asnumpy().reshape(-1), float(b.asnumpy()[0])

    def get_state(self) -> dict[str, np.ndarray]:
        """Return a copy of the training state, in Gluon's layout: ``weight`` ``(1, n_features)``, ``bias`` ``(1,)``."""
        w, b = self.params
        return {"weight": w.asnumpy().T.copy(), "bias": b.asnumpy()}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Overwrite the training state with one from :meth:`get_state` (of either path)."""
        w, b = self.params
        w[:] = nd.array(np.ascontiguousarray(state["weight"].T))
        b[:] = nd.array(state["bias"])
