r"""Averaged SGD (``fit(average=...)``): the model is the mean of the iterates, scikit-learn's ``average``.

Polyak and Juditsky's averaging (1992), as ``SGDRegressor(average=...)``
computes it: after each update the running mean of the parameters takes in
the new ones,

.. math:: \bar\theta_k = \bar\theta_{k-1} + (\theta_k - \bar\theta_{k-1}) / k,

from the update at which ``start`` samples have been seen (``average=True``:
the first; ``average=10``: the one that sees the tenth sample), ``k`` counting
the updates averaged so far. The model fit returns, predicts with, evaluates
and checkpoints is :math:`\bar\theta` once one update has been averaged;
training itself goes on from :math:`\theta` (the steps, and the training loss
of each batch, are those of plain SGD). Both paths' learners hold one
:class:`Averager` and call :meth:`Averager.step` after each update (and after
its L1 truncation, with ``penalty="l1"`` or ``"elasticnet"``): the mean is
that of the parameters the model has between steps.

With one sample a step (``batch_size=1``) and no L1 part, this is
scikit-learn's arithmetic; a mini-batch step counts as one iterate, its rows
as samples seen. With an L1 part scikit-learn's mean differs: its lazy form
(``WeightVector.add_average``) tracks the gradient steps only, and each
truncation shifts its mean by the whole truncation, as if every earlier
iterate had been truncated too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gluonlr._mxnet import nd

__all__ = ["Averager", "average_start"]


def average_start(average: bool | int) -> int:
    """Return the sample from which ``average`` averages: 0 for off (False), 1 for True, else ``average``.

    Examples
    --------
    >>> average_start(False), average_start(True), average_start(10)
    (0, 1, 10)
    """
    return int(average)


class Averager:
    """The running mean of a learner's parameters, from the update that sees sample ``start`` on.

    Parameters
    ----------
    start : int
        The sample (counted from 1 over the whole training, across epochs)
        whose update is the first averaged; >= 1.

    Attributes
    ----------
    seen : int
        The samples the updates so far have seen.
    count : int
        The updates averaged so far: 0 until the ``start``-th sample's.

    Examples
    --------
    Three updates of one parameter, averaged from the second sample's on:

    >>> averager = Averager(start=2)
    >>> param = nd.array([1.0])
    >>> mean = averager.create_state(param)
    >>> for value in (1.0, 3.0, 5.0):
    ...     param[:] = value
    ...     averager.step([param], [mean], rows=1)
    >>> mean.asnumpy().tolist(), averager.count, averager.model([param], [mean])[0] is mean
    ([4.0], 2, True)
    """

    def __init__(self, start: int) -> None:
        if start < 1:
            raise ValueError(f"An Averager starts at a sample >= 1. Got {start!r} instead.")
        self.start, self.seen, self.count = start, 0, 0

    def create_state(self, param: nd.NDArray) -> nd.NDArray:
        """Return the mean of ``param``: zeros of its shape, dtype and device (read only once ``count`` > 0)."""
        return nd.zeros(param.shape, ctx=param.context, dtype=param.dtype)

    def step(self, params: Sequence[nd.NDArray], means: Sequence[nd.NDArray], *, rows: int) -> None:
        """Count an update that saw ``rows`` samples; from ``start`` on, take ``params`` into their ``means``."""
        self.seen += rows
        if self.seen < self.start:
            return
        self.count += 1
        for param, mean in zip(params, means, strict=True):
            mean += (param - mean) / self.count

    def model(self, params: Sequence[nd.NDArray], means: Sequence[nd.NDArray]) -> Sequence[nd.NDArray]:
        """Return the parameters of the model: ``means`` once an update is averaged, else ``params``."""
        return means if self.count else params

    def get_state(self, means: Sequence[nd.NDArray], layouts: Sequence[bool]) -> dict[str, np.ndarray]:
        """Return ``"average/weight"``, ``"average/bias"``, ``"average/seen"`` and ``"average/count"``.

        ``layouts`` says, for each of ``means``, whether to transpose it to Gluon's layout (the manual path's
        weight).
        """
        state = {"average/seen": np.array(self.seen, np.int64), "average/count": np.array(self.count, np.int64)}
        for name, mean, transpose in zip(("weight", "bias"), means, layouts, strict=True):
            value = mean.asnumpy()
            state[f"average/{name}"] = value.T.copy() if transpose else value
        return state

    def set_state(self, state: dict[str, np.ndarray], means: Sequence[nd.NDArray], layouts: Sequence[bool]) -> None:
        """Overwrite the counts and ``means`` with those of :meth:`get_state` present in ``state``."""
        if "average/seen" in state:
            self.seen = int(state["average/seen"])
        if "average/count" in state:
            self.count = int(state["average/count"])
        for name, mean, transpose in zip(("weight", "bias"), means, layouts, strict=True):
            if f"average/{name}" in state:
                value = np.asarray(state[f"average/{name}"], dtype=mean.dtype)
                mean[:] = nd.array(np.ascontiguousarray(value.T if transpose else value), dtype=mean.dtype)
