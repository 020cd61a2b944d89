"""Reading a data file: a CSV file's columns by name, or a ``.npy`` file as a memmap, checked cell by cell.

This is what ``gluonlr fit``, ``predict`` and ``evaluate`` read their ``DATA`` with (:func:`read_data`).

**CSV** files are read by pandas' ``read_csv``, with its pyarrow engine when pyarrow is installed (a
parser in C++ that uses every core) and its C engine otherwise. Why pandas rather than numpy's C
``loadtxt``: the first line names the columns, and ``--target`` and ``--features`` select them by name,
which pandas does as it reads (``usecols``); and where a file is bad, pandas' result says which cell:
a column of text is read as text, not refused at the first bad value, and its row index, mapped to the
file's line by the standard library's ``csv`` reader, gives the line. ``loadtxt``'s messages count rows
from 0 among the non-blank lines after the header, its ragged rows from 1, so neither is a line of the
file. pandas is an optional dependency of gluonlr (``pip install "gluonlr[csv]"``); ``.npy`` files need
only numpy.

Every cell of the columns used must be a finite number; the first that is not stops the read with a
one-line ``ValueError`` that names the file, its line (the header is line 1) and the column. So do a
missing column, ragged rows, an empty file and a header without rows. A CSV file is read into memory
(float64, then float32): for data larger than memory, save it as ``.npy``.

**.npy** files are opened as read-only memmaps (``np.load(path, mmap_mode="r")``): :func:`gluonlr.fit`
reads the rows of each batch from the file, never the whole of it (see :doc:`/data`). The file holds the
features only, one row per sample; the targets come from their own file (``--target-file y.npy``, 1-D,
or 2-D for several outputs). A ``.npy`` file has no column names: the model keeps none. Its values are
checked for NaN and infinity in one pass of bounded memory, and an error names the row (from 0, as numpy
indexes it) and the column.

**LibSVM** files (``.svm``, ``.libsvm``, ``.svmlight``), one sample a line as ``TARGET INDEX:VALUE ...``,
are read by :func:`gluonlr.data.libsvm.read_libsvm` into a ``scipy.sparse.csr_matrix``, block by block:
memory grows with the non-zeros, not with the rows times the columns. Their indices start at 1 unless
``zero_based``; a bad line is named with its number and what is wrong with it.
"""

from __future__ import annotations

import codecs
import csv
import math
import mmap
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gluonlr._files import REGULAR, file_kind
from gluonlr._validation import first_nonfinite_row
from gluonlr.data.libsvm import LIBSVM_SUFFIXES, is_libsvm, read_libsvm
from gluonlr.data.libsvm_source import LibSVMSource
from gluonlr.data.sources import chunks

__all__ = ["DataFile", "csv_engine", "read_data"]

#: The longest CSV field read (the standard library's csv stops at 131,072 characters).
_FIELD_LIMIT = 2**31 - 1
#: A hexadecimal number, which pyarrow reads and the other readers refuse.
_HEXADECIMAL = re.compile(r"\s*[+-]?0[xX]")


@dataclass(frozen=True)
class DataFile:
    """What :func:`read_data` read: the features, the targets and the names of the columns.

    Attributes
    ----------
    path : str
        The file read.
    X : ndarray, scipy.sparse.csr_matrix or LibSVMSource of shape (n_samples, n_features)
        float32 from a CSV file; a read-only memmap of the file's dtype from a ``.npy`` file; a CSR matrix
        from a LibSVM file (a :class:`~gluonlr.data.libsvm_source.LibSVMSource` with ``stream=True``).
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs), or None
        The targets, if a target was asked for.
    feature_names : tuple of str or None
        The names of the columns of ``X`` (a CSV file), or None (a ``.npy`` or LibSVM file).
    target : str or None
        The name of the target column of a CSV file, or the target file of a ``.npy`` file (None for a
        LibSVM file, whose lines start with their targets).

    Examples
    --------
    >>> data = DataFile("data.csv", np.ones((2, 1), np.float32), None, ("x",), None)
    >>> data.X.shape, data.feature_names
    ((2, 1), ('x',))
    """

    path: str
    X: Any  # np.ndarray, or a scipy.sparse.csr_matrix (scipy is optional: not named here)
    y: np.ndarray | None
    feature_names: tuple[str, ...] | None
    target: str | None


def csv_engine() -> str:
    """Return the engine of pandas' ``read_csv`` that :func:`read_data` uses: ``"pyarrow"`` if installed, else ``"c"``.

    Examples
    --------
    >>> csv_engine() in ("pyarrow", "c")
    True
    """
    try:
        import pyarrow  # noqa: F401
    except ImportError:  # not installed, or a build for another numpy
        return "c"
    return "pyarrow"


