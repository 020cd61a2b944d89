"""Every bad input of fit and predict raises a clear error before anything runs."""

import re
import warnings

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gluonlr import DataConversionWarning, fit, synthetic_data
from gluonlr.callbacks import Callback, EarlyStopping

X, y = synthetic_data(n=20)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(path="torch"), ValueError, r"'path' parameter of fit must be one of 'manual', 'gluon'. Got 'torch'"),
        (dict(loss="mse"), ValueError, r"'loss' parameter of fit must be one of 'squared', 'l2', 'l1', 'huber'"),
        (dict(loss="huber", rho=0), ValueError, r"'rho' parameter of fit must be a float in \(0, inf\). Got 0"),
        (dict(optimizer="rmsprop"), ValueError, r"'optimizer' parameter of fit must be one of 'sgd', 'adam'"),
        (dict(momentum=1.0), ValueError, r"'momentum' parameter of fit must be a float in \[0, 1\) \(also as a"),
        (dict(momentum=0.99999999), ValueError, r"'momentum' .*\[0, 1\) \(also as a float32\). Got 0.99999999"),
        (dict(optimizer="adam", beta2=0.999999999), ValueError, r"'beta2' parameter of fit must be a float in"),
        (dict(init_weight=["a", "b"]), ValueError, r"'init_weight' parameter of fit must be an array of real numbers"),
        (dict(init_bias=[5.0, 1.0]), ValueError, r"'init_bias' parameter of fit must be a finite float. Got \[5.0"),
        (dict(sample_weight=[0.0] * 16 + [1.0] * 4, validation_split=0.2), ValueError, r"0 for every sample left"),
        (dict(momentum=0.9, optimizer="adam"), ValueError, r"'momentum' parameter of fit applies to optimizer='sgd'"),
        (dict(nesterov=True), ValueError, r"nesterov=True needs optimizer='sgd' with momentum > 0"),
        (dict(nesterov="yes", momentum=0.9), ValueError, r"'nesterov' parameter of fit must be True or False"),
        (dict(optimizer="adam", beta1=1), ValueError, r"'beta1' parameter of fit must be a float in \[0, 1\)"),
        (dict(optimizer="adam", beta2=-0.1), ValueError, r"'beta2' parameter of fit must be a float in \[0, 1\)"),
        (dict(optimizer="adam", epsilon=0), ValueError, r"'epsilon' parameter of fit must be a float in \(0, inf\)"),
        (dict(weight_decay=-1), ValueError, r"'weight_decay' parameter of fit must be a float in \[0, inf\)"),
        (dict(lr_schedule="linear"), ValueError, r"'lr_schedule' parameter of fit must be None, one of 'constant'"),
        (dict(sample_weight=np.ones(3)), ValueError, r"sample_weight passed to fit must have shape \(20,\)"),
        (dict(sample_weight=-np.ones(20)), ValueError, r"sample_weight passed to fit must be >= 0 and not all zero"),
        (dict(sample_weight=np.zeros(20)), ValueError, r"sample_weight passed to fit must be >= 0 and not all zero"),
        (dict(sample_weight=np.full(20, np.nan)), ValueError, r"sample_weight passed to fit contains NaN"),
        (dict(validation_split=1.0), ValueError, r"'validation_split' parameter of fit must be a float in \[0, 1\)"),
        (dict(validation_split=0.99), ValueError, r"validation_split=0.99 of 20 samples leaves 0 to train on and 20"),
        (dict(validation_split=0.1, validation_data=(X, y)), ValueError, r"validation_split or validation_data"),
        (dict(validation_data=X), TypeError, r"'validation_data' parameter of fit must be a tuple \(X_val, y_val\)"),
        (dict(validation_data=(X[:, :1], y)), ValueError, r"X passed to fit \(validation_data\) has 1 features"),
        (dict(validation_data=(X, y[:5])), ValueError, r"fit \(validation_data\) must have the same number of samples"),
        (
            dict(validation_data=(X[:10], np.ones((10, 3)))),
            ValueError,
            r"y of validation_data has shape \(10, 3\), but y has \(20,\): the outputs must match",
        ),
        (dict(metrics="mse"), TypeError, r"'metrics' parameter of fit must be a list of metric names"),
        (dict(metrics=["auc"]), ValueError, r"'metrics' parameter of fit must be one of 'mse', 'rmse', 'mae', 'r2'"),
        (dict(early_stopping=True), ValueError, r"Early stopping monitors 'val_loss', which this fit does not record"),
        (dict(early_stopping="yes"), TypeError, r"'early_stopping' parameter of fit must be True, False or a"),
        (
            dict(early_stopping=EarlyStopping(monitor="val_r2"), validation_split=0.5),
            ValueError,
            r"monitors 'val_r2', which .*records 'loss', 'val_loss'\)\. Add the metric to fit\(metrics=...\)",
        ),
        (dict(verbose=2), ValueError, r"'verbose' parameter of fit must be 'auto', 0 or 1. Got 2"),
        (dict(reduction="avg"), ValueError, r"'reduction' parameter of fit must be one of 'sum', 'mean'"),
        (dict(lr=0), ValueError, r"'lr' parameter of fit must be a finite float > 0 or 'auto'. Got 0 instead"),
        (dict(lr=-0.1), ValueError, r"'lr' parameter of fit must be a finite float > 0 or 'auto'. Got -0.1"),
        (dict(lr=float("nan")), ValueError, r"'lr' parameter of fit must be a finite float > 0 or 'auto'. Got nan"),
        (dict(lr=float("inf")), ValueError, r"'lr' parameter of fit must be a finite float > 0 or 'auto'. Got inf"),
        (dict(lr="0.1"), ValueError, r"'lr' parameter of fit must be a finite float > 0 or 'auto'. Got '0.1'"),
        (dict(lr=True), ValueError, r"'lr' parameter of fit must be a finite float > 0 or 'auto'. Got True"),
        (dict(lr=10**400), ValueError, r"'lr' parameter of fit must be a finite float > 0 or 'auto'. Got 1000"),
        (dict(lr=1e-48), ValueError, r"'lr' parameter of fit must be between 1.18e-38 and 3.4e\+38 in magnitude"),
        (dict(lr=1e39), ValueError, r"'lr' parameter of fit must be between .*: MXNet's operators take it as a"),
        (dict(weight_decay=1.6e-220), ValueError, r"'weight_decay' parameter of fit must be 0 or between 1.18e-38"),
        (dict(batch_size=0), ValueError, r"'batch_size' parameter of fit must be an int >= 1 or 'auto'. Got 0"),
        (dict(batch_size=2.5), ValueError, r"'batch_size' parameter of fit must be an int >= 1 or 'auto'. Got 2.5"),
        (dict(batch_size=True), ValueError, r"'batch_size' parameter of fit must be an int >= 1 or 'auto'. Got True"),
        (dict(epochs=0), ValueError, r"'epochs' parameter of fit must be an int >= 1. Got 0"),
        (dict(epochs=False), ValueError, r"'epochs' parameter of fit must be an int >= 1. Got False"),
        (dict(epochs="3"), ValueError, r"'epochs' parameter of fit must be an int >= 1. Got '3'"),
        (dict(seed=-1), ValueError, r"'seed' parameter of fit must be an int >= 0. Got -1"),
        (dict(seed=True), ValueError, r"'seed' parameter of fit must be an int >= 0. Got True"),
        (dict(seed=False), ValueError, r"'seed' parameter of fit must be an int >= 0. Got False"),
        (dict(init_weight=[1.0]), ValueError, r"'init_weight' parameter of fit must have shape \(2,\)"),
        (dict(init_weight=[1.0, np.nan]), ValueError, r"'init_weight' parameter of fit must be finite"),
        (dict(init_bias=float("inf")), ValueError, r"'init_bias' parameter of fit must be a finite float"),
        (dict(callbacks=Callback()), TypeError, r"'callbacks' parameter of fit must be a list of .*Got Callback"),
        (dict(callbacks=[print]), TypeError, r"'callbacks' parameter of fit must hold .*Callback instances"),
        (dict(checkpoint=3), TypeError, r"'checkpoint' parameter of fit must be a path .*Got int"),
        (
            dict(checkpoint="no/such/dir/run.params"),
            FileNotFoundError,
            r"Checkpoint file .* the directory .* does not exist",
        ),
        (dict(resume=True), ValueError, r"resume=True continues from the 'checkpoint' parameter of fit, which is not"),
        (dict(resume=3), TypeError, r"'resume' parameter of fit must be True, False, None or a checkpoint path"),
        (dict(resume="no/such/run.params"), FileNotFoundError, r"No checkpoint to resume from"),
    ],
)
def test_bad_arguments(kwargs, error, match, path):
    with pytest.raises(error, match=match):
        fit(X, y, **{"path": path, **kwargs})


