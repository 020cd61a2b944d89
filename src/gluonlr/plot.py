"""The article's plot and a loss-curve plot, drawn with matplotlib.

Both functions take an optional ``Axes`` and return the one they drew on. Without
one they draw on a new pyplot figure (``plt.subplots()``, as scikit-learn's
``Display.plot`` does), so that ``plt.show()``, ``plt.savefig`` and matplotlib's
Sphinx plot directive see it; they never call ``plt.show()`` themselves, so they
work headless (pyplot falls back to the Agg backend where there is no display).
To draw without pyplot, e.g. in a server or a thread, pass the axes of a
``matplotlib.figure.Figure`` you made yourself.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from gluonlr import host
from gluonlr.data import TRUE_B, TRUE_W

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_loss", "plot_predicted_vs_true", "plot_predictions"]

# Curves of paths that agree lie on top of each other: vary marker and dash.
_STYLES = ("o-", "x--", "s:", "^-.")


def _axes(ax: Axes | None) -> Axes:
    """Return ``ax``, or the axes of a new figure that pyplot tracks (its current figure from now on)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt  # imported only when needed: pyplot picks a backend on import

    _, new = plt.subplots()
    return new


def plot_predictions(
    result: Any,
    X: Any,
    *,
    true_w: Sequence[float] = TRUE_W,
    true_b: float = TRUE_B,
    n_points: int = 50,
    feature: int = 1,
    ax: Axes | None = None,
) -> Axes:
    """Draw the article's plot: predictions against the true plane.

    For the first ``n_points`` samples, with feature ``feature`` (x2 by default)
    on the x-axis, the model's predictions are red circles (``'or'``) and the
    true plane ``X @ true_w + true_b`` green stars (``'*g'``).

    Parameters
    ----------
    result : FitResult
        A fitted model (anything with ``predict``).
    X : array-like of shape (n_samples, n_features)
    true_w : sequence of float, default=(2, 51)
    true_b : float, default=21.2
    n_points : int, default=50
    feature : int, default=1
        Column of ``X`` shown on the x-axis.
    ax : matplotlib Axes, optional
        Where to draw; by default a new pyplot figure's axes (``plt.subplots()``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from gluonlr import fit, synthetic_data
    >>> X, y = synthetic_data()
    >>> ax = plot_predictions(fit(X, y), X)
    >>> [len(line.get_xdata()) for line in ax.get_lines()]
    [50, 50]
    """
    X = np.asarray(X, dtype=np.float32)[:n_points]
    truth = host.predict(X, np.asarray(true_w, dtype=np.float32), np.float32(true_b))
    ax = _axes(ax)
    ax.plot(X[:, feature], result.predict(X), "or", label="prediction")
    ax.plot(X[:, feature], truth, "*g", label="true plane")
    ax.set_xlabel(f"x{feature + 1}")
    ax.set_ylabel("y")
    ax.legend()
    return ax


def plot_loss(
    histories: Mapping[str, Mapping[str, Sequence[float]]],
    *,
    ax: Axes | None = None,
    validation_label: str = "{label} (validation)",
) -> Axes:
    """Draw the per-epoch training loss of one or more runs, on a log scale; validation loss dashed.

    Parameters
    ----------
    histories : mapping of label to history
        E.g. ``{"manual": result.history, "gluon": other.history}``.
    validation_label : str, default "{label} (validation)"
        The label of a run's validation curve; ``{label}`` stands for the run's.
    ax : matplotlib Axes, optional
        Where to draw; by default a new pyplot figure's axes (``plt.subplots()``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = plot_loss({"run": {"loss": [4.0, 1.0, 0.25]}})
    >>> ax.get_lines()[0].get_ydata().tolist()
    [4.0, 1.0, 0.25]
    >>> ax = plot_loss({"run": {"loss": [4.0, 1.0], "val_loss": [3.0, 2.0]}})
    >>> [line.get_label() for line in ax.get_lines()]
    ['run', 'run (validation)']
    >>> ax = plot_loss({"training": {"loss": [4.0, 1.0], "val_loss": [3.0, 2.0]}}, validation_label="validation")
    >>> [line.get_label() for line in ax.get_lines()]
    ['training', 'validation']
    """
    ax = _axes(ax)
    for (label, history), style in zip(histories.items(), itertools.cycle(_STYLES)):
        loss = history["loss"]
        (line,) = ax.plot(range(1, len(loss) + 1), loss, style, label=label)
        if "val_loss" in history:
            validation = history["val_loss"]
            epochs = range(1, len(validation) + 1)
            ax.plot(epochs, validation, "--", color=line.get_color(), label=validation_label.format(label=label))
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean loss per sample")
    ax.legend()
    return ax


def plot_predicted_vs_true(y_true: Any, y_pred: Any, *, n_points: int = 2000, ax: Axes | None = None) -> Axes:
    """Draw each sample's prediction against its true target, and the diagonal where they would be equal.

    Points far from the diagonal are samples the model gets wrong; a cloud that is flatter than the diagonal
    is a model that underfits. With several outputs, every output's points are drawn.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
    y_pred : array-like of the same shape
        E.g. ``result.predict(X)``.
    n_points : int, default=2000
        At most this many samples are drawn, evenly spaced over the rows (a memmap is read only there).
    ax : matplotlib Axes, optional
        The axes to draw on (default: those of a new pyplot figure).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Examples
    --------
    >>> ax = plot_predicted_vs_true([1.0, 2.0, 3.0], [1.5, 2.0, 2.5])
    >>> ax.collections[0].get_offsets().tolist()
    [[1.0, 1.5], [2.0, 2.0], [3.0, 2.5]]
    """
    n = len(y_true)
    rows = np.unique(np.linspace(0, n - 1, min(n, n_points)).round().astype(np.int64))
    true = np.asarray(np.asarray(y_true)[rows], dtype=np.float64).ravel()
    predicted = np.asarray(np.asarray(y_pred)[rows], dtype=np.float64).ravel()
    ax = _axes(ax)
    ax.scatter(true, predicted, s=12, alpha=0.6, label="samples")
    low, high = float(min(true.min(), predicted.min())), float(max(true.max(), predicted.max()))
    ax.plot([low, high], [low, high], "k--", linewidth=1, label="prediction = truth")
    ax.set_xlabel("true target")
    ax.set_ylabel("prediction")
    ax.legend()
    return ax
