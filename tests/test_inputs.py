"""pandas inputs: DataFrames and Series, nullable dtypes (Int64, Float64, boolean) read as scikit-learn reads them,
column names kept with the model and checked by predict."""

import os
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


# ------------------------------------------------------------------------------- column names: kept and checked

NAMED = pd.DataFrame(X_FLOAT, columns=["age", "bmi"])


def test_a_frames_column_names_are_kept_and_the_fit_is_the_arrays(path):
    result = fit(NAMED, pd.Series(Y_FLOAT, name="target"), path=path, epochs=2)
    assert result.feature_names == ("age", "bmi")
    assert_same_fit(result, fit(X_FLOAT, Y_FLOAT, path=path, epochs=2))
    assert fit(X_FLOAT, Y_FLOAT, epochs=1).feature_names is None
    assert fit(pd.DataFrame(X_FLOAT), Y_FLOAT, epochs=1).feature_names is None  # pandas' default names 0, 1


def test_predict_and_score_check_the_column_names():
    result = fit(NAMED, Y_FLOAT, epochs=2)
    np.testing.assert_array_equal(result.predict(NAMED), fit(X_FLOAT, Y_FLOAT, epochs=2).predict(X_FLOAT))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "X passed to predict has the columns ['bmi', 'age'], the model's ['age', 'bmi'] in another order. "
            "Select the columns the model was fitted on, in that order: X[['age', 'bmi']]."
        ),
    ):
        result.predict(NAMED[["bmi", "age"]])
    with pytest.raises(
        ValueError,
        match=re.escape(
            "X passed to score has the columns ['age', 'weight'], other columns than the model's ['age', 'bmi']; "
            "unseen at fit time: ['weight']; seen at fit time, yet now missing: ['bmi']."
        ),
    ):
        result.score(NAMED.rename(columns={"bmi": "weight"}), Y_FLOAT)


def test_an_array_for_a_model_fitted_with_names_warns_as_scikit_learn():
    """predict(frame.to_numpy()) is a valid call: a warning, as scikit-learn gives, not an error."""
    named, unnamed = fit(NAMED, Y_FLOAT, epochs=2), fit(X_FLOAT, Y_FLOAT, epochs=2)
    with pytest.warns(
        UserWarning,
        match=r"X passed to predict does not have valid feature names, but the model was "
        r"fitted with feature names \['age', 'bmi'\]; its columns are taken in order\.",
    ):
        predictions = named.predict(X_FLOAT)
    np.testing.assert_array_equal(predictions, named.predict(NAMED))
    with pytest.warns(
        UserWarning,
        match=r"X passed to predict has feature names \['age', 'bmi'\], but the model was "
        r"fitted without feature names",
    ):
        unnamed.predict(NAMED)


def test_mixed_column_name_types_are_refused_as_scikit_learn_refuses_them():
    with pytest.raises(
        TypeError,
        match=r"X has column names of types \['int', 'str'\]: feature names are kept only "
        r"when all are strings\. Convert them all, e\.g\. X\.columns = X\.columns\.astype\(str\)",
    ):
        fit(pd.DataFrame(X_FLOAT, columns=["age", 1]), Y_FLOAT, epochs=1)


def test_validation_data_with_other_columns_is_refused():
    with pytest.raises(ValueError, match=r"^X passed to fit \(validation_data\) has the columns \['bmi', 'age'\]"):
        fit(NAMED, Y_FLOAT, epochs=1, validation_data=(NAMED[["bmi", "age"]], Y_FLOAT))
    result = fit(NAMED, Y_FLOAT, epochs=1, validation_data=(X_FLOAT, Y_FLOAT))  # an array: taken in order, silently
    assert "val_loss" in result.history


def test_save_and_load_keep_the_column_names(tmp_path):
    from gluonlr import load, save

    target = tmp_path / "model.params"
    save(fit(NAMED, Y_FLOAT, epochs=2), target)
    assert sorted(os.listdir(tmp_path)) == ["model.params", "model.params.features.json"]
    loaded = load(target)
    assert loaded.feature_names == ("age", "bmi")
    with pytest.raises(ValueError, match=r"in another order"):
        loaded.predict(NAMED[["bmi", "age"]])
    # The model file is still exactly what Gluon's Dense reads.
    from gluonlr._mxnet import gluon

    dense = gluon.nn.Dense(1, in_units=2)
    dense.load_parameters(str(target))
    np.testing.assert_array_equal(dense.weight.data().asnumpy()[0], loaded.weight)
    # A model without names replaces the file of one with names, and its names go with it.
    save(fit(X_FLOAT, Y_FLOAT, epochs=2), target)
    assert os.listdir(tmp_path) == ["model.params"] and load(target).feature_names is None


