"""Saving models and checkpoints: atomic writes, formats either path can read.

A *model file* is exactly what Gluon's ``Dense(1).save_parameters`` writes:
an MXNet NDArray dict with ``"weight"`` of shape ``(1, n_features)`` and
``"bias"`` of shape ``(1,)``. :func:`gluonlr.save` writes one, :func:`gluonlr.load` reads one
(also one written by Gluon itself), and ``Dense(1).load_parameters`` reads
what :func:`gluonlr.save` writes.

A model fitted on a data frame keeps its column names
(``FitResult.feature_names``): :func:`gluonlr.save` writes them beside
the model file, in ``<model file>.features.json``, with the SHA-256 of the model file they belong to, and
:func:`gluonlr.load` reads them back only if that file is still the one they were saved with. The model
file stays exactly what Gluon reads.

A *checkpoint* is a model file plus, beside it, a ``.state`` file: a numpy
``.npz`` (no pickle) with the parameters again, the optimizer state, the number
of epochs done, the history and the arguments of the run, from which
:func:`gluonlr.fit` resumes. The ``.state`` file alone decides where a resumed
run continues; it is written before the model file.

Every file is written to a temporary file in the same directory, flushed to
disk and then moved over the old one with ``os.replace``, so a crash or
an error mid-write leaves the previous file intact. The same rules hold for
every path: a path ending in ``/`` names a directory (a checkpoint directory,
never a model file's name); a symbolic link's target is written and the link
kept; only a regular file is replaced, never a device, FIFO or socket, and
never a read-only file (see :func:`atomic_write`). Where a file cannot be
written, the error names the user's path, before anything changes;
:func:`gluonlr.fit` checks its checkpoint's files before training
(:func:`check_checkpoint`).
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import math
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gluonlr._files import (
    REGULAR,
    PathLike,
    as_path,
    atomic_write,
    atomic_write_all,
    check_writable,
    file_kind,
    names_directory,
)
from gluonlr._mxnet import mx, nd
from gluonlr._validation import check_data
from gluonlr.errors import CheckpointError
from gluonlr.result import FitResult

__all__ = [
    "CHECKPOINT_NAME",
    "FEATURES_SUFFIX",
    "atomic_write",
    "check_checkpoint",
    "checkpoint_files",
    "load",
    "read_checkpoint",
    "save",
    "write_checkpoint",
]

#: File name of the checkpoint when ``checkpoint=`` names a directory.
CHECKPOINT_NAME = "gluonlr.params"

#: What :func:`gluonlr.save` appends to the model file's name for the file of its feature names.
FEATURES_SUFFIX = ".features.json"

_FEATURES_FORMAT = "gluonlr.feature-names"
_FEATURES_FILE = "the feature names file of the model"
#: The largest feature names file read (a million names of 60 characters).
_FEATURES_MAX_BYTES = 64 << 20

_FORMAT = "gluonlr.checkpoint"
_VERSION = 1

_SAVE_PATH = "the path passed to save"
_CHECKPOINT_FILE = "checkpoint file"


def _model_dtype(weight: Any) -> Any:
    """Return a model's dtype from its weight's: float64 stays float64 (``fit(dtype="float64")``), any other float32."""
    return np.float64 if np.asarray(weight).dtype == np.float64 else np.float32


def _params_arrays(weight: np.ndarray, bias: np.ndarray) -> dict[str, nd.NDArray]:
    """Gluon's ``Dense`` parameters from ``weight`` ``(n_outputs, n_features)`` and ``bias`` ``(n_outputs,)``.

    In the model's dtype: float32, or float64 for a float64 model.
    """
    dtype = _model_dtype(weight)
    return {
        "weight": nd.array(np.asarray(weight, dtype), dtype=dtype),
        "bias": nd.array(np.asarray(bias, dtype), dtype=dtype),
    }


def _save_params(tmp: str, arrays: dict[str, nd.NDArray]) -> None:
    """``nd.save(tmp, arrays)``, then read the file back: ``nd.save`` does not report a failed write.

    MXNet 1.9.1's ``nd.save`` returns without an error when the disk is full
    (``nd.save("/dev/full", ...)`` succeeds); a truncated file renamed over a
    good model would lose it. Reading the few bytes back catches that before
    :func:`atomic_write` moves the file into place.
    """
    nd.save(tmp, arrays)
    try:
        written = nd.load(tmp)
    except mx.base.MXNetError as exc:
        raise OSError(
            errno.EIO, f"the parameters written did not read back ({_short(exc)}); is the disk full?"
        ) from None
    if not isinstance(written, dict) or any(
        name not in written or written[name].shape != array.shape for name, array in arrays.items()
    ):
        raise OSError(errno.EIO, "the parameters written did not read back whole; is the disk full?")


def _gluon_layout(weight: np.ndarray, bias: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return a model's ``(weight, bias)`` in Gluon's layout: ``(n_outputs, n_features)``, ``(n_outputs,)``."""
    dtype = _model_dtype(weight)
    weight = np.asarray(weight, dtype)
    return weight.reshape(len(weight), -1).T, np.asarray(bias, dtype).reshape(-1)


