"""The article's data set: y = 2*x1 + 51*x2 + 21.2 plus noise, drawn from a seeded generator."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["TRUE_B", "TRUE_W", "synthetic_data"]

#: The article's true parameters: y = 2*x1 + 51*x2 + 21.2.
TRUE_W = (2.0, 51.0)
TRUE_B = 21.2


def synthetic_data(
    n: int = 300,
    true_w: Sequence[float] = TRUE_W,
    true_b: float = TRUE_B,
    noise: float = 0.01,
    seed: int | None = 0,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Draw the article's regression data set.

    Features are standard normal; the target is the true plane plus Gaussian
    noise:

    .. math:: y = X w_{true} + b_{true} + \text{noise} \cdot \varepsilon,
              \quad \varepsilon \sim N(0, 1)

    Parameters
    ----------
    n : int, default=300
        Number of samples.
    true_w : sequence of float, default=(2, 51)
        True weights; its length is the number of features.
    true_b : float, default=21.2
        True bias.
    noise : float, default=0.01
        Standard deviation of the noise added to ``y``.
    seed : int or None, default=0
        Seed of the random generator; ``None`` draws fresh entropy.

    Returns
    -------
    X : ndarray of shape (n, len(true_w)), float32
    y : ndarray of shape (n,), float32

    Raises
    ------
    ValueError
        If ``n`` < 1, ``true_w`` is empty or ``noise`` < 0.

    Examples
    --------
    >>> X, y = synthetic_data()
    >>> X.shape, y.shape, X.dtype
    ((300, 2), (300,), dtype('float32'))
    >>> bool(abs(y - (X @ [2, 51] + 21.2)).max() < 0.1)
    True
    """
    w = np.asarray(true_w, dtype=np.float64).reshape(-1)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"The 'n' parameter of synthetic_data must be an int >= 1. Got {n!r} instead.")
    if w.size == 0:
        raise ValueError(
            "The 'true_w' parameter of synthetic_data must hold at least one weight. Got an empty sequence."
        )
    if not noise >= 0:
        raise ValueError(f"The 'noise' parameter of synthetic_data must be a float >= 0. Got {noise!r} instead.")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, w.size))
    y = X @ w + float(true_b) + noise * rng.standard_normal(n)
    return X.astype(np.float32), y.astype(np.float32)
