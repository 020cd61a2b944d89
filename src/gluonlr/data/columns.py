r"""A sparse batch on the device over the columns it uses: its CSR rows renumbered, and the columns they name.

A batch of 1,563 hashed rows touches some 21,000 of :math:`2^{20}` columns. Given to MXNet as a CSR
``NDArray`` of all the columns, it costs the batch's columns twice over: the backward of
``nd.sparse.dot(x, w)`` walks every row of ``w``'s ``row_sparse`` gradient (a flag and a prefix sum per
feature), and MXNet 1.9.1 (built without ``USE_INT64_TENSOR_SIZE``) refuses an array of ``rows x features``
:math:`\ge 2^{31}`: a CSR batch of 2,048 rows over :math:`2^{20}` features. So a sparse batch is
:class:`SparseRows`: ``x``, its rows over the :math:`k` columns they use, numbered ``0 .. k-1`` in the order
of ``X``'s, and ``columns``, the :math:`k` columns of ``X``. A learner takes those rows of its weight
(``nd.take``), runs the forward and backward of the article's step on them, and writes the gradient back to
those rows of the weight's ``row_sparse`` gradient (:class:`gluonlr.learners.columns.BatchColumns`): the same
products, in the same order, as on the whole width, so the same numbers, bit for bit.

:class:`ColumnIndex` renumbers a batch's column indices on the host, in the thread that reads the batch
while the one before trains.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from gluonlr._mxnet import mx, nd

__all__ = ["ColumnIndex", "SparseRows"]

#: Below this many stored values per feature column, :class:`ColumnIndex` sorts the indices (``np.unique``);
#: above, it marks the columns in a table of one flag per feature (a pass over ``n_features`` flags).
_SORT_BELOW = 1 / 16


class SparseRows(NamedTuple):
    """A batch of CSR rows on the device over the columns it uses, and those columns.

    Attributes
    ----------
    x : NDArray
        CSR, of shape ``(rows, len(columns))``: column ``j`` is ``X``'s column ``columns[j]``.
    columns : NDArray
        int64, of shape ``(k,)``, ascending: the columns of ``X`` the rows store a value in.
    n_features : int
        The number of columns of ``X``.

    Examples
    --------
    >>> import scipy.sparse
    >>> rows = ColumnIndex(5).rows(scipy.sparse.csr_matrix(np.array([[0, 2, 0, 0, 1], [0, 0, 0, 3, 0]], np.float32)))
    >>> rows.shape, rows.x.shape, rows.columns.asnumpy().tolist()
    ((2, 5), (2, 3), [1, 3, 4])
    >>> rows.x.asnumpy().tolist()
    [[2.0, 0.0, 1.0], [0.0, 3.0, 0.0]]
    """

    x: nd.NDArray
    columns: nd.NDArray
    n_features: int

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, n_features)``: the batch's shape in ``X``."""
        return self.x.shape[0], self.n_features

    @property
    def context(self) -> mx.Context:
        """The device the batch is on."""
        return self.x.context

    def map_x(self, x: nd.NDArray) -> SparseRows:
        """Return the batch with ``x`` (of the same columns) in place of its rows: e.g. the rows standardized."""
        return self._replace(x=x)


class ColumnIndex:
    """Renumber the columns of CSR batches of ``n_features`` columns: one table, reused batch after batch.

    Not thread safe: one reading thread uses it (:class:`~gluonlr.data.StreamData`).

    Examples
    --------
    >>> import scipy.sparse
    >>> index = ColumnIndex(6)
    >>> columns, local = index.renumber(np.array([5, 0, 5, 2]))
    >>> columns.tolist(), local.tolist()
    ([0, 2, 5], [2, 0, 2, 1])
    """

    def __init__(self, n_features: int) -> None:
        self.n_features = n_features
        self._marked: np.ndarray | None = None  # a flag per feature, all False between calls
        self._position: np.ndarray | None = None  # each marked feature's new number

    def renumber(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(columns, local)``: the sorted distinct ``indices``, and each index's position among them."""
        if len(indices) < _SORT_BELOW * self.n_features:  # few values: sorting them beats a pass over the table
            columns, local = np.unique(indices, return_inverse=True)
            return columns.astype(np.int64, copy=False), local.astype(np.int64, copy=False).reshape(-1)
        if self._marked is None or self._position is None:
            self._marked = np.zeros(self.n_features, dtype=bool)
            self._position = np.zeros(self.n_features, dtype=np.int64)
        self._marked[indices] = True
        columns = np.flatnonzero(self._marked)
        self._marked[columns] = False
        self._position[columns] = np.arange(len(columns), dtype=np.int64)
        return columns.astype(np.int64, copy=False), self._position[indices]

    def rows(self, batch: Any) -> SparseRows:
        """Return the ``scipy.sparse`` CSR rows ``batch`` on the device as :class:`SparseRows`."""
        data, indptr = batch.data, batch.indptr
        columns, local = self.renumber(batch.indices)
        if not len(columns):  # rows without a stored value: one explicit 0 in column 0, as MXNet has no empty shape
            data, local, columns = np.zeros(1, batch.dtype), np.zeros(1, np.int64), np.zeros(1, np.int64)
            indptr = np.r_[0, np.ones(len(indptr) - 1, np.int64)]
        x = nd.sparse.csr_matrix((data, local, indptr), shape=(batch.shape[0], len(columns)), dtype=batch.dtype)
        return SparseRows(x, nd.array(columns, dtype=np.int64), self.n_features)
