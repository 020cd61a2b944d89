r"""Checkers for the exercises of the documentation's "Exercises" page.

Each exercise asks for one piece of the article's training loop, written by
hand — the shuffling data iterator, the squared loss, SGD with momentum, the
Huber loss's gradient, a learning-rate schedule — and each has a checker here
that runs the student's function against gluonlr's reference: the float64
reference of :func:`~gluonlr.testing.reference_fit` (its sample order, its
losses and their derivatives, MXNet 1.9.1's momentum update,
:func:`~gluonlr.testing.reference_lrs`) or, for the loss,
:func:`gluonlr.manual.make_loss` under autograd. A checker returns None when the
function agrees, and otherwise raises ``AssertionError`` saying which value
differs first — at which epoch and batch, or which element — the two values, by
how much, and, for the usual mistakes, what the mistake looks like.

The iterator and the loss take and return MXNet NDArrays, as the article's
do; the momentum step, the Huber gradient and the schedule work on numpy
float64 arrays and floats, so that they are compared to float64 round-off.

Examples
--------
A loss that forgets the square:

>>> def squared_loss(yhat, y):
...     return yhat - y.reshape(yhat.shape)
>>> check_squared_loss(squared_loss)
Traceback (most recent call last):
...
AssertionError: squared_loss differs first at element 0 of 6 (yhat = 3, y = 1):
    squared_loss = 2
    reference    = 4
    |difference| = 2
  It returns yhat - y: the square is missing.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn

import numpy as np

from gluonlr._mxnet import autograd, nd
from gluonlr.data import synthetic_data
from gluonlr.fit import initial_params
from gluonlr.testing._reference import LOSSES, SCHEDULES, _epoch_permutation, _Momentum, reference_lrs, stable_lr

__all__ = [
    "EXERCISE_RTOL",
    "check_data_iter",
    "check_huber_grad",
    "check_lr_schedule",
    "check_sgd_momentum",
    "check_squared_loss",
]

#: The tolerance of the float64 checks: :math:`|a - b| \le 10^{-9} \max(1, |b|)`, room for a student's
#: operations in another order, far below any mistake.
EXERCISE_RTOL = 1e-9

#: The width at which the hints of a failure are wrapped (a terminal's, and the documentation's code blocks').
NOTE_WIDTH = 88

#: The loss checker's tolerance: the student's NDArray loss and the reference are both float32.
_FLOAT32_RTOL = 1e-6


def _fail(title: str, names: tuple[str, str], values: tuple[Any, Any], notes: Iterable[str] = ()) -> NoReturn:
    """Raise the checkers' ``AssertionError``: where, the student's value, the reference's, the difference."""
    width = max(map(len, names))
    actual, desired = values
    lines = [
        f"{title}:",
        f"    {names[0]:<{width}} = {_show(actual)}",
        f"    {names[1]:<{width}} = {_show(desired)}",
    ]
    if _is_number(actual) and _is_number(desired):
        lines.append(f"    |difference| = {abs(float(actual) - float(desired)):.3g}")
    for note in notes:
        lines += textwrap.wrap(" ".join(note.split()), NOTE_WIDTH, initial_indent="  ", subsequent_indent="  ")
    raise AssertionError("\n".join(lines))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)


def _show(value: Any) -> str:
    if _is_number(value):
        return f"{float(value):.9g}"
    if isinstance(value, np.ndarray):
        return np.array2string(value, precision=6, separator=", ", max_line_width=100)
    return str(value)


def _close(actual: float, desired: float, rtol: float) -> bool:
    return abs(actual - desired) <= rtol * max(1.0, abs(desired)) or (math.isnan(actual) and math.isnan(desired))


def _first_difference(actual: np.ndarray, desired: np.ndarray, rtol: float) -> int | None:
    """Return the flat index of the first entry that differs, or None."""
    for index, (a, d) in enumerate(zip(actual.ravel().tolist(), desired.ravel().tolist(), strict=True)):
        if not _close(a, d, rtol):
            return index
    return None


