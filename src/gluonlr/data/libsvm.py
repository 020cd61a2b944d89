"""Reading a LibSVM (svmlight) file into a CSR matrix, block by block, every line checked.

A LibSVM file holds one sample a line: its target, then its non-zero features as ``index:value`` pairs
with increasing indices::

    2.5 1:0.5 7:1.25 1000:3
    -1 2:1  # a comment runs to the end of the line

:func:`read_libsvm` reads it as ``sklearn.datasets.load_svmlight_file`` does, into the ``data``,
``indices`` and ``indptr`` arrays of a ``scipy.sparse.csr_matrix`` (memory grows with the non-zeros,
never with the rows times the columns), and refuses what that function refuses, or lets through
unchecked, with a message naming the file, the line and what is wrong.

The file is read in blocks of :data:`BLOCK_BYTES` (whole lines), never whole: each block's tokens are
converted at once (C-level ``map(int, ...)``, ``map(float, ...)`` and numpy's checks), and only a block
that holds a bad line is read again, line by line, to name it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, NoReturn

import numpy as np

__all__ = ["BLOCK_BYTES", "LIBSVM_SUFFIXES", "MAX_INDEX", "is_libsvm", "read_libsvm"]

#: The file names that are read as LibSVM files.
LIBSVM_SUFFIXES = (".svm", ".libsvm", ".svmlight")
#: The bytes of the file parsed at a time (whole lines): a block's tokens take about ten times that.
BLOCK_BYTES = 4 << 20
#: What a line of a LibSVM file looks like, for the messages.
_FORM = "Each line is 'TARGET INDEX:VALUE INDEX:VALUE ...'"
_INT32_MAX = int(np.iinfo(np.int32).max)
#: The largest index read (scikit-learn's reader stops there too).
MAX_INDEX = _INT32_MAX


def is_libsvm(path: str | os.PathLike[str]) -> bool:
    """Return whether ``path`` names a LibSVM file: its name ends in ``.svm``, ``.libsvm`` or ``.svmlight``.

    Examples
    --------
    >>> is_libsvm("train.svm"), is_libsvm("a9a.LIBSVM"), is_libsvm("data.csv")
    (True, True, False)
    """
    return os.fspath(path).lower().endswith(LIBSVM_SUFFIXES)


@dataclass(frozen=True)
class _Rules:
    """What a line must be: its indices from 0 (or 1) up to ``largest``, its values finite in ``dtype``."""

    zero_based: bool
    largest: int
    largest_from: str
    dtype: np.dtype

    def index_problem(self, index: int) -> str | None:
        """Say what is wrong with an index as the file writes it, or None."""
        if index < 0:
            return f"index {index} is negative"
        if index == 0 and not self.zero_based:
            return (
                "index 0, but the indices start at 1 (libsvm's convention). If the file's indices start at 0, "
                "pass --zero-based (zero_based=True)"
            )
        if index > self.largest:
            if self.largest == MAX_INDEX:
                return f"index {index} is too large: at most {MAX_INDEX}"
            n_features, first = (self.largest + 1, 0) if self.zero_based else (self.largest, 1)
            return (
                f"index {index} is beyond the {n_features} features of {self.largest_from} (indices {first} to "
                f"{self.largest})"
            )
        return None


@dataclass
class _Parts:
    """The arrays read so far: each block's, concatenated at the end."""

    data: list[np.ndarray] = field(default_factory=list)
    indices: list[np.ndarray] = field(default_factory=list)
    counts: list[np.ndarray] = field(default_factory=list)
    targets: list[np.ndarray] = field(default_factory=list)
    largest: int = -1  # the largest index, as the file writes it


