"""The evaluation passes (the divergence guard's losses, metrics, validation) compute on the host with numpy: the
same per-sample losses as training's, the same values as the learner's own predict and loss on the device, to
float32 round-off, on both paths, with sample weights, several outputs and standardized features."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gluonlr import PATHS, host, manual
from gluonlr._mxnet import nd
from gluonlr.config import FitConfig
from gluonlr.conventions import LOSSES
from gluonlr.metrics import evaluate, sample_losses, training_loss
from gluonlr.scaling import Standardized, Standardizer


@settings(max_examples=40, deadline=None)
@given(
    dtype=st.sampled_from([np.float32, np.float64]),
    n_outputs=st.sampled_from([None, 1, 3]),
    rows=st.integers(1, 40),
    seed=st.integers(0, 2**16),
)
def test_host_predict_is_x_times_w_plus_b_bitwise(dtype, n_outputs, rows, seed):
    """host.predict is the expression its callers wrote before it, x @ w + b in the arrays' dtype, bit for bit:
    with a weight vector or matrix, and into an ``out`` array as the evaluation passes fill one block by block."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, 5)).astype(dtype)
    w = rng.standard_normal(5 if n_outputs is None else (5, n_outputs)).astype(dtype)
    b = dtype(rng.standard_normal()) if n_outputs is None else rng.standard_normal(n_outputs).astype(dtype)
    expected = x @ w + b
    predictions = host.predict(x, w, b)
    assert predictions.dtype == expected.dtype and predictions.tobytes() == expected.tobytes()
    out = np.empty_like(expected)
    assert host.predict(x, w, b, out=out) is out and out.tobytes() == expected.tobytes()


@settings(max_examples=40, deadline=None)
@given(
    loss=st.sampled_from(LOSSES),
    rho=st.floats(0.1, 3.0),
    n_outputs=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_sample_losses_are_training_losses(loss, rho, n_outputs, seed):
    """sample_losses(yhat - y) is manual.make_loss's (yhat, y), the loss the manual path trains on."""
    rng = np.random.default_rng(seed)
    yhat = (3 * rng.standard_normal((20, n_outputs))).astype(np.float32)
    y = (3 * rng.standard_normal((20, n_outputs))).astype(np.float32)
    expected = manual.make_loss(loss, rho, n_outputs)(nd.array(yhat), nd.array(y)).asnumpy().reshape(-1)
    host = sample_losses(yhat - y, loss, rho)
    assert host.dtype == np.float32 and host.shape == (20,)
    np.testing.assert_allclose(host, expected, rtol=1e-6, atol=1e-7)


def device_loss(learner, X, y, sample_weight=None):
    """The summed per-sample loss as the learner computes it on the device: its predict, its loss."""
    losses = learner.loss(learner.predict(nd.array(X)), nd.array(y.reshape(len(y), -1)))
    losses = losses.asnumpy().reshape(-1)
    return float(np.sum(losses * (1.0 if sample_weight is None else sample_weight), dtype=np.float64))


@pytest.mark.parametrize("path", ["manual", "gluon"])
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("n_outputs", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
def test_host_passes_equal_the_device(path, loss, n_outputs, weighted):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((50, 3)).astype(np.float32)
    y = rng.standard_normal((50, n_outputs) if n_outputs > 1 else 50).astype(np.float32)
    weight = rng.standard_normal((3, n_outputs) if n_outputs > 1 else 3)
    bias = rng.standard_normal(n_outputs) if n_outputs > 1 else 0.25
    sample_weight = rng.uniform(0, 2, 50).astype(np.float32) if weighted else None
    config = FitConfig(loss=loss, rho=0.7)
    learner = PATHS[path](X, y, config, weight=weight, bias=bias, sample_weight=sample_weight)
    try:
        assert training_loss(learner) == pytest.approx(device_loss(learner, X, y, sample_weight) / 50, rel=1e-5)
        zero = sample_losses(-y.reshape(50, -1), loss, 0.7) * (1.0 if sample_weight is None else sample_weight)
        assert training_loss(learner, zero_model=True) == pytest.approx(float(zero.sum()) / 50, rel=1e-6)
        scores = evaluate(learner, X, y, ("mse",), prefix="val_")
        assert scores["val_loss"] == pytest.approx(device_loss(learner, X, y) / 50, rel=1e-5)  # unweighted
        predictions = learner.predict(nd.array(X)).asnumpy()
        assert scores["val_mse"] == pytest.approx(np.mean((predictions - y.reshape(50, -1)) ** 2), rel=1e-5)
    finally:
        learner.close()


@pytest.mark.parametrize("path", ["manual", "gluon"])
def test_a_standardized_model_is_evaluated_on_standardized_rows(path):
    """A feature whose mean is 1e4 times its spread: in X's units the model's bias cancels most of x . w, and
    float32 would keep few digits of the residual; standardized first, as in training, the loss is the device's."""
    rng = np.random.default_rng(3)
    X = (1e4 + rng.standard_normal((200, 2))).astype(np.float32)
    y = (X - 1e4) @ np.array([2.0, -1.0], np.float32) + 0.01 * rng.standard_normal(200).astype(np.float32)
    scaler = Standardizer(X.mean(axis=0), X.std(axis=0))
    learner = Standardized(
        PATHS[path](X, y, FitConfig(), weight=np.array([2.0, -1.0]) * X.std(axis=0), bias=0.0), scaler
    )
    try:
        expected = device_loss(learner, X, y) / 200
        assert expected < 1e-3  # a near-exact model: the residuals are the noise
        assert training_loss(learner) == pytest.approx(expected, rel=1e-3)
        weight, bias = learner.parameters()  # in X's units: the loss they give in float32 is far off
        raw = (X @ weight.astype(np.float32) + np.float32(bias)) - y
        assert abs(float(np.mean(raw**2)) - expected) > 10 * abs(training_loss(learner) - expected)
    finally:
        learner.close()