def read_data(
    path: str | os.PathLike[str],
    *,
    target: str | None = None,
    features: Sequence[str] | None = None,
    target_file: str | os.PathLike[str] | None = None,
    dtype: str = "float32",
    zero_based: bool = False,
    n_features: int | None = None,
    n_features_from: str = "--n-features",
    stream: bool = False,
) -> DataFile:
    r"""Read the features (and targets) of a CSV, ``.npy`` or LibSVM file, every value checked.

    Parameters
    ----------
    path : str or os.PathLike
        A CSV file whose first line names the columns, a ``.npy`` file of features (its name ends in
        ``.npy``) of shape (n_samples, n_features), or a LibSVM file (its name ends in ``.svm``,
        ``.libsvm`` or ``.svmlight``) of targets and features.
    target : str, optional
        The column of a CSV file that holds the targets.
    features : sequence of str, optional
        The columns of a CSV file that hold the features, in this order; by default all but ``target``.
        Other columns are not read.
    target_file : str or os.PathLike, optional
        The ``.npy`` file of the targets of a ``.npy`` file of features.
    dtype : {"float32", "float64", "auto"}, default="float32"
        The dtype the fit computes in, which every value must fit: a CSV
        file's values are read as float64 with ``"float64"``, else as float32;
        a ``.npy`` file is mapped as it is and checked against float32 unless
        the dtype is ``"float64"``, or ``"auto"`` and the file holds float64
        (which ``fit(dtype="auto")`` keeps). A LibSVM file's values are
        read as float64 with ``"float64"``, else as float32.
    zero_based, n_features, n_features_from
        For a LibSVM file only: see :func:`gluonlr.data.libsvm.read_libsvm`.
    stream : bool, default=False
        For a LibSVM file only: read it as a :class:`~gluonlr.data.libsvm_source.LibSVMSource` (its rows
        read from the file by byte ranges when used, never held whole) rather than into a CSR matrix; the
        lines are checked the same way, and a fit on either is the same.

    Returns
    -------
    DataFile

    Raises
    ------
    ValueError
        If the file is empty, has a header but no rows, lacks a column asked for, has ragged rows, or a cell
        of a column used is not a finite number; the message names the file, the line and the column. Also
        for a ``.npy`` file that is no 2-D array of numbers, and for ``target`` with a ``.npy`` file (or
        ``target_file`` with a CSV file). For a bad line of a LibSVM file, naming the file, the line and what
        is wrong (see :func:`~gluonlr.data.libsvm.read_libsvm`), and for ``target``, ``features`` or
        ``target_file`` with a LibSVM file, ``zero_based`` or ``n_features`` with another.
    FileNotFoundError, IsADirectoryError
        If there is no file at ``path`` (or ``target_file``), or a directory.
    ImportError
        For a CSV file, if pandas is not installed; for a LibSVM file, if scipy is not.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "data.csv"
    >>> _ = path.write_text("x1,x2,y\n1,2,3\n4,5,6\n")
    >>> data = read_data(path, target="y")
    >>> data.X.tolist(), data.y.tolist(), data.feature_names
    ([[1.0, 2.0], [4.0, 5.0]], [3.0, 6.0], ('x1', 'x2'))
    >>> _ = path.write_text("x1,x2,y\n1,2,3\n4,5,6\n7,x,9\n")
    >>> read_data(path, target="y")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ...data.csv, line 4, column 'x2': 'x' is not a number. ...
    """
    text = _existing(path)
    if is_libsvm(text):
        refused = {"--target": target, "--features": features, "--target-file": target_file}
        given = [flag for flag, value in refused.items() if value is not None]
        if given:
            raise ValueError(
                f"{text} is a LibSVM file: each line starts with its target, then its features as INDEX:VALUE "
                f"pairs; there is no column to select ({given[0]})."
            )
        if stream:
            source = LibSVMSource(
                text,
                zero_based=zero_based,
                n_features=n_features,
                n_features_from=n_features_from,
                dtype=np.float64 if dtype == "float64" else np.float32,
            )
            return DataFile(text, source, source.y, None, None)
        matrix, targets = read_libsvm(
            text,
            zero_based=zero_based,
            n_features=n_features,
            n_features_from=n_features_from,
            dtype=np.float64 if dtype == "float64" else np.float32,
        )
        return DataFile(text, matrix, targets, None, None)
    if zero_based or n_features is not None:
        raise ValueError(
            f"{'--zero-based' if zero_based else '--n-features'} is for LibSVM files (a name ending in "
            f"{', '.join(LIBSVM_SUFFIXES)}); {text} is not one."
        )
    if text.endswith(".npy"):
        if target is not None or features is not None:
            raise ValueError(
                f"{text} is a .npy file: its columns have no names, so there is no column to select by name "
                f"({'--target' if target is not None else '--features'}). It holds the features; give the "
                "targets as a .npy file of their own (--target-file y.npy)."
            )
        X = _read_npy(text, "features", dtype)
        y = None
        if target_file is not None:
            y_path = _existing(target_file)
            y = _read_npy(y_path, "targets", dtype)
            if len(y) != len(X):
                raise ValueError(f"{y_path} holds {len(y)} targets, but {text} holds {len(X)} rows: one per sample.")
        return DataFile(text, X, y, None, None if target_file is None else os.fspath(target_file))
    if target_file is not None:
        raise ValueError(
            f"--target-file gives the targets of a .npy file of features; {text} is a CSV file: "
            "name its target column with --target."
        )
    return _read_csv(text, target, features, np.float64 if dtype == "float64" else np.float32)


