"""Hypothesis strategies for regression data sets and for the arguments of :func:`gluonlr.fit`.

Needs hypothesis, an optional dependency: from a clone, ``pip install ".[testing]"``.

By default :func:`fit_configs` draws only the options of fit's first release
(both losses and reductions, batch sizes, epochs, seeds and a stable learning
rate); the later options are each switched on by a parameter, so a test of a
fit that lacks them keeps passing. For instance::

    fit_configs(X, losses=ALL_LOSSES, optimizers=OPTIMIZERS, schedules=SCHEDULES,
                weight_decay=True, sample_weight=True, validation=True, metrics=METRICS, standardize=True)

or, the same, ``fit_configs(X, **ALL_OPTIONS)``.

Examples
--------
A property test of your own training loop against the reference:

>>> from hypothesis import given, settings, strategies as st
>>> from gluonlr.testing import assert_runs_agree, reference_fit
>>> @settings(max_examples=5, deadline=None, derandomize=True)
... @given(data=st.data(), dataset=datasets(max_samples=20))
... def test_reference_is_deterministic(data, dataset):
...     X, y = dataset
...     config = data.draw(fit_configs(X))
...     assert_runs_agree(reference_fit(X, y, **config), reference_fit(X, y, **config), rtol=0)
>>> test_reference_is_deterministic()
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as error:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "gluonlr.testing.strategies needs hypothesis, an optional dependency of gluonlr: pip install hypothesis, "
        "or, from a clone of gluonlr, pip install '.[testing]'"
    ) from error

from gluonlr.testing._reference import METRICS as _METRICS
from gluonlr.testing._reference import _standardization, _standardized, stable_lr
from gluonlr.testing._storage import STORAGES

__all__ = [
    "ALL_LOSSES",
    "ALL_OPTIONS",
    "CONDITIONINGS",
    "METRICS",
    "OPTIMIZERS",
    "PENALTIES",
    "SCHEDULES",
    "datasets",
    "fit_configs",
    "stable_lr",
    "storages",
]

#: Every loss name of fit; the default of :func:`fit_configs` is the first two, the others came later.
ALL_LOSSES = ("squared", "l2", "l1", "huber")

#: What :func:`fit_configs` may draw with ``optimizers=``: plain SGD, SGD with momentum, Nesterov's (MXNet's
#: ``NAG``) and Adam.
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam")

#: What :func:`fit_configs` may draw with ``schedules=``.
SCHEDULES = ("constant", "step", "cosine", "invscaling")

#: The metric names fit records.
METRICS = tuple(_METRICS)

#: :func:`fit_configs`'s opt-ins, all on: every loss, optimizer and schedule, weight decay, sample weights,
#: validation, every metric, standardized features, no intercept, rows in order and the penalties.
#: ``fit_configs(X, **ALL_OPTIONS)``.
ALL_OPTIONS: dict[str, Any] = {
    "losses": ALL_LOSSES,
    "optimizers": OPTIMIZERS,
    "schedules": SCHEDULES,
    "weight_decay": True,
    "sample_weight": True,
    "validation": True,
    "metrics": METRICS,
    "standardize": True,
    "fit_intercept": True,
    "shuffle": True,
    "penalty": True,
    "average": True,
}

#: The penalties :func:`fit_configs` may draw with ``penalty=True``: scikit-learn's.
PENALTIES = ("l2", "l1", "elasticnet")

#: The column structures :func:`datasets` may draw.
CONDITIONINGS = ("well", "correlated", "ill-scaled")


def _elements(dtype: np.dtype[Any], low: float, high: float) -> st.SearchStrategy[float]:
    """Draw floats in ``[low, high]`` exactly representable in ``dtype`` (float32 for integer and float32 data).

    Each is 0 or at least 1e-6 in magnitude: MXNet's float32 kernels flush
    subnormal results to zero, where a float64 reference keeps them, and at
    the kink of the L1 loss that alone can turn a step around. Data on the
    scale of 1e-38 is not what these strategies are for.
    """
    floats = st.floats(low, high, width=64 if dtype == np.float64 else 32)
    return floats.map(lambda value: 0.0 if abs(value) < 1e-6 else value)


def _zero_or(low: float, high: float) -> st.SearchStrategy[float]:
    """Draw 0 or a float in ``[low, high]``: MXNet's operators reject hyper-parameters that underflow float32."""
    return st.one_of(st.just(0.0), st.floats(low, high))


