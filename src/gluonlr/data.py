"""The article's data set, the one seeded source of batch order, and the device copy batches are cut from.

Both training paths draw their per-epoch shuffles from :func:`epoch_order`, so
the manual iterator and the Gluon ``DataLoader`` visit the samples in exactly
the same order and the two paths can be compared number for number. Both cut
their batches from an :class:`EpochData`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gluonlr._mxnet import nd

__all__ = ["EpochData", "batch_bounds", "epoch_order", "synthetic_data"]

#: Up to this many batches, :class:`EpochData` makes each batch's view once and reuses it every epoch.
_MAX_CACHED_VIEWS = 4096

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


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """Return the shuffled sample order of one epoch.

    The order depends only on ``(seed, epoch)``, never on global random state or
    on what ran before, so both paths, and a run resumed at any epoch, see the
    same batches. It is numpy's ``permutation(n)`` of a PCG64 generator seeded
    with ``SeedSequence([seed, epoch])`` (``np.random.default_rng([seed,
    epoch])``): the same on every platform and numpy version that keeps its
    stream, and stated on its own in :func:`gluonlr.testing.reference_fit`.

    Parameters
    ----------
    n : int
        Number of samples.
    seed : int
        The ``seed`` given to :func:`gluonlr.fit`.
    epoch : int
        Zero-based epoch number.

    Returns
    -------
    ndarray of shape (n,), int64
        A permutation of ``range(n)``.

    Examples
    --------
    >>> order = epoch_order(5, seed=0, epoch=0)
    >>> sorted(order.tolist())
    [0, 1, 2, 3, 4]
    >>> bool((order == epoch_order(5, seed=0, epoch=0)).all())
    True
    """
    return np.random.default_rng([seed, epoch]).permutation(n)


def batch_bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    """Split ``range(n)`` into consecutive ``[start, stop)`` batches.

    The last batch is kept even when it is short, as ``DataLoader``'s
    ``last_batch='keep'``.

    Examples
    --------
    >>> batch_bounds(7, 3)
    [(0, 3), (3, 6), (6, 7)]
    """
    return [(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]


class EpochData:
    """``(X, y)`` (and sample weights) on the device, one epoch at a time, in that epoch's order.

    The device holds one copy of the data: a buffer whose memory the host can
    write. :meth:`batches` gathers the epoch's rows ``X[order]``, ``y[order]``
    straight into it with one numpy ``take`` (no temporary copy), after MXNet's
    engine has finished every pending read of the previous epoch
    (``nd.to_dlpack_for_write`` waits for that). Each batch is then a slice of
    the buffer, a view made once and reused: no per-batch gather, no second
    copy of the data.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
    batch_size : int
        Samples per batch; the last batch is kept even when short.
    sample_weight : ndarray of shape (n_samples,), optional
        Per-sample weights, gathered with the rows; each batch then carries its
        weights as a third item.

    Attributes
    ----------
    X : NDArray of shape (n_samples, n_features)
        The device buffer: the current epoch's features, in its order.
    y : NDArray of shape (n_samples, n_outputs)
        The current epoch's targets, in its order (one column for a 1-D ``y``).
    sample_weight : NDArray of shape (n_samples, 1) or None
        The current epoch's sample weights, in its order.

    Examples
    --------
    >>> data = EpochData(np.arange(5.0).reshape(5, 1), np.arange(5.0), batch_size=2)
    >>> [yb.asnumpy().ravel().tolist() for _, yb in data.batches(np.array([4, 3, 2, 1, 0]))]
    [[4.0, 3.0], [2.0, 1.0], [0.0]]
    >>> len(data), data.n_outputs
    (5, 1)
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, batch_size: int, sample_weight: np.ndarray | None = None) -> None:
        n = len(X)
        sources = [X, np.asarray(y).reshape(n, -1)]
        if sample_weight is not None:
            sources.append(np.asarray(sample_weight).reshape(n, 1))
        self._sources = [np.asarray(source, dtype=np.float32) for source in sources]
        self._hosts = [np.empty(source.shape, dtype=np.float32) for source in self._sources]
        # zero_copy: the NDArrays share the host buffers' memory (from_numpy marks
        # the view it is given read-only; the buffers themselves stay writable).
        self._arrays = [nd.from_numpy(host.view(), zero_copy=True) for host in self._hosts]
        self.X, self.y = self._arrays[0], self._arrays[1]
        self.sample_weight = self._arrays[2] if sample_weight is not None else None
        self.bounds = batch_bounds(n, batch_size)
        self._views = self._slices() if len(self.bounds) <= _MAX_CACHED_VIEWS else None

    def _slices(self) -> list[tuple[nd.NDArray, ...]]:
        return [self._slice(k) for k in range(len(self.bounds))]

    def _slice(self, k: int) -> tuple[nd.NDArray, ...]:
        start, stop = self.bounds[k]
        return tuple(array[start:stop] for array in self._arrays)

    def batch(self, k: int) -> tuple[nd.NDArray, ...]:
        """Return batch ``k`` of the gathered epoch: views ``(x, y)`` (or ``(x, y, w)``) of the device buffer."""
        return self._views[k] if self._views is not None else self._slice(k)

    def gather(self, order: np.ndarray) -> None:
        """Fill the device buffer with the rows of ``(X, y)`` in ``order``."""
        for array in self._arrays:
            nd.to_dlpack_for_write(array)  # waits until no pending operation reads the buffer
        # mode="clip": with the default "raise", numpy gathers into a temporary
        # copy of the whole output first; ``order`` is a permutation, always in range.
        for source, host in zip(self._sources, self._hosts, strict=True):
            np.take(source, order, axis=0, out=host, mode="clip")

    def batches(self, order: np.ndarray) -> list[tuple[nd.NDArray, ...]]:
        """Gather the epoch in ``order``; return its batches ``(x, y)`` as views of the device buffer.

        ``x`` has shape ``(batch, n_features)`` and ``y`` ``(batch, n_outputs)``;
        with sample weights each batch is ``(x, y, w)``, ``w`` of shape
        ``(batch, 1)``. The views read the buffer: they hold this epoch's rows
        only until the next call.
        """
        self.gather(order)
        return self._views if self._views is not None else self._slices()

    def in_order(self) -> tuple[nd.NDArray, ...]:
        """Return ``(X, y)`` (or ``(X, y, sample_weight)``) in their original order, without a copy.

        NDArrays that share the memory of the float32 host arrays: for a pass
        over the whole training set, such as the loss of the initial
        parameters, without touching the epoch's buffer.

        Examples
        --------
        >>> data = EpochData(np.arange(4.0).reshape(2, 2), np.array([1.0, 2.0]), batch_size=1)
        >>> [array.shape for array in data.in_order()]
        [(2, 2), (2, 1)]
        """
        # from_numpy marks the view it is given read-only, never the array itself.
        return tuple(nd.from_numpy(source.view(), zero_copy=True) for source in self._sources)

    @property
    def n_batches(self) -> int:
        """Number of batches in an epoch."""
        return len(self.bounds)

    @property
    def n_outputs(self) -> int:
        """Number of targets per sample (columns of ``y``)."""
        return int(self._sources[1].shape[1])

    def __len__(self) -> int:
        return len(self._sources[0])