@pytest.mark.parametrize(("y_train", "y_val"), [(np.ones((20, 3)), y[:10]), (np.ones((20, 3)), np.ones((10, 2)))])
def test_validation_targets_must_have_the_outputs_of_y(y_train, y_val, path):
    """Unchecked, the manual path returned a meaningless val_loss and the Gluon path raised MXNet's own error."""
    message = f"y of validation_data has shape {y_val.shape}, but y has (20, 3): the outputs must match"
    with pytest.raises(ValueError, match=re.escape(message)):
        fit(X, y_train, path=path, validation_data=(X[:10], y_val))


@pytest.mark.parametrize(
    ("X_bad", "y_bad", "error", "match"),
    [
        (
            X[:, 0],
            y,
            ValueError,
            r"X passed to fit must be 2-D .* got shape \(20,\). Reshape it with X.reshape\(-1, 1\)",
        ),
        (X[None], y, ValueError, r"X passed to fit must be 2-D .* got shape \(1, 20, 2\)"),
        (np.float32(1.0), y, ValueError, r"X passed to fit must be 2-D .* got shape \(\)"),
        (X, y[:-1], ValueError, r"same number of samples; got len\(X\)=20 and len\(y\)=19"),
        (X, y[None, :, None], ValueError, r"y passed to fit must be 1-D \(n_samples,\), or 2-D .*\(1, 20, 1\)"),
        (X, np.float32(1.0), ValueError, r"y passed to fit must be 1-D .* got shape \(\)"),
        (X, np.ones((20, 0)), ValueError, r"y passed to fit must be 1-D .* got shape \(20, 0\)"),
        (X, np.ones((19, 3)), ValueError, r"same number of samples; got len\(X\)=20 and len\(y\)=19"),
        (X[:0], y[:0], ValueError, r"at least one sample and one feature; got shape \(0, 2\)"),
        (X[:, :0], y, ValueError, r"at least one sample and one feature; got shape \(20, 0\)"),
        (np.full((20, 2), np.nan), y, ValueError, r"X passed to fit contains NaN or infinity"),
        (X, np.full(20, np.inf), ValueError, r"y passed to fit contains NaN or infinity"),
        # float64 values past float32's range (numpy 1.x promoted X * 1e300 to float64; numpy 2 keeps float32)
        (X.astype(np.float64) * 1e300, y, ValueError, r"X .* contains NaN or infinity \(after conversion to float32\)"),
        (X.astype(str), y, TypeError, r"X passed to fit must hold real numbers; got dtype <U"),
        (X.astype(object), y, TypeError, r"X passed to fit must hold real numbers; got dtype object"),
        (X.astype(complex), y, TypeError, r"X passed to fit must hold real numbers; got dtype complex128"),
        (X, y.astype("S8"), TypeError, r"y passed to fit must hold real numbers; got dtype \|S8"),
        ([[1.0, 2.0], [3.0]], [1.0, 2.0], ValueError, r"X passed to fit could not be read as an array"),
        (None, y, TypeError, r"X passed to fit must hold real numbers; got dtype object"),
    ],
)
def test_bad_data(X_bad, y_bad, error, match, path):
    with pytest.raises(error, match=match):
        fit(X_bad, y_bad, path=path)


