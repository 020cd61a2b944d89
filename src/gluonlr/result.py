"""The fitted model :func:`gluonlr.fit` returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gluonlr import host
from gluonlr._validation import check_feature_names, check_finite, check_X, check_y
from gluonlr.data.sources import Source, chunks
from gluonlr.metrics import r2_score

__all__ = ["FitResult"]


@dataclass
class FitResult:
    """What :func:`gluonlr.fit` returns: the learned parameters and the training history.

    Attributes
    ----------
    weight : ndarray of shape (n_features,) or (n_features, n_outputs), float32 or float64
        In the model's dtype (``dtype``, ``fit``'s ``dtype``).
    bias : float or ndarray of shape (n_outputs,)
    history : dict of str to list of float
        ``history["loss"][e]`` is the mean per-sample training loss of epoch
        ``e``, computed on each batch before its update. Only complete epochs
        are recorded.
    path : {"manual", "gluon"} or None
        The path that trained the model; None for a model read by
        :func:`gluonlr.load`.
    params : dict
        The arguments of :func:`gluonlr.fit` (other than the data) that produced it.
    stopped_epoch : int or None
        Index (from 0) of the epoch in which training stopped early, or None
        when it ran all its epochs.
    stop_reason : str or None
        Why training stopped early, in words; None when it did not.
    interrupted : bool
        True when Ctrl-C stopped training: the parameters are those after the
        last batch that ran, and ``history`` holds the complete epochs only.
    feature_names : tuple of str or None
        The column names of the data frame ``X`` the model was fitted on (all
        strings), or None for an array. :meth:`predict` checks a data frame's
        columns against them; :func:`gluonlr.save` saves them with the model.
    lr : float or None
        The learning rate the fit trained with (the start of its schedule):
        ``fit``'s ``lr``, or the rate ``lr="auto"`` chose from the data (also
        in ``history["lr"]``); None for a model read by :func:`gluonlr.load`.
    converged : bool or None
        With ``fit(tol=...)``: whether training converged (stopped when the
        loss no longer improved by ``tol``) before its last epoch; None when
        ``tol`` is None or for a model read by :func:`gluonlr.load`.
    """

    weight: np.ndarray
    bias: float | np.ndarray
    history: dict[str, list[float]]
    path: str | None
    params: dict[str, Any] = field(default_factory=dict)
    stopped_epoch: int | None = None
    stop_reason: str | None = None
    interrupted: bool = False
    feature_names: tuple[str, ...] | None = None
    lr: float | None = None
    converged: bool | None = None

    @property
    def n_epochs(self) -> int:
        """Number of epochs trained: the entries of ``history["loss"]`` (as scikit-learn's ``n_iter_``)."""
        return len(self.history.get("loss", ()))

    @property
    def dtype(self) -> str:
        """The model's dtype, ``"float32"`` or ``"float64"``: that of ``weight``, and of :meth:`predict`.

        Examples
        --------
        >>> from gluonlr import fit, synthetic_data
        >>> fit(*synthetic_data(), dtype="float64").dtype, fit(*synthetic_data()).dtype
        ('float64', 'float32')
        """
        return "float64" if np.asarray(self.weight).dtype == np.float64 else "float32"

    @property
    def n_features(self) -> int:
        """Number of features the model was fitted on."""
        return int(self.weight.shape[0])

    def predict(self, X: Any) -> np.ndarray:
        """Predict targets for ``X``: ``X @ weight + bias`` in the model's ``dtype`` (:func:`gluonlr.host.predict`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A memmap or another array-like as :func:`gluonlr.fit` takes is read in chunks.
            A data frame's columns must be those of the one fitted on, in
            the same order (see ``feature_names``).

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs), of the model's ``dtype``
            float32, or float64 for a model fitted with ``dtype="float64"``.

        Raises
        ------
        ValueError
            If ``X`` is not 2-D, is empty, holds NaN/inf or has another number
            of features than the model, or if it is a data frame whose column
            names differ from ``feature_names`` or come in another order.

        Warns
        -----
        UserWarning
            If the model was fitted on a data frame and ``X`` has no column names
            (or the other way round), as scikit-learn warns; the columns are
            taken in order. An error would refuse ``predict(frame.to_numpy())``,
            a valid call; a wrong order of named columns is an error.

        Examples
        --------
        >>> from gluonlr import fit, synthetic_data
        >>> result = fit(*synthetic_data())
        >>> print(result.predict([[1.0, 1.0]]).round(1))
        [74.2]
        """
        return self._predict(X, "predict")

    def _predict(self, X: Any, where: str) -> np.ndarray:
        check_feature_names(X, self.feature_names, where, stacklevel=4)
        dtype = self.dtype
        X = check_X(X, where=where, n_features=self.n_features, dtype=dtype)
        weight, bias = np.asarray(self.weight, dtype=dtype), np.asarray(self.bias, dtype=dtype)
        predictions = []
        for start, (chunk,) in chunks(X):  # a memmap: one chunk in memory at a time
            check_finite("X", chunk, where, first_row=start)
            predictions.append(host.predict(chunk, weight, bias))
        return predictions[0] if len(predictions) == 1 else np.concatenate(predictions)

    def score(self, X: Any, y: Any) -> float:
        """Return the coefficient of determination R² of the predictions of ``X``, as scikit-learn's ``score``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        float
            :func:`gluonlr.metrics.r2_score`: 1 is a perfect fit; 0 is no
            better than predicting the mean; several outputs are averaged.

        Examples
        --------
        >>> from gluonlr import fit, synthetic_data
        >>> X, y = synthetic_data()
        >>> round(fit(X, y).score(X, y), 6)
        1.0
        """
        predictions = self._predict(X, "score")
        y = check_y(y, n_samples=len(predictions), where="score", dtype=self.dtype)
        if isinstance(y, Source):  # as many values as the predictions: read whole
            y = y.read(0, len(y))
        check_finite("y", y, "score")
        if y.shape[1:] != predictions.shape[1:]:
            raise ValueError(
                f"y passed to score has shape {y.shape}, but the model predicts {predictions.shape[1:] or 'one'} "
                "output(s) per sample."
            )
        return r2_score(y, predictions)
