"""Checks of user input, run once at the public entry points before any state changes."""

from __future__ import annotations

import contextlib
import math
import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from gluonlr._mxnet import nd
from gluonlr.conventions import REDUCTIONS
from gluonlr.data.sources import Source, SparseSource, chunks, is_source, is_sparse
from gluonlr.errors import DataConversionWarning


def check_choice(name: str, value: Any, choices: Sequence[str], where: str = "fit") -> str:
    """Return ``value`` if it is one of ``choices``, else raise ``ValueError``."""
    if not isinstance(value, str) or value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"The {name!r} parameter of {where} must be one of {options}. Got {value!r} instead.")
    return value


def check_int(name: str, value: Any, low: int, where: str = "fit") -> int:
    """Return ``value`` as an int if it is an integer >= ``low`` (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"The {name!r} parameter of {where} must be an int >= {low}. Got {value!r} instead.")
    return int(value)


def check_positive_int(name: str, value: Any, where: str = "fit") -> int:
    """Return ``value`` as an int if it is an integer >= 1 (bools rejected)."""
    return check_int(name, value, 1, where)


def check_seed(value: Any, where: str = "fit") -> int:
    """Return ``value`` as an int if it is an integer >= 0 (bools rejected)."""
    return check_int("seed", value, 0, where)


_FLOAT32 = np.finfo(np.float32)


def _as_real(value: Any) -> float:
    """Return ``value`` as a float if it is a real number (bools excepted), else NaN."""
    number = math.nan
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        with contextlib.suppress(OverflowError):  # e.g. 10**400
            number = float(value)
    return number


def check_float32_range(name: str, number: float, where: str = "fit", zero: bool = True) -> float:
    """Return ``number`` if MXNet's operators can take it as a float32: 0 (if ``zero``), or a normal magnitude."""
    if number != 0 and not float(_FLOAT32.tiny) <= abs(number) <= float(_FLOAT32.max):
        allowed = "0 or between" if zero else "between"
        raise ValueError(
            f"The {name!r} parameter of {where} must be {allowed} {float(_FLOAT32.tiny):.3g} and "
            f"{float(_FLOAT32.max):.3g} in magnitude: MXNet's operators take it as a float32. Got {number!r} instead."
        )
    return number


def check_positive_float(name: str, value: Any, where: str = "fit") -> float:
    """Return ``value`` as a float if it is a finite real number > 0 that float32 can hold."""
    number = _as_real(value)
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"The {name!r} parameter of {where} must be a finite float > 0. Got {value!r} instead.")
    return check_float32_range(name, number, where, zero=False)


def _frame_as_float(value: Any) -> np.ndarray | None:
    """Return a pandas DataFrame or Series of numbers as float64, a missing value (``pd.NA``) as NaN; else None.

    ``np.asarray`` gives dtype object for a frame with nullable columns (``Int64``,
    ``Float64``, ``boolean``) or with bool and number columns side by side; scikit-learn
    reads those as numbers, and so does gluonlr. Anything whose columns are not all of a
    numeric or boolean dtype (strings, categories, objects), or that is no pandas-like
    object with ``dtypes`` and ``to_numpy``, gets None. pandas is never imported here,
    and ``to_numpy`` returns a new array: the caller's frame is not touched.
    """
    dtypes = getattr(value, "dtypes", None)
    if dtypes is None or not hasattr(value, "to_numpy"):
        return None
    if not hasattr(dtypes, "__iter__"):  # a Series has one dtype, a DataFrame one per column
        dtypes = [dtypes]
    if not all(getattr(dtype, "kind", "O") in ("b", "i", "u", "f") for dtype in dtypes):
        return None
    try:
        return np.asarray(value.to_numpy(dtype=np.float64, na_value=np.nan))
    except (TypeError, ValueError):  # a pandas-like object whose to_numpy differs
        return None


