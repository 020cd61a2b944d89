"""A plain-numpy, float64 reference of the updates both paths are meant to take.

Written from the conventions' definitions, independently of gluonlr's code
except for the shared, seeded batch order (:func:`gluonlr.epoch_order`).
"""

from __future__ import annotations

import numpy as np

from gluonlr import epoch_order

LOSS_FACTOR = {"squared": 1.0, "l2": 0.5}  # per-sample loss c * r**2


def reference_fit(X, y, *, loss, reduction, lr, batch_size, epochs, seed, init_weight, init_bias):
    """Mini-batch SGD on c * (x.w + b - y)**2 in float64; returns (w, b, history)."""
    X, y = np.asarray(X, np.float64), np.asarray(y, np.float64)
    w, b = np.asarray(init_weight, np.float64).copy(), float(init_bias)
    c, n = LOSS_FACTOR[loss], len(y)
    history = []
    for epoch in range(epochs):
        order = epoch_order(n, seed, epoch)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            xb, yb = X[idx], y[idx]
            r = xb @ w + b - yb
            total += c * float(r @ r)
            divisor = len(idx) if reduction == "mean" else 1
            w = w - lr / divisor * (2 * c * xb.T @ r)
            b = b - lr / divisor * (2 * c * r.sum())
        history.append(total / n)
    return w, b, history
