r"""The article's training pieces, written by hand with raw autograd.

The first six functions are the article's program, line for line, each beside
its Gluon twin of the same name in :mod:`gluonlr.gluon` (read the two modules
side by side to see what Gluon does for you):

==============  ========================================  ====================================
role            here, as the article writes it            :mod:`gluonlr.gluon`
==============  ========================================  ====================================
parameters      :func:`init_params`: ``w``, ``b``,        ``nn.Dense`` + ``initialize()``
                ``attach_grad()``
net             :func:`net`: ``nd.dot(x, w) + b``         ``dense(x)``
loss            :func:`squared_loss`: ``(yhat - y)**2``   ``L2Loss(weight=2)``
batches         :func:`data_iter`: shuffled indices,      ``DataLoader(ArrayDataset(...))``
                ``nd.take`` per batch
step            :func:`sgd`: ``param[:] = param -         ``trainer.step(divisor)``
                lr * param.grad / divisor``
loop            :func:`train`                             :func:`gluonlr.gluon.train`
==============  ========================================  ====================================

:func:`gluonlr.fit` takes the same steps with the same arithmetic, made fast,
and every option: :func:`make_loss` (every loss of fit), :func:`fast_batches`
(each epoch gathered once on the device, or streamed from disk) and
:func:`fast_sgd` (one fused kernel for all parameters), which
:class:`gluonlr.learners.ManualLearner` runs with what a production fit adds
(several devices, a ``dist_sync`` job, the optimizer's state, checkpoints).
A training loop written from the first six equals ``fit(path="manual")``: bit
for bit with the article's ``reduction="sum"``, to float32 round-off with
``"mean"``, where :func:`sgd`'s ``lr * grad / d`` and the fused kernel's
``lr * (grad * (1/d))`` may round apart in the last bit
(``tests/test_literal.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

from gluonlr._mxnet import autograd, mx, nd
from gluonlr._validation import check_batches, check_loop
from gluonlr.conventions import LOSS_SCALE, step_divisor
from gluonlr.data import EpochData, StreamData, TakeData, epoch_order
from gluonlr.optimizers import fused_sgd, lazy_sgd

__all__ = [
    "data_iter",
    "fast_batches",
    "fast_sgd",
    "init_params",
    "make_loss",
    "net",
    "sgd",
    "sparse_net",
    "sparse_sgd",
    "squared_loss",
    "train",
]

# A per-sample loss on the device: loss(yhat, y[, sample_weight]), one loss per sample.
LossFn = Callable[..., nd.NDArray]


# -- The article's pieces, as it writes them -----------------------------------------------------------------------


def init_params(
    weight: np.ndarray,
    bias: float | np.ndarray,
    ctx: mx.Context | None = None,
    dtype: str = "float32",
    sparse: bool = False,
) -> list[nd.NDArray]:
    """Create the parameters ``[w, b]`` on device ``ctx`` and attach a gradient buffer to each.

    ``attach_grad`` "asks the system for space for the gradient", as the article
    puts it; ``backward`` writes into that space.

    Parameters
    ----------
    weight : ndarray of shape (n_features,) or (n_features, n_outputs)
        Initial weights (the article's ``nd.random_normal(shape=(2))``; see
        :func:`gluonlr.initial_params`).
    bias : float or ndarray of shape (n_outputs,)
        Initial bias (the article's ``nd.zeros((1))``).
    ctx : Context, optional
        The device; MXNet's current one (the CPU) by default.
    dtype : {"float32", "float64"}, default="float32"
        The parameters' dtype, and so their gradients' (the article's is float32).
    sparse : bool, default=False
        For CSR rows (:func:`sparse_net`): ``w.attach_grad(stype="row_sparse")``,
        a gradient that holds only the rows of the batch's features.

    Returns
    -------
    list of NDArray
        ``w`` of shape ``(n_features, n_outputs)`` and ``b`` of shape ``(n_outputs,)``.

    Examples
    --------
    >>> w, b = init_params(np.array([1.0, 2.0]), 0.5)
    >>> w.shape, b.asnumpy().tolist()
    ((2, 1), [0.5])
    >>> init_params(np.array([1.0, 2.0]), 0.5, ctx=mx.cpu(1))[0].context
    cpu(1)
    >>> init_params(np.array([1.0, 2.0]), 0.5, dtype="float64")[0].dtype
    <class 'numpy.float64'>
    >>> init_params(np.array([1.0, 2.0]), 0.5, sparse=True)[0].grad.stype
    'row_sparse'
    """
    weight = np.asarray(weight, dtype=dtype)
    weight = weight.reshape(len(weight), -1)
    bias = np.asarray(bias, dtype=dtype).reshape(-1)
    w = nd.array(weight, ctx=ctx, dtype=dtype)
    b = nd.array(bias, ctx=ctx, dtype=dtype)
    params = [w, b]
    for param in params:
        param.attach_grad()
    if sparse:
        w.attach_grad(stype="row_sparse")
    return params


def net(
    x: nd.NDArray,
    w: nd.NDArray,
    b: nd.NDArray,
) -> nd.NDArray:
    """Apply the article's network, the linear model ``x . w + b``.

    Examples
    --------
    >>> w, b = init_params(np.array([2.0, 51.0]), 21.2)
    >>> print(net(nd.array([[1.0, 1.0]]), w, b).asnumpy())
    [[74.2]]
    """
    return nd.dot(x, w) + b


def sparse_net(
    x: nd.NDArray,
    w: nd.NDArray,
    b: nd.NDArray,
) -> nd.NDArray:
    """Apply the linear model to CSR rows: ``nd.sparse.dot(x, w) + b``, never densifying ``x``.

    :func:`net` for a sparse ``X``: ``x`` a CSR ``NDArray`` (a batch of a
    ``scipy.sparse`` matrix), ``w`` from ``init_params(..., sparse=True)``.
    ``backward`` then gives ``w`` a ``row_sparse`` gradient, the rows of the
    batch's features only, which :func:`sparse_sgd` applies lazily.

    Examples
    --------
    >>> w, b = init_params(np.array([2.0, 51.0]), 21.2, sparse=True)
    >>> x = nd.sparse.csr_matrix(nd.array([[0.0, 1.0]]).asnumpy())
    >>> print(sparse_net(x, w, b).asnumpy())
    [[72.2]]
    """
    return nd.sparse.dot(x, w) + b


def squared_loss(
    yhat: nd.NDArray,
    y: nd.NDArray,
) -> nd.NDArray:
    r"""Return the article's per-sample loss, the squared error :math:`(\hat y - y)^2`.

    No ½ and no mean: ``backward`` on the vector of losses sums them, and the
    gradient of the batch is the sum of the samples'. ``y`` is reshaped to
    ``yhat``'s shape first: a ``y`` of shape ``(n,)`` minus a ``yhat`` of shape
    ``(n, 1)`` would broadcast to ``(n, n)``. d2l's ``squared_loss`` is this
    divided by 2 (``loss="l2"`` of :func:`gluonlr.fit`); :func:`make_loss`
    gives every loss fit offers.

    Examples
    --------
    >>> squared_loss(nd.array([[3.0], [1.0]]), nd.array([1.0, 2.0])).asnumpy().tolist()
    [[4.0], [1.0]]
    """
    return (yhat - y.reshape(yhat.shape)) ** 2


def data_iter(
    batch_size: int,
    features: nd.NDArray,
    labels: nd.NDArray,
    seed: int = 0,
    epoch: int = 0,
) -> Iterator[tuple[nd.NDArray, nd.NDArray]]:
    """Yield one epoch's mini-batches ``(x, y)``, in a shuffled order, each taken with ``nd.take``.

    The iterator of the article (and of the MXNet tutorial it follows, and of
    d2l): shuffle the sample indices, then take ``batch_size`` of them at a
    time, the last batch short if ``batch_size`` does not divide the number of
    samples. The shuffle is :func:`gluonlr.data.epoch_order` of ``(seed,
    epoch)`` rather than ``random.shuffle``, so the batches are those of
    ``fit(seed=seed)`` in its epoch ``epoch``. The indices are integers:
    ``nd.array``'s default float32 holds row numbers exactly only up to 2**24.

    Parameters
    ----------
    batch_size : int
        Samples per batch.
    features : NDArray of shape (n_samples, n_features)
    labels : NDArray of shape (n_samples,) or (n_samples, n_outputs)
    seed : int, default=0
        The ``seed`` of :func:`gluonlr.fit`.
    epoch : int, default=0
        The epoch, from 0.

    Yields
    ------
    x : NDArray of shape (batch, n_features)
    y : NDArray of shape (batch,) or (batch, n_outputs)

    Raises
    ------
    TypeError
        If ``features`` or ``labels`` is not an NDArray (``nd.array(X)`` makes one).
    ValueError
        If ``batch_size`` is not an int >= 1, or ``labels`` has not as many rows as ``features``.

    Examples
    --------
    >>> X = nd.arange(5).reshape((5, 1))
    >>> [x.asnumpy().ravel().tolist() for x, y in data_iter(2, X, X[:, 0], seed=0, epoch=1)]
    [[1.0, 4.0], [3.0, 0.0], [2.0]]
    >>> epoch_order(5, seed=0, epoch=1).tolist()
    [1, 4, 3, 0, 2]
    """
    check_batches(batch_size, features, labels)
    num_examples = len(features)
    # shuffled: the article's random.shuffle(indices)
    indices = epoch_order(num_examples, seed, epoch)
    for i in range(0, num_examples, batch_size):
        rows = indices[i : i + batch_size]
        j = nd.array(rows, dtype=rows.dtype)
        yield nd.take(features, j), nd.take(labels, j)


def sgd(
    params: list[nd.NDArray],
    lr: float,
    divisor: float,
) -> None:
    r"""Take one gradient step in place, the article's ``SGD(params, eta)``.

    .. math:: \theta \leftarrow \theta - \eta \, \nabla_\theta / d

    ``param[:] = ...`` writes into the parameter's own memory, which keeps the
    gradient buffer ``attach_grad`` attached to it.

    Parameters
    ----------
    params : list of NDArray
        Parameters with gradients from ``backward``; updated in place.
    lr : float
        The step size, the article's ``eta``.
    divisor : float
        What the summed gradient is divided by: 1 for the article's step on the
        summed loss (``reduction="sum"``), the batch's size for the mean
        (``reduction="mean"``: d2l's ``sgd(params, lr, batch_size)``). d2l and
        ``gluon.Trainer.step`` call it ``batch_size``, which misleads: the
        article's step is a "batch size" of 1 on batches of 10. See
        :func:`gluonlr.conventions.step_divisor`.

    Examples
    --------
    >>> w, b = init_params(np.array([0.0]), 0.0)
    >>> with autograd.record():
    ...     loss = squared_loss(net(nd.array([[1.0]]), w, b), nd.array([1.0]))
    >>> loss.backward()
    >>> sgd([w, b], lr=0.1, divisor=1)
    >>> print(w.asnumpy(), b.asnumpy())
    [[0.2]] [0.2]
    """
    for param in params:
        param[:] = param - lr * param.grad / divisor


def sparse_sgd(
    params: list[nd.NDArray],
    lr: float,
    divisor: float,
) -> None:
    r"""Take :func:`sgd`'s step, lazily: only the rows of ``w`` that its ``row_sparse`` gradient holds.

    MXNet's ``sgd_update(..., lazy_update=True)`` (:func:`gluonlr.optimizers.lazy_sgd`):
    the step of a batch of CSR rows costs its non-zeros, not the features.
    The rows it skips have a zero gradient: :func:`sgd` leaves them as they are too.

    Examples
    --------
    >>> w, b = init_params(np.array([0.0, 0.0]), 0.0, sparse=True)
    >>> x = nd.sparse.csr_matrix(np.array([[1.0, 0.0]], np.float32))
    >>> with autograd.record():
    ...     loss = squared_loss(sparse_net(x, w, b), nd.array([1.0]))
    >>> loss.backward()
    >>> w.grad.stype, w.grad.indices.asnumpy().tolist()
    ('row_sparse', [0])
    >>> sparse_sgd([w, b], lr=0.1, divisor=1)
    >>> print(w.asnumpy().ravel(), b.asnumpy())
    [0.2 0. ] [0.2]
    """
    lazy_sgd(params, [param.grad for param in params], lr=lr, rescale_grad=1.0 / divisor)


def train(
    params: list[nd.NDArray],
    X: nd.NDArray,
    y: nd.NDArray,
    *,
    lr: float = 0.01,
    batch_size: int = 10,
    epochs: int = 10,
    seed: int = 0,
    loss: LossFn = squared_loss,
    reduction: str = "sum",
) -> None:
    """Train ``params`` in place with the article's loop, written from the pieces above.

    fit takes the same steps on the same batches, with its fast forms: with
    the same arguments the result is ``fit(path="manual")``'s, bit for bit
    with ``reduction="sum"`` and to float32 round-off with ``"mean"`` (see
    :func:`fast_sgd`).

    Parameters
    ----------
    params : list of NDArray
        ``[w, b]`` from :func:`init_params`; trained in place.
    X : NDArray of shape (n_samples, n_features)
        The features, as the article's ``X``.
    y : NDArray of shape (n_samples,)
        The targets.
    lr, batch_size, epochs, seed : as :func:`gluonlr.fit`'s
        ``seed`` chooses each epoch's order here (:func:`data_iter`); the
        initial parameters are the caller's.
    loss : callable, default=squared_loss
        The per-sample loss of ``(yhat, y)``: :func:`squared_loss`, or one of
        :func:`make_loss`.
    reduction : {"sum", "mean"}, default="sum"
        The divisor of each step (:func:`gluonlr.conventions.step_divisor`):
        1, or the batch's size.

    Raises
    ------
    ValueError, TypeError
        For an option :func:`gluonlr.fit` would refuse, and as :func:`data_iter`.

    Examples
    --------
    The article:

    >>> from gluonlr import fit, initial_params, synthetic_data
    >>> X, y = synthetic_data()
    >>> w, b = init_params(*initial_params(2, seed=0))
    >>> train([w, b], nd.array(X), nd.array(y))
    >>> print(w.asnumpy().ravel().round(2), b.asnumpy().round(2))
    [ 2. 51.] [21.2]
    >>> bool((w.asnumpy().ravel() == fit(X, y).weight).all())
    True
    """
    check_loop(lr, epochs, seed, reduction, "manual.train")
    w, b = params
    for epoch in range(epochs):
        batches = data_iter(batch_size, X, y, seed, epoch)
        for x, y_batch in batches:
            with autograd.record():
                batch_loss = loss(net(x, w, b), y_batch)
            batch_loss.backward()
            divisor = step_divisor(reduction, len(x))
            sgd([w, b], lr, divisor)


# -- Every loss of fit ---------------------------------------------------------------------------------------------


def make_loss(
    loss: str = "squared",
    rho: float = 1.0,
    n_outputs: int = 1,
) -> LossFn:
    r"""Return the per-sample loss function named ``loss``.

    =============  ======================================================  ====================
    ``loss``       :math:`\ell(r)` of the residual :math:`r = \hat y - y`  Gluon
    =============  ======================================================  ====================
    ``"squared"``  :math:`r^2` (the article's ``square_loss``)             ``L2Loss(weight=2)``
    ``"l2"``       :math:`r^2 / 2`                                         ``L2Loss()``
    ``"l1"``       :math:`|r|`                                             ``L1Loss()``
    ``"huber"``    :math:`|r| - \rho/2` if :math:`|r| > \rho`,             ``HuberLoss(rho)``
                   else :math:`r^2 / (2\rho)`
    =============  ======================================================  ====================

    The function takes ``(yhat, y)`` and optionally per-sample weights ``w``
    of shape ``(batch, 1)`` that multiply each sample's loss. With
    ``n_outputs`` > 1 outputs a sample's loss is the mean over its outputs, as
    Gluon's losses average over every axis but the batch axis. For
    ``"squared"``, one output and no weights it computes what
    :func:`squared_loss` does.

    Examples
    --------
    >>> make_loss("squared")(nd.array([[3.0]]), nd.array([1.0])).asnumpy().tolist()
    [[4.0]]
    >>> make_loss("l2")(nd.array([[3.0]]), nd.array([1.0])).asnumpy().tolist()
    [[2.0]]
    >>> make_loss("huber", rho=1.0)(nd.array([[3.0], [1.5]]), nd.array([1.0, 1.0])).asnumpy().ravel().tolist()
    [1.5, 0.125]
    >>> make_loss("l1", n_outputs=2)(nd.array([[3.0, 0.0]]), nd.array([[1.0, 1.0]]), nd.array([[2.0]])).asnumpy()
    array([3.], dtype=float32)
    """
    scale = LOSS_SCALE.get(loss, 1.0)

    def per_output(residual: nd.NDArray) -> nd.NDArray:
        if loss == "l1":
            return nd.abs(residual)
        if loss == "huber":
            size = nd.abs(residual)
            quadratic = (0.5 / rho) * nd.square(size)
            return nd.where(size > rho, size - 0.5 * rho, quadratic)
        squared = nd.square(residual)
        return squared if scale == 1.0 else scale * squared

    def loss_fn(
        yhat: nd.NDArray,
        y: nd.NDArray,
        sample_weight: nd.NDArray | None = None,
    ) -> nd.NDArray:
        # A y of shape (n,) is reshaped to (n, 1), so that (n, 1) - (n,) cannot
        # broadcast to (n, n); batches already come as (n, k).
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        losses = per_output(yhat - y)
        if sample_weight is not None:
            losses = losses * sample_weight
        return losses if n_outputs == 1 else nd.mean(losses, axis=1)

    loss_fn.__name__ = f"{loss}_loss"
    return loss_fn


# -- What fit runs: the same arithmetic, fast ----------------------------------------------------------------------


def fast_batches(
    data: EpochData | TakeData | StreamData,
    order: np.ndarray,
) -> Iterable[tuple[nd.NDArray, ...]]:
    """Return the mini-batches of one epoch in the given order: :func:`data_iter`'s, without a ``take`` per batch.

    The same batches, the same rows, made cheaper by ``data``, one of the
    forms of :mod:`gluonlr.data.batches`: a small data set is gathered once an
    epoch into the device buffer of an :class:`~gluonlr.data.EpochData` and
    each batch is a slice, a view, of it; a larger one is shared with the
    device (:class:`~gluonlr.data.TakeData`) or, on disk, a
    :class:`~gluonlr.data.StreamData` that reads each batch's rows when it is
    due, the next batch in a background thread while this one trains. The
    last batch is kept even when short.

    Parameters
    ----------
    data : EpochData, TakeData or StreamData
        The data set, cut into batches of its ``batch_size``.
    order : ndarray of shape (n_samples,)
        This epoch's permutation, from :func:`gluonlr.data.epoch_order`.

    Returns
    -------
    iterable of (x, y)
        ``x`` of shape (batch, n_features), ``y`` of shape (batch, n_outputs);
        with sample weights ``(x, y, w)``. Valid until the next epoch's call.

    Examples
    --------
    >>> X = np.arange(5.0).reshape((5, 1))
    >>> order = np.array([4, 3, 2, 1, 0])
    >>> [xb.asnumpy().ravel().tolist() for xb, _ in fast_batches(EpochData(X, X[:, 0], 2), order)]
    [[4.0, 3.0], [2.0, 1.0], [0.0]]
    >>> from gluonlr.data import Source
    >>> data = StreamData(Source(X), X[:, 0], 2)
    >>> [xb.asnumpy().ravel().tolist() for xb, _ in fast_batches(data, order)]
    [[4.0, 3.0], [2.0, 1.0], [0.0]]
    >>> data.close()
    """
    return data.batches(order)


def fast_sgd(
    params: list[nd.NDArray],
    lr: float,
    divisor: float,
) -> None:
    """Take :func:`sgd`'s step with one fused MXNet operator for all parameters.

    :func:`sgd` runs three operators and a copy per parameter; MXNet's
    ``multi_sgd_update`` (:func:`gluonlr.optimizers.fused_sgd`, the kernel
    ``gluon.Trainer`` runs for ``"sgd"``) does the same update in one call,
    with ``rescale_grad = 1 / divisor``. With ``divisor=1`` the result is
    :func:`sgd`'s bit for bit; otherwise ``lr * (g * (1/d))`` and ``lr * g /
    d`` may round differently in float32's last bit.

    Examples
    --------
    The same step as :func:`sgd`'s, from the same gradient:

    >>> x, y = nd.array([[1.0, 2.0], [3.0, 4.0]]), nd.array([1.0, 2.0])
    >>> steps = {sgd: init_params(np.array([0.5, -1.0]), 0.25), fast_sgd: init_params(np.array([0.5, -1.0]), 0.25)}
    >>> for step, (w, b) in steps.items():
    ...     with autograd.record():
    ...         losses = squared_loss(net(x, w, b), y)
    ...     losses.backward()
    ...     step([w, b], lr=0.01, divisor=1)
    >>> (w_sgd, b_sgd), (w_fast, b_fast) = steps.values()
    >>> print(w_fast.asnumpy().ravel().round(4), b_fast.asnumpy().round(4))
    [ 0.8  -0.57] [0.38]
    >>> bool((w_fast == w_sgd).asnumpy().all() and (b_fast == b_sgd).asnumpy().all())
    True
    """
    grads = [param.grad for param in params]
    fused_sgd(params, grads, lr=lr, rescale_grad=1.0 / divisor, wd=0.0)