def save(result: FitResult, path: PathLike) -> None:
    """Save a fitted model's parameters in Gluon's ``save_parameters`` format.

    The file holds ``"weight"`` ``(n_outputs, n_features)`` and ``"bias"``
    ``(n_outputs,)``, so ``gluon.nn.Dense(n_outputs).load_parameters(path)``
    reads it too. The history and
    the fit arguments are not part of the model; use a checkpoint (see
    :func:`gluonlr.fit`) to continue training later. The write is atomic: an
    existing file at ``path`` is replaced only once the new one is complete.
    The arrays are in the model's dtype: a float64 model (``fit(dtype="float64")``)
    is saved in float64 and :func:`load` reads it as float64; a float32 one as before.

    Parameters
    ----------
    result : FitResult
        The model, as returned by :func:`gluonlr.fit` or :func:`load`.
    path : str or os.PathLike
        The file to write, in an existing directory: a new file or a regular,
        writable one. A symbolic link's target is written; a path ending in
        ``/`` names a directory and is refused.

    Raises
    ------
    TypeError
        If ``result`` is not a :class:`~gluonlr.FitResult`.
    FileNotFoundError
        If the directory of ``path`` does not exist.
    IsADirectoryError
        If ``path`` is a directory or ends in ``/``.
    PermissionError
        If ``path`` is read-only, or its directory is not writable.
    ValueError
        If ``path`` is a device, a FIFO or a socket: not a regular file; or
        if the model's feature names would take more than the 64 MiB that
        :func:`load` reads of a feature names file.
    FileExistsError
        If ``path + ".features.json"`` exists and is not a feature names file
        that gluonlr wrote; it is left alone, and nothing is written.

    Examples
    --------
    >>> import os, tempfile
    >>> from gluonlr import fit, load, save, synthetic_data
    >>> result = fit(*synthetic_data())
    >>> path = os.path.join(tempfile.mkdtemp(), "article.params")
    >>> save(result, path)
    >>> print(load(path).predict([[1.0, 1.0]]).round(1))
    [74.2]
    """
    writes, stale_names = save_writes(result, path)
    atomic_write_all(writes)
    if stale_names is not None:  # the names of a model this one replaced
        stale_names.unlink()


def save_writes(
    result: FitResult, path: PathLike
) -> tuple[list[tuple[PathLike, Callable[[str], None], str]], Path | None]:
    """Return what :func:`save` writes, for :func:`~gluonlr._files.atomic_write_all`, and a names file to remove.

    The model file, then its feature names file (if the model has names), each ``(path, write, what)``; the
    names file's SHA-256 is the model's as written. A caller may add files of its own (``gluonlr fit --plot``)
    so that all change together. The second item is the names file of the model this one replaces, when
    this one has no names: remove it once the model is written. Raises as :func:`save` before any write.
    """
    if not isinstance(result, FitResult):
        raise TypeError(f"save expects the FitResult that fit returned. Got {type(result).__name__} instead.")
    text = as_path(path, _SAVE_PATH)
    arrays = _params_arrays(*_gluon_layout(result.weight, result.bias))
    names_file = _features_file(text)
    ours = _read_features(names_file)  # None: no such file; a str: a file gluonlr did not write, left alone
    if isinstance(ours, str):
        raise FileExistsError(
            f"{str(names_file)!r} exists and is no feature names file of gluonlr ({ours}); save writes the model's "
            "feature names there. Move it away, or save the model under another name."
        )
    written: dict[str, str] = {}

    def write_model(tmp: str) -> None:
        _save_params(tmp, arrays)
        written["sha256"] = hashlib.sha256(Path(tmp).read_bytes()).hexdigest()

    writes: list[tuple[PathLike, Callable[[str], None], str]] = [(text, write_model, _SAVE_PATH)]
    if result.feature_names is None:
        return writes, None if ours is None else names_file
    names = list(result.feature_names)
    size = len(json.dumps(_features_content(names, "0" * 64)))  # ASCII (ensure_ascii): one byte a character
    if size > _FEATURES_MAX_BYTES:
        raise ValueError(
            f"The model's {len(names)} feature names take {size} bytes in {str(names_file)!r}, more than the "
            f"{_FEATURES_MAX_BYTES} that load reads. Give the columns shorter names, or save the model without "
            "names: save(dataclasses.replace(result, feature_names=None), path)."
        )

    def write_features(tmp: str) -> None:
        Path(tmp).write_text(json.dumps(_features_content(names, written["sha256"])))

    return [*writes, (names_file, write_features, _FEATURES_FILE)], None


