"""Training options on both paths, against hand-computed values: optimizers, losses, weights, outputs, schedules."""

import math

import numpy as np
import pytest

from gluonlr import fit, synthetic_data
from gluonlr._mxnet import autograd, nd
from gluonlr._mxnet import gluon as mx_gluon
from gluonlr.metrics import r2_score
from gluonlr.schedules import Constant, Cosine, StepDecay, make_schedule

X, y = synthetic_data(n=60)
ONE = dict(init_weight=[0.0, 0.0], init_bias=0.0)


def one_step(path, X1, y1, **kwargs):
    """The parameters after one step on one batch holding the whole of (X1, y1)."""
    result = fit(X1, y1, path=path, epochs=1, batch_size=len(y1), **kwargs)
    return result.weight, result.bias


@pytest.mark.parametrize(
    "options",
    [
        dict(optimizer="sgd", momentum=0.9),
        dict(optimizer="sgd", momentum=0.9, nesterov=True),
        dict(optimizer="sgd", momentum=0.9, nesterov=True, weight_decay=0.1, lr_schedule="step"),
        dict(optimizer="sgd", weight_decay=0.1),
        dict(optimizer="sgd", momentum=0.5, weight_decay=0.01, reduction="mean"),
        dict(optimizer="adam", lr=0.1),
        dict(optimizer="adam", lr=0.1, beta1=0.5, beta2=0.9, epsilon=1e-4, weight_decay=0.01),
        dict(loss="l1", lr=0.05),
        dict(loss="huber", rho=2.0, lr=0.05),
        dict(lr_schedule="step"),
        dict(lr_schedule=StepDecay(step_epochs=2, factor=0.3), momentum=0.9),
        dict(lr_schedule=Cosine(final_lr=0.001), optimizer="adam", lr=0.1),
    ],
    ids=repr,
)
def test_paths_agree_on_each_option(options):
    manual, gluon = (fit(X, y, path=path, epochs=4, **options) for path in ("manual", "gluon"))
    scale = max(1.0, float(np.abs(manual.weight).max()))
    np.testing.assert_allclose(gluon.weight, manual.weight, rtol=1e-5, atol=1e-5 * scale)
    np.testing.assert_allclose(gluon.bias, manual.bias, rtol=1e-5, atol=1e-5 * scale)
    np.testing.assert_allclose(gluon.history["loss"], manual.history["loss"], rtol=1e-5)
    assert gluon.history["lr"] == manual.history["lr"]


def test_momentum_by_hand(path):
    """Two steps of momentum 0.9 on one sample x=1, y=0 from w=1: v = -lr g; w += v."""
    X1, y1 = np.array([[1.0]]), np.array([0.0])
    result = fit(X1, y1, path=path, epochs=2, lr=0.1, momentum=0.9, init_weight=[1.0], init_bias=0.0)
    w, b, vw, vb = 1.0, 0.0, 0.0, 0.0
    for _ in range(2):
        r = w + b
        vw, vb = 0.9 * vw - 0.1 * 2 * r, 0.9 * vb - 0.1 * 2 * r
        w, b = w + vw, b + vb
    np.testing.assert_allclose([result.weight[0], result.bias], [w, b], rtol=1e-6)


def test_adam_step_by_hand(path):
    """Adam's first step is lr * sign(g) (bias-corrected moments), its second follows the formula."""
    X1, y1 = np.array([[1.0], [2.0]]), np.array([1.0, 0.0])
    w0 = np.array([0.5])
    result = fit(X1, y1, path=path, epochs=2, batch_size=2, lr=0.01, optimizer="adam", init_weight=w0, init_bias=0.0)
    theta, m, v = np.array([0.5, 0.0]), np.zeros(2), np.zeros(2)
    xs = np.c_[X1, np.ones(2)]
    for t, epoch in ((1, 0), (2, 1)):
        order = np.random.default_rng([0, epoch]).permutation(2)  # one batch: the order does not matter
        r = xs[order] @ theta - y1[order]
        g = 2 * xs[order].T @ r
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g**2
        lr_t = 0.01 * math.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        theta = theta - lr_t * m / (np.sqrt(v) + 1e-8)
        if t == 1:
            np.testing.assert_allclose(theta, [0.5, 0.0] - 0.01 * np.sign(g), rtol=1e-6)
    np.testing.assert_allclose([result.weight[0], result.bias], theta, rtol=1e-5)