def _existing(path: str | os.PathLike[str]) -> str:
    """Return ``path`` as a str if it names a regular file; raise naming it otherwise."""
    text = os.fspath(path)
    kind = file_kind(text)
    if kind is None:
        raise FileNotFoundError(f"{text} does not exist.")
    if kind != REGULAR:
        error = IsADirectoryError if os.path.isdir(text) else ValueError
        raise error(f"{text} is {kind}, not a data file.")
    return text


# -- .npy ------------------------------------------------------------------------------------------------------


def _read_npy(path: str, what: str, dtype: str = "float32") -> np.ndarray:
    """Open ``path`` as a read-only memmap of ``what`` (features: 2-D; targets: 1-D or 2-D) and check its values."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(f"{path} is not a .npy file of numbers that numpy can read ({reason}).") from None
    if not isinstance(array, np.ndarray):  # an .npz archive
        raise ValueError(f"{path} is a .npz archive, not a .npy file: save each array with numpy.save.")
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{path} holds values of dtype {array.dtype}, not numbers.")
    if what == "features" and array.ndim != 2:
        hint = " (a single feature? save X.reshape(-1, 1))" if array.ndim == 1 else ""
        raise ValueError(
            f"{path} holds an array of shape {array.shape}; the features must be 2-D, one row per sample{hint}."
        )
    if what == "targets" and array.ndim not in (1, 2):
        raise ValueError(f"{path} holds an array of shape {array.shape}; the targets must be 1-D, or 2-D.")
    if len(array) == 0 or 0 in array.shape:
        raise ValueError(f"{path} holds no data: an array of shape {array.shape}.")
    if what == "targets" and array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]  # one output, as fit takes it
    wide = dtype == "float64" or (dtype == "auto" and array.dtype == np.float64)  # the fit computes in float64
    computes = np.dtype(np.float64 if wide else np.float32)
    if array.dtype.kind == "f":
        for start, (chunk,) in chunks(array):
            with np.errstate(over="ignore"):  # float64 (or longdouble) beyond float32's range: infinite in fit
                as_float32 = chunk.astype(computes, copy=False)
            row = first_nonfinite_row(as_float32)
            if row is not None:
                position = (row,) if chunk.ndim == 1 else (row, int(np.argmin(np.isfinite(as_float32[row]))))
                where = f", column {position[1]}" if len(position) == 2 else ""
                value = chunk[position]
                problem = (
                    "is beyond the range of float32 (±3.4e38), in which gluonlr computes. Scale the values first."
                    if np.isfinite(value)
                    else "is not a finite number. Remove or impute the NaN and infinite values first."
                )
                raise ValueError(f"{path}, row {start + position[0]}{where}: {value} {problem}")
    return array


# -- CSV -------------------------------------------------------------------------------------------------------


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise ImportError(
            "Reading a CSV file needs pandas, which is not installed: pip install 'gluonlr[csv]' "
            "(or save the data with numpy.save and give the .npy file)."
        ) from None
    return pandas


def _rows(path: str) -> Any:
    """Yield ``(line, fields)`` for each non-blank row of the CSV file, by the standard library's ``csv`` reader.

    ``line`` is the file's line where the row ends (the header is line 1 unless blank lines come first).
    pandas skips blank lines too, so the ``i``-th row after the header here is pandas' row ``i``.
    """
    limit = csv.field_size_limit(_FIELD_LIMIT)  # a cell of 200,000 digits is a bad cell, not a csv.Error
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            reader = csv.reader(file)
            try:
                for fields in reader:
                    if fields:
                        yield reader.line_num, fields
            except csv.Error as error:
                raise ValueError(f"{path}, line {reader.line_num}: {error}.") from None
            except UnicodeDecodeError:
                _raise_not_utf8(path)
    finally:
        csv.field_size_limit(limit)


def _header(path: str) -> list[str]:
    for _, fields in _rows(path):
        return fields
    raise ValueError(f"{path} is empty: a CSV file needs a first line naming the columns, then one line per sample.")


def _columns(path: str, names: list[str], target: str | None, features: Sequence[str] | None) -> list[str]:
    """Return the feature columns, checked against the header ``names``."""
    first: dict[str, int] = {}  # each name's first column: one pass, linear in the number of columns
    for index, name in enumerate(names):
        if name in first:
            raise ValueError(
                f"{path}, line 1: the column name {name!r} appears twice (columns {first[name] + 1} and "
                f"{index + 1}); the columns must have names of their own."
            )
        first[name] = index
    shown = ", ".join(map(repr, names[:20])) + (", ..." if len(names) > 20 else "")
    if target is not None and target not in first:
        raise ValueError(f"{path} has no column {target!r} (--target); its columns are {shown}.")
    if features is None:
        features = [name for name in names if name != target]
        unnamed = [index + 1 for index, name in enumerate(names) if not name]
        if unnamed:
            raise ValueError(
                f"{path}, line 1: column {unnamed[0]} has no name (an index that pandas' to_csv wrote? Write "
                "with index=False), so it cannot be a feature: name it, or select the features with --features."
            )
    else:
        features = list(features)
        seen: set[str] = set()
        for name in features:
            if name not in first:
                raise ValueError(f"{path} has no column {name!r} (--features); its columns are {shown}.")
            if name == target:
                raise ValueError(f"The column {name!r} of {path} is the target; it cannot be a feature too.")
            if name in seen:
                raise ValueError(f"--features names the column {name!r} of {path} twice.")
            seen.add(name)
    if not features:
        raise ValueError(f"{path} has no column of features: its only column is the target {target!r}.")
    return features


def _read_csv(path: str, target: str | None, features: Sequence[str] | None, dtype: Any = np.float32) -> DataFile:
    pd = _pandas()
    names = _header(path)
    features = _columns(path, names, target, features)
    used = [*features, *([target] if target is not None else [])]
    try:
        engine = csv_engine()
        # The C engine reads a row with more fields than the header without a word when given usecols, so
        # it reads every column; pyarrow refuses such a row either way, and reads only the columns used.
        selected = {"usecols": used} if engine == "pyarrow" else {"index_col": False}
        frame = pd.read_csv(path, engine=engine, **selected)
    except pd.errors.ParserError as error:
        _raise_ragged(path, names)
        raise ValueError(f"{path}: {str(error).strip().splitlines()[0]}") from None
    except UnicodeDecodeError:
        _raise_not_utf8(path)
    if len(frame) == 0:
        raise ValueError(f"{path} has a header (line 1) but no rows of data.")
    if engine == "c" and frame.iloc[:, -1].isna().any():  # the C engine fills a short row's last cells with NaN
        _raise_ragged(path, names)
    try:
        values = {name: _numbers(pd, frame[name]) for name in used}
    except UnicodeDecodeError:  # pyarrow reads a column that is not UTF-8 as bytes, decoded here
        _raise_not_utf8(path)
    bad = {}
    for name, numbers in values.items():
        with np.errstate(over="ignore"):  # 1e39 is finite in float64, infinite in the float32 fit computes in
            finite = np.isfinite(numbers.astype(dtype))
        if not finite.all():
            bad[name] = int(np.argmin(finite))
    if engine == "pyarrow":  # pyarrow reads 0x10 as 16; numpy, the C engine and scikit-learn's readers refuse it
        for name, row in _hexadecimal_cells(path, names, used).items():
            bad[name] = min(row, bad.get(name, row))
    if bad:
        row = min(bad.values())
        name = next(name for name in names if bad.get(name) == row)  # the first in the file's order
        _raise_bad_cell(path, names, row, name)
    X = np.empty((len(frame), len(features)), dtype=dtype)
    for column, name in enumerate(features):
        X[:, column] = values[name]
    y = None if target is None else values[target].astype(dtype)
    return DataFile(path, X, y, tuple(features), target)


def _numbers(pd: Any, column: Any) -> np.ndarray:
    """Return a column as float64: text that is no number becomes NaN (which the caller reports)."""
    if column.dtype.kind not in "biuf":
        column = pd.to_numeric(column, errors="coerce")
    return np.asarray(column.to_numpy(dtype=np.float64, na_value=np.nan))


def _raise_ragged(path: str, names: list[str]) -> None:
    """Raise naming the first row whose number of fields is not the header's, if there is one."""
    rows = _rows(path)
    next(rows)  # the header
    for line, fields in rows:
        if len(fields) != len(names):
            raise ValueError(
                f"{path}, line {line}: {len(fields)} fields, but the header (line 1) names {len(names)} columns. "
                "Every row needs one field per column."
            )


