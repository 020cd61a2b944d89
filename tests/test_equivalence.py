"""Property tests: the two paths agree with each other and with the float64 numpy reference, epoch by epoch.

The tolerances are gluonlr.testing's defaults, PATH_RTOL = 1e-5 and REFERENCE_RTOL = 1e-4, each relative to the
largest magnitude of the quantity compared (at least 1): both paths run in float32 but apply the same operations
in a slightly different order (nd.dot vs FullyConnected, lr/d * g vs lr * (g/d)), so they agree to a few float32
ulps per step; against the float64 reference the float32 rounding of the data-sized sums adds up over the steps.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gluonlr.testing import PATH_RTOL, REFERENCE_RTOL, assert_matches_reference, assert_paths_agree
from gluonlr.testing.strategies import ALL_OPTIONS, CONDITIONINGS, datasets, fit_configs


@given(data=st.data(), dataset=datasets())
def test_paths_agree(data, dataset):
    X, y = dataset
    assert_paths_agree(X, y, rtol=PATH_RTOL, **data.draw(fit_configs(X)))


@pytest.mark.parametrize("path", ["manual", "gluon"])
@given(data=st.data(), dataset=datasets())
def test_paths_match_reference(path, data, dataset):
    X, y = dataset
    assert_matches_reference(X, y, rtol=REFERENCE_RTOL, path=path, **data.draw(fit_configs(X)))


@given(
    data=st.data(),
    dataset=datasets(max_samples=60, noise=0.1, conditioning=CONDITIONINGS, dtypes=(np.float32, np.float64, np.int64)),
)
def test_paths_agree_on_harder_data(data, dataset):
    """Nearly collinear or ill-scaled columns, noisy linear targets, float64 and integer input."""
    X, y = dataset
    manual, gluon = assert_paths_agree(X, y, rtol=PATH_RTOL, **data.draw(fit_configs(X)))
    assert manual.weight.dtype == gluon.weight.dtype == np.float32


# Every training option of fit, switched on (ALL_OPTIONS): all losses (Huber's rho), SGD, momentum, Nesterov and
# Adam, weight decay, step and cosine schedules, sample weights, a validation split, every metric; and 1-3 outputs.


@given(data=st.data(), dataset=datasets(max_samples=80, max_outputs=3))
def test_paths_agree_with_every_option(data, dataset):
    X, y = dataset
    assert_paths_agree(X, y, rtol=PATH_RTOL, **data.draw(fit_configs(X, **ALL_OPTIONS)))


@pytest.mark.parametrize("path", ["manual", "gluon"])
@given(data=st.data(), dataset=datasets(max_samples=80, max_outputs=3))
def test_every_option_matches_reference(path, data, dataset):
    X, y = dataset
    assert_matches_reference(X, y, rtol=REFERENCE_RTOL, path=path, **data.draw(fit_configs(X, **ALL_OPTIONS)))
