r"""Several devices in one process: the contexts, each batch's rows split across them, gradients summed by MXNet.

``fit(..., ctx=[mx.cpu(0), mx.cpu(1)])`` trains data-parallel, the way MXNet
1.x trains on several GPUs: every device holds a copy of the parameters, each
batch's rows are split across the devices, every device runs the forward and
backward of its rows, MXNet's ``"device"`` KVStore sums the gradients and hands
the sum back to every device, and every device takes the same optimizer step,
so the copies stay identical. One step on a batch :math:`B` split into
:math:`B_1, \dots, B_k` is the single-device step

.. math:: \theta \leftarrow \theta - \frac{\eta}{d(B)} \sum_{j=1}^{k} \nabla_\theta \sum_{i \in B_j} \ell_i

with the divisor :math:`d(B)` of the *whole* batch
(:func:`~gluonlr.conventions.step_divisor`): the same step, its gradient
summed in another order, so the result equals the single-device fit to
float32 round-off, not bitwise.

- :func:`check_ctx` reads the ``ctx`` argument: None (one CPU, as before), a
  ``Context``, a list of them, or a string such as ``"cpu:0,cpu:1"``.
- :func:`split_batch` cuts a batch into contiguous runs of rows, one per
  device, as ``gluon.utils.split_and_load`` does (with sizes that differ by at
  most one), each loaded on its device; :func:`gather` puts the per-sample
  losses back together in row order.
- :class:`GradientSum` sums the manual path's gradients with
  ``mx.kv.create("device")``; the Gluon path's ``Trainer(...,
  kvstore="device", update_on_kvstore=False)`` does the same inside
  ``step``.
- :func:`zero_gradients`: a device that gets no rows of a batch (a last batch
  of 1 row over 2 devices) contributes a zero gradient.

On CPU, ``mx.cpu(0)`` and ``mx.cpu(1)`` are distinct contexts, each with its
own engine worker thread, over the same memory: multi-device code runs, and is
tested, without a GPU.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from gluonlr._mxnet import mx, nd

__all__ = ["GradientSum", "check_ctx", "gather", "row_bounds", "split_batch", "zero_gradients"]

_DEVICE = re.compile(r"(cpu|gpu)(?::(\d+)|\((\d+)\))?")

_HOW = (
    "an mxnet Context (mx.cpu(0), mx.gpu(1)), a list of them, a string naming devices such as 'cpu:0,cpu:1' "
    "or 'cpu(0),cpu(1)', or None (one CPU)"
)


def _parse_device(text: str, where: str, whole: str) -> mx.Context:
    match = _DEVICE.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(
            f"The 'ctx' parameter of {where} must name each device as 'cpu:0' or 'cpu(0)' ('gpu:1', ...), the "
            f"devices separated by commas. Got {text.strip()!r} in {whole!r}."
        )
    number = match.group(2) or match.group(3) or "0"
    return mx.Context(match.group(1), int(number))


def check_ctx(ctx: Any, where: str = "fit") -> list[mx.Context]:
    """Return the devices named by ``ctx`` as a list of ``mx.Context``, or raise ``ValueError``/``TypeError``.

    Parameters
    ----------
    ctx : None, Context, str or sequence of Context or str
        None: ``[mx.cpu()]``, one CPU, as gluonlr trained before it took
        ``ctx``. A ``Context`` or a list of them. A string naming one device
        or several separated by commas, each as ``"cpu:0"``, ``"cpu(0)"`` or
        ``"cpu"`` (device 0); GPUs as ``"gpu:1"``.
    where : str, default="fit"
        The function named in error messages.

    Returns
    -------
    list of Context
        At least one, each at most once, all CPUs or all GPUs.

    Raises
    ------
    TypeError
        If ``ctx`` is of another type, e.g. an int.
    ValueError
        If ``ctx`` names no device, a device twice, a device that is neither
        CPU nor GPU, a negative device number, a GPU that MXNet does not see,
        or CPUs and GPUs together (MXNet's optimizers count their updates per
        device *number*, so ``cpu(0)`` and ``gpu(0)`` would share one count).

    Examples
    --------
    >>> check_ctx(None)
    [cpu(0)]
    >>> check_ctx("cpu:0,cpu:1"), check_ctx("cpu(0), cpu(1)"), check_ctx([mx.cpu(0), "cpu:2"])
    ([cpu(0), cpu(1)], [cpu(0), cpu(1)], [cpu(0), cpu(2)])
    >>> check_ctx("cpu:0,cpu:0")
    Traceback (most recent call last):
    ...
    ValueError: The 'ctx' parameter of fit names cpu(0) twice; name each device once: each holds one copy of the \