@pytest.mark.parametrize("penalty", [dict(weight_decay=0.5), dict(penalty="l2", alpha=0.5)])
def test_weight_decay_applies_to_the_weight_not_the_bias(path, penalty):
    """With a zero gradient (exact fit) only the decay acts: the weight shrinks by (1 - lr * wd), the bias stays.

    weight_decay=a is penalty="l2", alpha=a: scikit-learn's L2 penalty, which leaves the intercept alone (the Gluon
    path's Dense bias has wd_mult 0).
    """
    X1, y1 = np.array([[1.0]]), np.array([3.0])
    result = fit(X1, y1, path=path, epochs=1, lr=0.1, **penalty, init_weight=[1.0], init_bias=2.0)
    np.testing.assert_allclose([result.weight[0], result.bias], [0.95, 2.0], rtol=1e-6)


@pytest.mark.parametrize(("w0", "gradient"), [(0.5, 0.5 / 2.0), (3.0, 1.0), (-3.0, -1.0)])
def test_huber_gradient_on_both_sides_of_rho(path, w0, gradient):
    """Huber(rho=2) at residual r: gradient r / rho inside, sign(r) outside."""
    w, _ = one_step(path, np.array([[1.0]]), np.array([0.0]), loss="huber", rho=2.0, lr=0.1, init_weight=[w0])
    assert w[0] == pytest.approx(w0 - 0.1 * gradient, rel=1e-6)


def test_huber_and_l1_values_match_gluon():
    """The manual losses give Gluon's values and gradients on both sides of rho."""
    from gluonlr import gluon as gluon_path
    from gluonlr import manual

    yhat, target = nd.array([[3.0], [1.5], [-4.0], [0.2]]), nd.array([[1.0], [1.0], [0.0], [0.2]])
    for name, options in (("huber", dict(rho=1.0)), ("huber", dict(rho=3.0)), ("l1", {})):
        values = []
        for make in (manual.make_loss, gluon_path.make_loss):
            pred = yhat.copy()
            pred.attach_grad()
            with autograd.record():
                loss = make(name, **options)(pred, target)
            loss.backward()
            values.append((loss.asnumpy().ravel(), pred.grad.asnumpy().ravel()))
        np.testing.assert_allclose(values[0][0], values[1][0], rtol=1e-6)
        np.testing.assert_allclose(values[0][1], values[1][1], rtol=1e-6)
    assert isinstance(gluon_path.make_loss("huber"), mx_gluon.loss.HuberLoss)


def test_l1_step(path):
    w, b = one_step(path, np.array([[2.0]]), np.array([0.0]), loss="l1", lr=0.1, init_weight=[1.0])
    assert (w[0], b) == (pytest.approx(1.0 - 0.1 * 2.0), pytest.approx(-0.1))


def test_sample_weight_is_a_repeated_sample(path):
    """In one batch under "sum", weight 2 on a sample is the sample twice; weight 0 drops it."""
    weighted = fit(X[:3], y[:3], path=path, epochs=1, batch_size=3, sample_weight=[2.0, 1.0, 0.0], **ONE)
    repeated = fit(X[[0, 0, 1]], y[[0, 0, 1]], path=path, epochs=1, batch_size=3, **ONE)
    np.testing.assert_allclose(weighted.weight, repeated.weight, rtol=1e-6)
    assert weighted.bias == pytest.approx(repeated.bias, rel=1e-6)
    # history: sum of weighted losses over the 3 training samples
    assert weighted.history["loss"][0] == pytest.approx(repeated.history["loss"][0], rel=1e-6)


