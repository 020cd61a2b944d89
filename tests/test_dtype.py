"""fit(dtype=...): float64 on both paths, equal to the float64 reference, kept by every surface; float32 unchanged.

A float64 model's one float32 rounding left is MXNet's: its update kernels take their scalars (lr, wd, momentum,
rescale_grad, the betas, epsilon) as float32 parameters, and the reference rounds them the same way. What is left
between the paths and the reference is float64 round-off of the operation order, amplified over the steps:
FLOAT64_RTOL, against float32's 1e-5 (paths) and 1e-4 (reference).
"""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gluonlr import fit, load, save, synthetic_data
from gluonlr.callbacks import data_overflow
from gluonlr.cli import main
from gluonlr.data.prepare import input_dtype, prepare_data, resolve_dtype
from gluonlr.options import OPTIONS
from gluonlr.testing import assert_matches_reference, assert_paths_agree, reference_fit
from gluonlr.testing.strategies import ALL_OPTIONS, OPTIMIZERS, datasets, fit_configs

#: The paths against the float64 reference, with dtype="float64": float64 round-off of the operation order
#: (nd.dot vs FullyConnected vs numpy's matmul), a few ulps a step, grown over up to 8 epochs, and MXNet's own kernels:
#: nag_mom_update in float64 differs from its formula (the manual path's and the reference's) by ~1.4e-11 a step on
#: weights of 1 (measured: not a float32 rounding of lr or momentum, which would be 1e-7). Momentum carries a step's
#: difference into 1 / (1 - momentum) steps and Adam divides a near-zero gradient's by sqrt(v) + epsilon: hypothesis
#: found 1.2e-11 on a bias of 0.0016 (Adam, sample weights all 0 but one) and, between the paths, 1.02e-8 on a bias
#: of 0.018 (Nesterov, momentum 0.948, 4 epochs). These stay 1,000 times below float32's differences (1e-5 between
#: the paths, 1e-4 to the reference): a float32 rounding anywhere in the arithmetic fails them.
FLOAT64_RTOL = 1e-8
FLOAT64_ATOL = 1e-8
FLOAT64_PATH_TOL = 1e-7

BAD_DTYPE = "The 'dtype' parameter of fit must be one of 'float32', 'float64', 'auto'. Got {!r} instead."


