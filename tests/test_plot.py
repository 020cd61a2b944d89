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


def test_without_axes_the_plots_draw_on_a_new_pyplot_figure():
    """So that plt.show(), plt.savefig and matplotlib's Sphinx plot directive see them (issue 15)."""
    import matplotlib.pyplot as plt

    X, y = synthetic_data(n=10)
    result = fit(X, y, epochs=2)
    before = set(plt.get_fignums())
    ax = plot_predictions(result, X)
    assert ax.figure is plt.gcf() and len(set(plt.get_fignums()) - before) == 1
    other = plot_loss({"run": result.history})
    assert other.figure is plt.gcf() and other.figure is not ax.figure
    assert len(set(plt.get_fignums()) - before) == 2
    assert [line.get_ydata().tolist() for line in other.get_lines()] == [result.history["loss"]]
    plt.close(ax.figure)
    plt.close(other.figure)


def test_given_axes_create_no_pyplot_figure():
    """Axes of a Figure made without pyplot stay out of pyplot's figures: the CLI writes its PNG that way."""
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    plot_loss({"a": {"loss": [1.0, 0.5]}}, ax=Figure().add_subplot())
    assert plt.get_fignums() == before
