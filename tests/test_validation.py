"""Validation data, metrics, early stopping, progress, and resuming runs that use them."""

import itertools
import signal

import numpy as np
import pytest

from gluonlr import fit, synthetic_data
from gluonlr.callbacks import Callback, EarlyStopping, ProgressBar
from gluonlr.metrics import R2, r2_score
from gluonlr.persistence import read_checkpoint

X, y = synthetic_data(n=100)
METRICS = ("mse", "rmse", "mae", "r2")


def assert_same_run(a, b):
    assert a.weight.tobytes() == b.weight.tobytes() and a.bias == b.bias and a.history == b.history


def test_validation_split_holds_out_the_last_samples(path):
    """Keras' convention: the last 20% validate; the metrics are those of the final model, on each part."""
    result = fit(X, y, path=path, epochs=3, validation_split=0.2, metrics=METRICS)
    assert set(result.history) == {"loss", "lr", *METRICS, "val_loss", *(f"val_{m}" for m in METRICS)}
    assert all(len(values) == 3 for values in result.history.values())
    for part, prefix in ((slice(0, 80), ""), (slice(80, 100), "val_")):
        errors = result.predict(X[part]) - y[part]
        last = {key: result.history[prefix + key][-1] for key in METRICS}
        assert last["mse"] == pytest.approx(np.mean(errors**2), rel=1e-5)
        assert last["rmse"] == pytest.approx(np.sqrt(np.mean(errors**2)), rel=1e-5)
        assert last["mae"] == pytest.approx(np.mean(np.abs(errors)), rel=1e-5)
        assert last["r2"] == pytest.approx(result.score(X[part], y[part]), rel=1e-6)
    assert result.history["val_loss"][-1] == pytest.approx(result.history["val_mse"][-1], rel=1e-5)  # squared loss
    trained_on_80 = fit(X[:80], y[:80], path=path, epochs=3)
    assert result.weight.tobytes() == trained_on_80.weight.tobytes()


def test_validation_data_is_the_same_as_a_split(path):
    split = fit(X, y, path=path, epochs=2, validation_split=0.2, metrics=["r2"])
    given = fit(X[:80], y[:80], path=path, epochs=2, validation_data=(X[80:], y[80:]), metrics=["r2"])
    assert_same_run(split, given)


def test_training_metrics_without_validation(path):
    result = fit(X, y, path=path, epochs=2, metrics=["mae"])
    assert set(result.history) == {"loss", "lr", "mae"}


def test_r2_by_closed_form():
    y_true = np.array([1.0, 2.0, 4.0, 7.0])
    y_pred = np.array([1.5, 2.0, 3.0, 7.5])
    closed_form = 1 - np.sum((y_true - y_pred) ** 2) / np.sum((y_true - y_true.mean()) ** 2)
    assert r2_score(y_true, y_pred) == pytest.approx(closed_form, rel=1e-12)
    assert r2_score([2.0, 2.0], [2.0, 2.0]) == 1.0 and r2_score([2.0, 2.0], [1.0, 2.0]) == 0.0
    from gluonlr._mxnet import nd

    metric = R2()
    metric.update([nd.array(y_true)], [nd.array(y_pred)])
    assert metric.get() == ("r2", pytest.approx(closed_form, rel=1e-6))


def test_early_stopping_stops_and_restores_the_best_epoch(path):
    stopper = EarlyStopping(patience=2)
    result = fit(X, y, path=path, epochs=200, validation_split=0.2, early_stopping=stopper)
    val = result.history["val_loss"]
    best = int(np.argmin(val))
    assert result.stopped_epoch == best + 2 < 199  # two epochs without improvement after the best
    assert result.stop_reason == (
        f"early stopping: val_loss did not improve by more than 0 for 2 epochs; best {val[best]:.6g} in epoch "
        f"{best + 1}, whose parameters were restored"
    )
    at_best = fit(X, y, path=path, epochs=best + 1, validation_split=0.2)
    assert result.weight.tobytes() == at_best.weight.tobytes() and result.bias == at_best.bias


