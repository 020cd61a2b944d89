"""The exercises' checkers (gluonlr.testing.exercises): each passes the reference solution in
docs/exercises/solutions.py and fails a deliberately wrong one with a message that says where and by how much."""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from gluonlr import epoch_order, initial_params, manual, synthetic_data
from gluonlr._mxnet import nd
from gluonlr.data import EpochData
from gluonlr.testing import reference_fit, stable_lr
from gluonlr.testing.exercises import (
    check_data_iter,
    check_huber_grad,
    check_lr_schedule,
    check_sgd_momentum,
    check_squared_loss,
)

SOLUTIONS = Path(__file__).resolve().parents[1] / "docs" / "exercises" / "solutions.py"


@pytest.fixture(scope="module")
def solutions():
    if not SOLUTIONS.exists():
        pytest.skip("docs/exercises/solutions.py is not beside the tests")
    spec = importlib.util.spec_from_file_location("exercise_solutions", SOLUTIONS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def failure(check, function, **options):
    with pytest.raises(AssertionError) as caught:
        check(function, **options)
    return str(caught.value)


def flat(message):
    """The message with its line breaks (the hints are wrapped at 88 columns) as spaces."""
    return " ".join(message.split())


def assert_message(message, start, end, *inside):
    """Pin a failure's first line (where and which value), its hint, and any of the lines between."""
    assert message.startswith(start), message
    assert all(part in message for part in inside), message
    assert flat(message).endswith(end), message


# -- the reference solutions pass, and are what the library computes ---------------------------------------------


def test_the_reference_solutions_pass_their_checkers(solutions):
    check_data_iter(solutions.data_iter)
    check_data_iter(solutions.data_iter, n_samples=30, batch_size=10, epochs=2, seed=3)  # no short batch
    check_squared_loss(solutions.squared_loss)
    check_sgd_momentum(solutions.sgd_momentum)
    check_sgd_momentum(solutions.sgd_momentum, momentum=0.5, lr=0.001, batch_size=7, epochs=2, seed=1)
    check_huber_grad(solutions.huber_grad)
    check_lr_schedule(solutions.cosine)
    check_lr_schedule(solutions.cosine, final_lr=0.01, lr=0.5, n_batches=3, epochs=7)


def test_the_iterator_solution_gives_the_batches_of_manual_batches(solutions):
    """The exercise's reference order is the library's: the same batches as gluonlr.manual.fast_batches."""
    X, y = synthetic_data(n=23)
    mine = list(solutions.data_iter(5, nd.array(X), nd.array(y), seed=0, epoch=2))
    library = manual.fast_batches(EpochData(X, y, 5), epoch_order(23, 0, 2))
    assert len(mine) == len(library) == 5
    for (x, y_batch), (x_lib, y_lib) in zip(mine, library, strict=True):
        np.testing.assert_array_equal(x.asnumpy(), x_lib.asnumpy())
        np.testing.assert_array_equal(y_batch.asnumpy(), y_lib.asnumpy().ravel())


def test_the_momentum_solution_trains_as_reference_fit(solutions):
    """The checker's update-by-update reference is reference_fit's momentum SGD: a loop of the solution's steps
    ends where reference_fit(momentum=...) does."""
    X, y = (a.astype(np.float64) for a in synthetic_data(n=50))
    lr = stable_lr(X)
    expected = reference_fit(X, y, lr=lr, momentum=0.9, epochs=3)
    params, velocities = [initial_params(2, 0)[0].astype(np.float64), np.zeros(1)], [np.zeros(2), np.zeros(1)]
    for epoch in range(3):
        order = epoch_order(50, 0, epoch)
        for start in range(0, 50, 10):
            rows = order[start : start + 10]
            r = X[rows] @ params[0] + params[1][0] - y[rows]
            grads = [2 * X[rows].T @ r, np.array([2 * r.sum()])]
            solutions.sgd_momentum(params, grads, velocities, lr=lr, momentum=0.9)
    np.testing.assert_allclose(params[0], expected.weight, rtol=1e-12)
    assert math.isclose(params[1][0], expected.bias, rel_tol=1e-12)


# -- 1. the data iterator -----------------------------------------------------------------------------------------


def no_shuffle(batch_size, features, labels, *, seed, epoch):
    for i in range(0, len(features), batch_size):
        j = nd.arange(i, min(i + batch_size, len(features)))
        yield nd.take(features, j), nd.take(labels, j)


def drops_the_last_batch(batch_size, features, labels, *, seed, epoch):
    order = epoch_order(len(features), seed, epoch)
    for i in range(0, len(features) - batch_size + 1, batch_size):
        j = nd.array(order[i : i + batch_size])
        yield nd.take(features, j), nd.take(labels, j)


def test_an_iterator_that_does_not_shuffle():
    assert failure(check_data_iter, no_shuffle) == (
        "data_iter differs first at epoch 1 of 3, batch 1 of 5: the rows it holds:\n"
        "    data_iter = [0, 1, 2, 3, 4]\n"
        "    reference = [18, 4, 20, 10, 11]\n"
        "  It takes the rows in their stored order 0, 1, 2, ...: it does not shuffle."
    )


def test_an_iterator_that_drops_the_short_last_batch():
    assert failure(check_data_iter, drops_the_last_batch) == (
        "data_iter differs first at epoch 1 of 3, batch 5 of 5:\n"
        "    data_iter = no batch\n"
        "    reference = a batch of 3 rows\n"
        "  Your iterator yields 4 batches, 20 rows of 23: the reference yields 5, the last with\n"
        "  the 3 rows left over (23 = 4 x 5 + 3). Keep the short last batch: the slice\n"
        "  order[i:i+batch_size] stops at the end."
    )


def test_an_iterator_with_the_same_order_every_epoch(solutions):
    def same_order(batch_size, features, labels, *, seed, epoch):
        yield from solutions.data_iter(batch_size, features, labels, seed=seed, epoch=0)

    message = failure(check_data_iter, same_order)
    assert message.startswith("data_iter differs first at epoch 2 of 3, batch 1 of 5: the rows it holds:\n")
    assert flat(message).endswith("the same order as the one before: shuffle each epoch with its own epoch_order.")


def test_an_iterator_with_its_own_shuffle():
    def own_shuffle(batch_size, features, labels, *, seed, epoch):
        order = np.random.default_rng(100 + epoch).permutation(len(features))
        for i in range(0, len(features), batch_size):
            j = nd.array(order[i : i + batch_size])
            yield nd.take(features, j), nd.take(labels, j)

    message = failure(check_data_iter, own_shuffle)
    assert message.startswith("data_iter differs first at epoch 1 of 3, batch 1 of 5: the rows it holds:\n")
    assert flat(message).endswith("shuffle with gluonlr.epoch_order(len(features), seed, epoch).")


def right_batches(batch_size, features, labels, *, seed, epoch):
    """The reference's batches, with the indices of their rows."""
    order = epoch_order(len(features), seed, epoch)
    for i in range(0, len(features), batch_size):
        j = nd.array(order[i : i + batch_size])
        yield i, nd.take(features, j), nd.take(labels, j)


def labels_in_stored_order(batch_size, features, labels, *, seed, epoch):
    for i, x, _ in right_batches(batch_size, features, labels, seed=seed, epoch=epoch):
        yield x, labels[i : i + len(x)]


def doubled(batch_size, features, labels, *, seed, epoch):
    for _, x, y in right_batches(batch_size, features, labels, seed=seed, epoch=epoch):
        yield x * 2, y


@pytest.mark.parametrize(
    ("data_iter", "start", "end", "inside"),
    [
        (
            labels_in_stored_order,
            "data_iter differs first at epoch 1 of 3, batch 1 of 5, y[0]:\n    data_iter = 14.7",
            "row 18 of features: take the labels with the same indices.",
            "|difference| = 1.44\n",
        ),
        (
            doubled,
            "data_iter differs first at epoch 1 of 3, batch 1 of 5, x[0, 0]:\n",
            "is no row of features; the reference's is row 18.",
            "|difference| = 0.654\n",
        ),
    ],
)
def test_an_iterator_with_wrong_labels_or_values(data_iter, start, end, inside):
    assert_message(failure(check_data_iter, data_iter), start, end, inside)


def test_an_iterator_that_yields_no_pairs(solutions):
    def triples(batch_size, features, labels, *, seed, epoch):
        for x, y in solutions.data_iter(batch_size, features, labels, seed=seed, epoch=epoch):
            yield x, y, y

    assert failure(check_data_iter, triples) == (
        "data_iter's batch 1 of epoch 1 of 3 is not a pair (x, y): got tuple. Yield (features, labels)."
    )


# -- 2. the squared loss ------------------------------------------------------------------------------------------


def test_a_loss_missing_the_square():
    def squared_loss(yhat, y):
        return yhat - y.reshape(yhat.shape)

    assert failure(check_squared_loss, squared_loss) == (
        "squared_loss differs first at element 0 of 6 (yhat = 3, y = 1):\n"
        "    squared_loss = 2\n"
        "    reference    = 4\n"
        "    |difference| = 2\n"
        "  It returns yhat - y: the square is missing."
    )


@pytest.mark.parametrize(
    ("loss", "expected", "note"),
    [
        ("squared", lambda yhat, y: (yhat - y.reshape(yhat.shape)) ** 2 / 2, "the article's loss has no 1/2."),
        ("l2", lambda yhat, y: (yhat - y.reshape(yhat.shape)) ** 2, "d2l's squared_loss (loss='l2') halves it."),
        ("squared", lambda yhat, y: abs(yhat - y.reshape(yhat.shape)), "the L1 loss: square the residual instead."),
    ],
)
def test_a_loss_of_the_other_convention(loss, expected, note):
    message = failure(check_squared_loss, expected, loss=loss)
    assert message.startswith("<lambda> differs first at element 0 of 6 (yhat = 3, y = 1):\n")
    assert flat(message).endswith(note)


def test_a_loss_that_broadcasts_or_averages():
    assert flat(failure(check_squared_loss, lambda yhat, y: (yhat - y) ** 2)).endswith(
        "yhat - y broadcast (6, 1) against (6,) to (6, 6): reshape y first, y.reshape(yhat.shape)."
    )
    assert failure(check_squared_loss, lambda yhat, y: ((yhat - y.reshape(yhat.shape)) ** 2).mean()) == (
        "<lambda> returns shape (1,) for yhat of shape (6, 1) and y of shape (6,):\n"
        "  expected one loss per sample, of shape (6, 1) or (6,).\n"
        "  Not one number for the batch: backward() sums the per-sample losses itself."
    )


def test_a_loss_autograd_cannot_differentiate():
    def via_numpy(yhat, y):
        return (yhat.asnumpy() - y.asnumpy().reshape(-1, 1)) ** 2

    def blocked(yhat, y):
        return nd.BlockGrad((yhat - y.reshape(yhat.shape)) ** 2)

    assert failure(check_squared_loss, via_numpy) == (
        "via_numpy returns a numpy.ndarray, not an MXNet NDArray: autograd cannot\n"
        "  differentiate it. Compute the loss with NDArray operations (no asnumpy()), so that\n"
        "  backward() finds its gradient."
    )
    assert failure(check_squared_loss, blocked) == (
        "The gradient of blocked differs first at element 0 of 6 (yhat = 3, y = 1):\n"
        "    d blocked / d yhat = 0\n"
        "    reference          = 4\n"
        "    |difference| = 4\n"
        "  The values are right but the gradient is not: is part of the loss computed outside\n"
        "  autograd?"
    )


def test_the_loss_checker_refuses_other_losses(solutions):
    with pytest.raises(ValueError, match=r"check_squared_loss checks loss='squared' or 'l2'\. Got 'huber'\."):
        check_squared_loss(solutions.squared_loss, loss="huber")


# -- 3. SGD with momentum -----------------------------------------------------------------------------------------


def test_momentum_applied_in_the_wrong_order():
    def sgd_momentum(params, grads, velocities, *, lr, momentum):
        for p, g, v in zip(params, grads, velocities, strict=True):
            p += v
            v[:] = momentum * v - lr * g

    assert failure(check_sgd_momentum, sgd_momentum) == (
        "sgd_momentum differs first at update 1 (epoch 1 of 3, batch 1 of 5), weight[0]:\n"
        "    sgd_momentum = 0.125730217\n"
        "    reference    = 2.28747354\n"
        "    |difference| = 2.16\n"
        "  Your step left the parameters where they were on the first update, when the velocity\n"
        "  is still 0: update the velocity first (v = momentum * v - lr * g), then move the\n"
        "  parameter by it (p += v)."
    )


def rebinding(params, grads, velocities, *, lr, momentum):
    new = []
    for p, g, v in zip(params, grads, velocities, strict=True):
        v[:] = momentum * v - lr * g
        new.append(p + v)
    return new


def velocity_reset(params, grads, velocities, *, lr, momentum):
    for p, g, v in zip(params, grads, velocities, strict=True):
        v = momentum * v - lr * g  # a new array: the caller's velocity stays 0
        p += v


@pytest.mark.parametrize(
    ("sgd_momentum", "start", "end"),
    [
        (
            rebinding,
            "rebinding differs first at update 1 (epoch 1 of 3, batch 1 of 5), weight[0]:\n",
            "update them in place (p[:] = ..., p += ...); p = p - ... only rebinds a local name.",
        ),
        (
            velocity_reset,
            "velocity_reset differs first at update 2 (epoch 1 of 3, batch 2 of 5), weight[0]:\n",
            "update them in place (v[:] = momentum * v - lr * g).",
        ),
    ],
)
def test_momentum_that_does_not_update_in_place(sgd_momentum, start, end):
    assert_message(failure(check_sgd_momentum, sgd_momentum), start, end)


def test_momentum_in_d2l_form_passes():
    """d2l's v = momentum * v + g; p -= lr * v takes the same steps at a constant rate."""

    def d2l_momentum(params, grads, velocities, *, lr, momentum):
        for p, g, v in zip(params, grads, velocities, strict=True):
            v[:] = momentum * v + g
            p[:] -= lr * v

    check_sgd_momentum(d2l_momentum)


def test_the_bias_is_checked_too(solutions):
    def weight_only(params, grads, velocities, *, lr, momentum):
        solutions.sgd_momentum(params[:1], grads[:1], velocities[:1], lr=lr, momentum=momentum)

    message = failure(check_sgd_momentum, weight_only)
    assert message.startswith("weight_only differs first at update 1 (epoch 1 of 3, batch 1 of 5), bias:\n")


# -- 4. the Huber gradient ----------------------------------------------------------------------------------------


def test_a_huber_gradient_without_its_linear_part():
    assert failure(check_huber_grad, lambda r, rho: r / rho) == (
        "<lambda> differs first at element 0 of 11 (r = -3, rho = 1):\n"
        "    <lambda>  = -3\n"
        "    reference = -1\n"
        "    |difference| = 2\n"
        "  Where |r| > rho the loss is |r| - rho / 2, linear: its derivative there is sign(r), -1\n"
        "  or 1."
    )


def test_a_huber_gradient_wrong_inside_the_kinks():
    def no_rho(r, rho):
        return np.where(np.abs(r) > rho, np.sign(r), r)  # forgets to divide by rho: right only for rho = 1

    assert failure(check_huber_grad, no_rho) == (
        "no_rho differs first at element 2 of 11 (r = -0.5, rho = 0.5):\n"
        "    no_rho    = -0.5\n"
        "    reference = -1\n"
        "    |difference| = 0.5\n"
        "  Where |r| <= rho the loss is r ** 2 / (2 rho): its derivative there is r / rho."
    )
    assert failure(check_huber_grad, lambda r, rho: np.sign(r)).startswith(
        "<lambda> differs first at element 3 of 11 (r = -0.5, rho = 1):"
    )
    assert failure(check_huber_grad, lambda r, rho: float(r[0])) == (
        "<lambda> returns shape () for r of shape (11,); expected one derivative per residual."
    )


# -- 5. a learning-rate schedule ----------------------------------------------------------------------------------


def cosine_from_zero(u, *, lr, n_batches, epochs, final_lr=0.0):
    return final_lr + (lr - final_lr) * (1 + math.cos(math.pi * (u - 1) / (n_batches * epochs))) / 2


def test_a_schedule_that_counts_updates_from_zero():
    assert failure(check_lr_schedule, cosine_from_zero) == (
        "cosine_from_zero differs first at update 1 (epoch 1 of 4, batch 1 of 5):\n"
        "    cosine_from_zero = 0.1\n"
        "    reference        = 0.099384417\n"
        "    |difference| = 0.000616\n"
        "  Your rate of update u is the reference's of update u - 1: MXNet counts updates from 1,\n"
        "  and the first update already has a rate below lr."
    )


def test_a_schedule_that_changes_once_an_epoch(solutions):
    def per_epoch(u, *, lr, n_batches, epochs, final_lr=0.0):
        first_of_epoch = (u - 1) // n_batches * n_batches + 1
        return solutions.cosine(first_of_epoch, lr=lr, n_batches=n_batches, epochs=epochs, final_lr=final_lr)

    message = failure(check_lr_schedule, per_epoch)
    assert message.startswith("per_epoch differs first at update 2 (epoch 1 of 4, batch 2 of 5):\n")
    assert flat(message).endswith("MXNet's schedulers change it every update (u counts batches).")


def test_a_step_schedule():
    def step(u, *, lr, n_batches, epochs, factor=0.5, step_epochs=1):
        return lr * factor ** ((u - 1) // (step_epochs * n_batches))

    def step_early(u, *, lr, n_batches, epochs, factor=0.5, step_epochs=1):
        return lr * factor ** (u // (step_epochs * n_batches))

    check_lr_schedule(step, "step")
    check_lr_schedule(step, "step", factor=0.1, step_epochs=2, n_batches=3, epochs=6)
    message = failure(check_lr_schedule, step_early, name="step")
    assert message.startswith("step_early differs first at update 5 (epoch 1 of 4, batch 5 of 5):\n")
    assert flat(message).endswith("the reference's of update u + 1: MXNet counts updates from 1.")


def test_the_schedule_checker_refuses_other_names(solutions):
    with pytest.raises(ValueError, match=r"check_lr_schedule checks 'cosine' or 'step'\. Got 'constant'\."):
        check_lr_schedule(solutions.cosine, "constant")
