"""fit_intercept=False (no bias: exactly 0, never a parameter of the steps) and shuffle=False (the rows in order)."""

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gluonlr import epoch_order, fit, load, save
from gluonlr.callbacks import Callback
from gluonlr.cli import build_parser, main
from gluonlr.cli.options import fit_options
from gluonlr.testing import (
    PATH_ATOL,
    PATH_RTOL,
    REFERENCE_ATOL,
    REFERENCE_RTOL,
    assert_matches_reference,
    assert_paths_agree,
    reference_fit,
)
from gluonlr.testing.strategies import ALL_LOSSES, OPTIMIZERS, datasets, fit_configs

RNG = np.random.default_rng(0)
#: Data through the origin: y = X w, no intercept, a little noise.
X = RNG.standard_normal((60, 3))
TRUE_W = np.array([1.5, -2.0, 0.5])
Y = X @ TRUE_W + 0.01 * RNG.standard_normal(60)


class States(Callback):
    """Keeps the learner's state at the end of training (parameters, optimizer state)."""

    def on_train_end(self, logs=None):
        self.state = self.run.get_state()


# -- fit_intercept=False -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("options", [{}, {"momentum": 0.9}, {"optimizer": "adam", "lr": 0.05}])
def test_no_intercept_recovers_the_weights_and_keeps_the_bias_exactly_0(path, options):
    kwargs = {"init": "zeros", "epochs": 30, "lr": 0.01, "weight_decay": 1e-4, **options}
    states = States()
    result = fit(X, Y, path=path, fit_intercept=False, callbacks=[states], verbose=0, **kwargs)
    np.testing.assert_allclose(result.weight, TRUE_W, atol=0.02)
    assert result.bias == 0.0 and result.params["fit_intercept"] is False
    # no optimizer state for the bias (momentum's "mom", Adam's "mean" and "var"), one for the weight
    assert not [key for key in states.state if key.endswith("/bias")]
    assert [key for key in states.state if key.endswith("/weight")] == [
        f"{name}/weight" for name in {"sgd": ("mom",) if options else (), "adam": ("mean", "var")}[
            options.get("optimizer", "sgd")]
    ]  # fmt: skip
    assert not states.state["bias"].any()


def test_no_intercept_is_the_least_squares_fit_through_the_origin(path):
    shifted = Y + 3.0  # an intercept the model cannot take: the fit through the origin, not the weights above
    result = fit(X, shifted, path=path, fit_intercept=False, batch_size=60, reduction="mean", lr=0.5, epochs=200)
    expected = np.linalg.lstsq(X, shifted, rcond=None)[0]
    np.testing.assert_allclose(result.weight, expected, atol=1e-4)
    assert result.bias == 0.0


@pytest.mark.slow
@pytest.mark.parametrize("standardize_target", [False, True])
def test_standardized_without_intercept_only_scales_and_the_model_stays_x_w(path, standardize_target):
    """StandardScaler(with_mean=False): dividing by the standard deviation keeps y = X w a model without bias."""
    X_raw = X * [100.0, 0.01, 1.0] + [50.0, 0.03, 2.0]  # uncentred, in other units
    y_raw = X_raw @ [0.02, 150.0, 0.5]
    options = dict(fit_intercept=False, standardize=True, standardize_target=standardize_target, init="zeros")
    steps = dict(dtype="float64", batch_size=60, reduction="mean", epochs=400)
    result = fit(X_raw, y_raw, path=path, lr="auto", **steps, **options)
    assert result.bias == 0.0
    np.testing.assert_allclose(result.weight, [0.02, 150.0, 0.5], rtol=1e-4)
    np.testing.assert_allclose(result.predict(X_raw), X_raw @ result.weight, rtol=1e-12)
    # the same as training on X / std (and y / std) by hand, without centring
    std, y_std = X_raw.std(axis=0), y_raw.std() if standardize_target else 1.0
    by_hand = fit(X_raw / std, y_raw / y_std, path=path, lr=result.lr, fit_intercept=False, init="zeros", **steps)
    np.testing.assert_allclose(result.weight, by_hand.weight / std * y_std, rtol=1e-9)
    reference = reference_fit(X_raw, y_raw, lr=result.lr, **steps, **options)
    assert reference.bias == 0.0
    np.testing.assert_allclose(result.weight, reference.weight, rtol=1e-9)


