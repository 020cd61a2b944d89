"""Nothing lost: save/load, atomic checkpoints, and resuming bitwise-exactly (also after a kill)."""

import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
from types import SimpleNamespace

import numpy as np
import pytest

from gluonlr import CheckpointError, DivergenceError, FitResult, fit, load, save, synthetic_data
from gluonlr import persistence as persistence_module
from gluonlr._mxnet import gluon as mx_gluon
from gluonlr._mxnet import nd
from gluonlr.callbacks import Callback
from gluonlr.persistence import checkpoint_files, read_checkpoint
from gluonlr.testing import PATH_RTOL, assert_runs_agree, record_fit

X, y = synthetic_data()


def assert_same_run(a, b):
    """Bitwise: weights, bias and history."""
    assert a.weight.tobytes() == b.weight.tobytes()
    assert a.bias == b.bias
    assert a.history == b.history


def file_bytes(*paths):
    return [p.read_bytes() for p in paths]


# ---------------------------------------------------------------- save and load


def test_save_load_round_trip(tmp_path, path):
    result = fit(X, y, path=path)
    save(result, tmp_path / "model.params")
    model = load(tmp_path / "model.params")
    assert isinstance(model, FitResult) and model.path is None and model.history == {}
    assert model.weight.tobytes() == result.weight.tobytes() and model.bias == result.bias
    np.testing.assert_array_equal(model.predict(X), result.predict(X))


def test_saved_model_is_gluons_format(tmp_path):
    """Dense(1).load_parameters reads what save writes, and load reads what save_parameters writes."""
    result = fit(X, y)
    save(result, tmp_path / "model.params")
    dense = mx_gluon.nn.Dense(1, in_units=2)
    dense.load_parameters(str(tmp_path / "model.params"))
    np.testing.assert_array_equal(dense.weight.data().asnumpy(), result.weight.reshape(1, 2))
    np.testing.assert_allclose(dense(nd.array(X)).asnumpy()[:, 0], result.predict(X), rtol=1e-6)

    dense.save_parameters(str(tmp_path / "dense.params"))
    assert load(tmp_path / "dense.params").weight.tobytes() == result.weight.tobytes()


def test_save_replaces_atomically(tmp_path, monkeypatch):
    """A failure mid-write leaves the old file as it was, and no temporary file behind."""
    target = tmp_path / "model.params"
    save(fit(X, y, epochs=1), target)
    before = target.read_bytes()

    def half_write(name, arrays):
        with open(name, "wb") as file:
            file.write(b"\x12\x01")
        raise OSError("disk full")

    monkeypatch.setattr(persistence_module.nd, "save", half_write)
    with pytest.raises(OSError, match="disk full"):
        save(fit(X, y, epochs=2), target)
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.params"]