def _numpy(value: Any) -> np.ndarray:
    """Return an NDArray's or an array-like's values as float64 numpy."""
    return np.asarray(value.asnumpy() if hasattr(value, "asnumpy") else value, dtype=np.float64)


def _rows(values: Sequence[int]) -> str:
    """Show row indices compactly: ``[4, 17, 2, ...]`` (at most 10)."""
    shown = ", ".join(map(str, values[:10]))
    return f"[{shown}{', ...' if len(values) > 10 else ''}]"


# -- 1. the data iterator ---------------------------------------------------------------------------------------


def check_data_iter(
    data_iter: Callable[..., Iterable[Any]],
    *,
    n_samples: int = 23,
    batch_size: int = 5,
    epochs: int = 3,
    seed: int = 0,
) -> None:
    """Check a shuffling mini-batch iterator, the article's ``data_iter``, batch by batch.

    Calls ``data_iter(batch_size, features, labels, seed=seed, epoch=epoch)``
    for each epoch, with ``features`` an NDArray of shape ``(n_samples, 2)``
    and ``labels`` one of shape ``(n_samples,)``, and expects the batches
    ``(x, y)`` the reference cuts from the epoch's order
    (:func:`gluonlr.data.epoch_order`, which the reference states on its own): the
    rows ``order[i:i + batch_size]`` for ``i = 0, batch_size, ...``, the last
    batch short when ``batch_size`` does not divide ``n_samples``. The default
    23 samples in batches of 5 end each epoch with a batch of 3.

    Parameters
    ----------
    data_iter : callable
        ``data_iter(batch_size, features, labels, *, seed, epoch)`` returning
        an iterable of ``(x, y)``: NDArrays (or numpy arrays) of shapes
        ``(batch, 2)`` and ``(batch,)``.
    n_samples, batch_size, epochs, seed : int, default=23, 5, 3, 0
        The data set's size, and what the iterator is called with.

    Raises
    ------
    AssertionError
        Naming the first epoch and batch that differ: a missing or extra
        batch (the short last batch dropped, say), a batch of other rows than
        the reference's (no shuffle, the same order every epoch, another
        shuffle), a label that is not its row's, with the values.

    Examples
    --------
    An iterator that drops the short last batch:

    >>> from gluonlr import epoch_order
    >>> def data_iter(batch_size, features, labels, *, seed, epoch):
    ...     order = epoch_order(len(features), seed, epoch)
    ...     for i in range(0, len(features) - batch_size + 1, batch_size):
    ...         j = nd.array(order[i : i + batch_size])
    ...         yield nd.take(features, j), nd.take(labels, j)
    >>> check_data_iter(data_iter)
    Traceback (most recent call last):
    ...
    AssertionError: data_iter differs first at epoch 1 of 3, batch 5 of 5:
        data_iter = no batch
        reference = a batch of 3 rows
      Your iterator yields 4 batches, 20 rows of 23: the reference yields 5, the last with
      the 3 rows left over (23 = 4 x 5 + 3). Keep the short last batch: the slice
      order[i:i+batch_size] stops at the end.
    """
    X, y = synthetic_data(n=n_samples, seed=seed)
    features, labels = nd.array(X), nd.array(y)
    row_of = {row.tobytes(): index for index, row in enumerate(X.astype(np.float32))}
    previous: list[int] | None = None
    for epoch in range(epochs):
        order = _epoch_permutation(n_samples, seed, epoch)
        expected = [order[i : i + batch_size].tolist() for i in range(0, n_samples, batch_size)]
        items = list(data_iter(batch_size, features, labels, seed=seed, epoch=epoch))
        batches = [_batch(item, epoch, index, epochs) for index, item in enumerate(items)]
        _check_sizes(epoch, epochs, [len(x) for x, _ in batches], [len(rows) for rows in expected], n_samples)
        rows = [[row_of.get(row.astype(np.float32).tobytes(), -1) for row in x] for x, _ in batches]
        for index, ((x, _), got, want) in enumerate(zip(batches, rows, expected, strict=True)):
            where = f"data_iter differs first at epoch {epoch + 1} of {epochs}, batch {index + 1} of {len(expected)}"
            _check_known_rows(where, x, got, want, X)
        flat = [row for batch in rows for row in batch]
        _check_order(epoch, epochs, rows, expected, flat, previous)
        for index, ((_, y_batch), got) in enumerate(zip(batches, rows, strict=True)):
            where = f"data_iter differs first at epoch {epoch + 1} of {epochs}, batch {index + 1} of {len(expected)}"
            _check_labels(where, y_batch, got, y)
        previous = flat


