"""The console script, run as users run it: in a subprocess."""

import json
import os
import shutil
import stat
import subprocess
import sys

import numpy as np
import pytest

from conftest import read_and_close

GLUONLR = shutil.which("gluonlr", path=os.path.dirname(sys.executable)) or shutil.which("gluonlr")


def run(*args, script=True):
    command = [GLUONLR] if script else [sys.executable, "-m", "gluonlr"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def demo_json():
    completed = run("demo", "--json")
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    return json.loads(completed.stdout)


def test_console_script_is_installed():
    assert GLUONLR is not None, "the gluonlr console script is not on PATH; install the package (pip install .)"


@pytest.mark.slow
def test_demo_json(demo_json):
    assert set(demo_json) == {"true_w", "true_b", "manual", "gluon", "max_abs_diff"}
    assert demo_json["true_w"] == [2.0, 51.0] and demo_json["true_b"] == 21.2
    for path in ("manual", "gluon"):
        assert set(demo_json[path]) == {"w", "b", "history"}
        np.testing.assert_allclose(demo_json[path]["w"], [2, 51], atol=1e-2)
        assert abs(demo_json[path]["b"] - 21.2) < 1e-2
        assert len(demo_json[path]["history"]["loss"]) == 10
    diff = max(
        *np.abs(np.subtract(demo_json["manual"]["w"], demo_json["gluon"]["w"])),
        abs(demo_json["manual"]["b"] - demo_json["gluon"]["b"]),
    )
    assert demo_json["max_abs_diff"] == pytest.approx(diff)
    assert demo_json["max_abs_diff"] < 1e-4


@pytest.mark.slow
def test_demo_text_and_options():
    completed = run(
        "demo",
        "--epochs",
        "2",
        "--lr",
        "0.005",
        "--batch-size",
        "7",
        "--seed",
        "3",
        "--loss",
        "l2",
        "--reduction",
        "mean",
        script=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "true      w = [2.0, 51.0], b = 21.2" in completed.stdout
    assert "largest difference between the paths" in completed.stdout


@pytest.mark.slow
def test_demo_options_reach_fit():
    completed = run("demo", "--json", "--epochs", "3", "--lr", "0.001")
    report = json.loads(completed.stdout)
    assert len(report["manual"]["history"]["loss"]) == 3
    assert np.abs(np.subtract(report["gluon"]["w"], [2, 51])).max() > 1  # a small lr has not converged


@pytest.mark.slow
def test_demo_training_options():
    completed = run(
        "demo", "--json", "--epochs", "4", "--optimizer", "adam", "--lr", "0.5", "--lr-schedule", "step",
        "--validation-split", "0.2", "--loss", "huber", "--progress",
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    history = json.loads(completed.stdout)["gluon"]["history"]
    assert history["lr"] == [0.5, 0.25, 0.125, 0.0625] and len(history["val_loss"]) == 4
    assert "gluonlr manual" in completed.stderr and "4/4" in completed.stderr  # --progress: bars on stderr
    quiet = run("demo", "--epochs", "2", "--momentum", "0.9", "-q")
    assert quiet.returncode == 0 and quiet.stderr == ""


@pytest.mark.slow
def test_demo_option_errors():
    usage = run("demo", "--momentum", "1.5")
    assert usage.returncode == 2
    assert "argument --momentum: must be a float in [0, 1) (also as a float32). Got 1.5 instead." in usage.stderr
    conflict = run("demo", "--optimizer", "adam", "--momentum", "0.9")
    assert conflict.returncode == 1 and "Traceback" not in conflict.stderr
    assert (
        conflict.stderr == "gluonlr: error: The 'momentum' parameter of fit applies to optimizer='sgd', not 'adam'.\n"
    )


@pytest.mark.slow
def test_demo_plot_writes_a_png(tmp_path):
    target = tmp_path / "article.png"
    completed = run("demo", "--plot", str(target), "--epochs", "2")
    assert completed.returncode == 0, completed.stderr
    assert f"plot written to {target}" in completed.stdout
    data = target.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
    from matplotlib.image import imread

    image = imread(target)
    assert image.shape[0] > 200 and image.shape[1] > 400
    assert image[..., :3].std() > 0.05  # not a blank canvas


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["demo", "--lr", "-1"], "argument --lr: must be a finite float > 0"),
        (["demo", "--lr", "nan"], "argument --lr: must be a finite float > 0 or 'auto'. Got nan instead."),
        (["demo", "--lr", "1e39"], "argument --lr: must be between 1.18e-38 and 3.4e+38 in magnitude"),
        (["demo", "--epochs", "0"], "argument --epochs: must be an int >= 1"),
        (["demo", "--loss", "mse"], "argument --loss: invalid choice"),
        (["demo", "--bogus"], "unrecognized arguments: --bogus"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_bad_flags_give_usage_errors(args, message):
    completed = run(*args)
    assert completed.returncode == 2
    assert "usage: gluonlr" in completed.stderr and message in completed.stderr
    assert "Traceback" not in completed.stderr


@pytest.mark.slow
def test_version():
    from gluonlr import __version__

    completed = run("--version")
    assert completed.returncode == 0 and completed.stdout.strip() == f"gluonlr {__version__}"


@pytest.mark.slow
def test_divergence_is_an_error_message_not_a_traceback():
    completed = run("demo", "--lr", "10")
    assert completed.returncode == 1
    assert completed.stderr.startswith("gluonlr: error: Training diverged in epoch 1/10: the loss became")
    assert "Try a smaller lr (it is 10.0; e.g. 1)" in completed.stderr
    assert "Traceback" not in completed.stderr and completed.stdout == ""


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--lr", "inf", "must be a finite float > 0 or 'auto'. Got inf instead."),
        ("--lr", "fast", "must be a finite float > 0 or 'auto'. Got 'fast' instead."),
        ("--lr", "1e-39", "must be between 1.18e-38 and 3.4e+38 in magnitude: MXNet's operators take it as a float32"),
        ("--momentum", "nan", "must be a float in [0, 1) (also as a float32). Got nan instead."),
        ("--validation-split", "0.99999999", "must be a float in [0, 1) (also as a float32). Got 0.99999999 instead."),
        ("--seed", "-1", "must be an int >= 0. Got -1 instead."),
        ("--epochs", "1.5", "must be an int. Got '1.5' instead."),
        ("--batch-size", "0", "must be an int >= 1 or 'auto'. Got 0 instead."),
    ],
)
def test_every_value_fit_would_refuse_is_a_usage_error(capsys, flag, value, message):
    """The flags are checked by fit's own validators: one rule, stated once, and one exit status."""
    from gluonlr.cli import build_parser

    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["demo", flag, value])
    assert info.value.code == 2
    assert f"gluonlr demo: error: argument {flag}: {message}" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("target", ["missing/plot.png", "folder", "folder/", "read-only.png", "full"])