@st.composite
def _features(draw: st.DrawFn, n: int, d: int, conditioning: str, dtype: np.dtype[Any]) -> np.ndarray:
    """Draw an (n, d) float64 matrix with the column structure ``conditioning``."""
    if conditioning == "correlated":
        # Columns that differ by at most 0.01 (exact copies when it shrinks to 0): X^T X nearly singular.
        base = draw(hnp.arrays(np.float64, (n, 1), elements=_elements(dtype, -2, 2)))
        return base + 0.01 * draw(hnp.arrays(np.float64, (n, d), elements=_elements(dtype, -1, 1)))
    X = draw(hnp.arrays(np.float64, (n, d), elements=_elements(dtype, -2, 2)))
    if conditioning == "ill-scaled":
        # Columns on scales from 0.01 to 100.
        return X * 10.0 ** draw(hnp.arrays(np.int64, (d,), elements=st.integers(-2, 2)))
    return X


def storages(kinds: Sequence[str] = STORAGES) -> st.SearchStrategy[str]:
    """Draw a storage of the data, one of :data:`~gluonlr.testing.STORAGES`, for :func:`~gluonlr.testing.store`.

    Examples
    --------
    >>> import tempfile
    >>> from hypothesis import given, settings
    >>> from gluonlr import fit, synthetic_data
    >>> from gluonlr.testing import store
    >>> X, y = synthetic_data(n=20)
    >>> expected = fit(X, y, epochs=1)
    >>> @settings(max_examples=4, deadline=None, derandomize=True)
    ... @given(storages())
    ... def test_storage_changes_nothing(storage):
    ...     with tempfile.TemporaryDirectory() as directory:
    ...         result = fit(store(X, storage, directory), y, epochs=1)
    ...     assert (result.weight == expected.weight).all() and result.history == expected.history
    >>> test_storage_changes_nothing()
    """
    return st.sampled_from(tuple(kinds))


@st.composite
def datasets(
    draw: st.DrawFn,
    *,
    min_samples: int = 1,
    max_samples: int = 200,
    min_features: int = 1,
    max_features: int = 5,
    min_outputs: int = 1,
    max_outputs: int = 1,
    noise: float | None = None,
    conditioning: Sequence[str] = ("well",),
    dtypes: Sequence[Any] = (np.float32,),
) -> tuple[np.ndarray, np.ndarray]:
    """Draw a regression data set ``(X, y)``.

    Parameters
    ----------
    min_samples, max_samples : int, default=1, 200
        Bounds of the number of samples ``n``.
    min_features, max_features : int, default=1, 5
        Bounds of the number of features ``d``.
    min_outputs, max_outputs : int, default=1, 1
        Bounds of the number of outputs ``k``: ``y`` has shape ``(n,)`` for
        ``k = 1``, ``(n, k)`` for ``k >= 2``.
    noise : float, optional
        None (default): ``y`` is drawn independently of ``X``, in [-10, 10]
        (the worst case for agreement: large residuals throughout). A float:
        ``y = X w + b + noise * e`` with ``w`` drawn in [-5, 5], ``b`` in
        [-10, 10] and ``e`` in [-3, 3].
    conditioning : sequence of {"well", "correlated", "ill-scaled"}, default=("well",)
        Column structures to draw from: ``"well"``, entries in [-2, 2];
        ``"correlated"``, columns within 0.01 of one another (copies when it
        shrinks to zero), a nearly singular ``X^T X``; ``"ill-scaled"``,
        columns on scales from 0.01 to 100.
    dtypes : sequence of dtype, default=(numpy.float32,)
        Data types to draw from, e.g. ``(np.float32, np.float64, np.int64)``;
        integer data is rounded. ``X`` and ``y`` share it.

    Returns
    -------
    SearchStrategy of (ndarray, ndarray)

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10, deadline=None, derandomize=True)
    ... @given(datasets(max_samples=9, min_outputs=2, max_outputs=3, noise=0.1, conditioning=CONDITIONINGS,
    ...                 dtypes=(np.float32, np.float64, np.int32)))
    ... def test_shapes(dataset):
    ...     X, y = dataset
    ...     assert y.shape[0] == X.shape[0] and y.shape[1] in (2, 3) and X.dtype == y.dtype
    >>> test_shapes()
    """
    n = draw(st.integers(min_samples, max_samples))
    d = draw(st.integers(min_features, max_features))
    k = draw(st.integers(min_outputs, max_outputs))
    dtype = np.dtype(draw(st.sampled_from(list(dtypes))))
    X = draw(_features(n, d, draw(st.sampled_from(list(conditioning))), dtype))
    shape = (n,) if k == 1 else (n, k)
    if noise is None:
        y = draw(hnp.arrays(np.float64, shape, elements=_elements(dtype, -10, 10)))
    else:
        w = draw(hnp.arrays(np.float64, (d, k), elements=st.floats(-5, 5)))
        b = draw(hnp.arrays(np.float64, (k,), elements=st.floats(-10, 10)))
        e = draw(hnp.arrays(np.float64, (n, k), elements=st.floats(-3, 3)))
        y = (X @ w + b + noise * e).reshape(shape)
    if dtype.kind in "iu":
        X, y = np.rint(X), np.rint(y)
    return X.astype(dtype), y.astype(dtype)


