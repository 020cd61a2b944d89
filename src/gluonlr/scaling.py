r"""Fits that work on raw data: standardized features (``standardize=True``) and a step from the data (``lr="auto"``).

**Standardizing.** :func:`gluonlr.fit` trains on :math:`z = (x - \mu) / \sigma`, with the mean :math:`\mu` and
the standard deviation :math:`\sigma` of each feature over the training rows (after a validation split, never
its rows), and reports the model in the units of ``X``:

.. math:: \hat y = z \cdot w' + b' = x \cdot w + b, \qquad w = w' / \sigma, \quad b = b' - \mu \cdot w

so ``predict`` takes raw ``X``. The statistics come from :class:`FeatureStats`, fed the chunks of the pass
over the data fit makes anyway (the NaN check and a checkpoint's fingerprint): one bounded-memory pass, never
a copy of ``X``. A feature whose standard deviation is 0, or below what float32 can resolve of its mean
(:math:`\sigma \le 10\,\epsilon_{32} |\mu|`), is *constant*: it is centred and divided by 1, as
scikit-learn's ``StandardScaler`` treats a constant feature (no NaN from 0 / 0). Centred, it is 0 on every
training row, so its weight is never updated (it keeps its start, as a column of zeros does without
standardizing) and the bias takes the constant's part.

Where the arithmetic happens. Three places were possible:

- a standardized copy of ``X``: simple, but a copy of a memmap is what gluonlr's readers exist to avoid;
- folding the map into the model, training :math:`x \cdot (w'/\sigma) + (b' - \mu \cdot w'/\sigma)` on raw
  rows: no copy, but the forward pass and the gradient then subtract :math:`\mu \cdot w'/\sigma` from
  :math:`x \cdot w'/\sigma`, two numbers far larger than their difference when :math:`|\mu| \gg \sigma`
  (a year, a price), which float32 cancels; and Gluon's ``Dense`` would need another parametrization;
- **each batch as it is read** (chosen): :class:`Standardized` wraps either path's learner and maps each
  batch's rows on the device, ``(x - mean) * inverse`` (:class:`Standardizer`: two elementwise operators,
  on rows that are in cache anyway), before the learner's step, and every block of rows it predicts on (the
  loss, metrics and validation passes, 1 MiB of rows at a time). It works the same on every reader
  (:class:`~gluonlr.data.EpochData`'s views, :class:`~gluonlr.data.TakeData`'s takes from a memmap,
  :class:`~gluonlr.data.StreamData`'s reads), copies nothing, and both paths see the very same float32
  features, so they stay equal as without it. It costs a step of 1000 rows of 100 features about 0.1 ms.

The learner's parameters and optimizer state, and so a checkpoint's ``.state`` file and early stopping's best
weights, stay in the standardized units; what leaves the learner as a model (the result, a divergence error's
parameters, a checkpoint's model file) is in the units of ``X``. A resumed run recomputes the statistics, in
the same chunks from the same data (its fingerprint is checked), so they are bitwise those of the run it
continues. ``init_weight`` and ``init_bias`` given to fit are in the units of ``X`` too, as a result's
``weight`` and ``bias`` (a fitted model can warm-start another fit); left out, the standardized model starts
where the article starts: :math:`w' \sim N(0, 1)`, :math:`b' = 0`.

**The step.** ``lr="auto"`` picks the learning rate from a sample of the training rows (at most
:data:`SAMPLE_ROWS`, drawn with a fixed seed, so the same data give the same rate whatever fit's ``seed``), as
the features the model sees (standardized if ``standardize=True``) with a column of ones for the bias. For SGD
a step is stable when it does not overshoot the batch it is taken on: on the batch's loss, a quadratic with
Hessian :math:`H_B = c \sum_{i \in B} s_i \tilde x_i \tilde x_i^T` (:math:`c` the loss's largest curvature
over the :math:`k` outputs: 2/k for ``"squared"``, 1/k for ``"l2"``, :math:`1/(\rho k)` for ``"huber"``;
:math:`s_i` the sample weights), the step :math:`\theta \leftarrow \theta - \eta\,(H_B / d(B) + \lambda)\,\theta`
overshoots when :math:`\eta L_B > 2`, where :math:`L_B = \lambda_{max}(H_B) / d(B) + \lambda` (:math:`d(B)` the
reduction's divisor, :math:`\lambda` the weights' decay, the L2 penalty's ``alpha``: a bound, as the bias is
not decayed). The sample is cut into batches of fit's ``batch_size`` (and, for ``reduction="mean"``, of the
epoch's short last batch too, whose mean step is the largest), :math:`\lambda_{max}` of each batch is found by
power iteration, and

.. math:: \eta = \frac{1 - \mu}{\max_B L_B}

half the largest stable step of the worst batch seen, times :math:`1 - \mu` with momentum :math:`\mu`
(plain or Nesterov): the same effective step :math:`\eta / (1 - \mu)` as plain SGD's, well inside momentum's
own limit :math:`\eta L < 2 (1 + \mu)`. ``"l1"`` has no curvature (its steps have the size of ``|x|``,
whatever the residual); it gets ``"l2"``'s rate, a scale that a decaying ``lr_schedule`` then refines.
Huber's curvature holds within :math:`\rho` of the target; beyond, its gradient, as L1's, does not grow with
the residual, so these losses cannot diverge, but far from the fit (a large intercept to learn) they move at
most about :math:`\eta \|\tilde x\|^2` a sample and update, and may need many epochs. A schedule that would
rise above the rate chosen is refused: a ``Cosine`` whose ``final_lr`` is larger, and a ``StepDecay`` for a
rate below MXNet's floor of 1e-8, which its first decay would raise the rate to.

On the diabetes data with standardized features and the article's batches of 10 with summed squared losses,
the rule chooses 0.0066, where the issue measured constant rates of 0.008 to 0.0125 to work and
:func:`gluonlr.testing.stable_lr`'s worst case gives 2.8e-4.

Adam's step is about ``lr`` per parameter and update whatever the curvature or the gradient's scale (the
second moment normalizes it), so its rule is about that size instead: one update moves a prediction by up
to :math:`\eta \|\tilde x\|_1`, and the rate makes that :data:`ADAM_FRACTION` (5%) of the initial
parameters' residual,

.. math:: \eta_{Adam} = 0.05 \, \frac{\mathrm{RMS}(\hat y_0 - y)}{\mathrm{mean}_i \|\tilde x_i\|_1}

(batch size, reduction and loss do not change Adam's steps, so not its rate). On the diabetes data with
standardized features this gives about 0.9; the first epochs then close most of the initial residual, and a
schedule settles the jitter.

Without standardizing, a rate stable for the largest feature is small for the others: ``lr="auto"`` then
never diverges on badly scaled features, but may converge slowly; ``standardize=True`` is the cure.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

from gluonlr._mxnet import mx, nd
from gluonlr._validation import _as_real, check_float32_range
from gluonlr.config import FitConfig
from gluonlr.conventions import LOSS_SCALE
from gluonlr.data.columns import SparseRows
from gluonlr.data.sources import Source, SparseSource, is_sparse
from gluonlr.distributed import Workers
from gluonlr.errors import ConvergenceWarning
from gluonlr.learners import Learner, LearnerData
from gluonlr.manual import LossFn
from gluonlr.schedules import Cosine, StepDecay

__all__ = [
    "ADAM_FRACTION",
    "SAMPLE_ROWS",
    "FeatureStats",
    "Standardized",
    "Standardizer",
    "auto_lr",
    "check_lr",
    "check_standardize",
    "largest_eigenvalues",
]

#: At most this many training rows are sampled for ``lr="auto"`` (and at most 16 MiB of them as float64).
SAMPLE_ROWS = 4096

#: Adam's rate makes one update move a typical prediction by this fraction of the initial residual.
ADAM_FRACTION = 0.05

_TINY32 = float(np.finfo(np.float32).tiny)

#: A feature is constant when its standard deviation is at most this many float32 roundings of its mean.
_CONSTANT_ROUNDINGS = 10

#: The float64 bytes of the rows sampled for ``lr="auto"`` (16 MiB): fewer than SAMPLE_ROWS rows of wide data.
_SAMPLE_BYTES = 16 << 20

#: Rows of float64 temporaries (1 MiB) one step of :meth:`FeatureStats.add` holds.
_BLOCK_BYTES = 1 << 20

#: The seed of the rows sampled for ``lr="auto"``, and of the power iteration's start: fixed, not fit's seed.
_SAMPLE_SEED = 0

#: Power iteration stops when no batch's estimate moved by more than this fraction, or after _MAX_ITERATIONS.
_TOLERANCE = 1e-6
_MAX_ITERATIONS = 300


def check_lr(lr: Any) -> float | str:
    """Return ``lr`` as a float, or ``"auto"``; raise ``ValueError`` for anything else.

    Examples
    --------
    >>> check_lr(0.1), check_lr("auto")
    (0.1, 'auto')
    >>> check_lr("fast")
    Traceback (most recent call last):
    ...
    ValueError: The 'lr' parameter of fit must be a finite float > 0 or 'auto'. Got 'fast' instead.
    """
    if isinstance(lr, str) and lr == "auto":
        return "auto"
    number = _as_real(lr)
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"The 'lr' parameter of fit must be a finite float > 0 or 'auto'. Got {lr!r} instead.")
    return check_float32_range("lr", number, zero=False)


def check_standardize(standardize: Any) -> bool:
    """Return ``standardize`` as a bool if it is True or False; raise ``ValueError`` otherwise.

    Examples
    --------
    >>> check_standardize(True)
    True
    >>> check_standardize("yes")
    Traceback (most recent call last):
    ...
    ValueError: The 'standardize' parameter of fit must be True or False. Got 'yes' instead.
    """
    if not isinstance(standardize, bool | np.bool_):
        raise ValueError(f"The 'standardize' parameter of fit must be True or False. Got {standardize!r} instead.")
    return bool(standardize)


class FeatureStats:
    """The mean and variance of each column of rows fed in chunks, in float64, with bounded memory.

    Chan et al.'s pairwise update: each block of rows' own mean and sum of
    squared deviations, combined with those so far: accurate to float64
    rounding however the rows are chunked (no sum of squares minus a squared
    sum to cancel), and a constant column's variance is exactly 0. A block
    holds at most 1 MiB of float64.

    Parameters
    ----------
    n_features : int
        Columns of the rows.

    Examples
    --------
    >>> stats = FeatureStats(2)
    >>> for chunk in np.split(np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0], [6.0, 5.0]], np.float32), 2):
    ...     stats.add(chunk)
    >>> stats.n, stats.mean.tolist(), stats.variance.tolist()
    (4, [3.0, 5.0], [3.5, 0.0])
    """

    def __init__(self, n_features: int) -> None:
        self.n = 0
        self.mean = np.zeros(n_features)
        self._squares = np.zeros(n_features)  # the sum of squared deviations from the mean
        self._block = max(1, _BLOCK_BYTES // (8 * max(1, n_features)))

    def add(self, rows: Any) -> None:
        """Add rows of shape ``(n_rows, n_features)`` (float32: read as they are, never copied whole).

        A CSR matrix of rows (:class:`~gluonlr.data.SparseSource`'s) is added
        whole, from its column sums of values and of squares, never densified.
        """
        if is_sparse(rows):
            values = rows.astype(np.float64)
            count = rows.shape[0]
            mean = np.asarray(values.sum(axis=0)).reshape(-1) / count
            squares = np.maximum(np.asarray(values.multiply(values).sum(axis=0)).reshape(-1) - count * mean**2, 0.0)
            self._combine(count, mean, squares)
            return
        for start in range(0, len(rows), self._block):
            block = rows[start : start + self._block]
            count = len(block)
            mean = block.mean(axis=0, dtype=np.float64)
            self._combine(count, mean, np.square(block - mean).sum(axis=0))

    def _combine(self, count: int, mean: np.ndarray, squares: np.ndarray) -> None:
        """Merge a block's row count, mean and sum of squared deviations into the totals (Chan et al.)."""
        total = self.n + count
        delta = mean - self.mean
        self._squares += squares + delta**2 * (self.n * count / total)
        self.mean += delta * (count / total)
        self.n = total

    @property
    def variance(self) -> np.ndarray:
        """The population variance of each column (``ddof=0``, as ``StandardScaler``)."""
        return self._squares / max(self.n, 1)


class Standardizer:
    """The affine map ``z = (x - mean) / scale`` of each feature, and the model's parameters across it.

    ``mean`` and ``scale`` are in ``dtype``, the model's (float32 unless
    ``fit(dtype="float64")``). The device computes ``(x - mean) *
    inverse``, with ``inverse`` the reciprocal of ``scale`` in that dtype: MXNet's
    CPU kernels multiply three times faster than they divide, and elementwise
    operators on arrays of the batch's shape (the mean and the reciprocal
    repeated, held on the device) run three times faster than broadcasting
    ones. The conversions of parameters compute in float64 with the same
    ``inverse`` and round to ``dtype``.

    Parameters
    ----------
    mean, scale : array-like of shape (n_features,)
        ``scale`` > 0.
    dtype : {"float32", "float64"}, default="float32"
        The model's dtype.

    Examples
    --------
    >>> scaler = Standardizer([10.0, 0.0], [2.0, 1.0])
    >>> scaler.transform(np.array([[12.0, 3.0]], np.float32)).tolist()
    [[1.0, 3.0]]
    >>> scaler.to_original(np.array([4.0, 1.0], np.float32), 1.0)  # 4 (x1 - 10) / 2 + x2 + 1 = 2 x1 + x2 - 19
    (array([2., 1.], dtype=float32), -19.0)
    >>> Standardizer([10.0, 0.0], [2.0, 1.0], "float64").to_original(np.array([4.0, 1.0]), 1.0)
    (array([2., 1.]), -19.0)
    """

    def __init__(self, mean: Any, scale: Any, dtype: str = "float32") -> None:
        self.dtype = np.dtype(dtype)
        self.mean = np.asarray(mean, dtype=self.dtype)
        self.scale = np.asarray(scale, dtype=self.dtype)
        self.inverse = (1.0 / self.scale.astype(np.float64)).astype(self.dtype)
        self._tiles: dict[tuple[Any, int], tuple[nd.NDArray, nd.NDArray]] = {}

    @classmethod
    def from_stats(cls, stats: FeatureStats, dtype: str = "float32", centre: bool = True) -> Standardizer:
        r"""Return the map of :class:`FeatureStats` for a model in ``dtype``: a constant feature's scale is 1.

        ``centre=False`` scales without centring, as scikit-learn's
        ``StandardScaler(with_mean=False)``: the map's mean is 0, ``z = x /
        scale``. ``fit`` passes it for ``fit_intercept=False`` (a model with
        no bias in standardized units then has none in the units of ``X``
        either) and for a sparse ``X`` (which centring would densify).

        A feature is constant when its standard deviation is 0, or at most ten
        roundings of its mean in ``dtype`` (:math:`\sigma \le 10\,\epsilon_{32} |\mu|` in float32):
        ``dtype`` holds none of its variation, and dividing by it would only
        magnify rounding. Raises ``ValueError`` if the statistics are not
        finite (NaN in ``X``, with ``check_input=False``).

        Examples
        --------
        >>> stats = FeatureStats(3)
        >>> stats.add(np.array([[1.0, 7.0, 1e4], [3.0, 7.0, 1e4 + 1e-3]], np.float32))
        >>> scaler = Standardizer.from_stats(stats)
        >>> scaler.mean.tolist(), scaler.scale.tolist()
        ([2.0, 7.0, 10000.0], [1.0, 1.0, 1.0])
        >>> Standardizer.from_stats(stats, centre=False).mean.tolist()
        [0.0, 0.0, 0.0]
        """
        mean, std = stats.mean, np.sqrt(stats.variance)
        if not (np.isfinite(mean).all() and np.isfinite(std).all()):
            raise ValueError(
                "X passed to fit holds NaN or infinity: standardize=True cannot compute the mean and standard "
                "deviation of its features. Pass check_input=True (the default) to find the first bad row."
            )
        info = np.finfo(dtype)
        constant = (std <= _CONSTANT_ROUNDINGS * float(info.eps) * np.abs(mean)) | (std < float(info.tiny))
        return cls(mean if centre else np.zeros_like(mean), np.where(constant, 1.0, std), dtype)

    def transform(self, x: Any) -> Any:
        """Return ``(x - mean) * inverse`` of rows in the model's dtype: the device's arithmetic, on the host.

        A sparse ``x`` (for a map that only scales) stays sparse: ``x * inverse``, a CSR matrix.
        """
        if is_sparse(x):
            if self.mean.any():
                raise ValueError(
                    "A sparse X cannot be centred by the mean of standardize=True: centring would densify it. Fit "
                    "on sparse data from the start (standardize then scales only), or pass X.toarray()."
                )
            scaled = x.tocsr().astype(self.dtype, copy=True)
            scaled.data *= self.inverse[scaled.indices]  # each stored value times its column's: as the device
            return scaled
        return (np.asarray(x, dtype=self.dtype) - self.mean) * self.inverse

    def transform_nd(self, x: Any) -> Any:
        """Return ``(x - mean) * inverse`` of a batch on its device, bitwise as :meth:`transform` computes it.

        Up to 1 MiB of rows (a batch, a block of a pass over the data), with
        elementwise operators and the mean and the reciprocal repeated to the
        batch's rows (made once per device and number of rows, views of one
        1 MiB copy); a larger batch with broadcasting ones. A sparse batch
        (:class:`~gluonlr.data.columns.SparseRows`, or a CSR ``NDArray``) is only
        scaled: its stored values times their columns' reciprocals, still CSR.
        """
        if isinstance(x, SparseRows):  # a sparse batch, for a map that only scales: x * its columns' inverse, CSR
            return x.map_x(nd.broadcast_mul(x.x, nd.take(self._repeated(x.context, 1)[1], x.columns, axis=1)))
        if x.stype == "csr":
            return nd.broadcast_mul(x, self._repeated(x.context, 1)[1])
        rows = x.shape[0]
        tiled = max(1, _BLOCK_BYTES // (self.dtype.itemsize * len(self.mean)))
        if rows > tiled:
            mean, inverse = self._repeated(x.context, 1)
            centred = nd.broadcast_sub(x, mean)
            return nd.broadcast_mul(centred, inverse, out=centred)  # in place: one temporary the size of x
        mean, inverse = self._repeated(x.context, rows, tiled)
        centred = nd.elemwise_sub(x, mean)
        return nd.elemwise_mul(centred, inverse, out=centred)

    def _repeated(self, context: Any, rows: int, tiled: int = 1) -> tuple[nd.NDArray, nd.NDArray]:
        """Return the mean and the reciprocal repeated to ``rows`` rows on ``context``: views of ``tiled`` rows."""
        if (context, tiled) not in self._tiles:
            mean, inverse = (np.broadcast_to(values, (tiled, len(values))) for values in (self.mean, self.inverse))
            self._tiles[context, tiled] = (
                nd.array(mean, ctx=context, dtype=self.dtype),
                nd.array(inverse, ctx=context, dtype=self.dtype),
            )
        if (context, rows) not in self._tiles:
            mean, inverse = self._tiles[context, tiled]
            self._tiles[context, rows] = (mean[:rows], inverse[:rows])
        return self._tiles[context, rows]

    def _columns(self, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``mean`` and ``inverse`` in float64, shaped to multiply ``weight``'s rows (features)."""
        shape = (-1,) if np.ndim(weight) == 1 else (-1, 1)
        return self.mean.astype(np.float64).reshape(shape), self.inverse.astype(np.float64).reshape(shape)

    def to_original(self, weight: np.ndarray, bias: float | np.ndarray) -> tuple[np.ndarray, float | np.ndarray]:
        """Return the model ``(w, b)`` in the units of ``X`` of the standardized model ``(weight, bias)``.

        ``w = weight * inverse`` (``weight / scale``) and ``b = bias - mean .
        w``, for one output (``weight`` of shape ``(n_features,)``, ``bias`` a
        float) or several.
        """
        mean, inverse = self._columns(weight)
        original = np.asarray(weight, dtype=np.float64) * inverse
        intercept = np.asarray(bias, dtype=np.float64) - (mean * original).sum(axis=0)
        return original.astype(self.dtype), _as_bias(intercept, bias, self.dtype)

    def initial(
        self, weight: np.ndarray, bias: float | np.ndarray, *, given_weight: bool, given_bias: bool
    ) -> tuple[np.ndarray, float | np.ndarray]:
        """Return the standardized model's starting ``(w', b')`` from :func:`gluonlr.initial_params`' values.

        A given ``init_weight`` ``w`` (units of ``X``) becomes ``w' = w /
        inverse`` (``w * scale``); otherwise ``weight`` is the drawn ``w'`` itself. A given
        ``init_bias`` ``b`` is the starting model's intercept in the units of
        ``X``: ``b' = b + mean . w``; otherwise ``b' = 0``, the article's.

        Examples
        --------
        >>> scaler = Standardizer([10.0], [2.0])
        >>> scaler.initial(np.array([3.0], np.float32), 1.0, given_weight=True, given_bias=True)
        (array([6.], dtype=float32), 31.0)
        >>> scaler.initial(np.array([3.0], np.float32), 0.0, given_weight=False, given_bias=False)
        (array([3.], dtype=float32), 0.0)
        """
        mean, inverse = self._columns(weight)
        weight64 = np.asarray(weight, dtype=np.float64)
        original, standardized = (weight64, weight64 / inverse) if given_weight else (weight64 * inverse, weight64)
        intercept = np.asarray(bias, dtype=np.float64)
        if given_bias:
            intercept = intercept + (mean * original).sum(axis=0)
        return standardized.astype(self.dtype), _as_bias(intercept, bias, self.dtype)


def _as_bias(value: np.ndarray, like: float | np.ndarray, dtype: Any = np.float32) -> float | np.ndarray:
    """``value`` rounded to ``dtype``: a float if ``like`` is one (one output), else an array."""
    if np.ndim(like) == 0:
        return float(np.asarray(value, dtype=dtype))
    return np.asarray(value, dtype=dtype)


class Standardized:
    """A path's learner that trains and predicts on standardized features, and reports the model in raw units.

    Every batch of rows it is given, to train on (:meth:`train_step`) or to
    predict (:meth:`predict`), is mapped by :meth:`Standardizer.transform_nd`
    on the device before the wrapped learner sees it; :meth:`parameters`
    converts back (:meth:`Standardizer.to_original`), and :attr:`scaler`
    tells the evaluation passes to standardize their rows too. Every other
    member of the :class:`~gluonlr.learners.Learner` protocol is the wrapped
    learner's: its state (``get_state``) is in standardized units, so a
    checkpoint resumes and early stopping restores bitwise.

    Parameters
    ----------
    learner : Learner
        Built on the raw rows, with the standardized model's initial parameters.
    scaler : Standardizer

    Examples
    --------
    >>> from gluonlr.learners import ManualLearner
    >>> X, y = np.array([[10.0], [12.0], [14.0]], np.float32), np.array([1.0, 2.0, 3.0], np.float32)
    >>> scaler = Standardizer([12.0], [2.0])
    >>> learner = Standardized(ManualLearner(X, y, FitConfig(), weight=np.array([1.0]), bias=2.0), scaler)
    >>> print(learner.predict(nd.array(X)).asnumpy().ravel())  # z = -1, 0, 1
    [1. 2. 3.]
    >>> learner.parameters()  # (x - 12) / 2 + 2 = 0.5 x - 4
    (array([0.5], dtype=float32), -4.0)
    >>> learner.trained_parameters()  # of z
    (array([1.], dtype=float32), 2.0)
    """

    def __init__(self, learner: Learner, scaler: Standardizer) -> None:
        self.learner, self._scaler = learner, scaler

    @property
    def scaler(self) -> Standardizer:
        """The standardization of every row the wrapped learner sees."""
        return self._scaler

    @property
    def config(self) -> FitConfig:
        """The wrapped learner's training options."""
        return self.learner.config

    @property
    def data(self) -> LearnerData:
        """The wrapped learner's training rows, raw: each batch is standardized as it is trained on."""
        return self.learner.data

    @property
    def ctx(self) -> list[mx.Context]:
        """The wrapped learner's devices."""
        return self.learner.ctx

    @property
    def loss(self) -> LossFn:
        """The wrapped learner's per-sample loss."""
        return self.learner.loss

    @property
    def workers(self) -> Workers | None:
        """The wrapped learner's part in a ``dist_sync`` job, or None."""
        return self.learner.workers

    def batches(self, epoch: int) -> Iterable[tuple[Any, ...]]:
        """Return the wrapped learner's mini-batches of epoch ``epoch``, of raw rows (:meth:`train_step` maps them)."""
        return self.learner.batches(epoch)

    def train_step(
        self, x: nd.NDArray | None, y: nd.NDArray | None, sample_weight: nd.NDArray | None = None, rows: int = 0
    ) -> nd.NDArray | None:
        """Take the wrapped learner's step on the standardized batch; return its per-sample losses.

        A ``dist_sync`` worker's empty share (``x`` None) is passed on as it is: the worker still takes the step.
        """
        standardized = None if x is None else self.scaler.transform_nd(x)
        return self.learner.train_step(standardized, y, sample_weight, rows)

    def predict(self, x: nd.NDArray) -> nd.NDArray:
        """Return the predictions for raw rows ``x``, standardized a block of 1 MiB of rows at a time.

        Standardized whole, a large ``x`` would leave an ``x``-sized temporary
        in MXNet's memory pool.
        """
        rows = max(1, _BLOCK_BYTES // (np.dtype(x.dtype).itemsize * max(1, x.shape[1])))
        if x.shape[0] <= rows or x.stype == "csr":
            return self.learner.predict(self.scaler.transform_nd(x))
        predictions = []
        for start in range(0, x.shape[0], rows):
            predictions.append(self.learner.predict(self.scaler.transform_nd(x[start : start + rows])))
            predictions[-1].wait_to_read()  # the block's temporary is free for the next: MXNet's engine runs ahead
        return nd.concat(*predictions, dim=0)

    def parameters(self) -> tuple[np.ndarray, float | np.ndarray]:
        """Return the current ``(weight, bias)`` in the units of ``X``."""
        return self.scaler.to_original(*self.learner.parameters())

    def trained_parameters(self) -> tuple[np.ndarray, float | np.ndarray]:
        """Return the current ``(weight, bias)`` of the standardized features, as training updates them."""
        return self.learner.parameters()

    def get_state(self) -> dict[str, np.ndarray]:
        """Return the wrapped learner's training state, in standardized units."""
        return self.learner.get_state()

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Overwrite the wrapped learner's training state with one from :meth:`get_state`."""
        self.learner.set_state(state)

    def set_lr(self, lr: float) -> None:
        """Set the wrapped learner's rate."""
        self.learner.set_lr(lr)

    def close(self) -> None:
        """Close the wrapped learner."""
        self.learner.close()


_: type[Learner] = Standardized  # mypy checks here that Standardized has every member of the protocol


# -- lr="auto" -----------------------------------------------------------------------------------------------------


def _curvature(loss: str, rho: float) -> float:
    """Return the largest second derivative of a sample's loss in its residual (L1, which has none, gets L2's)."""
    if loss in LOSS_SCALE:
        return 2.0 * LOSS_SCALE[loss]
    return 1.0 / rho if loss == "huber" else 1.0


def _sample(array: np.ndarray | Source, rows: np.ndarray) -> np.ndarray:
    """Return ``array[rows]`` as float32, or float64 (a float64 model's) (a source reads them in increasing order)."""
    if isinstance(array, Source):
        return array.rows(rows)
    return np.take(array, rows, axis=0).astype(np.float64 if array.dtype == np.float64 else np.float32, copy=False)


def _sparse_sample(X: SparseSource, rows: np.ndarray, scaler: Standardizer | None) -> tuple[np.ndarray, np.ndarray]:
    """Return the sampled rows of a sparse ``X`` densified, at most 16 MiB of them, and the rows kept.

    As a dense ``X``'s when the rows fit whole; for wide data only the
    columns where the sample has a non-zero (a column of zeros changes no
    batch's eigenvalues), and the first rows of the sample as many as fit.
    """
    block = X.rows(rows)
    if scaler is not None:
        block = scaler.transform(block)
    if len(rows) * (X.shape[1] + 1) * 8 <= _SAMPLE_BYTES:
        return block.toarray(), rows
    while True:
        columns = np.unique(block.indices)
        fit = max(1, _SAMPLE_BYTES // (8 * (len(columns) + 1)))
        if fit >= block.shape[0]:
            return block[:, columns].toarray(), rows
        block, rows = block[:fit], rows[:fit]


def largest_eigenvalues(batches: np.ndarray, weights: np.ndarray) -> np.ndarray:
    r"""Return :math:`\lambda_{max}` of :math:`\frac1b \sum_i s_i x_i x_i^T` of each batch, by power iteration.

    All batches iterate at once. Each iteration applies the matrix through the
    rows (:math:`\frac1b X^T (s \odot X v)`, never forming it), so the cost is
    that of reading the sample twice; it stops when no estimate moves by more
    than a millionth. The estimate is :math:`\|H v\|` for a unit :math:`v`, a
    lower bound that converges to :math:`\lambda_{max}`. numpy's ``einsum``
    (no BLAS threads) keeps the result bitwise the same from run to run.

    Parameters
    ----------
    batches : ndarray of shape (n_batches, batch_size, n_columns), float64
    weights : ndarray of shape (n_batches, batch_size)

    Examples
    --------
    >>> rows = np.array([[[1.0, 0.0], [0.0, 2.0]], [[3.0, 4.0], [0.0, 0.0]]])
    >>> largest_eigenvalues(rows, np.ones((2, 2))).round(6).tolist()  # diag(1, 4) / 2 and (3, 4)(3, 4)^T / 2
    [2.0, 12.5]
    """
    n_batches, size, columns = batches.shape
    v = np.random.default_rng(_SAMPLE_SEED).standard_normal((n_batches, columns))
    v /= np.sqrt(np.einsum("np,np->n", v, v))[:, None]
    estimate = np.zeros(n_batches)
    for _ in range(_MAX_ITERATIONS):
        hv = np.einsum("nbp,nb->np", batches, weights * np.einsum("nbp,np->nb", batches, v)) / size
        norm = np.sqrt(np.einsum("np,np->n", hv, hv))
        converged = np.abs(norm - estimate) <= _TOLERANCE * norm
        estimate = norm
        if converged.all():
            break
        v = np.divide(hv, norm[:, None], out=v, where=norm[:, None] > 0)
    return estimate


def auto_lr(
    X: np.ndarray | Source,
    y: np.ndarray | Source,
    config: FitConfig,
    start: tuple[np.ndarray, float | np.ndarray],
    sample_weight: np.ndarray | None = None,
    scaler: Standardizer | None = None,
) -> float:
    r"""Return the learning rate ``lr="auto"`` chooses for training ``config`` on ``(X, y)``.

    See the module's documentation for the rule. ``X`` and ``y`` are the
    training rows (in memory or a :class:`~gluonlr.data.Source`, of which
    only the sampled rows are read), ``start`` the initial ``(weight,
    bias)`` of the model trained (standardized if ``scaler`` is given),
    ``sample_weight`` those of the training rows.

    Raises
    ------
    ValueError
        If the sampled rows hold NaN or infinity (``check_input=False``), the
        rate falls outside float32's range (data whose squares near float32's
        limits), or ``lr_schedule`` would rise above it.

    Examples
    --------
    The article's data (two features of standard deviation 1, summed steps on
    batches of 10, where the article's 0.01 works), and Adam on it:

    >>> from gluonlr import synthetic_data
    >>> X, y = synthetic_data()
    >>> start = (np.zeros(2, np.float32), 0.0)
    >>> round(auto_lr(X, y, FitConfig(), start), 4), round(auto_lr(X, y, FitConfig(optimizer="adam"), start), 3)
    (0.0192, 1.069)
    """
    n = len(X)
    sample_size = min(n, SAMPLE_ROWS, max(1, _SAMPLE_BYTES // (8 * (X.shape[1] + 1))))
    if isinstance(X, SparseSource):  # the rows' non-zero columns are what takes room: _sparse_sample bounds them
        sample_size = min(n, SAMPLE_ROWS)
    rows = np.random.default_rng(_SAMPLE_SEED).choice(n, sample_size, replace=False)  # in random order
    if isinstance(X, SparseSource):
        features, rows = _sparse_sample(X, rows, scaler)
    else:
        features = _sample(X, rows)
        if scaler is not None:
            features = scaler.transform(features)
    # the bias's column of ones, if the bias is trained
    ones = [np.ones(len(rows))] if config.fit_intercept else []
    sampled = np.column_stack([features.astype(np.float64), *ones])
    if config.optimizer == "adam":
        rate = _adam_lr(sampled, _sample(y, rows), *start)
    else:
        _check_finite(sampled)
        rate = _sgd_lr(sampled, config, n, rows, sample_weight, _outputs(y))
        if scaler is None:  # a rate float32 holds, from features on scales too far apart: it trains little
            _warn_of_scales(sampled, _checked(rate, config))
    return _checked(rate, config)


#: The spread of the features' scales above which ``lr="auto"`` without ``standardize`` warns.
SCALE_RATIO_WARNING = 10.0


def _warn_of_scales(sampled: np.ndarray, rate: float) -> None:
    """Warn when the sampled columns' scales differ by over :data:`SCALE_RATIO_WARNING`: the rate trains little.

    The scale of a column is its root mean square (its mean counts: the bias's column of ones is one of them);
    columns of zeros are left out. The largest scale sets the stable rate, at which a column ``ratio`` times
    smaller moves ``ratio**2`` times more slowly.
    """
    scales = np.sqrt(np.mean(np.square(sampled), axis=0))
    scales = scales[scales > 0]
    ratio = float(scales.max() / scales.min())
    if ratio > SCALE_RATIO_WARNING:
        warnings.warn(
            ConvergenceWarning(
                f"lr='auto' chose {rate:.3g} for features whose scales (root mean square, the bias's column of ones "
                f"included) differ by a factor of {ratio:.3g}: the largest sets the rate, at which the smallest train "
                f"about {ratio**2:.3g} times more slowly, and few epochs may leave the model far from the fit. Pass "
                "standardize=True (the model still comes back in the units of X)."
            ),
            stacklevel=5,  # _warn_of_scales < auto_lr < phases.build_learner < fit < the caller
        )


def _outputs(y: np.ndarray | Source) -> int:
    """Return the number of outputs ``k`` of ``y``: its columns, 1 for a 1-D ``y``."""
    return 1 if len(y.shape) == 1 else int(y.shape[1])


def _check_finite(*arrays: np.ndarray) -> None:
    if not all(np.isfinite(array).all() for array in arrays):
        raise ValueError(
            "lr='auto' cannot choose a rate: the rows of the data it sampled hold NaN or infinity. "
            "Pass check_input=True (the default) to find the first bad row."
        )


def _sgd_lr(
    sampled: np.ndarray,
    config: FitConfig,
    n_rows: int,
    rows: np.ndarray,
    sample_weight: np.ndarray | None,
    n_outputs: int,
) -> float:
    """``(1 - momentum) / (max over the sample's batches of L_B)``, ``L_B`` the step's curvature on batch ``B``."""
    size = len(sampled)
    weights = np.ones(size) if sample_weight is None else sample_weight[rows].astype(np.float64)
    if sample_weight is not None and not weights.any():  # no sampled row weighs: all count as the heaviest
        weights = np.full(size, float(np.max(sample_weight)))
    batch_sizes = {config.batch_size}
    last = n_rows % config.batch_size
    if config.reduction == "mean" and last:  # the short last batch: its mean step is the largest
        batch_sizes.add(last)
    worst = 0.0
    for batch_size in sorted(batch_sizes):
        used = min(batch_size, size)  # a batch larger than the sample: the sample stands for it
        cut = np.arange(-(-size // used) * used) % size  # every row in a batch: the last one filled from the first
        batches = sampled[cut].reshape(-1, used, sampled.shape[1])
        mean_hessian = largest_eigenvalues(batches, weights[cut].reshape(-1, used)).max()
        worst = max(worst, mean_hessian * (batch_size if config.reduction == "sum" else 1))
    curvature = _curvature(config.loss, config.rho) / n_outputs * worst + config.l2_strength
    return (1.0 - config.momentum) / curvature


def _adam_lr(sampled: np.ndarray, y: np.ndarray, weight: np.ndarray, bias: float | np.ndarray) -> float:
    """``ADAM_FRACTION * RMS(initial residual) / mean ||x~||_1`` over the sample (``x~``: a 1 added with a bias)."""
    targets = np.asarray(y, dtype=np.float64).reshape(len(sampled), -1)
    _check_finite(sampled, targets)
    n_features = np.shape(weight)[0]
    coefficients = np.asarray(weight, np.float64).reshape(n_features, -1)
    if sampled.shape[1] > n_features:  # the bias's column of ones
        coefficients = np.vstack([coefficients, np.reshape(bias, (1, -1))])
    predictions = np.einsum("np,pk->nk", sampled, coefficients)  # einsum: no BLAS threads, the same bits every run
    residual = float(np.sqrt(np.mean(np.square(predictions - targets))))
    return ADAM_FRACTION * (residual if residual > 0 else 1.0) / float(np.abs(sampled).sum(axis=1).mean())


def _checked(rate: float, config: FitConfig) -> float:
    """Return ``rate`` if float32 holds it and the schedule never rises above it; else raise ``ValueError``."""
    if not _TINY32 <= rate <= float(np.finfo(np.float32).max):
        raise ValueError(
            f"lr='auto' chose {rate:.3g}, which float32 cannot hold as a learning rate: the data's scale nears "
            "float32's limits (squares of values around 1e19 and beyond). Pass standardize=True, or scale the data."
        )
    schedule = config.lr_schedule
    if isinstance(schedule, Cosine) and schedule.final_lr > rate:
        raise ValueError(
            f"lr='auto' chose {rate:.3g}, below the schedule's final_lr={schedule.final_lr:g}, which the cosine "
            "would climb to, beyond a stable step. Pass a smaller final_lr, or an explicit lr."
        )
    if isinstance(schedule, StepDecay) and rate < schedule.STOP_FACTOR_LR and config.epochs > schedule.step_epochs:
        raise ValueError(
            f"lr='auto' chose {rate:.3g}, below the step schedule's floor of {schedule.STOP_FACTOR_LR:g} (MXNet's "
            "FactorScheduler decays no lower), to which it would rise at its first decay, beyond a stable step. "
            "Pass standardize=True (or scale X), or another lr_schedule."
        )
    return float(rate)