def read_libsvm(
    path: str | os.PathLike[str],
    *,
    zero_based: bool = False,
    n_features: int | None = None,
    n_features_from: str = "--n-features",
    dtype: Any = np.float32,
) -> tuple[Any, np.ndarray]:
    r"""Read a LibSVM (svmlight) file into a CSR matrix ``X`` and its targets ``y``, every line checked.

    The result is ``sklearn.datasets.load_svmlight_file``'s with ``zero_based=zero_based`` and the same
    ``n_features``, its values converted to ``dtype``: a fit on it is the fit on that function's result.
    Blank lines and comments (from ``#`` to the end of the line) are skipped, and a ``qid:N`` after the
    target (svmlight's query id) is ignored, as that function ignores them by default. Values of 0 written
    in the file are kept, as stored zeros.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    zero_based : bool, default=False
        Whether the indices start at 0; by default they start at 1, as libsvm's do, and index 1 is column
        0. There is no guessing (``load_svmlight_file``'s ``"auto"``): a file of test data in which
        index 0 happens not to occur would be read shifted by one column from its training data.
    n_features : int, optional
        The number of columns of ``X``; by default the largest index read (plus one, if zero-based).
    n_features_from : str, default="--n-features"
        What sets ``n_features``, for the message of an index beyond it (e.g. ``"the model m.params"``).
    dtype : numpy dtype, default=float32
        The dtype of ``X``'s values and ``y``: each value is read as a Python float (float64), then
        rounded to ``dtype`` once, as ``load_svmlight_file(dtype=...)`` does.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)

    Raises
    ------
    ValueError
        For a bad line, naming the file and the line: a target or a value that is not a number, or not a
        finite one in ``dtype``; a pair that is not ``INDEX:VALUE``; an index that is not an integer, is
        negative (or 0, unless ``zero_based``), does not increase along the line, or is beyond
        ``n_features``. For a file without any line of data, and for an ``n_features`` that is not an int
        >= 1.
    ImportError
        If scipy is not installed.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "data.svm"
    >>> _ = path.write_text("3 1:1 3:2\n-1 2:0.5  # a comment\n")
    >>> X, y = read_libsvm(path)
    >>> X.toarray().tolist(), y.tolist()
    ([[1.0, 0.0, 2.0], [0.0, 0.5, 0.0]], [3.0, -1.0])
    >>> _ = path.write_text("3 1:1 3:2\n-1 3:0.5 2:1\n")
    >>> read_libsvm(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ...data.svm, line 2: index 2 follows index 3: the indices of a line must increase ...
    """
    try:
        import scipy.sparse
    except ImportError:
        raise ImportError(
            "Reading a LibSVM file needs scipy, which is not installed: pip install scipy (gluonlr trains on "
            "its CSR matrix)."
        ) from None
    text = os.fspath(path)
    rules = _make_rules(zero_based, n_features, n_features_from, dtype, "read_libsvm")
    shift = 0 if zero_based else 1
    parts = _Parts()
    for first_line, block in _blocks(text):
        _read_block(text, block, first_line, rules, parts)
    if not parts.counts or sum(len(counts) for counts in parts.counts) == 0:
        raise ValueError(f"{text} holds no line of data. {_FORM}, one line per sample.")
    if n_features is None:
        n_features = max(parts.largest + 1 - shift, 1)  # a file of empty rows: one column, as load_svmlight_file's
    counts = np.concatenate(parts.counts)
    indptr = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    wide = max(n_features, int(indptr[-1])) > _INT32_MAX
    index_dtype = np.int64 if wide else np.int32
    indices = np.concatenate(parts.indices).astype(index_dtype, copy=False)
    if shift:
        indices -= 1
    X = scipy.sparse.csr_matrix(
        (np.concatenate(parts.data), indices, indptr.astype(index_dtype, copy=False)),
        shape=(len(counts), n_features),
        copy=False,
    )
    X.has_sorted_indices = True  # each line's indices increase: checked as they were read
    return X, np.concatenate(parts.targets).astype(rules.dtype)


def _make_rules(zero_based: bool, n_features: int | None, n_features_from: str, dtype: Any, where: str) -> _Rules:
    """Return the rules of the lines, once ``n_features`` is checked (an int in ``[1, MAX_INDEX + 1]`` or None)."""
    integer = isinstance(n_features, int | np.integer) and not isinstance(n_features, bool)
    if n_features is not None and not (integer and 1 <= n_features <= MAX_INDEX + 1):
        raise ValueError(
            f"The 'n_features' parameter of {where} must be an int in [1, {MAX_INDEX + 1}] or None. "
            f"Got {n_features!r} instead."
        )
    shift = 0 if zero_based else 1
    largest = MAX_INDEX if n_features is None else n_features - 1 + shift
    return _Rules(zero_based, largest, n_features_from, np.dtype(dtype))