def _features_content(names: list[str], model_sha256: str) -> dict[str, Any]:
    """Return what a feature names file holds: its format, the names and the SHA-256 of their model file."""
    return {"format": _FEATURES_FORMAT, "feature_names": names, "model_sha256": model_sha256}


def _features_file(model_file: PathLike) -> Path:
    """Return the file beside ``model_file`` that holds its feature names."""
    path = Path(model_file)
    return path.with_name(path.name + FEATURES_SUFFIX)


def _read_features(names_file: Path) -> dict[str, Any] | str | None:
    """Return the content of a feature names file; None if there is none, or why it is not one gluonlr wrote.

    At most :data:`_FEATURES_MAX_BYTES` are read: a larger file (a symbolic link to a huge file) is no file
    gluonlr wrote, and is not read whole.
    """
    kind = file_kind(names_file)
    if kind is None:
        return None
    if kind != REGULAR:
        return f"it is {kind}"
    try:
        with open(names_file, "rb") as file:
            raw = file.read(_FEATURES_MAX_BYTES + 1)
    except OSError as exc:
        return f"it cannot be read ({exc.strerror or exc})"
    if len(raw) > _FEATURES_MAX_BYTES:
        return f"it has more than {_FEATURES_MAX_BYTES} bytes, the most gluonlr reads of a feature names file"
    try:
        content = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return "it is not UTF-8 text"
    except ValueError as exc:
        return f"it is not valid JSON, perhaps truncated ({exc})"
    if not isinstance(content, dict) or content.get("format") != _FEATURES_FORMAT:
        return f'it is JSON but not gluonlr\'s: no "format": "{_FEATURES_FORMAT}"'
    return content


def _saved_feature_names(model_file: Path, n_features: int) -> tuple[str, ...] | None:
    """Return the feature names saved with ``model_file``; None if there is no feature names file.

    A names file that cannot be used (not one gluonlr wrote: corrupt, truncated, larger than
    :data:`_FEATURES_MAX_BYTES`, JSON of another format; or names saved with another model: a crash between
    the two renames of :func:`save`, a model file replaced since, an edit) is an error, never dropped in
    silence: without its names a data frame's columns would be matched by position.
    """
    names_file = _features_file(model_file)
    content = _read_features(names_file)
    remedy = (
        f"Save the model again with its names (gluonlr.save), or delete {str(names_file)!r} to use the model "
        "without names (its columns then taken by position)."
    )
    if content is None:
        return None
    if isinstance(content, str):
        raise CheckpointError(
            f"{str(names_file)!r} cannot be used as the feature names of the model {str(model_file)!r}: "
            f"{content}. {remedy}"
        )
    names = content.get("feature_names")
    if content.get("model_sha256") != hashlib.sha256(model_file.read_bytes()).hexdigest():
        raise CheckpointError(
            f"{str(names_file)!r} holds the feature names of another model: its model_sha256 is not the SHA-256 "
            f"of {str(model_file)!r} (a save interrupted between the two files, the model file replaced since, "
            f"or an edit). {remedy}"
        )
    if not isinstance(names, list) or len(names) != n_features or not all(isinstance(name, str) for name in names):
        count = f"{len(names)} names" if isinstance(names, list) else f"feature_names of type {type(names).__name__}"
        raise CheckpointError(
            f"{str(names_file)!r} holds {count}, but the model {str(model_file)!r} has {n_features} features, "
            f"one name (a str) each. {remedy}"
        )
    return tuple(names)


