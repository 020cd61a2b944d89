"""gluonlr.testing: the reference against hand-computed values and MXNet's own objects; the assertions' messages;
the strategies; importing the package without hypothesis."""

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gluonlr import epoch_order, fit, synthetic_data
from gluonlr._mxnet import autograd, gluon, mx, nd
from gluonlr.callbacks import Callback
from gluonlr.testing import (
    _assertions,
    assert_matches_reference,
    assert_paths_agree,
    assert_runs_agree,
    record_fit,
    reference_fit,
    reference_lrs,
    stable_lr,
)
from gluonlr.testing._reference import LOSSES, _epoch_permutation, _optimizer_class
from gluonlr.testing.strategies import ALL_OPTIONS, SCHEDULES, datasets, fit_configs

TWO = dict(lr=0.25, batch_size=2, epochs=1, init_weight=[0.0], init_bias=0.0)  # one step on both samples


def test_one_step_by_hand():
    """r = (-1, -2): loss (1 + 4) / 2; gradients 2 * sum(r x) = -10 and 2 * sum(r) = -6."""
    result = reference_fit([[1.0], [2.0]], [1.0, 2.0], **TWO)
    assert result.weight.tolist() == [2.5] and result.bias == 1.5
    assert result.history == {"loss": [2.5], "lr": [0.25]}
    assert [w.tolist() for w in result.epoch_weights] == [[2.5]] and result.epoch_biases == [1.5]


def test_one_step_by_hand_l2_mean():
    """L2Loss halves the loss and its gradient; "mean" divides by the batch's 2 samples."""
    result = reference_fit([[1.0], [2.0]], [1.0, 2.0], loss="l2", reduction="mean", **{**TWO, "lr": 1.0})
    assert (result.weight.tolist(), result.bias, result.history["loss"]) == ([2.5], 1.5, [1.25])


def test_one_step_by_hand_two_outputs():
    """A sample's loss is the mean over its outputs, so each output's gradient is halved."""
    result = reference_fit(
        [[1.0], [2.0]], [[1.0, 0.0], [2.0, 0.0]], lr=0.25, batch_size=2, epochs=1, init_weight=[[0.0, 0.0]]
    )
    assert result.weight.tolist() == [[1.25, 0.0]] and result.bias.tolist() == [0.75, 0.0]
    assert result.history["loss"] == [1.25]


def test_multi_output_initial_parameters_are_the_convention():
    X, Y = np.ones((3, 2)), np.zeros((3, 4))
    result = reference_fit(X, Y, lr=1e-300, epochs=1, seed=5)
    expected = np.random.default_rng(5).standard_normal((2, 4)).astype(np.float32)
    np.testing.assert_allclose(result.weight, expected, rtol=1e-12)
    assert result.weight.shape == (2, 4) and result.bias.shape == (4,)


def test_sample_weight_by_hand():
    """Weights (2, 0): the second sample is ignored, the first counts twice; the loss divides by n = 2."""
    result = reference_fit([[1.0], [2.0]], [1.0, 2.0], sample_weight=[2.0, 0.0], **TWO)
    assert (result.weight.tolist(), result.bias, result.history["loss"]) == ([1.0], 1.0, [1.0])


def test_weight_decay_shrinks_the_weight_not_the_bias():
    """weight_decay=a is penalty="l2", alpha=a: scikit-learn's L2 penalty, which leaves the intercept alone."""
    result = reference_fit([[0.0]], [1.0], lr=0.1, weight_decay=0.5, epochs=1, init_weight=[1.0], init_bias=1.0)
    assert result.weight.tolist() == [0.95] and result.bias == 1.0  # zero residual: decay only


def test_huber_and_l1_by_hand():
    """Huber(rho=1): |r| - 1/2 beyond rho (r = -2: gradient -1), r^2/2 within (r = 0.5: 0.125, gradient 0.5)."""
    X, y = [[0.0], [0.0]], [2.0, -0.5]
    huber = reference_fit(X, y, loss="huber", rho=1.0, **TWO)
    assert huber.history["loss"] == [(1.5 + 0.125) / 2] and huber.bias == 0.25 * (1.0 - 0.5)
    l1 = reference_fit(X, y, loss="l1", **TWO)
    assert l1.history["loss"] == [(2.0 + 0.5) / 2] and l1.bias == 0.25 * (1.0 - 1.0)


