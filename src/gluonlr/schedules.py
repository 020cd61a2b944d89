r"""Learning-rate schedules: MXNet's ``lr_scheduler`` on the Gluon path, the same formula on the manual path.

A schedule gives the learning rate of update :math:`u = 1, 2, \dots`, counted
over the whole run, as MXNet's schedulers do (they are called with the
optimizer's ``num_update``). With :math:`N` batches per epoch and :math:`E`
epochs:

=========================  ===============================================  =========================================
schedule                   learning rate of update :math:`u`                Gluon path
=========================  ===============================================  =========================================
:class:`Constant`          :math:`\eta`                                     no scheduler
:class:`StepDecay`         :math:`\eta f^{\lfloor (u-1) / (sN) \rfloor}`    ``FactorScheduler(step=s*N, factor=f)``
:class:`Cosine`            :math:`\eta_f + (\eta - \eta_f)                  ``CosineScheduler(max_update=E*N,
                           \frac{1 + \cos(\pi u / EN)}{2}`                  base_lr=eta, final_lr=eta_f)``
:class:`InverseScaling`    :math:`\eta / u^{p}`                             an ``LRScheduler`` of the same formula
:class:`Adaptive`          :math:`\eta / 5^{k}`, :math:`k` plateaus so far  ``Trainer.set_learning_rate``
=========================  ===============================================  =========================================

``StepDecay`` multiplies by ``f`` every ``s`` epochs; the learning rate of
epoch ``e`` is :math:`\eta f^{\lfloor e/s \rfloor}`. ``Cosine`` anneals from
:math:`\eta` to :math:`\eta_f` over the run, update by update.
``InverseScaling`` is scikit-learn's ``learning_rate="invscaling"``
(``eta0 / t ** power_t``, its ``t`` counting the updates from 1 as :math:`u`).
``Adaptive`` is its ``"adaptive"``: the rate stays until the loss stops
improving by ``tol`` for ``n_iter_no_change`` epochs (``fit``'s convergence
test, :class:`~gluonlr.callbacks.Convergence`), then is divided by 5, and
training stops only when the rate is already at most ``1e-6``. The plateaus
are found during the run, so it is the one schedule with state: the rate now
(a checkpoint keeps it). Without ``tol`` there are no plateaus: the rate
stays, as scikit-learn's with ``tol=None``.
"""

from __future__ import annotations

import math
from typing import Any

from gluonlr._mxnet import mx
from gluonlr._validation import check_float32_range

__all__ = [
    "SCHEDULES",
    "Adaptive",
    "Constant",
    "Cosine",
    "InverseScaling",
    "Schedule",
    "StepDecay",
    "make_schedule",
]


class Schedule:
    """Base class: a learning rate per update, and the MXNet scheduler that gives the same.

    Examples
    --------
    >>> schedule = make_schedule("step")
    >>> isinstance(schedule, Schedule), schedule.lr_at(31, lr=0.1, n_batches=30, epochs=10)
    (True, 0.05)
    """

    name = "schedule"

    def lr_at(self, update: int, *, lr: float, n_batches: int, epochs: int) -> float:
        """Return the learning rate of update ``update`` (from 1) of a run."""
        raise NotImplementedError

    def mxnet_scheduler(self, *, lr: float, n_batches: int, epochs: int) -> mx.lr_scheduler.LRScheduler | None:
        """Return the ``mxnet.lr_scheduler`` scheduler of this schedule, or None for a constant rate."""
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        """Return the schedule's parameters (what a checkpoint records)."""
        return {}

    def on_plateau(self, lr: float) -> float | None:
        """Return the rate to go on with when the loss has stopped improving at rate ``lr``, or None to stop.

        :class:`~gluonlr.callbacks.Convergence` asks; every schedule but :class:`Adaptive` stops.
        """
        return None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schedule) and type(self) is type(other) and self.params() == other.params()

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self.params().items()))))

    def __repr__(self) -> str:
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.params().items())
        return f"{type(self).__name__}({arguments})"