def _raise_bad_cell(path: str, names: list[str], row: int, name: str) -> None:
    """Raise naming the line and the cell of data row ``row``, column ``name``, that is not a finite number."""
    rows = _rows(path)
    next(rows)
    for index, (line, fields) in enumerate(rows):
        if index < row:
            continue
        if len(fields) != len(names):
            _raise_ragged(path, names)
        cell = fields[names.index(name)].strip()
        raise ValueError(f"{path}, line {line}, column {name!r}: {_problem(cell)}.")
    raise ValueError(f"{path}, row {row + 1} of data, column {name!r}: not a finite number.")


def _problem(cell: str) -> str:
    """Say what is wrong with a cell that is not a finite float32 number; a long cell is shortened.

    Examples
    --------
    >>> _problem("1e39")
    "'1e39' is beyond the range of float32 (±3.4e38), in which gluonlr computes. Scale the column first"
    >>> _problem("9" * 200_000)
    "'99999999999999999999...99999999' (200000 characters) is not a finite number. Every cell of the columns used \
must be a finite number"
    """
    shown = repr(cell) if len(cell) <= 40 else f"{cell[:20] + '...' + cell[-8:]!r} ({len(cell)} characters)"
    if not cell:
        return "the cell is empty. Fill in or remove the rows with missing values"
    if _HEXADECIMAL.match(cell):
        return f"{shown} is a hexadecimal number. Write the numbers in decimal, as numpy and pandas' readers read them"
    try:
        number = float(cell)
    except ValueError:
        number = None
    if number is not None and math.isfinite(number):
        return f"{shown} is beyond the range of float32 (±3.4e38), in which gluonlr computes. Scale the column first"
    kind = "a finite number" if number is not None else "a number"
    return f"{shown} is not {kind}. Every cell of the columns used must be a finite number"