def _as_float_array(name: str, value: Any, where: str, dtype: Any = np.float32) -> np.ndarray | Source:
    """Return ``value`` as a ``dtype`` numpy array, or as a :class:`~gluonlr.data.Source` if it is one (not read)."""
    if is_source(value):
        return _as_source(name, value, where, dtype)
    try:
        array = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} passed to {where} could not be read as an array: {exc}") from exc
    if array.dtype == object:
        frame = _frame_as_float(value)
        array = array if frame is None else frame
    _check_kind(name, array.dtype, where)
    # No copy when the caller's array is already contiguous in ``dtype``: gluonlr only
    # ever reads it, so the caller's data is never touched. Values beyond ``dtype``
    # become inf, which check_finite reports.
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(array, dtype=dtype, order="C")


def _check_kind(name: str, dtype: Any, where: str) -> None:
    if np.dtype(dtype).kind not in "biuf":
        raise TypeError(
            f"{name} passed to {where} must hold real numbers; got dtype {dtype}. "
            f"Convert it first, e.g. {name}.astype(np.float32)."
        )


def _as_source(name: str, value: Any, where: str, out_dtype: Any = np.float32) -> Source:
    """Check an array-like's shape and dtype, not its values: fit reads it row by row, as ``out_dtype``."""
    kind = type(value).__name__
    if is_sparse(value) or isinstance(value, SparseSource):
        return _as_sparse(name, value, where, out_dtype)
    try:
        shape = tuple(int(size) for size in value.shape)
        dtype = np.dtype(value.dtype)
    except Exception as exc:  # a duck-typed array-like can fail in any way
        raise TypeError(
            f"{name} passed to {where} is a {kind} whose shape and dtype could not be read ({exc}); "
            "pass a numpy array, a memmap, or an array-like with a tuple shape, a numpy dtype and row indexing."
        ) from exc
    _check_kind(name, dtype, where)
    if len(shape) == 0:
        raise ValueError(f"{name} passed to {where} must be an array of rows; got a {kind} of shape ().")
    return Source(value, name, where, out_dtype=out_dtype)


def _as_sparse(name: str, value: Any, where: str, out_dtype: Any = np.float32) -> SparseSource:
    """Return a ``scipy.sparse`` ``X`` as a :class:`~gluonlr.data.SparseSource` (CSR, ``out_dtype``); refuse others."""
    if name != "X":
        raise TypeError(
            f"{name} passed to {where} is a sparse {type(value).__name__}; only X may be sparse. "
            f"Pass a dense array: {name}.toarray().ravel() for one column."
        )
    _check_kind(name, value.dtype, where)
    if len(value.shape) != 2:
        raise ValueError(f"X passed to {where} must be 2-D (n_samples, n_features); got shape {value.shape}.")
    if isinstance(value, SparseSource):  # e.g. a LibSVMSource: its rows read as they are
        return value.renamed(name, where, out_dtype)
    return SparseSource(value, name, where, out_dtype=out_dtype)


def check_data(
    entries: Sequence[tuple[str | None, Any, int, str]], *, finite: bool, digest: Any = None, stats: Any = None
) -> None:
    """Run :func:`check_finite` over each ``(name, array, first_row, where)`` (if ``finite``), feeding ``digest``.

    ``stats`` (a :class:`~gluonlr.scaling.FeatureStats`) is fed the chunks of
    the first entry, the training ``X``, on the way; with neither ``finite``
    nor ``digest``, that entry is the only one read.
    """
    for index, (name, array, first_row, where) in enumerate(entries):
        if not finite and digest is None and (stats is None or index > 0):
            break
        observe = stats if index == 0 else None
        check_finite(name if finite else None, array, where, first_row=first_row, digest=digest, stats=observe)