def _gluonlr_schedule(name: str, params: dict[str, Any]) -> Any:
    """Return fit's ``lr_schedule`` for a drawn schedule: the name, or a :mod:`gluonlr.schedules` object."""
    if name == "constant":
        return name
    schedules = importlib.import_module("gluonlr.schedules")
    return getattr(schedules, {"step": "StepDecay", "cosine": "Cosine", "invscaling": "InverseScaling"}[name])(**params)


@st.composite
def fit_configs(
    draw: st.DrawFn,
    X: Any,
    y: Any = None,
    *,
    losses: Sequence[str] = ("squared", "l2"),
    reductions: Sequence[str] = ("sum", "mean"),
    min_epochs: int = 1,
    max_epochs: int = 3,
    optimizers: Sequence[str] | None = None,
    schedules: Sequence[str] | None = None,
    weight_decay: bool | str = False,
    sample_weight: bool = False,
    validation: bool = False,
    metrics: Sequence[str] | None = None,
    init_params: bool = False,
    make_schedule: Callable[[str, dict[str, Any]], Any] = _gluonlr_schedule,
    standardize: bool = False,
    fit_intercept: bool = False,
    shuffle: bool = False,
    penalty: bool = False,
    average: bool = False,
) -> dict[str, Any]:
    """Draw keyword arguments for :func:`gluonlr.fit` on ``X``, with a learning rate that keeps training stable.

    Always drawn: ``loss``, ``reduction``, ``batch_size`` (1 to ``n + 3``:
    one batch, several, a short last one), ``epochs``, ``seed`` (any 32-bit)
    and ``lr``, a fraction in [0.01, 1] of :func:`~gluonlr.testing.stable_lr`'s bound. Each
    other option is drawn only when its parameter switches it on, and then
    sometimes left at fit's default.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The features the configuration is for.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs), optional
        The targets; only their number of outputs is read, for the shape of
        ``init_weight`` (one output if not given).
    losses : sequence of str, default=("squared", "l2")
        Loss names to draw from, e.g. :data:`ALL_LOSSES`; ``"huber"`` comes
        with a ``rho`` in [0.1, 5].
    reductions : sequence of str, default=("sum", "mean")
    min_epochs, max_epochs : int, default=1, 3
    optimizers : sequence of str, optional
        Draw ``optimizer`` (and ``momentum``, ``nesterov``) from names of
        :data:`OPTIMIZERS`: ``"sgd"``; ``"momentum"``, SGD with a momentum of 0
        or in [0.01, 0.95]; ``"nesterov"``, a momentum in [0.01, 0.95] with
        ``nesterov=True``; ``"adam"``.
    schedules : sequence of str, optional
        Draw ``lr_schedule`` from names of :data:`SCHEDULES`: ``"step"`` with
        ``step_epochs`` in [1, max_epochs] and ``factor`` in [0.1, 1],
        ``"cosine"`` with ``final_lr`` 0 or in [0.001 lr, lr].
    weight_decay : bool or "strong", default=False
        True: draw ``weight_decay`` (sometimes), 0 or in [1e-6, 0.1].
        ``"strong"``: always draw it, between 0.01 and 1 times the curvature
        bound :math:`L` of :func:`~gluonlr.testing.stable_lr` (without decay),
        so that each step's decay, ``lr * weight_decay``, is up to half the
        drawn fraction: a decay that shows in every step, where a fixed one is
        lost next to the curvature of a large summed batch. (Either way the
        learning rate allows for it.)
    sample_weight : bool, default=False
        Draw a ``sample_weight`` array of 0 or values in [1e-3, 2], not all 0 on
        the samples trained on (the learning rate allows for it).
    validation : bool, default=False
        Draw a ``validation_split`` that leaves at least one row on each side
        (data sets of two samples or more).
    metrics : sequence of str, optional
        Draw ``metrics``, a list of distinct names from these, e.g.
        :data:`METRICS`.
    init_params : bool, default=False
        Draw a starting point away from fit's default (weights ``N(0, 1)``
        from the seed, bias 0): ``init_weight`` with entries in [-10, 10] and
        ``init_bias`` in [-10, 10] (one per output for several), each
        sometimes left at the default. Bugs that scale with the parameters
        (weight decay, a state that reads the weight) then show from the
        first step. The learning rate does not depend on the start.
    standardize : bool, default=False
        Draw ``standardize`` (True or False); the learning rate then allows
        for the standardized training rows instead of ``X``.
    fit_intercept : bool, default=False
        Draw ``fit_intercept`` (sometimes False: no bias, no ``init_bias``
        drawn, and a standardization that only scales).
    shuffle : bool, default=False
        Draw ``shuffle`` (sometimes False: every epoch in the rows' order).
    penalty : bool, default=False
        Draw ``penalty`` (sometimes) from :data:`PENALTIES`, with ``alpha``
        in [1e-6, 0.1] and, for ``"elasticnet"``, ``l1_ratio`` 0, 1 or in [0.01, 1];
        ``"l1"`` and ``"elasticnet"`` only with plain SGD, and no penalty
        beside a ``weight_decay`` drawn (its other name; none with
        ``weight_decay="strong"``). The learning rate allows for the L2 part.
    average : bool, default=False
        Draw ``average`` (sometimes): True, or the sample from which to
        average, in [1, samples x epochs + 1] (the last: never reached, so the
        model is the last step's).
    make_schedule : callable, optional
        Turns a drawn schedule ``(name, params)`` into the value of
        ``lr_schedule``. By default ``"constant"`` stays a string and the others
        become :mod:`gluonlr.schedules` objects; ``lambda name, params: (name,
        params)`` gives the form only :func:`~gluonlr.testing.reference_fit`
        reads.

    Returns
    -------
    SearchStrategy of dict

    Examples
    --------
    >>> from hypothesis import given, settings, strategies as st
    >>> X = np.ones((7, 2))
    >>> @settings(max_examples=10, deadline=None, derandomize=True)
    ... @given(st.data())
    ... def test_configs(data):
    ...     config = data.draw(fit_configs(X, losses=ALL_LOSSES, optimizers=("momentum",), sample_weight=True))
    ...     assert 1 <= config["batch_size"] <= 10 and config["optimizer"] == "sgd"
    ...     assert config["sample_weight"].shape == (7,) and config["lr"] > 0
    >>> test_configs()

    A starting point for data with two outputs:

    >>> @settings(max_examples=10, deadline=None, derandomize=True)
    ... @given(st.data())
    ... def test_starts(data):
    ...     config = data.draw(fit_configs(X, np.ones((7, 2)), init_params=True))
    ...     assert config.get("init_weight", np.ones((2, 2))).shape == (2, 2)
    ...     assert np.shape(config.get("init_bias", [0, 0])) == (2,)
    >>> test_starts()
    """
    X = np.asarray(X)
    n = X.shape[0]
    config, fraction = _draw_basics(draw, n, losses, reductions, min_epochs, max_epochs)
    if optimizers is not None:
        config.update(_draw_optimizer(draw, optimizers))
    decay_share = draw(st.floats(0.01, 1.0)) if weight_decay == "strong" else None
    config.update(_draw_penalties(draw, config, weight_decay is True, penalty and decay_share is None))
    n_train, split = _draw_validation(draw, n) if validation else (n, {})
    config.update(split)
    if sample_weight:
        config["sample_weight"] = _draw_sample_weight(draw, n, n_train)
    if metrics is not None:
        config["metrics"] = draw(st.lists(st.sampled_from(list(metrics)), unique=True))
    config.update(_draw_switches(draw, n * config["epochs"], fit_intercept, shuffle, average))
    if standardize and draw(st.booleans()):
        config["standardize"] = True
    bound = _rate_bound(_seen_features(X, n_train, config), config)
    if decay_share is not None:
        config["weight_decay"] = decay_share / bound(fraction=1.0)  # a share of the curvature bound 1 / lr
    config["lr"] = bound(
        fraction=fraction, weight_decay=_weights_decay(config), optimizer=config.get("optimizer", "sgd")
    )
    if schedules is not None:
        name, params = _draw_schedule(draw, schedules, max_epochs, config["lr"])
        config["lr_schedule"] = make_schedule(name, params)
    if init_params:  # drawn last: a test without it draws what it drew before
        config.update(_draw_start(draw, X, y, bias=config.get("fit_intercept", True)))
    return config


