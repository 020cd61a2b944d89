"""Property tests: the two paths agree with each other and with the float64 numpy reference, epoch by epoch.

The tolerances are gluonlr.testing's: both paths run in float32 but apply the same operations in a slightly
different order (nd.dot vs FullyConnected, lr/d * g vs lr * (g/d)), so they agree to a few float32 ulps per step
(PATH_RTOL = 1e-5); against the float64 reference the float32 rounding of the data-sized sums adds up over the
steps (REFERENCE_RTOL = 1e-4). Most tests measure each value on its own, to atol + rtol * max(|a|, |b|)
(PATH_ATOL, REFERENCE_ATOL), so that a bug that moves a small value (a bias next to large weights) is not hidden
by the largest value of its vector; the harder data keeps the tolerance relative to each vector's largest value.

The draws are wide enough to catch bugs that grow with the parameters or the steps: up to 8 epochs, starting
points away from fit's default (init_params: weights and bias in [-10, 10]), and, per optimizer, a weight decay
strong enough to show in every step. A deliberate bug in Adam's bias correction, in NAG's state or in the decay
of the bias, in either the manual path or the reference, fails them (tools/mutate.py keeps checking that).
"""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gluonlr import PATHS
from gluonlr.testing import (
    PATH_ATOL,
    PATH_RTOL,
    REFERENCE_ATOL,
    REFERENCE_RTOL,
    assert_matches_reference,
    assert_paths_agree,
)
from gluonlr.testing.strategies import (
    ALL_LOSSES,
    ALL_OPTIONS,
    CONDITIONINGS,
    OPTIMIZERS,
    SCHEDULES,
    datasets,
    fit_configs,
)

#: Epochs the tests draw (fit_configs' default is 1-3).
MAX_EPOCHS = 8


@given(data=st.data(), dataset=datasets())
def test_paths_agree(data, dataset):
    X, y = dataset
    config = data.draw(fit_configs(X, y, max_epochs=MAX_EPOCHS, init_params=True))
    assert_paths_agree(X, y, rtol=PATH_RTOL, atol=PATH_ATOL, **config)


@pytest.mark.parametrize("path", ["manual", "gluon"])
@given(data=st.data(), dataset=datasets())
def test_paths_match_reference(path, data, dataset):
    X, y = dataset
    config = data.draw(fit_configs(X, y, max_epochs=MAX_EPOCHS, init_params=True))
    assert_matches_reference(X, y, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL, path=path, **config)


@given(
    data=st.data(),
    dataset=datasets(max_samples=60, noise=0.1, conditioning=CONDITIONINGS, dtypes=(np.float32, np.float64, np.int64)),
)
def test_paths_agree_on_harder_data(data, dataset):
    """Nearly collinear or ill-scaled columns, noisy linear targets, float64 and integer input."""
    X, y = dataset
    manual, gluon = assert_paths_agree(X, y, rtol=PATH_RTOL, **data.draw(fit_configs(X, y, init_params=True)))
    assert manual.weight.dtype == gluon.weight.dtype == np.float32


# Every training option of fit, switched on (ALL_OPTIONS): all losses (Huber's rho), SGD, momentum, Nesterov and
# Adam, weight decay and the penalties (L1 and elastic net on plain SGD), step and cosine schedules, sample weights,
# a validation split, every metric; and 1-3 outputs.


@given(data=st.data(), dataset=datasets(max_samples=80, max_outputs=3))
def test_paths_agree_with_every_option(data, dataset):
    X, y = dataset
    config = data.draw(fit_configs(X, y, **ALL_OPTIONS, max_epochs=MAX_EPOCHS, init_params=True))
    assert_paths_agree(X, y, rtol=PATH_RTOL, atol=PATH_ATOL, **config)


@pytest.mark.parametrize("path", ["manual", "gluon"])
@given(data=st.data(), dataset=datasets(max_samples=80, max_outputs=3))
def test_every_option_matches_reference(path, data, dataset):
    X, y = dataset
    config = data.draw(fit_configs(X, y, **ALL_OPTIONS, max_epochs=MAX_EPOCHS, init_params=True))
    # The L1 loss steps by the sign of each residual. Standardized, a row of zeros becomes -mean / std and its
    # prediction a float32 sum on the device, where the reference sums in float64: a residual near 0 can round to
    # the other side (CI found one: a step turned around, 9x the tolerance). The two paths, both float32, still
    # agree (the test above); without standardize a zero row predicts the bias exactly. Only this pair is left out.
    assume(not (config.get("standardize") and config["loss"] == "l1"))
    assert_matches_reference(X, y, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL, path=path, **config)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@given(data=st.data(), dataset=datasets(max_samples=40, max_outputs=2), path=st.sampled_from(list(PATHS)))
def test_each_optimizer_with_strong_weight_decay_matches_reference(optimizer, data, dataset, path):
    """Each optimizer's state and the weights' decay (the bias's is 0) where they show: a decay of up to half of
    each step, from a start away from the optimum, over up to 8 epochs (each example on one path)."""
    X, y = dataset
    config = data.draw(
        fit_configs(
            X, y, losses=ALL_LOSSES, optimizers=(optimizer,), schedules=SCHEDULES, weight_decay="strong",
            max_epochs=MAX_EPOCHS, init_params=True,
        )
    )  # fmt: skip
    assert_matches_reference(X, y, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL, path=path, **config)