def _batch(item: Any, epoch: int, index: int, epochs: int) -> tuple[np.ndarray, np.ndarray]:
    """Return a yielded batch as numpy ``(x of shape (batch, d), y of shape (batch,))``, or fail saying why not."""
    where = f"data_iter's batch {index + 1} of epoch {epoch + 1} of {epochs}"
    if not isinstance(item, tuple | list) or len(item) != 2:
        raise AssertionError(f"{where} is not a pair (x, y): got {type(item).__name__}. Yield (features, labels).")
    x, y = _numpy(item[0]), _numpy(item[1])
    if x.ndim != 2 or y.shape not in ((len(x),), (len(x), 1)):
        raise AssertionError(
            f"{where} has x of shape {x.shape} and y of shape {y.shape}; expected (batch, n_features) and (batch,): "
            "take whole rows of features and the matching labels."
        )
    return x, y.reshape(len(x))


def _check_sizes(epoch: int, epochs: int, sizes: list[int], expected: list[int], n: int) -> None:
    """Fail at the first batch whose size (or existence) is not the reference's."""
    if sizes == expected:
        return
    padded = max(len(sizes), len(expected))
    index = next(i for i in range(padded) if sizes[i : i + 1] != expected[i : i + 1])
    where = f"data_iter differs first at epoch {epoch + 1} of {epochs}, batch {index + 1} of {len(expected)}"
    got = f"a batch of {sizes[index]} rows" if index < len(sizes) else "no batch"
    want = f"a batch of {expected[index]} rows" if index < len(expected) else "no batch"
    batch_size = expected[0]
    short = n % batch_size
    notes = [f"Your iterator yields {len(sizes)} batches of sizes {sizes}, {sum(sizes)} rows of {n}."]
    if short and sizes == expected[:-1]:
        notes = [
            f"Your iterator yields {len(sizes)} batches, {sum(sizes)} rows of {n}: the reference yields "
            f"{len(expected)}, the last with the {short} rows left over ({n} = {n // batch_size} x {batch_size} + "
            f"{short}). Keep the short last batch: the slice order[i:i+batch_size] stops at the end."
        ]
    _fail(where, ("data_iter", "reference"), (got, want), notes)


def _check_known_rows(where: str, x: np.ndarray, rows: list[int], expected: list[int], X: np.ndarray) -> None:
    """Fail at the first row of the batch that is no row of the features, with the reference's value there."""
    for k, (row, want) in enumerate(zip(rows, expected, strict=True)):
        if row == -1:
            reference = X[want].astype(np.float64)
            j = _first_difference(x[k], reference, _FLOAT32_RTOL) or 0
            _fail(
                f"{where}, x[{k}, {j}]",
                ("data_iter", "reference"),
                (float(x[k, j]), float(reference[j])),
                [f"x[{k}] = {_show(x[k])} is no row of features; the reference's is row {want}."],
            )


def _check_order(
    epoch: int,
    epochs: int,
    rows: list[list[int]],
    expected: list[list[int]],
    flat: list[int],
    previous: list[int] | None,
) -> None:
    """Fail at the first batch of other rows than the reference's, saying whether it is no shuffle, the same one..."""
    if rows == expected:
        return
    index = next(i for i, (a, b) in enumerate(zip(rows, expected, strict=True)) if a != b)
    title = (
        f"data_iter differs first at epoch {epoch + 1} of {epochs}, batch {index + 1} of {len(expected)}: "
        "the rows it holds"
    )
    values = (_rows(rows[index]), _rows(expected[index]))
    if sorted(flat) != sorted(row for batch in expected for row in batch):
        note = "The epoch does not visit every row exactly once."
    elif flat == sorted(flat):
        note = "It takes the rows in their stored order 0, 1, 2, ...: it does not shuffle."
    elif previous is not None and flat == previous:
        note = "This epoch has the same order as the one before: shuffle each epoch with its own epoch_order."
    else:
        note = "Another order than the reference's: shuffle with gluonlr.epoch_order(len(features), seed, epoch)."
    _fail(title, ("data_iter", "reference"), values, [note])


