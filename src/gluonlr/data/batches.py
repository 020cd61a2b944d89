"""The batches both paths train on: the seeded order of each epoch, and the rows of each batch on the device.

Both training paths draw their per-epoch shuffles from :func:`epoch_order`, so
the manual iterator and the Gluon ``DataLoader`` visit the samples in exactly
the same order and the two paths can be compared number for number. Both cut
their batches from the same object, which :func:`epoch_data` chooses by size:

- :class:`EpochData` for a small in-memory data set: each epoch gathers all
  rows in the epoch's order with one ``take`` into a buffer the device
  shares, and each batch is a view of it. One call per epoch beats one per
  batch when the whole data set fits in the CPU's caches.
- :class:`StreamData` for a large one, or a :class:`~gluonlr.data.Source` (a
  memmap, an ``h5py.Dataset``): each batch's rows are read from the source
  when the batch is due, in sorted order, while a background thread reads
  the next. Nothing is copied whole, and each batch's rows stay in cache.

Either way a batch holds the same rows in the same order, so the choice
changes speed and memory, never a result. A sparse ``X``
(:class:`~gluonlr.data.SparseSource`) is streamed: each batch's ``x`` is a
:class:`~gluonlr.data.columns.SparseRows`, an MXNet CSR ``NDArray`` of the
batch's rows over the columns they use, in the same order as the dense
batches'.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, NamedTuple

import numpy as np

from gluonlr._mxnet import nd
from gluonlr.data.columns import ColumnIndex
from gluonlr.data.sources import Source, SparseSource, chunk_rows, chunks, is_sparse, row_width
from gluonlr.parallel import row_bounds

__all__ = [
    "EPOCH_GATHER_BYTES",
    "ArrayData",
    "EpochData",
    "Share",
    "StreamData",
    "TakeData",
    "batch_bounds",
    "device_array",
    "epoch_data",
    "epoch_order",
    "share_bounds",
]

#: MXNet 1.9.1's wheel (built without ``USE_INT64_TENSOR_SIZE``) refuses operators on arrays of this many values or
#: more: larger data is read batch by batch from the host (:class:`StreamData`), never shared whole with the device.
MAX_NDARRAY_SIZE = 2**31 - 1

#: From this many samples :func:`epoch_order` shuffles an int32 array in place, without an int64 permutation.
_SHUFFLE_IN_PLACE = 2**20

#: Up to this many batches, :class:`EpochData` makes each batch's view once and reuses it every epoch.
_MAX_CACHED_VIEWS = 4096

#: In-memory data sets of up to this many bytes (float32 ``X``, ``y`` and sample weights) are gathered an epoch at a
#: time (:class:`EpochData`, which holds a second copy); larger ones, and sources, a batch at a time
#: (:class:`TakeData`, :class:`StreamData`). Measured on 2 cores (fit, 100 features, 2 epochs): the epoch's gather is
#: as fast or faster up to 20 MB (2,000 to 50,000 rows), the per-batch take 5% faster at 80 MB (200,000 rows).
EPOCH_GATHER_BYTES = 32 << 20


def epoch_order(n: int, seed: int, epoch: int, shuffle: bool = True) -> np.ndarray:
    """Return the shuffled sample order of one epoch (``range(n)`` itself with ``shuffle=False``).

    The order depends only on ``(seed, epoch)``, never on global random state or
    on what ran before, so both paths, and a run resumed at any epoch, see the
    same batches. It is numpy's ``permutation(n)`` of a PCG64 generator seeded
    with ``SeedSequence([seed, epoch])`` (``np.random.default_rng([seed,
    epoch])``): the same on every platform and numpy version that keeps its
    stream, and stated on its own in :func:`gluonlr.testing.reference_fit`.
    The order is int32 below 2**31 samples: 4 bytes a sample, the one
    per-sample cost of streaming a data set from disk. From 2**20 samples it
    is shuffled in place in an int32 ``arange`` (``Generator.shuffle``, the
    draws ``permutation`` makes, so the same values; numpy's shuffle is 2.5
    times slower on int32 than on int64, but makes no int64 copy of 8 bytes a
    sample); below, ``permutation`` is converted.

    Parameters
    ----------
    n : int
        Number of samples.
    seed : int
        The ``seed`` given to :func:`gluonlr.fit`.
    epoch : int
        Zero-based epoch number.
    shuffle : bool, default=True
        The ``shuffle`` given to :func:`gluonlr.fit`: False visits the rows in
        their order, ``0, 1, ..., n - 1``, every epoch (``seed`` and ``epoch``
        then change nothing).

    Returns
    -------
    ndarray of shape (n,), int32 (int64 from 2**31 samples)
        A permutation of ``range(n)``.

    Examples
    --------
    >>> order = epoch_order(5, seed=0, epoch=0)
    >>> sorted(order.tolist())
    [0, 1, 2, 3, 4]
    >>> bool((order == epoch_order(5, seed=0, epoch=0)).all())
    True
    >>> epoch_order(5, seed=0, epoch=3, shuffle=False).tolist()
    [0, 1, 2, 3, 4]
    """
    if not shuffle:
        return np.arange(n, dtype=np.int32 if n < 2**31 else np.int64)
    rng = np.random.default_rng([seed, epoch])
    if n < _SHUFFLE_IN_PLACE:
        return rng.permutation(n).astype(np.int32)
    order = np.arange(n, dtype=np.int32 if n < 2**31 else np.int64)
    rng.shuffle(order)
    return order


def batch_bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    """Split ``range(n)`` into consecutive ``[start, stop)`` batches.

    The last batch is kept even when it is short, as ``DataLoader``'s
    ``last_batch='keep'``.

    Examples
    --------
    >>> batch_bounds(7, 3)
    [(0, 3), (3, 6), (6, 7)]
    """
    return [(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]


def share_bounds(bounds: list[tuple[int, int]], rank: int, workers: int) -> list[tuple[int, int]]:
    """Return worker ``rank``'s share of each batch ``[start, stop)``: its contiguous run of the batch's rows.

    The runs are :func:`~gluonlr.parallel.row_bounds`' (sizes that differ by at
    most one, the first workers taking the extra rows); a worker with no rows
    in a batch gets an empty run.

    Examples
    --------
    >>> share_bounds([(0, 10), (10, 12)], rank=2, workers=3)
    [(7, 10), (12, 12)]
    """
    return [
        (start + low, start + high) for start, stop in bounds for low, high in [row_bounds(stop - start, workers)[rank]]
    ]


class Share(NamedTuple):
    """One worker's share of a global batch, in a ``dist_sync`` job: its rows, and the size of the whole batch.

    ``x``, ``y`` (and ``sample_weight``) are None when the worker has no rows
    in the batch. ``rows`` is the number of rows of the whole batch, which the
    step's divisor needs (:func:`~gluonlr.conventions.step_divisor`).

    Examples
    --------
    Worker 2 of 3 gets no rows of a last batch of 2:

    >>> X, y = np.arange(6.0, dtype=np.float32).reshape(6, 1), np.arange(6.0)
    >>> data = EpochData(X, y, batch_size=4, part=(2, 3))
    >>> [(share.x.asnumpy().ravel().tolist() if share.x is not None else None, share.rows)
    ...  for share in data.batches(np.arange(6))]
    [([3.0], 4), (None, 2)]
    """

    x: nd.NDArray | None
    y: nd.NDArray | None
    sample_weight: nd.NDArray | None
    rows: int


def device_array(array: np.ndarray) -> nd.NDArray:
    """Return a batch's rows on the device, sharing a new numpy array's memory (a sparse ``X``'s rows: ``SparseRows``).

    Examples
    --------
    >>> x = device_array(np.array([[0.0, 2.0], [3.0, 0.0]], np.float32))
    >>> x.stype, x.asnumpy().tolist()
    ('default', [[0.0, 2.0], [3.0, 0.0]])
    """
    # zero_copy: each array is new and read only by the device from now on.
    return nd.from_numpy(array, zero_copy=True)


def _bounds(n: int, batch_size: int, part: tuple[int, int] | None) -> tuple[list[tuple[int, int]], list[int] | None]:
    """Return the ``[start, stop)`` of each batch this process trains on, and for a worker's shares the batch sizes."""
    bounds = batch_bounds(n, batch_size)
    if part is None:
        return bounds, None
    return share_bounds(bounds, *part), [stop - start for start, stop in bounds]


def _share(arrays: tuple[nd.NDArray, ...] | None, rows: int) -> Share:
    if arrays is None:
        return Share(None, None, None, rows)
    return Share(arrays[0], arrays[1], arrays[2] if len(arrays) > 2 else None, rows)


class ArrayData:
    """What :class:`EpochData` and :class:`TakeData` share: float32 ``(X, y[, w])`` in memory or mapped, in batches."""

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        batch_size: int,
        sample_weight: np.ndarray | None = None,
        part: tuple[int, int] | None = None,
        dtype: Any = np.float32,
    ) -> None:
        n = len(X)
        sources = [X, np.asarray(y).reshape(n, -1)]
        if sample_weight is not None:
            sources.append(np.asarray(sample_weight).reshape(n, 1))
        self.dtype = np.dtype(dtype)  # the model's: float32 (the article's) or float64
        # view(np.ndarray): a plain view (of a memmap too) that from_numpy may mark read-only.
        self._sources = [np.ascontiguousarray(source, dtype=self.dtype).view(np.ndarray) for source in sources]
        self.bounds, self.sizes = _bounds(n, batch_size, part)

    @property
    def sources(self) -> tuple[np.ndarray | None, ...]:
        """``(X, y, sample_weight)`` in ``dtype``, in the original order, ``y`` of shape ``(n_samples, n_outputs)``."""
        return (*self._sources, None)[:3]

    def chunks(
        self, features: bool = True, span: tuple[int, int] | None = None
    ) -> Iterator[tuple[np.ndarray | None, ...]]:
        """Yield ``(x, y)`` (or ``(x, y, w)``) float32 views of consecutive rows, in the original order.

        For a pass over the whole training set (a loss, a metric) without
        touching the epoch's batches: chunks of :func:`~gluonlr.data.chunk_rows`
        rows, as :meth:`StreamData.chunks` reads them. ``x`` is None if not
        ``features`` (predicting 0 needs no features). ``span=(first, stop)``:
        those rows only (see :func:`~gluonlr.data.chunks`).

        Examples
        --------
        >>> data = EpochData(np.arange(4.0).reshape(2, 2), np.array([1.0, 2.0]), batch_size=1)
        >>> [array.shape for array in next(data.chunks())]
        [(2, 2), (2, 1)]
        """
        x, *rest = self._sources
        for _, arrays in chunks(x if features else None, *rest, rows=chunk_rows(x.shape[1]), span=span):
            yield arrays

    def close(self) -> None:
        """Nothing to release: the arrays go with the object (the method of :meth:`StreamData.close`)."""

    @property
    def n_batches(self) -> int:
        """Number of batches in an epoch."""
        return len(self.bounds)

    @property
    def n_outputs(self) -> int:
        """Number of targets per sample (columns of ``y``)."""
        return int(self._sources[1].shape[1])

    def __len__(self) -> int:
        return len(self._sources[0])