def test_column_y_is_accepted_with_a_warning(path):
    """As scikit-learn's SGDRegressor: a column y is used as y[:, 0], with a DataConversionWarning."""
    with pytest.warns(DataConversionWarning, match=r"column-vector y of shape \(20, 1\).*pass y.ravel\(\)"):
        column = fit(X, y.reshape(-1, 1), path=path, epochs=2)
    flat = fit(X, y, path=path, epochs=2)
    np.testing.assert_array_equal(column.weight, flat.weight)
    assert column.history == flat.history


def test_column_y_cannot_broadcast_to_a_matrix(path):
    """(n,) minus (n, 1) would silently make an n x n matrix: the loss stays per sample.

    One step from zero on 3 samples: with an (n, n) broadcast the summed gradient
    would be 3x too large.
    """
    X3, y3 = np.eye(3, dtype=np.float32), np.array([1.0, 2.0, 3.0], np.float32)
    with pytest.warns(DataConversionWarning):
        result = fit(X3, y3[:, None], path=path, epochs=1, batch_size=3, lr=0.1, init_weight=np.zeros(3))
    np.testing.assert_allclose(result.weight, 0.2 * y3, rtol=1e-6)
    assert result.bias == pytest.approx(0.2 * 6, rel=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.int8, np.uint16, np.bool_, np.float16])
