"""Writing files safely: what a path names, the checks before a write, and the atomic write itself.

:func:`gluonlr.save`, checkpoints and ``gluonlr demo --plot`` all write through
:func:`atomic_write`, whose docstring states the rules; :func:`check_writable`
checks them (and the directory's permissions) before long work.
"""

from __future__ import annotations

import contextlib
import glob
import os
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

if sys.platform != "win32":
    import fcntl

PathLike = str | os.PathLike[str]

# The process's umask, read once (os.umask can only be read by setting it).
_UMASK = os.umask(0)
os.umask(_UMASK)

_KINDS = (
    (stat.S_ISREG, "a regular file"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
)
REGULAR, DIRECTORY = "a regular file", "a directory"


def as_path(value: Any, what: str) -> str:
    """Return ``value`` as a ``str`` path, or raise ``TypeError`` naming ``what``."""
    try:
        text = os.fspath(value)
    except TypeError:
        text = None
    if not isinstance(text, str):
        raise TypeError(f"{_capital(what)} must be a path (str or os.PathLike). Got {type(value).__name__} instead.")
    return text


def names_directory(path: PathLike) -> bool:
    """Whether ``path`` names a directory: an existing one, or any path ending in ``/``.

    Examples
    --------
    >>> names_directory("runs/"), names_directory("runs/run.params"), names_directory(".")
    (True, False, True)
    """
    text = os.fspath(path)
    return text.endswith(("/", os.sep)) or os.path.isdir(text)


def file_kind(path: PathLike) -> str | None:
    """Return what is at ``path`` (symbolic links followed), e.g. ``"a FIFO"``, or None if nothing is.

    Examples
    --------
    >>> file_kind(os.devnull), file_kind(os.path.join(os.devnull, "x"))
    ('a character device', None)
    """
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    return _kind(mode)


def _kind(mode: int) -> str:
    return next((kind for test, kind in _KINDS if test(mode)), "a special file")


def _capital(what: str) -> str:
    return what[:1].upper() + what[1:]


def _named(text: str, what: str) -> str:
    """Return ``what`` and the user's ``text``, with the link's target if ``text`` is a symbolic link."""
    link = f" (a symbolic link to {os.path.realpath(text)!r})" if os.path.islink(text) else ""
    return f"{_capital(what)} {text!r}{link}"


def _cannot_write(exc: OSError, text: str, what: str, doing: str = "") -> OSError:
    """``exc`` again (same class and errno) but naming the user's path, never a temporary file."""
    error = type(exc)(f"{_named(text, what)} cannot be written: {exc.strerror or exc}{doing}.")
    error.errno = exc.errno
    return error


def writable_target(path: PathLike, what: str, example: str = "model.params") -> Path:
    """Return the file that writing ``path`` replaces (symbolic links resolved), or raise if it must not be.

    ``what`` names ``path`` in the messages (e.g. ``"the path passed to
    save"``), ``example`` is the file name suggested for a directory. Nothing
    is created.

    Raises
    ------
    IsADirectoryError
        If ``path`` names a directory (see :func:`names_directory`).
    FileNotFoundError, NotADirectoryError
        If the directory of the file does not exist, or is not a directory.
    ValueError
        If the file is a device, a FIFO or a socket: not a regular file.
    PermissionError
        If the file is read-only.

    Examples
    --------
    >>> writable_target(os.devnull, "the plot")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: The plot '/dev/null' is a character device, not a regular file: ...
    """
    text = os.fspath(path)
    if names_directory(text):
        reason = "is a directory" if os.path.isdir(text) else "ends in '/', which names a directory"
        suggestion = os.path.join(text, example)
        raise IsADirectoryError(f"{_named(text, what)} {reason}; give a file name, e.g. {suggestion!r}.")
    target = Path(os.path.realpath(text))
    if target.is_symlink():
        raise OSError(f"{_capital(what)} {text!r} cannot be written: its symbolic links form a loop.")
    parent_kind = file_kind(target.parent)
    parent = str(target.parent) if os.path.islink(text) else os.path.dirname(text) or "."  # as the user wrote it
    if parent_kind is None:
        raise FileNotFoundError(
            f"{_named(text, what)} cannot be written: the directory {parent!r} does not exist; create it first."
        )
    if parent_kind != DIRECTORY:
        raise NotADirectoryError(
            f"{_named(text, what)} cannot be written: {parent!r} is {parent_kind}, not a directory."
        )
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return target  # a new file
    kind = _kind(mode)
    if kind != REGULAR:
        raise ValueError(
            f"{_named(text, what)} is {kind}, not a regular file: gluonlr writes a new file and renames it over "
            "the old one, which would replace it with a regular file. Give the name of a regular file."
        )
    if not mode & 0o222 or not os.access(target, os.W_OK):
        raise PermissionError(
            f"{_named(text, what)} is read-only (mode {oct(mode & 0o777)}); gluonlr does not replace a "
            "read-only file, as open(path, 'w') would not. Make it writable (chmod u+w) or choose another path."
        )
    return target


def check_writable(path: PathLike, what: str, example: str = "model.params") -> None:
    """Raise unless ``path`` can be written now, leaving nothing behind: run it before long work.

    The checks of :func:`writable_target`, and a temporary file created (and
    removed) in the file's directory: the honest test of permissions, also for
    root and on read-only file systems.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> check_writable(os.path.join(folder, "plot.png"), "--plot")
    >>> check_writable(os.path.join(folder, "missing", "plot.png"), "--plot")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: --plot '...' cannot be written: the directory '...missing' does not exist; create it first.
    >>> os.listdir(folder)
    []
    """
    text = os.fspath(path)
    target = writable_target(text, what, example)
    fd, tmp = _temporary_file(target, text, what)
    try:
        os.unlink(tmp)
    finally:
        os.close(fd)


def _lock(fd: int, *, shared: bool = False, wait: bool = True) -> bool:
    """``flock`` the file ``fd``; return whether it is locked (False if another holds it or locks are missing)."""
    if sys.platform == "win32":  # no flock: no temporary file is provably stale, so none is ever removed
        return False
    flags = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if wait else fcntl.LOCK_NB)
    try:
        fcntl.flock(fd, flags)
    except OSError:  # BlockingIOError: someone holds it; others: a file system without locks
        return False
    return True


