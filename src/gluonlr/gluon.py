"""The article's training pieces, built from Gluon's blocks.

The twin of :mod:`gluonlr.manual`: the first six functions have the same names
and roles as the hand-written ones there, and do their jobs with Gluon's
building blocks, used the plain way: ``nn.Dense``, ``gluon.loss.L2Loss``, a
``DataLoader`` over an ``ArrayDataset`` and ``gluon.Trainer``. A loop written
from them (:func:`train`) equals ``fit(path="gluon")`` bit for bit.

:func:`gluonlr.fit` runs the same blocks made fast: :func:`fast_net_with_loss`
(the layer and the loss compiled together, ``hybridize``),
:func:`fast_batches` (a ``DataLoader`` that hands out whole batches cut from
the device copy of :mod:`gluonlr.data`) and :class:`Learner`, which runs them.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from gluonlr._mxnet import autograd, gluon, mx, nd
from gluonlr._validation import check_batches, check_loop
from gluonlr.config import FitConfig
from gluonlr.conventions import LOSS_SCALE, step_divisor
from gluonlr.data import EpochData, Source, StreamData, TakeData, epoch_data, epoch_order
from gluonlr.distributed import Workers
from gluonlr.parallel import check_ctx, gather, split_batch, zero_gradients

__all__ = [
    "BatchDataset",
    "EpochBatchSampler",
    "Learner",
    "data_iter",
    "fast_batches",
    "fast_net_with_loss",
    "init_params",
    "make_loss",
    "net",
    "sgd",
    "train",
]


# -- The article's pieces, with Gluon's blocks ---------------------------------------------------------------------


def init_params(
    weight: np.ndarray,
    bias: float | np.ndarray,
    ctx: mx.Context | Sequence[mx.Context] | None = None,
) -> gluon.nn.Dense:
    """Create a ``Dense(n_outputs)`` layer holding the given initial parameters on device(s) ``ctx``.

    Gluon stores the weight as ``(n_outputs, n_features)``, the transpose of the
    manual path's ``(n_features, n_outputs)``. With a list of devices the
    layer holds a copy of its parameters on each (``initialize(ctx=...)``),
    all set to the same values.

    Examples
    --------
    >>> dense = init_params(np.array([1.0, 2.0]), 0.5)
    >>> dense.weight.data().shape, dense.bias.data().asnumpy().tolist()
    ((1, 2), [0.5])
    >>> [bias.asnumpy().tolist() for bias in init_params(np.ones(2), 0.5, [mx.cpu(0), mx.cpu(1)]).bias.list_data()]
    [[0.5], [0.5]]
    """
    weight = np.asarray(weight, dtype=np.float32)
    bias = np.asarray(bias, dtype=np.float32)
    weight = weight.reshape(len(weight), -1).T  # (k, n)
    n_outputs, n_features = weight.shape
    dense = gluon.nn.Dense(n_outputs, in_units=n_features)
    dense.initialize(ctx=ctx)
    dense.weight.set_data(nd.array(weight))
    dense.bias.set_data(nd.array(bias.reshape(-1)))
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

    Examples
    --------
    >>> data = EpochData(np.arange(5.0).reshape(5, 1), np.arange(5.0), batch_size=2)
    >>> sampler = EpochBatchSampler(data, seed=0)
    >>> sampler.set_epoch(1)
    >>> list(sampler), len(sampler)
    ([[0], [1], [2]], 3)
    >>> data.y.asnumpy().ravel().tolist() == epoch_order(5, 0, 1).tolist()
    True
    >>> [rows.tolist() for [rows] in EpochBatchSampler(StreamData(Source(np.zeros((5, 1))), np.arange(5.0), 2), 0)]
    [[2, 4], [3, 0], [1]]
    """

    def __init__(self, data: EpochData | TakeData | StreamData, seed: int) -> None:
        self._data, self._seed, self._epoch = data, seed, 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order the next iteration yields."""
        self._epoch = epoch

    def __iter__(self) -> Iterator[list[Any]]:
        items = self._data.items(epoch_order(len(self._data), self._seed, self._epoch))
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


class Learner:
    """The Gluon path, as :func:`gluonlr.fit` drives it.

    Same constructor and methods as :class:`gluonlr.manual.Learner`. It runs
    the article's steps with the fast forms, :func:`fast_batches` and
    :func:`fast_net_with_loss`, and the ``Trainer`` of :func:`train`. With
    several devices ``ctx``, the layer holds a copy of its parameters on
    each, each device trains on its share of a batch's rows, and the
    ``Trainer``'s ``"device"`` KVStore sums their gradients before every
    copy takes the same step.

    Examples
    --------
    >>> from gluonlr.data import synthetic_data
    >>> learner = Learner(*synthetic_data(), FitConfig(), weight=np.zeros(2), bias=0.0)
    >>> for batch in learner.batches(epoch=0):
    ...     _ = learner.train_step(*batch)
    >>> weight, bias = learner.parameters()
    >>> print(weight.round(2), round(bias, 2))
    [ 1.99 50.96] 21.18

    On two devices, the same to float32 round-off:

    >>> learner = Learner(*synthetic_data(), FitConfig(), weight=np.zeros(2), bias=0.0, ctx=[mx.cpu(0), mx.cpu(1)])
    >>> for batch in learner.batches(epoch=0):
    ...     _ = learner.train_step(*batch)
    >>> weight, bias = learner.parameters()
    >>> print(weight.round(2), round(bias, 2))
    [ 1.99 50.96] 21.18
    """

    def __init__(
        self,
        X: np.ndarray | Source,
        y: np.ndarray | Source,
        config: FitConfig,
        *,
        weight: np.ndarray,
        bias: float | np.ndarray,
        sample_weight: np.ndarray | None = None,
        ctx: mx.Context | Sequence[mx.Context] | None = None,
        kvstore: str = "device",
        workers: Workers | None = None,
    ) -> None:
        self.workers = workers  # a dist_sync job's, or None
        self.data = data = epoch_data(X, y, config.batch_size, sample_weight, part=workers.part if workers else None)
        self.config = config
        self.sampler = EpochBatchSampler(data, config.seed)
        self.loader = fast_batches(data, self.sampler)
        self.ctx = check_ctx(ctx)
        self.dense = init_params(weight, bias, self.ctx)  # a copy on each device
        self.loss = make_loss(config.loss, config.rho)
        # The layer and the loss compiled together to one cached graph: far fewer operator calls per batch.
        self.net_with_loss = fast_net_with_loss(self.dense, self.loss)
        # The same optimizer and schedule as the manual path, MXNet's own: "sgd", "nag" or "adam".
        self.optimizer = config.make_optimizer()
        scheduler = config.lr_schedule.mxnet_scheduler(lr=config.lr, n_batches=data.n_batches, epochs=config.epochs)
        options = {"learning_rate": config.lr, **self.optimizer.mxnet_params()}
        if scheduler is not None:
            options["lr_scheduler"] = scheduler
        # With several devices, step() first sums each parameter's gradients over them through the "device"
        # KVStore, then updates every copy on its device (one device: no KVStore, as before). In a dist_sync job,
        # through the job's store: over the devices, then the workers (update_on_kvstore=False: each worker
        # updates its own copies with the sum, as on one host; updating on the servers fails on a short batch).
        store = workers.params if workers else kvstore
        self.trainer = gluon.Trainer(
            self.dense.collect_params(), self.optimizer.mxnet_name, options, kvstore=store, update_on_kvstore=False
        )
        if workers is not None:
            # The Trainer sets up its store at the first step, and its pull of rank 0's parameters then races the
            # first pushpull of gradients on the same keys: a worker may take the gradient sum for its weights.
            # Set up now, and wait for the pull.
            self.trainer._init_kvstore()
            self.trainer._init_params()
            nd.waitall()

    def batches(self, epoch: int) -> gluon.data.DataLoader:
        """Return the mini-batches of epoch ``epoch``."""
        self.sampler.set_epoch(epoch)
        return self.loader

    def train_step(
        self, x: nd.NDArray | None, y: nd.NDArray | None, sample_weight: nd.NDArray | None = None, rows: int = 0
    ) -> nd.NDArray | None:
        """Run forward and backward on each device's rows, one ``Trainer`` step; return the per-sample losses.

        In a ``dist_sync`` job the batch is this worker's :class:`~gluonlr.data.Share`, as on the manual path
        (:meth:`gluonlr.manual.Learner.train_step`).
        """
        losses = []
        if not rows:  # a whole batch, not a worker's share of one
            assert x is not None
            rows = x.shape[0]
        shares = split_batch(self.ctx, x, y, sample_weight)  # (x, y[, sample_weight]) of each device, or None
        for device, share in zip(self.ctx, shares, strict=True):
            if share is None:  # no rows for this device in this batch
                params = (self.dense.weight, self.dense.bias)
                zero_gradients([param.grad(device) for param in params], [param.data(device) for param in params])
                continue
            with autograd.record():
                losses.append(self.net_with_loss(*share))  # loss(net(x, dense), y[, sample_weight]), compiled
            losses[-1].backward()
        sgd(self.trainer, step_divisor(self.config.reduction, rows))  # the whole batch's divisor
        return gather(losses, self.ctx[0]) if losses else None

    def predict(self, x: nd.NDArray) -> nd.NDArray:
        """Return the predictions ``net(x)`` of shape ``(n_samples, n_outputs)``, computed on the first device."""
        return net(x.as_in_context(self.ctx[0]), self.dense)

    def close(self) -> None:
        """Stop the ``DataLoader``'s reading thread, if any; :func:`gluonlr.fit` calls it at the end."""
        pool = getattr(self.loader, "_worker_pool", None)  # DataLoader has no public close; its __del__ does this
        if pool is not None:
            pool.terminate()
            self.loader._worker_pool = None
        self.data.close()

    def parameters(self) -> tuple[np.ndarray, float | np.ndarray]:
        """Return the current ``(weight, bias)`` as numpy: ``(n_features,)`` and a float for one output."""
        weight, bias = self.dense.weight.data(self.ctx[0]).asnumpy(), self.dense.bias.data(self.ctx[0]).asnumpy()
        if weight.shape[0] == 1:
            return weight.reshape(-1), float(bias[0])
        return weight.T.copy(), bias

    def _optimizer_states(self, device: int = 0) -> dict[str, list[nd.NDArray]]:
        """Return the Trainer's state arrays of each parameter on device ``ctx[device]`` (created now if need be)."""
        updater, optimizer = self.trainer._updaters[device], self.trainer._optimizer  # an updater per device
        states = {}
        for name, param in (("weight", self.dense.weight), ("bias", self.dense.bias)):
            index = self.trainer._param2idx[param.name]  # the Trainer numbers its parameters by sorted name
            if self.optimizer.state_names and index not in updater.states:
                updater.states[index] = optimizer.create_state_multi_precision(index, param.data(self.ctx[device]))
                updater.states_synced[index] = True
            state = updater.states.get(index)
            states[name] = [] if state is None else list(state) if isinstance(state, tuple | list) else [state]
        return states

    def get_state(self) -> dict[str, np.ndarray]:
        """Return a copy of the training state: keys and layouts as :meth:`gluonlr.manual.Learner.get_state`."""
        state = {
            "updates": np.array(self.trainer._optimizer.num_update, dtype=np.int64),
            "weight": self.dense.weight.data(self.ctx[0]).asnumpy(),
            "bias": self.dense.bias.data(self.ctx[0]).asnumpy(),
        }
        for name, arrays in self._optimizer_states().items():
            for state_name, array in zip(self.optimizer.state_names, arrays, strict=True):
                state[f"{state_name}/{name}"] = array.asnumpy()
        return state

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Overwrite the training state with one from :meth:`get_state` (of either path); missing keys are kept.

        Every device's copy of the parameters and of the optimizer state is overwritten.
        """
        for name, param in (("weight", self.dense.weight), ("bias", self.dense.bias)):
            if name in state:
                param.set_data(nd.array(np.asarray(state[name], dtype=np.float32)))  # on every device
        for device in range(len(self.ctx)):
            for name, arrays in self._optimizer_states(device).items():
                for state_name, array in zip(self.optimizer.state_names, arrays, strict=True):
                    if f"{state_name}/{name}" in state:
                        array[:] = nd.array(np.asarray(state[f"{state_name}/{name}"], dtype=np.float32))
        if "updates" in state:
            optimizer = self.trainer._optimizer
            optimizer.num_update = int(state["updates"])
            for device in self.ctx:  # MXNet's optimizers count the updates of each device (by its number) apart
                optimizer._set_current_context(device.device_id)
                optimizer._index_update_count.update(
                    dict.fromkeys(self.trainer._param2idx.values(), optimizer.num_update)
                )
