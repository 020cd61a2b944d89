"""The exceptions and warnings gluonlr raises, beyond Python's own.

Every error about the user's arguments and data is a ``ValueError`` or
``TypeError`` (or a subclass), raised before any state changes. A file path
that cannot be used raises an ``OSError`` instead, also before anything is
written: ``FileNotFoundError`` (a checkpoint's directory does not exist,
``load`` of a missing file), ``IsADirectoryError`` (``save`` to a directory),
``NotADirectoryError``, ``PermissionError`` (a read-only file).
"""

from __future__ import annotations

import numpy as np

__all__ = ["CheckpointError", "ConvergenceWarning", "DataConversionWarning", "DivergenceError", "WorseThanMeanWarning"]


class DataConversionWarning(UserWarning):
    """Input data was accepted in a shape or type that needed converting.

    As scikit-learn's warning of the same name: e.g. a column ``y`` of shape
    ``(n_samples, 1)`` passed where ``(n_samples,)`` was expected.
    """


class ConvergenceWarning(UserWarning):
    """Training reached its last epoch without converging, as ``fit(tol=...)`` measures it.

    As scikit-learn's warning of the same name (whose ``SGDRegressor`` warns
    when it runs out of ``max_iter``); :class:`gluonlr.sklearn.LinearRegressor`
    emits scikit-learn's own. The message says what to change.
    """


class WorseThanMeanWarning(ConvergenceWarning):
    """The fitted model is worse than predicting the mean of ``y``: its training loss is above the mean's.

    For the squared loss, a training R² below 0. Training has not converged
    (a converged least-squares fit with a bias is never worse than the mean):
    :class:`~gluonlr.callbacks.DivergenceGuard` warns at the end of
    :func:`gluonlr.fit`, and ``FitResult.converged`` is False. The message says
    what to change. A :class:`ConvergenceWarning`, so a filter on that
    catches it too; :class:`gluonlr.sklearn.LinearRegressor` emits it as
    scikit-learn's ``ConvergenceWarning``.
    """


class CheckpointError(ValueError):
    """A model or checkpoint file cannot be used: corrupt, truncated, or from another run."""


class DivergenceError(FloatingPointError, ValueError):
    """Training diverged: the loss or the parameters stopped being finite.

    Both a ``FloatingPointError`` and a ``ValueError``. It carries what was
    learned before things went wrong.

    Attributes
    ----------
    epoch : int
        Index (from 0) of the epoch at whose end the divergence was found (the
        last epoch when the fitted parameters' loss was, at the end of training).
    history : dict of str to list of float
        The history up to and including that epoch.
    weight : ndarray of shape (n_features,) or (n_features, n_outputs)
        The last finite weights: those after epoch ``epoch - 1``, or the
        initial ones when the first epoch diverged; for a divergence found at
        the end of training, the fitted ones. The message says which.
    bias : float or ndarray of shape (n_outputs,)
        The last finite bias.
    """

    def __init__(
        self,
        message: str,
        *,
        epoch: int,
        history: dict[str, list[float]],
        weight: np.ndarray,
        bias: float | np.ndarray,
    ) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.history = history
        self.weight = weight
        self.bias = bias
