"""Where files go: links, special files, read-only files, concurrent writers, and checks before training.

The rules are those of ``gluonlr._files.atomic_write``, which ``save``, checkpoints and ``demo --plot`` share.
No test here writes to a real device: a special file is a FIFO, a socket or a device node made in ``tmp_path``.
"""

import contextlib
import errno
import os
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading

import pytest

from gluonlr import CheckpointError, fit, load, save, synthetic_data
from gluonlr.callbacks import Callback
from gluonlr.persistence import checkpoint_files, read_checkpoint

X, y = synthetic_data()
MODEL = fit(X, y, epochs=1)


class CountEpochs(Callback):
    def __init__(self):
        self.epochs = []

    def on_epoch_end(self, epoch, logs):
        self.epochs.append(epoch)


def in_a_thread(function, *args, timeout=30):
    """Run ``function(*args)`` with a timeout, so a call that blocks (opening a FIFO) fails instead of hanging."""
    outcome = {}

    def run():
        try:
            outcome["value"] = function(*args)
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"{function.__name__} blocked"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


@contextlib.contextmanager
def unix_socket(path):
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    try:
        yield path
    finally:
        server.close()


def special_file(tmp_path, kind):
    """Make a FIFO, a socket or a character device (a /dev/null twin, where mknod is allowed) in ``tmp_path``."""
    target = tmp_path / kind
    if kind == "FIFO":
        os.mkfifo(target)
    elif kind == "character device":
        try:
            os.mknod(target, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        except PermissionError:
            pytest.skip("mknod needs root")
    return target


SPECIAL = ["FIFO", "socket", "character device"]


@contextlib.contextmanager
def made(tmp_path, kind):
    if kind == "socket":
        with unix_socket(tmp_path / "socket") as target:
            yield target
    else:
        yield special_file(tmp_path, kind)


# ---------------------------------------------------------------- symbolic links


def test_save_through_a_symlink_writes_its_target_and_keeps_the_link(tmp_path):
    (tmp_path / "models").mkdir()
    real = tmp_path / "models" / "real.params"
    link = tmp_path / "latest.params"
    link.symlink_to(real)
    save(MODEL, link)  # the target does not exist yet: a dangling link whose directory exists
    assert link.is_symlink() and os.readlink(link) == str(real) and real.is_file()
    before = real.stat().st_ino
    save(fit(X, y, epochs=2), link)  # replaced atomically: a new inode behind the same link
    assert link.is_symlink() and real.stat().st_ino != before
    assert load(link).weight.tobytes() == fit(X, y, epochs=2).weight.tobytes()
    assert sorted(os.listdir(tmp_path / "models")) == ["real.params"]  # the temporary file was beside the target


def test_checkpoint_through_a_symlink(tmp_path, path):
    real = tmp_path / "real.params"
    link = tmp_path / "run.params"
    link.symlink_to(real.name)  # relative, as ln -s makes them
    fit(X, y, path=path, epochs=2, checkpoint=link)
    assert link.is_symlink() and real.is_file()
    resumed = fit(X, y, path=path, epochs=4, checkpoint=link, resume=True)
    assert link.is_symlink() and read_checkpoint(link)[1]["epoch"] == 4
    assert load(real).weight.tobytes() == resumed.weight.tobytes()


def test_a_dangling_symlink_into_a_missing_directory_names_the_link(tmp_path):
    link = tmp_path / "model.params"
    link.symlink_to(tmp_path / "gone" / "model.params")
    with pytest.raises(FileNotFoundError, match=r"'.*model.params' \(a symbolic link to '.*gone/model.params'\)"):
        save(MODEL, link)
    assert link.is_symlink() and sorted(os.listdir(tmp_path)) == ["model.params"]


def test_a_symlink_loop_is_refused_and_kept(tmp_path):
    (tmp_path / "a.params").symlink_to("b.params")
    (tmp_path / "b.params").symlink_to("a.params")
    with pytest.raises(OSError, match=r"save '.*a.params' cannot be written: its symbolic links form a loop"):
        save(MODEL, tmp_path / "a.params")
    assert (tmp_path / "a.params").is_symlink() and sorted(os.listdir(tmp_path)) == ["a.params", "b.params"]


# ---------------------------------------------------------------- special files


@pytest.mark.parametrize("kind", SPECIAL)
def test_save_refuses_a_special_file_and_leaves_it(tmp_path, kind):
    with made(tmp_path, kind) as target:
        mode = target.stat().st_mode
        with pytest.raises(ValueError, match=rf"save '.*{kind}' is a {kind}, not a regular file: .* Give the name"):
            save(MODEL, target)
        assert target.stat().st_mode == mode  # still what it was, not a regular file
        assert sorted(os.listdir(tmp_path)) == [kind]


@pytest.mark.parametrize("kind", SPECIAL)
def test_load_says_what_a_special_file_is_without_opening_it(tmp_path, kind):
    with made(tmp_path, kind) as target, pytest.raises(CheckpointError, match=rf"is a {kind}, not a model file"):
        in_a_thread(load, target)  # opening a FIFO would block


def test_load_of_the_null_device():
    with pytest.raises(CheckpointError, match=r"^'/dev/null' is a character device, not a model file.$"):
        load(os.devnull)


def test_fit_refuses_a_special_checkpoint_file_before_training(tmp_path):
    fifo = special_file(tmp_path, "FIFO")
    count = CountEpochs()
    with pytest.raises(ValueError, match=r"Checkpoint file '.*FIFO' is a FIFO, not a regular file"):
        fit(X, y, epochs=3, checkpoint=fifo, callbacks=[count])
    assert count.epochs == [] and stat.S_ISFIFO(fifo.stat().st_mode)


def test_resume_from_a_special_state_file_says_what_it_is(tmp_path):
    os.mkfifo(tmp_path / "run.params.state")
    with pytest.raises(CheckpointError, match=r"run.params.state' is a FIFO, not a gluonlr checkpoint"):
        in_a_thread(read_checkpoint, tmp_path / "run.params")


# ---------------------------------------------------------------- read-only files and directories


def test_save_refuses_a_read_only_file(tmp_path):
    """As open(path, "w") would, also for root: the mode bits decide, and the file keeps its content and mode."""
    target = tmp_path / "model.params"
    save(MODEL, target)
    before = target.read_bytes()
    target.chmod(0o444)
    with pytest.raises(PermissionError, match=r"save '.*model.params' is read-only \(mode 0o444\); .*\(chmod u\+w\)"):
        save(fit(X, y, epochs=2), target)
    assert target.read_bytes() == before and target.stat().st_mode & 0o777 == 0o444
    assert sorted(os.listdir(tmp_path)) == ["model.params"]


def test_fit_refuses_a_read_only_checkpoint_before_training(tmp_path):
    target = tmp_path / "run.params"
    fit(X, y, epochs=2, checkpoint=target)
    checkpoint_files(target)[1].chmod(0o444)
    count = CountEpochs()
    with pytest.raises(PermissionError, match=r"Checkpoint file '.*run.params.state' is read-only"):
        fit(X, y, epochs=4, checkpoint=target, resume=True, callbacks=[count])
    assert count.epochs == []


@pytest.fixture
def unwritable_directory(tmp_path):
    """A directory in which this process cannot create a file: a 0o555 one, or, for root, /sys where it is so."""
    if os.geteuid() != 0:
        (tmp_path / "read-only").mkdir(mode=0o555)
        yield tmp_path / "read-only"
        (tmp_path / "read-only").chmod(0o755)
        return
    try:
        os.close(os.open("/sys/.gluonlr-probe", os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError:
        yield "/sys"
        return
    os.unlink("/sys/.gluonlr-probe")
    pytest.skip("root can write everywhere here")


def test_checkpoint_into_an_unwritable_directory_fails_before_training(unwritable_directory):
    count = CountEpochs()
    checkpoint = os.path.join(unwritable_directory, "c.params")
    with pytest.raises(PermissionError, match=r"^Checkpoint file '.*c.params' cannot be written: ") as info:
        fit(X, y, epochs=50, checkpoint=checkpoint, callbacks=[count])
    assert count.epochs == [] and ".tmp" not in str(info.value)


def test_permission_errors_name_the_users_path_not_the_temporary_file(tmp_path, monkeypatch):
    """As a read-only directory does for a user who is not root: creating the temporary file fails."""
    real_mkstemp = tempfile.mkstemp

    def refused(*args, dir=None, **kwargs):
        if os.fspath(dir) == str(tmp_path / "ro"):
            name = os.path.join(dir, kwargs.get("prefix", "") + "x1y2z3" + kwargs.get("suffix", ""))
            raise PermissionError(errno.EACCES, "Permission denied", name)
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    (tmp_path / "ro").mkdir()
    count = CountEpochs()
    with pytest.raises(PermissionError, match=r"^Checkpoint file '.*ro/c.params' cannot be written: Perm") as info:
        fit(X, y, epochs=50, checkpoint=tmp_path / "ro" / "c.params", callbacks=[count])
    assert count.epochs == [] and ".tmp" not in str(info.value) and info.value.errno == errno.EACCES
    with pytest.raises(PermissionError, match=r"^The path passed to save '.*ro/m.params' cannot be written") as info:
        save(MODEL, tmp_path / "ro" / "m.params")
    assert ".tmp" not in str(info.value)


def test_a_failed_write_names_the_users_path(tmp_path, monkeypatch):
    def disk_full(name, arrays):
        raise OSError(errno.ENOSPC, "No space left on device", name)

    monkeypatch.setattr("gluonlr.persistence.nd.save", disk_full)
    with pytest.raises(OSError, match=r"save '.*m.params' cannot be written: No space left on device.$") as info:
        save(MODEL, tmp_path / "m.params")
    assert info.value.errno == errno.ENOSPC and ".tmp" not in str(info.value)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("parent", "error", "match"),
    [
        ("file", NotADirectoryError, r"'.*file' is a regular file, not a directory"),
        ("missing", FileNotFoundError, r"the directory '.*missing' does not exist; create it first"),
    ],
)
def test_fit_checks_the_checkpoint_directory_before_training(tmp_path, parent, error, match):
    (tmp_path / "file").write_text("")
    count = CountEpochs()
    with pytest.raises(error, match=match):
        fit(X, y, epochs=3, checkpoint=tmp_path / parent / "run.params", callbacks=[count])
    assert count.epochs == []


# ---------------------------------------------------------------- a trailing "/" names a directory


def test_a_trailing_slash_names_a_directory_for_save_load_and_checkpoints(tmp_path):
    out = f"{tmp_path}/out/"
    with pytest.raises(IsADirectoryError, match=r"'.*out/' ends in '/', which names a directory; give a file name"):
        save(MODEL, out)
    assert os.listdir(tmp_path) == []  # not a file named "out"
    with pytest.raises(FileNotFoundError, match=r"No model file at '.*out/gluonlr.params'"):
        load(out)

    save(MODEL, tmp_path / "out")  # a file named "out": "out/" still names a directory
    with pytest.raises(IsADirectoryError, match="ends in '/', which names a directory"):
        save(MODEL, out)
    with pytest.raises(FileNotFoundError, match=r"A path ending in '/' names a directory; drop the '/' to read"):
        load(out)
    (tmp_path / "out").unlink()

    (tmp_path / "out").mkdir()
    with pytest.raises(IsADirectoryError, match=r"'.*out/' is a directory; give a file name, e.g. '.*out/model"):
        save(MODEL, out)
    with pytest.raises(FileNotFoundError, match=r"'.*out/' is a directory without a checkpoint"):
        load(out)
    result = fit(X, y, epochs=1, checkpoint=out)  # the checkpoint's rule: out/gluonlr.params
    assert load(out).weight.tobytes() == result.weight.tobytes()
    assert sorted(os.listdir(tmp_path / "out")) == ["gluonlr.params", "gluonlr.params.state"]


# ---------------------------------------------------------------- concurrent writers


def test_two_threads_saving_to_one_path(tmp_path):
    """Each write removes only the temporary files whose writer is gone, never the other thread's."""
    target = tmp_path / "model.params"
    errors = []

    def saves():
        for _ in range(300):
            try:
                save(MODEL, target)
            except Exception as error:
                errors.append(error)

    threads = [threading.Thread(target=saves) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert os.listdir(tmp_path) == ["model.params"] and load(target).weight.tobytes() == MODEL.weight.tobytes()


@pytest.mark.slow
def test_two_processes_saving_to_one_path(tmp_path, popen):
    target = tmp_path / "model.params"
    script = textwrap.dedent(
        f"""
        from gluonlr import fit, save, synthetic_data

        model = fit(*synthetic_data(), epochs=1)
        for _ in range(200):
            save(model, {str(target)!r})
        """
    )
    processes = [popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for process in processes:
        _, stderr = process.communicate(timeout=240)
        assert process.returncode == 0, stderr
    assert os.listdir(tmp_path) == ["model.params"] and load(target).weight.tobytes() == MODEL.weight.tobytes()


def test_a_live_writers_temporary_file_is_kept_and_a_dead_ones_removed(tmp_path):
    from gluonlr._files import _temporary_file

    target = tmp_path / "model.params"
    fd, live = _temporary_file(target, str(target), "the test's file")  # locked, as while writing
    try:
        save(MODEL, target)
        assert os.path.exists(live)
    finally:
        os.close(fd)  # the writer is gone: so is its lock
    save(MODEL, target)
    assert os.listdir(tmp_path) == ["model.params"]


@pytest.mark.slow
def test_another_processes_temporary_file_is_kept_while_it_lives(tmp_path):
    temporary = tmp_path / ".model.params.abc123.tmp"
    temporary.write_bytes(b"half")
    script = "import fcntl, sys, time; f = open(sys.argv[1]); fcntl.flock(f, fcntl.LOCK_EX); print(flush=True); "
    script += "time.sleep(60)"
    holder = subprocess.Popen([sys.executable, "-c", script, str(temporary)], stdout=subprocess.PIPE)
    try:
        holder.stdout.readline()  # it holds the lock
        save(MODEL, tmp_path / "model.params")
        assert temporary.exists()
    finally:
        holder.kill()
        holder.communicate()
    save(MODEL, tmp_path / "model.params")  # killed: its temporary file is stale now
    assert os.listdir(tmp_path) == ["model.params"]


# ---------------------------------------------------------------- the temporary file reaches the disk first


@pytest.mark.parametrize("writes", ["save", "checkpoint"])
def test_the_temporary_file_is_fsynced_before_it_replaces_the_target(tmp_path, monkeypatch, writes):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        info = os.fstat(fd)
        calls.append(("fsync", info.st_ino if stat.S_ISREG(info.st_mode) else None))
        real_fsync(fd)

    def replace(source, destination):
        calls.append(("replace", os.stat(source).st_ino))
        real_replace(source, destination)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    if writes == "save":
        save(MODEL, tmp_path / "model.params")
    else:
        fit(X, y, epochs=1, checkpoint=tmp_path / "run.params")
    replaced = [i for i, call in enumerate(calls) if call[0] == "replace"]
    assert len(replaced) == (1 if writes == "save" else 2)
    for i in replaced:  # each temporary file (by inode) was fsynced before it was moved into place
        assert ("fsync", calls[i][1]) in calls[:i], calls
