"""LinearRegressor(warm_start=True): fit starts from the fitted coef_ and intercept_, as scikit-learn's."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone

from gluonlr import synthetic_data
from gluonlr.sklearn import NOT_OFFERED, LinearRegressor

X, y = synthetic_data(n=120)
SETTINGS = dict(epochs=3, tol=None, lr=0.05, batch_size=20)


@pytest.mark.parametrize("path", ["manual", "gluon"])
def test_a_second_fit_starts_from_the_first(path):
    warm = LinearRegressor(path=path, warm_start=True, **SETTINGS).fit(X, y)
    first = warm.coef_.copy(), warm.intercept_
    warm.fit(X, y)
    by_hand = LinearRegressor(path=path, **SETTINGS).fit(X, y, coef_init=first[0], intercept_init=first[1])
    assert warm.coef_.tobytes() == by_hand.coef_.tobytes() and warm.intercept_ == by_hand.intercept_
    cold = LinearRegressor(path=path, **SETTINGS).fit(X, y).fit(X, y)  # warm_start=False: starts afresh each time
    once = LinearRegressor(path=path, **SETTINGS).fit(X, y)
    assert cold.coef_.tobytes() == once.coef_.tobytes() and cold.coef_.tobytes() != warm.coef_.tobytes()


def test_given_starts_win_and_an_unfitted_estimator_starts_as_usual():
    fresh = LinearRegressor(warm_start=True, **SETTINGS).fit(X, y)
    assert fresh.coef_.tobytes() == LinearRegressor(**SETTINGS).fit(X, y).coef_.tobytes()
    given, fitted_intercept = np.array([1.0, 2.0]), fresh.intercept_
    warm = fresh.fit(X, y, coef_init=given)  # the given start, and the fitted intercept
    expected = LinearRegressor(**SETTINGS).fit(X, y, coef_init=given, intercept_init=fitted_intercept)
    assert warm.coef_.tobytes() == expected.coef_.tobytes()


def test_it_is_a_parameter_of_its_own_not_a_scikit_learn_name_refused():
    assert "warm_start" not in NOT_OFFERED and clone(LinearRegressor(warm_start=True)).warm_start is True
    assert LinearRegressor().get_params()["warm_start"] is False


def test_new_data_of_other_width_is_refused_with_the_fitted_start():
    warm = LinearRegressor(warm_start=True, **SETTINGS).fit(X, y)
    with pytest.raises(ValueError, match="init_weight"):
        warm.fit(np.column_stack([X, X[:, :1]]), y)
    assert warm.n_features_in_ == 2  # unchanged: the failed fit left the estimator as it was