def _draw_basics(
    draw: st.DrawFn, n: int, losses: Sequence[str], reductions: Sequence[str], min_epochs: int, max_epochs: int
) -> tuple[dict[str, Any], float]:
    """Draw the options always drawn (``rho`` with Huber's loss) and the fraction of the stable rate to train at."""
    config: dict[str, Any] = {
        "loss": draw(st.sampled_from(list(losses))),
        "reduction": draw(st.sampled_from(list(reductions))),
        "batch_size": draw(st.integers(1, n + 3)),
    }
    fraction = draw(st.floats(0.01, 1.0))
    config["epochs"] = draw(st.integers(min_epochs, max_epochs))
    config["seed"] = draw(st.integers(0, 2**32 - 1))
    if config["loss"] == "huber":
        config["rho"] = draw(st.floats(0.1, 5.0))
    return config, fraction


def _draw_penalties(draw: st.DrawFn, config: dict[str, Any], weight_decay: bool, penalty: bool) -> dict[str, Any]:
    """Draw ``weight_decay`` (sometimes) if asked, then, if asked and no decay was drawn, ``penalty`` (sometimes).

    A penalty comes with ``alpha`` and, for ``"elasticnet"``, ``l1_ratio``; ``"l1"`` and ``"elasticnet"`` only
    with plain SGD, read from the optimizer already drawn in ``config``.
    """
    drawn: dict[str, Any] = {}
    if weight_decay and draw(st.booleans()):
        drawn["weight_decay"] = draw(_zero_or(1e-6, 0.1))
    if penalty and not drawn.get("weight_decay") and draw(st.booleans()):
        plain = config.get("optimizer", "sgd") == "sgd" and not config.get("momentum")
        drawn["penalty"] = draw(st.sampled_from(list(PENALTIES) if plain else ["l2"]))
        drawn["alpha"] = draw(st.floats(1e-6, 0.1))
        if drawn["penalty"] == "elasticnet":
            drawn["l1_ratio"] = draw(st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.01, 1.0)))
    return drawn


