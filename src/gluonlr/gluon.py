"""The article's training pieces, built from Gluon's blocks.

The twin of :mod:`gluonlr.manual`: every function here has the same name and
role as a hand-written one there, and :class:`Learner` drives them the same way.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from gluonlr._mxnet import autograd, gluon, nd
from gluonlr.conventions import LOSS_SCALE, step_divisor
from gluonlr.data import epoch_order

__all__ = ["EpochSampler", "Learner", "batches", "init_params", "make_loss", "net", "sgd"]


def init_params(weight: np.ndarray, bias: float) -> gluon.nn.Dense:
    """Create a ``Dense(1)`` layer holding the given initial parameters.

    Gluon stores the weight as ``(1, n_features)``, the transpose of the
    manual path's ``(n_features, 1)``.

    Examples
    --------
    >>> dense = init_params(np.array([1.0, 2.0]), 0.5)
    >>> dense.weight.data().shape, dense.bias.data().asnumpy().tolist()
    ((1, 2), [0.5])
    """
    weight = np.asarray(weight, dtype=np.float32).reshape(1, -1)
    dense = gluon.nn.Dense(1, in_units=weight.shape[1])
    dense.initialize()
    dense.weight.set_data(nd.array(weight))
    dense.bias.set_data(nd.array([bias]))
    return dense


def net(x: nd.NDArray, dense: gluon.nn.Dense) -> nd.NDArray:
    """Apply the network, the ``Dense`` layer, to ``x``: ``x . W^T + b``.

    Examples
    --------
    >>> print(net(nd.array([[1.0, 1.0]]), init_params(np.array([2.0, 51.0]), 21.2)).asnumpy())
    [[74.2]]
    """
    return dense(x)


def make_loss(loss: str = "squared") -> gluon.loss.L2Loss:
    """Return Gluon's ``L2Loss`` weighted to match the loss named ``loss``.

    ``L2Loss(weight=w)`` computes ``w / 2 * (yhat - y)**2``; the article's
    ``"squared"`` loss is ``L2Loss(weight=2)``, Gluon's own ``"l2"`` is
    ``L2Loss()``.

    Examples
    --------
    >>> make_loss("squared")(nd.array([[3.0]]), nd.array([1.0])).asnumpy().tolist()
    [4.0]
    >>> make_loss("l2")(nd.array([[3.0]]), nd.array([1.0])).asnumpy().tolist()
    [2.0]
    """
    return gluon.loss.L2Loss(weight=2 * LOSS_SCALE[loss])


class EpochSampler(gluon.data.Sampler):
    """A Gluon ``Sampler`` yielding the seeded order of the current epoch.

    ``DataLoader(shuffle=True)`` draws from numpy's global random state; this
    sampler instead yields :func:`gluonlr.data.epoch_order` for the epoch set
    by :meth:`set_epoch`, the same order the manual path uses.

    Examples
    --------
    >>> sampler = EpochSampler(5, seed=0)
    >>> sampler.set_epoch(1)
    >>> list(sampler) == epoch_order(5, 0, 1).tolist()
    True
    """

    def __init__(self, length: int, seed: int) -> None:
        self._length, self._seed, self._epoch = length, seed, 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order the next iteration yields."""
        self._epoch = epoch

    def __iter__(self) -> Iterator[int]:
        return iter(epoch_order(self._length, self._seed, self._epoch).tolist())

    def __len__(self) -> int:
        return self._length


def batches(X: np.ndarray, y: np.ndarray, batch_size: int, sampler: gluon.data.Sampler) -> gluon.data.DataLoader:
    """Return a ``DataLoader`` over ``(X, y)`` drawing sample order from ``sampler``.

    The last batch is kept even when short (``last_batch="keep"``).

    Examples
    --------
    >>> X = np.arange(5, dtype=np.float32).reshape(5, 1)
    >>> loader = batches(X, X[:, 0], 2, EpochSampler(5, seed=0))
    >>> [len(xb) for xb, _ in loader]
    [2, 2, 1]
    """
    dataset = gluon.data.ArrayDataset(X, y)
    batch_sampler = gluon.data.BatchSampler(sampler, batch_size, last_batch="keep")
    return gluon.data.DataLoader(dataset, batch_sampler=batch_sampler)


def sgd(trainer: gluon.Trainer, batch_size: int) -> None:
    """Take one gradient step with ``trainer``: ``trainer.step(batch_size)``.

    ``Trainer.step`` divides the summed gradient by ``batch_size`` and applies
    the optimizer's update to every parameter in place.
    """
    trainer.step(batch_size)


class Learner:
    """The Gluon path, as :func:`gluonlr.fit` drives it.

    Same constructor and methods as :class:`gluonlr.manual.Learner`.
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
        self.sampler = EpochSampler(len(y), seed)
        self.loader = batches(X, y, batch_size, self.sampler)
        self.dense = init_params(weight, bias)
        self.loss = make_loss(loss)
        self.reduction = reduction
        self.trainer = gluon.Trainer(self.dense.collect_params(), "sgd", {"learning_rate": lr})

    def batches(self, epoch: int) -> gluon.data.DataLoader:
        """Return the mini-batches of epoch ``epoch``."""
        self.sampler.set_epoch(epoch)
        return self.loader

    def train_step(self, x: nd.NDArray, y: nd.NDArray) -> nd.NDArray:
        """Forward, backward and one ``Trainer`` step; returns the batch's summed loss."""
        with autograd.record():
            loss = self.loss(net(x, self.dense), y)
        loss.backward()
        sgd(self.trainer, step_divisor(self.reduction, x.shape[0]))
        return loss.sum()

    def parameters(self) -> tuple[np.ndarray, float]:
        """Return the current ``(weight of shape (n_features,), bias)`` as numpy."""
        return self.dense.weight.data().asnumpy().reshape(-1), float(self.dense.bias.data().asnumpy()[0])
