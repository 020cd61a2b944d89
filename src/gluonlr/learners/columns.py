"""A sparse batch's step on the weights of its columns only, the whole weight's gradient written from theirs.

Both learners train on a sparse ``X``'s batches (:class:`~gluonlr.data.columns.SparseRows`) the same way:
the rows of the weight for the batch's columns, ``nd.take(w, columns)``, become a leaf of their own with a
``row_sparse`` gradient; the article's forward and ``backward`` run on the batch's rows over those columns;
and their gradient is written to the same rows of the whole weight's ``row_sparse`` gradient buffer, which
the lazy SGD step (or the ``Trainer``, or a ``dist_sync`` job's :class:`~gluonlr.parallel.GradientSum`) reads
as before. The products and sums are those of ``nd.sparse.dot`` over every column, in the same order: the
same gradient, bit for bit, at a cost of the batch's non-zeros and columns rather than of every feature.
"""

from __future__ import annotations

from gluonlr._mxnet import nd
from gluonlr.data.columns import SparseRows

__all__ = ["BatchColumns"]


class BatchColumns:
    """The weight's rows for a sparse batch's columns, as a leaf with a ``row_sparse`` gradient.

    Parameters
    ----------
    weight : NDArray
        The whole weight, of shape ``(n_features, n_outputs)`` (the layout of ``nd.sparse.dot(x, w)``).
    batch : SparseRows
        The batch whose columns to take.

    Attributes
    ----------
    weight : NDArray
        ``(len(batch.columns), n_outputs)``: the rows of ``weight`` for the batch's columns, with a gradient.

    Examples
    --------
    >>> import numpy as np, scipy.sparse
    >>> from gluonlr._mxnet import autograd
    >>> from gluonlr.data.columns import ColumnIndex
    >>> w = nd.array([[1.0], [2.0], [3.0], [4.0]])
    >>> w.attach_grad(stype="row_sparse")
    >>> batch = ColumnIndex(4).rows(scipy.sparse.csr_matrix(np.array([[0.0, 5.0, 0.0, 1.0]], np.float32)))
    >>> local = BatchColumns(w, batch)
    >>> with autograd.record():
    ...     prediction = nd.sparse.dot(batch.x, local.weight)
    >>> prediction.backward()
    >>> local.write_gradient(w.grad)
    >>> prediction.asnumpy().tolist(), w.grad.indices.asnumpy().tolist(), w.grad.data.asnumpy().ravel().tolist()
    ([[14.0]], [1, 3], [5.0, 1.0])
    """

    def __init__(self, weight: nd.NDArray, batch: SparseRows) -> None:
        self.columns = batch.columns
        self.weight = nd.take(weight, batch.columns)
        self.weight.attach_grad(stype="row_sparse")

    def write_gradient(self, grad: nd.NDArray) -> None:
        """Write this object's ``weight``'s gradient into ``grad``, the whole weight's ``row_sparse`` gradient."""
        # Every one of the batch's columns stores a value, so the local gradient holds a row for each: its rows in
        # order are the columns' (dense, an operator MXNet runs when it is due, where reading the row_sparse
        # gradient's own indices would wait for the backward).
        gradient = nd.sparse.cast_storage(self.weight.grad, "default")
        nd.sparse.row_sparse_array((gradient, self.columns), shape=grad.shape, dtype=grad.dtype).copyto(grad)