def _check_labels(where: str, y: np.ndarray, rows: list[int], labels: np.ndarray) -> None:
    """Fail at the first label that is not the label of its batch row."""
    for k, row in enumerate(rows):
        if not _close(float(y[k]), float(labels[row]), _FLOAT32_RTOL):
            _fail(
                f"{where}, y[{k}]",
                ("data_iter", "reference"),
                (float(y[k]), float(labels[row])),
                [f"y[{k}] is not the label of x[{k}], row {row} of features: take the labels with the same indices."],
            )


# -- 2. the squared loss -----------------------------------------------------------------------------------------

#: The loss checker's batch: predictions of shape (6, 1) and labels of shape (6,), as the article's net and data
#: give them; residuals 2, -0.5, -2, 4, 6, 0, so that r, r**2, r**2 / 2 and |r| all differ somewhere.
_YHAT = ((3.0,), (0.5,), (-1.0,), (2.0,), (10.0,), (1.0,))
_Y = (1.0, 1.0, 1.0, -2.0, 4.0, 1.0)

#: What a wrong loss may be, by name, as a function of the residual r = yhat - y.
_LOSS_MISTAKES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "It returns yhat - y: the square is missing.": lambda r: r,
    "It returns |yhat - y|, the L1 loss: square the residual instead.": np.abs,
    "It returns (yhat - y) ** 2 / 2, Gluon's L2Loss() (loss='l2'): the article's loss has no 1/2.": lambda r: r * r / 2,
    "It returns (yhat - y) ** 2, the article's loss: d2l's squared_loss (loss='l2') halves it.": lambda r: r * r,
}