@settings(max_examples=200)
@given(n=st.integers(1, 300), seed=st.integers(0, 2**32 - 1), epoch=st.integers(0, 10_000))
def test_the_library_s_epoch_order_is_the_reference_s(n, seed, epoch):
    """The reference states the order itself; gluonlr's epoch_order must give the same permutation."""
    assert epoch_order(n, seed, epoch).tolist() == _epoch_permutation(n, seed, epoch).tolist()


def test_the_reference_s_order_changes_with_the_seed_and_the_epoch():
    orders = {tuple(_epoch_permutation(20, seed, epoch)) for seed in range(3) for epoch in range(3)}
    assert len(orders) == 9 and all(sorted(order) == list(range(20)) for order in orders)


def test_validation_split_is_keras_convention():
    X, y = synthetic_data(n=10, seed=3)
    split = reference_fit(X, y, validation_split=0.25, epochs=2, metrics=["mae"])  # int(10 * 0.75) = 7 train
    alone = reference_fit(X[:7], y[:7], epochs=2, metrics=["mae"])
    np.testing.assert_array_equal(split.weight, alone.weight)
    assert split.history["loss"] == alone.history["loss"] and split.history["mae"] == alone.history["mae"]
    for epoch in range(2):
        residual = X[7:].astype(np.float64) @ split.epoch_weights[epoch] + split.epoch_biases[epoch] - y[7:]
        assert split.history["val_loss"][epoch] == pytest.approx(np.mean(residual**2), rel=1e-12)
        assert split.history["val_mae"][epoch] == pytest.approx(np.mean(np.abs(residual)), rel=1e-12)
    given_data = reference_fit(X[:7], y[:7], validation_data=(X[7:], y[7:]), epochs=2, metrics=["mae"])
    assert given_data.history == split.history


def test_validation_split_with_an_empty_side_is_an_error():
    reference_fit(np.ones((3, 1)), np.ones(3), validation_split=0.1)  # int(3 * 0.9) = 2 rows train, 1 validates
    with pytest.raises(ValueError, match="no training or no validation rows"):
        reference_fit(np.ones((3, 1)), np.ones(3), validation_split=0.9)  # int(3 * 0.1) = 0 rows train


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_metrics_are_the_closed_forms_at_the_end_of_each_epoch(n_outputs):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 2)).astype(np.float32)
    y = rng.standard_normal((12, n_outputs) if n_outputs > 1 else 12).astype(np.float32)
    result = reference_fit(X, y, epochs=2, metrics=["mse", "rmse", "mae", "r2"])
    target = y.astype(np.float64).reshape(12, -1)
    for epoch in range(2):
        weight = np.reshape(result.epoch_weights[epoch], (2, -1))
        pred = X.astype(np.float64) @ weight + result.epoch_biases[epoch]
        mse = np.mean((pred - target) ** 2)
        r2 = np.mean(1 - ((target - pred) ** 2).sum(0) / ((target - target.mean(0)) ** 2).sum(0))
        assert result.history["mse"][epoch] == pytest.approx(mse, rel=1e-12)
        assert result.history["rmse"][epoch] == pytest.approx(np.sqrt(mse), rel=1e-12)
        assert result.history["mae"][epoch] == pytest.approx(np.mean(np.abs(pred - target)), rel=1e-12)
        assert result.history["r2"][epoch] == pytest.approx(r2, rel=1e-12)


def test_r2_of_a_constant_target_is_scikit_learns():
    """force_finite: 1 when predicted exactly, else 0; also with one sample (where scikit-learn gives NaN)."""
    exact = reference_fit([[0.0], [0.0]], [1.0, 1.0], init_weight=[0.0], init_bias=1.0, epochs=1, metrics=["r2"])
    off = reference_fit([[0.0], [0.0]], [1.0, 1.0], init_weight=[0.0], init_bias=0.0, epochs=1, metrics=["r2"])
    one = reference_fit([[0.0]], [1.0], epochs=1, metrics=["r2"])
    assert exact.history["r2"] == [1.0] and off.history["r2"] == [0.0] and one.history["r2"] == [0.0]
    fitted = fit([[0.0]], [1.0], epochs=1, metrics=["r2"])
    assert fitted.history["r2"] == [0.0 if fitted.bias != 1.0 else 1.0]  # gluonlr's own: the same rule


def test_history_lr_is_the_rate_of_each_epochs_first_update():
    X, y = synthetic_data(n=4)
    result = reference_fit(X, y, batch_size=2, epochs=3, lr=0.1, lr_schedule="cosine")
    assert result.history["lr"] == reference_lrs("cosine", lr=0.1, n_batches=2, epochs=3)[::2].tolist()


