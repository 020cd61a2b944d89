"""Several devices in one process: fit(ctx=[mx.cpu(0), mx.cpu(1)]) equals the one-device fit, on both paths.

MXNet's CPU contexts cpu(0), cpu(1), ... are distinct devices to MXNet (each with its own engine worker), so
the multi-device code runs here without a GPU. The gradients are summed over the devices in another order than
over the whole batch, so the runs agree to float32 round-off (the tolerances between the two paths), not bitwise;
the same devices give bitwise the same run, and every device's copy of the parameters stays bitwise equal.
"""

import itertools
import signal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gluonlr import PATHS, DivergenceError, fit, synthetic_data
from gluonlr._mxnet import mx, nd
from gluonlr.callbacks import Callback, EarlyStopping
from gluonlr.config import FitConfig
from gluonlr.parallel import GradientSum, check_ctx, gather, row_bounds, split_batch, zero_gradients
from gluonlr.testing import PATH_ATOL, PATH_RTOL, assert_runs_agree, record_fit, store
from gluonlr.testing.strategies import ALL_LOSSES, OPTIMIZERS, datasets, fit_configs

TWO = [mx.cpu(0), mx.cpu(1)]
THREE = [mx.cpu(0), mx.cpu(1), mx.cpu(2)]

X, y = synthetic_data(n=53)  # batches of 10: a short last batch of 3


def assert_same_run(a, b):
    """Bitwise: weights, bias and history."""
    assert a.weight.tobytes() == b.weight.tobytes()
    assert np.asarray(a.bias).tobytes() == np.asarray(b.bias).tobytes()
    assert a.history == b.history


# ---------------------------------------------------------------- the ctx argument


@pytest.mark.parametrize(
    ("ctx", "expected"),
    [
        (None, [mx.cpu(0)]),
        (mx.cpu(1), [mx.cpu(1)]),
        (TWO, TWO),
        ((mx.cpu(2), mx.cpu(0)), [mx.cpu(2), mx.cpu(0)]),
        ("cpu", [mx.cpu(0)]),
        ("cpu:1", [mx.cpu(1)]),
        ("cpu:0,cpu:1", TWO),
        ("cpu(0),cpu(1),cpu(2)", THREE),
        (" CPU:0 , cpu(1) ", TWO),
        (["cpu:0", mx.cpu(1)], TWO),
    ],
)
def test_ctx_is_read(ctx, expected):
    assert check_ctx(ctx) == expected


@pytest.mark.parametrize(
    ("ctx", "error", "match"),
    [
        (0, TypeError, r"must be an mxnet Context .* Got int instead"),
        ([mx.cpu(0), 1], TypeError, "Got a list holding a int"),
        ({"cpu": 0}, TypeError, "Got dict instead"),
        ([], ValueError, "at least one device"),
        ("", ValueError, "at least one device"),
        ("cpu:0,cpu:0", ValueError, r"names cpu\(0\) twice"),
        ([mx.cpu(1), "cpu(1)"], ValueError, r"names cpu\(1\) twice"),
        ("cpu:x", ValueError, r"as 'cpu:0' or 'cpu\(0\)' .* Got 'cpu:x' in 'cpu:x'"),
        ("cpu:0,,cpu:1", ValueError, r"Got '' in 'cpu:0,,cpu:1'"),
        ("cpu(0", ValueError, r"Got 'cpu\(0'"),
        ("tpu:0", ValueError, "Got 'tpu:0'"),
        ("cpu:-1", ValueError, "Got 'cpu:-1'"),
        (mx.cpu(-1), ValueError, r"device numbers >= 0.* Got cpu\(-1\)"),
        (mx.Context("cpu_pinned", 0), ValueError, r"CPUs or GPUs .* Got cpu_pinned\(0\)"),
        ("cpu:0,gpu:0", ValueError, r"mixes CPUs and GPUs \(cpu\(0\), gpu\(0\)\).* share one count"),
    ],
)
def test_ctx_errors(ctx, error, match):
    with pytest.raises(error, match=match):
        check_ctx(ctx)