def check_squared_loss(squared_loss: Callable[[Any, Any], Any], *, loss: str = "squared") -> None:
    r"""Check a per-sample squared loss, its values and its gradient, against :func:`gluonlr.manual.make_loss`.

    Calls ``squared_loss(yhat, y)`` under ``autograd.record()`` with ``yhat``
    an NDArray of shape ``(6, 1)`` (as the article's ``net`` returns) and ``y``
    one of shape ``(6,)`` (as its labels are), and expects one loss per sample
    — :math:`(\hat y - y)^2` for ``loss="squared"`` (the article's
    ``square_loss``), :math:`\tfrac12 (\hat y - y)^2` for ``"l2"`` (d2l's
    ``squared_loss``) — of shape ``(6, 1)`` or ``(6,)``, and, from
    ``backward()``, the gradient :math:`2c(\hat y - y)` in ``yhat.grad``.

    Parameters
    ----------
    squared_loss : callable
        ``squared_loss(yhat, y)`` returning an NDArray of per-sample losses.
    loss : {"squared", "l2"}, default="squared"
        Which squared loss it is meant to be.

    Raises
    ------
    AssertionError
        For a loss of another shape (``y`` broadcast against ``yhat``, or a
        mean over the batch), the first element whose value or gradient
        differs, with the inputs there and, for the usual mistakes, what the
        function computes instead.

    Examples
    --------
    The article's loss without reshaping ``y``: ``(6, 1) - (6,)`` broadcasts to ``(6, 6)``.

    >>> def squared_loss(yhat, y):
    ...     return (yhat - y) ** 2
    >>> check_squared_loss(squared_loss)
    Traceback (most recent call last):
    ...
    AssertionError: squared_loss returns shape (6, 6) for yhat of shape (6, 1) and y of shape (6,):
      expected one loss per sample, of shape (6, 1) or (6,).
      yhat - y broadcast (6, 1) against (6,) to (6, 6): reshape y first, y.reshape(yhat.shape).
    """
    from gluonlr.manual import make_loss

    if loss not in ("squared", "l2"):
        raise ValueError(f"check_squared_loss checks loss='squared' or 'l2'. Got {loss!r}.")
    name = getattr(squared_loss, "__name__", "squared_loss")
    yhat, y = nd.array(_YHAT), nd.array(_Y)
    reference_yhat = yhat.copy()
    yhat.attach_grad()
    reference_yhat.attach_grad()
    with autograd.record():
        out = squared_loss(yhat, y)
        expected_out = make_loss(loss)(reference_yhat, y)
    values, expected = _numpy(out), _numpy(expected_out).ravel()
    if values.shape not in ((6, 1), (6,)):
        hint = (
            "\n  yhat - y broadcast (6, 1) against (6,) to (6, 6): reshape y first, y.reshape(yhat.shape)."
            if values.shape == (6, 6)
            else "\n  Not one number for the batch: backward() sums the per-sample losses itself."
            if values.size == 1
            else ""
        )
        raise AssertionError(
            f"{name} returns shape {values.shape} for yhat of shape (6, 1) and y of shape (6,):\n"
            f"  expected one loss per sample, of shape (6, 1) or (6,).{hint}"
        )
    values = values.ravel()
    residual = np.array(_YHAT).ravel() - np.array(_Y)
    index = _first_difference(values, expected, _FLOAT32_RTOL)
    if index is not None:
        mistakes = [note for note, wrong in _LOSS_MISTAKES.items() if np.allclose(values, wrong(residual))]
        _fail(
            f"{name} differs first at element {index} of 6 (yhat = {_YHAT[index][0]:g}, y = {_Y[index]:g})",
            (name, "reference"),
            (values[index], expected[index]),
            mistakes[:1],
        )
    if not hasattr(out, "backward"):
        raise AssertionError(
            f"{name} returns a {type(out).__module__.split('.')[0]}.{type(out).__name__}, not an MXNet NDArray: "
            "autograd cannot\n  differentiate it. Compute the loss with NDArray operations (no asnumpy()), so "
            "that\n  backward() finds its gradient."
        )
    out.backward()
    expected_out.backward()
    gradient, expected_gradient = _numpy(yhat.grad).ravel(), _numpy(reference_yhat.grad).ravel()
    index = _first_difference(gradient, expected_gradient, _FLOAT32_RTOL)
    if index is not None:
        _fail(
            f"The gradient of {name} differs first at element {index} of 6 (yhat = {_YHAT[index][0]:g}, "
            f"y = {_Y[index]:g})",
            (f"d {name} / d yhat", "reference"),
            (gradient[index], expected_gradient[index]),
            ["The values are right but the gradient is not: is part of the loss computed outside autograd?"],
        )


# -- 3. SGD with momentum -----------------------------------------------------------------------------------------


