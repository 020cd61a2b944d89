r"""Several processes and hosts: ``fit(..., kvstore="dist_sync")`` on MXNet's parameter server.

Each worker of a ``dist_sync`` job (started by ``gluonlr launch``, see :doc:`/launch`) runs the same
program, and so the same ``fit``: the same seeded epoch order, the same global batches of ``batch_size``
rows. Worker ``r`` of ``W`` trains on its share of every global batch, the contiguous run
:func:`~gluonlr.parallel.row_bounds` ``(len(batch), W)[r]`` of its rows, read from the data source and nothing
else; its gradient, summed over its rows (and over its devices, see :mod:`gluonlr.parallel`), is pushed to
the servers, which sum the workers' gradients; every worker pulls that sum and takes the same step with the
divisor of the *global* batch (:func:`~gluonlr.conventions.step_divisor`), so every worker holds the same
parameters after every step: the step of one process on the whole batch, its gradient summed in another
order. A worker with no rows in a batch (a last batch of 2 rows over 3 workers) pushes a zero gradient.

On the Gluon path this is ``gluon.Trainer(..., kvstore=store, update_on_kvstore=False)``; on the manual
path, ``kv.pushpull(key, grad, out=grad)`` before the update (:class:`~gluonlr.parallel.GradientSum`
given the job's store). The epoch's loss is each worker's sum over its rows, summed across the workers
through the store once an epoch (:meth:`Workers.sum`); validation, metrics, early stopping and the
divergence checks are computed by every worker from the same parameters, so every worker reaches the same
decisions and returns the same :class:`~gluonlr.FitResult`.

MXNet 1.9.1 allows one ``dist`` KVStore per process (a second ``mx.kv.create("dist_sync")`` blocks), and
a key can be initialized only once. So the store is created once per process, by the first fit that joins
the job, and each ``fit`` gets keys of its own: a :class:`KeySpace`, the store seen through an offset, which the
``Trainer`` takes as its KVStore. A program may call ``fit(kvstore="dist_sync")`` any number of times, as
long as every worker makes the same calls in the same order.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from gluonlr._mxnet import mx, nd

__all__ = [
    "DIST_KVSTORES",
    "ENVIRONMENT",
    "LOCAL_KVSTORES",
    "KeySpace",
    "Workers",
    "check_kvstore",
    "check_kvstore_kind",
]

#: The ``kvstore`` values that train across processes; the others (``"device"``, ``"local"``) in one.
DIST_KVSTORES = ("dist_sync", "dist_sync_device")
LOCAL_KVSTORES = ("device", "local")
#: The variables that make a process a worker of a ``dist_sync`` job (``gluonlr launch`` sets them).
ENVIRONMENT = ("DMLC_ROLE", "DMLC_PS_ROOT_URI", "DMLC_PS_ROOT_PORT", "DMLC_NUM_SERVER", "DMLC_NUM_WORKER")
#: Keys of the store each fit may use: its parameters first, then the sums of :meth:`Workers.sum`.
KEYS_PER_FIT = 1 << 16
_PARAM_KEYS = 16  # a fit's parameters (2) and room to spare; its sums take the keys after these

_store: Any = None  # this process's dist KVStore, once made
_fits = 0  # the fits that used it, each given its own KEYS_PER_FIT keys

_HOW_TO_START = (
    "Start the program as the workers of a job, e.g. `gluonlr launch -n 2 -- python train.py` on one host "
    "(see the docs page 'Running a dist_sync job' for several hosts)."
)


class KeySpace(mx.kv.KVStore):
    """The KVStore ``store`` seen through an offset: key ``k`` here is key ``offset + k`` of ``store``.

    A ``gluon.Trainer`` numbers its parameters' keys 0, 1, ...; two Trainers on one store (two fits in
    one worker) would initialize the same keys twice, which a ``dist`` store cannot do. Given a key space
    each, they share the store without sharing keys. Every method that takes keys shifts them; the rest
    (``rank``, ``num_workers``, ``type``) are the store's. The store itself stays alive as long as this
    view does, and is freed by its own owner.

    Examples
    --------
    >>> store = mx.kv.create("local")
    >>> view = KeySpace(store, offset=100)
    >>> view.init(0, nd.ones(2))
    >>> out = nd.zeros(2)
    >>> store.pull(100, out=out)  # the view's key 0
    >>> out.asnumpy().tolist(), view.type
    ([1.0, 1.0], 'local')
    """

    def __init__(self, store: mx.kv.KVStore, offset: int) -> None:
        super().__init__(store.handle)
        self._store, self._offset = store, offset

    def __del__(self) -> None:  # the handle is the store's: MXKVStoreFree is its owner's to call
        pass

    def _shift(self, key: Any) -> Any:
        if isinstance(key, list | tuple):
            return [self._shift(one) for one in key]
        return self._offset + int(key)

    def init(self, key: Any, value: Any) -> None:
        """Initialize keys ``key`` (shifted) with ``value``: ``KVStore.init``."""
        super().init(self._shift(key), value)

    def broadcast(self, key: Any, value: Any, out: Any, priority: int = 0) -> None:
        """Initialize keys ``key`` (shifted) with ``value`` and pull it into ``out``: ``KVStore.broadcast``."""
        super().broadcast(self._shift(key), value, out, priority)

    def push(self, key: Any, value: Any, priority: int = 0) -> None:
        """Push ``value`` to keys ``key`` (shifted): ``KVStore.push``."""
        super().push(self._shift(key), value, priority)

    def pull(self, key: Any, out: Any = None, priority: int = 0, ignore_sparse: bool = True) -> None:
        """Pull keys ``key`` (shifted) into ``out``: ``KVStore.pull``."""
        super().pull(self._shift(key), out, priority, ignore_sparse)

    def pushpull(self, key: Any, value: Any, out: Any = None, priority: int = 0) -> None:
        """Push ``value`` to keys ``key`` (shifted) and pull the result into ``out``: ``KVStore.pushpull``."""
        super().pushpull(self._shift(key), value, out, priority)

    def row_sparse_pull(self, key: Any, out: Any = None, priority: int = 0, row_ids: Any = None) -> None:
        """Pull rows ``row_ids`` of keys ``key`` (shifted) into ``out``: ``KVStore.row_sparse_pull``."""
        super().row_sparse_pull(self._shift(key), out, priority, row_ids)


class Workers:
    """A worker's part in a ``dist_sync`` job, for one ``fit``: its rank, the job's size, its keys.

    Parameters
    ----------
    store : KVStore
        The process's ``dist`` store, or, in tests, any KVStore.

    Attributes
    ----------
    rank : int
        This worker's number, ``0 .. num_workers - 1`` (``kv.rank``).
    num_workers : int
        The job's number of workers.
    part : tuple of int
        ``(rank, num_workers)``: which share of every batch this worker trains
        on (see :func:`gluonlr.data.share_bounds`).
    params : KeySpace
        The keys of the fit's parameters: the store that a ``Trainer`` or
        :class:`~gluonlr.parallel.GradientSum` is given.

    Examples
    --------
    One process's "local" store stands in for a job of one worker:

    >>> workers = Workers(mx.kv.create("local"))
    >>> workers.rank, workers.num_workers
    (0, 1)
    >>> workers.sum(nd.array([1.5, 2.5])).asnumpy().tolist()
    [1.5, 2.5]
    """

    def __init__(self, store: mx.kv.KVStore) -> None:
        global _fits
        offset = _fits * KEYS_PER_FIT
        _fits += 1
        self.store = store
        self.rank, self.num_workers = int(store.rank), int(store.num_workers)
        self.part = (self.rank, self.num_workers)
        self.params = KeySpace(store, offset)
        self._sums = KeySpace(store, offset + _PARAM_KEYS)
        self._keys: dict[tuple[tuple[int, ...], str], int] = {}

    def sum(self, array: nd.NDArray) -> nd.NDArray:
        """Return the sum over the workers of ``array`` (every worker calls this with its own, the same shape).

        Each shape and dtype gets a key of its own the first time it is summed; every worker must call
        ``sum`` in the same order. The sum is computed by the servers, so every worker gets the same bits.
        """
        signature = (tuple(array.shape), str(array.dtype))
        key = self._keys.get(signature)
        if key is None:
            key = self._keys[signature] = len(self._keys)
            self._sums.init(key, nd.zeros(array.shape, ctx=array.context, dtype=array.dtype))
        total = nd.zeros(array.shape, ctx=array.context, dtype=array.dtype)
        self._sums.pushpull(key, array, out=total)
        return total

    def gather(self, values: np.ndarray) -> np.ndarray:
        """Return every worker's ``values`` (1-D, the same length on each), row ``r`` from rank ``r``, as float64.

        An all-gather through :meth:`sum`: each worker pushes a table of zeros with its own row filled in, and
        adding zeros changes no bits.

        Examples
        --------
        >>> Workers(mx.kv.create("local")).gather(np.array([1.0, 2.0])).tolist()
        [[1.0, 2.0]]
        """
        table = np.zeros((self.num_workers, len(values)), dtype=np.float64)
        table[self.rank] = values
        return self.sum(nd.array(table, dtype=np.float64)).asnumpy()


def _process_store(kind: str = "dist_sync") -> mx.kv.KVStore:
    """Return this process's ``dist`` KVStore, created on the first call (MXNet allows one per process).

    Creating it joins the job: it waits until every worker has created its own. A later call for another
    kind of store is an error.
    """
    global _store
    if _store is None:
        _store = mx.kv.create(kind)
    elif _store.type != kind:
        raise ValueError(
            f"This process already takes part in a {_store.type!r} job (one per process, in MXNet 1.9.1); "
            f"kvstore={kind!r} cannot join another. Use kvstore={_store.type!r}."
        )
    return _store


def check_kvstore(kvstore: Any, where: str = "fit") -> tuple[str, Workers | None]:
    """Read the ``kvstore`` argument: the one-process store's type and, for a ``dist`` job, this :class:`Workers`.

    None, ``"device"`` and ``"local"`` train in this process (``"device"`` sums the gradients of several
    devices on them, ``"local"`` on the CPU; with one device no store is used); ``"dist_sync"`` and
    ``"dist_sync_device"`` join the ``dist_sync`` job this process is a worker of, whose environment
    (:data:`ENVIRONMENT`) must be set; an ``mx.kv.KVStore`` is used as it is.

    Examples
    --------
    >>> check_kvstore(None)
    ('device', None)
    >>> check_kvstore("dist_async")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: The 'kvstore' parameter of fit cannot be 'dist_async': ...
    """
    if kvstore is None:
        return "device", None
    if isinstance(kvstore, mx.kv.KVStore):
        kind = kvstore.type
        if kind in DIST_KVSTORES:
            global _store
            if _store is None:
                _store = kvstore  # the program made the process's store itself: fit uses it from now on
            elif _store is not kvstore and _store.handle.value != kvstore.handle.value:
                raise ValueError(
                    f"The 'kvstore' parameter of {where} is a second {kind!r} store of this process; MXNet 1.9.1 "
                    "allows one. Pass the one made first, or kvstore='dist_sync', which fit reuses."
                )
            return kind, Workers(kvstore)
        if kind in LOCAL_KVSTORES:
            return kind, None
        _unsupported(kind, where)
    if not isinstance(kvstore, str):
        raise TypeError(
            f"The 'kvstore' parameter of {where} must be None, one of {(*LOCAL_KVSTORES, *DIST_KVSTORES)} or an "
            f"mxnet KVStore. Got {kvstore!r} of type {type(kvstore).__name__}."
        )
    if kvstore in LOCAL_KVSTORES:
        return kvstore, None
    if kvstore not in DIST_KVSTORES:
        _unsupported(kvstore, where)
    missing = [name for name in ENVIRONMENT if not os.environ.get(name)]
    if missing:
        raise ValueError(
            f"{where}(kvstore={kvstore!r}) must run as a worker of a dist_sync job, but {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set in its environment. {_HOW_TO_START}"
        )
    if os.environ["DMLC_ROLE"] != "worker":
        raise ValueError(
            f"{where}(kvstore={kvstore!r}) runs in the job's workers; this process has DMLC_ROLE="
            f"{os.environ['DMLC_ROLE']!r}. {_HOW_TO_START}"
        )
    return kvstore, Workers(_process_store(kvstore))


def check_kvstore_kind(kvstore: Any, where: str = "fit") -> None:
    """Raise as :func:`check_kvstore` would for ``kvstore``'s kind, without joining a job or touching MXNet's store.

    :func:`gluonlr.fit` checks every option before it changes anything, and joins a ``dist_sync`` job last.

    Examples
    --------
    >>> check_kvstore_kind("dist_sync")  # checked, not joined
    >>> check_kvstore_kind(3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: The 'kvstore' parameter of fit must be None, one of ...
    """
    if kvstore is None:
        return
    if isinstance(kvstore, mx.kv.KVStore):
        if kvstore.type not in (*DIST_KVSTORES, *LOCAL_KVSTORES):
            _unsupported(kvstore.type, where)
        return
    if not isinstance(kvstore, str):
        raise TypeError(
            f"The 'kvstore' parameter of {where} must be None, one of {(*LOCAL_KVSTORES, *DIST_KVSTORES)} or an "
            f"mxnet KVStore. Got {kvstore!r} of type {type(kvstore).__name__}."
        )
    if kvstore not in (*LOCAL_KVSTORES, *DIST_KVSTORES):
        _unsupported(kvstore, where)


def _unsupported(kind: str, where: str) -> None:
    if "async" in kind:
        raise ValueError(
            f"The 'kvstore' parameter of {where} cannot be {kind!r}: asynchronous updates apply each worker's "
            "gradient to parameters the others have moved, so the result depends on timing and equals no "
            "one-process fit. Use 'dist_sync'."
        )
    raise ValueError(
        f"The 'kvstore' parameter of {where} must be None, one of {(*LOCAL_KVSTORES, *DIST_KVSTORES)} or an "
        f"mxnet KVStore. Got {kind!r}."
    )