def test_lr_auto_leaves_the_bias_column_out():
    centred = X - X.mean(axis=0)  # the bias's column of ones adds to the curvature: without it, a larger rate
    with_bias = fit(centred, Y, lr="auto", epochs=1).lr
    without = fit(centred, Y, lr="auto", epochs=1, fit_intercept=False).lr
    assert without > with_bias
    adam = fit(X, Y, lr="auto", optimizer="adam", epochs=1, fit_intercept=False)
    assert adam.bias == 0.0 and adam.lr > 0


def test_a_nonzero_init_bias_is_refused_without_intercept():
    with pytest.raises(ValueError, match=r"^init_bias=1.5 cannot start a fit with fit_intercept=False: the bias"):
        fit(X, Y, fit_intercept=False, init_bias=1.5)
    with pytest.raises(ValueError, match="cannot start a fit with fit_intercept=False"):
        reference_fit(X, Y, fit_intercept=False, init_bias=1.5)
    assert fit(X, Y, fit_intercept=False, init_bias=0.0, epochs=1).bias == 0.0  # 0 is no bias


def test_no_intercept_with_several_outputs_and_devices(path):
    Y2 = np.column_stack([Y, -Y])
    one = fit(X, Y2, path=path, fit_intercept=False, epochs=3, init="zeros")
    two = fit(X, Y2, path=path, fit_intercept=False, epochs=3, init="zeros", ctx="cpu:0,cpu:1")
    assert not one.bias.any() and not two.bias.any() and one.bias.shape == (2,)
    np.testing.assert_allclose(two.weight, one.weight, rtol=1e-5)


def test_a_model_without_intercept_saves_loads_checkpoints_and_resumes(path, tmp_path):
    options = dict(path=path, fit_intercept=False, momentum=0.9, epochs=4, verbose=0)
    whole = fit(X, Y, **options)
    save(whole, tmp_path / "model.params")
    loaded = load(tmp_path / "model.params")
    assert loaded.bias == 0.0
    np.testing.assert_array_equal(loaded.predict(X), whole.predict(X))
    checkpoint = tmp_path / "run.params"
    fit(X, Y, **{**options, "epochs": 2}, checkpoint=checkpoint)
    resumed = fit(X, Y, **options, checkpoint=checkpoint, resume=True)
    assert resumed.weight.tobytes() == whole.weight.tobytes() and resumed.bias == 0.0
    with pytest.raises(Exception, match=r"fit_intercept=False there, True here"):
        fit(X, Y, **{**options, "fit_intercept": True}, checkpoint=checkpoint, resume=True)


def test_the_estimator_fits_without_intercept():
    from gluonlr.sklearn import LinearRegressor

    shifted = X + 1.0  # standardized: scaled, never centred
    model = LinearRegressor(fit_intercept=False).fit(shifted, Y)
    assert model.intercept_ == 0.0 and model.get_params()["fit_intercept"] is False
    least_squares = shifted @ np.linalg.lstsq(shifted, Y, rcond=None)[0]
    assert model.score(shifted, Y) > 1 - ((Y - least_squares) ** 2).sum() / ((Y - Y.mean()) ** 2).sum() - 1e-3
    np.testing.assert_allclose(model.predict(X), X @ model.coef_, rtol=1e-6)
    streamed = LinearRegressor(fit_intercept=False, shuffle=False, batch_size=20)
    for _ in range(3):
        streamed.partial_fit(X, Y)
    assert streamed.intercept_ == 0.0
    with pytest.raises(ValueError, match="fit_intercept=False"):
        LinearRegressor(fit_intercept=False).fit(X, Y, intercept_init=1.0)


