"""The data: the article's data set, sources of rows in memory or on disk, and the batches both paths train on.

- :mod:`gluonlr.data.synthetic`: :func:`synthetic_data`, the article's data set.
- :mod:`gluonlr.data.sources`: :class:`Source`, rows of a memmap or any
  array-like, read on demand; :class:`SparseSource`, of a ``scipy.sparse`` matrix.
- :mod:`gluonlr.data.batches`: :func:`epoch_order`, the one seeded source of
  batch order, and :class:`EpochData` / :class:`StreamData`, the batches on
  the device.
"""

from gluonlr.data.batches import (
    EPOCH_GATHER_BYTES,
    MAX_NDARRAY_SIZE,
    ArrayData,
    EpochData,
    Share,
    StreamData,
    TakeData,
    batch_bounds,
    epoch_data,
    epoch_order,
    share_bounds,
)
from gluonlr.data.sources import CHUNK_BYTES, Source, SparseSource, chunk_rows, chunks, is_source, is_sparse
from gluonlr.data.synthetic import TRUE_B, TRUE_W, synthetic_data

__all__ = [
    "CHUNK_BYTES",
    "EPOCH_GATHER_BYTES",
    "MAX_NDARRAY_SIZE",
    "TRUE_B",
    "TRUE_W",
    "ArrayData",
    "EpochData",
    "Share",
    "Source",
    "SparseSource",
    "StreamData",
    "TakeData",
    "batch_bounds",
    "chunk_rows",
    "chunks",
    "epoch_data",
    "epoch_order",
    "is_source",
    "is_sparse",
    "share_bounds",
    "synthetic_data",
]
