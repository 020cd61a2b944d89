r"""A plain-numpy, float64 reference of what :func:`gluonlr.fit` computes.

Written from the formulas of the documentation and of MXNet 1.9.1's source
(``mxnet/optimizer/optimizer.py``, ``mxnet/lr_scheduler.py``,
``mxnet/gluon/loss.py`` and the update kernels of
``src/operator/optimizer_op-inl.h``), independently of gluonlr's two paths:
it shares with them only the initial parameters (:func:`gluonlr.initial_params`).
The batch order it states itself, from the definition that
:func:`~gluonlr.data.epoch_order` documents (``_epoch_permutation``), so
that an ``epoch_order`` that strays from it fails the comparison.

One epoch visits the training rows in ``_epoch_permutation(n_train, seed, epoch)``
order (``range(n_train)`` with ``shuffle=False``), in batches of ``batch_size`` (the last one may be short). On a batch
:math:`B` with residuals :math:`r = \hat y - y` the step uses the gradient

.. math:: g = \frac{1}{d(B)} \nabla_\theta \sum_{i \in B} s_i \,
          \frac{1}{k} \sum_{j=1}^{k} \ell(r_{ij})

(:math:`k` outputs, sample weights :math:`s_i`, :math:`d(B)` the batch's size
for ``reduction="mean"``, 1 for ``"sum"``), and the optimizer's update of
number :math:`u = 1, 2, \dots`, counted over the whole run, with the learning
rate :math:`\eta_u` of the schedule.

With ``standardize=True`` the rows :math:`x` are replaced by
:math:`z = (x - \mu) / \sigma`, :math:`\mu` and :math:`\sigma` the mean and
standard deviation of each feature over the training rows (:math:`\sigma = 1`
for a constant one), and the parameters are reported as
:math:`w = w' / \sigma`, :math:`b = b' - \mu \cdot w` (``_standardization``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gluonlr import initial_params
from gluonlr.data.prepare import resolve_dtype
from gluonlr.options import resolve_batch_size

__all__ = [
    "LOSSES",
    "METRICS",
    "OPTIMIZERS",
    "SCHEDULES",
    "ReferenceResult",
    "reference_fit",
    "reference_lrs",
    "stable_lr",
]

LossFunction = Callable[[np.ndarray, float], tuple[np.ndarray, np.ndarray]]

#: The rows as fit sees them, in float64: ``(X_train, Y_train, s_train, X_val, Y_val)`` (no validation: Nones).
_Rows = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]


# -- the order of the samples ------------------------------------------------------------------------------------


def _epoch_permutation(n: int, seed: int, epoch: int) -> np.ndarray:
    """Return the order in which an epoch visits ``n`` training rows, by its definition.

    The permutation ``numpy.random.Generator.permutation(n)`` of a PCG64 bit
    generator seeded by the ``SeedSequence`` of the entropy ``[seed, epoch]``:
    a function of ``(seed, epoch)`` alone, the same on every platform. This is
    what :func:`gluonlr.data.epoch_order` documents, written out here rather
    than imported, so that the reference checks the library's order instead of
    sharing it.

    Examples
    --------
    >>> order = _epoch_permutation(6, seed=0, epoch=1)
    >>> sorted(order.tolist()), order.tolist() == _epoch_permutation(6, seed=0, epoch=0).tolist()
    ([0, 1, 2, 3, 4, 5], False)
    """
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, epoch]))).permutation(n)


# -- losses: value and derivative of the per-entry loss of a residual r = yhat - y --------------------------------


def _squared(r: np.ndarray, rho: float) -> tuple[np.ndarray, np.ndarray]:
    """Compute the article's loss, ``L2Loss(weight=2)``: ``r**2``."""
    return r * r, 2 * r


def _l2(r: np.ndarray, rho: float) -> tuple[np.ndarray, np.ndarray]:
    """Compute Gluon's ``L2Loss()``: ``r**2 / 2``."""
    return r * r / 2, r


def _l1(r: np.ndarray, rho: float) -> tuple[np.ndarray, np.ndarray]:
    """Compute Gluon's ``L1Loss()``: ``|r|``; MXNet's ``abs`` has the derivative ``sign(r)``, 0 at 0."""
    return np.abs(r), np.sign(r)


def _huber(r: np.ndarray, rho: float) -> tuple[np.ndarray, np.ndarray]:
    """Compute Gluon's ``HuberLoss(rho)``: ``|r| - rho/2`` where ``|r| > rho``, else ``r**2 / (2 rho)``."""
    outer = np.abs(r) > rho
    return np.where(outer, np.abs(r) - rho / 2, r * r / (2 * rho)), np.where(outer, np.sign(r), r / rho)


#: The per-entry losses by name: ``loss(r, rho) -> (value, derivative)``, elementwise.
LOSSES: dict[str, LossFunction] = {"squared": _squared, "l2": _l2, "l1": _l1, "huber": _huber}


#: The largest second derivative of each per-entry loss (L1 has none; it gets L2's, a scale for its steps).
_CURVATURE: dict[str, Callable[[float], float]] = {
    "squared": lambda rho: 2.0,
    "l2": lambda rho: 1.0,
    "l1": lambda rho: 1.0,
    "huber": lambda rho: 1.0 / rho,
}


#: Adam moves each parameter by about ``lr`` per update, however small the gradient: cap its rate.
_ADAM_MAX_LR = 0.01


def stable_lr(
    X: Any,
    *,
    loss: str = "squared",
    reduction: str = "sum",
    batch_size: int = 10,
    fraction: float = 1.0,
    rho: float = 1.0,
    sample_weight: Any = None,
    weight_decay: float = 0.0,
    optimizer: str = "sgd",
) -> float:
    r"""Return a learning rate that keeps SGD on ``X`` contracting: ``fraction`` of a safe bound.

    The Hessian of a batch's weighted summed loss in :math:`\theta = (w, b)` is
    :math:`\sum_{i \in B} s_i \ell'' \tilde x_i \tilde x_i^T` with
    :math:`\tilde x = (x, 1)`, whose norm is at most

    .. math:: L = \ell''_{max} \, B \, s_{max} \, (d \max |x|^2 + 1) + \lambda

    (``B = 1`` for ``reduction="mean"``, which divides by the batch's size;
    :math:`\lambda` the weight decay). A step with ``lr <= 1 / L`` cannot
    overshoot, with or without (Nesterov) momentum below 1. Adam's steps are
    about ``lr`` each whatever the curvature (a tiny gradient included), so
    for ``optimizer="adam"`` the rate is also at most ``fraction * 0.01``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    loss : {"squared", "l2", "l1", "huber"}, default="squared"
    reduction : {"sum", "mean"}, default="sum"
    batch_size : int, default=10
    fraction : float, default=1.0
        The returned rate is ``fraction / L``.
    rho : float, default=1.0
        Huber's threshold (its curvature is ``1 / rho``).
    sample_weight : array-like of shape (n_samples,), optional
    weight_decay : float, default=0.0
    optimizer : {"sgd", "adam"}, default="sgd"

    Returns
    -------
    float

    Examples
    --------
    Here :math:`d \max|x|^2 + 1 = 2` and the squared loss's curvature is 2:

    >>> X = [[1.0], [-1.0]]
    >>> stable_lr(X, loss="squared", reduction="sum", batch_size=2), stable_lr(X, reduction="mean", batch_size=2)
    (0.125, 0.25)
    """
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    effective_batch = 1 if reduction == "mean" else min(batch_size, n)
    largest_weight = 1.0 if sample_weight is None else max(float(np.max(sample_weight)), 0.0)
    curvature = _CURVATURE[loss](rho) * effective_batch * largest_weight * (d * float(np.max(np.abs(X))) ** 2 + 1)
    bound = fraction / (curvature + weight_decay) if curvature + weight_decay > 0 else fraction
    return min(bound, fraction * _ADAM_MAX_LR) if optimizer == "adam" else bound