def check_finite(
    name: str | None,
    array: np.ndarray | Source,
    where: str = "fit",
    *,
    first_row: int = 0,
    digest: Any = None,
    stats: Any = None,
) -> None:
    """Raise ``ValueError`` naming the first row of ``array`` with NaN or infinity; one pass, in chunks.

    ``first_row`` is the row of the caller's array where ``array`` starts (a
    validation split). ``digest``, a ``hashlib`` object, is fed the float32
    bytes of every chunk on the way: a checkpoint's fingerprint and the check
    in the same pass (``digest`` alone, with ``name=None``, skips the check).
    ``stats``, an object with an ``add(rows)`` method, is fed each checked
    chunk too (:class:`~gluonlr.scaling.FeatureStats`, for ``standardize=True``).
    """
    for start, (chunk,) in chunks(array):
        assert chunk is not None
        if digest is not None:
            parts = (chunk.indptr - chunk.indptr[0], chunk.indices, chunk.data) if is_sparse(chunk) else (chunk,)
            for part in parts:
                digest.update(np.ascontiguousarray(part).data)
        if name is not None:
            bad = first_nonfinite_row(chunk)
            if bad is not None:
                row, dtype = first_row + start + bad, np.dtype(chunk.dtype)
                raise ValueError(
                    f"{name} passed to {where} contains NaN or infinity (after conversion to {dtype}), first in row "
                    f"{row}. Remove or impute those values first, or scale them into {dtype}'s range "
                    f"({float(np.finfo(dtype).max):.1e})".replace("e+", "e")
                    + "."
                )
        if stats is not None:
            stats.add(chunk)


def first_nonfinite_row(chunk: Any) -> int | None:
    """Return the number of ``chunk``'s first row that holds NaN or infinity, or None if every value is finite.

    ``chunk`` is an ndarray, or a CSR matrix of a sparse ``X``.

    A row's sum, computed for all rows at once as a product by a vector of
    ones (BLAS, twice as fast as testing every value), is NaN or infinite
    whenever the row holds NaN or infinity; it may also overflow on a row of
    large finite values, so only the rows whose sum is not finite are tested
    value by value.

    Examples
    --------
    >>> first_nonfinite_row(np.array([[1.0, 2.0], [3.0, np.inf], [np.nan, 0.0]], np.float32))
    1
    >>> first_nonfinite_row(np.array([[3e38, 3e38], [1.0, 2.0]], np.float32)) is None  # the first sum overflows
    True
    >>> first_nonfinite_row(np.array([1.0, np.nan]))
    1

    A CSR matrix's stored values are tested:

    >>> import scipy.sparse
    >>> first_nonfinite_row(scipy.sparse.csr_matrix(np.array([[0.0, 1.0], [0.0, 0.0], [np.inf, 0.0]])))
    2
    """
    if is_sparse(chunk):
        bad_values = np.flatnonzero(~np.isfinite(chunk.data))
        if not len(bad_values):
            return None
        return int(np.searchsorted(chunk.indptr, bad_values[0], side="right") - 1)
    rows = chunk.reshape(len(chunk), -1)
    with np.errstate(over="ignore", invalid="ignore"):
        sums = rows @ np.ones(rows.shape[1], rows.dtype) if rows.shape[1] > 1 else rows[:, 0]
    suspects = np.flatnonzero(~np.isfinite(sums))
    if not len(suspects):
        return None
    bad = ~np.isfinite(rows[suspects]).all(axis=1)
    return int(suspects[np.argmax(bad)]) if bad.any() else None


def feature_names(X: Any) -> tuple[str, ...] | None:
    """Return the column names of a data frame ``X`` if they are all strings, else None, as scikit-learn reads them.

    A data frame is any object with a ``columns`` attribute (a pandas or a polars
    ``DataFrame``), found by duck typing: pandas is never imported. Column names that
    are not strings, such as pandas' default ``0, 1, ...``, are no feature names.

    Raises
    ------
    TypeError
        If some column names are strings and others are not, as scikit-learn raises.

    Examples
    --------
    >>> class Frame:  # what a DataFrame offers here: its columns
    ...     columns = ["age", "bmi"]
    >>> feature_names(Frame()), feature_names(np.zeros((2, 2)))
    (('age', 'bmi'), None)
    """
    columns = getattr(X, "columns", None)
    if columns is None or isinstance(X, np.ndarray) or isinstance(columns, str) or callable(columns):
        return None
    names = list(columns)
    strings = [isinstance(name, str) for name in names]
    if names and all(strings):
        return tuple(str(name) for name in names)
    if any(strings):
        kinds = sorted({type(name).__name__ for name in names})
        raise TypeError(
            f"X has column names of types {kinds}: feature names are kept only when all are strings. "
            "Convert them all, e.g. X.columns = X.columns.astype(str), or none."
        )
    return None