# -- shuffle=False -------------------------------------------------------------------------------------------------


def test_epoch_order_without_shuffle_is_the_rows_order():
    assert epoch_order(7, seed=3, epoch=2, shuffle=False).tolist() == list(range(7))
    assert epoch_order(7, seed=3, epoch=2, shuffle=False).dtype == epoch_order(7, seed=3, epoch=2).dtype


@pytest.mark.parametrize("options", [{}, {"validation_split": 0.25}, {"ctx": "cpu:0,cpu:1"}])
def test_without_shuffle_every_epoch_visits_the_rows_in_order(path, options):
    """batch_size=1 and lr small: the result is a function of the order; the reference takes them in order."""
    kwargs = dict(path=path, shuffle=False, init="zeros", epochs=3, batch_size=7, **options)
    result = fit(X, Y, **kwargs)
    assert fit(X, Y, **kwargs, seed=12345).weight.tobytes() == result.weight.tobytes()  # the seed shuffles nothing
    assert fit(X, Y, **{**kwargs, "shuffle": True}).weight.tobytes() != result.weight.tobytes()
    reference = reference_fit(X, Y, **{key: value for key, value in kwargs.items() if key not in ("path", "ctx")})
    np.testing.assert_allclose(result.weight, reference.weight, rtol=1e-5)
    np.testing.assert_allclose(result.bias, reference.bias, rtol=1e-5, atol=1e-6)


def test_without_shuffle_a_stream_from_disk_reads_the_rows_in_order(path, tmp_path):
    np.save(tmp_path / "X.npy", X.astype(np.float32))
    X_disk = np.load(tmp_path / "X.npy", mmap_mode="r")
    in_memory = fit(X.astype(np.float32), Y, path=path, shuffle=False, epochs=2)
    streamed = fit(X_disk, Y, path=path, shuffle=False, epochs=2)
    assert streamed.weight.tobytes() == in_memory.weight.tobytes()


def test_the_cli_has_no_fit_intercept_and_no_shuffle_flags(capsys, tmp_path):
    args = build_parser().parse_args(["fit", "d.csv", "--out", "m", "--no-fit-intercept", "--no-shuffle"])
    assert fit_options(args)["fit_intercept"] is False and fit_options(args)["shuffle"] is False
    defaults = fit_options(build_parser().parse_args(["fit", "d.csv", "--out", "m"]))
    assert defaults["fit_intercept"] is True and defaults["shuffle"] is True
    data = tmp_path / "data.csv"
    np.savetxt(data, np.column_stack([X, Y]), delimiter=",", header="x1,x2,x3,y", comments="")
    status = main(["fit", str(data), "--target", "y", "--out", str(tmp_path / "m.params"), "--no-fit-intercept",
                   "--no-shuffle", "--json", "-q"])  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert status == 0 and report["bias"] == 0.0
    assert report["params"]["fit_intercept"] is False and report["params"]["shuffle"] is False
    np.testing.assert_allclose(report["weight"], TRUE_W, atol=0.01)


# -- property tests: both paths and the reference, with the two options drawn ---------------------------------------


@pytest.mark.slow
@given(data=st.data(), dataset=datasets(max_samples=40, max_outputs=2))
def test_paths_and_reference_agree_without_intercept_or_shuffle(data, dataset):
    X_drawn, y_drawn = dataset
    config = data.draw(
        fit_configs(
            X_drawn, y_drawn, losses=ALL_LOSSES, optimizers=OPTIMIZERS, weight_decay=True, standardize=True,
            validation=True, fit_intercept=True, shuffle=True, init_params=True, max_epochs=4,
        )
    )  # fmt: skip
    assert_paths_agree(X_drawn, y_drawn, rtol=PATH_RTOL, atol=PATH_ATOL, **config)
    # L1 on standardized rows: a residual near 0 may round to the other side in float32 (test_equivalence.py)
    if not (config.get("standardize") and config["loss"] == "l1"):
        assert_matches_reference(X_drawn, y_drawn, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL, path="manual", **config)