def _draw_validation(draw: st.DrawFn, n: int) -> tuple[int, dict[str, Any]]:
    """Draw (sometimes) a ``validation_split`` leaving a row on each side; return the training rows and it."""
    if n >= 2 and draw(st.booleans()):
        n_val = draw(st.integers(1, n - 1))
        split = (n_val - 0.5) / n  # int(n * (1 - split)) = n - n_val, safe from rounding
        return n - n_val, {"validation_split": split}
    return n, {}


def _draw_switches(draw: st.DrawFn, samples: int, fit_intercept: bool, shuffle: bool, average: bool) -> dict[str, Any]:
    """Draw the switches asked for, each sometimes: ``fit_intercept=False``, ``shuffle=False``, ``average``.

    ``average`` is True or a sample in [1, ``samples`` + 1], ``samples`` those a run sees (samples x epochs).
    """
    drawn: dict[str, Any] = {}
    if fit_intercept and draw(st.booleans()):  # drawn only when asked: a test without it draws as before
        drawn["fit_intercept"] = False
    if shuffle and draw(st.booleans()):
        drawn["shuffle"] = False
    if average and draw(st.booleans()):
        drawn["average"] = draw(st.one_of(st.just(True), st.integers(1, samples + 1)))
    return drawn


def _seen_features(X: np.ndarray, n_train: int, config: dict[str, Any]) -> np.ndarray:
    """Return the features training sees: ``X``, standardized by its first ``n_train`` rows if ``config`` says so."""
    if not config.get("standardize"):
        return X
    stats = _standardization(X[:n_train].astype(np.float32).astype(float), centre=config.get("fit_intercept", True))
    return _standardized(X.astype(np.float64), *stats)