class EpochData(ArrayData):
    """``(X, y)`` (and sample weights) on the device, one epoch at a time, in that epoch's order.

    The device holds one copy of the data: a buffer whose memory the host can
    write. :meth:`batches` gathers the epoch's rows ``X[order]``, ``y[order]``
    straight into it with one numpy ``take`` (no temporary copy), after MXNet's
    engine has finished every pending read of the previous epoch
    (``nd.to_dlpack_for_write`` waits for that). Each batch is then a slice of
    the buffer, a view made once and reused: no per-batch gather, no second
    copy of the data. For a small data set; :class:`StreamData` reads large
    ones batch by batch.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
    batch_size : int
        Samples per batch; the last batch is kept even when short.
    sample_weight : ndarray of shape (n_samples,), optional
        Per-sample weights, gathered with the rows; each batch then carries its
        weights as a third item.

    Attributes
    ----------
    X : NDArray of shape (n_samples, n_features)
        The device buffer: the current epoch's features, in its order.
    y : NDArray of shape (n_samples, n_outputs)
        The current epoch's targets, in its order (one column for a 1-D ``y``).
    sample_weight : NDArray of shape (n_samples, 1) or None
        The current epoch's sample weights, in its order.
    sources : tuple of ndarray
        ``(X, y, sample_weight)`` as float32 in their original order, ``y`` of
        shape ``(n_samples, n_outputs)``; ``sample_weight`` None if not given.

    Examples
    --------
    >>> data = EpochData(np.arange(5.0).reshape(5, 1), np.arange(5.0), batch_size=2)
    >>> [yb.asnumpy().ravel().tolist() for _, yb in data.batches(np.array([4, 3, 2, 1, 0]))]
    [[4.0, 3.0], [2.0, 1.0], [0.0]]
    >>> len(data), data.n_outputs
    (5, 1)
    """

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        batch_size: int,
        sample_weight: np.ndarray | None = None,
        part: tuple[int, int] | None = None,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__(X, y, batch_size, sample_weight, part, dtype)
        self._hosts = [np.empty(source.shape, dtype=self.dtype) for source in self._sources]
        # zero_copy: the NDArrays share the host buffers' memory (from_numpy marks
        # the view it is given read-only; the buffers themselves stay writable).
        self._arrays = [nd.from_numpy(host.view(), zero_copy=True) for host in self._hosts]
        self.X, self.y = self._arrays[0], self._arrays[1]
        self.sample_weight = self._arrays[2] if sample_weight is not None else None
        self._views = self._slices() if len(self.bounds) <= _MAX_CACHED_VIEWS else None

    def _slices(self) -> list[tuple[nd.NDArray, ...]]:
        return [self._slice(k) for k in range(len(self.bounds))]

    def _slice(self, k: int) -> tuple[nd.NDArray, ...]:
        start, stop = self.bounds[k]
        if self.sizes is not None:  # a worker's share of the batch
            return _share(tuple(array[start:stop] for array in self._arrays) if stop > start else None, self.sizes[k])
        return tuple(array[start:stop] for array in self._arrays)

    def batch(self, k: int) -> tuple[nd.NDArray, ...]:
        """Return batch ``k`` of the gathered epoch: views ``(x, y)`` (or ``(x, y, w)``) of the device buffer."""
        return self._views[k] if self._views is not None else self._slice(k)

    def gather(self, order: np.ndarray) -> None:
        """Fill the device buffer with the rows of ``(X, y)`` in ``order``."""
        for array in self._arrays:
            nd.to_dlpack_for_write(array)  # waits until no pending operation reads the buffer
        # mode="clip": with the default "raise", numpy gathers into a temporary
        # copy of the whole output first; ``order`` is a permutation, always in range.
        for source, host in zip(self._sources, self._hosts, strict=True):
            np.take(source, order, axis=0, out=host, mode="clip")

    def items(self, order: np.ndarray) -> list[int]:
        """Gather the epoch in ``order``; return the keys of its batches for :meth:`batch`: ``0, 1, ...``."""
        self.gather(order)
        return list(range(len(self.bounds)))

    def batches(self, order: np.ndarray) -> list[tuple[nd.NDArray, ...]]:
        """Gather the epoch in ``order``; return its batches ``(x, y)`` as views of the device buffer.

        ``x`` has shape ``(batch, n_features)`` and ``y`` ``(batch, n_outputs)``;
        with sample weights each batch is ``(x, y, w)``, ``w`` of shape
        ``(batch, 1)``. The views read the buffer: they hold this epoch's rows
        only until the next call.
        """
        self.gather(order)
        return self._views if self._views is not None else self._slices()