def _temporary_file(target: Path, text: str, what: str) -> tuple[int, str]:
    """Create and lock a temporary file beside ``target``; return its descriptor and name."""
    while True:
        try:
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        except OSError as exc:
            raise _cannot_write(exc, text, what, f" (creating a file in {str(target.parent)!r})") from None
        _lock(fd)
        with contextlib.suppress(FileNotFoundError):
            if os.stat(tmp).st_ino == os.fstat(fd).st_ino:
                return fd, tmp
        # Between mkstemp and flock, another write took it for a killed writer's and removed it: make another.
        os.close(fd)


def _remove_stale_temporaries(target: Path) -> None:
    """Remove the temporary files of ``target`` whose writer is gone: those whose lock can be taken."""
    for name in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode) and _lock(fd, shared=True, wait=False):
                with contextlib.suppress(OSError):
                    if os.stat(name, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:
                        os.unlink(name)
        finally:
            os.close(fd)


def fsync_directory(directory: Path) -> None:
    """Flush a directory's entries (a rename) to disk, where the platform allows it."""
    with contextlib.suppress(OSError):  # e.g. Windows, where a directory cannot be opened
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: PathLike, write: Callable[[str], None], what: str = "the file") -> None:
    """Call ``write(temporary_name)``, then move the temporary file over ``path``: all or nothing.

    The rules, checked before anything changes:

    - A path ending in ``/`` names a directory, as an existing directory does,
      and is refused: give a file name.
    - A symbolic link is followed: its target is written and the link stays
      a link.
    - Only a regular file is replaced (or a new one created): a device, a FIFO
      or a socket is refused (``ValueError``), since renaming a new file over
      it would replace it with a regular file.
    - A read-only file is refused (``PermissionError``), as
      ``open(path, "w")`` refuses it; also for root, to whom a file without
      any write bit is read-only here.

    The temporary file, ``.{name}.{random}.tmp`` in the directory of the file
    written, is flushed to disk (``fsync``) before ``os.replace`` moves it into
    place, and gets the mode of the file it replaces (or a new file's). On any
    error (or ``KeyboardInterrupt``) it is removed and ``path`` keeps its old
    content. It is locked (``flock``) from its creation until it is renamed or
    removed, and after a successful write the temporary files of the same name
    whose lock can be taken are removed: those a killed writer left behind
    (its lock went with it), never one that another thread or process is
    still writing. Errors name ``path`` (``what`` says what it is), never the
    temporary file.

    Examples
    --------
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> atomic_write(path, lambda tmp: Path(tmp).write_text("all or nothing"))
    >>> Path(path).read_text(), os.listdir(os.path.dirname(path))
    ('all or nothing', ['notes.txt'])
    """
    atomic_write_all([(path, write, what)])


def atomic_write_all(
    writes: list[tuple[PathLike, Callable[[str], None], str]], renames: list[int] | None = None
) -> None:
    """Write several files as one: every ``write(temporary_name)`` first, then every rename, in the order given.

    ``writes`` holds ``(path, write, what)`` as :func:`atomic_write` takes them. All the files are checked,
    then all written (and flushed) to temporary files; only when every one is complete are they moved into
    place, one ``os.replace`` after another. So an error in any write (a full disk, a bad value) leaves
    every file as it was: a model and the files that go with it change together or not at all. Only a crash
    between the renames (microseconds) can leave some renamed; readers of such a unit check that its files
    belong together (a SHA-256 of the model, see :mod:`gluonlr.persistence`). ``renames``, the indices of
    ``writes`` in the order to rename them, lets a later write (one that records an earlier file's SHA-256)
    be renamed first, as the commit.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> def fails(tmp):
    ...     raise OSError(28, "No space left on device")
    >>> atomic_write_all([(os.path.join(folder, "a"), lambda tmp: Path(tmp).write_text("a"), "a"),
    ...                   (os.path.join(folder, "b"), fails, "b")])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    OSError: B '...b' cannot be written: No space left on device.
    >>> os.listdir(folder)
    []
    """
    targets = [(os.fspath(path), writable_target(path, what), write, what) for path, write, what in writes]
    opened: list[tuple[int, str]] = []
    try:
        for text, target, write, what in targets:
            fd, tmp = _temporary_file(target, text, what)
            opened.append((fd, tmp))
            try:
                write(tmp)
            except OSError as exc:
                if exc.errno is None or exc.filename not in (None, tmp):
                    raise
                raise _cannot_write(exc, text, what) from exc
            with open(tmp, "rb") as written:
                os.fsync(written.fileno())
            os.chmod(tmp, target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_UMASK)
        for index in range(len(targets)) if renames is None else renames:
            os.replace(opened[index][1], targets[index][1])
    except BaseException:
        for _, tmp in opened:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise
    finally:
        for fd, _ in opened:
            os.close(fd)  # and with it the lock
    for directory in {target.parent for _, target, _, _ in targets}:
        fsync_directory(directory)
    for _, target, _, _ in targets:
        _remove_stale_temporaries(target)
