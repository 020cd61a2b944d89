"""Hypothesis strategies for data sets and fit configurations, in one place."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gluonlr.conventions import LOSSES, REDUCTIONS

LOSS_FACTOR = {"squared": 1.0, "l2": 0.5}


@st.composite
def datasets(draw, max_samples=200, max_features=5):
    """(X, y): float32, 1..max_samples samples, 1..max_features features, bounded values."""
    n = draw(st.integers(1, max_samples))
    d = draw(st.integers(1, max_features))
    X = draw(hnp.arrays(np.float32, (n, d), elements=st.floats(-2, 2, width=32)))
    y = draw(hnp.arrays(np.float32, (n,), elements=st.floats(-10, 10, width=32)))
    return X, y


def stable_lr(X, *, loss, reduction, batch_size, fraction):
    """A learning rate that keeps SGD contracting on X: ``fraction`` of a safe bound.

    The Hessian of a batch's summed loss is at most 2c * B * (d * max|x|^2 + 1)
    (the +1 is the bias); dividing by B for reduction="mean" leaves B = 1.
    """
    n, d = X.shape
    effective_batch = 1 if reduction == "mean" else min(batch_size, n)
    curvature = 2 * LOSS_FACTOR[loss] * effective_batch * (d * float(np.max(np.abs(X))) ** 2 + 1)
    return fraction / curvature


@st.composite
def fit_configs(draw, X):
    """Keyword arguments for fit on X: batch sizes 1..n+3, 1-3 epochs, both losses and reductions."""
    n = X.shape[0]
    loss = draw(st.sampled_from(LOSSES))
    reduction = draw(st.sampled_from(REDUCTIONS))
    batch_size = draw(st.integers(1, n + 3))
    fraction = draw(st.floats(0.01, 1.0))
    return dict(
        loss=loss,
        reduction=reduction,
        batch_size=batch_size,
        epochs=draw(st.integers(1, 3)),
        seed=draw(st.integers(0, 2**32 - 1)),
        lr=stable_lr(X, loss=loss, reduction=reduction, batch_size=batch_size, fraction=fraction),
    )