def _hexadecimal_cells(path: str, names: list[str], used: list[str]) -> dict[str, int]:
    """Return the first data row (from 0) of each column of ``used`` that holds a hexadecimal number like ``0x10``.

    A regular expression on the raw file first (C speed): the rows are read only if ``0x`` occurs at all.
    """
    with open(path, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as raw:
        if re.search(rb"0[xX]", raw) is None:
            return {}
    columns = {name: names.index(name) for name in used}
    found: dict[str, int] = {}
    rows = _rows(path)
    next(rows)
    for row, (_, fields) in enumerate(rows):
        for name, column in columns.items():
            if name not in found and column < len(fields) and _HEXADECIMAL.match(fields[column]):
                found[name] = row
    return found


def _raise_not_utf8(path: str) -> None:
    """Raise naming the line, the column and the byte where the file stops being UTF-8."""
    header: list[str] = []
    with open(path, "rb") as file:
        for line, raw in enumerate(file, 1):
            try:
                text = raw.removeprefix(codecs.BOM_UTF8 if line == 1 else b"").decode("utf-8")
            except UnicodeDecodeError as error:
                before = raw[: error.start].decode("utf-8", errors="replace")
                byte = raw[error.start]
                break
            if not header:
                header = next(csv.reader([text]), [])
        else:  # pragma: no cover - the decoder failed, so some line does
            line, before, byte = 0, "", 0
    if not header:
        raise ValueError(
            f"{path} is not a text file in UTF-8: is it a CSV file? (line {line}: the byte {byte:#04x} at character "
            f"{len(before) + 1})"
        )
    field = len(next(csv.reader([before]), [""])) - 1  # the fields before the byte
    column = f"column {header[field]!r}" if 0 <= field < len(header) else f"field {field + 1}"
    raise ValueError(
        f"{path}, line {line}, {column}: the byte {byte:#04x} (character {len(before) + 1} of the line) is not "
        "UTF-8. Save the file in UTF-8 (from Latin-1: iconv -f latin1 -t utf-8)."
    )
