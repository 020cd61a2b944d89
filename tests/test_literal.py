"""The article's pieces, literally, against fit: a loop written from them takes fit's steps, bit for bit.

gluonlr.manual's data_iter (nd.take per batch), squared_loss, net and sgd (param[:] = param - lr * param.grad /
divisor), and gluon's data_iter (DataLoader over an ArrayDataset), net, L2Loss and Trainer.step, are what the docs
teach. fit runs faster forms of the same arithmetic: whole epochs gathered on the device (fast_batches), MXNet's
fused multi_sgd_update (fast_sgd), the layer and the loss hybridized together (fast_net_with_loss). These tests
prove the loops of manual.train and gluon.train equal fit on its path over drawn data and options, bitwise, and
d2l's "from scratch" loop (half the squared error, a step divided by batch_size) equal fit(loss="l2",
reduction="mean").
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gluonlr import fit, initial_params, manual
from gluonlr import gluon as glr
from gluonlr._mxnet import autograd, nd
from gluonlr.data import EpochData, epoch_order
from gluonlr.testing import PATH_ATOL, PATH_RTOL
from gluonlr.testing.strategies import ALL_LOSSES, datasets, fit_configs

#: The per-sample loss of each of fit's squared losses, written from the article's squared_loss. "l2" is d2l's
#: squared_loss, (y_hat - y.reshape(y_hat.shape)) ** 2 / 2.
LITERAL_LOSSES = {
    "squared": manual.squared_loss,
    "l2": lambda yhat, y: manual.squared_loss(yhat, y) / 2,
}


def _start(X, y, config):
    """fit's initial (weight, bias) for ``config``."""
    return initial_params(X.shape[1], config["seed"], config.get("init_weight"), config.get("init_bias"))


def assert_fits_result(weight, bias, result, reduction):
    """The loop's (weight, bias) are fit's ``result``: bitwise under "sum", where the arithmetic is the same.

    Under "mean" the literal step, ``param - lr * param.grad / d``, and fit's fused kernel, ``param - lr * (grad *
    (1 / d))``, may round apart in float32's last bit at each step: to float32 round-off there (PATH_RTOL,
    PATH_ATOL, the tolerance between the two paths).
    """
    if reduction == "sum":
        np.testing.assert_array_equal(weight, result.weight)
        assert bias == result.bias
    else:
        np.testing.assert_allclose(weight, result.weight, rtol=PATH_RTOL, atol=PATH_ATOL)
        np.testing.assert_allclose(bias, result.bias, rtol=PATH_RTOL, atol=PATH_ATOL)


def _loop_options(config):
    return {key: config[key] for key in ("lr", "batch_size", "epochs", "seed", "reduction")}


@given(data=st.data(), dataset=datasets(max_samples=60))
def test_the_articles_loop_is_fit_on_the_manual_path(data, dataset):
    X, y = dataset
    config = data.draw(fit_configs(X, y, max_epochs=4, init_params=True))
    w, b = manual.init_params(*_start(X, y, config))
    manual.train([w, b], nd.array(X), nd.array(y), loss=LITERAL_LOSSES[config["loss"]], **_loop_options(config))
    result = fit(X, y, path="manual", **config)
    assert_fits_result(w.asnumpy().ravel(), b.asnumpy()[0], result, config["reduction"])


@given(data=st.data(), dataset=datasets(max_samples=60))
def test_the_plain_gluon_loop_is_fit_on_the_gluon_path(data, dataset):
    """DataLoader(ArrayDataset), dense(x), L2Loss and trainer.step: fit's hybridized block and whole batches."""
    X, y = dataset
    config = data.draw(fit_configs(X, y, max_epochs=4, init_params=True))
    dense = glr.init_params(*_start(X, y, config))
    glr.train(dense, nd.array(X), nd.array(y), loss=glr.make_loss(config["loss"]), **_loop_options(config))
    result = fit(X, y, path="gluon", **config)
    np.testing.assert_array_equal(dense.weight.data().asnumpy().ravel(), result.weight)
    assert dense.bias.data().asnumpy()[0] == result.bias