class StreamData:
    """``(X, y)`` (and sample weights) read batch by batch, in each epoch's order, with the next batch read ahead.

    The same interface as :class:`EpochData`, for data too large to gather an
    epoch at a time, or not to be loaded at all: a
    :class:`~gluonlr.data.Source` such as a memmap. Batch ``k`` of an epoch
    is the rows ``order[start:stop]``; :meth:`batch` reads them (in sorted
    order, see :meth:`Source.rows`) into new arrays the device shares
    without a copy. :meth:`batches` reads the next batch in a background
    thread while the current one trains, as ``DataLoader(num_workers=1,
    thread_pool=True)`` does on the Gluon path.

    Parameters
    ----------
    X : ndarray or Source of shape (n_samples, n_features)
    y : ndarray or Source of shape (n_samples,) or (n_samples, n_outputs)
    batch_size : int
        Samples per batch; the last batch is kept even when short.
    sample_weight : ndarray of shape (n_samples,), optional
        Per-sample weights, in memory; each batch then carries its weights as a
        third item.

    Attributes
    ----------
    sources : tuple
        ``(X, y, sample_weight)`` as given (numpy arrays or sources).

    Examples
    --------
    >>> data = StreamData(np.arange(5.0).reshape(5, 1), np.arange(5.0), batch_size=2)
    >>> [yb.asnumpy().ravel().tolist() for _, yb in data.batches(np.array([4, 3, 2, 1, 0]))]
    [[4.0, 3.0], [2.0, 1.0], [0.0]]
    >>> data.close()
    """

    def __init__(
        self,
        X: np.ndarray | Source,
        y: np.ndarray | Source,
        batch_size: int,
        sample_weight: np.ndarray | None = None,
        part: tuple[int, int] | None = None,
        dtype: Any = np.float32,
    ) -> None:
        self._X, self._y = X, y
        self.dtype = np.dtype(dtype)  # the model's: float32 (the article's) or float64
        self._sample_weight = None if sample_weight is None else np.asarray(sample_weight, dtype=self.dtype)
        self._n_outputs = int(np.prod(y.shape[1:], dtype=np.int64)) if len(y.shape) > 1 else 1
        self.bounds, self.sizes = _bounds(len(X), batch_size, part)
        self._pool: ThreadPoolExecutor | None = None
        # A sparse X's batches are SparseRows over the columns they use, renumbered by one table (its reading thread's).
        self._columns = ColumnIndex(X.shape[1]) if isinstance(X, SparseSource) else None

    @property
    def sources(self) -> tuple[Any, ...]:
        """``(X, y, sample_weight)`` as given."""
        return self._X, self._y, self._sample_weight

    def items(self, order: np.ndarray) -> list[Any]:
        """Return the keys of the epoch's batches for :meth:`batch`: the rows of each, ``order[start:stop]``.

        For a worker's shares (``part``), each key is ``(rows, size of the whole batch)``.
        """
        if self.sizes is not None:
            return [(order[start:stop], size) for (start, stop), size in zip(self.bounds, self.sizes, strict=True)]
        return [order[start:stop] for start, stop in self.bounds]

    def batch(self, rows: Any) -> tuple[nd.NDArray, ...]:
        """Read the rows ``rows`` of ``(X, y)`` (and the sample weights): NDArrays ``(x, y)`` or ``(x, y, w)``.

        Given a worker's key ``(rows, size)``, return its :class:`Share`.
        """
        if isinstance(rows, tuple):
            rows, size = rows
            return _share(self.batch(rows) if len(rows) else None, size)
        arrays = [
            _rows(self._X, rows, self.dtype),
            _rows(self._y, rows, self.dtype).reshape(len(rows), self._n_outputs),
        ]
        if self._sample_weight is not None:
            arrays.append(self._sample_weight[rows].reshape(len(rows), 1))
        x = self._columns.rows(arrays[0]) if self._columns is not None else device_array(arrays[0])
        return (x, *(device_array(array) for array in arrays[1:]))

    def batches(self, order: np.ndarray) -> Iterator[tuple[nd.NDArray, ...]]:
        """Yield the epoch's batches in ``order``, each read while the one before trains.

        The batches are ``(x, y)`` (or ``(x, y, w)``) as in :meth:`EpochData.batches`.
        """
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gluonlr-read")
        items = self.items(order)
        ahead: Future[tuple[nd.NDArray, ...]] | None = self._pool.submit(self.batch, items[0])
        for k in range(len(items)):
            assert ahead is not None
            batch = ahead.result()
            ahead = self._pool.submit(self.batch, items[k + 1]) if k + 1 < len(items) else None
            yield batch

    def chunks(
        self, features: bool = True, span: tuple[int, int] | None = None
    ) -> Iterator[tuple[np.ndarray | None, ...]]:
        """Yield ``(x, y)`` (or ``(x, y, w)``) float32 arrays of consecutive rows, as :meth:`ArrayData.chunks`."""
        X = self._X if features else None
        rows = chunk_rows(row_width(self._X))  # a sparse X's: by its non-zeros
        for _, (x, y, w) in chunks(X, self._y, self._sample_weight, rows=rows, span=span):
            y = np.asarray(y, dtype=self.dtype).reshape(len(y), self._n_outputs)
            x = x if x is None or is_sparse(x) else np.asarray(x, dtype=self.dtype)
            yield (x, y) if w is None else (x, y, w.reshape(len(y), 1))

    def close(self) -> None:
        """Stop the reading thread (after the read it is doing, if any)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    @property
    def n_batches(self) -> int:
        """Number of batches in an epoch."""
        return len(self.bounds)

    @property
    def n_outputs(self) -> int:
        """Number of targets per sample (columns of ``y``)."""
        return self._n_outputs

    def __len__(self) -> int:
        return len(self._X)


class TakeData(ArrayData):
    """``(X, y)`` (and sample weights) shared with the device where they are; each batch gathered there by ``nd.take``.

    The same interface as :class:`EpochData`, for float32 data too large to
    gather an epoch at a time, in memory or memory-mapped from a ``.npy``
    file: the NDArrays share the arrays' memory (``nd.from_numpy``, no copy;
    a memmap's pages are read by the operators as they need them). Each epoch
    shares its order with the device; batch ``k`` is ``nd.take`` of its
    rows, an operator MXNet's engine runs asynchronously, so the next batch is
    gathered while the Python loop goes on, and the 1000 or so rows of a
    batch stay in the CPU's cache from the gather to the products that read
    them.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32, C-contiguous
        Read only, never copied whole; may be a memmap.
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
    batch_size : int
        Samples per batch; the last batch is kept even when short.
    sample_weight : ndarray of shape (n_samples,), optional

    Examples
    --------
    >>> data = TakeData(np.arange(5.0, dtype=np.float32).reshape(5, 1), np.arange(5.0), batch_size=2)
    >>> [yb.asnumpy().ravel().tolist() for _, yb in data.batches(np.array([4, 3, 2, 1, 0]))]
    [[4.0, 3.0], [2.0, 1.0], [0.0]]
    """

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        batch_size: int,
        sample_weight: np.ndarray | None = None,
        part: tuple[int, int] | None = None,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__(X, y, batch_size, sample_weight, part, dtype)
        self._arrays = [nd.from_numpy(source.view(), zero_copy=True) for source in self._sources]
        self._order: nd.NDArray | None = None

    def items(self, order: np.ndarray) -> list[int]:
        """Share the epoch's ``order`` with the device (no copy); return the keys of its batches: ``0, 1, ...``."""
        self._order = nd.from_numpy(np.ascontiguousarray(order).view(), zero_copy=True)
        return list(range(len(self.bounds)))

    def batch(self, k: int) -> tuple[nd.NDArray, ...]:
        """Return batch ``k`` of the epoch: ``(x, y)`` (or ``(x, y, w)``), gathered by ``nd.take`` of its rows."""
        assert self._order is not None, "items(order) first"
        start, stop = self.bounds[k]
        if self.sizes is not None:  # a worker's share of the batch
            if stop == start:
                return _share(None, self.sizes[k])
            return _share(tuple(nd.take(array, self._order[start:stop]) for array in self._arrays), self.sizes[k])
        rows = self._order[start:stop]
        return tuple(nd.take(array, rows) for array in self._arrays)

    def batches(self, order: np.ndarray) -> Iterator[tuple[nd.NDArray, ...]]:
        """Yield the epoch's batches in ``order``: ``(x, y)`` (or ``(x, y, w)``) as in :meth:`EpochData.batches`."""
        for k in self.items(order):
            yield self.batch(k)


