"""penalty, alpha, l1_ratio: scikit-learn's penalties of the weights, on both paths and in the reference.

``penalty="l2"`` is MXNet's weight decay on the weights (``weight_decay``, its other name); ``"l1"`` and
``"elasticnet"`` add scikit-learn's cumulative truncated gradient after each SGD step
(:class:`gluonlr.optimizers.L1Penalty`). Step-for-step equality with ``SGDRegressor`` is in
``test_sklearn_equality.py``.
"""

import json

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gluonlr import fit
from gluonlr.callbacks import Callback
from gluonlr.cli import build_parser, main
from gluonlr.cli.options import fit_options
from gluonlr.optimizers import L1Penalty
from gluonlr.testing import (
    PATH_ATOL,
    PATH_RTOL,
    REFERENCE_ATOL,
    REFERENCE_RTOL,
    assert_matches_reference,
    assert_paths_agree,
    reference_fit,
)
from gluonlr.testing.strategies import ALL_LOSSES, SCHEDULES, datasets, fit_configs

RNG = np.random.default_rng(0)
#: Six features, three of which do not matter: an L1 penalty sets their weights to exactly 0.
X = RNG.standard_normal((80, 6))
TRUE_W = np.array([1.5, -2.0, 0.0, 0.8, 0.0, 0.0])
Y = X @ TRUE_W + 0.5 + 0.05 * RNG.standard_normal(80)
#: The options of a run with every penalty's effect visible in a few epochs.
RUN = dict(loss="l2", reduction="mean", lr=0.05, batch_size=8, epochs=6, init="zeros", verbose=0)


class States(Callback):
    """Keeps the learner's state at the end of training."""

    def on_train_end(self, logs=None):
        self.state = self.run.get_state()


# -- errors --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (dict(penalty="l3"), r"^The 'penalty' parameter of fit must be None or one of 'l2', 'l1', 'elasticnet'\. "),
        (dict(penalty="none"), r"^The 'penalty' parameter of fit must be None or one of .* Got 'none' instead\.$"),
        (dict(alpha=-0.1), r"^The 'alpha' parameter of fit must be a float in \[0, inf\)\. Got -0\.1 instead\.$"),
        (dict(l1_ratio=1.5), r"^The 'l1_ratio' parameter of fit must be a float in \[0, 1\]\. Got 1\.5 instead\.$"),
        (dict(l1_ratio=-0.1), r"^The 'l1_ratio' parameter of fit must be a float in \[0, 1\]\. "),
        (
            dict(weight_decay=0.01, penalty="l1"),
            r"^weight_decay=0\.01 is penalty='l2', alpha=0\.01, which penalty='l1', alpha=0\.0001 contradicts\. "
            r"Pass one of them: penalty='l2', alpha=0\.01 \(scikit-learn's names\) or weight_decay=0\.01",
        ),
        (dict(weight_decay=0.01, penalty="l2", alpha=0.02), r"^weight_decay=0\.01 is penalty='l2', alpha=0\.01, "),
        (dict(weight_decay=0.01, penalty="elasticnet", alpha=0.01), r"which penalty='elasticnet', alpha=0\.01"),
        (dict(penalty="l1", optimizer="adam"), r"^penalty='l1' needs plain SGD steps: .* which optimizer='adam' "),
        (dict(penalty="elasticnet", momentum=0.9), r"^penalty='elasticnet' needs plain SGD steps: .*momentum=0\.9 "),
        (dict(penalty="l1", momentum=0.5, nesterov=True), r"Pass optimizer='sgd' with momentum=0, or penalty='l2'\.$"),
    ],
)
def test_bad_penalties_are_refused_before_reading_data(options, message):
    with pytest.raises(ValueError, match=message):
        fit(np.array([[np.nan]]), [1.0], **options)  # refused before the data's NaN is seen


def test_l2_goes_with_every_optimizer(path):
    for options in (dict(optimizer="adam", lr=0.05), dict(momentum=0.9), dict(momentum=0.9, nesterov=True)):
        result = fit(X, Y, path=path, penalty="l2", alpha=0.01, epochs=2, verbose=0, **options)
        assert result.params["penalty"] == "l2"