@pytest.mark.skipif(mx.context.num_gpus() > 0, reason="a GPU is present")
def test_a_gpu_that_is_not_there_is_refused_before_training(tmp_path):
    target = tmp_path / "run.params"
    with pytest.raises(ValueError, match=r"The 'ctx' parameter of fit names gpu\(0\), but MXNet sees 0 GPU"):
        fit(X, y, ctx="gpu:0", checkpoint=target)
    assert not target.exists()


def test_fit_names_itself_in_ctx_errors():
    with pytest.raises(ValueError, match=r"^The 'ctx' parameter of fit names cpu"):
        fit(X, y, ctx=[mx.cpu(0), mx.cpu(0)])


# ---------------------------------------------------------------- splitting a batch


@given(n_rows=st.integers(1, 50), n_devices=st.integers(1, 8))
def test_row_bounds_are_contiguous_and_balanced(n_rows, n_devices):
    bounds = row_bounds(n_rows, n_devices)
    assert len(bounds) == n_devices and bounds[0][0] == 0 and bounds[-1][1] == n_rows
    assert all(stop == start for (_, stop), (start, _) in itertools.pairwise(bounds))
    sizes = [stop - start for start, stop in bounds]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)  # idle devices come last
    assert min(sizes) > 0 or n_rows < n_devices


@pytest.mark.parametrize("n_rows", [1, 2, 3, 7])
def test_split_batch_loads_each_share_on_its_device(n_rows):
    x, y, w = nd.arange(2 * n_rows).reshape((n_rows, 2)), nd.arange(n_rows).reshape((n_rows, 1)), nd.ones((n_rows, 1))
    shares = split_batch(THREE, x, y, w)
    active = [share for share in shares if share is not None]
    assert len(active) == min(n_rows, 3) and all(share is None for share in shares[len(active) :])
    for device, share in zip(THREE, active, strict=False):
        assert [array.context for array in share] == [device] * 3
    assert np.array_equal(np.concatenate([share[0].asnumpy() for share in active]), x.asnumpy())
    assert np.array_equal(np.concatenate([share[1].asnumpy() for share in active]), y.asnumpy())
    assert [len(share) for share in split_batch(TWO, x, y, None) if share is not None] == [2] * min(n_rows, 2)


def test_one_device_gets_the_batch_itself():
    x, y = nd.ones((3, 2)), nd.ones((3, 1))
    [share] = split_batch([mx.cpu(0)], x, y, None)
    assert share[0] is x and share[1] is y
    [share] = split_batch([mx.cpu(1)], x, y, None)
    assert share[0].context == mx.cpu(1)
    assert gather([x], mx.cpu(0)) is x


def test_gradient_sum_and_idle_devices():
    grads = [
        [nd.full((2, 1), j + 1.0, ctx=device), nd.full((1,), 10.0 * (j + 1), ctx=device)]
        for j, device in enumerate(THREE)
    ]
    zero_gradients(grads[2])  # the idle device's stale gradient must not count
    GradientSum(grads)()
    for device, (w, b) in zip(THREE, grads, strict=True):
        assert w.context == device and w.asnumpy().ravel().tolist() == [3.0, 3.0] and b.asnumpy().tolist() == [30.0]
    assert GradientSum([[nd.ones(1)]]).kvstore is None  # one device: nothing to sum, no KVStore (as the Trainer)


# ---------------------------------------------------------------- equal to the one-device fit


