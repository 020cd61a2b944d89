"""A LibSVM (svmlight) file larger than memory, read by byte ranges: :class:`LibSVMSource`.

:func:`~gluonlr.data.libsvm.read_libsvm` reads a whole file into a CSR matrix, whose memory grows with its
non-zeros. :class:`LibSVMSource` reads the file once, in blocks, checking every line exactly as
:func:`~gluonlr.data.libsvm.read_libsvm` does (a bad line is named the same way), and keeps only, for each
line of data, its byte offset (8 bytes), its row's place among the non-zeros (8 bytes) and its target. Its
rows are then read from the file when asked for: each run of consecutive rows is one ``seek`` and one
``read`` of a byte range, parsed by the same block parser into a CSR matrix holding exactly the values,
indices and dtypes of the same rows of :func:`~gluonlr.data.libsvm.read_libsvm`'s matrix. A fit on it is
therefore bitwise the fit on that matrix.

Each read checks that the file is the one read in the first pass: the same size and modification time, each
row's bytes ending a line, and each row's non-zero count and target those of the first pass. A file changed in
between is refused with a ``ValueError`` naming it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from gluonlr.data import libsvm
from gluonlr.data.libsvm import (
    _FORM,
    _INT32_MAX,
    _blocks_at,
    _make_rules,
    _parse_block,
    _raise_bad_line,
    _Rules,
)
from gluonlr.data.sources import SparseSource

__all__ = ["LibSVMSource"]


@dataclass(frozen=True)
class _Index:
    """What the first pass over a LibSVM file keeps: where each line of data is, and no value but its target.

    ``offsets[i]`` is the byte offset of row ``i``'s line, ``offsets[n]`` the file's size: the bytes
    ``offsets[i]:offsets[i + 1]`` hold row ``i`` (and maybe comments or blank lines after it). ``indptr`` is
    what the row's CSR ``indptr`` would be (int64).
    """

    path: str
    identity: tuple[int, int]  # the file's size and modification time (ns) when it was read
    rules: _Rules
    offsets: np.ndarray
    indptr: np.ndarray
    y: np.ndarray
    n_features: int
    index_dtype: np.dtype

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_samples, n_features)``, for :class:`~gluonlr.data.Source`."""
        return (len(self.y), self.n_features)

    @property
    def dtype(self) -> np.dtype:
        """The dtype the values were read in."""
        return self.rules.dtype


def _identity(stat: os.stat_result) -> tuple[int, int]:
    return (stat.st_size, stat.st_mtime_ns)


def _changed(path: str, why: str) -> ValueError:
    return ValueError(
        f"{path} changed since gluonlr read it first ({why}): a LibSVM file read by byte ranges must stay as it "
        "is until fit, predict or evaluate returns. Run again on the file as it is now."
    )


def _scan(path: str, rules: _Rules, n_features: int | None) -> _Index:
    """Read the file once, every line checked, keeping each line of data's offset, its non-zeros and target."""
    try:
        before = _identity(os.stat(path))
    except OSError as error:
        raise ValueError(f"{path} could not be read: {error}.") from error
    offsets: list[np.ndarray] = []
    counts: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    largest = -1
    for offset, first_line, block in _blocks_at(path):
        parsed = _parse_block(block, first_line, rules)
        if parsed is None:
            _raise_bad_line(path, block, first_line, rules)
        y, indices, _, row_counts, lines = parsed
        if len(indices) and indices.max() > largest:
            largest = int(indices.max())
        if lines:
            line_starts = np.concatenate(([0], np.flatnonzero(np.frombuffer(block, np.uint8) == ord("\n")) + 1))
            offsets.append(offset + line_starts[np.asarray(lines, dtype=np.int64) - first_line])
        counts.append(row_counts)
        targets.append(y)
    after = os.stat(path)
    if _identity(after) != before:
        raise _changed(path, "while it was read")
    n = sum(len(part) for part in counts)
    if n == 0:
        raise ValueError(f"{path} holds no line of data. {_FORM}, one line per sample.")
    shift = 0 if rules.zero_based else 1
    if n_features is None:
        n_features = max(largest + 1 - shift, 1)  # a file of empty rows: one column, as read_libsvm's
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.concatenate(counts), out=indptr[1:])
    wide = max(n_features, int(indptr[-1])) > _INT32_MAX  # read_libsvm's rule, for the whole file
    return _Index(
        path=path,
        identity=before,
        rules=rules,
        offsets=np.concatenate([*offsets, [after.st_size]]).astype(np.int64),
        indptr=indptr,
        y=np.concatenate(targets).astype(rules.dtype),
        n_features=int(n_features),
        index_dtype=np.dtype(np.int64 if wide else np.int32),
    )