def test_early_stopping_options(path):
    kept = fit(
        X, y, path=path, epochs=200, early_stopping=EarlyStopping("loss", patience=0, restore_best_weights=False)
    )
    losses = kept.history["loss"]
    assert losses[-1] >= losses[-2] and all(a > b for a, b in itertools.pairwise(losses[:-1]))
    assert "restored" not in kept.stop_reason
    by_r2 = fit(
        X, y, path=path, epochs=200, validation_split=0.2, metrics=["r2"], early_stopping=EarlyStopping("val_r2")
    )
    r2 = by_r2.history["val_r2"]
    assert by_r2.stopped_epoch == int(np.argmax(r2)) + 5  # higher is better for R²
    generous = fit(X, y, path=path, epochs=5, validation_split=0.2, early_stopping=True)
    assert generous.stopped_epoch is None  # patience 5 is not used up in 5 epochs
    with pytest.raises(ValueError, match="'patience' parameter of EarlyStopping must be an int >= 0"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="'mode' parameter of EarlyStopping must be 'auto', 'min' or 'max'"):
        EarlyStopping(mode="up")


@pytest.mark.parametrize(("monitor", "min_delta"), [("loss", 0.01), ("r2", 1e-3)])
def test_early_stopping_min_delta(path, monitor, min_delta):
    """With patience 0 the run stops at the first epoch that does not beat the one before by more than min_delta,
    in the monitored value's better direction (lower loss, higher R²): earlier than min_delta=0 would."""
    options = dict(path=path, epochs=30, metrics=["r2"])
    values = fit(X, y, **options).history[monitor]
    better = 1 if monitor == "r2" else -1
    gains = [better * (after - before) for before, after in itertools.pairwise(values)]
    expected = next(epoch for epoch, gain in enumerate(gains, start=1) if gain <= min_delta)
    assert 1 < expected < next(epoch for epoch, gain in enumerate(gains, start=1) if gain <= 0)
    stopper = EarlyStopping(monitor, min_delta=min_delta, patience=0, restore_best_weights=False)
    result = fit(X, y, early_stopping=stopper, **options)
    assert result.stopped_epoch == expected
    assert result.history[monitor] == values[: expected + 1]
    assert f"{monitor} did not improve by more than {min_delta:g} for 1 epochs; best {values[expected - 1]:.6g}" in (
        result.stop_reason
    )


@pytest.mark.parametrize(
    "options",
    [
        dict(optimizer="sgd", momentum=0.9, nesterov=True),
        dict(optimizer="adam", lr=0.5, lr_schedule="cosine"),
        dict(lr_schedule="step", validation_split=0.2, metrics=["r2"], early_stopping=EarlyStopping(patience=1)),
    ],
    ids=["nag", "adam-cosine", "early-stopping"],
)
def test_resume_with_optimizer_schedule_and_early_stopping_state(tmp_path, path, options):
    """Momentum buffers, Adam's moments and step count, the schedule's position and EarlyStopping's patience
    all survive a checkpoint: the resumed run is bitwise the uninterrupted one."""
    target = tmp_path / "run.params"

    def run(epochs, **more):
        kwargs = dict(options)
        if "early_stopping" in kwargs:
            kwargs["early_stopping"] = EarlyStopping(patience=1)  # a fresh one per run
        return fit(X, y, path=path, epochs=epochs, **kwargs, **more)

    class CtrlCAfter3(Callback):  # a run interrupted after 3 of its 30 epochs, its checkpoint left behind
        def on_epoch_end(self, epoch, logs):
            if epoch == 2:
                signal.raise_signal(signal.SIGINT)

    straight = run(30)
    assert run(30, checkpoint=target, callbacks=[CtrlCAfter3()]).interrupted
    state, _ = read_checkpoint(target)
    assert int(state["updates"]) == 3 * (80 if "validation_split" in options else 100) // 10
    resumed = run(30, checkpoint=target, resume=True)
    assert_same_run(resumed, straight)
    assert resumed.stopped_epoch == straight.stopped_epoch


