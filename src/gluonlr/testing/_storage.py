"""Data stored the ways :func:`gluonlr.fit` reads it: in memory, as ``.npy`` memmaps, as a row-reading array-like."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

__all__ = ["STORAGES", "RowArray", "store"]

#: The storages :func:`store` makes: a numpy array; a float32 ``.npy`` memmap (shared with the device); a float64
#: ``.npy`` memmap (read and converted batch by batch); a :class:`RowArray` (an ``h5py.Dataset``'s interface).
STORAGES = ("memory", "memmap", "memmap-float64", "rows")


class RowArray:
    """An array-like with an ``h5py.Dataset``'s reading rules, that records what is read.

    It has ``shape``, ``dtype`` and numpy-style indexing of rows, by a slice or
    by an increasing int array (as h5py, which refuses any other order); every
    read is appended to ``reads`` with the thread that made it. After
    :meth:`close`, reading raises ``ValueError``, as a closed h5py file does.

    Parameters
    ----------
    array : array-like
        The values, copied.

    Attributes
    ----------
    reads : list of (key, thread name)
        Each read: the slice or the row indices, and the reading thread's name.

    Examples
    --------
    >>> rows = RowArray(np.arange(6.0).reshape(3, 2))
    >>> rows[np.array([0, 2])].tolist(), rows.shape, len(rows.reads)
    ([[0.0, 1.0], [4.0, 5.0]], (3, 2), 1)
    >>> rows[np.array([2, 0])]
    Traceback (most recent call last):
    ...
    TypeError: Indexing elements must be in increasing order
    """

    def __init__(self, array: Any) -> None:
        self._array = np.array(array)
        self.shape, self.dtype = self._array.shape, self._array.dtype
        self.reads: list[tuple[Any, str]] = []
        self.closed = False

    def __len__(self) -> int:
        return len(self._array)

    def __getitem__(self, key: Any) -> np.ndarray:
        import threading

        if self.closed:
            raise ValueError("Invalid dataset identifier (the file is closed)")
        if isinstance(key, np.ndarray) and key.size > 1 and not (np.diff(key) > 0).all():
            raise TypeError("Indexing elements must be in increasing order")
        self.reads.append((key, threading.current_thread().name))
        return self._array[key].copy()

    def close(self) -> None:
        """Make every later read fail, as closing an h5py file does."""
        self.closed = True

    def rows_read(self) -> int:
        """Return the number of rows read so far, over all reads."""
        return sum(len(range(*key.indices(len(self)))) if isinstance(key, slice) else len(key) for key, _ in self.reads)


def store(array: np.ndarray, storage: str, directory: str | os.PathLike[str], name: str = "X") -> Any:
    """Return ``array`` stored as ``storage`` (one of :data:`STORAGES`), files in ``directory``.

    Examples
    --------
    >>> import tempfile
    >>> X = np.ones((4, 2), np.float32)
    >>> stored = store(X, "memmap", tempfile.mkdtemp())
    >>> type(stored).__name__, stored.dtype, bool((stored == X).all())
    ('memmap', dtype('float32'), True)
    """
    if storage == "memory":
        return array
    if storage == "rows":
        return RowArray(array)
    dtype = {"memmap": np.float32, "memmap-float64": np.float64}[storage]
    path = os.path.join(directory, f"{name}.npy")
    np.save(path, np.asarray(array, dtype=dtype))
    return np.load(path, mmap_mode="r")