def _pieces(index: _Index, rows: np.ndarray) -> list[tuple[int, int]]:
    """Return the ``(first, stop)`` row ranges to read for the sorted distinct ``rows``: each at most a block."""
    if len(rows) == 0:
        return []
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    firsts = rows[np.concatenate(([0], breaks))]
    stops = rows[np.concatenate((breaks - 1, [len(rows) - 1]))] + 1
    long = np.flatnonzero(index.offsets[stops] - index.offsets[firsts] > libsvm.BLOCK_BYTES)
    if len(long) == 0:
        return list(zip(firsts.tolist(), stops.tolist(), strict=True))
    pieces = []
    for first, stop in zip(firsts.tolist(), stops.tolist(), strict=True):
        while first < stop:  # a long run: parsed a block of bytes at a time, as the first pass did
            end = int(np.searchsorted(index.offsets, index.offsets[first] + libsvm.BLOCK_BYTES, side="right")) - 1
            end = min(stop, max(first + 1, end))
            pieces.append((first, end))
            first = end
    return pieces


def _read_rows(index: _Index, rows: np.ndarray, out_dtype: np.dtype) -> Any:
    """Read the sorted distinct absolute ``rows`` from the file as a CSR matrix of ``out_dtype``."""
    import scipy.sparse

    path = index.path
    data: list[np.ndarray] = []
    indices: list[np.ndarray] = []
    counts: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    try:
        file = open(path, "rb", buffering=0)  # closed below: an error opening it is named
    except OSError as error:
        raise _changed(path, f"it can no longer be opened: {error}") from error
    with file:
        if _identity(os.fstat(file.fileno())) != index.identity:
            raise _changed(path, "its size or modification time differs")
        group: list[bytes] = []
        size = 0
        pieces = _pieces(index, rows)
        offsets = index.offsets
        n = len(index.y)
        for number, (first, stop) in enumerate(pieces):
            start, end = int(offsets[first]), int(offsets[stop])
            piece = _read_exactly(file, start, end - start, path)
            if stop < n and not piece.endswith(b"\n"):  # a row's bytes end where the next line starts
                raise _changed(path, "its lines are no longer those read")
            group.append(piece)
            size += end - start
            if size >= libsvm.BLOCK_BYTES or number == len(pieces) - 1:
                _parse_group(index, b"\n".join(group), ys, data, indices, counts)
                group, size = [], 0
    row_counts = np.concatenate(counts) if counts else np.zeros(0, np.int64)
    targets = np.concatenate(ys).astype(index.rules.dtype) if ys else np.zeros(0, index.rules.dtype)
    if not (
        np.array_equal(row_counts, index.indptr[rows + 1] - index.indptr[rows])
        and targets.tobytes() == index.y[rows].tobytes()
    ):
        raise _changed(path, "its lines are no longer those read")
    index_dtype = index.index_dtype
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(row_counts, out=indptr[1:])
    column = np.concatenate(indices).astype(index_dtype, copy=False) if indices else np.zeros(0, index_dtype)
    if not index.rules.zero_based:
        column -= 1
    values = np.concatenate(data) if data else np.zeros(0, index.rules.dtype)
    with np.errstate(over="ignore", invalid="ignore"):  # beyond out_dtype: inf, which validation reports
        values = values.astype(out_dtype, copy=False)
    matrix = scipy.sparse.csr_matrix(
        (values, column, indptr.astype(index_dtype, copy=False)), shape=(len(rows), index.n_features), copy=False
    )
    matrix.has_sorted_indices = True  # each line's indices increase: checked as they were read
    return matrix


def _read_exactly(file: Any, start: int, size: int, path: str) -> bytes:
    """Read the ``size`` bytes of ``file`` from ``start`` (with ``os.pread`` where there is one)."""
    if hasattr(os, "pread"):
        part = os.pread(file.fileno(), size, start)
        if len(part) == size:
            return part
    file.seek(start)
    parts = []
    while size > 0:  # a raw file may return fewer bytes at a time
        part = file.read(size)
        if not part:
            raise _changed(path, "it is shorter")
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def _parse_group(
    index: _Index,
    block: bytes,
    ys: list[np.ndarray],
    data: list[np.ndarray],
    indices: list[np.ndarray],
    counts: list[np.ndarray],
) -> None:
    """Parse the bytes of some rows into the lists (the caller checks that they are those rows)."""
    parsed = _parse_block(block, 1, index.rules)
    if parsed is None:
        raise _changed(index.path, "its lines are no longer those read")
    y, row_indices, values, row_counts, _ = parsed
    ys.append(y)
    data.append(values)
    indices.append(row_indices.astype(np.int32))  # as read_libsvm's: each at most MAX_INDEX
    counts.append(row_counts)


