import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from gluonlr import fit, synthetic_data
from gluonlr.plot import plot_loss, plot_predictions


def test_plot_predictions_draws_the_article_plot():
    X, y = synthetic_data()
    result = fit(X, y)
    ax = plot_predictions(result, X)
    assert isinstance(ax, Axes)
    prediction, truth = ax.get_lines()
    assert (prediction.get_marker(), prediction.get_color()) == ("o", "r")
    assert (truth.get_marker(), truth.get_color()) == ("*", "g")
    np.testing.assert_array_equal(prediction.get_xdata(), X[:50, 1])
    np.testing.assert_allclose(prediction.get_ydata(), result.predict(X[:50]))
    np.testing.assert_allclose(truth.get_ydata(), X[:50] @ np.float32([2, 51]) + np.float32(21.2), rtol=1e-6)
    assert ax.get_xlabel() == "x2"


def test_plots_use_the_given_axes():
    X, y = synthetic_data(n=10)
    ax = Figure().add_subplot()
    assert plot_predictions(fit(X, y, epochs=1), X, ax=ax) is ax
    other = Figure().add_subplot()
    assert plot_loss({"a": {"loss": [1.0, 0.5]}, "b": {"loss": [2.0, 1.0]}}, ax=other) is other
    assert [line.get_label() for line in other.get_lines()] == ["a", "b"]
    assert other.get_yscale() == "log"
