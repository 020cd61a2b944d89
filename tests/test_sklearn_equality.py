"""gluonlr's SGD is ``SGDRegressor(shuffle=False, learning_rate="constant")``'s, step by step, with every penalty.

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

The penalties (``penalty``, ``alpha``, ``l1_ratio``): ``_plain_sgd`` scales the weights by ``1 - (1 - l1_ratio) * eta *
alpha`` before adding the gradient step (its ``wscale``), which is MXNet's weight decay ``w - lr * (g + wd * w)`` with
``wd = (1 - l1_ratio) * alpha``, and after the step, for ``"l1"`` and ``"elasticnet"``, adds ``l1_ratio * eta * alpha``
to ``u`` and truncates each weight by ``l1penalty``, as :class:`gluonlr.optimizers.L1Penalty` does; neither touches the
intercept. MXNet's kernels take ``wd`` as a float32 too, so the L2 parts here are float32's (powers of two and their
small multiples). One difference is left untested: where ``eta * alpha > 1`` scikit-learn sets the weights to 0 (its
``max(0, ...)``) and MXNet's decay overshoots past 0, a rate at which the L2 penalty alone diverges anyway.
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


def _sparse_truth(seed, n):
    """Six features, three of which do not matter: an L1 penalty sets their weights to exactly 0."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 6))
    return X, X @ [1.5, 0.0, -2.0, 0.0, 0.0, 0.5] + 0.7 + 0.1 * rng.standard_normal(n)


DATASETS = {
    "diabetes": (_diabetes, 2.0**-6, 20),
    "random": (lambda: _random(0, 50, 3, 1.5), 2.0**-5, 30),
    "random-wide": (lambda: _random(1, 30, 8, -4.0), 2.0**-6, 25),
    "random-one-feature": (lambda: _random(2, 15, 1, 0.0), 2.0**-4, 40),
    "sparse-truth": (lambda: _sparse_truth(3, 60), 2.0**-5, 20),
}

#: The penalties, with strengths whose L2 part float32 holds (MXNet's kernels take wd as a float32).
PENALTIES = {
    "l2": dict(penalty="l2", alpha=2.0**-6),
    "l1": dict(penalty="l1", alpha=2.0**-6),
    "elasticnet": dict(penalty="elasticnet", alpha=2.0**-5, l1_ratio=0.25),
}