def offset_target_data(n=1000, seed=0):
    """The issue's case: ``y = 1e7 + X @ w``, which float32 (a 1 in 1.7e7 resolution) cannot fit."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    return X, 1e7 + X @ np.array([1.5, -2.0, 0.5])


def least_squares(X, y):
    solution = np.linalg.lstsq(np.column_stack([X, np.ones(len(X))]), y, rcond=None)[0]
    return solution[:-1], solution[-1]


USERS = dict(standardize=True, standardize_target=True, lr="auto", reduction="mean", batch_size=256, init="zeros")


# -- equal to the float64 reference, the paths equal to each other ------------------------------------------------


@pytest.mark.parametrize("path", ["manual", "gluon"])
@settings(max_examples=20)
@given(data=st.data(), dataset=datasets(dtypes=(np.float64,)), optimizer=st.sampled_from(OPTIMIZERS))
def test_float64_fit_equals_the_float64_reference(path, data, dataset, optimizer):
    X, y = dataset
    options = {**ALL_OPTIONS, "optimizers": (optimizer,)}
    config = data.draw(fit_configs(X, y, max_epochs=8, init_params=True, **options))
    run, expected = assert_matches_reference(
        X, y, rtol=FLOAT64_RTOL, atol=FLOAT64_ATOL, path=path, dtype="float64", **config
    )
    assert run.result.weight.dtype == np.float64 and expected.weight.dtype == np.float64


@settings(max_examples=20)
@given(data=st.data(), dataset=datasets(dtypes=(np.float64, np.float32, np.int64)))
def test_float64_paths_agree(data, dataset):
    X, y = dataset
    config = data.draw(fit_configs(X, y, max_epochs=8, init_params=True, **ALL_OPTIONS))
    manual, gluon = assert_paths_agree(X, y, rtol=FLOAT64_PATH_TOL, atol=FLOAT64_PATH_TOL, dtype="float64", **config)
    assert manual.result.dtype == gluon.result.dtype == "float64"


@pytest.mark.parametrize(
    "options",
    [
        dict(),
        dict(optimizer="adam", lr=0.5),
        dict(momentum=0.9, nesterov=True, weight_decay=0.01),
        dict(momentum=0.5, reduction="mean", lr=0.1, lr_schedule="cosine"),
        dict(loss="huber", rho=0.5, reduction="mean", lr=0.1, sample_weight=np.linspace(0.5, 2.0, 300)),
        dict(loss="l1", lr=0.1, lr_schedule="step"),
        dict(standardize=True, standardize_target=True, lr=0.05, validation_split=0.2, metrics=["r2", "mae"]),
    ],
    ids=["sgd", "adam", "nag-wd", "momentum-mean-cosine", "huber-weighted", "l1-step", "standardized"],
)
def test_the_main_optimizers_and_losses_equal_the_reference_to_1e_12(path, options):
    X, y = synthetic_data()
    result = fit(X, y, path=path, dtype="float64", verbose=0, **options)
    expected = reference_fit(X, y, dtype="float64", **options)
    scale = max(1.0, float(np.abs(expected.weight).max()), abs(expected.bias))
    assert np.abs(result.weight - expected.weight).max() <= 1e-12 * scale
    assert abs(result.bias - expected.bias) <= 1e-12 * scale
    np.testing.assert_allclose(result.history["loss"], expected.history["loss"], rtol=1e-11)


def test_the_float32_reference_is_unchanged_by_the_option():
    X, y = synthetic_data(n=50)
    default, given_ = reference_fit(X, y, epochs=3), reference_fit(X, y, epochs=3, dtype="float32")
    np.testing.assert_array_equal(default.weight, given_.weight)
    assert default.history == given_.history
    # float64 input, float32 model: the reference rounds it to float32 as fit does; float64 does not
    X64 = X.astype(np.float64) * (1 + 1e-12)  # far below float32's resolution (6e-8), not float64's
    assert reference_fit(X64, y, epochs=1).weight.tolist() == reference_fit(X, y, epochs=1).weight.tolist()
    assert (
        reference_fit(X64, y, epochs=1, dtype="float64").weight.tolist()
        != reference_fit(X, y, epochs=1).weight.tolist()
    )


# -- the cases --------------------------------------------------------------------------------------------


def test_a_target_around_1e7_fits_to_1e_6_in_float64_not_in_float32(path):
    X, y = offset_target_data()
    weight, bias = least_squares(X, y)
    wide = fit(X, y, path=path, dtype="float64", epochs=200, verbose=0, **USERS)
    narrow = fit(X, y, path=path, dtype="float32", epochs=200, verbose=0, **USERS)
    assert np.abs(wide.weight - weight).max() < 1e-6
    assert abs(wide.bias - bias) < 1e-6
    assert np.abs(narrow.weight - weight).max() > 1e-3  # float32 resolves y to about 1 in 1e7


def test_a_feature_offset_by_1e6_gives_the_true_bias_in_float64(path):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((500, 2)) + np.array([1e6, 0.0])
    y = X @ np.array([2.0, -1.0])  # the true bias: 0, around 2e6 in y
    result = fit(X, y, path=path, dtype="float64", epochs=300, verbose=0, **USERS)
    narrow = fit(X, y, path=path, dtype="float32", epochs=300, verbose=0, **USERS)
    assert abs(result.bias) < 0.01  # a weight off by 1e-8 moves the bias by 0.01
    np.testing.assert_allclose(result.weight, [2.0, -1.0], atol=1e-8)
    assert abs(narrow.bias) > 10  # float32 resolves a value of 1e6 to 0.06


# -- the dtype follows through every surface ----------------------------------------------------------------------


def test_predict_and_the_parameters_are_in_the_models_dtype(path):
    X, y = synthetic_data()
    wide = fit(X, y, path=path, dtype="float64", verbose=0)
    assert wide.dtype == "float64" and wide.weight.dtype == np.float64 and isinstance(wide.bias, float)
    assert wide.predict(X).dtype == np.float64
    assert wide.predict(X.astype(np.float32)).dtype == np.float64
    narrow = fit(X.astype(np.float64), y, path=path, verbose=0)  # fit's default: float32 whatever the input
    assert narrow.dtype == "float32" and narrow.predict(X).dtype == np.float32


def test_fits_default_is_float32_bit_for_bit(path):
    X, y = synthetic_data()
    default, given_ = fit(X, y, path=path, verbose=0), fit(X, y, path=path, dtype="float32", verbose=0)
    assert default.weight.dtype == np.float32
    np.testing.assert_array_equal(default.weight, given_.weight)
    assert default.bias == given_.bias and default.history == given_.history


def test_several_outputs_in_float64(path):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((60, 3))
    Y = X @ rng.standard_normal((3, 2)) + 1e7
    result = fit(X, Y, path=path, dtype="float64", epochs=3, verbose=0, **USERS)
    expected = reference_fit(X, Y, dtype="float64", epochs=3, **{**USERS, "lr": result.lr})
    assert result.weight.dtype == result.bias.dtype == np.float64
    np.testing.assert_allclose(result.weight, expected.weight, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(result.bias, expected.bias, rtol=1e-12)


@pytest.mark.parametrize(
    ("X", "y", "dtype"),
    [
        (np.zeros((2, 1)), np.zeros(2), "float64"),
        (np.zeros((2, 1), np.float32), np.zeros(2), "float64"),  # either of X and y
        (np.zeros((2, 1), np.float32), np.zeros(2, np.float32), "float32"),
        (np.zeros((2, 1), np.int64), np.arange(2), "float32"),
        ([[0.5], [1.5]], [1, 2], "float64"),  # Python floats are doubles
        ([[True], [False]], [1, 2], "float32"),
    ],
)
def test_auto_is_the_inputs_float_dtype(X, y, dtype):
    assert resolve_dtype("auto", X, y) == dtype
    assert resolve_dtype("float32", X, y) == "float32" and resolve_dtype("float64", X, y) == "float64"


def test_auto_reads_a_data_frames_columns():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [1, 2]})
    assert input_dtype(frame) == np.float64 and input_dtype(frame[["b"]]) == np.float32
    assert fit(frame, [1.0, 2.0], dtype="auto", epochs=1, verbose=0).dtype == "float64"


def test_float64_data_beyond_float32s_range_is_refused_only_in_float32():
    X, y = np.array([[1e39], [2e39], [3e39]]), np.array([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"after conversion to float32\), first in row 0\. .* \(3\.4e38\)"):
        prepare_data(X, y)
    data = prepare_data(X, y, dtype="float64", standardize=True)
    assert data.X.dtype == np.float64 and data.stats.mean[0] == pytest.approx(2e39)
    with pytest.raises(ValueError, match=r"after conversion to float64\), first in row 1\. .* \(1\.8e308\)"):
        prepare_data([[1.0], [np.inf]], [1.0, 2.0], dtype="float64")
    result = fit(X, y, dtype="float64", standardize=True, standardize_target=True, lr=0.1, epochs=20, verbose=0)
    assert result.score(X, y) > 0.99


def test_the_divergence_guards_overflow_check_follows_the_dtype():
    X, y = np.ones((300, 2)), np.full(300, 1e20)
    assert "overflows float32" in data_overflow(X, y, np.ones(2), 0.0)
    assert data_overflow(X, y, np.ones(2), 0.0, dtype="float64") is None
    assert "overflows float64" in data_overflow(X, np.full(300, 1e160), np.ones(2), 0.0, dtype="float64")


def test_save_and_load_keep_the_dtype(tmp_path, path):
    X, y = synthetic_data()
    for dtype in ("float64", "float32"):
        result = fit(X, y, path=path, dtype=dtype, verbose=0)
        save(result, tmp_path / f"{dtype}.params")
        loaded = load(tmp_path / f"{dtype}.params")
        assert loaded.dtype == dtype and loaded.weight.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(loaded.weight, result.weight)
        assert loaded.bias == result.bias
        np.testing.assert_array_equal(loaded.predict(X), result.predict(X))


def test_a_float64_checkpoint_resumes_bitwise_and_records_the_dtype(tmp_path, path):
    X, y = offset_target_data(n=200)
    options = dict(path=path, dtype="float64", optimizer="adam", lr=0.05, standardize=True, verbose=0)
    whole = fit(X, y, epochs=4, **options)
    checkpoint = tmp_path / "run.params"
    first = fit(X, y, epochs=2, checkpoint=checkpoint, **options)
    assert first.params["dtype"] == "float64"
    assert load(checkpoint).weight.dtype == np.float64
    resumed = fit(X, y, epochs=4, checkpoint=checkpoint, resume=True, **options)
    np.testing.assert_array_equal(resumed.weight, whole.weight)
    assert resumed.bias == whole.bias and resumed.history == whole.history
    with pytest.raises(Exception, match=r"dtype='float64' there, 'float32' here"):
        fit(X, y, epochs=4, checkpoint=checkpoint, resume=True, **{**options, "dtype": "float32"})


def test_auto_resolves_before_the_record():
    X, y = synthetic_data()
    assert fit(X.astype(np.float64), y, dtype="auto", epochs=1, verbose=0).params["dtype"] == "float64"
    assert fit(X, y, dtype="auto", epochs=1, verbose=0).params["dtype"] == "float32"


def test_early_stopping_restores_float64_weights_exactly(path):
    X, y = offset_target_data(n=300)
    options = dict(path=path, dtype="float64", lr=0.05, reduction="mean", standardize=True, validation_split=0.2)
    result = fit(X, y, epochs=6, early_stopping=True, verbose=0, **options)
    assert result.weight.dtype == np.float64


# -- errors --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float16", "double", np.float64, None])
def test_a_bad_dtype_is_refused_by_fit(dtype):
    X, y = synthetic_data(n=20)
    with pytest.raises(ValueError, match=f"^{BAD_DTYPE.format(dtype)}$".replace("(", r"\(").replace(")", r"\)")):
        fit(X, y, dtype=dtype)


def test_a_bad_dtype_is_refused_by_the_reference_and_the_estimator():
    X, y = synthetic_data(n=20)
    with pytest.raises(
        ValueError, match=r"Unknown dtype 'float16'; the reference knows \('float32', 'float64', 'auto'\)"
    ):
        reference_fit(X, y, dtype="float16")
    sklearn = pytest.importorskip("gluonlr.sklearn")
    with pytest.raises(ValueError, match="The 'dtype' parameter of fit must be one of 'float32', 'float64', 'auto'"):
        sklearn.LinearRegressor(dtype="half").fit(X, y)


def test_the_option_is_declared_once():
    option = OPTIONS["dtype"]
    assert option.default == "float32" and option.default_on("cli") == option.default_on("estimator") == "auto"
    assert option.on("config") and option.on("record") and option.on("reference")


# -- the estimator and the command line ---------------------------------------------------------------------------


def test_the_estimator_keeps_float64_with_auto(path):
    sklearn = pytest.importorskip("gluonlr.sklearn")
    X, y = offset_target_data(n=300)
    model = sklearn.LinearRegressor(path=path, dtype="auto", epochs=50, **USERS).fit(X, y)
    assert model.coef_.dtype == np.float64 and isinstance(model.intercept_, float)
    assert model.predict(X).dtype == np.float64
    np.testing.assert_allclose(model.coef_, least_squares(X, y)[0], atol=1e-6)
    assert model.to_result().dtype == "float64"
    online = sklearn.LinearRegressor(path=path, dtype="auto", lr=1e-3).partial_fit(X, y - 1e7)
    online.partial_fit(X.astype(np.float32), (y - 1e7).astype(np.float32))  # a fitted model keeps its dtype
    assert online.coef_.dtype == np.float64
    narrow = sklearn.LinearRegressor(path=path, dtype="auto", epochs=1, tol=None).fit(
        X.astype(np.float32), y.astype(np.float32)
    )
    assert narrow.coef_.dtype == np.float32


def run(capsys, *args):
    status = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return status, out, err


def test_the_cli_keeps_a_float64_npy_file_in_float64(tmp_path, capsys):
    X, y = offset_target_data(n=300)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    model = tmp_path / "m.params"
    status, out, err = run(
        capsys, "fit", tmp_path / "X.npy", "--target-file", tmp_path / "y.npy", "--out", model, "--json",
        "--epochs", "50",
    )  # fmt: skip
    assert status == 0, err
    fitted = load(model)
    assert fitted.dtype == "float64"
    np.testing.assert_allclose(fitted.weight, least_squares(X, y)[0], atol=1e-6)
    assert json.loads(out)["converged"] in (True, False)
    status, out, err = run(capsys, "predict", model, tmp_path / "X.npy")
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == "prediction"
    values = np.array([float(line) for line in lines[1:]])
    np.testing.assert_array_equal(values, fitted.predict(X))  # the shortest repr that reads back as the float64
    assert all(line == repr(float(value)) for line, value in zip(lines[1:], fitted.predict(X), strict=True))
    # a float32 file stays float32
    np.save(tmp_path / "X32.npy", X.astype(np.float32))
    np.save(tmp_path / "y32.npy", (X @ [1.5, -2.0, 0.5]).astype(np.float32))
    status, _, err = run(
        capsys, "fit", tmp_path / "X32.npy", "--target-file", tmp_path / "y32.npy", "--out", tmp_path / "n.params",
        "-q", "--epochs", "3",
    )  # fmt: skip
    assert status == 0, err
    assert load(tmp_path / "n.params").dtype == "float32"


def test_the_cli_reads_a_csv_file_in_float64_with_the_flag(tmp_path, capsys):
    X, y = offset_target_data(n=300)
    path = tmp_path / "data.csv"
    lines = [
        "x1,x2,x3,y",
        *(",".join(repr(float(v)) for v in (*row, target)) for row, target in zip(X, y, strict=True)),
    ]
    path.write_text("\n".join(lines) + "\n")
    for flags, dtype in (([], "float32"), (["--dtype", "float64"], "float64")):
        model = tmp_path / f"{dtype}.params"
        status, _, err = run(capsys, "fit", path, "--target", "y", "--out", model, "-q", "--epochs", "50", *flags)
        assert status == 0, err
        assert load(model).dtype == dtype
    np.testing.assert_allclose(load(tmp_path / "float64.params").weight, least_squares(X, y)[0], atol=1e-6)


def test_the_cli_refuses_a_bad_dtype(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["fit", str(tmp_path / "x.csv"), "--target", "y", "--out", str(tmp_path / "m"), "--dtype", "float16"])
    assert exit_.value.code == 2
    assert "float16" in capsys.readouterr().err
