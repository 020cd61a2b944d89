"""The article's training pieces, built from Gluon's blocks.

The twin of :mod:`gluonlr.manual`: the first six functions have the same names
and roles as the hand-written ones there, and do their jobs with Gluon's
building blocks, used the plain way: ``nn.Dense``, ``gluon.loss.L2Loss``, a
``DataLoader`` over an ``ArrayDataset`` and ``gluon.Trainer``. A loop written
from them (:func:`train`) equals ``fit(path="gluon")`` bit for bit.

:func:`gluonlr.fit` runs the same blocks made fast: :func:`fast_net_with_loss`
(the layer and the loss compiled together, ``hybridize``) and
:func:`fast_batches` (a ``DataLoader`` that hands out whole batches cut from
the device copy of :mod:`gluonlr.data`), which
:class:`gluonlr.learners.GluonLearner` runs with what a production fit adds
(several devices, a ``dist_sync`` job, the ``Trainer``'s state, checkpoints).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from gluonlr._mxnet import autograd, gluon, mx, nd
from gluonlr._validation import check_batches, check_loop
from gluonlr.conventions import LOSS_SCALE, step_divisor
from gluonlr.data import EpochData, StreamData, TakeData, epoch_order

__all__ = [
    "BatchDataset",
    "EpochBatchSampler",
    "SparseDense",
    "data_iter",
    "fast_batches",
    "fast_net_with_loss",
    "init_params",
    "make_loss",
    "net",
    "set_weight",
    "sgd",
    "train",
    "weight_of",
]


# -- The article's pieces, with Gluon's blocks ---------------------------------------------------------------------


def init_params(
    weight: np.ndarray,
    bias: float | np.ndarray,
    ctx: mx.Context | Sequence[mx.Context] | None = None,
    dtype: str = "float32",
    sparse: bool = False,
) -> gluon.nn.Dense:
    """Create a ``Dense(n_outputs)`` layer holding the given initial parameters on device(s) ``ctx``.

    Gluon stores the weight as ``(n_outputs, n_features)``, the transpose of the
    manual path's ``(n_features, n_outputs)``. With a list of devices the
    layer holds a copy of its parameters on each (``initialize(ctx=...)``),
    all set to the same values. ``dtype`` is the layer's (``Dense(dtype=...)``):
    its parameters, their gradients and the ``Trainer``'s state. With
    ``sparse``, a :class:`SparseDense` layer for CSR rows instead.

    Examples
    --------
    >>> dense = init_params(np.array([1.0, 2.0]), 0.5)
    >>> dense.weight.data().shape, dense.bias.data().asnumpy().tolist()
    ((1, 2), [0.5])
    >>> [bias.asnumpy().tolist() for bias in init_params(np.ones(2), 0.5, [mx.cpu(0), mx.cpu(1)]).bias.list_data()]
    [[0.5], [0.5]]
    >>> init_params(np.ones(2), 0.5, dtype="float64").weight.data().dtype
    <class 'numpy.float64'>
    """
    weight = np.asarray(weight, dtype=dtype)
    bias = np.asarray(bias, dtype=dtype).reshape(-1)
    weight = weight.reshape(len(weight), -1).T  # (k, n)
    n_outputs, n_features = weight.shape
    if sparse:
        dense = SparseDense(n_outputs, n_features, dtype)
        dense.initialize(ctx=ctx)
        set_weight(dense, weight)
    else:
        dense = gluon.nn.Dense(n_outputs, in_units=n_features)
        dense.cast(dtype)  # float32 (the article's) or float64
        dense.initialize(ctx=ctx)
        dense.weight.set_data(nd.array(weight, dtype=dtype))
    dense.bias.set_data(nd.array(bias, dtype=dtype))
    return dense


def net(
    x: nd.NDArray,
    dense: gluon.nn.Dense,
) -> nd.NDArray:
    """Apply the network, the ``Dense`` layer, to ``x``: ``x . W^T + b``.

    Examples
    --------
    >>> print(net(nd.array([[1.0, 1.0]]), init_params(np.array([2.0, 51.0]), 21.2)).asnumpy())
    [[74.2]]
    """
    return dense(x)


class SparseDense(gluon.HybridBlock):
    """``Dense`` for CSR rows: ``nd.sparse.dot(x, weight) + bias``, its weight's gradient ``row_sparse``.

    ``nn.Dense`` (``FullyConnected``) does not take a CSR ``x``. This layer
    keeps its weight as ``(n_features, n_outputs)``, the manual path's
    layout (``nd.sparse.dot(x, w)``'s, the transpose of ``Dense``'s), made
    with ``grad_stype="row_sparse"``: ``backward`` fills only the rows of
    the batch's features, and the ``Trainer``'s ``"sgd"`` updates only
    those (MXNet's ``lazy_update``). :func:`weight_of` and :func:`set_weight`
    read and write it in ``Dense``'s layout. It runs imperatively (not
    hybridized).

    Examples
    --------
    >>> layer = init_params(np.array([2.0, 51.0]), 21.2, sparse=True)
    >>> layer.weight.shape, layer.weight.grad().stype
    ((2, 1), 'row_sparse')
    >>> print(net(nd.sparse.csr_matrix(np.array([[0.0, 1.0]], np.float32)), layer).asnumpy())
    [[72.2]]
    """

    def __init__(self, units: int, in_units: int, dtype: str = "float32") -> None:
        super().__init__()
        with self.name_scope():
            self.weight = self.params.get("weight", shape=(in_units, units), dtype=dtype, grad_stype="row_sparse")
            self.bias = self.params.get("bias", shape=(units,), dtype=dtype, init="zeros")

    def hybrid_forward(self, F: Any, x: Any, weight: Any, bias: Any) -> Any:
        """Return ``nd.sparse.dot(x, weight) + bias`` of a batch of CSR rows."""
        return F.sparse.dot(x, weight) + bias


def weight_of(layer: gluon.HybridBlock, ctx: mx.Context | None = None) -> np.ndarray:
    """Return the layer's weight on ``ctx`` in ``Dense``'s layout, ``(n_outputs, n_features)``, as numpy.

    Examples
    --------
    >>> weight_of(init_params(np.array([1.0, 2.0]), 0.0, sparse=True)).tolist()
    [[1.0, 2.0]]
    """
    weight = layer.weight.data(ctx).asnumpy()
    return weight.T.copy() if isinstance(layer, SparseDense) else weight


def set_weight(layer: gluon.HybridBlock, weight: np.ndarray) -> None:
    """Set the layer's weight on every device from ``weight`` in ``Dense``'s layout, ``(n_outputs, n_features)``.

    Examples
    --------
    >>> layer = init_params(np.zeros(2), 0.0, sparse=True)
    >>> set_weight(layer, np.array([[3.0, 4.0]], np.float32))
    >>> layer.weight.data().asnumpy().tolist(), weight_of(layer).tolist()
    ([[3.0], [4.0]], [[3.0, 4.0]])
    """
    weight = np.asarray(weight)
    value = np.ascontiguousarray(weight.T) if isinstance(layer, SparseDense) else weight
    layer.weight.set_data(nd.array(value, dtype=value.dtype))


def make_loss(
    loss: str = "squared",
    rho: float = 1.0,
) -> gluon.loss.Loss:
    """Return Gluon's loss block for the loss named ``loss``.

    ``L2Loss(weight=w)`` computes ``w / 2 * (yhat - y)**2``; the article's
    ``"squared"`` loss is ``L2Loss(weight=2)``, Gluon's own ``"l2"`` is
    ``L2Loss()``; ``"l1"`` is ``L1Loss()`` and ``"huber"`` is
    ``HuberLoss(rho)``. Each returns one loss per sample, the mean over the
    sample's outputs, and takes per-sample weights as a third argument.

    Examples
    --------
    >>> make_loss("squared")(nd.array([[3.0]]), nd.array([1.0])).asnumpy().tolist()
    [4.0]
    >>> make_loss("l2")(nd.array([[3.0]]), nd.array([1.0])).asnumpy().tolist()
    [2.0]
    >>> make_loss("huber", rho=1.0)(nd.array([[3.0], [1.5]]), nd.array([1.0, 1.0])).asnumpy().tolist()
    [1.5, 0.125]
    >>> make_loss("l1")(nd.array([[3.0, 0.0]]), nd.array([[1.0, 1.0]]), nd.array([[2.0]])).asnumpy().tolist()
    [3.0]
    """
    if loss == "l1":
        return gluon.loss.L1Loss()
    if loss == "huber":
        return gluon.loss.HuberLoss(rho=rho)
    # L2Loss(weight=w) is w/2 (yhat - y)**2
    return gluon.loss.L2Loss(weight=2 * LOSS_SCALE[loss])


def data_iter(
    batch_size: int,
    features: nd.NDArray,
    labels: nd.NDArray,
    seed: int = 0,
    epoch: int = 0,
) -> gluon.data.DataLoader:
    """Return a ``DataLoader`` over ``(features, labels)`` with the batches of :func:`gluonlr.manual.data_iter`.

    The textbook loader, ``DataLoader(ArrayDataset(features, labels),
    batch_size, shuffle=True)``, shuffles with numpy's global random state;
    this one takes the samples in the order of :func:`gluonlr.data.epoch_order`
    for ``(seed, epoch)`` (its ``sampler``), the order of ``fit(seed=seed)``.
    The ``DataLoader`` fetches the samples one by one and stacks them into
    batches, the last one short if ``batch_size`` does not divide the number of
    samples (``last_batch="keep"``). Creating a ``DataLoader`` runs a full
    ``gc.collect()``, 20 to 60 ms in a process that has imported MXNet, once
    an epoch here: it skips the objects that already exist (``gc.freeze`` for
    the call, ``_objects_frozen``).

    Parameters
    ----------
    batch_size : int
    features : NDArray of shape (n_samples, n_features)
    labels : NDArray of shape (n_samples,) or (n_samples, n_outputs)
    seed : int, default=0
    epoch : int, default=0

    Returns
    -------
    DataLoader
        Yields ``(x, y)``, as :func:`gluonlr.manual.data_iter` does.

    Raises
    ------
    TypeError, ValueError
        As :func:`gluonlr.manual.data_iter`.

    Examples
    --------
    >>> X = nd.arange(5).reshape((5, 1))
    >>> [x.asnumpy().ravel().tolist() for x, y in data_iter(2, X, X[:, 0], seed=0, epoch=1)]
    [[1.0, 4.0], [3.0, 0.0], [2.0]]
    """
    check_batches(batch_size, features, labels)
    dataset = gluon.data.ArrayDataset(features, labels)
    # not shuffle=True: numpy's global random state
    order = epoch_order(len(features), seed, epoch)
    with _objects_frozen():
        return gluon.data.DataLoader(
            dataset,
            batch_size,
            sampler=order.tolist(),
            last_batch="keep",
        )


def sgd(
    trainer: gluon.Trainer,
    divisor: float,
) -> None:
    """Take one gradient step with ``trainer``: ``trainer.step(divisor)``.

    ``Trainer.step`` divides the summed gradient by its argument, which Gluon
    calls ``batch_size``, and applies the optimizer's update to every
    parameter in place. The article's step divides by 1
    (:func:`gluonlr.conventions.step_divisor`).

    Examples
    --------
    >>> dense = init_params(np.array([0.0]), 0.0)
    >>> trainer = gluon.Trainer(dense.collect_params(), "sgd", {"learning_rate": 0.1})
    >>> with autograd.record():
    ...     loss = make_loss()(net(nd.array([[1.0]]), dense), nd.array([1.0]))
    >>> loss.backward()
    >>> sgd(trainer, divisor=1)
    >>> print(dense.weight.data().asnumpy(), dense.bias.data().asnumpy())
    [[0.2]] [0.2]
    """
    trainer.step(divisor)


def train(
    dense: gluon.nn.Dense,
    X: nd.NDArray,
    y: nd.NDArray,
    *,
    lr: float = 0.01,
    batch_size: int = 10,
    epochs: int = 10,
    seed: int = 0,
    loss: gluon.loss.Loss | None = None,
    reduction: str = "sum",
) -> None:
    """Train ``dense`` in place with the article's loop, written from the Gluon pieces above.

    The twin of :func:`gluonlr.manual.train`. With the same arguments, the
    result is ``fit(path="gluon")``'s bit for bit: fit takes the same steps on
    the same batches, with its fast forms.

    Parameters
    ----------
    dense : Dense
        The layer, from :func:`init_params`; trained in place.
    X, y, lr, batch_size, epochs, seed, reduction
        As :func:`gluonlr.manual.train`'s.
    loss : Loss, optional
        Gluon's loss block; the article's ``L2Loss(weight=2)`` by default.

    Raises
    ------
    ValueError, TypeError
        As :func:`gluonlr.manual.train`.

    Examples
    --------
    >>> from gluonlr import fit, initial_params, synthetic_data
    >>> X, y = synthetic_data()
    >>> dense = init_params(*initial_params(2, seed=0))
    >>> train(dense, nd.array(X), nd.array(y))
    >>> print(dense.weight.data().asnumpy().round(2), dense.bias.data().asnumpy().round(2))
    [[ 2. 51.]] [21.2]
    >>> bool((dense.weight.data().asnumpy().ravel() == fit(X, y, path="gluon").weight).all())
    True
    """
    check_loop(lr, epochs, seed, reduction, "gluon.train")
    loss = make_loss("squared") if loss is None else loss
    params = dense.collect_params()
    options = {"learning_rate": lr}
    trainer = gluon.Trainer(params, "sgd", options)
    for epoch in range(epochs):
        batches = data_iter(batch_size, X, y, seed, epoch)
        for x, y_batch in batches:
            with autograd.record():
                batch_loss = loss(net(x, dense), y_batch)
            batch_loss.backward()
            divisor = step_divisor(reduction, len(x))
            sgd(trainer, divisor)


# -- What fit runs: the same blocks, fast --------------------------------------------------------------------------


class _NetWithLoss(gluon.HybridBlock):
    """The per-sample losses ``loss(net(x, dense), y)`` as one block."""

    def __init__(self, dense: gluon.nn.Dense, loss: gluon.loss.Loss) -> None:
        super().__init__()
        self.dense, self.loss = dense, loss

    def hybrid_forward(self, F: Any, x: Any, y: Any, sample_weight: Any = None) -> Any:
        return self.loss(net(x, self.dense), y, sample_weight)


def fast_net_with_loss(
    dense: gluon.nn.Dense,
    loss: gluon.loss.Loss,
) -> gluon.HybridBlock:
    """Return ``loss(net(x, dense), y, sample_weight)`` as one hybridized block, compiled at its first call.

    ``hybridize()`` turns a block into a cached graph: the layer and the loss
    compiled together make one forward call and one backward node per batch
    instead of two of each, with the arrays of the graph allocated once
    (``static_alloc``, ``static_shape``). The values and gradients are those
    of the plain ``loss(net(x, dense), y)``; the block shares ``dense``'s
    parameters.

    Examples
    --------
    >>> dense, loss = init_params(np.array([2.0]), 0.0), make_loss("squared")
    >>> x, y = nd.array([[1.0], [2.0]]), nd.array([1.0, 1.0])
    >>> fast_net_with_loss(dense, loss)(x, y).asnumpy().tolist()
    [1.0, 9.0]
    >>> loss(net(x, dense), y).asnumpy().tolist()
    [1.0, 9.0]
    """
    block = _NetWithLoss(dense, loss)
    if not isinstance(dense, SparseDense):  # CSR rows run imperatively
        block.hybridize(static_alloc=True, static_shape=True)
    return block


class EpochBatchSampler(gluon.data.Sampler):
    """A Gluon batch ``Sampler``: the seeded order of the current epoch, cut into batches.

    ``DataLoader(shuffle=True)`` draws from numpy's global random state; this
    sampler instead follows :func:`gluonlr.data.epoch_order` for the epoch set
    by :meth:`set_epoch`, the order the manual path uses. Each iteration
    yields one one-element list per batch, naming one item of
    :class:`BatchDataset`, a whole batch: for an
    :class:`~gluonlr.data.EpochData`, the batch's number ``[k]``, after
    gathering the epoch's rows in order into its device buffer (one pass over
    the data, no copy of it); for a :class:`~gluonlr.data.StreamData`, the
    batch's rows ``[order[start:stop]]``, read when the ``DataLoader`` asks.

    Parameters
    ----------
    data : EpochData or StreamData
        The data set, cut into batches.
    seed : int
        The ``seed`` of :func:`gluonlr.fit`.
    shuffle : bool, default=True
        The ``shuffle`` of :func:`gluonlr.fit`: False yields the batches in
        the rows' order every epoch.

    Examples
    --------
    >>> data = EpochData(np.arange(5.0).reshape(5, 1), np.arange(5.0), batch_size=2)
    >>> sampler = EpochBatchSampler(data, seed=0)
    >>> sampler.set_epoch(1)
    >>> list(sampler), len(sampler)
    ([[0], [1], [2]], 3)
    >>> data.y.asnumpy().ravel().tolist() == epoch_order(5, 0, 1).tolist()
    True
    >>> from gluonlr.data import Source
    >>> [rows.tolist() for [rows] in EpochBatchSampler(StreamData(Source(np.zeros((5, 1))), np.arange(5.0), 2), 0)]
    [[2, 4], [3, 0], [1]]
    """

    def __init__(self, data: EpochData | TakeData | StreamData, seed: int, shuffle: bool = True) -> None:
        self._data, self._seed, self._shuffle, self._epoch = data, seed, shuffle, 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order the next iteration yields."""
        self._epoch = epoch

    def __iter__(self) -> Iterator[list[Any]]:
        items = self._data.items(epoch_order(len(self._data), self._seed, self._epoch, self._shuffle))
        return iter([[item] for item in items])

    def __len__(self) -> int:
        return self._data.n_batches


