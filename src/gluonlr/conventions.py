r"""The one contract between the article's conventions and Gluon's.

The article and Gluon differ in two constants — the per-sample loss
(``loss="squared"`` or ``"l2"``) and the divisor of a batch's summed gradient
(``reduction="sum"`` or ``"mean"``) — and both paths read them here. Their
table, with worked examples, is the documentation's "Conventions" page
(``docs/conventions.rst``). One step on a batch :math:`B` is

.. math:: \theta \leftarrow \theta - \frac{\eta}{d(B)} \nabla_\theta
          \sum_{i \in B} c \, (\hat y_i - y_i)^2

with :math:`c` from :data:`LOSS_SCALE` and :math:`d(B)` from :func:`step_divisor`.
"""

from __future__ import annotations

__all__ = ["DTYPES", "LOSSES", "LOSS_SCALE", "PATH_NAMES", "REDUCTIONS", "step_divisor"]

#: Factor ``c`` in the per-sample loss ``c * (yhat - y)**2`` of each loss name.
#: ``L2Loss(weight=w)`` computes ``w / 2 * (yhat - y)**2``, so ``weight = 2 * c``.
LOSS_SCALE: dict[str, float] = {"squared": 1.0, "l2": 0.5}

#: The loss names :func:`gluonlr.fit` accepts: the squared losses above, and ``L1Loss`` and ``HuberLoss``.
LOSSES = (*LOSS_SCALE, "l1", "huber")
REDUCTIONS = ("sum", "mean")

#: The training paths: raw autograd (:mod:`gluonlr.manual`) and Gluon's blocks (:mod:`gluonlr.gluon`).
PATH_NAMES = ("manual", "gluon")

#: The dtypes of the model and of MXNet's arithmetic: ``"float32"`` (the article's), ``"float64"``; ``"auto"``
#: is float64 for float64 data and float32 for any other (:func:`gluonlr.data.prepare.resolve_dtype`).
DTYPES = ("float32", "float64", "auto")


def step_divisor(reduction: str, batch_len: int) -> int:
    """Return what a batch's summed gradient is divided by before the step.

    Parameters
    ----------
    reduction : {"sum", "mean"}
        ``"sum"`` steps with the summed gradient (the article); ``"mean"``
        divides it by the actual number of samples in the batch, so a short
        last batch is not under-weighted.
    batch_len : int
        Number of samples in this batch.

    Returns
    -------
    int
        The ``divisor`` of :func:`gluonlr.manual.sgd` and
        :func:`gluonlr.gluon.sgd` (the argument ``gluon.Trainer.step`` calls
        ``batch_size``).

    Examples
    --------
    >>> step_divisor("sum", 7), step_divisor("mean", 7)
    (1, 7)
    """
    return batch_len if reduction == "mean" else 1