def test_sample_weights_of_one_change_nothing(path):
    plain = fit(X, y, path=path, epochs=2)
    ones = fit(X, y, path=path, epochs=2, sample_weight=np.ones(len(y)))
    np.testing.assert_allclose(ones.weight, plain.weight, rtol=1e-6)


def test_multi_output_is_one_model_per_column(path):
    """A sample's loss is the mean over its k outputs, so k outputs at lr * k step as each column alone at lr."""
    Y = np.stack([y, -2 * y, y + 1], axis=1)
    multi = fit(X, Y, path=path, epochs=3, lr=0.003, init_weight=np.zeros((2, 3)))
    assert multi.weight.shape == (2, 3) and multi.bias.shape == (3,)
    for column in range(3):
        single = fit(X, Y[:, column], path=path, epochs=3, lr=0.001, init_weight=np.zeros(2))
        np.testing.assert_allclose(multi.weight[:, column], single.weight, rtol=2e-5, atol=1e-4)
        assert multi.bias[column] == pytest.approx(single.bias, rel=2e-5, abs=1e-4)
    assert multi.predict(X).shape == (60, 3)
    assert multi.score(X, Y) == pytest.approx(r2_score(Y, multi.predict(X)))


def test_multi_output_default_init_and_errors(path):
    Y = np.stack([y, y], axis=1)
    result = fit(X, Y, path=path, epochs=1)
    assert result.weight.shape == (2, 2)
    with pytest.raises(ValueError, match=r"'init_weight' parameter of fit must have shape \(2, 2\), one column per"):
        fit(X, Y, path=path, init_weight=np.zeros(2))
    with pytest.raises(ValueError, match=r"'init_bias' parameter of fit must be a finite float or array of shape"):
        fit(X, Y, path=path, init_bias=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"y passed to score has shape \(60,\), but the model predicts"):
        result.score(X, y)


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        (None, [0.01] * 6),
        ("constant", [0.01] * 6),
        ("step", [0.01, 0.005, 0.0025, 0.00125, 0.000625, 0.0003125]),
        (StepDecay(step_epochs=2, factor=0.1), [0.01, 0.01, 0.001, 0.001, 0.0001, 0.0001]),
    ],
)
def test_history_records_each_epochs_learning_rate(path, schedule, expected):
    result = fit(X, y, path=path, epochs=6, lr_schedule=schedule)
    np.testing.assert_allclose(result.history["lr"], expected, rtol=1e-12)


def test_cosine_schedule_by_hand(path):
    result = fit(X, y, path=path, epochs=4, batch_size=20, lr=0.01, lr_schedule="cosine")  # 3 batches per epoch
    expected = [0.01 * (1 + math.cos(math.pi * (3 * epoch + 1) / 12)) / 2 for epoch in range(4)]
    np.testing.assert_allclose(result.history["lr"], expected, rtol=1e-12)


def test_schedules_match_mxnets_schedulers():
    for schedule in (StepDecay(step_epochs=2, factor=0.5), Cosine(final_lr=0.01), Constant()):
        scheduler = schedule.mxnet_scheduler(lr=0.1, n_batches=3, epochs=5)
        for update in range(1, 16):
            mxnet_lr = 0.1 if scheduler is None else scheduler(update)
            assert schedule.lr_at(update, lr=0.1, n_batches=3, epochs=5) == mxnet_lr
    assert make_schedule("cosine") == Cosine() and repr(make_schedule("step")) == "StepDecay(step_epochs=1, factor=0.5)"
    with pytest.raises(ValueError, match="'factor' parameter of StepDecay must be a float in"):
        StepDecay(factor=2)
    with pytest.raises(ValueError, match="'step_epochs' parameter of StepDecay must be an int >= 1"):
        StepDecay(step_epochs=0)
    with pytest.raises(ValueError, match="'final_lr' parameter of Cosine must be a float >= 0"):
        Cosine(final_lr=-1)
