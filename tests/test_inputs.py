"""pandas inputs: DataFrames and Series, nullable dtypes (Int64, Float64, boolean) read as scikit-learn reads them."""

import re

import numpy as np
import pytest

from gluonlr import fit

pd = pytest.importorskip("pandas")

rng = np.random.default_rng(0)
X_INT = rng.integers(-3, 4, size=(40, 2))
Y_INT = X_INT @ np.array([2, 5]) + 1
WEIGHTS = rng.integers(1, 3, size=40)
X_FLOAT, Y_FLOAT = X_INT.astype(np.float32), Y_INT.astype(np.float32)


def nullable_frame(X, dtype="Int64"):
    return pd.DataFrame({f"x{j}": pd.array(X[:, j].tolist(), dtype=dtype) for j in range(X.shape[1])})


def assert_same_fit(a, b):
    assert a.weight.tobytes() == b.weight.tobytes() and a.bias == b.bias and a.history == b.history


def test_nullable_integer_frame_fits_as_its_numbers(path):
    """np.asarray gives dtype object for Int64 columns; without a missing value they are plain integers."""
    X, y = nullable_frame(X_INT), pd.Series(Y_INT.tolist(), dtype="Int64")
    assert np.asarray(X).dtype == object  # what used to raise "got dtype object"
    assert_same_fit(fit(X, y, path=path, epochs=2), fit(X_FLOAT, Y_FLOAT, path=path, epochs=2))


@pytest.mark.parametrize(
    "columns",
    [
        {"x0": "Float64", "x1": "Int64"},
        {"x0": "UInt8", "x1": "float32"},
        {"x0": "boolean", "x1": "Int32"},
        {"x0": "bool", "x1": "float64"},  # bool beside numbers: np.asarray gives object too
    ],
    ids=lambda columns: "+".join(columns.values()),
)
def test_frames_of_numeric_and_boolean_columns(columns):
    X_bool = X_INT.copy()
    X_bool[:, 0] = X_bool[:, 0] > 0
    X = pd.DataFrame(
        {name: pd.array(X_bool[:, j].tolist()).astype(dtype) for j, (name, dtype) in enumerate(columns.items())}
    )
    assert_same_fit(fit(X, Y_INT, epochs=2), fit(X_bool.astype(np.float32), Y_INT, epochs=2))


def test_every_argument_takes_pandas_objects(path):
    X, y = nullable_frame(X_INT), pd.Series(Y_INT.tolist(), dtype="Int64")
    weights = pd.Series(WEIGHTS.tolist(), dtype="Int64")
    val = (nullable_frame(X_INT[:10]), pd.Series(Y_INT[:10].tolist(), dtype="Float64"))
    from_pandas = fit(X, y, path=path, epochs=2, sample_weight=weights, validation_data=val, metrics=["mse"])
    from_numpy = fit(
        X_FLOAT,
        Y_FLOAT,
        path=path,
        epochs=2,
        sample_weight=WEIGHTS.astype(np.float32),
        validation_data=(X_FLOAT[:10], Y_FLOAT[:10]),
        metrics=["mse"],
    )
    assert_same_fit(from_pandas, from_numpy)
    assert np.array_equal(from_pandas.predict(X), from_numpy.predict(X_FLOAT))
    assert from_pandas.score(*val) == from_numpy.score(X_FLOAT[:10], Y_FLOAT[:10])


def test_the_callers_frame_is_not_touched():
    X, y = nullable_frame(X_INT), pd.Series(Y_INT.tolist(), dtype="Int64")
    X_before, y_before = X.copy(deep=True), y.copy(deep=True)
    fit(X, y, epochs=1)
    pd.testing.assert_frame_equal(X, X_before)
    pd.testing.assert_series_equal(y, y_before)


def with_missing_value(values, dtype):
    """``values`` (1-D or 2-D) as a nullable Series or DataFrame of ``dtype``, with pd.NA at row 3."""
    values = values > 0 if dtype == "boolean" else values
    frame = pd.DataFrame(values.reshape(len(values), -1)).astype(dtype)
    frame.iloc[3, 0] = pd.NA
    return frame if values.ndim == 2 else frame[0]


@pytest.mark.parametrize("dtype", ["Int64", "Float64", "boolean"])
@pytest.mark.parametrize("argument", ["X", "y", "sample_weight", "X_val"])
def test_a_missing_value_gets_the_nan_error(argument, dtype):
    inputs = {"X": X_INT, "y": Y_INT, "sample_weight": WEIGHTS, "X_val": X_INT[:10]}
    inputs[argument] = with_missing_value(inputs[argument], dtype)
    name, where = ("X", "fit (validation_data)") if argument == "X_val" else (argument, "fit")
    with pytest.raises(ValueError, match=rf"^{name} passed to {re.escape(where)} contains NaN or infinity"):
        fit(
            inputs["X"],
            inputs["y"],
            epochs=1,
            sample_weight=inputs["sample_weight"],
            validation_data=(inputs["X_val"], Y_INT[:10]),
        )


def test_text_columns_are_still_refused():
    X = pd.DataFrame({"x0": X_INT[:, 0], "x1": [str(v) for v in X_INT[:, 1]]})
    with pytest.raises(TypeError, match=r"X passed to fit must hold real numbers; got dtype object"):
        fit(X, Y_INT, epochs=1)


def test_a_frame_like_object_that_cannot_convert_is_refused():
    class FrameLike:
        """dtypes and to_numpy as pandas has them, but a to_numpy that takes no na_value."""

        dtypes = np.array([np.dtype("int64")])

        def __array__(self, dtype=None, copy=None):
            return np.array([[1], [2]], dtype=object)

        def to_numpy(self, dtype=None):
            return np.array([[1], [2]], dtype=dtype)

    with pytest.raises(TypeError, match=r"got dtype object"):
        fit(FrameLike(), [1.0, 2.0], epochs=1)