def _short(exc: BaseException) -> str:
    """Return the last line of an exception's message: MXNet's come after a C++ stack trace."""
    lines = str(exc).strip().splitlines()
    return lines[-1].removeprefix("MXNetError: ") if lines else type(exc).__name__


_LIST_MAGIC = 0x112  # MXNet's kMXAPINDArrayListMagic, the first 8 bytes of an NDArray file
_NDARRAY_MAGICS = (0xF993FAC9, 0xF993FACA)  # NDARRAY_V2_MAGIC, NDARRAY_V3_MAGIC (numpy shapes)
_ITEM_SIZES = {0: 4, 1: 8, 2: 2, 3: 1, 4: 4, 5: 1, 6: 8, 7: 1}  # MXNet's type flags: float32 ... bool
_MAX_DIMS = 32


def check_params_header(path: Path) -> None:
    """Raise unless the arrays that the header of the MXNet file ``path`` announces fit in the file.

    MXNet's ``nd.load`` allocates each array with the shape its header gives before reading its values: a
    file of 146 bytes that claims a ``(2**32, 2**32)`` weight would take gigabytes before failing. This walks
    the headers (the format of ``NDArray::Save``: a list magic, then for each array its magic, storage type,
    shape, context and dtype, then its values; then the keys: their count, and each name's length and bytes)
    without allocating, and checks that each array's bytes and each key's name are in the file.

    Raises
    ------
    CheckpointError
        Naming the file, the array and its shape (or the key), if the file is not a dense NDArray file of that
        layout, an array's bytes or a key's name exceed what is left of the file, or the number of keys is
        neither 0 nor that of the arrays.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "m.params")
    >>> nd.save(path, {"weight": nd.ones((1, 3)), "bias": nd.zeros(1)})
    >>> check_params_header(Path(path))
    >>> raw = bytearray(Path(path).read_bytes())
    >>> raw[36:52] = np.array([1 << 32, 1 << 32], "<i8").tobytes()
    >>> _ = Path(path).write_bytes(bytes(raw))
    >>> try:
    ...     check_params_header(Path(path))
    ... except CheckpointError as error:
    ...     print(str(error).split(": ", 1)[1])
    its array 0 has the shape (4294967296, 4294967296), 73786976294838206464 bytes, but the file has 146 bytes; it \
may be truncated, corrupt or not a model file at all.
    """
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size

        def bad(reason: str) -> CheckpointError:
            return CheckpointError(
                f"{str(path)!r} is not a readable MXNet parameter file: {reason}; it may be truncated, corrupt "
                "or not a model file at all."
            )

        def take(count: int, dtype: str) -> list[int]:
            raw = file.read(count * np.dtype(dtype).itemsize)
            if len(raw) < count * np.dtype(dtype).itemsize:
                raise bad(f"it ends at byte {size}, inside a header")
            return [int(value) for value in np.frombuffer(raw, dtype=dtype)]

        magic, _reserved, count = take(3, "<u8")
        if magic != _LIST_MAGIC:
            raise bad(f"it starts with {magic:#x}, not MXNet's {_LIST_MAGIC:#x}")
        for index in range(count):
            array_magic, stype = take(1, "<u4")[0], take(1, "<i4")[0]
            if array_magic not in _NDARRAY_MAGICS or stype != 0:
                raise bad(f"its array {index} is no dense NDArray of MXNet 1.x (magic {array_magic:#x})")
            (ndim,) = take(1, "<u4")
            if not 1 <= ndim <= _MAX_DIMS:
                raise bad(f"its array {index} has {ndim} dimensions")
            shape = tuple(take(ndim, "<i8"))
            _device_type, _device_id, type_flag = take(3, "<i4")
            if min(shape) < 0 or type_flag not in _ITEM_SIZES:
                raise bad(f"its array {index} has the shape {shape} and the dtype flag {type_flag}")
            nbytes = int(np.prod(shape, dtype=object)) * _ITEM_SIZES[type_flag]
            if file.tell() + nbytes > size:
                raise bad(f"its array {index} has the shape {shape}, {nbytes} bytes, but the file has {size} bytes")
            file.seek(nbytes, os.SEEK_CUR)
        # The keys: their count, then each name's length and bytes. MXNet sizes each name as its header says.
        (keys,) = take(1, "<u8")
        if keys not in (0, count):
            raise bad(f"it has {keys} keys for its {count} arrays")
        for index in range(keys):
            (length,) = take(1, "<u8")
            left = size - file.tell()
            if length > left:
                raise bad(f"its key {index} has a name of {length} bytes, but the file has {left} bytes left")
            file.seek(length, os.SEEK_CUR)


