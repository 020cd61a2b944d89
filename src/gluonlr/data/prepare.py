"""fit's data phase: the user's ``X`` and ``y``, from input to the training source, the split and one pass.

:func:`prepare_data` owns the data on its way through :func:`gluonlr.fit`: the
shapes and dtypes checked, arrays in
memory or :class:`~gluonlr.data.Source` s of rows on disk, the validation rows
split off (:func:`~gluonlr.data.split.split_validation`), and then **one** pass
over every value that checks it for NaN and infinity, hashes it for a
checkpoint's fingerprint and feeds the training rows' statistics for
``standardize``, whichever of the three the fit needs. The phases after it
receive a :class:`TrainingData` and read no more of the user's arguments.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from gluonlr._validation import check_data, check_sample_weight, check_X, check_y, feature_names
from gluonlr.data.sources import Source, is_sparse
from gluonlr.data.split import split_validation
from gluonlr.persistence import data_fingerprint
from gluonlr.scaling import FeatureStats

__all__ = ["TargetScale", "TrainingData", "input_dtype", "prepare_data", "resolve_dtype"]


def input_dtype(value: Any) -> np.dtype[Any]:
    """Return the dtype ``value`` holds its numbers in, as numpy reads it, without converting it.

    An array, a memmap or an array-like source: its ``dtype``; a data frame:
    float64 if one of its columns is (else float32, the dtype of its other
    numbers here); anything else (lists, scalars) as ``np.asarray`` reads it.

    Examples
    --------
    >>> input_dtype(np.zeros(2)), input_dtype([1, 2]), input_dtype([[0.5]])
    (dtype('float64'), dtype('int64'), dtype('float64'))
    """
    dtype = getattr(value, "dtype", None)
    if dtype is not None:
        with contextlib.suppress(TypeError):
            return np.dtype(dtype)
    dtypes = getattr(value, "dtypes", None)
    if dtypes is not None and hasattr(value, "to_numpy"):  # a data frame: its columns' dtypes (pandas not imported)
        kinds = list(dtypes) if hasattr(dtypes, "__iter__") else [dtypes]
        wide = any(getattr(kind, "kind", "") == "f" and getattr(kind, "itemsize", 0) >= 8 for kind in kinds)
        return np.dtype(np.float64 if wide else np.float32)
    try:
        return np.asarray(value).dtype
    except Exception:  # ragged lists and the like: check_X says what is wrong with them
        return np.dtype(np.float32)


def resolve_dtype(dtype: str, X: Any, y: Any) -> str:
    """Return the dtype a fit computes in: ``dtype`` itself, or for ``"auto"`` the input's.

    ``"auto"`` is ``"float64"`` when ``X`` or ``y`` holds float64 (or wider)
    floats (:func:`input_dtype`) and ``"float32"`` for any other input:
    float32 data, integers, booleans, and a sparse ``X`` of any dtype (MXNet
    1.9.1's ``nd.sparse.dot`` has no float64 ``row_sparse`` gradient).

    Examples
    --------
    >>> resolve_dtype("auto", np.zeros((2, 1)), np.zeros(2, np.float32))
    'float64'
    >>> resolve_dtype("auto", np.zeros((2, 1), np.float32), [0, 1]), resolve_dtype("float32", np.zeros((2, 1)), [0, 1])
    ('float32', 'float32')
    """
    if dtype != "auto":
        return dtype
    if is_sparse(X):  # MXNet 1.9.1's sparse dot has no float64 row_sparse gradient: a sparse X trains in float32
        return "float32"
    wide = any((kind := input_dtype(value)).kind == "f" and kind.itemsize >= 8 for value in (X, y))
    return "float64" if wide else "float32"


@dataclass(frozen=True)
class TargetScale:
    r"""The mean and standard deviation of each output of the training rows' ``y``: ``fit(standardize_target=True)``.

    Training sees :math:`y' = (y - \mu) / \sigma` (a constant output's
    :math:`\sigma` is 1, as ``StandardScaler``'s); a model of it,
    :math:`\hat y' = x w' + b'`, is :math:`\hat y = x (\sigma w') + (\sigma b' + \mu)`
    in the target's units.

    Examples
    --------
    >>> scale = TargetScale.of(np.array([1.0, 3.0]))
    >>> scale.transform(np.array([1.0, 3.0])).tolist()
    [-1.0, 1.0]
    >>> scale.to_raw(np.array([2.0]), 0.5)  # sigma = 1, mu = 2
    (array([2.], dtype=float32), 2.5)
    >>> scale.from_raw(np.array([2.0]), 2.5)
    (array([2.], dtype=float32), 0.5)
    >>> TargetScale.of(np.array([1.0, 3.0]), "float64").to_raw(np.array([2.0]), 0.5)
    (array([2.]), 2.5)
    """

    mean: np.ndarray  # float64, one per output
    scale: np.ndarray
    dtype: str = "float32"  # the model's: of the standardized y and the parameters

    @classmethod
    def of(cls, y: np.ndarray, dtype: str = "float32", centre: bool = True) -> TargetScale:
        """Return the scale of ``y`` (1-D, or one column per output), in float64, for a model in ``dtype``.

        ``centre=False`` (``fit(fit_intercept=False)``): the mean is taken as 0, ``y`` only divided by its
        standard deviation, as ``StandardScaler(with_mean=False)``; a model without bias stays without one.

        Examples
        --------
        >>> TargetScale.of(np.array([1.0, 3.0]), centre=False).transform(np.array([1.0, 3.0])).tolist()
        [1.0, 3.0]
        """
        values = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        scale = values.std(axis=0)
        mean = values.mean(axis=0) if centre else np.zeros(values.shape[1])
        return cls(mean, np.where(scale > 0, scale, 1.0), dtype)

    def transform(self, y: np.ndarray) -> np.ndarray:
        """Return ``y`` standardized, in the model's dtype, of ``y``'s shape."""
        values = np.asarray(y, dtype=np.float64)
        mean, scale = (self.mean[0], self.scale[0]) if values.ndim == 1 else (self.mean, self.scale)
        return ((values - mean) / scale).astype(self.dtype)

    def to_raw(self, weight: np.ndarray, bias: float | np.ndarray) -> tuple[np.ndarray, float | np.ndarray]:
        """Return the model of the standardized target in the target's units."""
        return self._map(weight, bias, lambda w, b, m, s: (w * s, b * s + m))

    def from_raw(self, weight: np.ndarray, bias: float | np.ndarray) -> tuple[np.ndarray, float | np.ndarray]:
        """Return a model in the target's units as a model of the standardized target."""
        return self._map(weight, bias, lambda w, b, m, s: (w / s, (b - m) / s))

    def _map(self, weight: np.ndarray, bias: float | np.ndarray, how: Any) -> tuple[np.ndarray, float | np.ndarray]:
        w, b = how(np.asarray(weight, np.float64), np.asarray(bias, np.float64), self.mean, self.scale)
        if np.ndim(weight) == 1:  # one output: a float bias
            return w.astype(self.dtype), float(np.asarray(b, self.dtype).reshape(-1)[0])
        return w.astype(self.dtype), np.asarray(b, self.dtype)


@dataclass(frozen=True)
class TrainingData:
    """The data of one fit, checked: what the phases after the data phase train and validate on.

    Attributes
    ----------
    X, y : ndarray or Source
        The training rows (in ``dtype`` in memory, or a source read batch by batch as ``dtype``).
    sample_weight : ndarray or None
        Their weights.
    validation : tuple (X_val, y_val) or None
        The validation rows, split off or given.
    names : tuple of str or None
        A data frame's column names, which the model keeps.
    more : tuple of arrays
        Sample weights and validation data, if any: the rest of what a
        checkpoint's fingerprint covers.
    stats : FeatureStats or None
        The training rows' mean and variance, with ``standardize=True``.
    target : TargetScale or None
        With ``standardize_target=True``: the scale of the training rows'
        ``y``; ``y`` and the validation ``y`` are then standardized (in memory).
    fingerprint : dict or None
        Shape and SHA-256 of the data, when a checkpoint is written or resumed.
    dtype : str
        The model's dtype, ``"float32"`` or ``"float64"``: of ``X``, ``y`` and
        the sample weights as the learner reads them.

    Examples
    --------
    >>> data = prepare_data(np.ones((4, 2)), np.ones((4, 3)), fingerprint=True)
    >>> data.n_outputs, data.fingerprint["n_samples"], data.validation
    (3, 4, None)
    """

    X: np.ndarray | Source
    y: np.ndarray | Source
    sample_weight: np.ndarray | None
    validation: tuple[Any, Any] | None
    names: tuple[str, ...] | None
    more: tuple[Any, ...]
    stats: FeatureStats | None
    fingerprint: dict[str, Any] | None
    target: TargetScale | None = None
    dtype: str = "float32"

    @property
    def n_outputs(self) -> int | None:
        """The number of outputs of a 2-D ``y``, or None for a 1-D one."""
        return None if self.y.ndim == 1 else self.y.shape[1]


def prepare_data(
    X: Any,
    y: Any,
    *,
    sample_weight: Any = None,
    validation_split: float = 0.0,
    validation_data: Any = None,
    check_input: bool = True,
    standardize: bool = False,
    standardize_target: bool = False,
    fingerprint: bool = False,
    dtype: str = "float32",
    centre: bool = True,
) -> TrainingData:
    """Check ``X`` and ``y``, split off the validation rows and make the one pass over the data.

    ``check_input`` checks every value for NaN and infinity, ``fingerprint``
    hashes the data for a checkpoint, ``standardize`` gathers the training
    rows' statistics: all in the same pass, in chunks, whatever the data's
    size; with none of the three, nothing is read. ``standardize_target``
    reads the training ``y`` whole, after the pass, and standardizes it and
    the validation ``y`` by its mean and standard deviation. The data is
    converted to ``dtype`` (``"float32"`` or ``"float64"``, resolved by
    :func:`resolve_dtype`), and the check for NaN and infinity is made in it:
    float64 data beyond float32's range is refused only when ``dtype`` is
    float32. ``centre=False`` (``fit_intercept=False``) divides ``y`` by its
    standard deviation without subtracting its mean.

    Examples
    --------
    >>> from gluonlr import synthetic_data
    >>> data = prepare_data(*synthetic_data(), validation_split=0.2, standardize=True)
    >>> data.X.shape, data.validation[0].shape, data.stats.n, data.fingerprint
    ((240, 2), (60, 2), 240, None)
    >>> prepare_data([[1.0], [np.nan]], [1.0, 2.0])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: X passed to fit contains NaN or infinity (after conversion to float32), first in row 1. ...
    """
    names = feature_names(X)  # a data frame's column names: the model keeps them
    X = check_X(X, dtype=dtype)
    y = check_y(y, n_samples=X.shape[0], stacklevel=4, dtype=dtype)
    sample_weight = check_sample_weight(sample_weight, X.shape[0], dtype=dtype)
    split = split_validation(
        X, y, sample_weight, validation_split, validation_data, names=names, stacklevel=5, dtype=dtype
    )
    if split.sample_weight is not None and not split.sample_weight.any():
        raise ValueError(
            "sample_weight passed to fit is 0 for every sample left to train on after validation_split; "
            "give some of them a weight > 0."
        )
    more = tuple(array for array in (split.sample_weight, *(split.validation or ())) if array is not None)
    digest = hashlib.sha256() if fingerprint else None
    stats = FeatureStats(X.shape[1]) if standardize else None  # fed the training rows of X, in the same pass
    if check_input or digest is not None or stats is not None:
        check_data(split.entries(), finite=check_input, digest=digest, stats=stats)
    data = TrainingData(
        X=split.X,
        y=split.y,
        sample_weight=split.sample_weight,
        validation=split.validation,
        names=names,
        more=more,
        stats=stats,
        fingerprint=data_fingerprint(split.X, split.y, *more, digest=digest) if digest is not None else None,
        dtype=dtype,
    )
    return _standardized_target(data, centre) if standardize_target else data


def _standardized_target(data: TrainingData, centre: bool = True) -> TrainingData:
    """Return ``data`` with its ``y`` (and the validation ``y``) standardized by the training ``y``'s scale."""
    y = data.y.read(0, len(data.y)) if isinstance(data.y, Source) else data.y
    target = TargetScale.of(y, data.dtype, centre)
    validation = data.validation
    if validation is not None:
        y_val = validation[1].read(0, len(validation[1])) if isinstance(validation[1], Source) else validation[1]
        validation = (validation[0], target.transform(y_val))
    return replace(data, y=target.transform(y), validation=validation, target=target)