def test_save_errors(tmp_path):
    result = fit(X, y, epochs=1)
    with pytest.raises(TypeError, match=r"save expects the FitResult that fit returned. Got dict instead"):
        save({"weight": 1}, tmp_path / "m.params")
    with pytest.raises(
        FileNotFoundError,
        match=r"save .* cannot be written: the directory .* does not exist; create it",
    ):
        save(result, tmp_path / "no" / "m.params")
    with pytest.raises(IsADirectoryError, match="is a directory; give a file name"):
        save(result, tmp_path)
    with pytest.raises(TypeError, match="must be a path"):
        save(result, 3)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", r"not a readable MXNet parameter file: it ends at byte 0, inside a header; it may be truncated"),
        (
            b"not a parameter file" * 10,
            r"not a readable MXNet parameter file: it starts with 0x6170206120746f6e, not MXNet.s 0x112",
        ),
        # Issue 23: a 146-byte file whose header claims a (2**32, 2**32) weight; nd.load would take 12.8 GB first.
        (
            "huge shape",
            r"its array 0 has the shape \(4294967296, 4294967296\), 73786976294838206464 bytes, but the file has "
            r"\d+ bytes; it may be truncated, corrupt or not a model file at all\.$",
        ),
        ("huge count", r"its array 2 is no dense NDArray of MXNet 1.x \(magic 0x2\)"),
        # Issue 23: key 0's name claimed 2**28 bytes of a 142-byte file; MXNet allocated them before failing.
        ("huge key", r"its key 0 has a name of 268435456 bytes, but the file has 18 bytes left; it may be truncated"),
        ("huge key count", r"it has 1099511627776 keys for its 2 arrays; it may be truncated, corrupt"),
        ("truncated", r"not a readable MXNet parameter file: it ends at byte 136, inside a header; it may be trunc"),
        ({"w": np.ones((1, 2))}, r"holds \['w'\]; a gluonlr model file holds exactly 'weight' and 'bias'"),
        ({"weight": np.ones((2, 2)), "bias": np.ones(3)}, r"weight of shape \(2, 2\) and a bias of shape \(3,\)"),
        ({"weight": np.full((1, 2), np.nan), "bias": np.ones(1)}, r"holds NaN or infinite parameters"),
    ],
)
def test_load_rejects_bad_files(tmp_path, content, match):
    bad = tmp_path / "bad.params"
    if content == "truncated":
        save(fit(X, y, epochs=1), bad)
        bad.write_bytes(bad.read_bytes()[:-6])
    elif content in ("huge shape", "huge count", "huge key", "huge key count"):
        save(fit(X, y, epochs=1), bad)
        raw = bytearray(bad.read_bytes())
        keys = len(raw) - (8 + 8 + len("weight") + 8 + len("bias"))  # the keys' count, then each length and name
        if content == "huge shape":
            struct.pack_into("<qq", raw, 36, 1 << 32, 1 << 32)
        elif content == "huge count":
            struct.pack_into("<Q", raw, 16, 1 << 60)
        elif content == "huge key":
            struct.pack_into("<Q", raw, keys + 8, 1 << 28)
        else:
            struct.pack_into("<Q", raw, keys, 1 << 40)
        bad.write_bytes(bytes(raw))
    elif isinstance(content, dict):
        nd.save(str(bad), {key: nd.array(value) for key, value in content.items()})
    else:
        bad.write_bytes(content)
    with pytest.raises(CheckpointError, match=match):
        load(bad)
    assert issubclass(CheckpointError, ValueError)


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="No model file at"):
        load(tmp_path / "missing.params")


# ---------------------------------------------------------------- checkpoints


def test_checkpoint_after_every_epoch(tmp_path, path):
    target = tmp_path / "run.params"
    seen = []

    class Peek(Callback):  # ModelCheckpoint runs after every other callback: this sees the epoch before's
        def on_epoch_end(self, epoch, logs):
            seen.append(read_checkpoint(target)[1]["epoch"] if epoch else None)

        def on_train_end(self, logs=None):
            seen.append(read_checkpoint(target)[1]["epoch"])

    result = fit(X, y, path=path, epochs=3, checkpoint=target, callbacks=[Peek()])
    assert seen == [None, 1, 2, 3]
    state, meta = read_checkpoint(target)
    assert meta["path"] == path and meta["params"] == result.params and meta["history"] == result.history
    assert meta["data"]["n_samples"] == 300 and meta["data"]["n_features"] == 2
    assert state["weight"].tobytes() == result.weight.reshape(1, 2).tobytes()
    assert load(target).weight.tobytes() == result.weight.tobytes()  # the model file, Gluon's format
    assert sorted(os.listdir(tmp_path)) == ["run.params", "run.params.state"]


