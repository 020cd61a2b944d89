"""The divergence guard: a growing or overflowing loss stops the run with an error; one worse than the mean warns."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from gluonlr._validation import check_float
from gluonlr.callbacks.base import Callback
from gluonlr.data.sources import chunks
from gluonlr.errors import DivergenceError, WorseThanMeanWarning


class DivergenceGuard(Callback):
    """Raise :class:`~gluonlr.errors.DivergenceError` when training diverges or ends far worse than it began.

    The yardstick is the *starting level*: the largest of the loss of the
    initial parameters (one forward pass over the training data before the
    first epoch), the loss of predicting 0, and 1. After each epoch the guard
    raises if

    * the loss or the parameters are NaN or infinite;
    * the loss exploded to over ``factor`` times the starting level;
    * the loss rose ``patience`` epochs in a row (the first epoch compared with
      the initial parameters' loss) to over ``growth`` times the starting level.

    At the end of training (not after a Ctrl-C) a second forward pass measures
    the loss of the parameters ``fit`` returns: over ``growth`` times the
    starting level, training made the model far worse than where it began, and
    the guard raises rather than return it.

    Then it holds that loss against a yardstick that does not depend on where
    training started: the loss of predicting the (sample-weighted) mean of
    ``y``, measured before the first epoch. A model above it (for the squared
    loss: a training R² below 0) is worse than no model at all; the guard
    warns with :class:`~gluonlr.WorseThanMeanWarning`, saying what to
    change, and the result's ``converged`` is False. (A warning, not an error:
    the run did not diverge, and an epoch or two from a far start, as
    ``partial_fit`` takes, may well end there; the warning names what went
    wrong, as :class:`~gluonlr.errors.ConvergenceWarning` does.) The starting
    level grows with the initial weights (``init="normal"`` over 5,000
    features starts thousands of times above the mean's loss), so it can only
    say whether training diverged, never whether the model is any good.

    Why the margins: near its optimum, SGD jitters, and momentum and Adam may
    raise the loss for an epoch or two before converging; at a learning rate
    that keeps training stable, neither takes the loss to ``growth`` times the
    start. The floor of 1 keeps a start that is already an exact fit (a loss
    near 0) from making the jitter that follows look like growth; a loss below
    ``growth`` is never called divergence unless it is NaN or infinite.

    If the initial parameters' loss is already infinite, the data's scale
    overflows float32 (values around 1e20, whose squares exceed float32's
    largest value): the guard raises before the first step, and the message
    names what to scale (see :func:`data_overflow`). Every check reads from the
    device once per epoch, never once per batch; the guard keeps a copy of the
    last finite parameters for the error.

    Parameters
    ----------
    factor : float, default=1e6
        How many times the starting level the loss may reach in any epoch.
    patience : int, default=3
        How many epochs in a row the loss may rise while above ``growth``
        times the starting level.
    growth : float, default=10.0
        How many times the starting level the loss may end at, or rise above.

    Examples
    --------
    >>> from gluonlr import DivergenceError, fit, synthetic_data
    >>> X, y = synthetic_data()
    >>> try:  # one batch of all 300 samples: lr 0.01 on the summed gradient overshoots
    ...     fit(X, y, batch_size=300, epochs=3)
    ... except DivergenceError as error:
    ...     print(error.epoch, len(error.history["loss"]))
    2 3
    >>> try:  # a stricter guard than fit's own
    ...     fit(X, y, lr=0.1, callbacks=[DivergenceGuard(factor=100)])
    ... except DivergenceError as error:
    ...     print(error.epoch, len(error.history["loss"]))
    0 1
    """

    priority = -300

    #: How far above the mean's loss (relatively) the fitted loss may end before the guard warns: float32's
    #: rounding of the losses, and SGD's jitter around a model no better than the mean (a target without signal).
    worse_than_mean_rtol = 1e-4

    def __init__(self, factor: float = 1e6, patience: int = 3, growth: float = 10.0) -> None:
        self.factor = check_float("factor", factor, low=1.0, where="DivergenceGuard")
        self.growth = check_float("growth", growth, low=1.0, where="DivergenceGuard")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"The 'patience' parameter of DivergenceGuard must be an int >= 1. Got {patience!r}.")
        self.patience = patience

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        """Measure the starting level: one forward pass with the initial parameters (and one predicting 0)."""
        self.initial = self.last_finite = self.run.get_parameters()
        self.last_finite_name = "the initial ones"
        initial_loss, zero_loss = self.run.loss(), self.run.loss(zero_model=True)
        self.mean_loss = self.run.loss(mean_model=True)  # the yardstick of the fitted model, whatever the start
        self.level = max(initial_loss, zero_loss, 1.0)
        self.previous, self.rises = initial_loss, 0
        if not np.isfinite([initial_loss, zero_loss]).all():  # max() would hide a NaN behind 1.0
            finite = all(np.isfinite(_largest(data)) for data in (self.run.X, self.run.y))
            raise self._error(
                self.run.initial_epoch,
                f"Training cannot start: the loss of the initial parameters is already {initial_loss:g}",
                advice=None
                if finite
                else "The data holds NaN or infinity: fit(check_input=True), the default, finds the first bad row "
                "before training.",
            )

    def get_state(self) -> dict[str, Any]:
        """Return the starting level and the rise so far, which a resumed run continues from."""
        return {"level": self.level, "previous": self.previous, "rises": self.rises}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`get_state` from a checkpoint."""
        self.level, self.previous, self.rises = float(state["level"]), float(state["previous"]), int(state["rises"])

    def check_parameters(self, epoch: int) -> None:
        """Raise if the parameters are NaN or infinite (after a Ctrl-C, the epoch it cut short)."""
        self.on_epoch_end(epoch, {})

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Raise if a log value or a parameter is NaN or infinite, or the loss exploded or kept rising."""
        weight, bias = self.run.get_parameters()
        problems = [f"the {key} became {value}" for key, value in logs.items() if not np.isfinite(value)]
        if not problems and "loss" in logs:
            loss = logs["loss"]
            self.rises = self.rises + 1 if loss > self.previous else 0
            self.previous = loss
            if loss > self.factor * self.level:
                problems.append(f"the loss grew to {loss:.3g}, over {self.factor:g} times its start ({self.level:.3g})")
            elif self.rises >= self.patience and loss > self.growth * self.level:
                problems.append(
                    f"the loss rose {self.rises} epochs in a row, to {loss:.3g}, "
                    f"{loss / self.level:.3g} times its start ({self.level:.3g})"
                )
        if not (np.isfinite(weight).all() and np.isfinite(bias).all()):
            problems.append("the parameters became NaN or infinite")
        if problems:
            raise self._error(
                epoch, f"Training diverged in epoch {epoch + 1}/{self.run.epochs}: {' and '.join(problems)}"
            )
        self.last_finite, self.last_finite_name = (weight, bias), f"after epoch {epoch + 1}"

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        """Raise if the parameters fit returns have a loss over ``growth`` times the start.

        After a Ctrl-C, only if they are NaN or infinite: an epoch cut short is no measure of the fit.
        """
        if self.run.interrupted:
            self.check_parameters(self.run.epoch)
            return
        final = self.run.loss()
        if final <= self.growth * self.level:
            self._check_against_the_mean(final)
            return
        self.last_finite, self.last_finite_name = self.run.get_parameters(), "the fitted ones"
        raise self._error(
            max(len(self.run.history.get("loss", ())) - 1, 0),
            f"Training diverged: the loss of the fitted parameters is {final}"
            if not np.isfinite(final)
            else f"Training diverged: the loss of the fitted parameters, {final:.3g}, is {final / self.level:.3g} "
            f"times its start ({self.level:.3g}, the loss of the initial parameters)",
        )

    def _check_against_the_mean(self, final: float) -> None:
        """Warn (and mark the run not converged) if the fitted loss ``final`` is above the mean's."""
        mean_loss = self.mean_loss
        if not mean_loss > 0 or final <= mean_loss * (1 + self.worse_than_mean_rtol):
            return  # a constant target (the mean is exact, R² undefined), or a model at least as good as the mean
        self.run.converged = False
        params = self.run.params
        r2 = f" (training R² {1 - final / mean_loss:.4g})" if params.get("loss") in ("squared", "l2") else ""
        advice = []
        if params.get("init") == "normal":
            n_features = len(self.initial[0])
            advice.append(
                f"it started from w ~ N(0, 1) (init='normal', the article's), far from the mean over {n_features} "
                "feature(s): init='zeros' with standardize_target=True starts at the mean"
            )
        if not (params.get("standardize") and params.get("lr") == "auto"):
            advice.append("standardize=True with lr='auto' picks a rate that trains")
        from gluonlr.options import OPTIONS  # options imports this module

        def users(name: str) -> str:
            return f"{name}={OPTIONS[name].default_on('estimator')!r}"

        if self.run.stop_reason:  # a stop before the last epoch (tol, early stopping): more epochs would not run
            advice.append(
                f"training stopped before its last epoch ({self.run.stop_reason}): a smaller tol (or tol=None), "
                "or a longer patience, trains longer"
            )
        else:
            until = f", with {users('tol')} to stop once the loss stops improving" if params.get("tol") is None else ""
            advice.append(f"train longer (epochs={self.run.epochs}{until})")
        defaults = ", ".join(
            users(name) for name in ("standardize", "standardize_target", "lr", "reduction", "init", "tol")
        )
        warnings.warn(
            WorseThanMeanWarning(
                f"The fitted model is worse than predicting the mean of y: its training loss, {final:.4g}, is above "
                f"the mean's, {mean_loss:.4g}{r2}. It has not converged: {'; '.join(advice)}. The estimator's and "
                f"gluonlr fit FILE's defaults ({defaults}) fit ordinary data."
            ),
            stacklevel=6,  # _check_against_the_mean < on_train_end < loop.train < train_to_result < fit < the caller
        )

    def _advice(self) -> str:
        """Say what to change: the data's scale if it overflows the model's dtype, else the lr or X's scale."""
        overflow = data_overflow(self.run.X, self.run.y, *self.initial, dtype=self.run.get_learner().config.dtype)
        if overflow:
            return f"{overflow} A smaller lr cannot help."
        lr = self.run.get_learner().config.lr  # the rate lr="auto" chose, if that was the argument
        given = "lr='auto' chose" if self.run.params["lr"] == "auto" else "it is"
        return f"Try a smaller lr ({given} {lr}; e.g. {lr / 10:g}) or scale the features of X (standardize=True)."

    def _error(self, epoch: int, what: str, advice: str | None = None) -> DivergenceError:
        weight, bias = self.last_finite
        return DivergenceError(
            f"{what}. {advice or self._advice()} This error's .history holds the epochs so far; .weight and .bias "
            f"hold the last finite parameters ({self.last_finite_name}).",
            epoch=epoch,
            history={key: list(values) for key, values in self.run.history.items()},
            weight=weight,
            bias=bias,
        )


def _largest(array: Any) -> float:
    """Return ``max |array|``, reading an array or a :class:`~gluonlr.data.Source` in chunks."""
    return max(float(np.abs(chunk).max()) for _, (chunk,) in chunks(array))


def data_overflow(X: Any, y: Any, weight: np.ndarray, bias: float | np.ndarray, dtype: str = "float32") -> str | None:
    """Say which of ``X`` and ``y`` is too large for ``dtype`` (the model's) to sum its squared errors, or return None.

    Squared errors of values beyond ``sqrt(float32 max / n) / 2``, summed over
    ``n`` samples, can exceed float32's largest value (3.4e38); in float64,
    beyond ``sqrt(1.8e308 / n) / 2``.
    ``X`` counts by the predictions of the initial parameters ``weight`` and
    ``bias``, bounded by ``max|X| * sum|weight| + max|bias|``. ``X`` and
    ``y`` may be :class:`~gluonlr.data.Source`: read in chunks.

    Examples
    --------
    >>> import numpy as np
    >>> X, y = np.ones((300, 2), np.float32), np.full(300, 1e20, np.float32)
    >>> print(data_overflow(X, y, np.ones(2), 0.0))  # doctest: +NORMALIZE_WHITESPACE
    The data's scale overflows float32: y reaches 1e+20; squared errors of values beyond 5.3e+17, summed over the
    300 samples, exceed float32's largest value (3.4e+38). Scale y (e.g. divide it by its standard deviation, and
    multiply the predictions back).
    >>> data_overflow(X, np.ones(300), np.ones(2), 0.0) is None
    True
    """
    n = len(X)
    largest = float(np.finfo(dtype).max)
    limit = np.sqrt(largest / n) / 2
    with np.errstate(over="ignore"):
        y_scale = _largest(y)
        weights = np.abs(np.asarray(weight, np.float64)).reshape(len(weight), -1).sum(axis=0).max()
        x_scale = _largest(X)
        prediction_scale = x_scale * float(weights) + float(np.abs(np.asarray(bias, np.float64)).max())
    large, fixes = [], []
    if x_scale >= limit or prediction_scale >= limit:
        large.append(f"X reaches {x_scale:.3g} (the initial predictions up to {prediction_scale:.3g})")
        fixes.append("standardize the features of X ((X - X.mean(0)) / X.std(0))")
    if y_scale >= limit:
        large.append(f"y reaches {y_scale:.3g}")
        fixes.append("scale y (e.g. divide it by its standard deviation, and multiply the predictions back)")
    if not large:
        return None
    fix = " and ".join(fixes)
    return (
        f"The data's scale overflows {dtype}: {' and '.join(large)}; squared errors of values beyond {limit:.2g}, "
        f"summed over the {n} samples, exceed {dtype}'s largest value ({largest:.2g}). {fix[0].upper()}{fix[1:]}."
    )