def _read_params(path: Path) -> tuple[np.ndarray, float | np.ndarray]:
    check_params_header(path)
    try:
        arrays = nd.load(str(path))
    except mx.base.MXNetError as exc:
        raise CheckpointError(
            f"{str(path)!r} is not a readable MXNet parameter file; it may be truncated or corrupt ({_short(exc)})."
        ) from None
    if not isinstance(arrays, dict) or set(arrays) != {"weight", "bias"}:
        keys = sorted(arrays) if isinstance(arrays, dict) else f"a list of {len(arrays)} arrays"
        raise CheckpointError(
            f"{str(path)!r} holds {keys}; a gluonlr model file holds exactly 'weight' and 'bias', "
            "as gluon.nn.Dense(n_outputs).save_parameters writes them."
        )
    return _model_from_arrays(path, arrays["weight"].asnumpy(), arrays["bias"].asnumpy())


def _model_from_arrays(path: Path, weight: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, float | np.ndarray]:
    """Return a model's ``(weight, bias)`` as a :class:`~gluonlr.FitResult` holds them, from Gluon's layout."""
    if weight.ndim != 2 or 0 in weight.shape or bias.shape != (weight.shape[0],):
        raise CheckpointError(
            f"{str(path)!r} holds a weight of shape {weight.shape} and a bias of shape {bias.shape}; "
            "a gluonlr model has weight (n_outputs, n_features) and bias (n_outputs,), as a Dense layer."
        )
    if not (np.isfinite(weight).all() and np.isfinite(bias).all()):
        raise CheckpointError(f"{str(path)!r} holds NaN or infinite parameters.")
    dtype = _model_dtype(weight)  # a float64 model stays float64; float16 and the like are read as float32
    weight, bias = weight.astype(dtype), bias.astype(dtype)
    if weight.shape[0] == 1:
        return weight.reshape(-1), float(bias[0])
    return weight.T.copy(), bias


def load(path: PathLike) -> FitResult:
    """Read a model saved by :func:`save`, a checkpoint or Gluon's ``save_parameters``.

    Parameters
    ----------
    path : str or os.PathLike
        A model file: an MXNet NDArray dict with ``"weight"`` ``(n_outputs,
        n_features)`` and ``"bias"`` ``(n_outputs,)``; or a checkpoint
        directory (an existing directory, or a path ending in ``/``), whose
        model file is read.

    Returns
    -------
    FitResult
        The model, ready to ``predict``; its ``history`` is empty and its
        ``path`` None. Its ``feature_names`` are those :func:`save` wrote
        beside the model file; None if there is no feature names file.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist, or names a directory without a checkpoint.
    CheckpointError
        If the file is truncated, corrupt, holds other parameters, or is no
        file at all (a FIFO, a device, a socket); a ``ValueError``. Also if
        the feature names file beside it cannot be used: not one gluonlr
        wrote (not JSON, truncated, over 64 MiB, another format) or written
        with another model file. The message says to save the model again,
        or to delete that file to use the model without names.

    Examples
    --------
    >>> import os, tempfile
    >>> from gluonlr import gluon
    >>> path = os.path.join(tempfile.mkdtemp(), "dense.params")
    >>> gluon.init_params(np.array([2.0, 51.0]), 21.2).save_parameters(path)
    >>> model = load(path)
    >>> model.weight.tolist(), round(model.bias, 1)
    ([2.0, 51.0], 21.2)
    """
    text = as_path(path, "the path passed to load")
    model_file = checkpoint_files(text)[0]  # a checkpoint directory holds its model file
    kind = file_kind(model_file)  # never opened unless a regular file: opening a FIFO would block
    if kind is None:
        raise FileNotFoundError(f"No model file at {str(model_file)!r}.{_missing_hint(text)}")
    if kind != REGULAR:
        raise CheckpointError(f"{str(model_file)!r} is {kind}, not a model file.")
    weight, bias = _read_params(model_file)
    committed = _committed_model(model_file, weight, bias)
    if committed is not None:  # a crash between the renames of a checkpoint: its state file has the model
        weight, bias = committed
    names = _saved_feature_names(model_file, len(weight))
    return FitResult(weight=weight, bias=bias, history={}, path=None, feature_names=names)