def _shared(array: np.ndarray | Source, dtype: Any = np.float32) -> np.ndarray | None:
    """Return the ``dtype`` C-contiguous numpy array (or memmap) behind ``array`` for the device to share, or None."""
    if isinstance(array, Source):
        if not isinstance(array.array, np.ndarray) or array.row_shape != array.array.shape[1:]:
            return None
        array = array.array[array.start : array.stop]
    if array.dtype != dtype or not array.flags.c_contiguous or array.size >= MAX_NDARRAY_SIZE:
        return None
    return array


def _rows(array: np.ndarray | Source, rows: np.ndarray, dtype: Any = np.float32) -> np.ndarray:
    """Return ``array[rows]`` as ``dtype``: read from a source (as its ``out_dtype``), or gathered from memory."""
    if isinstance(array, Source):
        return array.rows(rows)
    return np.take(array, rows, axis=0).astype(dtype, copy=False)


def epoch_data(
    X: np.ndarray | Source,
    y: np.ndarray | Source,
    batch_size: int,
    sample_weight: np.ndarray | None = None,
    part: tuple[int, int] | None = None,
    dtype: Any = np.float32,
) -> EpochData | TakeData | StreamData:
    """Return the batches of ``(X, y)``, read the cheapest way that keeps memory bounded.

    With ``part=(rank, workers)``, a worker of a ``dist_sync`` job's view: each
    batch is the worker's :class:`Share` of the global batch (see
    :func:`share_bounds`), and only its rows are read. The batches are in
    ``dtype``, the model's (float32, the article's, or float64).

    - :class:`EpochData`: in-memory data of at most :data:`EPOCH_GATHER_BYTES`
      (float32 ``X``, ``y`` and sample weights): one ``take`` an epoch is
      cheaper than one a batch.
    - :class:`TakeData`: larger float32 data in memory, or a float32 ``.npy``
      memmap (a :class:`~gluonlr.data.Source`): shared with the device, never
      copied; ``y`` (one value a row) is loaded if it is not float32.
    - :class:`StreamData`: any other source (another dtype, an
      ``h5py.Dataset``), and data of :data:`MAX_NDARRAY_SIZE` values or more
      (8 GiB of float32), which MXNet cannot take as one array: each batch
      read from it, the next in the background.

    Examples
    --------
    >>> X, y = np.zeros((300, 2), np.float32), np.zeros(300, np.float32)
    >>> [type(epoch_data(X, y, 10)).__name__, type(epoch_data(Source(X), y, 10)).__name__]
    ['EpochData', 'TakeData']
    >>> type(epoch_data(Source(X.astype(np.float64)), y, 10)).__name__
    'StreamData'
    """
    dtype = np.dtype(dtype)
    shared = _shared(X, dtype)
    if shared is None:
        return StreamData(X, y, batch_size, sample_weight, part, dtype)
    if isinstance(y, Source):
        shared_y = _shared(y, dtype)
        y = shared_y if shared_y is not None else y.read(0, len(y))
    row_bytes = dtype.itemsize * (X.shape[1] + (y.shape[1] if y.ndim > 1 else 1) + (sample_weight is not None))
    if isinstance(X, Source) or len(X) * row_bytes > EPOCH_GATHER_BYTES:
        return TakeData(shared, y, batch_size, sample_weight, part, dtype)
    return EpochData(shared, y, batch_size, sample_weight, part, dtype)