def test_the_plot_file_is_checked_before_training(tmp_path, target):
    """Nothing trains (no progress bar) and nothing is printed (no JSON) when --plot cannot be written.

    ``full`` is a twin of /dev/full, made here: a test must never risk the machine's own devices.
    """
    (tmp_path / "folder").mkdir()
    (tmp_path / "read-only.png").write_bytes(b"")
    (tmp_path / "read-only.png").chmod(0o444)
    if target == "full":
        try:
            os.mknod(tmp_path / "full", stat.S_IFCHR | 0o666, os.makedev(1, 7))
        except PermissionError:
            pytest.skip("mknod needs root")
    plot = f"{tmp_path}/{target}"
    completed = run("demo", "--json", "--progress", "--plot", plot)
    assert completed.returncode == 1 and completed.stdout == ""
    assert completed.stderr.startswith(f"gluonlr: error: --plot {plot!r} ") and completed.stderr.count("\n") == 1
    assert (tmp_path / "read-only.png").read_bytes() == b"" and os.listdir(tmp_path / "folder") == []
    if target == "full":
        assert stat.S_ISCHR((tmp_path / "full").stat().st_mode)


@pytest.mark.slow
def test_a_closed_pipe_ends_the_demo_quietly():
    """As `gluonlr demo --json | head -c 10`: status 141, as a tool killed by SIGPIPE, and nothing on stderr.

    The report is made longer than a pipe holds (64 KiB), so the demo is still writing when the reader goes.
    """
    command = [sys.executable, "-m", "gluonlr", "demo", "-q", "--json", "--epochs", "2000", "--batch-size", "300"]
    command += ["--reduction", "mean", "--lr", "0.1"]
    head, stderr, status = read_and_close(command, 10)
    assert head == b'{"true_w":'
    assert stderr == b"" and status == 141
