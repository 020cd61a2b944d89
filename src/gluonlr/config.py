"""The validated training options that both paths' learners are built from."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from gluonlr.averaging import Averager, average_start
from gluonlr.optimizers import NAG, SGD, Adam, L1Penalty, Optimizer
from gluonlr.schedules import Constant, Schedule

__all__ = ["FitConfig"]


@dataclass(frozen=True)
class FitConfig:
    """What :func:`gluonlr.fit` hands a path's learner (:mod:`gluonlr.learners`): every training option, validated.

    See :func:`gluonlr.fit` for the meaning of each field.

    Examples
    --------
    >>> FitConfig(lr=0.1, optimizer="adam").make_optimizer().mxnet_name
    'adam'
    """

    loss: str = "squared"
    rho: float = 1.0
    reduction: str = "sum"
    lr: float = 0.01
    batch_size: int = 10
    epochs: int = 10
    seed: int = 0
    shuffle: bool = True
    fit_intercept: bool = True
    optimizer: str = "sgd"
    momentum: float = 0.0
    nesterov: bool = False
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    penalty: str | None = None
    alpha: float = 0.0001
    l1_ratio: float = 0.15
    average: bool | int = False
    lr_schedule: Schedule = field(default_factory=Constant)
    dtype: str = "float32"

    def make_optimizer(self) -> Optimizer:
        """Return the manual path's optimizer (its ``mxnet_name`` and ``mxnet_params`` configure the Gluon path's).

        ``"sgd"`` with ``nesterov=True`` is :class:`~gluonlr.optimizers.NAG`.

        Examples
        --------
        >>> FitConfig(momentum=0.9, nesterov=True).make_optimizer().mxnet_name
        'nag'
        """
        if self.optimizer == "adam":
            return Adam(beta1=self.beta1, beta2=self.beta2, epsilon=self.epsilon, wd=self.l2_strength)
        return (NAG if self.nesterov else SGD)(momentum=self.momentum, wd=self.l2_strength)

    @property
    def l1_share(self) -> float:
        """The penalty's L1 share, as scikit-learn's ``_plain_sgd`` sets it: 1 for ``"l1"``, 0 for ``"l2"``.

        Examples
        --------
        >>> FitConfig(penalty="l1").l1_share, FitConfig(penalty="elasticnet", l1_ratio=0.25).l1_share
        (1.0, 0.25)
        """
        return {"l1": 1.0, "elasticnet": self.l1_ratio}.get(str(self.penalty), 0.0)

    @property
    def l2_strength(self) -> float:
        r"""The weights' decay, MXNet's ``wd``: :math:`(1 - \text{l1\_share})\,\alpha`, 0 without an L2 part.

        Examples
        --------
        >>> FitConfig(penalty="l2", alpha=0.01).l2_strength, FitConfig(penalty=None, alpha=0.01).l2_strength
        (0.01, 0.0)
        """
        return (1.0 - self.l1_share) * self.alpha if self.penalty in ("l2", "elasticnet") else 0.0

    def make_l1_penalty(self) -> L1Penalty | None:
        """Return the L1 step both paths take after each SGD update (:class:`~gluonlr.optimizers.L1Penalty`), or None.

        Examples
        --------
        >>> FitConfig(penalty="elasticnet").make_l1_penalty().l1_ratio, FitConfig(penalty="l2").make_l1_penalty()
        (0.15, None)
        """
        if self.penalty not in ("l1", "elasticnet"):
            return None
        return L1Penalty(alpha=self.alpha, l1_ratio=self.l1_share)

    def make_averager(self) -> Averager | None:
        """Return the running mean of the iterates both paths keep with ``average`` (:mod:`gluonlr.averaging`), or None.

        Examples
        --------
        >>> FitConfig(average=True).make_averager().start, FitConfig().make_averager()
        (1, None)
        """
        start = average_start(self.average)
        return Averager(start) if start else None

    def lr_at(self, update: int, n_batches: int) -> float:
        """Return the learning rate of update ``update`` (from 1) with ``n_batches`` batches per epoch."""
        return self.lr_schedule.lr_at(update, lr=self.lr, n_batches=n_batches, epochs=self.epochs)

    def as_dict(self) -> dict[str, Any]:
        """Return the options as plain values (JSON-ready: the schedule as its name and parameters)."""
        values = asdict(self)
        values["lr_schedule"] = {"name": self.lr_schedule.name, **self.lr_schedule.params()}
        return values