def test_numeric_dtypes_are_converted_to_float32(dtype, path):
    Xd, yd = (X > 0).astype(dtype), (y > 0).astype(dtype)
    expected = fit(Xd.astype(np.float32), yd.astype(np.float32), path=path, epochs=1)
    result = fit(Xd, yd, path=path, epochs=1)
    assert result.weight.dtype == np.float32
    np.testing.assert_array_equal(result.weight, expected.weight)


def test_batch_larger_than_the_data_is_one_batch(path):
    big = fit(X, y, path=path, epochs=2, batch_size=1000)
    exact = fit(X, y, path=path, epochs=2, batch_size=len(y))
    np.testing.assert_array_equal(big.weight, exact.weight)


def test_numpy_integers_are_accepted(path):
    result = fit(X, y, path=path, epochs=np.int64(2), batch_size=np.int32(5), seed=np.uint8(1))
    assert len(result.history["loss"]) == 2


def test_predict_checks_features(path):
    result = fit(X, y, path=path, epochs=1)
    with pytest.raises(ValueError, match="X passed to predict has 3 features, but the model was fitted with 2"):
        result.predict(np.ones((4, 3)))
    with pytest.raises(ValueError, match="X passed to predict must be 2-D"):
        result.predict(np.ones(2))
    with pytest.raises(ValueError, match="X passed to predict contains NaN"):
        result.predict([[np.nan, 1.0]])
    with pytest.raises(TypeError, match="X passed to predict must hold real numbers"):
        result.predict([["a", "b"]])


# Anything at all: every dtype numpy has (strings, objects, datetimes, complex...),
# 0-3 dimensions, empty sides, NaN and huge values, Python scalars and None.
any_array = st.one_of(
    hnp.arrays(hnp.scalar_dtypes(), hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)),
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=6)),
    st.none(),
    st.text(max_size=3),
    st.lists(st.floats(), max_size=4),
)
any_number = st.one_of(st.integers(-2, 40), st.floats(), st.booleans(), st.none(), st.text(max_size=2))


