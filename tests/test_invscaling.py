"""lr_schedule="invscaling" (scikit-learn's eta0 / t ** power_t): the formula, MXNet's scheduler of it, both paths, the
reference, and scikit-learn's own SGDRegressor step for step (batches of one sample, in fit's order)."""

import numpy as np
import pytest

from gluonlr import fit, synthetic_data
from gluonlr.data import epoch_order
from gluonlr.schedules import InverseScaling, make_schedule
from gluonlr.testing import assert_paths_agree, reference_fit, reference_lrs

X, y = synthetic_data(n=60)


def test_the_rate_of_update_u_is_lr_over_u_to_the_power_t():
    schedule = InverseScaling(power_t=0.3)
    scheduler = schedule.mxnet_scheduler(lr=0.2, n_batches=6, epochs=3)
    for u in range(1, 40):
        assert schedule.lr_at(u, lr=0.2, n_batches=6, epochs=3) == scheduler(u) == 0.2 / u**0.3
    assert make_schedule("invscaling") == InverseScaling(power_t=0.25)
    assert InverseScaling(power_t=0).lr_at(1000, lr=0.5, n_batches=1, epochs=1) == 0.5
    np.testing.assert_array_equal(
        reference_lrs(InverseScaling(0.3), lr=0.2, n_batches=6, epochs=3), 0.2 / np.arange(1, 19) ** 0.3
    )


@pytest.mark.parametrize("power_t", [-0.1, float("nan"), float("inf"), "0.5", True])
def test_a_bad_power_t_is_refused(power_t):
    with pytest.raises(ValueError, match=r"The 'power_t' parameter of InverseScaling must be a float >= 0. Got "):
        InverseScaling(power_t=power_t)


def test_both_paths_and_the_reference_take_the_same_rates():
    options = dict(lr=0.05, reduction="mean", batch_size=8, epochs=3, lr_schedule=InverseScaling(power_t=0.5))
    manual, gluon = assert_paths_agree(X, y, rtol=1e-5, **options)
    expected = reference_fit(X, y, **options)
    np.testing.assert_allclose(manual.result.weight, expected.weight, rtol=1e-4)
    lrs = [0.05 / (epoch * 8 + 1) ** 0.5 for epoch in range(3)]  # 8 batches an epoch; each epoch's first update
    np.testing.assert_allclose(gluon.result.history["lr"], lrs, rtol=1e-12)
    np.testing.assert_allclose(manual.result.history["lr"], lrs, rtol=1e-12)


def test_the_name_reaches_fit_and_the_cli_choices():
    from gluonlr.cli.options import FIT_FLAGS  # noqa: F401  (the flag's choices are SCHEDULES')
    from gluonlr.schedules import SCHEDULES

    assert SCHEDULES["invscaling"] is InverseScaling
    result = fit(X, y, lr=0.01, epochs=2, lr_schedule="invscaling", verbose=0)
    assert result.history["lr"][1] == pytest.approx(0.01 / 7**0.25)  # 6 batches of 10: update 7 opens epoch 2


@pytest.mark.parametrize("path", ["manual", "gluon"])
@pytest.mark.parametrize("power_t", [0.25, 0.5])
def test_equals_scikit_learns_sgdregressor_step_for_step(path, power_t):
    """Batches of one sample in fit's order, squared_error (1/2 (p - y)**2 = fit's "l2"), float64: SGDRegressor's
    partial_fit, one call per epoch on the rows in that order, keeps its update count t, so it takes the same steps.

    To 1e-7, not 1e-10: MXNet's update kernels take the rate as a float32 parameter, so each step's
    ``lr / u ** power_t`` is rounded to float32 (a relative 6e-8 at most) where scikit-learn keeps float64. A
    power_t off by 1e-4 moves the weights 100 times more than that.
    """
    sklearn_linear_model = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(3)
    features = rng.standard_normal((40, 3))
    target = features @ np.array([1.5, -2.0, 0.5]) + 0.3 + 0.1 * rng.standard_normal(40)
    lr, epochs = 0.05, 4
    ours = fit(features, target, path=path, loss="l2", batch_size=1, lr=lr, epochs=epochs, dtype="float64",
               init="zeros", lr_schedule=InverseScaling(power_t=power_t), verbose=0)  # fmt: skip
    theirs = sklearn_linear_model.SGDRegressor(
        loss="squared_error", penalty=None, learning_rate="invscaling", eta0=lr, power_t=power_t, shuffle=False
    )
    for epoch in range(epochs):
        order = epoch_order(len(target), 0, epoch)
        theirs.partial_fit(features[order], target[order])
    np.testing.assert_allclose(ours.weight, theirs.coef_, rtol=1e-7)
    np.testing.assert_allclose(ours.bias, theirs.intercept_[0], rtol=1e-7)
    assert theirs.t_ == epochs * len(target) + 1  # scikit-learn's t, from 1: the next update's
    off = fit(features, target, path=path, loss="l2", batch_size=1, lr=lr, epochs=epochs, dtype="float64",
              init="zeros", lr_schedule=InverseScaling(power_t=power_t + 1e-4), verbose=0)  # fmt: skip
    assert np.abs(off.weight - theirs.coef_).max() > 100 * 1e-7 * np.abs(theirs.coef_).max()