class BatchDataset(gluon.data.Dataset):
    """A Gluon ``Dataset`` whose items are whole batches.

    ``dataset[item]`` is the batch :class:`EpochBatchSampler` names: views
    ``(x, y)`` of the rows it gathered into the device buffer of an
    :class:`~gluonlr.data.EpochData` (``item`` a batch number), or the rows
    ``item`` read from the sources of a :class:`~gluonlr.data.StreamData`,
    where ``ArrayDataset`` would index and stack sample by sample.

    Examples
    --------
    >>> data = EpochData(np.arange(6.0).reshape((3, 2)), np.arange(3.0), batch_size=2)
    >>> data.gather(np.array([2, 0, 1]))
    >>> x, y = BatchDataset(data)[0]
    >>> print(x.asnumpy(), y.asnumpy().ravel(), len(BatchDataset(data)))
    [[4. 5.]
     [0. 1.]] [2. 0.] 2
    """

    def __init__(self, data: EpochData | TakeData | StreamData) -> None:
        self._data = data

    def __getitem__(self, item: Any) -> tuple[nd.NDArray, ...]:
        return self._data.batch(item)

    def __len__(self) -> int:
        return self._data.n_batches


def _only_item(items: list[Any]) -> Any:
    """Batchify a "batch" of one item that already is a whole batch."""
    return items[0]