def test_the_estimator_refuses_l1_with_adam_and_stays_as_it_was():
    from gluonlr.sklearn import LinearRegressor

    model = LinearRegressor(penalty="l1", optimizer="adam")
    with pytest.raises(ValueError, match="penalty='l1' needs plain SGD steps"):
        model.fit(X, Y)
    assert not hasattr(model, "coef_")


# -- weight_decay is penalty="l2" -------------------------------------------------------------------------------


def test_weight_decay_is_penalty_l2_bitwise(path):
    by_name = fit(X, Y, path=path, weight_decay=0.05, **RUN)
    for options in (dict(penalty="l2", alpha=0.05), dict(penalty="l2", alpha=0.05, weight_decay=0.05)):
        result = fit(X, Y, path=path, **options, **RUN)
        assert result.weight.tobytes() == by_name.weight.tobytes() and result.bias == by_name.bias
        assert result.params == by_name.params  # the checkpoint records the penalty it stands for
    assert (
        by_name.params["penalty"] == "l2" and by_name.params["alpha"] == 0.05 and "weight_decay" not in by_name.params
    )


def test_no_penalty_is_the_default_and_alpha_alone_changes_nothing(path):
    default = fit(X, Y, path=path, **RUN)
    for options in (dict(alpha=0.5), dict(l1_ratio=0.9), dict(penalty=None, alpha=0.5)):
        result = fit(X, Y, path=path, **options, **RUN)
        assert result.weight.tobytes() == default.weight.tobytes() and result.bias == default.bias


def test_elasticnet_with_l1_ratio_0_is_l2_and_with_1_is_l1(path):
    for ratio, same in ((0.0, "l2"), (1.0, "l1")):
        mixed = fit(X, Y, path=path, penalty="elasticnet", alpha=0.1, l1_ratio=ratio, **RUN)
        pure = fit(X, Y, path=path, penalty=same, alpha=0.1, **RUN)
        np.testing.assert_array_equal(mixed.weight, pure.weight)
        assert mixed.bias == pure.bias


# -- by hand -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("penalty", "weight"),
    [
        ("l2", 1.0 - 0.5 * 0.5),  # w (1 - lr alpha)
        ("l1", 1.0 - 0.5 * 0.5),  # w - lr alpha, towards 0
        ("elasticnet", (1.0 - 0.5 * 0.5 * 0.75) - 0.5 * 0.5 * 0.25),  # the L2 part, then the L1 part
    ],
)
def test_one_step_of_each_penalty_by_hand(path, penalty, weight):
    """A zero residual (an exact fit): only the penalty moves the weight; the bias stays, as in scikit-learn."""
    X1, y1 = np.array([[1.0]]), np.array([3.0])
    states = States()
    result = fit(
        X1, y1, path=path, epochs=1, lr=0.5, penalty=penalty, alpha=0.5, l1_ratio=0.25, init_weight=[1.0],
        init_bias=2.0, callbacks=[states], verbose=0,
    )  # fmt: skip
    assert result.weight.tolist() == [weight] and result.bias == 2.0
    expected = reference_fit(
        X1, y1, epochs=1, lr=0.5, penalty=penalty, alpha=0.5, l1_ratio=0.25, init_weight=[1.0], init_bias=2.0
    )
    assert expected.weight.tolist() == [weight] and expected.bias == 2.0
    if penalty == "l2":
        assert "l1/u" not in states.state
    else:  # u: the L1 penalty a weight could have received; q: what it did receive (signed)
        l1 = 0.5 * 0.5 * (1.0 if penalty == "l1" else 0.25)
        assert float(states.state["l1/u"]) == l1 and states.state["l1/q"].tolist() == [[-l1]]


def test_a_weight_is_truncated_at_zero_and_keeps_what_it_did_not_receive():
    """u grows by lr alpha each step; a weight that reaches 0 stops there, and its q says how much it got."""
    weights = [nd_array([[0.375], [-0.375], [0.0], [2.0]])]
    penalty = L1Penalty(alpha=0.25, l1_ratio=1.0)
    qs = [penalty.create_state(weights[0])]
    penalty.step(weights, qs, lr=1.0)
    assert weights[0].asnumpy().ravel().tolist() == [0.125, -0.125, 0.0, 1.75]
    penalty.step(weights, qs, lr=1.0)
    assert penalty.u == 0.5
    assert weights[0].asnumpy().ravel().tolist() == [0.0, 0.0, 0.0, 1.5]
    assert qs[0].asnumpy().ravel().tolist() == [-0.375, 0.375, 0.0, -0.5]
    weights[0][3] = -1.0  # a gradient step across 0: the penalty owed is u + q = 0 now, u - q = 1 on that side
    penalty.step(weights, qs, lr=1.0)
    assert weights[0].asnumpy().ravel().tolist()[3] == min(0.0, -1.0 + (0.75 - -0.5))