# -- standardized features -------------------------------------------------------------------------------------


def _standardization(
    X_train: np.ndarray, dtype: Any = np.float32, centre: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(mean, inverse)`` of the training rows' columns, in ``dtype``: the map ``fit(standardize=True)`` uses.

    The mean and the population standard deviation, in float64; a column
    whose deviation is 0 or at most ten float32 roundings of its mean (``std
    <= 10 * eps32 * |mean|``) is constant, with the scale 1. The mean and the
    scale are rounded to float32 and ``inverse`` is the float32 reciprocal of
    the scale, as the device holds them; the rows are standardized in float32
    arithmetic, ``(x - mean) * inverse``, as the device computes them (like
    Adam's float32 betas, a rounding the reference shares on purpose). With
    ``dtype=np.float64`` (``fit(dtype="float64")``) each float32 above is float64.
    ``centre=False`` (``fit_intercept=False``): the same scale, and a mean of 0
    (``StandardScaler(with_mean=False)``).

    Examples
    --------
    >>> mean, inverse = _standardization(np.array([[1.0, 4.0], [3.0, 4.0]]))
    >>> mean.tolist(), inverse.tolist()
    ([2.0, 4.0], [1.0, 1.0])
    """
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    eps, tiny = float(np.finfo(dtype).eps), float(np.finfo(dtype).tiny)
    constant = (std <= 10 * eps * np.abs(mean)) | (std < tiny)
    scale = np.where(constant, 1.0, std).astype(dtype)
    return (mean if centre else np.zeros_like(mean)).astype(dtype), (1.0 / scale.astype(np.float64)).astype(dtype)


def _standardized(X: np.ndarray, mean: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """Return the rows ``X`` (float64 of values in ``mean``'s dtype) standardized in that dtype, as float64."""
    return ((X.astype(mean.dtype) - mean) * inverse).astype(np.float64)


# -- optimizers: MXNet 1.9.1's update of one parameter, with its state -------------------------------------------


def _exact(value: float) -> float:
    return value


def _float32(value: float) -> float:
    """Return ``value`` as MXNet's update kernels take a scalar, whatever the arrays' dtype: rounded to float32."""
    return float(np.float32(value))


class _SGD:
    """``sgd_update``: ``theta -= lr * (g + wd * theta)``.

    ``kernel`` rounds the kernel's scalars (``lr``, ``wd``, ``momentum``,
    ``epsilon``): to float32 for a float64 model, where they are the one
    float32 rounding left; a float32 model's reference keeps them exact.
    """

    kernel: Callable[[float], float] = staticmethod(_exact)

    def __init__(self, theta: np.ndarray, *, weight_decay: float, **unused: float) -> None:
        self.wd = weight_decay

    def update(self, theta: np.ndarray, g: np.ndarray, lr: float, t: int) -> np.ndarray:
        return theta - self.kernel(lr) * (g + self.kernel(self.wd) * theta)


class _Momentum(_SGD):
    """``sgd_mom_update``: ``mom = momentum * mom - lr * (g + wd * theta); theta += mom``."""

    def __init__(self, theta: np.ndarray, *, weight_decay: float, momentum: float, **unused: float) -> None:
        self.wd, self.momentum = weight_decay, momentum
        self.mom = np.zeros_like(theta)

    def update(self, theta: np.ndarray, g: np.ndarray, lr: float, t: int) -> np.ndarray:
        lr, wd, momentum = self.kernel(lr), self.kernel(self.wd), self.kernel(self.momentum)
        self.mom = momentum * self.mom - lr * (g + wd * theta)
        return theta + self.mom


class _NAG(_SGD):
    """``nag_mom_update`` as ``mxnet.optimizer.NAG`` calls it, with ``out=weight``.

    The kernel (``NAGMomKernel``) computes, per entry::

        mom = momentum * mom
        weight_out = weight - mom + (momentum + 1) * (mom - lr * (g + wd * weight))
        mom = mom - lr * (g + wd * weight)

    and since the optimizer passes ``out=weight``, the last line reads the
    weight it has just updated. The state is the lr-scaled velocity (not the
    unscaled one of the class docstring), so this differs from that docstring
    when ``wd > 0`` or the learning rate changes.
    """

    def __init__(self, theta: np.ndarray, *, weight_decay: float, momentum: float, **unused: float) -> None:
        self.wd, self.momentum = weight_decay, momentum
        self.mom = np.zeros_like(theta)

    def update(self, theta: np.ndarray, g: np.ndarray, lr: float, t: int) -> np.ndarray:
        lr, wd, momentum = self.kernel(lr), self.kernel(self.wd), self.kernel(self.momentum)
        mom = momentum * self.mom
        theta = theta - mom + (momentum + 1) * (mom - lr * (g + wd * theta))
        self.mom = mom - lr * (g + wd * theta)
        return theta


class _Adam(_SGD):
    """``mxnet.optimizer.Adam`` and its ``adam_update`` kernel.

    ``lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t)`` (in Python floats);
    ``g' = g + wd * theta``; ``m = beta1 m + (1 - beta1) g'``;
    ``v = beta2 v + (1 - beta2) g'**2``; ``theta -= lr_t m / (sqrt(v) + epsilon)``.
    The kernel takes ``beta1`` and ``beta2`` as float32 parameters, and
    ``1 - beta2`` magnifies the rounding of 0.999 to 1.3e-5 relative, so the
    moments use the float32 betas, as MXNet does.
    """

    def __init__(
        self, theta: np.ndarray, *, weight_decay: float, beta1: float, beta2: float, epsilon: float, **unused: float
    ) -> None:
        self.wd, self.beta1, self.beta2, self.epsilon = weight_decay, beta1, beta2, epsilon
        self.kernel_beta1, self.kernel_beta2 = float(np.float32(beta1)), float(np.float32(beta2))
        self.mean, self.var = np.zeros_like(theta), np.zeros_like(theta)

    def update(self, theta: np.ndarray, g: np.ndarray, lr: float, t: int) -> np.ndarray:
        lr_t = self.kernel(lr * math.sqrt(1.0 - self.beta2**t) / (1.0 - self.beta1**t))
        g = g + self.kernel(self.wd) * theta
        self.mean = self.kernel_beta1 * self.mean + (1.0 - self.kernel_beta1) * g
        self.var = self.kernel_beta2 * self.var + (1.0 - self.kernel_beta2) * g * g
        return theta - lr_t * self.mean / (np.sqrt(self.var) + self.kernel(self.epsilon))


class _L1:
    """scikit-learn's cumulative L1 penalty (``l1penalty`` in ``sklearn/linear_model/_sgd_fast.pyx.tp``).

    After each SGD update with rate ``lr``: ``u += l1_ratio * lr * alpha``; each weight ``w > 0`` becomes
    ``max(0, w - (u + q))``, each ``w < 0`` becomes ``min(0, w + (u - q))``, and ``q += w_new - w`` (the
    penalty it has received). ``u`` and ``q`` in float64.
    """

    def __init__(self, W: np.ndarray, *, alpha: float, l1_ratio: float) -> None:
        self.alpha, self.l1_ratio, self.u, self.q = alpha, l1_ratio, 0.0, np.zeros_like(W)

    def apply(self, W: np.ndarray, lr: float) -> np.ndarray:
        self.u += self.l1_ratio * lr * self.alpha
        new = np.where(
            W > 0, np.maximum(0.0, W - (self.u + self.q)), np.where(W < 0, np.minimum(0.0, W + (self.u - self.q)), W)
        )
        self.q = self.q + (new - W)
        return new


class _Average:
    """Averaged SGD's running mean of the iterates (``mean += (theta - mean) / k``), from sample ``start`` on."""

    def __init__(self, start: int, W: np.ndarray, b: np.ndarray) -> None:
        self.start, self.seen, self.count = start, 0, 0
        self.W, self.b = np.zeros_like(W), np.zeros_like(b)

    def apply(self, W: np.ndarray, b: np.ndarray, rows: int) -> None:
        self.seen += rows
        if self.seen >= self.start:
            self.count += 1
            self.W = self.W + (W - self.W) / self.count
            self.b = self.b + (b - self.b) / self.count

    def model(self, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (self.W, self.b) if self.count else (W, b)


def _penalties(penalty: str | None, alpha: float, l1_ratio: float, weight_decay: float) -> tuple[float, float]:
    """Return the weights' ``(L2 decay, L1 strength)``: ``(1 - r) alpha`` and ``r alpha``, ``r`` the L1 share.

    ``weight_decay=a`` is ``penalty="l2", alpha=a``; both given must agree.
    """
    if weight_decay > 0:
        if penalty is not None and (penalty != "l2" or alpha != weight_decay):
            raise ValueError(f"weight_decay={weight_decay!r} is penalty='l2', alpha={weight_decay!r}: not both.")
        penalty, alpha = "l2", weight_decay
    if penalty is None:
        return 0.0, 0.0
    share = {"l2": 0.0, "l1": 1.0, "elasticnet": l1_ratio}[penalty]
    return (1.0 - share) * alpha, share


#: The optimizers by fit's names: ``"sgd"`` is plain SGD, with ``momentum > 0`` MXNet's momentum SGD, with
#: ``nesterov=True`` MXNet's ``NAG``; ``"adam"`` is MXNet's ``Adam``.
OPTIMIZERS = ("sgd", "adam")


def _optimizer_class(optimizer: str, momentum: float, nesterov: bool) -> type[_SGD | _Momentum | _NAG | _Adam]:
    """Return the update rule of fit's optimizer options (MXNet's NAG without momentum is ``sgd_update``)."""
    if optimizer == "adam":
        if nesterov:
            raise ValueError("nesterov=True applies to optimizer='sgd' only.")
        return _Adam
    if optimizer != "sgd":
        raise ValueError(f"Unknown optimizer {optimizer!r}; the reference knows {OPTIMIZERS}.")
    if momentum == 0:
        return _SGD
    return _NAG if nesterov else _Momentum


# -- learning-rate schedules: MXNet's lr_scheduler, called with the update count u = 1, 2, ... -------------------


def _constant(u: int, *, lr: float, n_batches: int, epochs: int) -> float:
    """Keep the same rate throughout."""
    return lr


def _step(u: int, *, lr: float, n_batches: int, epochs: int, step_epochs: int = 1, factor: float = 0.5) -> float:
    """Return the rate of ``FactorScheduler(step=step_epochs * n_batches, factor=factor, base_lr=lr)``.

    It multiplies by ``factor`` while ``u > count + step``, so the rate of
    update ``u`` is ``lr * factor ** ((u - 1) // step)``, clamped after each
    multiplication at ``stop_factor_lr = 1e-8``.
    """
    decays = (u - 1) // (step_epochs * n_batches)
    return lr if decays == 0 else max(lr * factor**decays, 1e-8)


def _cosine(u: int, *, lr: float, n_batches: int, epochs: int, final_lr: float = 0.0) -> float:
    """Return the rate of ``CosineScheduler(max_update=epochs * n_batches, base_lr=lr, final_lr=final_lr)``.

    ``final_lr + (lr - final_lr) * (1 + cos(pi * u / max_update)) / 2`` for
    ``u <= max_update``, then the last value (no warm-up).
    """
    max_update = epochs * n_batches
    return final_lr + (lr - final_lr) * (1 + math.cos(math.pi * min(u, max_update) / max_update)) / 2


def _adaptive(u: int, *, lr: float, n_batches: int, epochs: int, factor: float = 5.0, min_lr: float = 1e-6) -> float:
    """Return the rate now: scikit-learn's ``adaptive``, divided by ``factor`` at each plateau by the loop."""
    return lr


def _invscaling(u: int, *, lr: float, n_batches: int, epochs: int, power_t: float = 0.25) -> float:
    """Return scikit-learn's ``invscaling`` rate ``eta0 / t ** power_t``, with ``t = u`` counting from 1."""
    return lr / u**power_t


#: The schedules by name, as functions ``(u, *, lr, n_batches, epochs, **params) -> lr_u``; their keyword
#: defaults are those of the bare names (``"step"``: ``step_epochs=1, factor=0.5``; ``"cosine"``: ``final_lr=0``;
#: ``"invscaling"``: ``power_t=0.25``; ``"adaptive"``: ``factor=5, min_lr=1e-6``, divided by reference_fit's loop).
SCHEDULES: dict[str, Callable[..., float]] = {
    "constant": _constant,
    "step": _step,
    "cosine": _cosine,
    "invscaling": _invscaling,
    "adaptive": _adaptive,
}


def _schedule(lr_schedule: Any) -> tuple[Callable[..., float], dict[str, Any]]:
    """Return the schedule function and its parameters from any of the forms :func:`reference_fit` accepts."""
    if lr_schedule is None:
        return _constant, {}
    if isinstance(lr_schedule, str) and lr_schedule in SCHEDULES:
        return SCHEDULES[lr_schedule], {}
    if isinstance(lr_schedule, tuple) and len(lr_schedule) == 2 and lr_schedule[0] in SCHEDULES:
        return SCHEDULES[lr_schedule[0]], dict(lr_schedule[1])
    if getattr(lr_schedule, "name", None) in SCHEDULES and callable(getattr(lr_schedule, "params", None)):
        return SCHEDULES[lr_schedule.name], dict(lr_schedule.params())
    if callable(lr_schedule):
        return (lambda u, **unused: float(lr_schedule(u))), {}
    raise TypeError(
        f"lr_schedule must be None, one of {tuple(SCHEDULES)}, a tuple (name, params), an object with a 'name' "
        f"and params(), or a callable lr_at(u). Got {lr_schedule!r}."
    )


def reference_lrs(lr_schedule: Any = None, *, lr: float, n_batches: int, epochs: int) -> np.ndarray:
    r"""Return the learning rate of each update of a run, as MXNet's schedulers give it.

    Parameters
    ----------
    lr_schedule : None, str, tuple, schedule object or callable, default=None
        As for :func:`reference_fit`.
    lr : float
        The base learning rate.
    n_batches : int
        Batches (updates) per epoch.
    epochs : int
        Epochs of the run.

    Returns
    -------
    ndarray of shape (epochs * n_batches,), float64
        Entry ``u - 1`` is the rate of update ``u``.

    Examples
    --------
    Halve the rate every second epoch (``FactorScheduler(step=2 * n_batches,
    factor=0.5)``), and anneal it along a cosine (``CosineScheduler``):

    >>> reference_lrs(("step", {"step_epochs": 2, "factor": 0.5}), lr=0.1, n_batches=2, epochs=4).tolist()
    [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05]
    >>> reference_lrs("cosine", lr=1.0, n_batches=2, epochs=2).round(4).tolist()
    [0.8536, 0.5, 0.1464, 0.0]
    """
    function, params = _schedule(lr_schedule)
    return np.array(
        [function(u, lr=lr, n_batches=n_batches, epochs=epochs, **params) for u in range(1, epochs * n_batches + 1)]
    )


# -- metrics: on float64 predictions and targets of shape (n, k) --------------------------------------------------


def _mse(pred: np.ndarray, target: np.ndarray) -> float:
    """Return the mean squared error over all entries."""
    return float(np.mean((pred - target) ** 2))


def _rmse(pred: np.ndarray, target: np.ndarray) -> float:
    """Return the square root of the MSE over all entries (not a mean of per-output RMSEs)."""
    return math.sqrt(_mse(pred, target))


def _mae(pred: np.ndarray, target: np.ndarray) -> float:
    """Return the mean absolute error over all entries."""
    return float(np.mean(np.abs(pred - target)))


def _r2(pred: np.ndarray, target: np.ndarray) -> float:
    """Return scikit-learn's ``r2_score(target, pred, multioutput="uniform_average")``.

    ``1 - SS_res / SS_tot`` per output, averaged; an output with ``SS_tot = 0``
    scores 1 if it is predicted exactly, else 0 (``force_finite=True``), also
    with a single sample, where scikit-learn returns NaN: gluonlr keeps every
    logged value finite, so that its divergence check can trust a NaN.
    """
    ss_res = np.sum((target - pred) ** 2, axis=0)
    ss_tot = np.sum((target - target.mean(axis=0)) ** 2, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(ss_tot != 0, 1 - ss_res / ss_tot, np.where(ss_res == 0, 1.0, 0.0))
    return float(np.mean(scores))


#: The metrics by name: ``metric(pred, target) -> float`` on arrays of shape (n, k).
METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {"mse": _mse, "rmse": _rmse, "mae": _mae, "r2": _r2}


# -- the fit ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferenceResult:
    """What :func:`reference_fit` returns, in float64.

    Attributes
    ----------
    weight : ndarray of shape (n_features,) or (n_features, n_outputs)
        The weights after the last epoch.
    bias : float or ndarray of shape (n_outputs,)
        The bias after the last epoch.
    history : dict of str to list of float
        ``"loss"`` and ``"lr"`` for every epoch; ``"val_loss"`` with
        validation; each metric and, with validation, ``"val_"`` + metric.
    epoch_weights : list of ndarray
        The weights after each epoch (the last is ``weight``).
    epoch_biases : list of float or ndarray
        The bias after each epoch.
    converged : bool or None
        With ``tol``: whether training stopped on it before its last epoch.
    batch_losses : list of list of float
        Per epoch, each batch's mean per-sample loss (weighted by the sample
        weights, as ``history["loss"]``) before its update: what a callback
        that asks for it (``wants_batch_loss``) reads in ``on_batch_end``.

    Examples
    --------
    >>> result = reference_fit([[1.0], [2.0]], [1.0, 2.0], epochs=2)
    >>> result.weight.shape, len(result.epoch_biases), sorted(result.history)
    ((1,), 2, ['loss', 'lr'])
    """

    weight: np.ndarray
    bias: float | np.ndarray
    history: dict[str, list[float]]
    epoch_weights: list[np.ndarray] = field(default_factory=list)
    epoch_biases: list[float | np.ndarray] = field(default_factory=list)
    converged: bool | None = None
    batch_losses: list[list[float]] = field(default_factory=list)


class _Target:
    """The standardization of ``y`` by the training rows' mean and standard deviation, stated on its own."""

    def __init__(self, Y: np.ndarray, dtype: Any = np.float32, centre: bool = True) -> None:
        self.mean, scale = (Y.mean(axis=0) if centre else np.zeros(Y.shape[1])), Y.std(axis=0)
        self.scale = np.where(scale > 0, scale, 1.0)
        self.dtype = dtype  # the model's: the standardized targets are rounded to it

    def apply(self, Y: np.ndarray) -> np.ndarray:
        return ((Y - self.mean) / self.scale).astype(self.dtype).astype(np.float64)

    def start(self, W: np.ndarray, b: np.ndarray, given_w: bool, given_b: bool) -> tuple[np.ndarray, np.ndarray]:
        return (W / self.scale if given_w else W), ((b - self.mean) / self.scale if given_b else b)

    def raw(self, Y: np.ndarray) -> np.ndarray:
        """Return standardized targets (or predictions of them) in y's units: the metrics are taken there."""
        return Y * self.scale + self.mean


class _Units:
    """The standardization of ``X`` by the training rows' statistics (``fit(standardize=True)``), on its own."""

    def __init__(self, X: np.ndarray, rounded: np.dtype, centre: bool = True) -> None:
        self.mean32, self.inverse32 = _standardization(X, rounded, centre)  # float32, or float64 for a float64 model
        self.mean, self.inverse = self.mean32.astype(np.float64), self.inverse32.astype(np.float64)[:, None]

    def apply(self, X: np.ndarray) -> np.ndarray:
        return _standardized(X, self.mean32, self.inverse32)


class _Tolerance:
    """scikit-learn's stopping rule, stated on its own: ``n`` epochs in a row not below the best minus ``tol``."""

    def __init__(self, tol: float, n: int) -> None:
        self.tol, self.n, self.best, self.wait = tol, n, math.inf, 0

    def converged(self, value: float) -> bool:
        self.wait = self.wait + 1 if value > self.best - self.tol else 0
        self.best = min(self.best, value)
        return self.wait >= self.n


def _as_float64(values: Any, name: str, ndims: tuple[int, ...], dtype: Any = np.float32) -> np.ndarray:
    """Return ``values`` as fit sees them (rounded to ``dtype``, the model's), in float64."""
    array = np.asarray(values, dtype=dtype).astype(np.float64)
    if array.ndim not in ndims:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndims))} dimensions. Got shape {array.shape}.")
    return array


def _check_names(loss: str, reduction: str, metrics: Sequence[Any]) -> None:
    """Raise ``ValueError`` for a loss, reduction or metric the reference does not know."""
    if loss not in LOSSES:
        raise ValueError(f"Unknown loss {loss!r}; the reference knows {tuple(LOSSES)}.")
    if reduction not in ("sum", "mean"):
        raise ValueError(f"Unknown reduction {reduction!r}; the reference knows ('sum', 'mean').")
    unknown = [name for name in metrics if isinstance(name, str) and name not in METRICS]
    if unknown:
        raise ValueError(f"Unknown metrics {unknown}; the reference knows {tuple(METRICS)}.")


def _user_metric(metric: Any, single: bool) -> tuple[str, Callable[[np.ndarray, np.ndarray], float]]:
    """Return ``(name, metric(pred, target))`` of a metric of the user's, on arrays of shape (n, k).

    A function ``f(y_true, y_pred)`` (named by its ``__name__``, or a pair ``(name, f)``) gets all the rows, of
    ``y``'s shape; an object with ``reset``, ``update`` and ``get`` (an ``mxnet.metric.EvalMetric``) is reset,
    updated once with all the rows as float64 ``NDArray`` and read.
    """
    if isinstance(metric, tuple):
        name, function = metric
    elif all(hasattr(metric, method) for method in ("reset", "update", "get")):
        from gluonlr._mxnet import nd

        def function(y_true: np.ndarray, y_pred: np.ndarray) -> float:
            metric.reset()
            metric.update([nd.array(y_true, dtype=np.float64)], [nd.array(y_pred, dtype=np.float64)])
            return float(metric.get()[1])

        name = metric.name
    else:
        name, function = metric.__name__, metric

    def score(pred: np.ndarray, target: np.ndarray) -> float:
        if single:
            pred, target = pred[:, 0], target[:, 0]
        return float(function(target, pred))

    return name, score


def _initial(
    n_features: int,
    n_outputs: int | None,
    seed: int,
    init_weight: Any,
    init_bias: Any,
    init: str = "normal",
    dtype: Any = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the starting ``(W of shape (d, k), b of shape (k,))`` in float64.

    One output (1-D ``y``): :func:`gluonlr.initial_params`. ``k >= 2`` outputs
    (gluonlr's multi-output convention): ``W ~ N(0, 1)`` drawn as
    ``default_rng(seed).standard_normal((d, k))`` in float32, ``b = 0``,
    unless given (``init_bias`` a float or one per output). ``init="zeros"``:
    ``W = 0`` unless given. The weights are rounded to ``dtype``, the model's.
    """
    if init == "zeros" and init_weight is None:
        init_weight = np.zeros((n_features,) if n_outputs is None else (n_features, n_outputs))
    if n_outputs is None:
        weight, bias = initial_params(n_features, seed, init_weight, init_bias, dtype=np.dtype(dtype).name)
        return weight.astype(np.float64).reshape(n_features, 1), np.array([bias])
    if init_weight is None:
        weight = np.random.default_rng(seed).standard_normal((n_features, n_outputs)).astype(dtype)
    else:
        weight = np.asarray(init_weight, dtype=dtype)
        if weight.shape != (n_features, n_outputs):
            raise ValueError(f"init_weight must have shape {(n_features, n_outputs)}. Got {weight.shape}.")
    bias = np.zeros(n_outputs) if init_bias is None else np.asarray(init_bias, dtype=np.float64)
    return weight.astype(np.float64), np.broadcast_to(bias, (n_outputs,)).astype(np.float64)


def _split(
    X: np.ndarray,
    Y: np.ndarray,
    s: np.ndarray,
    validation_split: float,
    validation_data: Any,
    y_ndim: int,
    dtype: Any = np.float32,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Return ``(X, Y, s)`` to train on and ``(X_val, Y_val)`` or Nones; Keras' conventions.

    ``validation_data`` wins over ``validation_split``; a split keeps the first
    ``int(n * (1 - validation_split))`` rows for training, before any shuffle.
    """
    if validation_data is not None:
        X_val = _as_float64(validation_data[0], "validation_data[0]", (2,), dtype)
        Y_val = _as_float64(validation_data[1], "validation_data[1]", (y_ndim,), dtype)
        return X, Y, s, X_val, Y_val.reshape(len(Y_val), -1)
    if not validation_split:
        return X, Y, s, None, None
    split_at = int(len(Y) * (1.0 - validation_split))
    if not 0 < split_at < len(Y):
        raise ValueError(f"validation_split={validation_split} leaves no training or no validation rows of {len(Y)}.")
    return X[:split_at], Y[:split_at], s[:split_at], X[split_at:], Y[split_at:]


def reference_fit(
    X: Any,
    y: Any,
    *,
    loss: str = "squared",
    rho: float = 1.0,
    reduction: str = "sum",
    lr: float = 0.01,
    batch_size: int | str = 10,
    epochs: int = 10,
    seed: int = 0,
    shuffle: bool = True,
    init: str = "normal",
    fit_intercept: bool = True,
    init_weight: Any = None,
    init_bias: Any = None,
    optimizer: str = "sgd",
    momentum: float = 0.0,
    nesterov: bool = False,
    beta1: float = 0.9,
    beta2: float = 0.999,
    epsilon: float = 1e-8,
    penalty: str | None = None,
    alpha: float = 0.0001,
    l1_ratio: float = 0.15,
    weight_decay: float = 0.0,
    average: bool | int = False,
    lr_schedule: Any = None,
    dtype: str = "float32",
    sample_weight: Any = None,
    validation_split: float = 0.0,
    validation_data: Sequence[Any] | None = None,
    metrics: Sequence[Any] = (),
    standardize: bool = False,
    standardize_target: bool = False,
    tol: float | None = None,
    n_iter_no_change: int = 5,
) -> ReferenceResult:
    r"""Train as :func:`gluonlr.fit` does, in float64 numpy, from the formulas.

    Takes fit's arguments, with fit's defaults (``path``, ``callbacks`` and
    checkpoints are fit's own business and not taken). ``X``, ``y`` and
    ``sample_weight`` are rounded to the model's ``dtype`` as fit does (float32
    by default; not at all with ``dtype="float64"``), then computed on in
    float64.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        A 2-D ``y`` (``n_outputs >= 2``) fits ``n_outputs`` regressions at once.
    loss : {"squared", "l2", "l1", "huber"}, default="squared"
        Per-entry loss of the residual :math:`r = \hat y - y`: :math:`r^2`,
        :math:`r^2/2`, :math:`|r|`, or Gluon's ``HuberLoss(rho)``:
        :math:`|r| - \rho/2` if :math:`|r| > \rho`, else :math:`r^2/(2\rho)`.
        With several outputs a sample's loss is the mean over its outputs.
    rho : float, default=1.0
        Huber's threshold.
    reduction : {"sum", "mean"}, default="sum"
        The batch's summed gradient is divided by 1, or by the batch's size.
    lr : float, default=0.01
        The base learning rate.
    batch_size, epochs, seed : int, default=10, 10, 0
        As for fit; the batch order is the one
        :func:`~gluonlr.data.epoch_order` documents, stated here on its own.
        ``batch_size="auto"`` is resolved for the training rows as fit does
        (:func:`gluonlr.options.resolve_batch_size`).
    shuffle : bool, default=True
        False: every epoch visits the training rows in their order, ``0, 1, ..., n_train - 1``.
    init : {"normal", "zeros"}, default="normal"
        Without ``init_weight``: ``N(0, 1)`` weights drawn from ``seed``, or zeros.
    fit_intercept : bool, default=True
        False: the bias stays 0, never updated (no state, no weight decay), and
        ``standardize`` and ``standardize_target`` divide by the standard
        deviation without subtracting the mean (:math:`\mu = 0` below), so the
        model returned is :math:`X w` in the units of ``X`` and ``y``. A
        nonzero ``init_bias`` is a ``ValueError``.
    init_weight, init_bias : array-like, optional
        Initial parameters; by default as fit draws them.
    optimizer : {"sgd", "adam"}, default="sgd"
        MXNet 1.9.1's updates: ``sgd_update``; ``sgd_mom_update`` for
        ``momentum > 0``; ``NAG`` (``nag_mom_update``) for ``nesterov=True``;
        ``Adam``.
    momentum : float, default=0.0
    nesterov : bool, default=False
    beta1, beta2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's.
    penalty : {None, "l2", "l1", "elasticnet"}, default=None
        scikit-learn's penalties of the weights, never of the bias. The L2
        part, :math:`\lambda = (1 - r)\,\alpha`, is MXNet's ``wd`` in the
        update (``theta -= lr * (g + wd * theta)``); the L1 part,
        :math:`r\alpha`, is scikit-learn's cumulative truncated gradient after
        each update: ``u += r * lr * alpha``, a weight ``w > 0`` becomes
        ``max(0, w - (u + q))``, ``w < 0`` becomes ``min(0, w + (u - q))``,
        and ``q += w_new - w``. :math:`r` is 0 for ``"l2"``, 1 for ``"l1"``,
        ``l1_ratio`` for ``"elasticnet"``.
    alpha : float, default=0.0001
    l1_ratio : float, default=0.15
    weight_decay : float, default=0.0
        ``penalty="l2", alpha=weight_decay``.
    average : bool or int, default=False
        Averaged SGD: after each update (and its L1 truncation), once the
        samples seen reach ``average`` (True: 1), ``k += 1`` and
        ``mean += (theta - mean) / k``; the model returned, recorded and
        evaluated is the mean once ``k > 0``.
    lr_schedule : None, str, tuple, schedule object or callable, optional
        None or ``"constant"``; ``"step"`` (``FactorScheduler``, by default
        ``step_epochs=1, factor=0.5``) or ``"cosine"`` (``CosineScheduler``,
        by default ``final_lr=0``); a tuple such as ``("step", {"step_epochs":
        2, "factor": 0.5})`` or ``("cosine", {"final_lr": 0.001})``; an object
        with a ``name`` among these and a ``params()`` method returning such a
        dict (as :mod:`gluonlr.schedules` objects have); or a callable
        ``lr_at(u)`` of the update number ``u`` (from 1).
    dtype : {"float32", "float64", "auto"}, default="float32"
        The dtype fit computes in: the data, the initial weights, a
        standardization's mean and scale and a standardized target are rounded
        to it as fit rounds them (Adam's betas stay float32, MXNet's kernel
        parameters). ``"auto"``: as fit resolves it
        (:func:`~gluonlr.data.prepare.resolve_dtype`).
    sample_weight : array-like of shape (n_samples,), optional
        Multiplies each sample's loss (and gradient).
    validation_split : float, default=0.0
        Keras' convention: the first ``int(n * (1 - validation_split))`` rows
        train, the rest validate.
    validation_data : (X_val, y_val), optional
        Validation data; takes precedence over ``validation_split``.
    metrics : sequence of {"mse", "rmse", "mae", "r2"}, default=()
        Recorded after each epoch on the training rows and, with validation,
        as ``"val_" + name`` on the validation rows; unweighted. ``"rmse"`` is
        the square root of ``"mse"`` over all entries; ``"r2"`` is
        scikit-learn's ``r2_score`` with ``multioutput="uniform_average"``.
        Besides the names, as fit: a function ``metric(y_true, y_pred)``
        (recorded under its ``__name__``), a pair ``(name, function)``, or an
        ``mxnet.metric.EvalMetric`` (under its ``name``, updated once with all
        the rows); each gets all the rows at once, in float64, of ``y``'s shape.
    standardize : bool, default=False
        Train on the features standardized by the training rows' mean and
        standard deviation (rounded to float32, applied in float32 arithmetic,
        a constant feature's scale 1, as on the device); ``init_weight`` and
        ``init_bias``, if given, are the starting model in the units of ``X``
        (:math:`w' = \sigma w`, :math:`b' = b + \mu \cdot w`), else the
        standardized model starts from ``N(0, 1)`` weights and a zero bias. The
        weights and biases returned and recorded are in the units of ``X``.

    standardize_target : bool, default=False
        Train on the targets standardized by the training rows' mean and
        standard deviation of each output (float64, a constant output's 1),
        rounded to float32; the losses and metrics recorded are of them; the
        weights and biases returned and recorded are in the units of ``y``
        (a given ``init_weight``/``init_bias`` too).
    tol : float, optional
        scikit-learn's rule, as fit's: after each epoch, the training loss
        (the validation loss with validation data) counts as no improvement
        when above the best so far minus ``tol``; ``n_iter_no_change`` such
        epochs in a row end training. None trains every epoch.
    n_iter_no_change : int, default=5

    Returns
    -------
    ReferenceResult
        ``history["loss"][e]`` is :math:`\sum_i s_i \ell_i / n_{train}` over
        epoch ``e``'s batches, each before its update; ``history["lr"][e]`` the
        rate of epoch ``e``'s first update; ``history["val_loss"][e]`` the mean
        unweighted loss on the validation rows after epoch ``e``.

    Raises
    ------
    ValueError
        For an unknown loss, reduction, optimizer or metric, wrong shapes, or
        a validation split with no rows on one side.
    TypeError
        For an ``lr_schedule`` of none of the forms above.

    Examples
    --------
    One step on two samples from zero, by hand: the residuals are
    :math:`r = (-1, -2)`, the loss :math:`(1 + 4) / 2 = 2.5`, the gradients
    :math:`2 \sum_i r_i x_i = -10` and :math:`2 \sum_i r_i = -6`:

    >>> result = reference_fit([[1.0], [2.0]], [1.0, 2.0], lr=0.25, batch_size=2, epochs=1,
    ...                        init_weight=[0.0], init_bias=0.0)
    >>> result.weight, result.bias, result.history["loss"]
    (array([2.5]), 1.5, [2.5])

    It takes the options fit takes, e.g. Adam with a cosine schedule:

    >>> from gluonlr import synthetic_data
    >>> X, y = synthetic_data(n=50)
    >>> result = reference_fit(X, y, optimizer="adam", lr=0.5, lr_schedule="cosine", epochs=3, metrics=["r2"])
    >>> sorted(result.history), len(result.epoch_weights)
    (['loss', 'lr', 'r2'], 3)
    """
    _check_names(loss, reduction, metrics)
    if dtype not in ("float32", "float64", "auto"):
        raise ValueError(f"Unknown dtype {dtype!r}; the reference knows ('float32', 'float64', 'auto').")
    rounded = np.dtype(resolve_dtype(dtype, X, y))  # the dtype fit computes in
    update_rule = _optimizer_class(optimizer, momentum, nesterov)
    single, data = _inputs(X, y, sample_weight, validation_split, validation_data, rounded)
    n_train, k = data[1].shape
    batch_size = resolve_batch_size(batch_size, n_train, data[0].shape[1])
    W, b = _initial(data[0].shape[1], None if single else k, seed, init_weight, init_bias, init, rounded)
    if not fit_intercept and np.any(np.asarray(b) != 0):
        raise ValueError(f"init_bias={init_bias!r} cannot start a fit with fit_intercept=False: the bias stays 0.")
    data, (W, b), units, target = _standardized_problem(
        data, (W, b), (init_weight is not None, init_bias is not None), rounded,
        fit_intercept=fit_intercept, standardize=standardize, standardize_target=standardize_target,
    )  # fmt: skip
    w_rule, b_rule, l1 = _update_rules(
        update_rule, (W, b), dict(momentum=momentum, beta1=beta1, beta2=beta2, epsilon=epsilon),
        (penalty, alpha, l1_ratio, weight_decay), optimizer=optimizer, fit_intercept=fit_intercept, rounded=rounded,
    )  # fmt: skip
    rate = _Rate(lr_schedule, lr, n_batches=-(-n_train // batch_size), epochs=epochs)
    averaged = _Average(int(average), W, b) if average else None
    readout = _Readout(averaged, units, target, single)
    scorers = [(name, METRICS[name]) if isinstance(name, str) else _user_metric(name, single) for name in metrics]
    tolerance = None if tol is None else _Tolerance(tol, n_iter_no_change)
    return _train(
        data, (W, b), (w_rule, b_rule, l1, averaged), rate, readout, lambda r: LOSSES[loss](r, rho),
        scorers, tolerance, epochs=epochs, seed=seed, shuffle=shuffle, batch_size=batch_size, reduction=reduction,
        rounded=rounded,
    )  # fmt: skip


def _standardized_problem(
    data: _Rows,
    params: tuple[np.ndarray, np.ndarray],
    given: tuple[bool, bool],
    rounded: np.dtype,
    *,
    fit_intercept: bool,
    standardize: bool,
    standardize_target: bool,
) -> tuple[_Rows, tuple[np.ndarray, np.ndarray], _Units | None, _Target | None]:
    """Return the rows and the start training sees, and the standardizations of ``X`` and ``y`` (or None).

    ``given`` says whether ``init_weight`` and ``init_bias`` were given (in the units of ``X`` and ``y``): a
    given start is mapped into the standardized units, a drawn one is standardized already.
    """
    (X_train, Y_train, s_train, X_val, Y_val), (W, b) = data, params
    target = _Target(Y_train, rounded, fit_intercept) if standardize_target else None
    if target is not None:
        Y_train, Y_val = target.apply(Y_train), None if Y_val is None else target.apply(Y_val)
        W, b = target.start(W, b, *given)
    units = _Units(X_train, rounded, fit_intercept) if standardize else None
    if units is not None:
        X_train, X_val = units.apply(X_train), None if X_val is None else units.apply(X_val)
        W, b = _standardized_start(W, b, units.mean, units.inverse, *given)
    return (X_train, Y_train, s_train, X_val, Y_val), (W, b), units, target


def _update_rules(
    update_rule: type[_SGD | _Momentum | _NAG | _Adam],
    params: tuple[np.ndarray, np.ndarray],
    hyper: dict[str, float],
    penalties: tuple[str | None, float, float, float],
    *,
    optimizer: str,
    fit_intercept: bool,
    rounded: np.dtype,
) -> tuple[_SGD, _SGD | None, _L1 | None]:
    """Return the weights' and the bias's update rules (None: no bias) and the L1 penalty's (None: no L1).

    ``hyper`` holds the optimizer's ``momentum``, ``beta1``, ``beta2`` and ``epsilon``; ``penalties`` is
    ``(penalty, alpha, l1_ratio, weight_decay)``. The L2 part decays the weights only.

    Raises
    ------
    ValueError
        For an L1 penalty with another optimizer than plain SGD, or a ``weight_decay`` that disagrees with
        ``penalty``.
    """
    (W, b), (penalty, alpha, l1_ratio, weight_decay) = params, penalties
    decay, l1_share = _penalties(penalty, alpha, l1_ratio, weight_decay)
    l1 = _L1(W, alpha=alpha, l1_ratio=l1_share) if penalty in ("l1", "elasticnet") else None
    if l1 is not None and (optimizer != "sgd" or hyper["momentum"]):
        raise ValueError(f"penalty={penalty!r} is defined on plain SGD steps: optimizer='sgd', momentum=0.")
    w_rule = update_rule(W, weight_decay=decay, **hyper)
    b_rule = update_rule(b, weight_decay=0.0, **hyper) if fit_intercept else None  # the bias: never penalized
    if rounded == np.float64:  # the kernels' float32 scalars: the one float32 rounding of a float64 model
        w_rule.kernel = _float32
        if b_rule is not None:
            b_rule.kernel = _float32
    return w_rule, b_rule, l1


class _Rate:
    """The learning rate of update ``u``: the schedule's, from a base rate ``lr_schedule="adaptive"`` divides."""

    def __init__(self, lr_schedule: Any, lr: float, *, n_batches: int, epochs: int) -> None:
        self.schedule, self.params = _schedule(lr_schedule)
        self.base, self.n_batches, self.epochs = lr, n_batches, epochs

    def at(self, u: int) -> float:
        """Return the rate of update ``u`` (from 1)."""
        return self.schedule(u, lr=self.base, n_batches=self.n_batches, epochs=self.epochs, **self.params)

    def decayed(self) -> bool:
        """At a plateau: divide the base rate as scikit-learn's ``"adaptive"`` does and return True, or False: stop."""
        if self.schedule is not _adaptive or self.base <= self.params.get("min_lr", 1e-6):
            return False
        self.base /= self.params.get("factor", 5.0)  # scikit-learn's "adaptive": eta /= 5, and wait again
        return True


class _Readout:
    """The model training reports: the average (or the iterate), in the units of ``X`` and ``y``."""

    def __init__(self, averaged: _Average | None, units: _Units | None, target: _Target | None, single: bool) -> None:
        self.averaged, self.units, self.target, self.single = averaged, units, target, single
        self.raw = target.raw if target is not None else None  # standardized targets back in y's units

    def model(self, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the model evaluated: the average once it has begun, else ``(W, b)``; in the units trained in."""
        return self.averaged.model(W, b) if self.averaged is not None else (W, b)

    def shaped(self, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, float | np.ndarray]:
        """Return the model in the units of ``X`` and ``y``, shaped as fit returns it."""
        return _users_units(*self.model(W, b), self.units, self.target, self.single)


def _train(
    data: _Rows,
    params: tuple[np.ndarray, np.ndarray],
    rules: tuple[Any, Any, _L1 | None, _Average | None],
    rate: _Rate,
    readout: _Readout,
    loss_fn: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    scorers: Sequence[tuple[str, Callable[[np.ndarray, np.ndarray], float]]],
    tolerance: _Tolerance | None,
    *,
    epochs: int,
    seed: int,
    shuffle: bool,
    batch_size: int,
    reduction: str,
    rounded: np.dtype,
) -> ReferenceResult:
    """Train from ``params`` for ``epochs`` epochs (fewer if ``tolerance`` stops it); return the run.

    ``rules`` are as for :func:`_epoch_steps`; ``loss_fn(r)`` is the per-entry loss's ``(value, derivative)``.
    """
    (X_train, Y_train, s_train, X_val, Y_val), (W, b) = data, params
    n_train = len(Y_train)
    history: dict[str, list[float]] = {"loss": [], "lr": []}
    epoch_weights: list[np.ndarray] = []
    epoch_biases: list[float | np.ndarray] = []
    batch_losses: list[list[float]] = []
    u = 0
    for epoch in range(epochs):
        order = _epoch_permutation(n_train, seed, epoch) if shuffle else np.arange(n_train)
        history["lr"].append(rate.at(u + 1))
        W, b, u, losses = _epoch_steps(
            (X_train, Y_train, s_train), order, batch_size, (W, b), rules, u, rate.at, loss_fn, reduction, rounded
        )
        batch_losses.append([float(value) / size for value, size in losses])
        history["loss"].append(sum(value for value, _ in losses) / n_train)
        _record_scores(
            history, *readout.model(W, b), (X_train, Y_train), (X_val, Y_val), lambda r: loss_fn(r)[0], scorers,
            readout.raw,
        )  # fmt: skip
        weight, bias = readout.shaped(W, b)
        epoch_weights.append(weight)
        epoch_biases.append(bias)
        if tolerance is not None and tolerance.converged(history["val_loss" if X_val is not None else "loss"][-1]):
            if not rate.decayed():
                break
            tolerance.wait = 0
    weight, bias = readout.shaped(W, b)
    converged = None if tolerance is None else tolerance.wait >= tolerance.n
    return ReferenceResult(weight, bias, history, epoch_weights, epoch_biases, converged, batch_losses)


def _users_units(
    W: np.ndarray, b: np.ndarray, units: _Units | None, target: _Target | None, single: bool
) -> tuple[np.ndarray, float | np.ndarray]:
    """Return the model trained ``(W, b)`` in the units of ``X`` and ``y``, shaped as fit returns it."""
    if units is not None:  # in the units of X
        W = W * units.inverse
        b = b - units.mean @ W
    if target is not None:  # in the units of y
        W, b = W * target.scale, b * target.scale + target.mean
    return (W[:, 0].copy(), float(b[0])) if single else (W.copy(), b.copy())


def _inputs(
    X: Any, y: Any, sample_weight: Any, validation_split: float, validation_data: Any, rounded: np.dtype
) -> tuple[bool, _Rows]:
    """Return whether ``y`` is one target, and the training and validation rows, as fit sees them, in float64."""
    X_all = _as_float64(X, "X", (2,), rounded)
    Y_given = _as_float64(y, "y", (1, 2), rounded)
    Y_all = Y_given.reshape(len(Y_given), -1)
    s_all = np.ones(len(Y_all)) if sample_weight is None else _as_float64(sample_weight, "sample_weight", (1,), rounded)
    split = _split(X_all, Y_all, s_all, validation_split, validation_data, Y_given.ndim, rounded)
    return Y_given.ndim == 1, split


def _epoch_steps(
    data: tuple[np.ndarray, np.ndarray, np.ndarray],
    order: np.ndarray,
    batch_size: int,
    params: tuple[np.ndarray, np.ndarray],
    rules: tuple[Any, Any, _L1 | None, _Average | None],
    u: int,
    lr_at: Callable[[int], float],
    loss_fn: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    reduction: str,
    rounded: np.dtype,
) -> tuple[np.ndarray, np.ndarray, int, list[tuple[float, int]]]:
    """Take one epoch's steps over the rows in ``order``; return ``(W, b, u, [(batch's summed loss, rows)])``.

    ``rules`` are the weight's and the bias's update rules (None: no bias), the L1 penalty's and the average's
    (or None).
    """
    (X, Y, s), (W, b), (w_rule, b_rule, l1, averaged) = data, params, rules
    k, losses = Y.shape[1], []
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        xb, sb = X[rows], s[rows]
        value, derivative = loss_fn(xb @ W + b - Y[rows])
        losses.append((float(sb @ value.mean(axis=1)), len(rows)))
        dyhat = sb[:, None] * derivative / k  # d(sum_i s_i mean_j loss_ij)/d yhat
        # Summed over the batch, then divided by its size (as MXNet's rescale_grad does): summed first, the L1
        # loss's +-1/k of a balanced batch cancel exactly, as in float32, and no rounding error of 1/(k d)
        # survives to turn into a whole step at the loss's kink.
        divisor = len(rows) if reduction == "mean" else 1
        u += 1
        if rounded == np.float64:  # times rescale_grad, the kernels' float32 1 / divisor
            rescale = _float32(1.0 / divisor)
            W = w_rule.update(W, xb.T @ dyhat * rescale, lr_at(u), u)
            b = b if b_rule is None else b_rule.update(b, dyhat.sum(axis=0) * rescale, lr_at(u), u)
        else:
            W = w_rule.update(W, xb.T @ dyhat / divisor, lr_at(u), u)
            b = b if b_rule is None else b_rule.update(b, dyhat.sum(axis=0) / divisor, lr_at(u), u)
        if l1 is not None:
            W = l1.apply(W, lr_at(u))
        if averaged is not None:
            averaged.apply(W, b, len(rows))
    return W, b, u, losses


def _standardized_start(
    W: np.ndarray, b: np.ndarray, mean: np.ndarray, inverse: np.ndarray, given_weight: bool, given_bias: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Return the standardized model's start: one given is in the units of X; one drawn is standardized already."""
    original = W if given_weight else W * inverse  # the starting model in the units of X
    return (W / inverse if given_weight else W), (b + mean @ original if given_bias else b)


def _record_scores(
    history: dict[str, list[float]],
    W: np.ndarray,
    b: np.ndarray,
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray | None, np.ndarray | None],
    loss: Callable[[np.ndarray], np.ndarray],
    metrics: Sequence[tuple[str, Callable[[np.ndarray, np.ndarray], float]]],
    raw: Callable[[np.ndarray], np.ndarray] | None = None,
) -> None:
    """Append an epoch's validation loss and metrics (training and validation rows) to ``history``.

    The loss in the units training minimizes; the metrics in y's (``raw`` maps a standardized target back).
    """
    X_val, Y_val = validation
    if X_val is not None and Y_val is not None:
        history.setdefault("val_loss", []).append(float(np.mean(loss(X_val @ W + b - Y_val))))
    units = raw or (lambda Y: Y)
    for name, metric in metrics:
        history.setdefault(name, []).append(metric(units(train[0] @ W + b), units(train[1])))
        if X_val is not None and Y_val is not None:
            history.setdefault("val_" + name, []).append(metric(units(X_val @ W + b), units(Y_val)))