@settings(max_examples=30)
@given(
    data=st.data(),
    dataset=datasets(max_samples=40, max_outputs=2),
    ctx=st.sampled_from([TWO, THREE]),
    path=st.sampled_from(list(PATHS)),
)
@pytest.mark.filterwarnings("ignore::gluonlr.errors.WorseThanMeanWarning")  # random data, few epochs
def test_devices_equal_one_device(data, dataset, ctx, path):
    """Every optimizer (momentum, Nesterov, Adam), every loss, sample weights, weight decay, validation and metrics;
    batch sizes from 1 to n + 3: short last batches and batches with fewer rows than devices."""
    X, y = dataset
    config = data.draw(
        fit_configs(
            X, y, losses=ALL_LOSSES, optimizers=OPTIMIZERS, weight_decay=True, sample_weight=True, validation=True,
            metrics=("mse", "r2"), max_epochs=4, init_params=True,
        )
    )  # fmt: skip
    several = record_fit(X, y, path=path, ctx=ctx, **config)
    one = record_fit(X, y, path=path, **config)
    assert_runs_agree(several, one, rtol=PATH_RTOL, atol=PATH_ATOL, names=(f"{len(ctx)} devices", "one device"))


@pytest.mark.slow  # over ~3 s: python -m pytest -m slow and CI run it
@pytest.mark.parametrize(
    "options",
    [
        dict(batch_size=10),  # 6 batches, the last of 3 rows
        dict(batch_size=1, momentum=0.9, lr=0.002),  # every batch leaves devices idle
        dict(batch_size=2, optimizer="adam", lr=0.3),  # on three devices, one idle in every batch
        dict(batch_size=4, reduction="mean", loss="l2", lr=0.05, sample_weight=np.linspace(0, 2, 53)),
    ],
    ids=["sgd", "momentum-batch-1", "adam-batch-2", "mean-weighted"],
)
@pytest.mark.parametrize("ctx", [TWO, THREE], ids=["2", "3"])
def test_devices_equal_one_device_on_the_article(path, ctx, options):
    several = record_fit(X, y, path=path, ctx=ctx, epochs=3, **options)
    one = record_fit(X, y, path=path, epochs=3, **options)
    assert_runs_agree(several, one, rtol=PATH_RTOL, atol=PATH_ATOL, names=(f"{len(ctx)} devices", "one device"))
    assert_same_run(fit(X, y, path=path, ctx=ctx, epochs=3, **options), several.result)  # and deterministic


def test_one_device_is_todays_fit(path):
    """ctx=None, one CPU context or its string: bitwise the fit without ctx; another CPU: bitwise the same too."""
    today = fit(X, y, path=path, epochs=2)
    for ctx in (None, mx.cpu(), "cpu:0", [mx.cpu(0)], mx.cpu(1)):
        assert_same_run(fit(X, y, path=path, epochs=2, ctx=ctx), today)


@pytest.mark.parametrize("optimizer", [{}, {"momentum": 0.9, "lr": 0.002}, {"optimizer": "adam", "lr": 0.3}])
def test_every_copy_stays_equal(path, optimizer):
    """After steps with idle devices (batches of 1 and 2 rows over three devices), every device's copy of the
    parameters, and of the optimizer's state, is bitwise the first device's."""
    config = FitConfig(batch_size=2, **optimizer)
    X5, y5 = X[:5], y[:5]  # batches of 2, 2 and 1 rows
    learner = PATHS[path](X5, y5, config, weight=np.ones(2), bias=0.0, ctx=THREE)
    for epoch in range(3):
        for batch in learner.batches(epoch):
            learner.train_step(*batch)
    if path == "manual":
        copies = [[param.asnumpy() for param in params] for params in learner.copies]
        states = [[array.asnumpy() for arrays in device for array in arrays] for device in learner.states]
    else:
        params = (learner.dense.weight, learner.dense.bias)
        copies = [[param.data(device).asnumpy() for param in params] for device in THREE]
        states = [
            [array.asnumpy() for arrays in learner._optimizer_states(k).values() for array in arrays] for k in range(3)
        ]
        assert learner.trainer._optimizer.num_update == 9
    for device in range(1, 3):
        assert all(a.tobytes() == b.tobytes() for a, b in zip(copies[device], copies[0], strict=True))
        assert all(a.tobytes() == b.tobytes() for a, b in zip(states[device], states[0], strict=True))
    assert np.isfinite(copies[0][0]).all() and not np.array_equal(copies[0][0].ravel(), np.ones(2))


