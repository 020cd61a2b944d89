"""Every bad argument of fit and predict raises a clear error before anything runs."""

import numpy as np
import pytest

from gluonlr import fit, synthetic_data

X, y = synthetic_data(n=20)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(path="torch"), ValueError, r"'path' parameter of fit must be one of 'manual', 'gluon'. Got 'torch'"),
        (dict(loss="mse"), ValueError, r"'loss' parameter of fit must be one of 'squared', 'l2'. Got 'mse'"),
        (dict(reduction="avg"), ValueError, r"'reduction' parameter of fit must be one of 'sum', 'mean'"),
        (dict(lr=0), ValueError, r"'lr' parameter of fit must be a finite float > 0. Got 0 instead"),
        (dict(lr=-0.1), ValueError, r"'lr' parameter of fit must be a finite float > 0. Got -0.1"),
        (dict(lr=float("nan")), ValueError, r"'lr' parameter of fit must be a finite float > 0. Got nan"),
        (dict(lr="0.1"), ValueError, r"'lr' parameter of fit must be a finite float > 0. Got '0.1'"),
        (dict(batch_size=0), ValueError, r"'batch_size' parameter of fit must be an int >= 1. Got 0"),
        (dict(batch_size=2.5), ValueError, r"'batch_size' parameter of fit must be an int >= 1. Got 2.5"),
        (dict(batch_size=True), ValueError, r"'batch_size' parameter of fit must be an int >= 1. Got True"),
        (dict(epochs=0), ValueError, r"'epochs' parameter of fit must be an int >= 1. Got 0"),
        (dict(seed=-1), ValueError, r"'seed' parameter of fit must be an int >= 0. Got -1"),
        (dict(init_weight=[1.0]), ValueError, r"'init_weight' parameter of fit must have shape \(2,\)"),
        (dict(init_bias=float("inf")), ValueError, r"'init_bias' parameter of fit must be a finite float"),
    ],
)
def test_bad_arguments(kwargs, error, match, path):
    with pytest.raises(error, match=match):
        fit(X, y, **{"path": path, **kwargs})


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
        (X, y[:, None], ValueError, r"y passed to fit must be 1-D .* got shape \(20, 1\). Did you mean y\[:, 0\]\?"),
        (X[:0], y[:0], ValueError, r"at least one sample and one feature; got shape \(0, 2\)"),
        (X[:, :0], y, ValueError, r"at least one sample and one feature; got shape \(20, 0\)"),
        (np.full((20, 2), np.nan), y, ValueError, r"X passed to fit contains NaN or infinity"),
        (X, np.full(20, np.inf), ValueError, r"y passed to fit contains NaN or infinity"),
        (X.astype(str), y, TypeError, r"X passed to fit must hold real numbers; got dtype <U"),
        (X.astype(complex), y, TypeError, r"X passed to fit must hold real numbers; got dtype complex128"),
    ],
)
def test_bad_data(X_bad, y_bad, error, match, path):
    with pytest.raises(error, match=match):
        fit(X_bad, y_bad, path=path)


def test_column_y_cannot_broadcast_to_a_matrix(path):
    """(n,) minus (n, 1) would silently make an n x n matrix; fit refuses the column instead."""
    with pytest.raises(ValueError, match="must be 1-D"):
        fit(X, y.reshape(-1, 1), path=path)


def test_predict_checks_features(path):
    result = fit(X, y, path=path, epochs=1)
    with pytest.raises(ValueError, match="X passed to predict has 3 features, but the model was fitted with 2"):
        result.predict(np.ones((4, 3)))
    with pytest.raises(ValueError, match="X passed to predict must be 2-D"):
        result.predict(np.ones(2))