def _missing_hint(text: str) -> str:
    """Why there is no model file for the path ``text`` that names a directory, if it does."""
    if os.path.isdir(text):
        return f" {text!r} is a directory without a checkpoint; give the model file's name."
    if names_directory(text) and file_kind(text.rstrip("/" + os.sep)) == REGULAR:
        return f" A path ending in '/' names a directory; drop the '/' to read the file {text.rstrip('/' + os.sep)!r}."
    return ""


def checkpoint_files(checkpoint: PathLike) -> tuple[Path, Path]:
    """Return the ``(model file, state file)`` of a checkpoint path.

    A directory (an existing one, or a path ending in ``/``: the rule of
    :func:`~gluonlr.save` and :func:`~gluonlr.load` too) holds ``gluonlr.params`` and
    ``gluonlr.params.state``; a file name ``run.params`` gives ``run.params``
    and ``run.params.state``.

    Examples
    --------
    >>> [p.name for p in checkpoint_files("runs/run.params")]
    ['run.params', 'run.params.state']
    """
    text = as_path(checkpoint, "the 'checkpoint' parameter of fit")
    path = Path(text)
    if names_directory(text):
        path = path / CHECKPOINT_NAME  # a directory (that fit will find missing if it does not exist)
    return path, path.with_name(path.name + ".state")


def check_checkpoint(checkpoint: PathLike) -> None:
    """Raise unless both files of ``checkpoint`` can be written; :func:`gluonlr.fit` runs it before training.

    The checks of :func:`atomic_write` (an existing, writable directory; a new
    or a regular, writable file), with a file created and removed in the
    directory to prove it writable. Resuming is decided elsewhere: an existing
    checkpoint passes.

    Raises
    ------
    FileNotFoundError, NotADirectoryError
        If the checkpoint's directory does not exist, or is not a directory.
    IsADirectoryError, ValueError
        If a checkpoint file's name is taken by a directory, a device, a FIFO or a socket.
    PermissionError
        If a checkpoint file is read-only or the directory is not writable.

    Examples
    --------
    >>> check_checkpoint("no-such-directory/run.params")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: Checkpoint file 'no-such-directory/run.params' cannot be written: the directory ...
    """
    for file in checkpoint_files(checkpoint):
        check_writable(file, _CHECKPOINT_FILE)


def data_fingerprint(X: Any, y: Any, *more: Any, digest: Any = None) -> dict[str, Any]:
    """Return the shape and SHA-256 of the training data (and ``more`` arrays), to check a resumed run's data.

    The hash is of the float32 bytes of ``X``, ``y`` and ``more`` in turn,
    read in chunks (arrays in memory or :class:`~gluonlr.data.Source`). Pass
    ``digest``, a ``hashlib.sha256`` that a pass over the data already fed
    (:func:`gluonlr.fit` hashes while it checks the values), to skip the
    second pass.

    Examples
    --------
    >>> X, y = np.zeros((2, 1), np.float32), np.ones(2, np.float32)
    >>> data_fingerprint(X, y)["sha256"] == hashlib.sha256(X.tobytes() + y.tobytes()).hexdigest()
    True
    """
    if digest is None:
        digest = hashlib.sha256()
        check_data([(None, array, 0, "fit") for array in (X, y, *more)], finite=False, digest=digest)
    return {"n_samples": int(X.shape[0]), "n_features": int(X.shape[1]), "sha256": digest.hexdigest()}