class Constant(Schedule):
    """The same learning rate throughout.

    Examples
    --------
    >>> Constant().lr_at(100, lr=0.1, n_batches=30, epochs=10)
    0.1
    """

    name = "constant"

    def lr_at(self, update: int, *, lr: float, n_batches: int, epochs: int) -> float:
        """Return ``lr``."""
        return lr

    def mxnet_scheduler(self, *, lr: float, n_batches: int, epochs: int) -> None:
        """Return None: the optimizer's own constant ``learning_rate``."""
        return None


class StepDecay(Schedule):
    """Multiply the learning rate by ``factor`` every ``step_epochs`` epochs.

    The Gluon path uses ``mxnet.lr_scheduler.FactorScheduler(step=step_epochs
    * n_batches, factor=factor)``; like it, the rate never falls below
    ``1e-8`` (its ``stop_factor_lr``).

    Parameters
    ----------
    step_epochs : int, default=1
        Epochs between two decays.
    factor : float, default=0.5
        The multiplier, in (0, 1].

    Examples
    --------
    >>> schedule = StepDecay(step_epochs=2, factor=0.5)
    >>> [schedule.lr_at(1 + 3 * epoch, lr=0.1, n_batches=3, epochs=6) for epoch in range(6)]
    [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
    """

    name = "step"
    STOP_FACTOR_LR = 1e-8

    def __init__(self, step_epochs: int = 1, factor: float = 0.5) -> None:
        if isinstance(step_epochs, bool) or not isinstance(step_epochs, int) or step_epochs < 1:
            raise ValueError(f"The 'step_epochs' parameter of StepDecay must be an int >= 1. Got {step_epochs!r}.")
        if not (isinstance(factor, int | float) and 0 < factor <= 1):
            raise ValueError(f"The 'factor' parameter of StepDecay must be a float in (0, 1]. Got {factor!r}.")
        self.step_epochs, self.factor = step_epochs, float(factor)

    def lr_at(self, update: int, *, lr: float, n_batches: int, epochs: int) -> float:
        """Return ``lr * factor ** ((update - 1) // (step_epochs * n_batches))``, as FactorScheduler computes it."""
        value = lr
        for _ in range((update - 1) // (self.step_epochs * n_batches)):
            value *= self.factor  # one multiplication at a time, as FactorScheduler: the same rounding
            if value < self.STOP_FACTOR_LR:
                return self.STOP_FACTOR_LR
        return value

    def mxnet_scheduler(self, *, lr: float, n_batches: int, epochs: int) -> mx.lr_scheduler.LRScheduler:
        """Return ``FactorScheduler(step=step_epochs * n_batches, factor=factor, base_lr=lr)``."""
        return mx.lr_scheduler.FactorScheduler(
            step=self.step_epochs * n_batches, factor=self.factor, stop_factor_lr=self.STOP_FACTOR_LR, base_lr=lr
        )

    def params(self) -> dict[str, Any]:
        """Return ``{"step_epochs": ..., "factor": ...}``."""
        return {"step_epochs": self.step_epochs, "factor": self.factor}


class Cosine(Schedule):
    """Anneal the learning rate from ``lr`` to ``final_lr`` along a half cosine over the run.

    The Gluon path uses ``mxnet.lr_scheduler.CosineScheduler(max_update=epochs
    * n_batches, base_lr=lr, final_lr=final_lr)``.

    Parameters
    ----------
    final_lr : float, default=0.0
        The rate reached at the last update, >= 0.

    Examples
    --------
    >>> schedule = Cosine()
    >>> [round(schedule.lr_at(u, lr=0.1, n_batches=2, epochs=2), 4) for u in (1, 2, 3, 4)]
    [0.0854, 0.05, 0.0146, 0.0]
    """

    name = "cosine"

    def __init__(self, final_lr: float = 0.0) -> None:
        if not (isinstance(final_lr, int | float) and not isinstance(final_lr, bool) and final_lr >= 0):
            raise ValueError(f"The 'final_lr' parameter of Cosine must be a float >= 0. Got {final_lr!r}.")
        self.final_lr = check_float32_range("final_lr", float(final_lr), where="Cosine")

    def lr_at(self, update: int, *, lr: float, n_batches: int, epochs: int) -> float:
        """Return ``final_lr + (lr - final_lr) * (1 + cos(pi * update / (epochs * n_batches))) / 2``."""
        max_update = epochs * n_batches
        update = min(update, max_update)
        return self.final_lr + (lr - self.final_lr) * (1 + math.cos(math.pi * update / max_update)) / 2

    def mxnet_scheduler(self, *, lr: float, n_batches: int, epochs: int) -> mx.lr_scheduler.LRScheduler:
        """Return ``CosineScheduler(max_update=epochs * n_batches, base_lr=lr, final_lr=final_lr)``."""
        return mx.lr_scheduler.CosineScheduler(max_update=epochs * n_batches, base_lr=lr, final_lr=self.final_lr)

    def params(self) -> dict[str, Any]:
        """Return ``{"final_lr": ...}``."""
        return {"final_lr": self.final_lr}


class _InverseScalingScheduler(mx.lr_scheduler.LRScheduler):
    """MXNet's optimizer calls it with its update count: ``base_lr / num_update ** power_t``."""

    def __init__(self, base_lr: float, power_t: float) -> None:
        super().__init__(base_lr=base_lr)
        self.power_t = power_t

    def __call__(self, num_update: int) -> float:
        return float(self.base_lr / max(num_update, 1) ** self.power_t)


class InverseScaling(Schedule):
    r"""Divide the learning rate by the update count to the power ``power_t``: :math:`\eta / u^{p}`.

    scikit-learn's ``SGDRegressor(learning_rate="invscaling", eta0=lr,
    power_t=power_t)``: its ``t`` counts the updates from 1, as ``u`` here
    (one update a sample there, a batch here). MXNet has no such scheduler:
    the Gluon path gives its optimizer an ``mxnet.lr_scheduler.LRScheduler``
    computing the same formula, so both paths take the same rates.

    Parameters
    ----------
    power_t : float, default=0.25
        The exponent, >= 0 (scikit-learn's default; 0 is a constant rate).

    Examples
    --------
    >>> schedule = InverseScaling(power_t=0.5)
    >>> [schedule.lr_at(u, lr=0.1, n_batches=10, epochs=1) for u in (1, 4, 100)]
    [0.1, 0.05, 0.01]
    >>> schedule.mxnet_scheduler(lr=0.1, n_batches=10, epochs=1)(4)
    0.05
    """

    name = "invscaling"

    def __init__(self, power_t: float = 0.25) -> None:
        if not (isinstance(power_t, int | float) and not isinstance(power_t, bool) and 0 <= power_t < math.inf):
            raise ValueError(f"The 'power_t' parameter of InverseScaling must be a float >= 0. Got {power_t!r}.")
        self.power_t = float(power_t)

    def lr_at(self, update: int, *, lr: float, n_batches: int, epochs: int) -> float:
        """Return ``lr / update ** power_t``."""
        return float(lr / max(update, 1) ** self.power_t)

    def mxnet_scheduler(self, *, lr: float, n_batches: int, epochs: int) -> mx.lr_scheduler.LRScheduler:
        """Return an ``LRScheduler`` whose rate of update ``u`` is ``lr / u ** power_t``."""
        return _InverseScalingScheduler(lr, self.power_t)

    def params(self) -> dict[str, Any]:
        """Return ``{"power_t": ...}``."""
        return {"power_t": self.power_t}


class Adaptive(Schedule):
    """Divide the rate by ``factor`` each time the loss stops improving: scikit-learn's ``learning_rate="adaptive"``.

    The rate is ``lr`` until :class:`~gluonlr.callbacks.Convergence` (``fit``'s
    ``tol`` and ``n_iter_no_change``) finds ``n_iter_no_change`` epochs in a
    row without an improvement of ``tol``; then, if the rate is above
    ``min_lr``, it is divided by ``factor`` and the count starts again;
    otherwise training has converged and stops. scikit-learn's
    ``SGDRegressor(learning_rate="adaptive")`` is ``factor=5, min_lr=1e-6``.
    Both paths change the rate between epochs (the manual path's step reads
    it, the Gluon path's ``Trainer.set_learning_rate``), ``history["lr"]``
    records it, and a checkpoint keeps it. Without ``tol`` the rate never
    changes.

    Parameters
    ----------
    factor : float, default=5.0
        The divisor, > 1.
    min_lr : float, default=1e-6
        A plateau at a rate at most this stops training; >= 0.

    Examples
    --------
    >>> schedule = Adaptive()
    >>> schedule.lr_at(1000, lr=0.1, n_batches=10, epochs=5), schedule.on_plateau(0.1), schedule.on_plateau(1e-6)
    (0.1, 0.02, None)
    >>> from gluonlr import fit, synthetic_data
    >>> result = fit(*synthetic_data(), lr=0.02, epochs=60, tol=1e-3, lr_schedule="adaptive")
    >>> sorted(set(result.history["lr"]), reverse=True)[:3]
    [0.02, 0.004, 0.0008]
    """

    name = "adaptive"

    def __init__(self, factor: float = 5.0, min_lr: float = 1e-6) -> None:
        if not (isinstance(factor, int | float) and not isinstance(factor, bool) and 1 < factor < math.inf):
            raise ValueError(f"The 'factor' parameter of Adaptive must be a float > 1. Got {factor!r}.")
        if not (isinstance(min_lr, int | float) and not isinstance(min_lr, bool) and 0 <= min_lr < math.inf):
            raise ValueError(f"The 'min_lr' parameter of Adaptive must be a float >= 0. Got {min_lr!r}.")
        self.factor, self.min_lr = float(factor), float(min_lr)

    def lr_at(self, update: int, *, lr: float, n_batches: int, epochs: int) -> float:
        """Return ``lr``: the rate now (the learner's, divided at each plateau so far)."""
        return lr

    def mxnet_scheduler(self, *, lr: float, n_batches: int, epochs: int) -> None:
        """Return None: the optimizer's rate, which ``Trainer.set_learning_rate`` changes at a plateau."""
        return None

    def on_plateau(self, lr: float) -> float | None:
        """Return ``lr / factor`` while ``lr > min_lr``, else None (stop)."""
        return lr / self.factor if lr > self.min_lr else None

    def params(self) -> dict[str, Any]:
        """Return ``{"factor": ..., "min_lr": ...}``."""
        return {"factor": self.factor, "min_lr": self.min_lr}


#: The schedules by name, with their default parameters.
SCHEDULES: dict[str, type[Schedule]] = {
    "constant": Constant,
    "step": StepDecay,
    "cosine": Cosine,
    "invscaling": InverseScaling,
    "adaptive": Adaptive,
}


def make_schedule(schedule: Any) -> Schedule:
    """Return the :class:`Schedule` named or given by ``schedule`` (None is :class:`Constant`).

    Examples
    --------
    >>> make_schedule(None), make_schedule("step"), make_schedule(Cosine(final_lr=0.001))
    (Constant(), StepDecay(step_epochs=1, factor=0.5), Cosine(final_lr=0.001))
    """
    if schedule is None:
        return Constant()
    if isinstance(schedule, Schedule):
        return schedule
    if isinstance(schedule, str) and schedule in SCHEDULES:
        return SCHEDULES[schedule]()
    options = ", ".join(repr(name) for name in SCHEDULES)
    raise ValueError(
        f"The 'lr_schedule' parameter of fit must be None, one of {options}, or a gluonlr.schedules.Schedule "
        f"such as StepDecay(step_epochs=2, factor=0.1). Got {schedule!r} instead."
    )