def test_checkpoint_into_a_directory(tmp_path):
    fit(X, y, epochs=1, checkpoint=tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["gluonlr.params", "gluonlr.params.state"]
    assert checkpoint_files(tmp_path)[0] == tmp_path / "gluonlr.params"


@pytest.mark.parametrize("done", [1, 4, 9])
def test_resume_is_bitwise_equal_to_an_uninterrupted_run(tmp_path, path, done):
    target = tmp_path / "run.params"
    fit(X, y, path=path, epochs=done, checkpoint=target)
    resumed = fit(X, y, path=path, epochs=10, checkpoint=target, resume=True)
    assert_same_run(resumed, fit(X, y, path=path, epochs=10))
    assert read_checkpoint(target)[1]["epoch"] == 10


def test_resume_from_a_path_and_across_paths(tmp_path):
    """resume= may name the checkpoint; its parameters load on either path."""
    target = tmp_path / "run.params"
    fit(X, y, path="manual", epochs=3, checkpoint=target)
    resumed = fit(X, y, path="gluon", epochs=6, resume=target)
    straight = fit(X, y, path="gluon", epochs=6)
    np.testing.assert_allclose(resumed.weight, straight.weight, rtol=1e-5)
    assert resumed.history["loss"][:3] == read_checkpoint(target)[1]["history"]["loss"]


def last_epochs(run, epochs):
    """The trajectory of a run's last ``epochs`` epochs: what a run resumed that many epochs before its end records."""
    return SimpleNamespace(
        weight=run.weight,
        bias=run.bias,
        history={key: values[-epochs:] for key, values in run.history.items()},
        epoch_weights=run.epoch_weights[-epochs:],
        epoch_biases=run.epoch_biases[-epochs:],
    )


@pytest.mark.parametrize(("first", "then"), [("manual", "gluon"), ("gluon", "manual")])
@pytest.mark.parametrize(
    "options",
    [dict(lr=0.001, momentum=0.9), dict(lr=0.001, momentum=0.9, nesterov=True), dict(optimizer="adam", lr=0.5)],
    ids=["momentum", "nag", "adam"],
)
def test_optimizer_state_resumes_across_paths(tmp_path, first, then, options):
    """A checkpoint's optimizer state means the same on both paths: momentum's and NAG's velocity (its sign
    included), Adam's moments and update count. Resumed on the other path, the run goes on as that path's
    uninterrupted run, epoch by epoch, to float32 round-off."""
    target = tmp_path / "run.params"
    fit(X, y, path=first, epochs=2, checkpoint=target, **options)
    resumed = record_fit(X, y, path=then, epochs=5, resume=target, **options)
    straight = record_fit(X, y, path=then, epochs=5, **options)
    assert len(resumed.epoch_weights) == 3
    assert_runs_agree(last_epochs(resumed, 3), last_epochs(straight, 3), rtol=PATH_RTOL, names=("resumed", "straight"))


def test_resume_with_nothing_left_to_do(tmp_path, path):
    target = tmp_path / "run.params"
    first = fit(X, y, path=path, epochs=3, checkpoint=target)
    again = fit(X, y, path=path, epochs=3, checkpoint=target, resume=True)
    assert_same_run(again, first)


def test_resume_true_without_a_checkpoint_starts_afresh(tmp_path, path):
    result = fit(X, y, path=path, epochs=2, checkpoint=tmp_path / "new.params", resume=True)
    assert_same_run(result, fit(X, y, path=path, epochs=2))


def test_an_existing_checkpoint_is_not_overwritten(tmp_path):
    target = tmp_path / "run.params"
    fit(X, y, epochs=2, checkpoint=target)
    before = file_bytes(*checkpoint_files(target))
    with pytest.raises(CheckpointError, match=r"run.params' already exists, and fit\(checkpoint=...\) would replace"):
        fit(X, y, epochs=5, checkpoint=target)
    assert file_bytes(*checkpoint_files(target)) == before


def test_files_fit_did_not_write_are_never_replaced(tmp_path):
    """A saved model, any other file, or another run's checkpoint at the checkpoint path: refused, untouched."""
    model, notes = tmp_path / "model.params", tmp_path / "notes.txt"
    save(fit(X, y, epochs=2), model)
    notes.write_text("precious\n")
    other_run, this_run = tmp_path / "a.params", tmp_path / "b.params"
    fit(X, y, epochs=2, checkpoint=other_run)
    fit(X, y, epochs=2, lr=0.02, checkpoint=this_run)
    before = {path: path.read_bytes() for path in tmp_path.iterdir()}
    for kwargs in (
        dict(checkpoint=model),
        dict(checkpoint=model, resume=True),  # no .state beside it: nothing to resume, and the model is kept
        dict(checkpoint=notes),
        dict(checkpoint=this_run, resume=other_run),
    ):
        with pytest.raises(CheckpointError, match=r"already exists, and fit\(checkpoint=...\) would replace it"):
            fit(X, y, epochs=3, **kwargs)
    assert {path: path.read_bytes() for path in tmp_path.iterdir()} == before


def test_checkpoint_directory_paths(tmp_path):
    with pytest.raises(
        FileNotFoundError,
        match=r"Checkpoint file .*runs/gluonlr.params' cannot be written: the directory",
    ):
        fit(X, y, epochs=1, checkpoint=f"{tmp_path}/runs/")
    result = fit(X, y, epochs=1, checkpoint=tmp_path)
    assert load(tmp_path).weight.tobytes() == result.weight.tobytes()  # load reads a checkpoint directory


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (dict(lr=0.02), r"other arguments \(lr=0.01 there, 0.02 here\)"),
        (dict(batch_size=7, seed=1), r"batch_size=10 there, 7 here; seed=0 there, 1 here"),
        (dict(epochs=1), r"has 2 epochs done, more than epochs=1. Pass epochs >= 2"),
        (dict(X=X + 1), r"trained on other data \(300 x 2, another SHA-256\)"),
        (dict(lr=-1), r"'lr' parameter of fit must be a finite float > 0"),  # bad input: checked first
    ],
)
def test_resume_refuses_another_run_and_changes_nothing(tmp_path, change, match):
    target = tmp_path / "run.params"
    fit(X, y, epochs=2, checkpoint=target)
    before = file_bytes(*checkpoint_files(target))
    kwargs = {"X": X, "y": y, "epochs": 5, **change}
    with pytest.raises(ValueError, match=match):
        fit(kwargs.pop("X"), kwargs.pop("y"), checkpoint=target, resume=True, **kwargs)
    assert file_bytes(*checkpoint_files(target)) == before


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "not gluonlr"])
def test_corrupt_checkpoint_gives_a_clear_error(tmp_path, damage):
    target = tmp_path / "run.params"
    fit(X, y, epochs=2, checkpoint=target)
    state_file = checkpoint_files(target)[1]
    content = state_file.read_bytes()
    if damage == "truncate":
        state_file.write_bytes(content[: len(content) // 2])
    elif damage == "garbage":
        state_file.write_bytes(bytes(range(256)) * 4)
    elif damage == "empty":
        state_file.write_bytes(b"")
    else:
        with open(state_file, "wb") as file:
            np.savez(file, meta=np.array('{"format": "something else"}'))
    with pytest.raises(CheckpointError, match=r"run.params.state' is not a readable gluonlr checkpoint; it may be"):
        fit(X, y, epochs=4, checkpoint=target, resume=True)


def test_a_failed_checkpoint_write_keeps_the_previous_one(tmp_path, path, monkeypatch):
    """A crash mid-write (here: an error after half the file) leaves the last good checkpoint, and no temp file."""
    target = tmp_path / "run.params"
    fit(X, y, path=path, epochs=2, checkpoint=target)
    before = file_bytes(*checkpoint_files(target))
    real_savez = np.savez

    def crash_midway(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise OSError("No space left on device")

    monkeypatch.setattr(persistence_module.np, "savez", crash_midway)
    with pytest.raises(OSError, match="No space left on device"):
        fit(X, y, path=path, epochs=5, checkpoint=target, resume=True)
    assert file_bytes(*checkpoint_files(target)) == before
    assert sorted(os.listdir(tmp_path)) == ["run.params", "run.params.state"]

    monkeypatch.setattr(persistence_module.np, "savez", real_savez)
    resumed = fit(X, y, path=path, epochs=5, checkpoint=target, resume=True)
    assert_same_run(resumed, fit(X, y, path=path, epochs=5))


def test_divergence_leaves_the_last_good_checkpoint(tmp_path, path):
    target = tmp_path / "run.params"
    with pytest.raises(DivergenceError) as info:
        fit(X, y, path=path, lr=0.1, checkpoint=target)
    state, meta = read_checkpoint(target)
    assert meta["epoch"] == info.value.epoch == 2
    assert state["weight"].tobytes() == info.value.weight.reshape(1, 2).tobytes()


@pytest.mark.slow
def test_killed_training_resumes_bitwise(tmp_path, path):
    """Kill (SIGKILL) a training process mid-run; resuming its checkpoint gives the uninterrupted result."""
    target = tmp_path / "run.params"
    script = textwrap.dedent(
        f"""
        import time
        from gluonlr import fit, synthetic_data
        from gluonlr.callbacks import Callback

        class Slow(Callback):  # time for the parent to kill it mid-run; changes no result
            def on_epoch_end(self, epoch, logs):
                time.sleep(0.2)

        fit(*synthetic_data(), path={path!r}, epochs=40, checkpoint={str(target)!r}, callbacks=[Slow()])
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if read_checkpoint(target)[1]["epoch"] >= 3:
                    break
            except (FileNotFoundError, CheckpointError):
                pass
            time.sleep(0.05)
        assert process.poll() is None, "the training process ended before it could be killed"
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    done = read_checkpoint(target)[1]["epoch"]
    assert 3 <= done < 40

    epochs_run = []

    class Count(Callback):
        def on_epoch_end(self, epoch, logs):
            epochs_run.append(epoch)

    resumed = fit(X, y, path=path, epochs=40, checkpoint=target, resume=True, callbacks=[Count()])
    assert epochs_run == list(range(done, 40))
    assert_same_run(resumed, fit(X, y, path=path, epochs=40))


def test_files_get_the_usual_mode(tmp_path):
    """Not mkstemp's 0o600: a new file gets 0o666 less the umask, a replaced one keeps its mode."""
    umask = os.umask(0)
    os.umask(umask)
    save(fit(X, y, epochs=1), tmp_path / "new.params")
    assert (tmp_path / "new.params").stat().st_mode & 0o777 == 0o666 & ~umask
    (tmp_path / "old.params").write_bytes(b"")
    os.chmod(tmp_path / "old.params", 0o640)
    save(fit(X, y, epochs=1), tmp_path / "old.params")
    assert (tmp_path / "old.params").stat().st_mode & 0o777 == 0o640


def test_a_killed_writers_temporary_file_is_removed_by_the_next_write(tmp_path):
    stale = tmp_path / ".model.params.abc123.tmp"  # as mkstemp names them
    stale.write_bytes(b"half")
    other = tmp_path / ".other.params.abc123.tmp"
    other.write_bytes(b"not ours")
    save(fit(X, y, epochs=1), tmp_path / "model.params")
    assert sorted(os.listdir(tmp_path)) == [".other.params.abc123.tmp", "model.params"]


@pytest.mark.parametrize("written", [b"", b"\x12\x01\x00\x00\x00\x00\x00\x00"])
def test_a_write_mxnet_does_not_report_is_caught(tmp_path, monkeypatch, path, written):
    """MXNet's nd.save returns without an error on a full disk (nd.save('/dev/full', ...) succeeds): the file is
    read back before it replaces the old one, so a truncated model never does."""
    target, run = tmp_path / "model.params", tmp_path / "run.params"
    save(fit(X, y, path=path, epochs=1), target)
    before = target.read_bytes()

    def silently_truncated(name, arrays):
        with open(name, "wb") as file:
            file.write(written)

    monkeypatch.setattr(persistence_module.nd, "save", silently_truncated)
    with pytest.raises(OSError, match=r"'.*model.params' cannot be written: the parameters written did not read back"):
        save(fit(X, y, path=path, epochs=2), target)
    assert target.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["model.params"]
    with pytest.raises(OSError, match=r"did not read back"):
        fit(X, y, path=path, epochs=2, checkpoint=run)
    assert not run.exists()


# ---------------------------------------------------------------- issue 23: full disks, crashes, hostile files

NAMED_X = __import__("pandas").DataFrame(X, columns=["a", "b"])


def _no_space(monkeypatch, module, suffix):
    """Make ``module.open`` (and Path.write_text) raise ENOSPC when writing a temporary file of ``suffix``."""
    import builtins
    import errno
    import pathlib

    real_open, real_write_text = builtins.open, pathlib.Path.write_text

    class Full:
        def __init__(self, file):
            self.file = file

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.file, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

    def full_open(file, mode="r", *args, **kwargs):
        opened = real_open(file, mode, *args, **kwargs)
        return Full(opened) if "w" in mode and f"{suffix}." in os.fspath(file) else opened

    def full_write_text(self, *args, **kwargs):
        if f"{suffix}." in self.name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write_text(self, *args, **kwargs)

    monkeypatch.setattr(module, "open", full_open, raising=False)
    monkeypatch.setattr(pathlib.Path, "write_text", full_write_text)


def test_a_failed_save_leaves_the_model_and_its_names_as_they_were(tmp_path, monkeypatch):
    """Issue 23, 5: the names file failing on a full disk had already replaced the model file."""
    target = tmp_path / "model.params"
    save(fit(NAMED_X, y, epochs=2), target)
    before = file_bytes(target, tmp_path / "model.params.features.json")
    _no_space(monkeypatch, persistence_module, ".features.json")
    with pytest.raises(OSError, match=r"features\.json' cannot be written: No space left on device\.$"):
        save(fit(NAMED_X[["b", "a"]], y, epochs=3), target)
    monkeypatch.undo()
    assert file_bytes(target, tmp_path / "model.params.features.json") == before
    assert sorted(os.listdir(tmp_path)) == ["model.params", "model.params.features.json"]
    assert load(target).feature_names == ("a", "b")


def test_the_names_file_is_read_with_a_bound(tmp_path, monkeypatch):
    """Issue 23, 3: the names file was read whole (a link to a 3 GB sparse file: 6.5 GB)."""
    import tracemalloc

    target = tmp_path / "model.params"
    save(fit(X, y, epochs=1), target)
    huge = tmp_path / "huge"
    with open(huge, "wb") as file:
        file.truncate(64 << 20)  # sparse: no disk used
    (tmp_path / "model.params.features.json").symlink_to(huge)
    monkeypatch.setattr(persistence_module, "_FEATURES_MAX_BYTES", 1 << 16, raising=False)
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=r"features\.json' .*: it has more than 65536 bytes, the most"):
            load(target)  # not read whole, and not dropped in silence either
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, peak
    with pytest.raises(FileExistsError, match="is no feature names file of gluonlr"):
        save(fit(NAMED_X, y, epochs=1), target)


def test_a_crash_between_the_renames_of_a_checkpoint_loads_the_committed_model(tmp_path, monkeypatch):
    """Issue 23, 7: after kill -9, the model file could be an epoch behind its state file; load returned it."""
    from gluonlr import _files

    path = tmp_path / "run.params"
    fit(X, y, epochs=2, checkpoint=path)
    renames = []
    real_replace = os.replace

    def crash_after_one(src, dst):
        if renames:
            raise KeyboardInterrupt  # killed between the two renames
        renames.append(dst)
        real_replace(src, dst)

    monkeypatch.setattr(_files.os, "replace", crash_after_one)
    with pytest.raises(KeyboardInterrupt):
        fit(X, y, epochs=3, checkpoint=path, resume=path)
    monkeypatch.undo()
    state, meta = read_checkpoint(path)
    assert meta["epoch"] == 3 and [p.name for p in renames] == ["run.params.state"]
    loaded = load(path)
    np.testing.assert_array_equal(loaded.weight, state["weight"].reshape(-1))
    np.testing.assert_array_equal(loaded.bias, state["bias"][0])
    # A model saved over the checkpoint since is the user's, read as it is.
    other = FitResult(weight=np.array([5.0, 6.0], np.float32), bias=7.0, history={}, path=None)
    save(other, path)
    assert load(path).weight.tolist() == [5.0, 6.0]


def _state_with_a_bomb(state_file, model_file, bomb=None, size=128 << 20):
    """A state file that commits ``[9, 9], 9`` over ``model_file``; its entry ``bomb`` deflated from ``size`` bytes."""
    import hashlib
    import json
    import zipfile

    previous = hashlib.sha256(model_file.read_bytes()).hexdigest()
    commit = json.dumps({"format": "gluonlr.checkpoint", "model_sha256": "0" * 64, "previous_model_sha256": previous})
    small = {
        "meta": np.array(commit),
        "commit": np.array(commit),
        "model/weight": np.full((1, 2), 9, np.float32),
        "model/bias": np.full(1, 9, np.float32),
    }
    with zipfile.ZipFile(state_file, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, array in small.items():
            if name != bomb:
                with archive.open(f"{name}.npy", "w") as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)
        if bomb is None:
            return
        with archive.open(f"{bomb}.npy", "w", force_zip64=True) as member:
            if bomb == "model/weight":  # zeros: a finite weight of size / 4 features
                header = {"descr": "<f4", "fortran_order": False, "shape": (1, size // 4)}
                head, pad, tail = b"", b"\0", b""
            else:  # valid JSON: the commit, spaces, its closing brace
                header = {"descr": f"<U{size // 4}", "fortran_order": False, "shape": ()}
                head, pad, tail = commit[:-1].encode("utf-32-le"), " ".encode("utf-32-le"), "}".encode("utf-32-le")
            np.lib.format.write_array_header_1_0(member, header)
            member.write(head)
            left = size - len(head) - len(tail)
            for _ in range(left >> 20):
                member.write(pad * ((1 << 20) // len(pad)))
            member.write(pad * ((left & ((1 << 20) - 1)) // len(pad)) + tail)
    assert state_file.stat().st_size < 1 << 20  # a small file


@pytest.mark.parametrize("bomb", ["meta", "commit", "model/weight"])
def test_load_reads_a_bounded_part_of_the_state_file(tmp_path, bomb):
    """Issue 23: load read the whole state file beside a model (a 306 KB deflated one took ~600 MB)."""
    import tracemalloc

    path = tmp_path / "run.params"
    fit(X, y, epochs=2, checkpoint=path)
    expected = load(path)
    state_file = checkpoint_files(path)[1]
    _state_with_a_bomb(state_file, path, bomb)
    tracemalloc.start()
    try:
        loaded = load(path)  # the commit entry and the model's entries only, each bounded
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, peak
    if bomb == "meta":  # not read: the commit entry commits the state's model
        assert (loaded.weight.tolist(), loaded.bias) == ([9.0, 9.0], 9.0)
    else:  # refused by its size: the state file is not used, the model file is read as it is
        assert loaded.weight.tobytes() == expected.weight.tobytes() and loaded.bias == expected.bias
    # Small entries of the same kind: the state file commits its model, or its JSON, if it is the commit entry.
    _state_with_a_bomb(state_file, path, bomb, size=4096)
    if bomb == "model/weight":  # a weight of 1024 features over a model file of 2: not this model's, not used
        assert load(path).weight.tobytes() == expected.weight.tobytes()
    else:
        assert (load(path).weight.tolist(), load(path).bias) == ([9.0, 9.0], 9.0)
    _state_with_a_bomb(state_file, path)
    assert (load(path).weight.tolist(), load(path).bias) == ([9.0, 9.0], 9.0)


def test_a_full_disk_during_a_checkpoint_is_one_error(tmp_path, monkeypatch):
    """Issue 23, 9: ZipFile.__del__ printed 'seek of closed file' after the error: nothing may be left open."""
    import gc

    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    path = tmp_path / "run.params"
    _no_space(monkeypatch, persistence_module, ".state")
    with pytest.raises(OSError, match=r"^Checkpoint file '.*run\.params\.state' cannot be written: No space left"):
        fit(X, y, epochs=2, checkpoint=path)
    gc.collect()
    assert unraisable == []
    assert os.listdir(tmp_path) == []