def _blocks(path: str) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line, block)``: the file in blocks of whole lines, each with the number of its first line."""
    for _, line, block in _blocks_at(path):
        yield line, block


def _blocks_at(path: str) -> Iterator[tuple[int, int, bytes]]:
    """Yield ``(offset, line, block)``: :func:`_blocks`' blocks, each with its first byte's offset in the file."""
    line = 1
    offset = 0  # of the block being gathered (``rest`` starts there)
    rest = b""
    with open(path, "rb") as file:
        while True:
            chunk = file.read(BLOCK_BYTES)
            if not chunk:
                break
            end = chunk.rfind(b"\n")
            if end < 0:  # a line longer than a block: read on
                rest += chunk
                continue
            block, rest = rest + chunk[:end], chunk[end + 1 :]
            yield offset, line, block
            line += block.count(b"\n") + 1
            offset += len(block) + 1
    if rest:
        yield offset, line, rest


def _read_block(path: str, block: bytes, first_line: int, rules: _Rules, parts: _Parts) -> None:
    """Parse one block of lines into ``parts``; a block with a bad line is read again line by line, to name it."""
    converted = _parse_block(block, first_line, rules)
    if converted is None:
        _raise_bad_line(path, block, first_line, rules)
    y, indices, data, counts, _ = converted
    if len(indices) and indices.max() > parts.largest:
        parts.largest = int(indices.max())
    parts.data.append(data)
    parts.indices.append(indices.astype(np.int32))  # each at most MAX_INDEX
    parts.counts.append(counts)
    parts.targets.append(y)


def _parse_block(
    block: bytes, first_line: int, rules: _Rules
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[int]] | None:
    """Return the block's ``(y, indices, data, counts, lines)``, or None if a line of it is bad.

    ``y`` is float64, ``indices`` int64 (as the file writes them), ``data`` of ``rules.dtype``, ``counts`` the
    pairs of each line of data (int64) and ``lines`` the numbers of those lines (the first is ``first_line``).
    """
    targets: list[bytes] = []
    pairs: list[bytes] = []
    counts: list[int] = []
    lines: list[int] = []
    for number, line in enumerate(block.split(b"\n"), first_line):
        if b"#" in line:
            line = line[: line.index(b"#")]
        tokens = line.split()
        if not tokens:
            continue
        lines.append(number)
        targets.append(tokens[0])
        first = 2 if len(tokens) > 1 and tokens[1].startswith(b"qid:") else 1
        pairs += tokens[first:]
        counts.append(len(tokens) - first)
    try:
        y = np.array(list(map(float, targets)), dtype=np.float64)
        fields = b" ".join(pairs)
        # Each pair has a ':' and there are as many as pairs: one each. With text on each side of every ':'
        # (as many halves as twice the pairs), a pair's two halves are the next two fields.
        if fields.count(b":") != len(pairs) or min(map(bytes.count, pairs, repeat(b":")), default=1) != 1:
            return None
        halves = fields.replace(b":", b" ").split()
        if len(halves) != 2 * len(pairs):
            return None
        indices = np.array(list(map(int, halves[0::2])), dtype=np.int64)
        values = np.array(list(map(float, halves[1::2])), dtype=np.float64)
    except (ValueError, OverflowError):  # OverflowError: an index beyond int64
        return None
    starts = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    follows = np.ones(len(indices), dtype=bool)  # each index is larger than the one before it on its line
    follows[1:] = indices[1:] > indices[:-1]
    follows[starts[np.asarray(counts) > 0]] = True
    with np.errstate(over="ignore", invalid="ignore"):
        data = values.astype(rules.dtype)
        finite_y = np.isfinite(y.astype(rules.dtype)).all()
    low = 0 if rules.zero_based else 1
    in_range = len(indices) == 0 or (indices.min() >= low and indices.max() <= rules.largest)
    if not (follows.all() and in_range and np.isfinite(data).all() and finite_y and _qids_are_integers(block)):
        return None
    return y, indices, data, np.asarray(counts, dtype=np.int64), lines


def _qids_are_integers(block: bytes) -> bool:
    """Whether every ``qid:`` of the block is an integer (checked line by line only when the block has one)."""
    if b"qid:" not in block:
        return True
    return all(_qid_problem(line.split(b"#", 1)[0].split()) is None for line in block.split(b"\n"))


def _qid_problem(tokens: list[bytes]) -> str | None:
    """Say what is wrong with the query id of a line's tokens (svmlight's ``qid:N`` after the target), or None."""
    if len(tokens) > 1 and tokens[1].startswith(b"qid:"):
        try:
            int(tokens[1][4:])
        except ValueError:
            return f"the query id {_shown(tokens[1])} is not 'qid:INTEGER'"
    return None


def _shown(token: bytes) -> str:
    """Return a token's text for a message, shortened if long, e.g. ``'abc'``."""
    text = token.decode("utf-8", errors="replace")
    return repr(text) if len(text) <= 40 else f"{text[:20] + '...' + text[-8:]!r} ({len(text)} characters)"