def test_progress_bar(capfd, path):
    fit(X, y, path=path, epochs=3, verbose=1, validation_split=0.2)
    err = capfd.readouterr().err
    assert f"gluonlr {path}" in err and "3/3" in err and "loss=" in err and "val_loss=" in err
    fit(X, y, path=path, epochs=3, verbose=0)
    fit(X, y, path=path, epochs=3)  # "auto": stderr is not a terminal here
    assert capfd.readouterr().err == ""


def test_a_resumed_run_s_progress_bar_starts_at_the_epochs_done(capfd, tmp_path, path):
    target = tmp_path / "run.params"
    fit(X, y, path=path, epochs=2, checkpoint=target)
    resumed = fit(X, y, path=path, epochs=5, checkpoint=target, resume=True, callbacks=[ProgressBar()])
    err = capfd.readouterr().err
    assert f"gluonlr {path}:  40%" in err and "2/5" in err and "5/5" in err and "0/5" not in err
    assert f"loss={resumed.history['loss'][-1]:.4g}" in err.rsplit("5/5", 1)[1]  # the last epoch's loss, at the end


def test_a_cosine_run_resumes_only_to_the_same_length(tmp_path):
    """The cosine schedule spans the run: continuing to another number of epochs would be another schedule."""
    target = tmp_path / "run.params"
    fit(X, y, epochs=3, lr_schedule="cosine", checkpoint=target)
    with pytest.raises(ValueError, match=r"the cosine schedule spans the run's epochs \(3 there, 5 here\)"):
        fit(X, y, epochs=5, lr_schedule="cosine", checkpoint=target, resume=True)


def test_resume_checks_sample_weights_and_validation_data_too(tmp_path):
    target = tmp_path / "run.params"
    weights = np.linspace(0.5, 1.5, 80)
    val = (X[80:], y[80:])
    fit(X[:80], y[:80], epochs=2, sample_weight=weights, validation_data=val, checkpoint=target)
    with pytest.raises(ValueError, match="Cannot resume: the checkpoint was trained on other data"):
        fit(X[:80], y[:80], epochs=4, sample_weight=weights[::-1], validation_data=val, checkpoint=target, resume=True)
    with pytest.raises(ValueError, match="Cannot resume: the checkpoint was trained on other data"):
        fit(
            X[:80],
            y[:80],
            epochs=4,
            sample_weight=weights,
            validation_data=(X[:20], y[:20]),
            checkpoint=target,
            resume=True,
        )
    with pytest.raises(ValueError, match=r"other arguments \(sample_weight=True there, False here\)"):
        fit(X[:80], y[:80], epochs=4, validation_data=val, checkpoint=target, resume=True)
    resumed = fit(X[:80], y[:80], epochs=4, sample_weight=weights, validation_data=val, checkpoint=target, resume=True)
    straight = fit(X[:80], y[:80], epochs=4, sample_weight=weights, validation_data=val)
    assert_same_run(resumed, straight)


def test_a_run_that_stopped_early_stays_stopped_when_resumed(tmp_path, path):
    """The checkpoint of the epoch in which early stopping fired holds the restored weights and the stop."""
    target = tmp_path / "run.params"
    options = dict(path=path, epochs=200, validation_split=0.2)
    straight = fit(X, y, early_stopping=EarlyStopping(patience=2), **options)
    first = fit(X, y, early_stopping=EarlyStopping(patience=2), checkpoint=target, **options)
    again = fit(X, y, early_stopping=EarlyStopping(patience=2), checkpoint=target, resume=True, **options)
    for result in (first, again):
        assert_same_run(result, straight)
        assert (result.stopped_epoch, result.stop_reason) == (straight.stopped_epoch, straight.stop_reason)
    assert read_checkpoint(target)[1]["stopped"] == {"epoch": straight.stopped_epoch, "reason": straight.stop_reason}