def _sklearn(X, y, lr, epochs, fit_intercept, penalty=None, alpha=0.0001, l1_ratio=0.15):
    model = SGDRegressor(
        loss="squared_error",
        penalty=penalty,
        alpha=alpha,
        l1_ratio=l1_ratio,
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


# -- the penalties -------------------------------------------------------------------------------------------------


def _assert_same_zeros(coef, model):
    """L1's truncation gives exact zeros: the same weights are exactly 0 in both."""
    np.testing.assert_array_equal(np.asarray(coef) == 0.0, model.coef_ == 0.0)


def _steps(name):
    make, _, epochs = DATASETS[name]
    return len(make()[1]) * epochs


#: The data sets of the penalties' tests: those of over 1,000 steps (over 3 s on a busy machine) are slow.
PENALTY_DATASETS = [pytest.param(name, marks=pytest.mark.slow) if _steps(name) > 1000 else name for name in DATASETS]


@pytest.mark.parametrize("penalty", list(PENALTIES))
@pytest.mark.parametrize("name", PENALTY_DATASETS)
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_each_penalty_is_sgdregressors_step_for_step(penalty, name, fit_intercept, path):
    make, lr, epochs = DATASETS[name]
    X, y = make()
    model = _sklearn(X, y, lr, epochs, fit_intercept, **PENALTIES[penalty])
    options = _gluonlr_options(lr, epochs, fit_intercept, "mean")
    result = fit(X, y, path=path, verbose=0, **options, **PENALTIES[penalty])
    _assert_same(result.weight, result.bias, model)
    _assert_same_zeros(result.weight, model)
    expected = reference_fit(X, y, **options, **PENALTIES[penalty])
    _assert_same(expected.weight, expected.bias, model)
    _assert_same_zeros(expected.weight, model)
    if not fit_intercept:
        assert result.bias == 0.0 and model.intercept_[0] == 0.0


@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
def test_l1_gives_scikit_learns_exact_zeros(penalty, path):
    make, lr, _ = DATASETS["sparse-truth"]
    X, y = make()
    strong = {**PENALTIES[penalty], "alpha": 2.0**-4}  # 10 epochs of 60 rows: zeros before the end
    model = _sklearn(X, y, lr, 10, True, **strong)
    result = fit(X, y, path=path, verbose=0, **_gluonlr_options(lr, 10, True, "mean"), **strong)
    zeros = model.coef_ == 0.0
    assert zeros.sum() >= 2 and (result.weight[zeros] == 0.0).all() and (result.weight[~zeros] != 0.0).all()
    _assert_same(result.weight, result.bias, model)


def test_weight_decay_is_sgdregressors_l2_alpha():
    """weight_decay=a is penalty='l2', alpha=a: scikit-learn's L2 penalty, the intercept left alone."""
    make, lr, epochs = DATASETS["random"]
    X, y = make()
    model = _sklearn(X, y, lr, epochs, True, penalty="l2", alpha=2.0**-6)
    result = fit(X, y, verbose=0, **_gluonlr_options(lr, epochs, True, "mean"), weight_decay=2.0**-6)
    _assert_same(result.weight, result.bias, model)


def test_an_l2_strength_float32_cannot_hold_is_rounded_by_mxnets_kernels():
    """alpha=0.01: the decay steps with float32's 0.01 (MXNet's wd), scikit-learn with float64's; L1 is in double."""
    make, lr, epochs = DATASETS["random-wide"]
    X, y = make()
    options = _gluonlr_options(lr, epochs, True, "mean")
    result = fit(X, y, verbose=0, **options, penalty="l2", alpha=0.01)
    rounded = _sklearn(X, y, lr, epochs, True, penalty="l2", alpha=float(np.float32(0.01)))
    _assert_same(result.weight, result.bias, rounded)
    gap = float(np.abs(result.weight - _sklearn(X, y, lr, epochs, True, penalty="l2", alpha=0.01).coef_).max())
    assert TOLERANCE < gap < 1e-6  # visible, and small
    # L1 alone: gluonlr's u grows in double, as scikit-learn's, whatever alpha
    l1 = fit(X, y, verbose=0, **options, penalty="l1", alpha=0.01)
    _assert_same(l1.weight, l1.bias, _sklearn(X, y, lr, epochs, True, penalty="l1", alpha=0.01))


@pytest.mark.parametrize("penalty", list(PENALTIES))
def test_the_estimator_with_a_penalty_is_sgdregressor(penalty):
    from gluonlr.sklearn import LinearRegressor

    make, lr, epochs = DATASETS["random-wide"]
    X, y = make()
    model = _sklearn(X, y, lr, epochs, True, **PENALTIES[penalty])
    ours = LinearRegressor(
        batch_size=1, shuffle=False, loss="l2", lr=lr, epochs=epochs, tol=None, standardize=False,
        standardize_target=False, dtype="float64", **PENALTIES[penalty],
    ).fit(X, y)  # fmt: skip
    _assert_same(ours.coef_, ours.intercept_, model)
    _assert_same_zeros(ours.coef_, model)


@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
def test_a_penalty_with_invscaling_is_sgdregressors(penalty, path):
    """The L1 step reads the update's rate from the schedule (the Gluon path: of the Trainer's update count)."""
    make, _, _ = DATASETS["sparse-truth"]
    X, y = make()
    strong = {**PENALTIES[penalty], "alpha": 2.0**-4}
    theirs = SGDRegressor(
        learning_rate="invscaling", eta0=0.05, power_t=0.25, shuffle=False, tol=None, max_iter=10, **strong
    ).fit(X, y)
    options = {**_gluonlr_options(0.05, 10, True, "mean"), "lr_schedule": "invscaling"}
    ours = fit(X, y, path=path, verbose=0, **options, **strong)
    np.testing.assert_allclose(ours.weight, theirs.coef_, rtol=1e-7, atol=1e-9)  # MXNet's float32 rate
    _assert_same_zeros(ours.weight, theirs)


def test_without_a_penalty_training_stops_at_scikit_learns_epoch():
    """tol and "adaptive"'s plateaus measure the running loss of the epoch, as SGDRegressor's do, and stop or drop the
    rate at its epoch. With a penalty they may not: scikit-learn adds the penalty to the loss it measures (its
    objective_sum), gluonlr measures the loss alone, as its history records it (docs/from-sklearn.rst)."""
    make, _, _ = DATASETS["sparse-truth"]
    X, y = make()
    options = {**_gluonlr_options(2**-4, 200, True, "mean"), "lr_schedule": "adaptive", "tol": 1e-3}
    ours = fit(X, y, verbose=0, **options)
    theirs = SGDRegressor(
        penalty=None, learning_rate="adaptive", eta0=2**-4, tol=1e-3, shuffle=False, max_iter=200
    ).fit(X, y)
    assert ours.n_epochs == theirs.n_iter_
    np.testing.assert_allclose(ours.weight, theirs.coef_, rtol=1e-7, atol=1e-9)