def write_checkpoint(
    checkpoint: PathLike,
    *,
    state: dict[str, np.ndarray],
    epoch: int,
    path: str,
    params: dict[str, Any],
    history: dict[str, list[float]],
    data: dict[str, Any],
    callbacks: dict[str, Any] | None = None,
    stopped: dict[str, Any] | None = None,
    model: tuple[np.ndarray, float | np.ndarray] | None = None,
) -> None:
    """Write a checkpoint after ``epoch`` complete epochs: the state file, then the model file.

    ``state`` is a learner's ``get_state()``: ``"weight"`` ``(n_outputs,
    n_features)``, ``"bias"`` ``(n_outputs,)`` and any optimizer state.
    ``model``, ``(weight, bias)`` as a :class:`~gluonlr.FitResult` holds
    them, is what the model file holds (what :func:`~gluonlr.load` reads); by default
    the state's parameters. They differ for ``fit(standardize=True)``, whose
    state is the standardized model's and whose model file is in the units of
    ``X``.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "run.params")
    >>> state = {"weight": np.ones((1, 2), np.float32), "bias": np.zeros(1, np.float32)}
    >>> write_checkpoint(path, state=state, epoch=1, path="manual", params={}, history={"loss": [0.5]}, data={})
    >>> read_checkpoint(path)[1]["history"], load(path).weight.tolist()
    ({'loss': [0.5]}, [1.0, 1.0])
    """
    model_file, state_file = checkpoint_files(checkpoint)
    meta = {
        "format": _FORMAT,
        "version": _VERSION,
        "epoch": epoch,
        "path": path,
        "params": params,
        "history": history,
        "data": data,
        "callbacks": callbacks or {},
        "stopped": stopped,
    }
    model_arrays = _params_arrays(*(_gluon_layout(*model) if model is not None else (state["weight"], state["bias"])))
    previous = hashlib.sha256(model_file.read_bytes()).hexdigest() if file_kind(model_file) == REGULAR else None
    written: dict[str, str] = {}

    def write_model(tmp: str) -> None:
        _save_params(tmp, model_arrays)
        written["sha256"] = hashlib.sha256(Path(tmp).read_bytes()).hexdigest()

    def write_state(tmp: str) -> None:
        commit = {"model_sha256": written["sha256"], "previous_model_sha256": previous}
        arrays = {
            **{f"state/{name}": value for name, value in state.items()},
            **{f"model/{name}": array.asnumpy() for name, array in model_arrays.items()},
            "meta": np.array(json.dumps({**meta, **commit})),
            "commit": np.array(json.dumps({"format": _FORMAT, **commit})),  # what load reads of the state file
        }
        buffer = io.BytesIO()  # zipped in memory: a full disk fails one plain write, never a half-closed ZipFile
        np.savez(buffer, **arrays)
        with open(tmp, "wb") as file:
            file.write(buffer.getbuffer())

    # Both written in full before either is renamed; the state file, renamed first, commits the checkpoint
    # (see _committed_model for a crash before the model file's rename).
    atomic_write_all(
        [(model_file, write_model, _CHECKPOINT_FILE), (state_file, write_state, _CHECKPOINT_FILE)], renames=[1, 0]
    )


def _committed_model(
    model_file: Path, weight: np.ndarray, bias: float | np.ndarray
) -> tuple[np.ndarray, float | np.ndarray] | None:
    """Return the model a checkpoint's state file committed, if ``model_file`` is the one before it; else None.

    ``weight`` and ``bias`` are the model file's: the committed model has their shapes, or is not used.

    :func:`write_checkpoint` renames the state file, then the model file: a crash between the two leaves
    the model file of the epoch before, and the state file records that file's SHA-256 as
    ``previous_model_sha256`` and holds the new model (``model/weight``, ``model/bias``). A model file saved
    over the checkpoint since (a SHA-256 neither of these) is the user's, and is read as it is.

    Only the state file's ``commit`` entry (at most :data:`_COMMIT_MAX_BYTES`) and, if it commits a new model,
    its two model entries (at most the model file's size and :data:`_NPY_HEADER_MAX_BYTES` each) are read, by
    the sizes in the archive's directory before anything is decompressed: a small deflated file of gigabytes
    costs no memory. A state file that cannot be read so is not used (resuming reports what is wrong with it).
    """
    state_file = model_file.with_name(model_file.name + ".state")
    if file_kind(state_file) != REGULAR:
        return None
    try:
        with zipfile.ZipFile(state_file) as archive:
            commit = json.loads(str(_npz_entry(archive, "commit", _COMMIT_MAX_BYTES)[()]))
            if not isinstance(commit, dict) or commit.get("format") != _FORMAT:
                return None
            current = hashlib.sha256(model_file.read_bytes()).hexdigest()
            if current == commit.get("model_sha256") or current != commit.get("previous_model_sha256"):
                return None
            most = model_file.stat().st_size + _NPY_HEADER_MAX_BYTES  # the same shapes as the model file's
            committed = _model_from_arrays(
                state_file, _npz_entry(archive, "model/weight", most), _npz_entry(archive, "model/bias", most)
            )
        if np.shape(committed[0]) != np.shape(weight) or np.shape(committed[1]) != np.shape(bias):
            return None  # not this model's
        return committed
    except Exception:  # an unreadable state file: resuming reports it; the model file is read as it is
        return None