def nd_array(values):
    from gluonlr._mxnet import nd

    return nd.array(values, dtype="float64")


# -- exact zeros, several devices, several outputs ---------------------------------------------------------------


@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
def test_l1_sets_the_weights_of_features_that_do_not_matter_to_exactly_zero(path, penalty):
    options = dict(RUN, epochs=20, penalty=penalty, alpha=0.05, l1_ratio=0.5)
    result = fit(X, Y, path=path, **options)
    expected = reference_fit(X, Y, **{key: value for key, value in options.items() if key != "verbose"})
    zeros = TRUE_W == 0
    assert (result.weight[zeros] == 0.0).all() and (result.weight[~zeros] != 0.0).all()
    np.testing.assert_array_equal(result.weight == 0.0, expected.weight == 0.0)
    np.testing.assert_allclose(result.weight, expected.weight, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)
    plain = fit(X, Y, path=path, **{**options, "penalty": "l2"})
    assert not (plain.weight == 0.0).any()  # L2 shrinks, but never to exactly 0


def test_l1_on_several_devices_and_outputs_equals_one_device(path):
    Y2 = np.column_stack([Y, 2.0 * Y])
    options = dict(RUN, penalty="elasticnet", alpha=0.1, l1_ratio=0.7)
    one = fit(X, Y2, path=path, **options)
    two = fit(X, Y2, path=path, ctx="cpu:0,cpu:1", **options)
    np.testing.assert_allclose(two.weight, one.weight, rtol=PATH_RTOL, atol=PATH_ATOL)
    np.testing.assert_array_equal(two.weight == 0.0, one.weight == 0.0)
    assert (one.weight == 0.0).any()


def test_penalties_with_standardized_features_penalize_the_standardized_weights(path):
    """standardize=True: the penalty is on the weights the steps update, as SGDRegressor after a StandardScaler."""
    scaled = X * [1.0, 10.0, 1.0, 0.1, 1.0, 1.0] + 3.0
    options = dict(RUN, penalty="l1", alpha=0.05, standardize=True, epochs=10)
    result = fit(scaled, Y, path=path, **options)
    unscaled = fit(
        (scaled - scaled.mean(axis=0)) / scaled.std(axis=0), Y, path=path, **{**options, "standardize": False}
    )
    np.testing.assert_array_equal(result.weight == 0.0, unscaled.weight == 0.0)
    assert (result.weight == 0.0).sum() >= 2


# -- checkpoints and partial_fit carry the L1 state -----------------------------------------------------------------


@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
def test_a_resumed_run_with_l1_is_bitwise_the_run_never_interrupted(path, penalty, tmp_path):
    options = dict(RUN, path=path, penalty=penalty, alpha=0.05, epochs=4)
    whole = fit(X, Y, **options)
    checkpoint = tmp_path / "run.params"
    fit(X, Y, **{**options, "epochs": 2}, checkpoint=checkpoint)
    resumed = fit(X, Y, **options, checkpoint=checkpoint, resume=True)
    assert resumed.weight.tobytes() == whole.weight.tobytes() and resumed.bias == whole.bias
    with pytest.raises(Exception, match=r"penalty='l1' there, 'l2' here|penalty='elasticnet' there, 'l2' here"):
        fit(X, Y, **{**options, "penalty": "l2"}, checkpoint=checkpoint, resume=True)


def test_a_run_resumed_on_the_other_path_continues_the_l1_state(tmp_path):
    options = dict(RUN, penalty="l1", alpha=0.05, epochs=4)
    whole = fit(X, Y, path="manual", **options)
    checkpoint = tmp_path / "run.params"
    fit(X, Y, path="manual", **{**options, "epochs": 2}, checkpoint=checkpoint)
    resumed = fit(X, Y, path="gluon", **options, checkpoint=checkpoint, resume=True)
    np.testing.assert_allclose(resumed.weight, whole.weight, rtol=PATH_RTOL, atol=PATH_ATOL)
    np.testing.assert_array_equal(resumed.weight == 0.0, whole.weight == 0.0)