parameters.
    >>> check_ctx(1)
    Traceback (most recent call last):
    ...
    TypeError: The 'ctx' parameter of fit must be an mxnet Context (mx.cpu(0), mx.gpu(1)), a list of them, a string \
naming devices such as 'cpu:0,cpu:1' or 'cpu(0),cpu(1)', or None (one CPU). Got int instead.
    """
    if ctx is None:
        return [mx.cpu()]
    if isinstance(ctx, mx.Context):
        items: list[Any] = [ctx]
    elif isinstance(ctx, str):
        items = [_parse_device(part, where, ctx) for part in ctx.split(",")] if ctx.strip() else []
    elif isinstance(ctx, Sequence):
        items = list(ctx)
    else:
        raise TypeError(f"The 'ctx' parameter of {where} must be {_HOW}. Got {type(ctx).__name__} instead.")
    devices = []
    for item in items:
        if isinstance(item, str):
            item = _parse_device(item, where, item)
        if not isinstance(item, mx.Context):
            raise TypeError(
                f"The 'ctx' parameter of {where} must be {_HOW}. Got a list holding a {type(item).__name__}."
            )
        devices.append(mx.Context(item))  # a copy: Context objects can be entered as "with" blocks
    if not devices:
        raise ValueError(f"The 'ctx' parameter of {where} must name at least one device, e.g. 'cpu:0'. Got {ctx!r}.")
    for device in devices:
        if device.device_type not in ("cpu", "gpu") or device.device_id < 0:
            raise ValueError(
                f"The 'ctx' parameter of {where} must name CPUs or GPUs with device numbers >= 0, such as cpu(0) "
                f"or gpu(1). Got {device}."
            )
        if devices.count(device) > 1:
            raise ValueError(
                f"The 'ctx' parameter of {where} names {device} twice; name each device once: each holds one copy "
                "of the parameters."
            )
    types = {device.device_type for device in devices}
    if len(types) > 1:
        raise ValueError(
            f"The 'ctx' parameter of {where} mixes CPUs and GPUs ({', '.join(map(str, devices))}): MXNet's "
            "optimizers count updates per device number, so cpu(0) and gpu(0) would share one count. Name devices "
            "of one type."
        )
    gpus = [device for device in devices if device.device_type == "gpu"]
    if gpus:
        available = mx.context.num_gpus()
        missing = [device for device in gpus if device.device_id >= available]
        if missing:
            raise ValueError(
                f"The 'ctx' parameter of {where} names {missing[0]}, but MXNet sees {available} GPU(s) (a CUDA "
                "build of mxnet and a visible GPU are needed). Use CPU contexts, e.g. ctx='cpu:0,cpu:1'."
            )
    return devices


def row_bounds(n_rows: int, n_devices: int) -> list[tuple[int, int]]:
    """Split ``range(n_rows)`` into ``n_devices`` contiguous ``[start, stop)`` runs whose sizes differ by at most 1.

    The first ``n_rows % n_devices`` runs get the extra row. With fewer rows
    than devices the last devices get empty runs (``start == stop``): they
    are idle for that batch. (``gluon.utils.split_and_load`` gives the last
    device the remainder instead, and leaves devices out when there are fewer
    rows than devices.)

    Examples
    --------
    >>> row_bounds(10, 3)
    [(0, 4), (4, 7), (7, 10)]
    >>> row_bounds(1, 2)
    [(0, 1), (1, 1)]
    """
    size, extra = divmod(n_rows, n_devices)
    bounds, start = [], 0
    for device in range(n_devices):
        stop = start + size + (device < extra)
        bounds.append((start, stop))
        start = stop
    return bounds


def split_batch(ctx: Sequence[mx.Context], *arrays: nd.NDArray | None) -> list[tuple[nd.NDArray, ...] | None]:
    """Cut the rows of a batch ``(x, y)`` or ``(x, y, sample_weight)`` across the devices ``ctx``, one run each.

    Device ``j`` gets rows :func:`row_bounds` ``(len(x), len(ctx))[j]`` of
    every array, loaded on ``ctx[j]`` (a view, if the batch is already there,
    else a copy), or None if it gets no rows. A ``None`` among ``arrays`` (no
    sample weights) is left out. With one device: the batch, on it.

    Examples
    --------
    >>> x, y = nd.arange(6).reshape((3, 2)), nd.arange(3).reshape((3, 1))
    >>> shares = split_batch([mx.cpu(0), mx.cpu(1)], x, y, None)
    >>> [(share[0].shape, share[1].asnumpy().ravel().tolist(), share[0].context) for share in shares]
    [((2, 2), [0.0, 1.0], cpu(0)), ((1, 2), [2.0], cpu(1))]
    >>> split_batch([mx.cpu(0), mx.cpu(1)], x[:1], y[:1])[1] is None
    True
    """
    present = tuple(array for array in arrays if array is not None)
    if not present:  # a worker's empty share of a batch (gluonlr.data.Share): no rows for any device
        return [None] * len(ctx)
    if len(ctx) == 1:  # the common case, kept cheap: a batch's arrays share their device
        device = ctx[0]
        return [present if present[0].context == device else tuple(array.as_in_context(device) for array in present)]
    shares: list[tuple[nd.NDArray, ...] | None] = []
    for device, (start, stop) in zip(ctx, row_bounds(present[0].shape[0], len(ctx)), strict=True):
        shares.append(tuple(array[start:stop].as_in_context(device) for array in present) if stop > start else None)
    return shares


def gather(arrays: Sequence[nd.NDArray], ctx: mx.Context) -> nd.NDArray:
    """Return the devices' arrays (their per-sample losses) as one array on ``ctx``, concatenated in row order.

    One array is returned as it is: the devices that get rows of a batch are
    the first ones (:func:`row_bounds`), so a lone array is on ``ctx[0]``
    already, the device this is called with.

    Examples
    --------
    >>> gather([nd.array([1.0, 2.0], ctx=mx.cpu(0)), nd.array([3.0], ctx=mx.cpu(1))], mx.cpu(0))
    <BLANKLINE>
    [1. 2. 3.]
    <NDArray 3 @cpu(0)>
    """
    if len(arrays) == 1:
        return arrays[0]
    return nd.concat(*(array.as_in_context(ctx) for array in arrays), dim=0)


def zero_gradients(grads: Sequence[nd.NDArray], weights: Sequence[nd.NDArray] = ()) -> None:
    """Give an idle device, one with no rows in this batch, a zero gradient: write 0 into ``grads``, in place.

    The device's gradient buffers still hold the previous batch's gradient,
    and the KVStore sums every device's buffer; and a KVStore key must always
    be pushed from the same devices (``"device"`` sizes its buffers on the
    first push: pushing a key from 2 devices, then 3, crashes MXNet 1.9.1), so
    an idle device pushes zeros rather than nothing. Its copy of the
    parameters then takes the same step as every other copy.

    ``weights`` (the Gluon path: each ``Parameter``'s data on the idle
    device) are marked as having a fresh gradient. ``gluon.Trainer.step``
    refuses a parameter whose gradient no ``backward`` wrote since the last
    step, and with ``ignore_stale_grad=True`` it skips the update of that copy
    (which would then fall behind the others); a zero gradient is what the
    device's empty share of the batch contributes, so it is marked fresh
    through the flag the Trainer itself reads and resets (``_fresh_grad``).
    Running a forward and backward on zero rows instead is not possible:
    MXNet 1.x's legacy shapes take a 0 in a shape to mean "unknown"
    (``nd.zeros((0, 2))`` fails), and under ``mx.util.np_shape(True)`` the
    hybridized Gluon block's backward on 0 rows kills the process (SIGFPE).

    Examples
    --------
    >>> grad = nd.array([1.0, 2.0], ctx=mx.cpu(1))
    >>> zero_gradients([grad])
    >>> grad.asnumpy().tolist()
    [0.0, 0.0]
    """
    for grad in grads:
        grad[:] = 0
    for weight in weights:
        weight._fresh_grad = True


class GradientSum:
    """Sum each parameter's gradient over the devices (and workers) with a KVStore, in place on every device.

    What ``gluon.Trainer(..., kvstore=...)`` does in ``step`` before its
    update, for the manual path: each parameter is a key, initialized, as the
    Trainer does, with the first device's parameter, which every device's
    copy then takes (``kv.broadcast``); calling the object pushes every
    device's gradient of every key and pulls the sum back into each of them
    (``kv.pushpull``). With one device and no store given there is nothing to
    sum and no KVStore is made, as the Trainer makes none.

    A ``row_sparse`` gradient (CSR batches, :func:`gluonlr.manual.sparse_net`)
    is summed through a dense buffer of its key: MXNet 1.9.1's ``dist_sync``
    store takes no ``row_sparse`` pushpull, and the rows of the sum are those
    any worker's batch share touched, which no worker knows alone. Its other
    way, ``push`` of ``row_sparse`` gradients then ``row_sparse_pull`` of the
    rows wanted, needs the servers to run the optimizer (``update_on_kvstore``,
    which fails on a short last batch and would move the lazy step, the
    schedule's rate and averaging to the servers): without an updater the
    servers keep the summed rows packed and answer a pull by row number as if
    every row were stored, so a pull of rows ``[1, 3, 7]`` of a sum with those
    rows returns ``[sum[3], 0, 0]`` (measured on 1.9.1). The sum is
    written back as ``row_sparse`` (its non-zero rows), which the lazy update
    reads. Each step then costs a pass over every feature's gradient, as a
    dense model's does.

    Parameters
    ----------
    grads : sequence of sequence of NDArray
        ``grads[j][p]``: the gradient buffer of parameter ``p`` on device ``j``.
    params : sequence of sequence of NDArray, optional
        ``params[j][p]``: parameter ``p`` on device ``j``, set to the store's
        value of ``p`` (the job's rank 0's, in a ``dist_sync`` job). Left out,
        the keys start from the gradients.
    kvstore : str or KVStore, default="device"
        The type of store to create when there are several devices, or a
        store to use (the ``dist_sync`` job's keys, :class:`gluonlr.distributed.KeySpace`).

    Examples
    --------
    >>> grads = [[nd.array([1.0], ctx=mx.cpu(0))], [nd.array([2.0], ctx=mx.cpu(1))]]
    >>> GradientSum(grads)()
    >>> [device[0].asnumpy().tolist() for device in grads]
    [[3.0], [3.0]]
    """

    def __init__(
        self,
        grads: Sequence[Sequence[nd.NDArray]],
        params: Sequence[Sequence[nd.NDArray]] | None = None,
        kvstore: str | mx.kv.KVStore = "device",
    ) -> None:
        self._keys = list(range(len(grads[0])))
        self._values = [list(copies) for copies in zip(*grads, strict=True)]  # per key, its gradient on each device
        # A row_sparse gradient's key is summed in a dense buffer of its shape (see the class's docstring).
        self._sparse = [
            [(grad, nd.zeros(grad.shape, ctx=grad.context, dtype=grad.dtype)) for grad in copies]
            if copies[0].stype == "row_sparse"
            else None
            for copies in self._values
        ]
        self._summed = [
            [buffer for _, buffer in pairs] if pairs is not None else copies
            for pairs, copies in zip(self._sparse, self._values, strict=True)
        ]
        if isinstance(kvstore, mx.kv.KVStore):
            self.kvstore = kvstore
        else:
            self.kvstore = mx.kv.create(kvstore) if len(grads) > 1 else None
        if self.kvstore is None:
            return
        if params is None:
            self.kvstore.init(self._keys, [copies[0] for copies in self._summed])
        else:
            copies = [list(key) for key in zip(*params, strict=True)]
            self.kvstore.broadcast(self._keys, [key[0] for key in copies], out=copies)
            # A dist store's pull returns before the servers answer; the first pushpull must not overtake it.
            nd.waitall()

    def __call__(self) -> None:
        """Replace every device's gradient of each parameter by the sum over the devices (and the job's workers)."""
        if self.kvstore is None:
            return
        for pairs in self._sparse:
            for grad, buffer in pairs or ():
                buffer[:] = grad.tostype("default")
        self.kvstore.pushpull(self._keys, self._summed, out=self._summed)
        for pairs in self._sparse:
            for grad, buffer in pairs or ():
                buffer.tostype("row_sparse").copyto(grad)
