"""What :func:`gluonlr.fit` needs of a training path: the :class:`Learner` protocol.

fit builds one learner (:data:`gluonlr.PATHS` names the classes), and the
loop (:mod:`gluonlr.loop`), the evaluation passes (:mod:`gluonlr.metrics`),
the callbacks' :class:`~gluonlr.callbacks.Run`, the standardizing wrapper
(:class:`~gluonlr.scaling.Standardized`) and fit's phases (``gluonlr.phases``)
use it through the members below, and through no others. mypy checks every learner against
the protocol (PEP 544): :class:`~gluonlr.learners.ManualLearner`,
:class:`~gluonlr.learners.GluonLearner` and
:class:`~gluonlr.scaling.Standardized` each state it where they are
defined. A worker of a ``dist_sync`` job is a learner whose
:attr:`~Learner.workers` is set; a standardized model's, one whose
:attr:`~Learner.scaler` is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from gluonlr._mxnet import mx, nd
from gluonlr.config import FitConfig
from gluonlr.data import EpochData, StreamData, TakeData
from gluonlr.distributed import Workers
from gluonlr.manual import LossFn  # a per-sample loss: either path's, Gluon's blocks are callables too

if TYPE_CHECKING:  # scaling imports this module for its wrapper's annotations
    from gluonlr.scaling import Standardizer

__all__ = ["Learner", "LearnerData", "model_state"]

#: The forms of the training data a learner reads its batches from (:func:`gluonlr.data.epoch_data`).
LearnerData = EpochData | TakeData | StreamData


def model_state(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Return the entries of a learner's :meth:`~Learner.get_state` that make its model, as ``set_state`` takes them.

    The parameters ``"weight"`` and ``"bias"``, and with ``average`` the mean and its counts (``"average/..."``,
    :class:`~gluonlr.averaging.Averager`): what restoring the best epoch's model restores, without the
    optimizer's state.

    Examples
    --------
    >>> sorted(model_state({"weight": np.ones((1, 2)), "bias": np.zeros(1), "momentum/weight": np.ones((1, 2))}))
    ['bias', 'weight']
    """
    return {key: value for key, value in state.items() if key in ("weight", "bias") or key.startswith("average/")}


class Learner(Protocol):
    """A training path as :func:`gluonlr.fit` drives it: its data, its batches, one step, its parameters and state.

    Its members are read-only as far as the callers go: a learner sets them
    up when it is built. Optional parts are members that may be None
    (:attr:`workers`, :attr:`scaler`), never members that may be missing.

    Examples
    --------
    Both paths are learners, and so is the standardizing wrapper around either:

    >>> from gluonlr.data import synthetic_data
    >>> from gluonlr.learners import GluonLearner, ManualLearner
    >>> from gluonlr.scaling import Standardized, Standardizer
    >>> def one_epoch(learner: Learner) -> tuple[np.ndarray, float | np.ndarray]:
    ...     for batch in learner.batches(epoch=0):
    ...         learner.train_step(*batch)
    ...     return learner.parameters()
    >>> X, y = synthetic_data()
    >>> for path in (ManualLearner, GluonLearner):
    ...     weight, bias = one_epoch(path(X, y, FitConfig(), weight=np.zeros(2), bias=0.0))
    ...     print(weight.round(2), round(bias, 2))
    [ 1.99 50.96] 21.18
    [ 1.99 50.96] 21.18
    >>> scaler = Standardizer(X.mean(axis=0), X.std(axis=0))
    >>> weight, bias = one_epoch(Standardized(ManualLearner(X, y, FitConfig(), weight=np.zeros(2), bias=0.0), scaler))
    >>> print(weight.round(2), round(bias, 2))
    [ 2.   50.97] 21.18
    """

    @property
    def config(self) -> FitConfig:
        """The training options: loss, optimizer, schedule, seed..."""

    @property
    def data(self) -> LearnerData:
        """The training rows, as the batches read them (in a ``dist_sync`` job, this worker's part)."""

    @property
    def ctx(self) -> list[mx.Context]:
        """The devices, the first holding the copy of the parameters that is read."""

    @property
    def loss(self) -> LossFn:
        """The per-sample loss the learner trains on, on the device: ``loss(yhat, y[, sample_weight])``."""

    @property
    def workers(self) -> Workers | None:
        """The worker's part in a ``dist_sync`` job, or None outside one."""

    @property
    def scaler(self) -> Standardizer | None:
        """The standardization applied to every row before the model sees it, or None (raw rows)."""

    def batches(self, epoch: int) -> Iterable[tuple[Any, ...]]:
        """Return the mini-batches of epoch ``epoch``, each a tuple of :meth:`train_step`'s arguments.

        ``(x, y)``, ``(x, y, sample_weight)``, or in a ``dist_sync`` job this
        worker's :class:`~gluonlr.data.Share` of each batch.
        """

    def train_step(
        self, x: nd.NDArray | None, y: nd.NDArray | None, sample_weight: nd.NDArray | None = None, rows: int = 0
    ) -> nd.NDArray | None:
        """Take one step on a batch; return its per-sample losses on the device (None for an empty share)."""

    def predict(self, x: nd.NDArray) -> nd.NDArray:
        """Return the predictions for rows ``x`` on the device, of shape ``(n_samples, n_outputs)``."""

    def parameters(self) -> tuple[np.ndarray, float | np.ndarray]:
        """Return the current ``(weight, bias)`` in the units of ``X``: ``(n_features,)`` and a float for one output."""

    def trained_parameters(self) -> tuple[np.ndarray, float | np.ndarray]:
        """Return the current ``(weight, bias)`` in the units training updates (those of :attr:`scaler`'s rows)."""

    def get_state(self) -> dict[str, np.ndarray]:
        """Return a copy of the training state: the parameters, the optimizer's state and the update count."""

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Overwrite the training state with one from :meth:`get_state`, of either path; missing keys are kept."""

    def set_lr(self, lr: float) -> None:
        """Train at rate ``lr`` from the next step: :attr:`config`'s ``lr`` (``lr_schedule="adaptive"``'s plateaus)."""

    def close(self) -> None:
        """Let go of what reads ahead (threads, open files); :func:`gluonlr.fit` calls it at the end."""