def fast_batches(
    data: EpochData | TakeData | StreamData,
    sampler: EpochBatchSampler,
) -> gluon.data.DataLoader:
    """Return a ``DataLoader`` over ``data`` yielding the batches ``sampler`` picks: :func:`data_iter`'s, whole.

    The same batches as :func:`data_iter`, without fetching and stacking the
    samples one by one: the sampler names whole batches, the dataset hands
    each out as it is (see :class:`EpochBatchSampler`, :class:`BatchDataset`).
    For a :class:`~gluonlr.data.StreamData` the loader reads batches in a
    worker thread (``num_workers=1, thread_pool=True``), up to two ahead of
    training; an :class:`~gluonlr.data.EpochData`'s batches are views, with
    nothing to read.

    Examples
    --------
    >>> data = EpochData(np.arange(5.0).reshape((5, 1)), np.arange(5.0), batch_size=2)
    >>> [len(xb) for xb, _ in fast_batches(data, EpochBatchSampler(data, seed=0))]
    [2, 2, 1]
    """
    workers = 1 if isinstance(data, StreamData) else 0
    with _objects_frozen():
        return gluon.data.DataLoader(
            BatchDataset(data),
            batch_sampler=sampler,
            batchify_fn=_only_item,
            num_workers=workers,
            thread_pool=True,
        )


@contextlib.contextmanager
def _objects_frozen() -> Iterator[None]:
    """Let ``gc.collect()`` skip every object that exists now (``gc.freeze``), for the ``with`` block.

    ``DataLoader.__init__`` runs a full ``gc.collect()``, to free memory before
    it forks worker processes. gluonlr's loaders fork none, and in a process
    with many objects (MXNet's modules alone hold a few hundred thousand) the
    collection takes 20 to 60 ms, the largest fixed cost of a small Gluon
    fit. Nothing is left uncollected for good: the objects are unfrozen after
    the block. Objects someone else froze are left alone: then the collection
    runs. (Python 3.12 itself starts with a few hundred frozen objects, so
    there it always runs.)
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