def _rate_bound(seen: np.ndarray, config: dict[str, Any]) -> Callable[..., float]:
    """Return :func:`~gluonlr.testing.stable_lr` on the features ``seen`` for ``config``, open in the rest."""
    return functools.partial(
        stable_lr,
        seen,
        loss=config["loss"],
        reduction=config["reduction"],
        batch_size=config["batch_size"],
        rho=config.get("rho", 1.0),
        sample_weight=config.get("sample_weight"),
    )


def _weights_decay(config: dict[str, Any]) -> float:
    """Return the L2 decay of the weights in ``config``, by either name: ``weight_decay`` and the penalty's part."""
    l2 = {"l2": 1.0, "elasticnet": 1.0 - config.get("l1_ratio", 0.15)}.get(config.get("penalty", ""), 0.0)
    return config.get("weight_decay", 0.0) + l2 * config.get("alpha", 0.0)


def _draw_optimizer(draw: st.DrawFn, optimizers: Sequence[str]) -> dict[str, Any]:
    """Draw ``optimizer`` (and ``momentum``, ``nesterov``) from names of :data:`OPTIMIZERS`."""
    kind = draw(st.sampled_from(list(optimizers)))
    config: dict[str, Any] = {"optimizer": "adam" if kind == "adam" else "sgd"}
    if kind == "momentum":
        config["momentum"] = draw(_zero_or(0.01, 0.95))
    if kind == "nesterov":
        config["momentum"], config["nesterov"] = draw(st.floats(0.01, 0.95)), True
    return config


def _draw_sample_weight(draw: st.DrawFn, n: int, n_train: int) -> np.ndarray:
    """Draw ``n`` sample weights, 0 or in [1e-3, 2], not all 0 on the first ``n_train`` (those trained on)."""
    # 0 or at least 1e-3: the learning rate scales with 1 / the largest weight, and float32 holds no rate
    # of 1e40 (fit refuses one)
    weight_values = st.floats(0, 2, width=32).map(lambda value: 0.0 if value < 1e-3 else value)
    weights = draw(hnp.arrays(np.float32, (n,), elements=weight_values))
    if not weights[:n_train].any():  # fit refuses all-zero weights where it trains: nothing to learn from
        weights[draw(st.integers(0, n_train - 1))] = 1.0
    return weights


def _draw_schedule(draw: st.DrawFn, schedules: Sequence[str], max_epochs: int, lr: float) -> tuple[str, dict[str, Any]]:
    """Draw a schedule's name from ``schedules`` and its parameters."""
    name = draw(st.sampled_from(list(schedules)))
    params: dict[str, Any] = {}
    if name == "step":
        params = {"step_epochs": draw(st.integers(1, max_epochs)), "factor": draw(st.floats(0.1, 1.0))}
    elif name == "cosine":
        params = {"final_lr": lr * draw(_zero_or(1e-3, 1.0))}
    elif name == "invscaling":
        params = {"power_t": draw(_zero_or(0.01, 1.0))}
    return name, params


def _draw_start(draw: st.DrawFn, X: Any, y: Any, bias: bool = True) -> dict[str, Any]:
    """Draw ``init_weight`` and ``init_bias`` (if ``bias``) in [-10, 10], each sometimes left at fit's default."""
    n_outputs = 1 if y is None or np.ndim(y) == 1 else np.shape(y)[1]
    shape = (X.shape[1],) if n_outputs == 1 else (X.shape[1], n_outputs)
    starts = _elements(np.dtype(np.float32), -10, 10)
    config: dict[str, Any] = {}
    if draw(st.booleans()):
        config["init_weight"] = draw(hnp.arrays(np.float32, shape, elements=starts))
    if bias and draw(st.booleans()):
        biases = starts if n_outputs == 1 else hnp.arrays(np.float32, (n_outputs,), elements=starts)
        config["init_bias"] = draw(biases)
    return config