def test_today_s_defaults_are_plain_sgd_on_the_squared_loss():
    """The reference's defaults are fit's: every extra option at its default changes nothing."""
    X, y = synthetic_data(n=23)
    plain = reference_fit(X, y, batch_size=4, epochs=2)
    spelled_out = reference_fit(
        X, y, batch_size=4, epochs=2, optimizer="sgd", momentum=0.0, weight_decay=0.0, lr_schedule="constant",
        sample_weight=np.ones(23), validation_split=0.0, metrics=(), rho=3.0,
    )  # fmt: skip
    np.testing.assert_array_equal(plain.weight, spelled_out.weight)
    assert plain.history == spelled_out.history


def test_schedule_forms():
    kwargs = dict(lr=0.1, n_batches=2, epochs=3)
    step = reference_lrs(("step", {"step_epochs": 1, "factor": 0.5}), **kwargs)
    assert step.tolist() == [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
    assert reference_lrs("step", **kwargs).tolist() == step.tolist()  # the bare name's defaults
    like_gluonlr = SimpleNamespace(name="step", params=lambda: {"step_epochs": 1, "factor": 0.5})
    assert reference_lrs(like_gluonlr, **kwargs).tolist() == step.tolist()
    assert reference_lrs(lambda u: 1 / u, **kwargs).tolist() == [1 / u for u in range(1, 7)]
    assert reference_lrs(None, **kwargs).tolist() == reference_lrs("constant", **kwargs).tolist() == [0.1] * 6
    with pytest.raises(TypeError, match="lr_schedule must be"):
        reference_lrs(("warmup", {}), **kwargs)


# -- the reference against MXNet's own objects ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "block"),
    [
        ("squared", gluon.loss.L2Loss(weight=2)),
        ("l2", gluon.loss.L2Loss()),
        ("l1", gluon.loss.L1Loss()),
        ("huber", gluon.loss.HuberLoss(rho=0.5)),
    ],
)
def test_losses_and_gradients_match_gluon(name, block):
    """Residuals beyond, at, within rho = 0.5 and zero, on two outputs, with sample weights."""
    residual = np.array([[-2.0, 0.5], [0.25, -0.5], [0.0, 1.5], [-0.125, 0.75]], dtype=np.float32)
    sample_weight = np.array([1.0, 2.0, 0.5, 0.0], dtype=np.float32)
    pred = nd.array(residual)
    pred.attach_grad()
    with autograd.record():
        loss = block(pred, nd.zeros((4, 2)), nd.array(sample_weight[:, None]))
    loss.backward()
    value, derivative = LOSSES[name](residual.astype(np.float64), 0.5)
    np.testing.assert_allclose(loss.asnumpy(), sample_weight * value.mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(pred.grad.asnumpy(), sample_weight[:, None] * derivative / 2, rtol=1e-6)


#: (MXNet optimizer, its parameters, fit's options for the same)
OPTIMIZER_CASES = [
    ("sgd", {}, {}),
    ("sgd", {"momentum": 0.9}, {"momentum": 0.9}),
    ("nag", {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True}),
    ("adam", {}, {"optimizer": "adam"}),
    ("adam", {"beta1": 0.5, "beta2": 0.99, "epsilon": 1e-3}, {"optimizer": "adam", "beta1": 0.5, "beta2": 0.99}),
]


def _rule(theta, *, optimizer="sgd", momentum=0.0, nesterov=False, beta1=0.9, beta2=0.999, epsilon=1e-8, wd=0.0):
    return _optimizer_class(optimizer, momentum, nesterov)(
        theta, weight_decay=wd, momentum=momentum, beta1=beta1, beta2=beta2, epsilon=epsilon
    )


@pytest.mark.parametrize("schedule", [None, ("step", {"step_epochs": 1, "factor": 0.5})])
@pytest.mark.parametrize("wd", [0.0, 0.1])
@pytest.mark.parametrize(("name", "mx_params", "options"), OPTIMIZER_CASES)
def test_optimizer_updates_match_mxnet(name, mx_params, options, wd, schedule):
    """Six updates of mx.optimizer's real optimizer (float64 arrays) with rescale_grad, wd and a schedule.

    The kernels take lr, wd, momentum, ... as float32 parameters: their rounding leaves differences of ~1e-8.
    """
    rng = np.random.default_rng(1)
    theta, grads = rng.standard_normal(3), rng.standard_normal((6, 3))
    lrs = reference_lrs(schedule, lr=0.1, n_batches=2, epochs=3)
    scheduler = mx.lr_scheduler.FactorScheduler(step=2, factor=0.5, base_lr=0.1) if schedule else None
    optimizer = mx.optimizer.create(
        name, learning_rate=0.1, wd=wd, rescale_grad=0.5, lr_scheduler=scheduler, **mx_params
    )
    weight = nd.array(theta, dtype="float64")
    state = optimizer.create_state(0, weight)
    epsilon = mx_params.get("epsilon", 1e-8)
    rule = _rule(theta, wd=wd, epsilon=epsilon, **options)
    for u, grad in enumerate(grads, start=1):
        optimizer.update(0, weight, nd.array(grad, dtype="float64"), state)
        theta = rule.update(theta, 0.5 * grad, lrs[u - 1], u)
        np.testing.assert_allclose(weight.asnumpy(), theta, rtol=1e-7, atol=1e-7, err_msg=f"update {u}")


def test_nag_state_reads_the_updated_weight():
    """MXNet's NAG passes out=weight, so with wd its state update sees the new weight: not the docstring's form."""
    weight, state = nd.array([1.0], dtype="float64"), nd.zeros(1, dtype="float64")
    nd.nag_mom_update(weight, nd.array([0.5], dtype="float64"), state, out=weight, lr=0.1, momentum=0.9, wd=0.1)
    new_weight = 1.0 - 1.9 * 0.1 * (0.5 + 0.1 * 1.0)
    assert weight.asscalar() == pytest.approx(new_weight, rel=1e-7)
    assert state.asscalar() == pytest.approx(-0.1 * (0.5 + 0.1 * new_weight), rel=1e-7)


@pytest.mark.parametrize(("name", "mx_params", "options"), OPTIMIZER_CASES)
def test_trainer_steps_on_dense_match_the_reference(name, mx_params, options):
    """gluon.Trainer on a Dense layer, L2Loss, step(batch_size), wd: weight and bias both decay."""
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((3, 2)).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    dense = gluon.nn.Dense(1, in_units=2)
    dense.initialize()
    dense.weight.set_data(nd.array([[0.5, -1.0]]))
    dense.bias.set_data(nd.array([0.25]))
    assert dense.bias.wd_mult == 1.0
    trainer = gluon.Trainer(dense.collect_params(), name, {"learning_rate": 0.05, "wd": 0.2, **mx_params})
    w, b = np.array([[0.5], [-1.0]]), np.array([0.25])
    epsilon = mx_params.get("epsilon", 1e-8)
    w_rule, b_rule = _rule(w, wd=0.2, epsilon=epsilon, **options), _rule(b, wd=0.2, epsilon=epsilon, **options)
    for u in range(1, 5):
        with autograd.record():
            loss = gluon.loss.L2Loss()(dense(nd.array(X)), nd.array(y))
        loss.backward()
        trainer.step(3)
        residual = X.astype(np.float64) @ w + b - y[:, None]
        w = w_rule.update(w, X.T.astype(np.float64) @ residual / 3, 0.05, u)
        b = b_rule.update(b, residual.sum(axis=0) / 3, 0.05, u)
        np.testing.assert_allclose(dense.weight.data().asnumpy().T, w, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(dense.bias.data().asnumpy(), b, rtol=1e-5, atol=1e-6)


def test_trainer_decays_a_dense_bias():
    """Zero gradient: the step is weight decay alone, on the bias as on the weight (its wd_mult is 1)."""
    dense = gluon.nn.Dense(1, in_units=2)
    dense.initialize()
    dense.weight.set_data(nd.ones((1, 2)))
    dense.bias.set_data(nd.ones(1))
    trainer = gluon.Trainer(dense.collect_params(), "sgd", {"learning_rate": 0.1, "wd": 0.5})
    with autograd.record():
        loss = (dense(nd.zeros((1, 2))) * 0).sum()
    loss.backward()
    trainer.step(1)
    np.testing.assert_allclose(dense.weight.data().asnumpy(), [[0.95, 0.95]], rtol=1e-7)
    np.testing.assert_allclose(dense.bias.data().asnumpy(), [0.95], rtol=1e-7)


def test_step_schedule_matches_factor_scheduler():
    """FactorScheduler(step=s*N) is called with num_update = 1, 2, ...; it clamps at stop_factor_lr = 1e-8."""
    for lr, factor in ((0.05, 0.3), (1e-5, 0.01)):
        scheduler = mx.lr_scheduler.FactorScheduler(step=2 * 3, factor=factor, base_lr=lr)
        expected = [scheduler(u) for u in range(1, 3 * 7 + 1)]
        lrs = reference_lrs(("step", {"step_epochs": 2, "factor": factor}), lr=lr, n_batches=3, epochs=7)
        np.testing.assert_allclose(lrs, expected, rtol=1e-12)


def test_cosine_schedule_matches_cosine_scheduler():
    scheduler = mx.lr_scheduler.CosineScheduler(max_update=4 * 5, base_lr=0.2, final_lr=0.01)
    expected = [scheduler(u) for u in range(1, 4 * 5 + 1)]
    lrs = reference_lrs(("cosine", {"final_lr": 0.01}), lr=0.2, n_batches=4, epochs=5)
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)
    assert lrs[-1] == pytest.approx(0.01) and lrs[0] < 0.2  # the first update already anneals


# -- the assertions ---------------------------------------------------------------------------------------------


def _trajectory(weights, biases, **history):
    return SimpleNamespace(
        weight=np.asarray(weights[-1]),
        bias=biases[-1],
        history=history,
        epoch_weights=[np.asarray(w) for w in weights],
        epoch_biases=list(biases),
    )


def test_assert_runs_agree_names_the_first_difference():
    desired = _trajectory([[1.0, 2.0], [1.5, 2.5], [1.75, 2.75]], [0.0, 0.5, 0.75], loss=[9.0, 4.0, 1.0])
    actual = _trajectory([[1.0, 2.0], [1.5, 2.5002], [1.75, 2.7504]], [0.0, 0.5, 0.75], loss=[9.0, 4.0, 1.0])
    with pytest.raises(AssertionError) as error:
        assert_runs_agree(actual, desired, rtol=1e-5, names=("mine", "theirs"), context="seed=3")
    message = str(error.value)
    assert message.startswith("mine and theirs differ first at weight[1] after epoch 2 of 3:")
    assert "mine   = 2.5002" in message and "theirs = 2.5" in message
    assert "|difference| = 0.0002, 8e-05 of the scale 2.5" in message and "rtol 1e-05" in message
    assert (
        "3 of 15 compared values differ; the largest relative difference is 0.000145, at weight[1] after epoch 3"
        in (message)
    )
    assert message.endswith("seed=3")


def test_assert_runs_agree_scale_is_the_largest_magnitude():
    """A near-zero entry may differ by rtol times the vector's largest entry (and at least rtol)."""
    desired = _trajectory([[100.0, 0.0]], [0.0], loss=[1.0])
    assert_runs_agree(_trajectory([[100.0, 0.0009]], [0.0], loss=[1.0]), desired, rtol=1e-5)
    with pytest.raises(AssertionError, match=r"weight\[1\] after epoch 1 of 1"):
        assert_runs_agree(_trajectory([[100.0, 0.0011]], [0.0], loss=[1.0]), desired, rtol=1e-5)
    assert_runs_agree(_trajectory([[0.0, 0.0]], [9e-6], loss=[1.0]), _trajectory([[0.0, 0.0]], [0.0], loss=[1.0]),
                      rtol=1e-5)  # fmt: skip


def test_assert_runs_agree_per_value_with_atol():
    """With atol, each value to atol + rtol * max(|a|, |b|): a small weight next to a large one is held to its size."""
    desired = _trajectory([[100.0, 0.5]], [0.0], loss=[1.0])
    near = _trajectory([[100.0, 0.5009]], [0.0], loss=[1.0])
    assert_runs_agree(near, desired, rtol=1e-5)  # 9e-4 <= 1e-5 * 100, the weight vector's largest magnitude
    with pytest.raises(AssertionError, match=r"(?s)first at weight\[1\] .*150 times its tolerance 6.01e-06 \(atol"):
        assert_runs_agree(near, desired, rtol=1e-5, atol=1e-6)
    assert_runs_agree(_trajectory([[100.001, 0.5]], [0.0], loss=[1.0]), desired, rtol=1e-5, atol=1e-6)
    nan = _trajectory([[100.0, 0.5]], [0.0], loss=[np.nan])
    assert_runs_agree(nan, _trajectory([[100.0, 0.5]], [0.0], loss=[np.nan]), rtol=0, atol=0)  # NaN equals NaN
    with pytest.raises(AssertionError, match=r"(?s)history\['loss'\]\[0\].*inf times its tolerance"):
        assert_runs_agree(_trajectory([[100.0, 0.5]], [0.0], loss=[np.inf]), nan, rtol=1e-5, atol=1e-6)


def test_assert_runs_agree_history_before_parameters_and_nan_equals_nan():
    desired = _trajectory([[1.0]], [0.0], loss=[2.0], r2=[np.nan])
    assert_runs_agree(_trajectory([[1.0]], [0.0], loss=[2.0], r2=[np.nan]), desired, rtol=0)
    with pytest.raises(AssertionError, match=r"first at history\['loss'\]\[0\] \(epoch 1 of 1\)"):
        assert_runs_agree(_trajectory([[1.1]], [0.0], loss=[2.1], r2=[np.nan]), desired, rtol=1e-5)
    with pytest.raises(AssertionError, match=r"first at history\['r2'\]\[0\]"):
        assert_runs_agree(_trajectory([[1.0]], [0.0], loss=[2.0], r2=[0.5]), desired, rtol=1e-5)


def test_assert_runs_agree_labels_multi_output_entries():
    desired = _trajectory([[[1.0, 2.0], [3.0, 4.0]]], [np.array([0.0, 1.0])], loss=[1.0])
    actual = _trajectory([[[1.0, 2.0], [3.0, 4.0]]], [np.array([0.0, 1.1])], loss=[1.0])
    with pytest.raises(AssertionError, match=r"first at bias\[1\] after epoch 1 of 1"):
        assert_runs_agree(actual, desired, rtol=1e-5)


def test_assert_runs_agree_reports_epochs_and_keys():
    desired = _trajectory([[1.0], [1.0]], [0.0, 0.0], loss=[1.0, 1.0], lr=[0.1, 0.1])
    shorter = _trajectory([[1.0]], [0.0], loss=[1.0])
    with pytest.raises(AssertionError) as error:
        assert_runs_agree(shorter, desired, rtol=1e-5)
    message = str(error.value)
    assert "actual recorded 1 epochs, desired 2" in message
    assert "The history keys differ: ['loss'] in actual, ['loss', 'lr'] in desired." in message
    assert_runs_agree(
        _trajectory([[1.0], [1.0]], [0.0, 0.0], loss=[1.0, 1.0]), desired, rtol=0, same_history_keys=False
    )


def test_assert_paths_agree_passes_and_returns_the_runs():
    X, y = synthetic_data(n=17)
    manual, gluon_run = assert_paths_agree(X, y, epochs=3, batch_size=5)
    assert (manual.path, gluon_run.path) == ("manual", "gluon")
    assert len(manual.epoch_weights) == len(gluon_run.epoch_biases) == 3
    with pytest.raises(TypeError, match="do not pass 'path'"):
        assert_paths_agree(X, y, path="gluon")


def test_assert_paths_agree_says_where_the_paths_part(monkeypatch):
    """A seam: the Gluon path gets a 1% larger learning rate."""

    def skewed_fit(X, y, *, path, lr=0.01, **kwargs):
        return real_fit(X, y, path=path, lr=lr * 1.01 if path == "gluon" else lr, **kwargs)

    real_fit = _assertions.fit
    monkeypatch.setattr(_assertions, "fit", skewed_fit)
    X, y = synthetic_data(n=20)
    with pytest.raises(AssertionError) as error:
        assert_paths_agree(X, y, epochs=2, batch_size=20, loss="l2")
    message = str(error.value)
    assert message.startswith("gluon and manual differ first at ")
    assert "of 2" in message and "of the scale" in message and "(rtol 1e-05;" in message
    assert "fit arguments: X=<float32 array of shape (20, 2)>, y=<float32 array of shape (20,)>, epochs=2" in message


def test_assert_matches_reference_passes_and_fails_on_a_perturbed_reference(monkeypatch, path):
    X, y = synthetic_data(n=20)
    run, expected = assert_matches_reference(X, y, path=path, epochs=3, batch_size=6, reduction="mean")
    assert run.path == path and len(expected.epoch_weights) == 3

    def perturbed(*args, **kwargs):
        result = real_reference(*args, **kwargs)
        result.epoch_weights[1][0] += 0.01  # after epoch 2
        return result

    real_reference = _assertions.reference_fit
    monkeypatch.setattr(_assertions, "reference_fit", perturbed)
    with pytest.raises(AssertionError) as error:
        assert_matches_reference(X, y, path=path, epochs=3, batch_size=6, reduction="mean")
    message = str(error.value)
    assert message.startswith(f"{path} and reference differ first at weight[0] after epoch 2 of 3:")
    assert "1 of " in message and "(rtol 0.0001;" in message and f"path='{path}'" in message


def test_record_fit_keeps_the_user_s_callbacks():
    seen = []

    class Count(Callback):
        def on_epoch_end(self, epoch, logs):
            seen.append(epoch)

    run = record_fit(*synthetic_data(n=10), epochs=2, callbacks=[Count()])
    assert seen == [0, 1] and len(run.epoch_weights) == 2
    np.testing.assert_array_equal(run.epoch_weights[-1], run.weight)


# -- the strategies ---------------------------------------------------------------------------------------------


def test_stable_lr_bounds_the_curvature():
    X = [[2.0, -1.0], [0.5, 0.0]]  # d * max|x|^2 + 1 = 9
    assert stable_lr(X, loss="squared", reduction="sum", batch_size=5) == pytest.approx(1 / (2 * 2 * 9))
    assert stable_lr(X, loss="l2", reduction="mean", batch_size=5, fraction=0.5) == pytest.approx(0.5 / 9)
    assert stable_lr(X, loss="huber", rho=0.5, reduction="mean", weight_decay=1.0) == pytest.approx(1 / (2 * 9 + 1))
    assert stable_lr(X, reduction="mean", sample_weight=[3.0, 1.0]) == pytest.approx(1 / (2 * 3 * 9))


@settings(max_examples=30)
@given(data=st.data(), dataset=datasets(max_samples=30, max_outputs=3))
def test_init_params_draws_starting_points_of_the_right_shape(data, dataset):
    X, y = dataset
    config = data.draw(fit_configs(X, y, init_params=True))
    assert set(config) - {"init_weight", "init_bias"} == {"loss", "reduction", "batch_size", "epochs", "seed", "lr"}
    shape = (X.shape[1], *y.shape[1:])
    assert config.get("init_weight", np.zeros(shape)).shape == shape
    assert np.shape(config.get("init_bias", np.zeros(y.shape[1:]))) == y.shape[1:]
    for value in (config.get("init_weight", 0.0), config.get("init_bias", 0.0)):
        assert (np.abs(value) <= 10).all()
    fit(X, y, **{**config, "epochs": 1})  # fit takes them


def test_init_params_draws_starts_away_from_the_default():
    """Across examples: non-zero biases, and weights beyond N(0, 1)'s usual range."""
    drawn = []

    @settings(max_examples=30)
    @given(data=st.data())
    def draw(data):
        drawn.append(data.draw(fit_configs(np.ones((5, 2)), init_params=True)))

    draw()
    assert any(abs(config.get("init_bias", 0.0)) > 1 for config in drawn)
    assert any(np.abs(config.get("init_weight", 0.0)).max() > 4 for config in drawn)
    assert any("init_weight" not in config for config in drawn)


@settings(max_examples=30)
@given(data=st.data(), dataset=datasets(max_samples=30))
def test_strong_weight_decay_is_a_share_of_the_curvature(data, dataset):
    """weight_decay="strong": lr * weight_decay, each step's decay, is between 0.01 / 1.01 and 1 / 2 of the
    fraction of the stable rate drawn; always there."""
    X, _ = dataset
    config = data.draw(fit_configs(X, weight_decay="strong"))
    undecayed = stable_lr(X, loss=config["loss"], reduction=config["reduction"], batch_size=config["batch_size"])
    share = config["weight_decay"] * undecayed  # the drawn share, divided then multiplied: to rounding
    assert 0.01 * (1 - 1e-12) <= share <= 1 + 1e-12
    fraction = config["lr"] * (1 / undecayed + config["weight_decay"])
    assert 0.01 <= fraction <= 1 + 1e-9
    assert config["lr"] * config["weight_decay"] == pytest.approx(fraction * share / (1 + share))


@settings(max_examples=30)
@given(data=st.data(), dataset=datasets(max_samples=30))
def test_fit_configs_draw_only_today_s_options_by_default(data, dataset):
    X, y = dataset
    config = data.draw(fit_configs(X))
    assert set(config) == {"loss", "reduction", "batch_size", "epochs", "seed", "lr"}
    assert config["loss"] in ("squared", "l2") and 1 <= config["batch_size"] <= len(X) + 3
    assert 1 <= config["epochs"] <= 3 and config["lr"] > 0
    assert X.dtype == y.dtype == np.float32 and y.shape == (len(X),) and 1 <= X.shape[1] <= 5


@pytest.mark.slow  # over ~3 s: python -m pytest -m slow and CI run it
@pytest.mark.parametrize("weight_decay", [True, "strong"])
@settings(max_examples=30)
@given(
    data=st.data(),
    dataset=datasets(
        max_samples=25,
        max_outputs=3,
        noise=0.5,
        conditioning=("well", "correlated", "ill-scaled"),
        dtypes=(np.float32, np.float64, np.int32),
    ),
)
def test_every_option_drawn_trains_stably(weight_decay, data, dataset):
    """All opt-ins on, harder data, up to 8 epochs from far starts: fit takes every drawn configuration and trains
    it without its divergence check firing (on both paths), and the reference's training stays bounded too."""
    X, y = dataset
    options = {**ALL_OPTIONS, "weight_decay": weight_decay}
    config = data.draw(fit_configs(X, y, **options, max_epochs=8, init_params=True))
    if config["loss"] == "huber":
        assert 0.1 <= config["rho"] <= 5
    if "validation_split" in config:
        split_at = int(len(X) * (1 - config["validation_split"]))
        assert 0 < split_at < len(X)
    assert (weight_decay == "strong") <= (config.get("weight_decay", 0) > 0)
    for path in ("manual", "gluon"):
        result = fit(X, y, path=path, **config)  # a DivergenceError or a refused argument fails the test
        assert np.isfinite(result.weight).all() and np.isfinite(result.bias).all()
        assert result.weight.shape == (X.shape[1], *y.shape[1:]) and len(result.history["loss"]) == config["epochs"]
        assert set(config.get("metrics", [])) <= set(result.history)
    expected = reference_fit(X, y, **config)
    assert np.isfinite(expected.weight).all() and np.isfinite(expected.bias).all()
    level = max(expected.history["loss"][0], np.mean(np.square(y, dtype=float)))  # the reference stays bounded
    assert np.isfinite(expected.history["loss"]).all() and max(expected.history["loss"]) <= 1e6 * level


@settings(max_examples=10)
@given(data=st.data())
def test_drawn_schedules_are_gluonlr_schedules_by_default(data):
    schedules = pytest.importorskip("gluonlr.schedules")
    config = data.draw(fit_configs(np.ones((4, 1)), schedules=SCHEDULES))
    schedule = config["lr_schedule"]
    assert schedule == "constant" or isinstance(
        schedule, schedules.StepDecay | schedules.Cosine | schedules.InverseScaling
    )
    lrs = reference_lrs(schedule, lr=config["lr"], n_batches=2, epochs=config["epochs"])
    assert (lrs <= config["lr"]).all() and (lrs >= 0).all()


# -- importing without hypothesis -------------------------------------------------------------------------------

_WITHOUT_HYPOTHESIS = "import sys; sys.modules['hypothesis'] = None\n"


def _run(code):
    return subprocess.run(
        [sys.executable, "-c", _WITHOUT_HYPOTHESIS + code], capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_gluonlr_testing_imports_without_hypothesis():
    completed = _run(
        "import gluonlr.testing as t\n"
        "assert sys.modules['hypothesis'] is None\n"
        "assert not [name for name in sys.modules if name.startswith('hypothesis.')]\n"
        "print(t.reference_fit([[1.0], [2.0]], [1.0, 2.0], lr=0.25, batch_size=2, epochs=1,"
        " init_weight=[0.0], init_bias=0.0).bias)\n"
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "1.5"


@pytest.mark.slow
def test_strategies_without_hypothesis_say_how_to_install_it():
    completed = _run("import gluonlr.testing.strategies\n")
    assert completed.returncode == 1
    assert "ImportError: gluonlr.testing.strategies needs hypothesis" in completed.stderr
    assert "pip install hypothesis, or, from a clone of gluonlr, pip install '.[testing]'" in completed.stderr


def test_assert_matches_reference_takes_fits_other_arguments():
    X, y = synthetic_data(n=30)
    assert_matches_reference(X, y, epochs=2, verbose=0)  # changes no result: fit only
    with pytest.raises(ValueError, match="the reference has no early stopping; check it between the paths"):
        assert_matches_reference(X, y, epochs=2, validation_split=0.2, early_stopping=True)