@given(
    dataset=datasets(max_samples=40, max_outputs=3),
    batch_size=st.integers(1, 43),
    seed=st.integers(0, 2**32 - 1),
    epoch=st.integers(0, 5),
)
def test_data_iter_yields_fits_batches(dataset, batch_size, seed, epoch):
    """Both data_iters, nd.take per batch and a sample-by-sample DataLoader, give fast_batches' rows."""
    X, y = dataset
    features, labels = nd.array(X), nd.array(y)
    order = epoch_order(len(X), seed, epoch)
    data = EpochData(X, y, batch_size)
    fast = [(x.asnumpy(), y_batch.asnumpy()) for x, y_batch in manual.fast_batches(data, order)]
    sampler = glr.EpochBatchSampler(data, seed)
    sampler.set_epoch(epoch)
    gluon_fast = list(glr.fast_batches(data, sampler))
    for data_iter in (manual.data_iter, glr.data_iter, None):
        literal = gluon_fast if data_iter is None else data_iter(batch_size, features, labels, seed=seed, epoch=epoch)
        literal = list(literal)
        assert len(literal) == len(fast) == -(-len(X) // batch_size)
        for (x, y_batch), (fast_x, fast_y) in zip(literal, fast, strict=True):
            np.testing.assert_array_equal(x.asnumpy(), fast_x)
            np.testing.assert_array_equal(y_batch.asnumpy().reshape(fast_y.shape), fast_y)


def d2l_from_scratch(params, features, labels, *, lr, batch_size, epochs, seed):
    """d2l's "linear regression from scratch" loop, in gluonlr's pieces, over gluonlr's batch order.

    d2l's squared_loss is half the squared error, and its sgd(params, lr, batch_size) divides every step by
    batch_size, the short last batch's too.
    """
    w, b = params
    for epoch in range(epochs):
        for x, y in manual.data_iter(batch_size, features, labels, seed, epoch):
            with autograd.record():
                loss = manual.squared_loss(manual.net(x, w, b), y) / 2
            loss.backward()
            manual.sgd([w, b], lr, batch_size)


@given(data=st.data(), batch_size=st.integers(1, 10), batches=st.integers(1, 8))
def test_d2l_from_scratch_is_l2_mean(data, batch_size, batches):
    """Where batch_size divides the samples (d2l's 1000 in batches of 10), d2l's loop is loss='l2', 'mean'."""
    n = batch_size * batches
    X, y = data.draw(datasets(min_samples=n, max_samples=n))
    config = data.draw(fit_configs(X, y, losses=("l2",), reductions=("mean",), max_epochs=4))
    config["batch_size"] = batch_size  # fit_configs' lr is stable for any batch size under "mean"
    w, b = manual.init_params(*initial_params(X.shape[1], config["seed"]))
    options = {key: config[key] for key in ("lr", "batch_size", "epochs", "seed")}
    d2l_from_scratch([w, b], nd.array(X), nd.array(y), **options)
    result = fit(X, y, path="manual", **config)
    assert_fits_result(w.asnumpy().ravel(), b.asnumpy()[0], result, "mean")


def test_d2l_divides_a_short_last_batch_by_the_full_batch_size():
    """Three samples x=1, y=1 in batches of 2, from w=b=0, lr 0.1, half the squared error.

    Batch 1: residuals -1, summed gradient -2, divided by 2: w = b = 0.1. Batch 2 (one sample): residual -0.8;
    fit's "mean" divides by the batch's own size, 1: 0.18; d2l's sgd by batch_size, 2: 0.14.
    """
    X, y = np.ones((3, 1), np.float32), np.ones(3, np.float32)
    w, b = manual.init_params(np.zeros(1), 0.0)
    d2l_from_scratch([w, b], nd.array(X), nd.array(y), lr=0.1, batch_size=2, epochs=1, seed=0)
    assert w.asnumpy()[0, 0] == pytest.approx(0.14) and b.asnumpy()[0] == pytest.approx(0.14)
    result = fit(X, y, loss="l2", reduction="mean", lr=0.1, batch_size=2, epochs=1, init_weight=[0])
    assert result.weight[0] == pytest.approx(0.18) and result.bias == pytest.approx(0.18)


@given(
    dataset=datasets(max_samples=20, max_outputs=3),
    loss=st.sampled_from(ALL_LOSSES),
    rho=st.floats(0.1, 5.0),
    weighted=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_fast_net_with_loss_is_the_plain_loss_of_the_net(dataset, loss, rho, weighted, seed):
    """The hybridized block's losses and gradients are those of loss(net(x, dense), y), bit for bit."""
    X, y = dataset
    n_outputs = 1 if y.ndim == 1 else y.shape[1]
    weight, bias = initial_params(X.shape[1], seed, n_outputs=None if n_outputs == 1 else n_outputs)
    x, labels = nd.array(X), nd.array(y.reshape(len(y), n_outputs))
    extra = [nd.array(np.random.default_rng(seed).uniform(0, 2, (len(X), 1)))] if weighted else []
    results = []
    for compiled in (False, True):
        dense, loss_block = glr.init_params(weight, bias), glr.make_loss(loss, rho)
        forward = glr.fast_net_with_loss(dense, loss_block) if compiled else None
        with autograd.record():
            losses = forward(x, labels, *extra) if compiled else loss_block(glr.net(x, dense), labels, *extra)
        losses.backward()
        results.append([losses.asnumpy(), dense.weight.grad().asnumpy(), dense.bias.grad().asnumpy()])
    for plain, compiled in zip(*results, strict=True):
        np.testing.assert_array_equal(compiled, plain)


@pytest.mark.parametrize("divisor", [1, 3, 10])
def test_fast_sgd_is_sgd(divisor):
    """The fused kernel takes sgd's step: bit for bit when it divides by 1, else to float32's last bit."""
    rng = np.random.default_rng(divisor)
    x, y = nd.array(rng.standard_normal((10, 3))), nd.array(rng.standard_normal(10))
    start, params = rng.standard_normal(3), []
    for step in (manual.sgd, manual.fast_sgd):
        w, b = manual.init_params(start, 0.5)
        with autograd.record():
            loss = manual.squared_loss(manual.net(x, w, b), y)
        loss.backward()
        step([w, b], 0.05, divisor)
        params.append([w.asnumpy().ravel(), b.asnumpy()])
    (sgd_w, sgd_b), (fast_w, fast_b) = params
    if divisor == 1:
        np.testing.assert_array_equal(fast_w, sgd_w)
        np.testing.assert_array_equal(fast_b, sgd_b)
    np.testing.assert_array_max_ulp(fast_w, sgd_w, maxulp=1)
    np.testing.assert_array_max_ulp(fast_b, sgd_b, maxulp=1)


def test_sgd_is_the_articles_line():
    """sgd is param[:] = param - lr * param.grad / divisor, in place: the gradient buffer stays attached."""
    w, b = manual.init_params(np.array([1.0, -2.0]), 0.5)
    grad_buffer = w.grad
    with autograd.record():
        loss = manual.squared_loss(manual.net(nd.array([[1.0, 2.0], [3.0, 4.0]]), w, b), nd.array([1.0, 2.0]))
    loss.backward()
    expected = [param.asnumpy() - 0.1 * param.grad.asnumpy() / 2 for param in (w, b)]
    manual.sgd([w, b], lr=0.1, divisor=2)
    np.testing.assert_allclose(w.asnumpy(), expected[0], rtol=1e-6)
    np.testing.assert_allclose(b.asnumpy(), expected[1], rtol=1e-6)
    w.grad[:] = 7.0  # still the buffer backward writes to
    assert grad_buffer.asnumpy().tolist() == [[7.0], [7.0]]


def test_squared_loss_reshapes_the_labels():
    """(n, 1) predictions minus (n,) labels would broadcast to (n, n): squared_loss reshapes y first."""
    losses = manual.squared_loss(nd.array([[1.0], [2.0], [4.0]]), nd.array([1.0, 1.0, 1.0]))
    assert losses.shape == (3, 1) and losses.asnumpy().ravel().tolist() == [0.0, 1.0, 9.0]


@pytest.mark.parametrize("data_iter", [manual.data_iter, glr.data_iter], ids=["manual", "gluon"])
def test_data_iter_errors(data_iter):
    X, y = np.ones((5, 2), np.float32), np.ones(5, np.float32)
    with pytest.raises(TypeError, match=r"features passed to data_iter must be an MXNet NDArray.*nd.array\(features\)"):
        list(data_iter(2, X, nd.array(y)))
    with pytest.raises(TypeError, match=r"labels passed to data_iter .* got ndarray"):
        list(data_iter(2, nd.array(X), y))
    with pytest.raises(ValueError, match=r"labels must have as many rows; got shapes \(5, 2\) and \(4,\)"):
        list(data_iter(2, nd.array(X), nd.array(y[:4])))
    with pytest.raises(ValueError, match=r"features .* must be 2-D"):
        list(data_iter(2, nd.array(y), nd.array(y)))
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match=r"The 'batch_size' parameter of data_iter must be an int >= 1"):
            list(data_iter(bad, nd.array(X), nd.array(y)))


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"lr": -0.1}, r"The 'lr' parameter of (manual|gluon).train must be a finite float > 0. Got -0.1"),
        ({"epochs": 0}, r"The 'epochs' parameter of (manual|gluon).train must be an int >= 1"),
        ({"seed": -1}, r"The 'seed' parameter of (manual|gluon).train must be an int >= 0"),
        ({"reduction": "avg"}, r"The 'reduction' parameter of (manual|gluon).train must be one of 'sum', 'mean'"),
        ({"batch_size": 0}, r"The 'batch_size' parameter of data_iter must be an int >= 1"),
    ],
)
@pytest.mark.parametrize("path", ["manual", "gluon"])
def test_train_refuses_bad_options_before_a_step(path, option, message):
    X, y = np.ones((5, 2), np.float32), np.ones(5, np.float32)
    if path == "manual":
        params = manual.init_params(np.zeros(2), 0.0)
        values = lambda: [param.asnumpy() for param in params]  # noqa: E731
        train = lambda: manual.train(params, nd.array(X), nd.array(y), **option)  # noqa: E731
    else:
        params = glr.init_params(np.zeros(2), 0.0)
        values = lambda: [params.weight.data().asnumpy(), params.bias.data().asnumpy()]  # noqa: E731
        train = lambda: glr.train(params, nd.array(X), nd.array(y), **option)  # noqa: E731
    before = values()
    with pytest.raises(ValueError, match=message):
        train()
    for value, start in zip(values(), before, strict=True):
        np.testing.assert_array_equal(value, start)
