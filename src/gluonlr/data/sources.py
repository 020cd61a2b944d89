"""Where rows come from: numpy arrays in memory, numpy memmaps, and any array-like that reads rows on demand.

:func:`gluonlr.fit` loads an in-memory array (a numpy array, a list, a
DataFrame) as a float32 copy, as it always has. A :class:`Source` is what it
uses instead for data that should stay where it is: a numpy memmap
(``np.load(path, mmap_mode="r")``, ``np.memmap``) or any object with
``shape``, ``dtype`` and numpy-style row indexing (an ``h5py.Dataset``, a
zarr or dask array). A source is never read whole: training reads the rows
of each batch (:meth:`Source.rows`), and the passes over all the data
(validation, evaluation, a checkpoint's fingerprint) read bounded chunks of
consecutive rows (:func:`chunks`).

Reading "these rows", not "the epoch", is the interface: a data-parallel
worker reads just its share of each batch from the same source.
:class:`SparseSource` is one more source behind it: a ``scipy.sparse``
matrix, whose rows are read as CSR matrices, never densified.
"""

from __future__ import annotations

import builtins
import math
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["CHUNK_BYTES", "Source", "SparseSource", "chunk_rows", "chunks", "is_source", "is_sparse", "row_width"]

#: The float32 bytes of ``X`` one chunk of a pass over the whole data set holds (16 MiB).
CHUNK_BYTES = 16 << 20


def is_source(value: Any) -> bool:
    """Return whether :func:`gluonlr.fit` reads ``value`` row by row rather than loading it.

    True for a numpy memmap, a ``scipy.sparse`` matrix (:class:`SparseSource`),
    a :class:`SparseSource` itself (e.g. a :class:`~gluonlr.data.libsvm_source.LibSVMSource`)
    and any object with ``shape``, ``dtype`` and ``__getitem__`` that is not a
    numpy array or scalar, a sequence, a pandas object (``to_numpy``) or an
    MXNet NDArray (``asnumpy``): those are loaded.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "X.npy")
    >>> np.save(path, np.zeros((3, 2), np.float32))
    >>> is_source(np.load(path, mmap_mode="r")), is_source(np.load(path)), is_source([[1.0, 2.0]])
    (True, False, False)
    """
    if isinstance(value, np.memmap | SparseSource) or is_sparse(value):
        return True
    if (
        isinstance(value, np.ndarray | np.generic | list | tuple)
        or hasattr(value, "to_numpy")
        or hasattr(value, "asnumpy")
    ):
        return False
    return all(hasattr(value, name) for name in ("shape", "dtype", "__getitem__"))


def is_sparse(value: Any) -> bool:
    """Return whether ``value`` is a ``scipy.sparse`` matrix or array (scipy is not imported to find out).

    Examples
    --------
    >>> import scipy.sparse
    >>> is_sparse(scipy.sparse.eye(2, format="coo")), is_sparse(np.eye(2))
    (True, False)
    """
    module = sys.modules.get("scipy.sparse")  # not imported: no scipy.sparse object can exist
    return module is not None and bool(module.issparse(value))