def _squared_gradients(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
    """Return the gradients of the batch's summed squared loss (the article's), ``[d/dw, d/db]``."""
    derivative = LOSSES["squared"](X @ w + b[0] - y, 1.0)[1]
    return [X.T @ derivative, np.array([derivative.sum()])]


def check_sgd_momentum(
    sgd_momentum: Callable[..., Any],
    *,
    momentum: float = 0.9,
    lr: float | None = None,
    batch_size: int = 10,
    epochs: int = 3,
    n_samples: int = 50,
    seed: int = 0,
) -> None:
    r"""Check an SGD-with-momentum step, update by update, against MXNet 1.9.1's ``sgd_mom_update``.

    Trains the article's model (squared loss, gradient summed over each batch)
    on :func:`~gluonlr.data.synthetic_data` from :func:`~gluonlr.initial_params`,
    in float64 numpy, calling after every batch

    ``sgd_momentum(params, grads, velocities, lr=lr, momentum=momentum)``

    with ``params = [w, b]``, their gradients and one velocity per parameter
    (zeros at the start), which it must update *in place*; and beside it the
    reference's update, as MXNet 1.9.1 computes it and
    :func:`~gluonlr.testing.reference_fit` reproduces it:

    .. math:: v \leftarrow \mu v - \eta g, \qquad \theta \leftarrow \theta + v

    (d2l's form, :math:`v \leftarrow \mu v + g,\ \theta \leftarrow \theta - \eta
    v`, takes the same steps at a constant rate.) Both start from the same
    parameters and see the same batches, so the first step whose parameters
    differ is the first wrong one.

    Parameters
    ----------
    sgd_momentum : callable
        The step, as above; returns None.
    momentum : float, default=0.9
    lr : float, optional
        Default: :func:`~gluonlr.testing.stable_lr` of the data, a rate at
        which the momentum run is stable.
    batch_size, epochs, n_samples, seed : int, default=10, 3, 50, 0

    Raises
    ------
    AssertionError
        Naming the first update (epoch and batch) and parameter entry that
        differ, the two values and the difference, and for the usual
        mistakes (the velocity applied before it is updated, parameters
        rebound instead of updated in place) what happened.

    Examples
    --------
    Momentum applied in the wrong order: the parameter moves with the old
    velocity, then the velocity is updated.

    >>> def sgd_momentum(params, grads, velocities, *, lr, momentum):
    ...     for p, g, v in zip(params, grads, velocities):
    ...         p += v
    ...         v[:] = momentum * v - lr * g
    >>> check_sgd_momentum(sgd_momentum)
    Traceback (most recent call last):
    ...
    AssertionError: sgd_momentum differs first at update 1 (epoch 1 of 3, batch 1 of 5), weight[0]:
        sgd_momentum = 0.125730217
        reference    = 2.28747354
        |difference| = 2.16
      Your step left the parameters where they were on the first update, when the velocity
      is still 0: update the velocity first (v = momentum * v - lr * g), then move the
      parameter by it (p += v).
    """
    X64, y64 = (array.astype(np.float64) for array in synthetic_data(n=n_samples, seed=seed))
    rate = stable_lr(X64, batch_size=batch_size) if lr is None else float(lr)
    w0, b0 = initial_params(X64.shape[1], seed)
    params = [np.asarray(w0, np.float64).copy(), np.array([b0], np.float64)]
    velocities = [np.zeros_like(param) for param in params]
    reference = [param.copy() for param in params]
    rules = [_Momentum(param, weight_decay=0.0, momentum=momentum) for param in reference]
    name = getattr(sgd_momentum, "__name__", "sgd_momentum")
    n_batches = -(-n_samples // batch_size)
    update = 0
    for epoch in range(epochs):
        order = _epoch_permutation(n_samples, seed, epoch)
        for index, start in enumerate(range(0, n_samples, batch_size)):
            rows = order[start : start + batch_size]
            update += 1
            before = [param.copy() for param in params]
            grads = _squared_gradients(X64[rows], y64[rows], params[0], params[1])
            returned = sgd_momentum(params, grads, velocities, lr=rate, momentum=momentum)
            still_zero = momentum > 0 and not any(np.any(velocity) for velocity in velocities)
            reference_grads = _squared_gradients(X64[rows], y64[rows], reference[0], reference[1])
            reference = [
                rule.update(p, g, rate, update) for rule, p, g in zip(rules, reference, reference_grads, strict=True)
            ]
            for label, param, expected in zip(("weight", "bias"), params, reference, strict=True):
                entry = _first_difference(np.asarray(param, np.float64), expected, EXERCISE_RTOL)
                if entry is None:
                    continue
                unchanged = all(np.array_equal(p, q) for p, q in zip(params, before, strict=True))
                _fail(
                    f"{name} differs first at update {update} (epoch {epoch + 1} of {epochs}, batch {index + 1} of "
                    f"{n_batches}), {label}{f'[{entry}]' if label == 'weight' else ''}",
                    (name, "reference"),
                    (float(np.ravel(param)[entry]), float(expected.ravel()[entry])),
                    [_momentum_note(update, unchanged, returned, still_zero)],
                )


def _momentum_note(update: int, unchanged: bool, returned: Any, velocities_zero: bool) -> str:
    """Say what a wrong momentum step did, for the usual mistakes."""
    if unchanged and returned is not None:
        return (
            f"Your step returned a {type(returned).__name__} and left the parameters as they were: update them in "
            "place (p[:] = ..., p += ...); p = p - ... only rebinds a local name."
        )
    if unchanged and update == 1:
        return (
            "Your step left the parameters where they were on the first update, when the velocity is still 0: update "
            "the velocity first (v = momentum * v - lr * g), then move the parameter by it (p += v)."
        )
    if velocities_zero:
        return (
            "The velocities are still 0 after your step, so the next step cannot carry this one's momentum: update "
            "them in place (v[:] = momentum * v - lr * g)."
        )
    return ""


# -- 4. the Huber loss's gradient ---------------------------------------------------------------------------------

#: Residuals, in units of rho, at which the Huber gradient is checked: both sides of each kink, the kinks, 0.
_HUBER_POINTS = (-3.0, -1.5, -1.0, -0.5, -0.1, 0.0, 0.1, 0.5, 1.0, 1.5, 3.0)


def check_huber_grad(
    huber_grad: Callable[[np.ndarray, float], Any], *, rhos: Sequence[float] = (1.0, 0.5, 2.0)
) -> None:
    r"""Check the derivative of Gluon's Huber loss in the residual, element by element.

    ``HuberLoss(rho)`` of a residual :math:`r = \hat y - y` is
    :math:`r^2 / (2\rho)` where :math:`|r| \le \rho` and :math:`|r| - \rho/2`
    beyond, so its derivative is :math:`r / \rho` inside and
    :math:`\operatorname{sign}(r)` outside. Calls ``huber_grad(r, rho)`` with
    a float64 array ``r`` of residuals on both sides of each kink, for each
    ``rho``, and compares with the reference's derivative (the one
    :func:`~gluonlr.testing.reference_fit` trains with).

    Parameters
    ----------
    huber_grad : callable
        ``huber_grad(r, rho)``: an array of the shape of ``r``.
    rhos : sequence of float, default=(1.0, 0.5, 2.0)

    Raises
    ------
    AssertionError
        Naming the first element that differs, its residual and ``rho``, the
        two values and the difference, and which side of the kink it is on.

    Examples
    --------
    Forgetting the linear part:

    >>> def huber_grad(r, rho):
    ...     return r / rho
    >>> check_huber_grad(huber_grad)
    Traceback (most recent call last):
    ...
    AssertionError: huber_grad differs first at element 0 of 11 (r = -3, rho = 1):
        huber_grad = -3
        reference  = -1
        |difference| = 2
      Where |r| > rho the loss is |r| - rho / 2, linear: its derivative there is sign(r), -1
      or 1.
    """
    name = getattr(huber_grad, "__name__", "huber_grad")
    for rho in rhos:
        r = np.array(_HUBER_POINTS) * rho
        expected = LOSSES["huber"](r, rho)[1]
        values = _numpy(huber_grad(r.copy(), rho))
        if values.shape != r.shape:
            raise AssertionError(
                f"{name} returns shape {values.shape} for r of shape {r.shape}; expected one derivative per residual."
            )
        index = _first_difference(values, expected, EXERCISE_RTOL)
        if index is not None:
            outside = abs(r[index]) > rho
            note = (
                "Where |r| > rho the loss is |r| - rho / 2, linear: its derivative there is sign(r), -1 or 1."
                if outside
                else "Where |r| <= rho the loss is r ** 2 / (2 rho): its derivative there is r / rho."
            )
            _fail(
                f"{name} differs first at element {index} of {len(r)} (r = {r[index]:g}, rho = {rho:g})",
                (name, "reference"),
                (values[index], expected[index]),
                [note],
            )


# -- 5. a learning-rate schedule ----------------------------------------------------------------------------------


def check_lr_schedule(
    schedule: Callable[..., float],
    name: str = "cosine",
    *,
    lr: float = 0.1,
    n_batches: int = 5,
    epochs: int = 4,
    **params: float,
) -> None:
    r"""Check a learning-rate schedule, update by update, against MXNet's scheduler of that name.

    Calls ``schedule(u, lr=lr, n_batches=n_batches, epochs=epochs, **params)``
    for every update :math:`u = 1, 2, \dots, n_{batches} \cdot epochs` of a
    run (MXNet counts updates from 1) and compares with
    :func:`~gluonlr.testing.reference_lrs`: for ``"cosine"``, MXNet's
    ``CosineScheduler(max_update=n_batches * epochs, base_lr=lr,
    final_lr=final_lr)``,

    .. math:: \eta_u = \eta_{final} + (\eta - \eta_{final}) \, \frac{1 + \cos(\pi u / U)}{2},
              \qquad U = n_{batches} \cdot epochs

    and for ``"step"`` its ``FactorScheduler``,
    :math:`\eta_u = \eta \, f^{\lfloor (u - 1) / (s \, n_{batches}) \rfloor}`
    (``factor`` :math:`f`, ``step_epochs`` :math:`s`).

    Parameters
    ----------
    schedule : callable
        ``schedule(u, *, lr, n_batches, epochs, **params)``: the rate of update ``u``.
    name : {"cosine", "step"}, default="cosine"
    lr : float, default=0.1
    n_batches, epochs : int, default=5, 4
    **params : float
        The schedule's own: ``final_lr`` for ``"cosine"``; ``factor`` and
        ``step_epochs`` for ``"step"``.

    Raises
    ------
    AssertionError
        Naming the first update (epoch and batch) whose rate differs, the
        two rates and the difference, and an update count off by one.

    Examples
    --------
    Counting updates from 0:

    >>> import math
    >>> def cosine(u, *, lr, n_batches, epochs, final_lr=0.0):
    ...     return final_lr + (lr - final_lr) * (1 + math.cos(math.pi * (u - 1) / (n_batches * epochs))) / 2
    >>> check_lr_schedule(cosine, "cosine")
    Traceback (most recent call last):
    ...
    AssertionError: cosine differs first at update 1 (epoch 1 of 4, batch 1 of 5):
        cosine    = 0.1
        reference = 0.099384417
        |difference| = 0.000616
      Your rate of update u is the reference's of update u - 1: MXNet counts updates from 1,
      and the first update already has a rate below lr.
    """
    if name not in SCHEDULES or name == "constant":
        raise ValueError(f"check_lr_schedule checks 'cosine' or 'step'. Got {name!r}.")
    expected = reference_lrs((name, params), lr=lr, n_batches=n_batches, epochs=epochs)
    label = getattr(schedule, "__name__", "schedule")
    values = np.array(
        [float(schedule(u, lr=lr, n_batches=n_batches, epochs=epochs, **params)) for u in range(1, len(expected) + 1)]
    )
    index = _first_difference(values, expected, EXERCISE_RTOL)
    if index is None:
        return
    shifted_back = np.concatenate([[lr], expected[:-1]])  # the rate of update u - 1; "update 0" has lr
    notes = []
    if np.allclose(values, shifted_back, rtol=EXERCISE_RTOL):
        notes.append(
            "Your rate of update u is the reference's of update u - 1: MXNet counts updates from 1, and the first "
            "update already has a rate below lr."
            if name == "cosine"
            else "Your rate of update u is the reference's of update u - 1: MXNet counts updates from 1."
        )
    elif np.allclose(values[:-1], expected[1:], rtol=EXERCISE_RTOL):
        notes.append("Your rate of update u is the reference's of update u + 1: MXNet counts updates from 1.")
    elif all(len(set(values[i : i + n_batches].tolist())) == 1 for i in range(0, len(values), n_batches)):
        notes.append("Your rate changes once an epoch; MXNet's schedulers change it every update (u counts batches).")
    _fail(
        f"{label} differs first at update {index + 1} (epoch {index // n_batches + 1} of {epochs}, batch "
        f"{index % n_batches + 1} of {n_batches})",
        (label, "reference"),
        (values[index], expected[index]),
        notes,
    )