def _listed(names: Sequence[str], most: int = 5) -> str:
    """``names`` as a Python list, the first ``most`` of them and a count of the rest."""
    shown = repr(list(names[:most]))
    return shown if len(names) <= most else f"{shown[:-1]}, ... ({len(names) - most} more)]"


def check_feature_names(X: Any, fitted: Sequence[str] | None, where: str = "predict", stacklevel: int = 3) -> None:
    """Check the column names of ``X`` against ``fitted``, those of the data the model was fitted on, as scikit-learn.

    Names that differ, or the same names in another order, raise ``ValueError``: the
    columns would be multiplied by the wrong weights. A model fitted with names and
    given an array without them (or the other way round) gets a ``UserWarning``, as
    scikit-learn gives: the columns are then taken in order, which is right when the
    array holds the same columns (``X.to_numpy()``), a common and valid call.

    Examples
    --------
    >>> class Frame:
    ...     columns = ["bmi", "age"]
    >>> check_feature_names(Frame(), ("age", "bmi"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: X passed to predict has the columns ['bmi', 'age'], the model's ['age', 'bmi'] in another order. ...
    """
    names = feature_names(X)
    if names is None and fitted is None:
        return
    if names is None or fitted is None:
        what = (
            f"does not have valid feature names, but the model was fitted with feature names {_listed(fitted)}"
            if fitted is not None
            else f"has feature names {_listed(names or ())}, but the model was fitted without feature names"
        )
        warnings.warn(f"X passed to {where} {what}; its columns are taken in order.", UserWarning, stacklevel)
        return
    fitted = tuple(fitted)
    if names == fitted:
        return
    unseen = [name for name in names if name not in fitted]
    missing = [name for name in fitted if name not in names]
    if unseen or missing:
        differ = f"; unseen at fit time: {_listed(unseen)}" if unseen else ""
        differ += f"; seen at fit time, yet now missing: {_listed(missing)}" if missing else ""
        problem = f"other columns than the model's {_listed(fitted)}{differ}"
    else:
        problem = f"the model's {_listed(fitted)} in another order"
    select = f": X[{list(fitted)!r}]" if len(fitted) <= 5 else ""
    raise ValueError(
        f"X passed to {where} has the columns {_listed(names)}, {problem}. "
        f"Select the columns the model was fitted on, in that order{select}."
    )