def test_partial_fit_carries_the_l1_state_on(path):
    """Three partial_fit calls in order are fit(epochs=3): u and q go on, not restarted from 0."""
    from gluonlr.sklearn import LinearRegressor

    options = dict(
        path=path, penalty="elasticnet", alpha=0.25, l1_ratio=0.5, loss="l2", lr=2.0**-3, batch_size=8,
        shuffle=False, standardize=False, standardize_target=False, tol=None, dtype="float64", epochs=3,
    )  # fmt: skip
    whole = LinearRegressor(**options).fit(X, Y)
    streamed = LinearRegressor(**options)
    for _ in range(3):
        streamed.partial_fit(X, Y)
    assert streamed.coef_.tobytes() == whole.coef_.tobytes() and streamed.intercept_ == whole.intercept_
    assert float(streamed._state["l1/u"]) == 3 * 10 * 0.5 * 2.0**-3 * 0.25  # 30 updates
    assert (whole.coef_ == 0.0).any()


# -- the estimator and the command line ----------------------------------------------------------------------------


def test_the_estimator_takes_the_penalty_by_scikit_learns_names():
    from sklearn.base import clone

    from gluonlr.sklearn import NOT_OFFERED, RENAMED, LinearRegressor

    assert not {"penalty", "alpha", "l1_ratio"} & (set(NOT_OFFERED) | set(RENAMED))
    model = LinearRegressor(penalty="l1", alpha=0.01)
    assert clone(model).get_params()["penalty"] == "l1"
    model.fit(X, Y)
    assert (model.coef_ == 0.0).any() and model.score(X, Y) > 0.99


def test_the_cli_takes_penalty_alpha_and_l1_ratio(capsys, tmp_path):
    args = build_parser().parse_args(
        ["fit", "d.csv", "--out", "m", "--penalty", "elasticnet", "--alpha", "0.01", "--l1-ratio", "1"]
    )
    assert {key: fit_options(args)[key] for key in ("penalty", "alpha", "l1_ratio")} == {
        "penalty": "elasticnet", "alpha": 0.01, "l1_ratio": 1.0,
    }  # fmt: skip
    assert (
        fit_options(build_parser().parse_args(["fit", "d.csv", "--out", "m", "--penalty", "none"]))["penalty"] is None
    )
    assert fit_options(build_parser().parse_args(["fit", "d.csv", "--out", "m"]))["penalty"] is None
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["fit", "d.csv", "--out", "m", "--penalty", "lasso"])
    assert exit_info.value.code == 2 and "None or one of 'l2', 'l1', 'elasticnet'" in capsys.readouterr().err
    data = tmp_path / "data.csv"
    np.savetxt(data, np.column_stack([X, Y]), delimiter=",", header="a,b,c,d,e,f,y", comments="")
    status = main(["fit", str(data), "--target", "y", "--out", str(tmp_path / "m.params"), "--penalty", "l1",
                   "--alpha", "0.01", "--json", "-q"])  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert status == 0 and report["params"]["penalty"] == "l1" and 0.0 in report["weight"]


# -- property tests: both paths and the reference, a penalty always drawn -------------------------------------------


@pytest.mark.slow
@given(data=st.data(), dataset=datasets(max_samples=40, max_outputs=2))
def test_paths_and_reference_agree_with_each_penalty(data, dataset):
    X_drawn, y_drawn = dataset
    config = data.draw(
        fit_configs(
            X_drawn, y_drawn, losses=ALL_LOSSES, optimizers=("sgd",), schedules=SCHEDULES, standardize=True,
            fit_intercept=True, shuffle=True, penalty=True, init_params=True, max_epochs=4,
        )
    )  # fmt: skip
    assume("penalty" in config)
    assert_paths_agree(X_drawn, y_drawn, rtol=PATH_RTOL, atol=PATH_ATOL, **config)
    # L1 loss on standardized rows: a residual near 0 may round to the other side in float32 (test_equivalence.py)
    if not (config.get("standardize") and config["loss"] == "l1"):
        assert_matches_reference(X_drawn, y_drawn, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL, path="gluon", **config)