def test_sources_on_devices_are_bitwise_in_memory(tmp_path, path):
    """A memmap (read batch by batch) and a row-reading array-like give the in-memory multi-device run."""
    expected = fit(X, y, path=path, ctx=TWO, epochs=2)
    for storage in ("memmap", "memmap-float64", "rows"):
        assert_same_run(fit(store(X, storage, tmp_path, name=storage), y, path=path, ctx=TWO, epochs=2), expected)


# ---------------------------------------------------------------- everything else keeps working


def test_checkpoint_and_resume_on_devices(tmp_path, path):
    """A run resumed on the same devices ends bitwise where the uninterrupted one does; a checkpoint made on two
    devices resumes on one (and one device's on three), equal to float32 round-off."""
    options = dict(path=path, optimizer="adam", lr=0.3, batch_size=4)
    fit(X, y, epochs=2, ctx=TWO, checkpoint=tmp_path / "two.params", **options)
    resumed = fit(X, y, epochs=5, ctx=TWO, checkpoint=tmp_path / "two.params", resume=True, **options)
    assert_same_run(resumed, fit(X, y, epochs=5, ctx=TWO, **options))

    straight = fit(X, y, epochs=5, **options)
    on_one = fit(X, y, epochs=5, resume=tmp_path / "two.params", **options)
    fit(X, y, epochs=2, checkpoint=tmp_path / "one.params", **options)
    on_three = fit(X, y, epochs=5, ctx=THREE, resume=tmp_path / "one.params", **options)
    for result in (on_one, on_three):
        np.testing.assert_allclose(result.weight, straight.weight, rtol=PATH_RTOL)
        np.testing.assert_allclose(result.history["loss"], straight.history["loss"], rtol=PATH_RTOL)


def test_predict_score_metrics_and_early_stopping(path):
    """Restoring the best weights writes every copy; the metrics and validation are scored on the first device."""
    options = dict(
        path=path, epochs=8, lr=0.005, metrics=["rmse", "r2"], validation_split=0.3,
        early_stopping=EarlyStopping(patience=1, min_delta=1e3, restore_best_weights=True),
    )  # fmt: skip
    several, one = fit(X, y, ctx=list(reversed(THREE)), **options), fit(X, y, **options)
    assert several.stopped_epoch == one.stopped_epoch is not None
    np.testing.assert_allclose(several.weight, one.weight, rtol=PATH_RTOL)
    for key in one.history:
        np.testing.assert_allclose(several.history[key], one.history[key], rtol=PATH_RTOL, atol=PATH_ATOL)
    np.testing.assert_allclose(several.predict(X[:5]), one.predict(X[:5]), rtol=PATH_RTOL)
    assert several.score(X, y) == pytest.approx(one.score(X, y), rel=PATH_RTOL)


def test_divergence_is_caught_on_devices(path):
    with pytest.raises(DivergenceError) as several:
        fit(X, y, path=path, lr=10, ctx=TWO)
    with pytest.raises(DivergenceError) as one:
        fit(X, y, path=path, lr=10)
    assert several.value.epoch == one.value.epoch
    np.testing.assert_array_equal(several.value.weight, one.value.weight)  # the initial weights: the last finite


class CtrlCAfterEpoch(Callback):
    def on_epoch_end(self, epoch, logs):
        if epoch == 1:
            signal.raise_signal(signal.SIGINT)


def test_ctrl_c_on_devices(path):
    result = fit(X, y, path=path, epochs=10, ctx=TWO, callbacks=[CtrlCAfterEpoch()])
    assert result.interrupted and result.stopped_epoch == 1
    assert_same_run(result, fit(X, y, path=path, epochs=2, ctx=TWO))