def row_width(array: Any) -> int:
    """Return the values one row of ``array`` holds: its features, or a sparse source's mean non-zeros a row.

    What :func:`~gluonlr.data.chunk_rows` sizes a chunk by: a pass over a sparse matrix reads
    :data:`~gluonlr.data.CHUNK_BYTES` of its non-zeros at a time, not of its dense rows.

    Examples
    --------
    >>> import scipy.sparse
    >>> row_width(np.zeros((3, 4))), row_width(SparseSource(scipy.sparse.eye(4, 1000, format="csr")))
    (4, 1)
    """
    if isinstance(array, SparseSource) or is_sparse(array):
        return max(1, -(-array.nnz // max(1, array.shape[0])))
    return math.prod(array.shape[1:])


def chunk_rows(n_features: int) -> int:
    """Return the rows of ``X`` in one chunk of a pass over the data: :data:`CHUNK_BYTES` of float32 features.

    It depends on the shape only, never on where the data is stored, so an
    in-memory fit and a fit from a memmap sum their losses in the same
    chunks and agree bitwise.

    Examples
    --------
    >>> chunk_rows(2), chunk_rows(100)
    (2097152, 41943)
    """
    return max(1, CHUNK_BYTES // (4 * max(1, n_features)))


class Source:
    """Rows of an array-like that stays where it is, read on demand as float32 (or ``out_dtype``).

    Parameters
    ----------
    array : array-like
        A numpy memmap, or anything with ``shape``, ``dtype`` and numpy-style
        row indexing: ``array[start:stop]`` and ``array[rows]`` for an
        increasing int array ``rows``.
    name : str, default="X"
        What the user called it, for error messages.
    where : str, default="fit"
        The function it was passed to, for error messages.
    start, stop : int, optional
        The rows ``[start, stop)`` of ``array`` this source covers (all by default).
    row_shape : tuple of int, optional
        The shape of one row as read; default ``array.shape[1:]`` (``()`` reads
        a column ``y`` of shape ``(n, 1)`` as ``(n,)``).
    out_dtype : numpy dtype, default=float32
        The dtype rows are read as: the model's (``fit(dtype=...)``).

    Attributes
    ----------
    array : array-like
        The array-like given.
    dtype : numpy.dtype
        Its dtype; rows are converted to ``out_dtype`` as they are read.

    Examples
    --------
    >>> source = Source(np.arange(10.0).reshape(5, 2))
    >>> source.shape, len(source)
    ((5, 2), 5)
    >>> source.rows(np.array([4, 0])).tolist()
    [[8.0, 9.0], [0.0, 1.0]]
    >>> source.slice(1, 3).read(0, 2).tolist()
    [[2.0, 3.0], [4.0, 5.0]]
    """

    def __init__(
        self,
        array: Any,
        name: str = "X",
        where: str = "fit",
        *,
        start: int = 0,
        stop: int | None = None,
        row_shape: tuple[int, ...] | None = None,
        out_dtype: Any = np.float32,
    ) -> None:
        self.array = array
        self.out_dtype = np.dtype(out_dtype)
        self.name, self.where = name, where
        self.dtype = np.dtype(array.dtype)
        self.start = start
        self.stop = int(array.shape[0]) if stop is None else stop
        self.row_shape = tuple(int(size) for size in array.shape[1:]) if row_shape is None else row_shape

    @property
    def shape(self) -> tuple[int, ...]:
        """``(n_rows, *row_shape)``."""
        return (self.stop - self.start, *self.row_shape)

    @property
    def ndim(self) -> int:
        """Number of dimensions of :attr:`shape`."""
        return 1 + len(self.row_shape)

    def __len__(self) -> int:
        return self.stop - self.start

    def __repr__(self) -> str:
        return f"Source({type(self.array).__name__} {self.name}, rows {self.start}:{self.stop}, dtype {self.dtype})"

    def slice(self, start: int, stop: int) -> Source:
        """Return the source of rows ``[start, stop)`` of this one, without reading them."""
        return Source(
            self.array,
            self.name,
            self.where,
            start=self.start + start,
            stop=self.start + stop,
            row_shape=self.row_shape,
            out_dtype=self.out_dtype,
        )

    def rows(self, indices: np.ndarray) -> np.ndarray:
        """Read the rows ``indices`` (positions in this source, each at most once), in that order, as ``out_dtype``.

        The rows are read in increasing order, which a file on disk serves
        with far fewer seeks (and an ``h5py.Dataset`` requires), then put in
        the order asked for.
        """
        indices = np.asarray(indices, dtype=np.int64)
        order = np.argsort(indices, kind="stable")
        block = self._read(indices[order] + self.start)
        out = np.empty((len(indices), *self.row_shape), dtype=self.out_dtype)
        with np.errstate(over="ignore", invalid="ignore"):  # beyond out_dtype: inf, which validation reports
            out[order] = block.reshape(len(indices), *self.row_shape)
        return out

    def read(self, start: int, stop: int) -> np.ndarray:
        """Read the consecutive rows ``[start, stop)`` as a new ``out_dtype`` array."""
        block = self._read(slice(self.start + start, self.start + stop))
        with np.errstate(over="ignore", invalid="ignore"):
            return np.ascontiguousarray(block, dtype=self.out_dtype).reshape(stop - start, *self.row_shape)

    def _read(self, rows: np.ndarray | builtins.slice) -> np.ndarray:
        try:
            block = np.asarray(self.array[rows])
        except Exception as error:  # a closed file, an I/O error, indexing the array-like does not support
            raise ValueError(
                f"Reading rows of {self.name} passed to {self.where} ({type(self.array).__name__}) failed: "
                f"{type(error).__name__}: {error}. Keep the file open and readable until fit returns."
            ) from error
        count = len(rows) if isinstance(rows, np.ndarray) else rows.stop - rows.start
        if block.shape[:1] != (count,) or math.prod(block.shape[1:]) != math.prod(self.row_shape):
            raise ValueError(
                f"Reading {count} rows of {self.name} passed to {self.where} ({type(self.array).__name__}) gave an "
                f"array of shape {block.shape}; fit needs numpy-style row indexing: {self.name}[rows] of shape "
                f"({count}, {', '.join(map(str, self.row_shape))})."
            )
        return block


def chunks(
    *arrays: np.ndarray | Source | None, rows: int | None = None, span: tuple[int, int] | None = None
) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """Yield ``(start, (a[start:stop], b[start:stop], ...))`` for consecutive chunks of ``rows`` rows.

    numpy arrays give views (float32 data stays uncopied); sources are read
    (:meth:`Source.read`); None stays None. ``rows`` defaults to
    :func:`chunk_rows` of the first array's row width (its values per row).
    ``span=(first, stop)`` limits the chunks to those rows (a worker's part of
    a pass, in a ``dist_sync`` job); all of them by default.

    Examples
    --------
    >>> [(start, a.tolist()) for start, (a, _) in chunks(np.arange(5.0), None, rows=2)]
    [(0, [0.0, 1.0]), (2, [2.0, 3.0]), (4, [4.0])]
    >>> [(start, a.tolist()) for start, (a,) in chunks(np.arange(5.0), rows=2, span=(1, 4))]
    [(1, [1.0, 2.0]), (3, [3.0])]
    """
    first = next(array for array in arrays if array is not None)
    low, n = span if span is not None else (0, first.shape[0])
    if rows is None:
        rows = chunk_rows(row_width(first))
    for start in range(low, n, rows):
        stop = min(start + rows, n)
        yield (
            start,
            tuple(
                None if array is None else array.read(start, stop) if isinstance(array, Source) else array[start:stop]
                for array in arrays
            ),
        )


class SparseSource(Source):
    """The rows of a ``scipy.sparse`` matrix, read as CSR matrices of ``out_dtype``: never densified.

    Any sparse format is converted to CSR once (a copy of the non-zeros, as
    ``matrix.tocsr()``; duplicate entries summed); a CSR matrix of
    ``out_dtype`` in canonical form is used as it is, never copied or
    modified. :meth:`rows` and :meth:`read` return ``scipy.sparse.csr_matrix``
    blocks: the batches turn them into MXNet CSR ``NDArray`` s over the columns they use
    (:meth:`gluonlr.data.columns.ColumnIndex.rows`), the passes over the data
    compute with them on the host. Memory is that of the non-zeros.

    Parameters
    ----------
    matrix : scipy.sparse matrix or array of shape (n_samples, n_features)
    name, where, start, stop, out_dtype
        As :class:`Source`'s.

    Examples
    --------
    >>> import scipy.sparse
    >>> source = SparseSource(scipy.sparse.coo_matrix(np.array([[0.0, 2.0], [3.0, 0.0], [0.0, 0.0]])))
    >>> source.shape, source.nnz, source.dtype
    ((3, 2), 2, dtype('float32'))
    >>> source.rows(np.array([1, 0])).toarray().tolist()
    [[3.0, 0.0], [0.0, 2.0]]
    >>> source.slice(1, 3).read(0, 2).toarray().tolist()
    [[3.0, 0.0], [0.0, 0.0]]
    """

    def __init__(
        self,
        matrix: Any,
        name: str = "X",
        where: str = "fit",
        *,
        start: int = 0,
        stop: int | None = None,
        row_shape: tuple[int, ...] | None = None,
        out_dtype: Any = np.float32,
    ) -> None:
        import scipy.sparse  # here: a dense fit never imports scipy

        out_dtype = np.dtype(out_dtype)
        csr = matrix
        if not (isinstance(csr, scipy.sparse.csr_matrix) and csr.dtype == out_dtype and csr.has_canonical_format):
            csr = scipy.sparse.csr_matrix(matrix, dtype=out_dtype, copy=True)  # one copy, in CSR
            csr.sum_duplicates()  # as toarray() adds them up; sorts the indices too
        super().__init__(csr, name, where, start=start, stop=stop, row_shape=row_shape, out_dtype=out_dtype)
        self.dtype = out_dtype  # converted once: the rows are read as they are

    @property
    def nnz(self) -> int:
        """The non-zeros stored in this source's rows."""
        indptr = self.array.indptr
        return int(indptr[self.stop] - indptr[self.start])

    def __repr__(self) -> str:
        return f"SparseSource(csr {self.name}, rows {self.start}:{self.stop}, {self.nnz} non-zeros, {self.dtype})"

    def slice(self, start: int, stop: int) -> SparseSource:
        """Return the source of rows ``[start, stop)`` of this one, sharing the matrix."""
        return SparseSource(
            self.array,
            self.name,
            self.where,
            start=self.start + start,
            stop=self.start + stop,
            row_shape=self.row_shape,
            out_dtype=self.out_dtype,
        )

    def renamed(self, name: str, where: str, out_dtype: Any) -> SparseSource:
        """Return this source under another name, for ``where``, its rows read as ``out_dtype``."""
        return SparseSource(
            self.array, name, where, start=self.start, stop=self.stop, row_shape=self.row_shape, out_dtype=out_dtype
        )

    def rows(self, indices: np.ndarray) -> Any:
        """Return the rows ``indices``, in that order, as a new ``scipy.sparse.csr_matrix``."""
        return self.array[np.asarray(indices, dtype=np.int64) + self.start]

    def read(self, start: int, stop: int) -> Any:
        """Return the consecutive rows ``[start, stop)`` as a new ``scipy.sparse.csr_matrix``."""
        return self.array[self.start + start : self.start + stop]
