"""gluonlr's SGD is ``SGDRegressor(shuffle=False, penalty=None, learning_rate="constant")``'s, step by step.

With ``batch_size=1`` and ``shuffle=False`` both visit the rows in their order and take one step a row. scikit-learn's
``squared_error`` is half the squared residual (``CyHalfSquaredError``, its ``dloss`` ``p - y``), gluonlr's ``"l2"``
(Gluon's ``L2Loss``); its step (``_plain_sgd`` in ``sklearn/linear_model/_sgd_fast.pyx.tp``) is ``w += -eta0 * dloss *
x`` and, with ``fit_intercept``, ``intercept += -eta0 * dloss * intercept_decay``, where ``intercept_decay`` is 1.0 for
dense data; ``penalty=None`` leaves ``wscale`` at 1 and ``learning_rate="constant"`` keeps ``eta = eta0`` whatever the
update count ``t``. A batch of one row is its own mean: ``reduction`` changes nothing.

MXNet's update kernels take the learning rate as a float32 parameter (:func:`gluonlr.optimizers.kernel_scalar`), also
for a float64 model, so the rates here are powers of two, which float32 holds exactly; with ``eta0=0.01`` the two would
differ by float32's rounding of 0.01, a relative 2e-10 a step. What is left is the order of float64 operations
(``eta * (r * x)`` against ``x * (eta * r)``): the coefficients agree to a few float64 roundings (1e-15 on these
data sets); the tests allow 1e-10.
"""

import warnings

import numpy as np
import pytest

from gluonlr import fit
from gluonlr.testing import reference_fit

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_diabetes  # noqa: E402
from sklearn.linear_model import SGDRegressor  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

#: Coefficients agree to this, relative to the largest (at least 1): float64 operations in another order.
TOLERANCE = 1e-10


def _diabetes():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return X[:120], (y[:120] - y.mean()) / y.std()  # 120 rows, 10 standardized features: 2,400 steps in 20 epochs


def _random(seed, n, d, intercept):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, X @ rng.uniform(-2, 2, d) + intercept + 0.1 * rng.standard_normal(n)


DATASETS = {
    "diabetes": (_diabetes, 2.0**-6, 20),
    "random": (lambda: _random(0, 50, 3, 1.5), 2.0**-5, 30),
    "random-wide": (lambda: _random(1, 30, 8, -4.0), 2.0**-6, 25),
    "random-one-feature": (lambda: _random(2, 15, 1, 0.0), 2.0**-4, 40),
}


def _sklearn(X, y, lr, epochs, fit_intercept):
    model = SGDRegressor(
        loss="squared_error",
        penalty=None,
        learning_rate="constant",
        eta0=lr,
        shuffle=False,
        tol=None,
        max_iter=epochs,
        fit_intercept=fit_intercept,
        average=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # tol=None: no ConvergenceWarning, nothing else either
        return model.fit(X, y)


def _gluonlr_options(lr, epochs, fit_intercept, reduction):
    return dict(
        batch_size=1, shuffle=False, loss="l2", reduction=reduction, lr=lr, epochs=epochs, dtype="float64",
        init="zeros", fit_intercept=fit_intercept,
    )  # fmt: skip


def _assert_same(coef, intercept, model):
    scale = max(1.0, float(np.abs(model.coef_).max()), float(np.abs(model.intercept_).max()))
    np.testing.assert_allclose(coef, model.coef_, rtol=0, atol=TOLERANCE * scale)
    np.testing.assert_allclose(intercept, model.intercept_[0], rtol=0, atol=TOLERANCE * scale)


@pytest.mark.parametrize("name", list(DATASETS))
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_fit_with_batches_of_one_in_order_is_sgdregressor(name, fit_intercept, path):
    make, lr, epochs = DATASETS[name]
    X, y = make()
    model = _sklearn(X, y, lr, epochs, fit_intercept)
    reduction = "mean" if fit_intercept else "sum"  # a batch of one: the same step
    result = fit(X, y, path=path, verbose=0, **_gluonlr_options(lr, epochs, fit_intercept, reduction))
    _assert_same(result.weight, result.bias, model)
    if not fit_intercept:
        assert result.bias == 0.0 and model.intercept_[0] == 0.0


@pytest.mark.parametrize("name", list(DATASETS))
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_the_reference_is_sgdregressor(name, fit_intercept):
    make, lr, epochs = DATASETS[name]
    X, y = make()
    model = _sklearn(X, y, lr, epochs, fit_intercept)
    for reduction in ("sum", "mean"):
        expected = reference_fit(X, y, **_gluonlr_options(lr, epochs, fit_intercept, reduction))
        _assert_same(expected.weight, expected.bias, model)


def test_a_rate_float32_cannot_hold_is_rounded_by_mxnets_kernels():
    """eta0=0.01: gluonlr steps with float32's 0.01 (MXNet's kernels' scalar), scikit-learn with float64's."""
    X, y = DATASETS["random"][0]()
    model = _sklearn(X, y, 0.01, 30, True)
    result = fit(X, y, verbose=0, **_gluonlr_options(0.01, 30, True, "mean"))
    rounded = _sklearn(X, y, float(np.float32(0.01)), 30, True)
    _assert_same(result.weight, result.bias, rounded)
    gap = float(np.abs(result.weight - model.coef_).max())
    assert TOLERANCE < gap < 1e-6  # float32's 0.01 is 0.01 * (1 + 2.2e-9): visible, and small


def test_sgdregressor_counts_one_update_a_row_as_gluonlr_does():
    """scikit-learn's t_ counts rows seen plus one (it starts at 1); gluonlr's t_ (updates) one a row, from 0."""
    from gluonlr.sklearn import LinearRegressor

    X, y = DATASETS["random"][0]()
    model = _sklearn(X, y, 2.0**-5, 3, True)
    ours = LinearRegressor(
        batch_size=1, shuffle=False, loss="l2", lr=2.0**-5, epochs=3, tol=None, standardize=False,
        standardize_target=False, dtype="float64",
    ).fit(X, y)  # fmt: skip
    assert model.t_ == 3 * len(X) + 1 and ours.t_ == 3 * len(X)
    _assert_same(ours.coef_, ours.intercept_, model)