#: The most read of a state file's ``commit`` entry: a format and two SHA-256s take 300 bytes.
_COMMIT_MAX_BYTES = 1 << 16
#: The most an ``.npy`` header of a state file's model entries takes beyond the values (numpy's own bound).
_NPY_HEADER_MAX_BYTES = 1 << 16


def _npz_entry(archive: zipfile.ZipFile, name: str, most: int) -> np.ndarray:
    """Return the array ``name`` of the ``.npz`` ``archive``; raise ValueError, before decompressing, if over ``most``.

    The size is the archive directory's, which also bounds what ``zipfile`` decompresses; the ``.npy`` header's
    shape must then match the bytes read, so no array is allocated larger than them.
    """
    info = archive.getinfo(f"{name}.npy")
    if info.file_size > most:
        raise ValueError(f"its entry {name!r} has {info.file_size} bytes, over {most}")
    with archive.open(info) as member:
        raw = member.read(most + 1)
    buffer = io.BytesIO(raw)
    version = np.lib.format.read_magic(buffer)
    read_header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    if version not in read_header:
        raise ValueError(f"its entry {name!r} is an .npy file of version {version}")
    shape, fortran_order, dtype = read_header[version](buffer)
    values = raw[buffer.tell() :]
    if dtype.hasobject or fortran_order or len(values) != math.prod(shape) * dtype.itemsize:
        raise ValueError(f"its entry {name!r} holds {len(values)} bytes for the shape {shape} of {dtype}")
    return np.frombuffer(values, dtype).reshape(shape)


def read_checkpoint(checkpoint: PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a checkpoint's state file; return ``(state arrays, metadata)``.

    Raises
    ------
    FileNotFoundError
        If there is no state file.
    CheckpointError
        If it is truncated, corrupt, not a gluonlr checkpoint, or no file at
        all (a FIFO, a device, a directory).

    Examples
    --------
    >>> import os, tempfile
    >>> from gluonlr import fit, synthetic_data
    >>> path = os.path.join(tempfile.mkdtemp(), "run.params")
    >>> _ = fit(*synthetic_data(), epochs=2, checkpoint=path)
    >>> state, meta = read_checkpoint(path)
    >>> meta["epoch"], state["weight"].shape, len(meta["history"]["loss"])
    (2, (1, 2), 2)
    """
    _, state_file = checkpoint_files(checkpoint)
    kind = file_kind(state_file)
    if kind is None:
        raise FileNotFoundError(
            f"No checkpoint to resume from: {str(state_file)!r} does not exist. "
            "Train with fit(..., checkpoint=...) first, or drop resume= to start afresh."
        )
    if kind != REGULAR:
        raise CheckpointError(
            f"{str(state_file)!r} is {kind}, not a gluonlr checkpoint. Resume from another checkpoint or start afresh."
        )
    try:
        with open(state_file, "rb") as file, np.load(file, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        meta = json.loads(str(arrays.pop("meta")))
        arrays.pop("commit", None)  # the part of meta that load reads (see _committed_model)
        state = {name.removeprefix("state/"): value for name, value in arrays.items()}
        if meta.get("format") != _FORMAT or meta.get("version") != _VERSION:
            raise ValueError(f"format {meta.get('format')!r} version {meta.get('version')!r}")
        missing = {"epoch", "path", "params", "history", "data"} - set(meta)
        if missing:
            raise ValueError(f"no {sorted(missing)} in its metadata")
        if "weight" not in state or "bias" not in state:
            raise ValueError("no parameters")
    except Exception as exc:
        raise CheckpointError(
            f"{str(state_file)!r} is not a readable gluonlr checkpoint; it may be truncated or corrupt "
            f"({type(exc).__name__}: {_short(exc)}). Resume from another checkpoint or start afresh."
        ) from None
    return state, meta