def test_names_saved_with_another_model_are_an_error(tmp_path):
    """Issue 23: stale names were dropped in silence, and a data frame's columns then matched by position."""
    from gluonlr import CheckpointError, gluon, load, save

    target = tmp_path / "model.params"
    save(fit(NAMED, Y_FLOAT, epochs=2), target)
    gluon.init_params(np.array([1.0, 2.0]), 3.0).save_parameters(str(target))  # replaced behind gluonlr's back
    with pytest.raises(CheckpointError, match=r"model\.params\.features\.json' holds the feature names of another"):
        load(target)
    (tmp_path / "model.params.features.json").unlink()  # the remedy the message gives
    assert load(target).feature_names is None


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"not json", r"it is not valid JSON, perhaps truncated \(Expecting value: line 1 column 1 \(char 0\)\)"),
        ("truncated", r"it is not valid JSON, perhaps truncated \(Unterminated string starting at: line 1 column"),
        (b'{"names": "\xe9"}', r"it is not UTF-8 text"),
        (b'{"format": "something else"}', r"it is JSON but not gluonlr's: no \"format\": \"gluonlr\.feature-names\""),
        (b"[1, 2]", r"it is JSON but not gluonlr's: no \"format\": \"gluonlr\.feature-names\""),
        ("oversize", r"it has more than 65536 bytes, the most gluonlr reads of a feature names file"),
        ("directory", r"it is a directory"),
    ],
)
def test_a_names_file_that_cannot_be_read_is_an_error(tmp_path, monkeypatch, content, reason):
    """Issue 23: a corrupt, truncated, oversize or foreign names file was dropped in silence, columns by position."""
    from gluonlr import CheckpointError, load, persistence, save

    target, names_file = tmp_path / "model.params", tmp_path / "model.params.features.json"
    save(fit(NAMED, Y_FLOAT, epochs=2), target)
    monkeypatch.setattr(persistence, "_FEATURES_MAX_BYTES", 1 << 16)
    if content == "truncated":
        names_file.write_bytes(names_file.read_bytes()[:30])
    elif content == "oversize":
        names_file.write_bytes(b" " * (1 << 16) + names_file.read_bytes())  # valid JSON, over the bound
    elif content == "directory":
        names_file.unlink()
        names_file.mkdir()
    else:
        names_file.write_bytes(content)
    with pytest.raises(
        CheckpointError,
        match=rf"^'{re.escape(str(names_file))}' cannot be used as the feature names of the model "
        rf"'{re.escape(str(target))}': {reason}.*\. Save the model again with its names \(gluonlr\.save\), or "
        rf"delete '{re.escape(str(names_file))}' to use the model without names \(its columns then taken by "
        r"position\)\.$",
    ):
        load(target)
    if content == "directory":
        names_file.rmdir()
    else:
        names_file.unlink()  # the remedy the message gives
    assert load(target).feature_names is None


def test_save_refuses_names_that_load_would_not_read(tmp_path, monkeypatch):
    from gluonlr import persistence, save

    monkeypatch.setattr(persistence, "_FEATURES_MAX_BYTES", 150)
    with pytest.raises(
        ValueError,
        match=r"^The model's 2 feature names take 1\d\d bytes in '.*model\.params\.features\.json', "
        r"more than the 150 that load reads\. Give the columns shorter names, or save the model",
    ):
        save(fit(NAMED, Y_FLOAT, epochs=1), tmp_path / "model.params")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("content", ["not json", '{"format": "something else"}'])
def test_save_leaves_a_file_it_did_not_write_alone(tmp_path, content):
    from gluonlr import save

    target = tmp_path / "model.params"
    (tmp_path / "model.params.features.json").write_text(content)
    with pytest.raises(FileExistsError, match=r"model\.params\.features\.json' exists and is no feature names file"):
        save(fit(NAMED, Y_FLOAT, epochs=1), target)
    assert os.listdir(tmp_path) == ["model.params.features.json"]
    assert (tmp_path / "model.params.features.json").read_text() == content