def test_a_run_interrupted_right_after_its_best_epoch_resumes_to_the_same_stop(tmp_path, path):
    """The checkpoint after the best epoch holds EarlyStopping's best parameters; the resumed run never improves
    on them, so it must restore them from the checkpoint: the same stop, the same restored weights."""
    target = tmp_path / "run.params"
    options = dict(path=path, epochs=200, validation_split=0.2)
    straight = fit(X, y, early_stopping=EarlyStopping(patience=3), **options)
    best = int(np.argmin(straight.history["val_loss"]))
    assert 0 < best and straight.stopped_epoch == best + 3 and straight.stop_reason.endswith("were restored")

    class CtrlCAfterTheBestEpoch(Callback):
        def on_epoch_end(self, epoch, logs):
            if epoch == best:
                signal.raise_signal(signal.SIGINT)

    interrupted = fit(
        X, y, early_stopping=EarlyStopping(patience=3), checkpoint=target, callbacks=[CtrlCAfterTheBestEpoch()],
        **options,
    )  # fmt: skip
    assert interrupted.interrupted and read_checkpoint(target)[1]["epoch"] == best + 1
    resumed = fit(X, y, early_stopping=EarlyStopping(patience=3), checkpoint=target, resume=True, **options)
    assert_same_run(resumed, straight)
    assert (resumed.stopped_epoch, resumed.stop_reason) == (straight.stopped_epoch, straight.stop_reason)


def test_a_stop_by_another_callback_resumes(tmp_path, path):
    """A time budget, say: the run stops, and the next job with the same checkpoint continues it."""

    class Budget(Callback):
        def on_train_begin(self, logs=None):
            self.left = 3

        def on_epoch_end(self, epoch, logs):
            self.left -= 1
            if not self.left:
                self.run.stop_training, self.run.stop_reason = True, "budget used up"

    target = tmp_path / "run.params"
    jobs = [fit(X, y, path=path, epochs=7, checkpoint=target, resume=True, callbacks=[Budget()]) for _ in range(3)]
    assert [len(job.history["loss"]) for job in jobs] == [3, 6, 7]
    assert [job.stop_reason for job in jobs] == ["budget used up", "budget used up", None]
    assert_same_run(jobs[-1], fit(X, y, path=path, epochs=7))


def test_resume_refuses_other_early_stopping_and_keeps_each_ones_state(tmp_path, path):
    target = tmp_path / "run.params"
    options = dict(path=path, epochs=40, validation_split=0.2, metrics=["r2"])

    def stoppers():
        return dict(
            early_stopping=EarlyStopping("val_loss", patience=3), callbacks=[EarlyStopping("val_r2", patience=9)]
        )

    class CtrlCAfter2(Callback):
        def on_epoch_end(self, epoch, logs):
            if epoch == 1:
                signal.raise_signal(signal.SIGINT)

    straight = fit(X, y, **options, **stoppers())
    kwargs = stoppers()
    kwargs["callbacks"].append(CtrlCAfter2())
    assert fit(X, y, **options, checkpoint=target, **kwargs).interrupted
    with pytest.raises(ValueError, match=r"other arguments \(early_stopping=\{'monitor': 'val_loss'.*patience': 3"):
        fit(X, y, **options, checkpoint=target, resume=True, early_stopping=EarlyStopping("val_loss", patience=4))
    resumed = fit(X, y, **options, checkpoint=target, resume=True, **stoppers())
    assert_same_run(resumed, straight)
    assert resumed.stop_reason == straight.stop_reason
    assert set(read_checkpoint(target)[1]["callbacks"]) == {"DivergenceGuard#0", "EarlyStopping#0", "EarlyStopping#1"}


def test_early_stopping_argument_errors():
    with pytest.raises(TypeError, match="'monitor' parameter of EarlyStopping must be a str"):
        EarlyStopping(monitor=5)
    with pytest.raises(TypeError, match="'restore_best_weights' parameter of EarlyStopping must be True or False"):
        EarlyStopping(restore_best_weights="no")
