"""fit's data phase: the user's ``X`` and ``y``, from input to the training source, the split and one pass.

:func:`prepare_data` owns the data on its way through :func:`gluonlr.fit`: the
shapes and dtypes checked (:func:`~gluonlr._validation.check_X`), arrays in
memory or :class:`~gluonlr.data.Source` s of rows on disk, the validation rows
split off (:func:`~gluonlr.data.split.split_validation`), and then **one** pass
over every value that checks it for NaN and infinity, hashes it for a
checkpoint's fingerprint and feeds the training rows' statistics for
``standardize``, whichever of the three the fit needs. The phases after it
receive a :class:`TrainingData` and read no more of the user's arguments.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from gluonlr._validation import check_data, check_sample_weight, check_X, check_y, feature_names
from gluonlr.data.sources import Source
from gluonlr.data.split import split_validation
from gluonlr.persistence import data_fingerprint
from gluonlr.scaling import FeatureStats

__all__ = ["TrainingData", "prepare_data"]


@dataclass(frozen=True)
class TrainingData:
    """The data of one fit, checked: what the phases after the data phase train and validate on.

    Attributes
    ----------
    X, y : ndarray or Source
        The training rows (float32 in memory, or a source read batch by batch).
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
    fingerprint : dict or None
        Shape and SHA-256 of the data, when a checkpoint is written or resumed.

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
    fingerprint: bool = False,
) -> TrainingData:
    """Check ``X`` and ``y``, split off the validation rows and make the one pass over the data.

    ``check_input`` checks every value for NaN and infinity, ``fingerprint``
    hashes the data for a checkpoint, ``standardize`` gathers the training
    rows' statistics: all in the same pass, in chunks, whatever the data's
    size; with none of the three, nothing is read.

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
    X = check_X(X)
    y = check_y(y, n_samples=X.shape[0], stacklevel=4)
    sample_weight = check_sample_weight(sample_weight, X.shape[0])
    split = split_validation(X, y, sample_weight, validation_split, validation_data, names=names, stacklevel=5)
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
    return TrainingData(
        X=split.X,
        y=split.y,
        sample_weight=split.sample_weight,
        validation=split.validation,
        names=names,
        more=more,
        stats=stats,
        fingerprint=data_fingerprint(split.X, split.y, *more, digest=digest) if digest is not None else None,
    )
