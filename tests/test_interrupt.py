"""Ctrl-C during fit stops cleanly after the current batch and returns what was learned."""

import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from gluonlr import PATHS, DivergenceError, fit, initial_params, synthetic_data
from gluonlr.callbacks import Callback

X, y = synthetic_data()  # 30 batches of 10 per epoch


class CtrlCAfterEpoch(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs):
        if epoch == self.epoch:
            signal.raise_signal(signal.SIGINT)


@pytest.fixture
def ctrl_c_at_batch(monkeypatch, path):
    """Press Ctrl-C (SIGINT) in the given training steps (counted from 1 over the run; repeat a step to press twice)."""

    def install(*steps):
        learner, calls = PATHS[path], []
        original = learner.train_step

        def train_step(self, x, y):
            calls.append(1)
            for _ in range(steps.count(len(calls))):
                signal.raise_signal(signal.SIGINT)
            return original(self, x, y)

        monkeypatch.setattr(learner, "train_step", train_step)
        return calls

    return install


def test_ctrl_c_between_epochs_stops_after_the_epoch(path):
    result = fit(X, y, path=path, epochs=10, callbacks=[CtrlCAfterEpoch(1)])
    assert result.interrupted and result.stopped_epoch == 1
    assert result.stop_reason == "interrupted (Ctrl-C) after epoch 2/10"
    two = fit(X, y, path=path, epochs=2)
    assert result.weight.tobytes() == two.weight.tobytes() and result.history == two.history
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored


def test_ctrl_c_mid_epoch_stops_after_the_current_batch(path, ctrl_c_at_batch):
    calls = ctrl_c_at_batch(35)  # epoch 2 (index 1), its 5th batch
    result = fit(X, y, path=path, epochs=10)
    assert len(calls) == 35  # the batch in which Ctrl-C came was finished, no other was started
    assert result.interrupted and result.stopped_epoch == 1
    assert result.stop_reason == "interrupted (Ctrl-C) in epoch 2/10"
    assert len(result.history["loss"]) == 1  # complete epochs only
    assert np.isfinite(result.weight).all()
    one = fit(X, y, path=path, epochs=1)
    assert not np.array_equal(result.weight, one.weight)  # the five batches of epoch 2 were applied
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_second_ctrl_c_stops_at_once(path, ctrl_c_at_batch):
    ctrl_c_at_batch(3, 3)  # pressed twice before the batch ends
    with pytest.raises(KeyboardInterrupt):
        fit(X, y, path=path, epochs=10)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_handler_of_the_program_is_left_alone(path):
    """fit installs its handler only over Python's default one."""
    seen = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))
    try:
        result = fit(X, y, path=path, epochs=3, callbacks=[CtrlCAfterEpoch(0)])
        assert seen == [signal.SIGINT] and not result.interrupted and len(result.history["loss"]) == 3
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.fixture
def sigint_ignored():
    """SIGINT ignored, as in a process started in the background by a shell without job control."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    yield
    signal.signal(signal.SIGINT, previous)


def test_an_ignored_sigint_stays_ignored(path, sigint_ignored):
    """fit installs its handler only over Python's default one: `nohup python train.py &` keeps ignoring Ctrl-C."""
    result = fit(X, y, path=path, epochs=3, callbacks=[CtrlCAfterEpoch(0)])
    assert not result.interrupted and len(result.history["loss"]) == 3
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_fit_runs_outside_the_main_thread(path):
    results = []
    thread = threading.Thread(target=lambda: results.append(fit(X, y, path=path, epochs=2)))
    thread.start()
    thread.join()
    assert len(results) == 1 and not results[0].interrupted


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT is POSIX")
def test_ctrl_c_in_the_demo_exits_cleanly(popen):
    """A real Ctrl-C to the demo, once it runs: a one-line message, exit status 130, no traceback."""
    # Python's own SIGINT handler, as a demo started from a terminal has it, whatever this process passes on: a
    # child inherits an ignored SIGINT (a suite started by `nohup ... &`), and would never see the Ctrl-C.
    script = (
        "import signal, sys, gluonlr.cli; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "print('ready', flush=True); sys.exit(gluonlr.cli.main(['demo', '--epochs', '100000']))"
    )
    process = popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "ready\n"  # imports done: main() is starting
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    # Ctrl-C lands inside an epoch, between two (in a callback or the loss read), or before fit began.
    assert re.fullmatch(
        r"gluonlr: (the manual path was interrupted \(Ctrl-C\) (in|after) epoch \d+/100000; stopping\.|interrupted)\n",
        stderr,
    ), stderr


def test_ctrl_c_during_the_last_epochs_callbacks_is_not_lost(path):
    result = fit(X, y, path=path, epochs=3, callbacks=[CtrlCAfterEpoch(2)])
    assert result.interrupted and result.stopped_epoch is None and len(result.history["loss"]) == 3


def test_ctrl_c_never_returns_nan_weights(path, ctrl_c_at_batch):
    """lr=10 blows the weights up within a few batches; Ctrl-C in epoch 1 then raises DivergenceError."""
    ctrl_c_at_batch(25)
    with pytest.raises(DivergenceError, match=r"Training diverged in epoch 1/10: the parameters became NaN") as info:
        fit(X, y, path=path, lr=10.0)
    np.testing.assert_array_equal(info.value.weight, initial_params(2, seed=0)[0])