class LibSVMSource(SparseSource):
    r"""The rows of a LibSVM (svmlight) file, read from it by byte ranges as CSR matrices: never held whole.

    A :class:`~gluonlr.data.SparseSource` for all of gluonlr (:func:`gluonlr.fit` trains on its CSR batches
    on both paths), built by one pass over the file that checks every line as
    :func:`~gluonlr.data.libsvm.read_libsvm` does and keeps 16 bytes a row besides the targets. Its
    :meth:`rows` and :meth:`read` are bitwise the same rows of :func:`~gluonlr.data.libsvm.read_libsvm`'s
    matrix (values, indices and dtypes), so a fit on it is bitwise the fit on that matrix.

    Parameters
    ----------
    path : str or os.PathLike
        The file. It must not change while the source is used: each read checks its size and
        modification time.
    zero_based, n_features, n_features_from, dtype
        As :func:`~gluonlr.data.libsvm.read_libsvm`'s.
    name : str, default="X"
        What the user called it, for error messages.
    where : str, default="fit"
        The function it is passed to, for error messages.

    Attributes
    ----------
    path : str
        The file.
    y : ndarray of shape (n_samples,)
        The targets of this source's rows, of ``dtype``: those of :func:`~gluonlr.data.libsvm.read_libsvm`.

    Raises
    ------
    ValueError
        As :func:`~gluonlr.data.libsvm.read_libsvm` for a bad line (naming the file, the line and what is
        wrong), a file without data and a bad ``n_features``; when reading rows, for a file changed since.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "data.svm"
    >>> _ = path.write_text("3 1:1 3:2\n# a comment\n-1 2:0.5\n\n2 1:4\n")
    >>> source = LibSVMSource(path)
    >>> source.shape, source.nnz, source.y.tolist()
    ((3, 3), 4, [3.0, -1.0, 2.0])
    >>> source.rows(np.array([2, 0])).toarray().tolist()
    [[4.0, 0.0, 0.0], [1.0, 0.0, 2.0]]
    >>> source.slice(1, 3).read(0, 2).toarray().tolist()
    [[0.0, 0.5, 0.0], [4.0, 0.0, 0.0]]
    """

    array: _Index

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        zero_based: bool = False,
        n_features: int | None = None,
        n_features_from: str = "--n-features",
        dtype: Any = np.float32,
        name: str = "X",
        where: str = "fit",
    ) -> None:
        text = os.fspath(path)
        rules = _make_rules(zero_based, n_features, n_features_from, dtype, "LibSVMSource")
        self._setup(_scan(text, rules, n_features), name, where, 0, None, rules.dtype)

    def _setup(self, index: _Index, name: str, where: str, start: int, stop: int | None, out_dtype: Any) -> None:
        # Source's attributes, without SparseSource's matrix: ``array`` is the file's index.
        super(SparseSource, self).__init__(index, name, where, start=start, stop=stop, out_dtype=out_dtype)
        self.dtype = self.out_dtype  # the rows are read as out_dtype

    @classmethod
    def _view(cls, index: _Index, name: str, where: str, start: int, stop: int, out_dtype: Any) -> LibSVMSource:
        source = cls.__new__(cls)
        source._setup(index, name, where, start, stop, out_dtype)
        return source

    @property
    def path(self) -> str:
        """The file read."""
        return self.array.path

    @property
    def y(self) -> np.ndarray:
        """The targets of this source's rows (a view of those read in the first pass)."""
        return self.array.y[self.start : self.stop]

    @property
    def nnz(self) -> int:
        """The non-zeros stored in this source's rows."""
        indptr = self.array.indptr
        return int(indptr[self.stop] - indptr[self.start])

    def __repr__(self) -> str:
        return (
            f"LibSVMSource({self.path!r} {self.name}, rows {self.start}:{self.stop}, {self.nnz} non-zeros, "
            f"{self.dtype})"
        )

    def slice(self, start: int, stop: int) -> LibSVMSource:
        """Return the source of rows ``[start, stop)`` of this one, sharing the file's index."""
        return self._view(self.array, self.name, self.where, self.start + start, self.start + stop, self.out_dtype)

    def renamed(self, name: str, where: str, out_dtype: Any) -> LibSVMSource:
        """Return this source under another name, for ``where``, its rows read as ``out_dtype``."""
        return self._view(self.array, name, where, self.start, self.stop, out_dtype)

    def rows(self, indices: np.ndarray) -> Any:
        """Return the rows ``indices``, in that order, as a new ``scipy.sparse.csr_matrix``, read from the file."""
        indices = np.asarray(indices, dtype=np.int64)
        distinct, inverse = np.unique(indices, return_inverse=True)
        matrix = _read_rows(self.array, distinct + self.start, self.out_dtype)
        if len(distinct) != len(indices) or np.any(inverse != np.arange(len(indices))):
            matrix = matrix[inverse]
        return matrix

    def read(self, start: int, stop: int) -> Any:
        """Return the consecutive rows ``[start, stop)`` as a new ``scipy.sparse.csr_matrix``, read from the file."""
        return _read_rows(self.array, np.arange(self.start + start, self.start + stop), self.out_dtype)
