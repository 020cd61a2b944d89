"""Run fit recording every epoch, and compare two runs value by value with messages that say where they part."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from gluonlr.callbacks import Callback
from gluonlr.data.prepare import resolve_dtype
from gluonlr.fit import PATHS, fit
from gluonlr.result import FitResult
from gluonlr.testing._reference import ReferenceResult, _standardization, reference_fit

__all__ = [
    "PATH_ATOL",
    "PATH_RTOL",
    "REFERENCE_ATOL",
    "REFERENCE_RTOL",
    "RecordedFit",
    "Trajectory",
    "assert_matches_reference",
    "assert_paths_agree",
    "assert_runs_agree",
    "record_fit",
]

#: Default tolerance between the two paths. Both run in float32 but apply the same operations in a slightly
#: different order (``nd.dot`` vs ``FullyConnected``, ``lr/d * g`` vs ``lr * (g/d)``), so they agree to a few
#: float32 ulps per step.
PATH_RTOL = 1e-5

#: Default tolerance between a path and the float64 reference: the float32 rounding of the data-sized sums adds
#: up over the steps.
REFERENCE_RTOL = 1e-4

#: The absolute part of a tolerance per value between the paths, ``PATH_ATOL + PATH_RTOL * max(|a|, |b|)``
#: (``assert_paths_agree(..., atol=PATH_ATOL)``): for values near zero, whose rounding is that of the larger
#: numbers they were computed from.
PATH_ATOL = 1e-6

#: The absolute part of a tolerance per value between a path and the reference, ``REFERENCE_ATOL +
#: REFERENCE_RTOL * max(|a|, |b|)`` (``assert_matches_reference(..., atol=REFERENCE_ATOL)``).
REFERENCE_ATOL = 1e-5

#: Arguments of fit that the reference has no use for (they change no result): they go to fit only.
_FIT_ONLY = ("path", "callbacks", "checkpoint", "resume", "verbose")


class Trajectory(Protocol):
    """What :func:`assert_runs_agree` compares: a run's parameters after each epoch, its history and result.

    :class:`RecordedFit` and :class:`ReferenceResult` are trajectories; so is any
    object with these attributes, e.g. a student's own training loop's.

    Examples
    --------
    One step of a hand-written loop on both samples from zero, as a trajectory:

    >>> from types import SimpleNamespace
    >>> X, y = np.array([[1.0], [2.0]]), np.array([1.0, 2.0])
    >>> w, b = np.zeros(1), 0.0
    >>> r = X @ w + b - y
    >>> loss = float(r @ r) / len(y)
    >>> w, b = w - 0.25 * 2 * X.T @ r, b - 0.25 * 2 * float(r.sum())
    >>> mine = SimpleNamespace(weight=w, bias=b, history={"loss": [loss]}, epoch_weights=[w], epoch_biases=[b])
    >>> expected = reference_fit(X, y, lr=0.25, batch_size=2, epochs=1, init_weight=[0.0], init_bias=0.0)
    >>> assert_runs_agree(mine, expected, rtol=1e-12, names=("mine", "reference"), same_history_keys=False)
    """

    @property
    def weight(self) -> Any:
        """The final weights, of shape (n_features,) or (n_features, n_outputs)."""

    @property
    def bias(self) -> Any:
        """The final bias: a float or one per output."""

    @property
    def history(self) -> Mapping[str, Sequence[float]]:
        """Per-epoch values by name, e.g. ``{"loss": [...]}``."""

    @property
    def epoch_weights(self) -> Sequence[Any]:
        """The weights after each epoch."""

    @property
    def epoch_biases(self) -> Sequence[Any]:
        """The bias after each epoch."""


@dataclass(frozen=True)
class RecordedFit:
    """A :class:`~gluonlr.FitResult` with the parameters after each of its epochs; see :func:`record_fit`.

    Attributes
    ----------
    result : FitResult
        What :func:`gluonlr.fit` returned.
    epoch_weights : list of ndarray
        The weights after each epoch this call trained.
    epoch_biases : list of float or ndarray
        The bias after each epoch this call trained.
    trained : Trajectory or None
        The same run in the units training updates the parameters in, those
        of the standardized features with ``fit(standardize=True)`` (the
        returned parameters after the epochs' own), or None if they are the
        units of ``X``.

    Examples
    --------
    >>> from gluonlr import synthetic_data
    >>> run = record_fit(*synthetic_data(n=20), epochs=2)
    >>> run.result.path, len(run.epoch_weights), run.epoch_weights[0].shape, run.trained
    ('manual', 2, (2,), None)
    """

    result: FitResult
    epoch_weights: list[np.ndarray] = field(default_factory=list)
    epoch_biases: list[float | np.ndarray] = field(default_factory=list)
    trained: Trajectory | None = None

    @property
    def weight(self) -> np.ndarray:
        """``result.weight``."""
        return self.result.weight

    @property
    def bias(self) -> Any:
        """``result.bias``."""
        return self.result.bias

    @property
    def history(self) -> dict[str, list[float]]:
        """``result.history``."""
        return self.result.history

    @property
    def path(self) -> str | None:
        """``result.path``."""
        return self.result.path


@dataclass(frozen=True)
class _Run:
    """A :class:`Trajectory` given by its attributes."""

    weight: Any
    bias: Any
    history: Mapping[str, Sequence[float]]
    epoch_weights: Sequence[Any]
    epoch_biases: Sequence[Any]


def _copy(parameters: tuple[np.ndarray, float | np.ndarray]) -> tuple[np.ndarray, float | np.ndarray]:
    weight, bias = parameters
    return np.array(weight, copy=True), bias if np.ndim(bias) == 0 else np.array(bias, copy=True)


class _EpochRecorder(Callback):
    """Keep a copy of the parameters after every epoch, and in the units training updates them."""

    def __init__(self) -> None:
        self.weights: list[np.ndarray] = []
        self.biases: list[float | np.ndarray] = []
        self.trained: list[tuple[np.ndarray, float | np.ndarray]] = []
        self.final: tuple[np.ndarray, float | np.ndarray] | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Append the current parameters."""
        weight, bias = _copy(self.run.get_parameters())
        self.weights.append(weight)
        self.biases.append(bias)
        self.trained.append(_copy(self.run.get_trained_parameters()))

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        """Keep the parameters fit returns, in the units training updates them."""
        self.final = _copy(self.run.get_trained_parameters())


def record_fit(X: Any, y: Any, **fit_kwargs: Any) -> RecordedFit:
    """Run :func:`gluonlr.fit`, recording the parameters after every epoch.

    A callback appended to ``fit_kwargs["callbacks"]`` (after the user's, if
    any) reads ``run.get_parameters()`` at the end of each epoch.

    Parameters
    ----------
    X, y : array-like
        The data, as for fit.
    **fit_kwargs
        Any arguments of fit.

    Returns
    -------
    RecordedFit

    Examples
    --------
    >>> from gluonlr import synthetic_data
    >>> run = record_fit(*synthetic_data(n=20), epochs=3, path="gluon")
    >>> len(run.epoch_weights), bool((run.epoch_weights[-1] == run.weight).all()), run.path
    (3, True, 'gluon')
    """
    recorder = _EpochRecorder()
    callbacks = [*(fit_kwargs.pop("callbacks", None) or []), recorder]
    result = fit(X, y, callbacks=callbacks, **fit_kwargs)
    trained = None
    if fit_kwargs.get("standardize") and recorder.final is not None:
        weights, biases = [weight for weight, _ in recorder.trained], [bias for _, bias in recorder.trained]
        trained = _Run(*recorder.final, result.history, weights, biases)
    return RecordedFit(result, recorder.weights, recorder.biases, trained)


# -- comparison ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """One compared number: where it is, the two values and the scale its difference is measured against."""

    label: str
    epoch: int | None  # from 0; None for the returned parameters
    actual: float
    desired: float
    scale: float
    group: str

    @property
    def difference(self) -> float:
        """``|actual - desired|``: 0 for equal values (NaN equals NaN), inf if only one is finite."""
        if self.actual == self.desired or (math.isnan(self.actual) and math.isnan(self.desired)):
            return 0.0
        difference = abs(self.actual - self.desired)
        return difference if math.isfinite(difference) else math.inf

    @property
    def relative(self) -> float:
        """``|actual - desired| / scale``."""
        return self.difference / self.scale

    @property
    def magnitude(self) -> float:
        """The larger magnitude of the two values (0 if neither is finite)."""
        finite = [abs(value) for value in (self.actual, self.desired) if math.isfinite(value)]
        return max(finite, default=0.0)


def _scale(*arrays: Any) -> float:
    """Return the largest finite magnitude among ``arrays``, at least 1."""
    values = np.concatenate([np.ravel(np.asarray(a, dtype=np.float64)) for a in arrays] + [np.ones(1)])
    return float(np.max(np.abs(values[np.isfinite(values)])))


def _entries(
    name: str, actual: Any, desired: Any, epoch: int | None, group: str, scale: float | None = None
) -> Iterator[_Entry]:
    """Yield the entries of two equal-shaped arrays (or scalars), labelled ``name[i, j]``."""
    a, d = np.asarray(actual, dtype=np.float64), np.asarray(desired, dtype=np.float64)
    if a.shape != d.shape:
        raise AssertionError(f"{group}: shapes differ, {a.shape} and {d.shape}.")
    scale = _scale(a, d) if scale is None else scale
    for index in np.ndindex(a.shape):
        label = f"{name}[{', '.join(map(str, index))}]" if index else name
        yield _Entry(label, epoch, float(a[index]), float(d[index]), scale, group)


def _history_order(keys: set[str]) -> list[str]:
    """Order the history keys as they arise within an epoch: the rate, the training loss, then the rest."""
    first = [key for key in ("lr", "loss") if key in keys]
    return first + sorted(keys - set(first))


def _compared_entries(actual: Trajectory, desired: Trajectory, keys: list[str], epochs: int) -> Iterator[_Entry]:
    """Every compared number, in the order a run produces them: epoch by epoch, then the returned parameters."""
    series_scale = {key: _scale(actual.history[key][:epochs], desired.history[key][:epochs]) for key in keys}

    def history(key: str, epoch: int) -> Iterator[_Entry]:
        yield from _entries(
            f"history[{key!r}][{epoch}]",
            actual.history[key][epoch],
            desired.history[key][epoch],
            epoch,
            f"history[{key!r}]",
            series_scale[key],
        )

    in_epoch = [key for key in keys if key in ("lr", "loss")]
    for epoch in range(epochs):
        for key in in_epoch:
            yield from history(key, epoch)
        for name, values in (("weight", "epoch_weights"), ("bias", "epoch_biases")):
            group = f"{name} after epoch {epoch + 1}"
            yield from _entries(name, getattr(actual, values)[epoch], getattr(desired, values)[epoch], epoch, group)
        for key in keys:
            if key not in in_epoch:
                yield from history(key, epoch)
    yield from _entries("weight", actual.weight, desired.weight, None, "the returned weight")
    yield from _entries("bias", actual.bias, desired.bias, None, "the returned bias")


def _where(entry: _Entry, epochs: int) -> str:
    if entry.epoch is None:
        return f"{entry.label} as returned"
    if entry.label.startswith("history"):
        return f"{entry.label} (epoch {entry.epoch + 1} of {epochs})"
    return f"{entry.label} after epoch {entry.epoch + 1} of {epochs}"


def assert_runs_agree(
    actual: Trajectory,
    desired: Trajectory,
    *,
    rtol: float,
    atol: float | None = None,
    names: tuple[str, str] = ("actual", "desired"),
    same_history_keys: bool = True,
    context: str = "",
) -> None:
    r"""Assert that two training runs agree, epoch by epoch, to ``rtol`` of each quantity's scale (or of each value).

    Compares, in the order a run produces them, each epoch's ``history["lr"]``
    and ``history["loss"]``, the weight and bias after the epoch and the other
    history values of the epoch, then the returned weight and bias. Two values
    :math:`a, b` agree when

    .. math:: |a - b| \le \mathrm{rtol} \cdot \mathrm{scale}

    where the scale is the largest magnitude of the quantity they belong to, at
    least 1: of the weight (or bias) vector after that epoch on either side, or
    of the whole series ``history[key]``. (Entries may be near zero; a
    tolerance relative to each entry alone would fail on rounding.)

    With ``atol``, each value is measured on its own instead:

    .. math:: |a - b| \le \mathrm{atol} + \mathrm{rtol} \cdot \max(|a|, |b|)

    which is stricter for the small entries of a vector whose largest entry is
    large (a bias next to large weights, a weight near zero): a bug that moves
    them a little is then not hidden by the vector's scale.

    Parameters
    ----------
    actual, desired : Trajectory
        E.g. :class:`RecordedFit` or :class:`ReferenceResult`.
    rtol : float
        The tolerance, relative to the scale (or, with ``atol``, to each value).
    atol : float, optional
        None (default): the tolerance is relative to the scale of each
        quantity, as above. A float: the absolute part of a tolerance per
        value, ``atol + rtol * max(|a|, |b|)``.
    names : (str, str), default=("actual", "desired")
        What to call the two runs in the message.
    same_history_keys : bool, default=True
        Require the same history keys; else compare the keys both have.
    context : str, default=""
        Appended to the message, e.g. the arguments that produced the runs.

    Raises
    ------
    AssertionError
        Naming the first value that differs (which quantity, which epoch, both
        values, the difference and its ratio to the scale or to its tolerance),
        how many differ and the largest difference; or the epochs or history
        keys that differ.

    Examples
    --------
    >>> from gluonlr import synthetic_data
    >>> X, y = synthetic_data(n=20)
    >>> run = record_fit(X, y, epochs=2)
    >>> assert_runs_agree(run, reference_fit(X, y, epochs=2), rtol=1e-4, same_history_keys=False)

    A run with a 1% larger learning rate:

    >>> assert_runs_agree(reference_fit(X, y, epochs=2, lr=0.0101), reference_fit(X, y, epochs=2),
    ...                   rtol=1e-4, names=("lr=0.0101", "lr=0.01"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    AssertionError: lr=0.0101 and lr=0.01 differ first at history['loss'][0] (epoch 1 of 2):
        lr=0.0101 = 1874.02339
        lr=0.01   = 1876.10592
        |difference| = 2.08, 0.00111 of the scale 1876 (rtol 0.0001; the scale: the largest magnitude in ...
      11 of 13 compared values differ; the largest relative difference is 0.00953, at weight[1] after epoch 1 of 2.

    Per value, a weight near zero that is off by 1e-3 fails even though the
    largest weight is 100:

    >>> from types import SimpleNamespace
    >>> def run(weight):
    ...     return SimpleNamespace(weight=weight, bias=0.0, history={}, epoch_weights=[weight], epoch_biases=[0.0])
    >>> assert_runs_agree(run([100.0, 0.011]), run([100.0, 0.01]), rtol=1e-4)  # 1e-3 <= 1e-4 * 100
    >>> assert_runs_agree(run([100.0, 0.011]), run([100.0, 0.01]), rtol=1e-4, atol=1e-6)
    Traceback (most recent call last):
    ...
    AssertionError: actual and desired differ first at weight[1] after epoch 1 of 1:
        actual  = 0.011
        desired = 0.01
        |difference| = 0.001, 476 times its tolerance 2.1e-06 (atol 1e-06 + rtol 0.0001 * 0.011, the larger magnitude)
      2 of 6 compared values differ; the largest, 476 times its tolerance, at weight[1] after epoch 1 of 1.
    """
    a_name, d_name = names
    problems = []
    epochs = min(len(actual.epoch_weights), len(desired.epoch_weights))
    if len(actual.epoch_weights) != len(desired.epoch_weights):
        problems.append(
            f"{a_name} recorded {len(actual.epoch_weights)} epochs, {d_name} {len(desired.epoch_weights)}; "
            f"the first {epochs} are compared."
        )
    a_keys, d_keys = set(actual.history), set(desired.history)
    if same_history_keys and a_keys != d_keys:
        problems.append(f"The history keys differ: {sorted(a_keys)} in {a_name}, {sorted(d_keys)} in {d_name}.")
    keys = _history_order(a_keys & d_keys)
    for key in keys:
        lengths = len(actual.history[key]), len(desired.history[key])
        if min(lengths) < epochs:
            problems.append(f"history[{key!r}] has {lengths[0]} values in {a_name}, {lengths[1]} in {d_name}.")
    keys = [key for key in keys if min(len(actual.history[key]), len(desired.history[key])) >= epochs]
    entries = list(_compared_entries(actual, desired, keys, epochs))

    def tolerance(entry: _Entry) -> float:
        return rtol * entry.scale if atol is None else atol + rtol * entry.magnitude

    def excess(entry: _Entry) -> float:  # the difference in tolerances (> 1 fails)
        allowed = tolerance(entry)
        return entry.difference / allowed if allowed > 0 else (0.0 if entry.difference == 0 else math.inf)

    failed = [entry for entry in entries if not entry.difference <= tolerance(entry)]
    if not failed and not problems:
        return
    lines = []
    if failed:
        first = failed[0]
        width = max(len(a_name), len(d_name))
        lines += [
            f"{a_name} and {d_name} differ first at {_where(first, epochs)}:",
            f"    {a_name:<{width}} = {first.actual:.9g}",
            f"    {d_name:<{width}} = {first.desired:.9g}",
        ]
        worst = max(failed, key=excess)
        if atol is None:
            lines += [
                f"    |difference| = {first.difference:.3g}, {first.relative:.3g} of the scale {first.scale:.4g} "
                f"(rtol {rtol:g}; the scale: the largest magnitude in {first.group}, at least 1)",
                f"  {len(failed)} of {len(entries)} compared values differ; the largest relative difference is "
                f"{worst.relative:.3g}, at {_where(worst, epochs)}.",
            ]
        else:
            lines += [
                f"    |difference| = {first.difference:.3g}, {excess(first):.3g} times its tolerance "
                f"{tolerance(first):.3g} (atol {atol:g} + rtol {rtol:g} * {first.magnitude:.4g}, the larger magnitude)",
                f"  {len(failed)} of {len(entries)} compared values differ; the largest, {excess(worst):.3g} times its "
                f"tolerance, at {_where(worst, epochs)}.",
            ]
    lines += [f"  {problem}" for problem in problems]
    if not failed:
        lines.insert(0, f"{a_name} and {d_name} differ:")
    if context:
        lines.append(f"  {context}")
    raise AssertionError("\n".join(lines))


def _describe(X: Any, y: Any, fit_kwargs: Mapping[str, Any]) -> str:
    """Describe the arguments of a fit, arrays by their shape, for the message of a failed comparison."""

    def short(value: Any) -> str:
        if isinstance(value, np.ndarray) or (isinstance(value, list | tuple) and len(value) > 5):
            array = np.asarray(value)
            return f"<{array.dtype} array of shape {array.shape}>"
        text = repr(value)
        return text if len(text) <= 80 else text[:77] + "..."

    arguments = [f"X={short(X)}", f"y={short(y)}"] + [f"{key}={short(value)}" for key, value in fit_kwargs.items()]
    return "fit arguments: " + ", ".join(arguments)


def assert_paths_agree(
    X: Any, y: Any, rtol: float = PATH_RTOL, *, atol: float | None = None, **fit_kwargs: Any
) -> tuple[RecordedFit, ...]:
    """Assert that every training path gives the same run as the manual path, epoch by epoch.

    Fits ``X, y`` on each path of :data:`gluonlr.PATHS` with the same
    arguments, recording the parameters after every epoch (:func:`record_fit`),
    and compares each with the first path (``"manual"``) by
    :func:`assert_runs_agree`: every epoch's history values and parameters,
    then the returned parameters, with the same history keys.

    Parameters
    ----------
    X, y : array-like
        The data, as for :func:`gluonlr.fit`.
    rtol : float, default=1e-5
        Tolerance relative to each quantity's scale (the largest magnitude
        involved, at least 1); see :data:`PATH_RTOL`.
    atol : float, optional
        If given, each value is compared on its own, to ``atol + rtol *
        max(|a|, |b|)``, as in :func:`assert_runs_agree`; see
        :data:`PATH_ATOL`.
    **fit_kwargs
        Any arguments of fit but ``path``. With ``standardize=True`` the
        parameters are compared in the units of the standardized features
        (``RecordedFit.trained``), as training updates them: in those of
        ``X`` the bias is a difference of terms that can be far larger than
        itself, and so its round-off.

    Returns
    -------
    tuple of RecordedFit
        The runs, in the order of :data:`gluonlr.PATHS`, for further checks.

    Raises
    ------
    AssertionError
        Saying which value (``weight[i]``, ``bias``, ``history["loss"][e]``,
        ...) differs first, after which epoch, the two values, their
        difference and its ratio to the scale, with the fit arguments.
    TypeError
        If ``path`` is given.

    Examples
    --------
    >>> from gluonlr import synthetic_data
    >>> X, y = synthetic_data(n=30)
    >>> manual, gluon = assert_paths_agree(X, y, loss="l2", reduction="mean", epochs=2)
    >>> manual.path, gluon.path, len(gluon.epoch_weights)
    ('manual', 'gluon', 2)
    """
    if "path" in fit_kwargs:
        raise TypeError("assert_paths_agree fits every path itself; do not pass 'path'.")
    runs = tuple(record_fit(X, y, path=path, **fit_kwargs) for path in PATHS)
    first = runs[0]
    for run in runs[1:]:
        assert_runs_agree(
            run.trained or run,
            first.trained or first,
            rtol=rtol,
            atol=atol,
            names=(str(run.path), str(first.path)),
            context=_describe(X, y, fit_kwargs) + (_IN_TRAINED_UNITS if first.trained else ""),
        )
    return runs


def assert_matches_reference(
    X: Any, y: Any, rtol: float = REFERENCE_RTOL, *, atol: float | None = None, path: str = "manual", **fit_kwargs: Any
) -> tuple[RecordedFit, ReferenceResult]:
    """Assert that a path's run matches :func:`reference_fit`, the float64 numpy reference, epoch by epoch.

    Fits ``X, y`` on ``path`` recording the parameters after every epoch, runs
    the reference with the same arguments (all but ``path``, ``callbacks``,
    ``checkpoint``, ``resume`` and ``verbose``), and compares them with
    :func:`assert_runs_agree` over the history keys both have.

    Parameters
    ----------
    X, y : array-like
        The data, as for :func:`gluonlr.fit`.
    rtol : float, default=1e-4
        Tolerance relative to each quantity's scale; see :data:`REFERENCE_RTOL`.
    atol : float, optional
        If given, each value is compared on its own, to ``atol + rtol *
        max(|a|, |b|)``, as in :func:`assert_runs_agree`; see
        :data:`REFERENCE_ATOL`.
    path : str, default="manual"
        The path to check.
    **fit_kwargs
        Any arguments of fit but ``early_stopping``, which the reference does
        not implement (compare the paths with :func:`assert_paths_agree`).
        With ``lr="auto"`` the reference trains with the rate fit chose
        (``FitResult.lr``): it checks the training, not the choice. With
        ``standardize=True`` the parameters are compared in the units of the
        standardized features, as training updates them: in those of ``X`` the
        bias is a difference of terms that can be far larger than itself.

    Returns
    -------
    (RecordedFit, ReferenceResult)
        The two runs, for further checks.

    Raises
    ------
    AssertionError
        Saying which value differs first, after which epoch, by how much.

    Examples
    --------
    >>> from gluonlr import synthetic_data
    >>> run, expected = assert_matches_reference(*synthetic_data(n=30), path="gluon", epochs=2, batch_size=7)
    >>> float(abs(run.weight - expected.weight).max()) < 1e-4
    True
    """
    if fit_kwargs.get("early_stopping"):
        raise ValueError(
            "assert_matches_reference: the reference has no early stopping; check it between the paths with "
            "assert_paths_agree instead, or fit without it."
        )
    recorded = record_fit(X, y, path=path, **fit_kwargs)
    reference_kwargs = {key: value for key, value in fit_kwargs.items() if key not in _FIT_ONLY}
    if reference_kwargs.get("lr") == "auto":  # the reference trains with the rate fit chose (FitResult.lr)
        reference_kwargs["lr"] = recorded.result.lr
    expected = reference_fit(X, y, **reference_kwargs)
    dtype = resolve_dtype(reference_kwargs.get("dtype", "float32"), X, y)
    assert_runs_agree(
        recorded.trained or recorded,
        _in_trained_units(expected, X, reference_kwargs, dtype) if recorded.trained else expected,
        rtol=rtol,
        atol=atol,
        names=(path, "reference"),
        same_history_keys=False,
        context=_describe(X, y, {"path": path, **fit_kwargs}) + (_IN_TRAINED_UNITS if recorded.trained else ""),
    )
    return recorded, expected


#: What a failed comparison of a fit with standardize=True adds to its message.
_IN_TRAINED_UNITS = (
    "; with standardize=True the parameters are compared as training updates them, in the units of the "
    "standardized features (in those of X the bias is b' - mean . w, a difference of terms up to |mean| / std "
    "times larger than the model's own)"
)


def _in_trained_units(
    run: ReferenceResult, X: Any, fit_kwargs: Mapping[str, Any], dtype: str = "float32"
) -> Trajectory:
    """Return the reference ``run`` in the units of the standardized features: ``w * std``, ``b + mean . w``.

    The mean and standard deviation are the reference's, of the training rows (all of ``X`` with
    ``validation_data``, the first ``int(n * (1 - validation_split))`` otherwise); in float64 the conversion
    loses nothing the comparison could see. ``dtype`` is the fit's, which ``X`` is rounded to.
    """
    X = np.asarray(X, dtype=dtype).astype(np.float64)
    split = fit_kwargs.get("validation_split") or 0.0
    n_train = int(len(X) * (1.0 - split)) if fit_kwargs.get("validation_data") is None else len(X)
    centre = fit_kwargs.get("fit_intercept", True)  # without a bias the standardization only scales: mean 0
    stats = _standardization(X[:n_train], np.dtype(dtype), centre)
    mean, inverse = (values.astype(np.float64) for values in stats)

    def convert(weight: Any, bias: Any) -> tuple[np.ndarray, Any]:
        weight = np.asarray(weight, dtype=np.float64)
        return weight / (inverse if weight.ndim == 1 else inverse[:, None]), bias + mean @ weight

    epochs = [convert(weight, bias) for weight, bias in zip(run.epoch_weights, run.epoch_biases, strict=True)]
    return _Run(*convert(run.weight, run.bias), run.history, [w for w, _ in epochs], [b for _, b in epochs])
