"""The data :func:`gluonlr.fit` trains and validates on: a Keras-style validation split, without reading the data."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from gluonlr._validation import check_feature_names, check_float, check_X, check_y, feature_names
from gluonlr.data.sources import Source

__all__ = ["Split", "split_validation"]


class Split(NamedTuple):
    """The data to train on and to validate on, and where each part starts in what the user passed.

    Examples
    --------
    >>> X, y = np.arange(8.0).reshape(4, 2), np.arange(4.0)
    >>> split = split_validation(X, y, None, 0.25, None)
    >>> split.X.shape, split.validation[0].tolist(), split.split_at
    ((3, 2), [[6.0, 7.0]], 3)
    >>> [(name, len(array), first) for name, array, first, _ in split.entries()]
    [('X', 3, 0), ('y', 3, 0), ('X', 1, 3), ('y', 1, 3)]
    """

    X: np.ndarray | Source
    y: np.ndarray | Source
    sample_weight: np.ndarray | None
    validation: tuple[Any, Any] | None
    split_at: int | None  # the first validation row of X, for validation_split

    def entries(self) -> list[tuple[str | None, Any, int, str]]:
        """``(name, array, first row, where)`` of each part, in the order of the checkpoint's fingerprint."""
        parts: list[tuple[str | None, Any, int, str]] = [("X", self.X, 0, "fit"), ("y", self.y, 0, "fit")]
        if self.sample_weight is not None:
            parts.append((None, self.sample_weight, 0, "fit"))  # checked as it was read: hashed only
        if self.validation is not None:
            first, where = (self.split_at, "fit") if self.split_at is not None else (0, "fit (validation_data)")
            parts += [("X", self.validation[0], first, where), ("y", self.validation[1], first, where)]
        return parts


def _rows(array: Any, start: int, stop: int) -> Any:
    """Rows ``[start, stop)`` of an array or a source, without reading them."""
    return array.slice(start, stop) if isinstance(array, Source) else array[start:stop]


def split_validation(
    X: np.ndarray | Source,
    y: np.ndarray | Source,
    sample_weight: np.ndarray | None,
    validation_split: Any,
    validation_data: Any,
    names: tuple[str, ...] | None = None,
    stacklevel: int = 4,
    dtype: Any = np.float32,
) -> Split:
    """Return the data to train on and ``(X_val, y_val)`` or None, as Keras splits; nothing is read.

    ``validation_split`` holds out the last rows, before any shuffling;
    ``validation_data`` is checked as ``X`` and ``y`` are; if both it and ``X``
    are data frames (``names``: the column names of ``X``), their
    columns must be the same, in the same order. ``stacklevel`` points a
    warning about ``y_val`` at the caller's caller. Sources are sliced
    (:meth:`~gluonlr.data.Source.slice`), not read. ``validation_data`` is
    converted to ``dtype``, the model's.

    Examples
    --------
    >>> from gluonlr.data import Source
    >>> split = split_validation(Source(np.zeros((10, 2))), np.arange(10.0), None, 0.2, None)
    >>> split.X, split.validation[0]
    (Source(ndarray X, rows 0:8, dtype float64), Source(ndarray X, rows 8:10, dtype float64))
    """
    split = check_float("validation_split", validation_split, low=0.0, high=1.0)
    if validation_data is not None:
        if split:
            raise ValueError("Pass validation_split or validation_data to fit, not both.")
        if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
            raise TypeError(
                f"The 'validation_data' parameter of fit must be a tuple (X_val, y_val). Got {type(validation_data)}."
            )
        if names is not None and feature_names(validation_data[0]) is not None:
            check_feature_names(validation_data[0], names, "fit (validation_data)")
        X_val = check_X(validation_data[0], where="fit (validation_data)", n_features=X.shape[1], dtype=dtype)
        y_val = check_y(
            validation_data[1],
            n_samples=X_val.shape[0],
            where="fit (validation_data)",
            stacklevel=stacklevel,
            dtype=dtype,
        )
        if y_val.shape[1:] != y.shape[1:]:
            raise ValueError(
                f"y of validation_data has shape {y_val.shape}, but y has {y.shape}: the outputs must match."
            )
        return Split(X, y, sample_weight, (X_val, y_val), None)
    if not split:
        return Split(X, y, sample_weight, None, None)
    split_at = int(len(X) * (1.0 - split))
    if split_at < 1 or split_at == len(X):
        raise ValueError(
            f"validation_split={split} of {len(X)} samples leaves {split_at} to train on and {len(X) - split_at} "
            "to validate; both need at least one."
        )
    weights = sample_weight[:split_at] if sample_weight is not None else None
    validation = (_rows(X, split_at, len(X)), _rows(y, split_at, len(y)))
    return Split(_rows(X, 0, split_at), _rows(y, 0, split_at), weights, validation, split_at)
