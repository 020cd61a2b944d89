"""Property tests: the two paths agree with each other and with a float64 numpy reference."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from gluonlr import fit, initial_params
from reference import reference_fit
from strategies import datasets, fit_configs

# Both paths run in float32 but apply the same operations in a slightly different
# order (nd.dot vs FullyConnected, lr/d * g vs lr * (g/d)), so they agree to a few
# float32 ulps per step: rtol 1e-5 (the bound). Against the float64
# reference the float32 rounding of the data-sized sums adds up over the steps:
# rtol 1e-4. Both tolerances are relative to the largest magnitude involved
# (an atol of rtol * scale), since individual entries may be near zero.
PATH_RTOL = 1e-5
REFERENCE_RTOL = 1e-4


def assert_close(actual, expected, rtol, what):
    actual, expected = np.atleast_1d(np.asarray(actual, np.float64)), np.atleast_1d(np.asarray(expected, np.float64))
    scale = max(1.0, float(np.max(np.abs(expected))))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale, err_msg=what)


@given(data=st.data(), dataset=datasets())
def test_paths_agree_and_match_reference(data, dataset):
    X, y = dataset
    config = data.draw(fit_configs(X))
    manual = fit(X, y, path="manual", **config)
    gluon = fit(X, y, path="gluon", **config)

    assert_close(gluon.weight, manual.weight, PATH_RTOL, "weight: gluon vs manual")
    assert_close(gluon.bias, manual.bias, PATH_RTOL, "bias: gluon vs manual")
    assert_close(gluon.history["loss"], manual.history["loss"], PATH_RTOL, "history: gluon vs manual")

    w0, b0 = initial_params(X.shape[1], config["seed"])
    w, b, history = reference_fit(X, y, init_weight=w0, init_bias=b0, **config)
    for result in (manual, gluon):
        assert_close(result.weight, w, REFERENCE_RTOL, f"weight: {result.path} vs reference")
        assert_close(result.bias, b, REFERENCE_RTOL, f"bias: {result.path} vs reference")
        assert_close(result.history["loss"], history, REFERENCE_RTOL, f"history: {result.path} vs reference")