def fit_or_documented_error(*args, errors=(ValueError, TypeError), **kwargs):
    """Run fit; return None if it raised one of ``errors`` (with a message), else check the result is finite."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataConversionWarning)
        try:
            result = fit(*args, **kwargs)
        except errors as error:
            assert str(error)
            return None
    assert np.isfinite(result.weight).all() and np.isfinite(result.bias).all()
    return result


@given(X_any=any_array, y_any=any_array, path=st.sampled_from(["manual", "gluon"]))
def test_fuzzed_data_raise_only_documented_errors(X_any, y_any, path):
    """Whatever data comes in, fit returns finite weights or raises ValueError/TypeError - never MXNetError."""
    fit_or_documented_error(X_any, y_any, path=path, batch_size=3, epochs=1)


@given(
    lr=any_number,
    batch_size=any_number,
    epochs=st.one_of(any_number.filter(lambda v: not isinstance(v, int) or v < 3)),
    seed=any_number,
    loss=st.one_of(st.sampled_from(["squared", "l2"]), st.text(max_size=3), st.none()),
    path=st.one_of(st.sampled_from(["manual", "gluon"]), st.integers()),
)
def test_fuzzed_arguments_raise_only_documented_errors(lr, batch_size, epochs, seed, loss, path):
    fit_or_documented_error(X, y, lr=lr, batch_size=batch_size, epochs=epochs, seed=seed, loss=loss, path=path)


@given(X_any=any_array)
def test_fuzzed_predict_raises_only_documented_errors(X_any):
    model = fit(X, y, epochs=1)
    try:
        predictions = model.predict(X_any)
    except (ValueError, TypeError) as error:
        assert str(error)
        return
    assert predictions.shape == (np.asarray(X_any).shape[0],)


@given(
    data=st.data(),
    n=st.integers(1, 12),
    d=st.integers(1, 3),
    dtype=st.sampled_from([np.float64, np.float32, np.int32, np.float16, np.uint8]),
    lr=st.floats(1e-4, 10.0),
    path=st.sampled_from(["manual", "gluon"]),
)
def test_fuzzed_values_of_the_right_shape(data, n, d, dtype, lr, path):
    """Shapes that fit, any values (NaN, inf, huge, tiny): finite weights, or a ValueError (or DivergenceError)."""
    X_any = data.draw(hnp.arrays(dtype, (n, d)))  # floats: NaN, inf, the whole range of the dtype
    y_any = data.draw(hnp.arrays(dtype, data.draw(st.sampled_from([(n,), (n, 1)]))))
    fit_or_documented_error(X_any, y_any, path=path, lr=lr, batch_size=4, epochs=2, errors=ValueError)


@given(
    shape=st.tuples(st.integers(1, 40), st.integers(1, 6)),
    seed=st.integers(0, 2**16),
    bad=st.lists(
        st.tuples(st.integers(0, 39), st.integers(0, 5), st.sampled_from([np.nan, np.inf, -np.inf, 3e38])),
        max_size=6,
    ),
)
@example(shape=(3, 2), seed=0, bad=[(0, 0, 3e38), (0, 1, 3e38), (2, 1, np.nan)])  # row 0's sum overflows
def test_the_first_nonfinite_row_is_found_whatever_overflows(shape, seed, bad):
    """The check's fast row sums find exactly the rows a value-by-value test finds: NaN and infinity anywhere, and
    none for finite values whose sum overflows (3e38 twice is infinite)."""
    from gluonlr._validation import first_nonfinite_row

    chunk = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    for row, column, value in bad:
        chunk[row % shape[0], column % shape[1]] = value
    rows = np.flatnonzero(~np.isfinite(chunk).all(axis=1))
    assert first_nonfinite_row(chunk) == (int(rows[0]) if len(rows) else None)
    assert first_nonfinite_row(chunk[:, 0]) == (
        int(np.flatnonzero(~np.isfinite(chunk[:, 0]))[0]) if not np.isfinite(chunk[:, 0]).all() else None
    )
