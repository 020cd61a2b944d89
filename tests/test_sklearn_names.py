"""scikit-learn's names for gluonlr's parameters: a TypeError that names gluonlr's, from the table of options."""

import pickle
import re

import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone
from sklearn.linear_model import SGDRegressor
from sklearn.model_selection import GridSearchCV

from gluonlr import synthetic_data
from gluonlr.options import OPTIONS
from gluonlr.sklearn import NOT_OFFERED, RENAMED, LinearRegressor


def test_the_renamed_parameters_are_scikit_learns_and_gluonlrs():
    sgd, ours = SGDRegressor().get_params(), LinearRegressor().get_params()
    assert RENAMED == {
        "eta0": "lr", "max_iter": "epochs", "random_state": "seed", "learning_rate": "lr_schedule",
        "validation_fraction": "validation_split",
    }  # fmt: skip
    for theirs, name in RENAMED.items():
        assert theirs in sgd and theirs not in ours and name in ours and OPTIONS[name].sklearn_name == theirs
    for theirs in NOT_OFFERED:
        assert theirs not in ours and (theirs in sgd or theirs in ("coef_init", "intercept_init"))


@pytest.mark.parametrize(("theirs", "ours"), sorted(RENAMED.items()))
def test_a_scikit_learn_name_is_a_type_error_naming_gluonlrs(theirs, ours):
    message = (
        f"LinearRegressor has no parameter '{theirs}': scikit-learn's {theirs} is gluonlr's '{ours}'. Pass {ours}="
    )
    with pytest.raises(TypeError, match=message):
        LinearRegressor(**{theirs: 1})
    with pytest.raises(TypeError, match=message):
        LinearRegressor().set_params(**{theirs: 1})


@pytest.mark.parametrize("theirs", sorted(NOT_OFFERED))
def test_a_parameter_gluonlr_does_not_offer_says_what_to_do(theirs):
    with pytest.raises(
        TypeError, match=re.escape(f"LinearRegressor has no parameter '{theirs}': {NOT_OFFERED[theirs]}.")
    ):
        LinearRegressor(**{theirs: None})


def test_a_grid_search_over_max_iter_names_epochs():
    search = GridSearchCV(LinearRegressor(), {"max_iter": [5, 10]}, cv=2, error_score="raise")
    with pytest.raises(TypeError, match="scikit-learn's max_iter is gluonlr's 'epochs'"):
        search.fit(*synthetic_data())


def test_the_signature_is_init_s():
    """scikit-learn's checks call the class with the names of inspect.signature: __init__'s, not __new__'s."""
    import inspect

    assert sorted(inspect.signature(LinearRegressor).parameters) == sorted(LinearRegressor().get_params())


def test_other_names_and_copies_are_as_before():
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        LinearRegressor(bogus=1)
    model = LinearRegressor(lr=0.5, epochs=3, seed=2)
    for copy in (clone(model), pickle.loads(pickle.dumps(model))):
        assert copy.get_params() == model.get_params()
    assert model.set_params(epochs=4) is model and model.epochs == 4