def _number_problem(token: bytes, dtype: np.dtype) -> str | None:
    """Say what is wrong with a target or a value that should be a finite number in ``dtype``, or None."""
    try:
        number = float(token)
    except ValueError:
        return f"{_shown(token)} is not a number. {_FORM}"
    if not math.isfinite(number):
        return f"{_shown(token)} is not a finite number. Remove or impute the NaN and infinite values first"
    with np.errstate(over="ignore"):
        if not np.isfinite(np.asarray(number).astype(dtype)):
            limit = f"{float(np.finfo(dtype).max):.1e}".replace("e+", "e")
            return (
                f"{_shown(token)} is beyond the range of {dtype} (±{limit}), in which gluonlr computes. "
                "Scale the values first"
            )
    return None


def _raise_bad_line(path: str, block: bytes, first_line: int, rules: _Rules) -> NoReturn:
    """Raise naming the first bad line of ``block``, and where in it and what is wrong."""
    for number, line in enumerate(block.split(b"\n"), first_line):
        found = _line_problem(line.split(b"#", 1)[0].split(), rules)
        if found is not None:
            where, problem = found
            raise ValueError(f"{path}, line {number}{where}: {problem}.")
    raise AssertionError(f"{path}: a block from line {first_line} failed to parse, but no line of it is bad")


def _line_problem(tokens: list[bytes], rules: _Rules) -> tuple[str, str] | None:
    """Say where in a line (its tokens) and what is wrong: ``(", index 3", "'x' is not a number")``; or None."""
    if not tokens:
        return None
    if b":" in tokens[0]:
        return "", f"no target: the line starts with {_shown(tokens[0])}, a feature. {_FORM}"
    problem = _number_problem(tokens[0], rules.dtype)
    if problem is not None:
        return ", the target", problem
    problem = _qid_problem(tokens)
    if problem is not None:
        return "", problem
    previous = None
    for token in tokens[2 if tokens[1:2] and tokens[1].startswith(b"qid:") else 1 :]:
        index_text, colon, value_text = token.partition(b":")
        if not colon or not index_text or not value_text:
            return "", f"{_shown(token)} is not 'INDEX:VALUE'. {_FORM}"
        try:
            index = int(index_text)
        except ValueError:
            return "", f"the index {_shown(index_text)} of {_shown(token)} is not an integer"
        problem = rules.index_problem(index)
        if problem is not None:
            return "", problem
        if previous is not None and index <= previous:
            return "", (
                f"index {index} follows index {previous}: the indices of a line must increase (sorted, each "
                "at most once)"
            )
        problem = _number_problem(value_text, rules.dtype)
        if problem is not None:
            return f", index {index}", problem
        previous = index
    return None