def check_X(X: Any, where: str = "fit", n_features: int | None = None, dtype: Any = np.float32) -> np.ndarray | Source:
    """Return ``X`` as ``dtype`` of shape (n_samples, n_features), or a Source of that shape; values not checked.

    Its values are checked by :func:`check_finite`, in a separate pass.
    """
    array = _as_float_array("X", X, where, dtype)
    if array.ndim != 2:
        hint = " Reshape it with X.reshape(-1, 1) if it holds a single feature." if array.ndim == 1 else ""
        raise ValueError(f"X passed to {where} must be 2-D (n_samples, n_features); got shape {array.shape}.{hint}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"X passed to {where} must have at least one sample and one feature; got shape {array.shape}.")
    if n_features is not None and array.shape[1] != n_features:
        raise ValueError(
            f"X passed to {where} has {array.shape[1]} features, but the model was fitted with {n_features}."
        )
    return array


def check_y(
    y: Any, n_samples: int, where: str = "fit", stacklevel: int = 3, dtype: Any = np.float32
) -> np.ndarray | Source:
    """Return ``y`` as ``dtype`` of shape (n_samples,) or (n_samples, n_outputs >= 2), or a Source of that shape.

    A column ``(n, 1)`` is raveled with a :class:`~gluonlr.DataConversionWarning`.
    Its values are checked by :func:`check_finite`.
    """
    array = _as_float_array("y", y, where, dtype)
    if array.ndim == 2 and array.shape[1] == 1:
        warnings.warn(
            f"A column-vector y of shape {array.shape} was passed to {where} where a 1-D array was expected. "
            "It is used as y[:, 0]; pass y.ravel() to silence this warning.",
            DataConversionWarning,
            stacklevel=stacklevel,
        )
        array = array[:, 0] if isinstance(array, np.ndarray) else Source(y, "y", where, row_shape=(), out_dtype=dtype)
    if array.ndim not in (1, 2) or (array.ndim == 2 and array.shape[1] == 0):
        raise ValueError(
            f"y passed to {where} must be 1-D (n_samples,), or 2-D (n_samples, n_outputs) for several outputs; "
            f"got shape {array.shape}."
        )
    if array.shape[0] != n_samples:
        raise ValueError(
            f"X and y passed to {where} must have the same number of samples; "
            f"got len(X)={n_samples} and len(y)={array.shape[0]}."
        )
    return array


def check_sample_weight(
    sample_weight: Any, n_samples: int, where: str = "fit", dtype: Any = np.float32
) -> np.ndarray | None:
    """Return ``sample_weight`` as ``dtype`` of shape (n_samples,): finite, >= 0, not all 0; None stays None."""
    if sample_weight is None:
        return None
    if is_source(sample_weight):  # one float per sample: loaded, even from a memmap
        sample_weight = np.asarray(sample_weight)
    array = _as_float_array("sample_weight", sample_weight, where, dtype)
    if array.shape != (n_samples,):
        raise ValueError(
            f"sample_weight passed to {where} must have shape ({n_samples},), one weight per sample; "
            f"got shape {array.shape}."
        )
    assert isinstance(array, np.ndarray)
    check_finite("sample_weight", array, where)
    if (array < 0).any() or not array.any():
        raise ValueError(f"sample_weight passed to {where} must be >= 0 and not all zero.")
    return array


def check_float(
    name: str,
    value: Any,
    *,
    low: float,
    high: float = math.inf,
    low_open: bool = False,
    high_closed: bool = False,
    where: str = "fit",
) -> float:
    """Return ``value`` as a float if it is a real number in ``[low, high)`` (``(low, high)`` if ``low_open``).

    ``high_closed``: ``[low, high]``. It must also be one that float32 can hold (see :func:`check_float32_range`).
    """
    number = _as_real(value)
    above = number > low if low_open else number >= low
    if high_closed:
        below = bool(number <= high)
    else:  # MXNet takes it as a float32: 0.99999999 is 1.0 there, so the bound holds in float32 too
        below = bool(number < high and (math.isinf(high) or np.float32(number) < high))
    if not (above and below):
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{']' if high_closed else ')'}"
        in_float32 = "" if math.isinf(high) or high_closed else " (also as a float32)"
        raise ValueError(
            f"The {name!r} parameter of {where} must be a float in {interval}{in_float32}. Got {value!r} instead."
        )
    return check_float32_range(name, number, where, zero=not low_open and low <= 0)


def check_batches(batch_size: Any, features: Any, labels: Any, where: str = "data_iter") -> None:
    """Check the arguments of a ``data_iter``: an int ``batch_size`` >= 1 and NDArrays with as many rows.

    ``nd.take`` silently clips row numbers past the end, so labels shorter than
    the features would pair rows with the wrong targets: refused here instead.
    """
    check_positive_int("batch_size", batch_size, where)
    for name, array in (("features", features), ("labels", labels)):
        if not isinstance(array, nd.NDArray):
            raise TypeError(
                f"{name} passed to {where} must be an MXNet NDArray, as the article's X and y are; "
                f"got {type(array).__name__}. Convert it first: nd.array({name})."
            )
    if features.ndim != 2 or len(labels) != len(features):
        raise ValueError(
            f"features passed to {where} must be 2-D (n_samples, n_features) and labels must have as many rows; "
            f"got shapes {features.shape} and {labels.shape}."
        )


def check_loop(lr: Any, epochs: Any, seed: Any, reduction: Any, where: str) -> None:
    """Check the options of a by-hand training loop as :func:`gluonlr.fit` checks its own."""
    check_positive_float("lr", lr, where)
    check_positive_int("epochs", epochs, where)
    check_seed(seed, where)
    check_choice("reduction", reduction, REDUCTIONS, where)
