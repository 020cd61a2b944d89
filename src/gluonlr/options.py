"""The options of :func:`gluonlr.fit`, declared once: :data:`OPTIONS`.

Each :class:`Option` says its name, default, constraint, one line of help and
on which surfaces it appears. From this one table come

- fit's value checks (:func:`check_options`: each option's constraint, with
  scikit-learn's message formula, then the few rules across options written
  out);
- :class:`~gluonlr.config.FitConfig`, the options a learner is built from
  (:func:`make_config`);
- the arguments a checkpoint records and a resumed run must repeat
  (:func:`record`);
- the command line's flags and their help (:data:`gluonlr.cli.options.FIT_FLAGS`);
- the estimator's parameters and the reasons for those it lacks
  (:mod:`gluonlr.sklearn`);
- the options of :func:`gluonlr.testing.reference_fit`.

Python signatures are explicit, for readers, IDEs and mypy: ``fit``'s, the
estimator's ``__init__`` (scikit-learn reads its parameters from it) and the
reference's. ``tests/test_option_table.py`` checks that each lists exactly the
table's options of its surface, in the table's order, with the table's
defaults. Adding an option is one entry here, its parameter in those
signatures, and its implementation: see :doc:`/architecture`.

Examples
--------
>>> OPTIONS["batch_size"].default, OPTIONS["batch_size"].help
(10, 'samples per batch, or auto (all the rows up to 65,536, else n/64)')
>>> OPTIONS["momentum"].check(0.9)
0.9
>>> OPTIONS["momentum"].check(1.0)
Traceback (most recent call last):
...
ValueError: The 'momentum' parameter of fit must be a float in [0, 1) (also as a float32). Got 1.0 instead.
"""

from __future__ import annotations

import math
import numbers
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gluonlr._validation import check_choice, check_float, check_int
from gluonlr.callbacks import Callback, EarlyStopping, as_callback
from gluonlr.conventions import DTYPES, LOSSES, PATH_NAMES, REDUCTIONS
from gluonlr.distributed import DIST_KVSTORES, LOCAL_KVSTORES
from gluonlr.errors import CheckpointError
from gluonlr.metrics import METRICS, UserMetric, check_metrics, metric_names
from gluonlr.optimizers import OPTIMIZERS, PENALTIES
from gluonlr.parallel import check_ctx
from gluonlr.persistence import PathLike, check_checkpoint, checkpoint_files
from gluonlr.scaling import check_lr
from gluonlr.schedules import SCHEDULES, make_schedule

__all__ = [
    "OPTIONS",
    "SURFACES",
    "USER_DEFAULT_REASONS",
    "USER_SURFACES",
    "Boolean",
    "Choice",
    "Integer",
    "Option",
    "Real",
    "Rule",
    "check_monitor",
    "check_options",
    "make_config",
    "options_of",
    "record",
    "resolve_batch_size",
]

#: The surfaces for users' own data, the estimator and ``gluonlr fit FILE``: their defaults are the options'
#: ``user_default`` where one is declared (settings that converge on ordinary data), else fit's (the article's).
USER_SURFACES = ("estimator", "cli")

#: Why each ``user_default`` differs from fit's (the article's) default: the docs' table of the two sets of
#: defaults (:doc:`/your-data`) is made from the table of options and these reasons, and
#: ``tests/test_option_table.py`` checks that every option with a ``user_default`` has one.
USER_DEFAULT_REASONS: dict[str, str] = {
    "reduction": "the step no longer grows with the batch, so one rate suits any batch size (scikit-learn's and "
    "Gluon's Trainer's convention); the article sums the batch's gradient",
    "lr": "a stable rate from the data (its curvature, the loss, the batch, the optimizer); the article's 0.01 "
    "suits its data, and diverges on features in other units",
    "standardize": "features in their own units (years, mm Hg) differ in scale by orders of magnitude, and no "
    "one rate suits them all; the model is reported in the units of X",
    "standardize_target": "the loss, the rate and tol mean the same on every data set (the mean's loss is 1); "
    "the model is reported in the units of y",
    "batch_size": "MXNet costs about 100 µs a step whatever the batch: all the rows in one step (up to 65,536 "
    "rows and 64 MiB; 64 steps an epoch on more) takes fewer steps than the article's batches of 10, and a constant "
    "rate then converges to the fit, not to a noise band around it",
    "epochs": "a cap, not a count: training stops when the loss stops improving by tol",
    "tol": "stop once the loss stops improving, as scikit-learn's SGDRegressor, and warn when it never does; "
    "1e-5 of the standardized target's variance lets gradient descent on ill-conditioned data run on (16 x 6 "
    "longley: R2 0.9869, 0.9859 with 1e-4); the article runs its 10 epochs",
    "dtype": "float64 data stay float64 (in float32, y = 1e7 + X w leaves the weights off by about 0.01); "
    "float32 data, integers and CSV files stay float32",
    "init": "with a standardized target, zero weights predict the mean from the start, however many features; "
    "the article's N(0, 1) over 5,000 features starts thousands of times above the mean's loss",
}

#: Where an option can appear besides :func:`gluonlr.fit`: the estimator's parameters, the command line's
#: flags, the float64 reference's options, the arguments a checkpoint records, :class:`~gluonlr.config.FitConfig`.
SURFACES = ("estimator", "cli", "reference", "record", "config")


# --- Constraints: what values an option takes, each with scikit-learn's message formula -----------------------


@dataclass(frozen=True)
class Choice:
    """One of ``choices`` (strings).

    Examples
    --------
    >>> Choice(("sum", "mean")).check("loss", "max")
    Traceback (most recent call last):
    ...
    ValueError: The 'loss' parameter of fit must be one of 'sum', 'mean'. Got 'max' instead.
    """

    choices: tuple[str, ...]

    def check(self, name: str, value: Any, where: str = "fit") -> str:
        """Return ``value`` if it is one of the choices, else raise ``ValueError``."""
        return check_choice(name, value, self.choices, where)

    def describe(self) -> str:
        """Say what the constraint allows, for the docs."""
        return "one of " + ", ".join(f"``{choice!r}``" for choice in self.choices)


@dataclass(frozen=True)
class Integer:
    """An int ``>= low`` (bools refused).

    Examples
    --------
    >>> Integer(1).check("epochs", 0)
    Traceback (most recent call last):
    ...
    ValueError: The 'epochs' parameter of fit must be an int >= 1. Got 0 instead.
    """

    low: int

    def check(self, name: str, value: Any, where: str = "fit") -> int:
        """Return ``value`` as an int, else raise ``ValueError``."""
        return check_int(name, value, self.low, where)

    def describe(self) -> str:
        """Say what the constraint allows, for the docs."""
        return f"an int >= {self.low}"


@dataclass(frozen=True)
class Real:
    """A real number in ``[low, high)`` that float32 can hold; ``low_open`` and ``high_closed`` change the ends.

    Examples
    --------
    >>> Real(0.0, low_open=True).check("rho", 0)
    Traceback (most recent call last):
    ...
    ValueError: The 'rho' parameter of fit must be a float in (0, inf). Got 0 instead.
    """

    low: float
    high: float = math.inf
    low_open: bool = False
    high_closed: bool = False

    def check(self, name: str, value: Any, where: str = "fit") -> float:
        """Return ``value`` as a float, else raise ``ValueError``."""
        return check_float(
            name, value, low=self.low, high=self.high, low_open=self.low_open, high_closed=self.high_closed, where=where
        )

    def describe(self) -> str:
        """Say what the constraint allows, for the docs."""
        opening, closing = "(" if self.low_open else "[", "]" if self.high_closed else ")"
        return f"a float in {opening}{self.low:g}, {self.high:g}{closing}"


@dataclass(frozen=True)
class Boolean:
    """True or False (numpy's bools too).

    Examples
    --------
    >>> Boolean().check("nesterov", "yes")
    Traceback (most recent call last):
    ...
    ValueError: The 'nesterov' parameter of fit must be True or False. Got 'yes' instead.
    """

    def check(self, name: str, value: Any, where: str = "fit") -> bool:
        """Return ``value`` as a bool, else raise ``ValueError``."""
        if not isinstance(value, bool | np.bool_):
            raise ValueError(f"The {name!r} parameter of {where} must be True or False. Got {value!r} instead.")
        return bool(value)

    def describe(self) -> str:
        """Say what the constraint allows, for the docs."""
        return "True or False"


@dataclass(frozen=True)
class Rule:
    """A check written out, for an option whose values are objects, files or data.

    ``function(value)`` returns the checked value or raises; ``text`` says
    what it allows. A :class:`Rule` with ``function=None`` is checked where
    the data is (``init_weight`` needs the number of features, ``sample_weight``
    the number of samples).

    Examples
    --------
    >>> Rule("a name in upper case", str.upper).check("name", "sgd")
    'SGD'
    >>> Rule("an array of shape (n_features,)").check("init_weight", [1.0, 2.0])  # checked with the data
    [1.0, 2.0]
    """

    text: str
    function: Callable[[Any], Any] | None = None

    def check(self, name: str, value: Any, where: str = "fit") -> Any:
        """Return ``function(value)``, or ``value`` itself when the option is checked with the data."""
        return value if self.function is None else self.function(value)

    def describe(self) -> str:
        """Say what the constraint allows, for the docs."""
        return self.text


Constraint = Choice | Integer | Real | Boolean | Rule


# --- Rules of the options whose values are objects -----------------------------------------------------------


#: The smallest batch of ``batch_size="auto"`` on data larger than one batch: enough rows that MXNet's ~100 µs per
#: step is spread thin.
AUTO_BATCH_SIZE = 256

#: ``batch_size="auto"`` trains on all the rows at once (one step an epoch: gradient descent) up to this many
#: rows whose float64 bytes (rows x features x 8) are at most :data:`AUTO_FULL_BATCH_BYTES`. MXNet costs about
#: the same a step whatever the batch, and a whole-data step has no sampling noise: a constant rate then
#: converges to the least-squares fit instead of a noise band around it (statsmodels' fair data, 6,366 x 8:
#: R2 0.0428 with batches of 256, 0.0548 = least squares whole; randhie, 20,190 x 9: 0.0559 against 0.0687).
AUTO_FULL_BATCH_ROWS = 65_536
AUTO_FULL_BATCH_BYTES = 64 << 20

#: ``batch_size="auto"`` on more rows: batches of ``ceil(n / AUTO_BATCHES)`` rows (at least
#: :data:`AUTO_BATCH_SIZE`), this many an epoch (the last as long as the others, to 63 rows). Larger batches than
#: 256 there take fewer steps an epoch (MXNet's cost a step, not the rows, is most of the time) and leave less
#: noise in the model a constant rate ends with (1e5 x 100, users' data benchmark: R2 0.0095 below least squares
#: with batches of 256, 0.003 with 1,563); 64 steps an epoch still give the tolerance's test an epoch's worth of
#: progress to measure.
AUTO_BATCHES = 64


def _batch_size(batch_size: Any) -> int | str:
    if isinstance(batch_size, str) and batch_size == "auto":
        return "auto"
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(
            f"The 'batch_size' parameter of fit must be an int >= 1 or 'auto'. Got {batch_size!r} instead."
        )
    return int(batch_size)


def resolve_batch_size(batch_size: int | str, n_samples: int, n_features: int = 1) -> int:
    """Return the batch size of ``batch_size`` (an int, or ``"auto"``) for ``n_samples`` rows of ``n_features``.

    ``"auto"``: all the rows, when there are at most :data:`AUTO_FULL_BATCH_ROWS` (65,536) and they take at
    most :data:`AUTO_FULL_BATCH_BYTES` (64 MiB) in float64; else ``ceil(n_samples / AUTO_BATCHES)`` rows (64
    batches an epoch), at least :data:`AUTO_BATCH_SIZE` (256).

    Examples
    --------
    >>> resolve_batch_size("auto", 442, 10), resolve_batch_size("auto", 20_190, 9)
    (442, 20190)
    >>> resolve_batch_size("auto", 2_000, 5_000)  # 80 MB in float64: batches
    256

    >>> resolve_batch_size("auto", 100_000, 100), resolve_batch_size("auto", 1_000_000, 100)
    (1563, 15625)
    >>> resolve_batch_size(10, 30)
    10
    """
    if batch_size != "auto":
        return int(batch_size)
    if n_samples <= AUTO_FULL_BATCH_ROWS and n_samples * max(n_features, 1) * 8 <= AUTO_FULL_BATCH_BYTES:
        return max(n_samples, 1)
    return min(n_samples, max(AUTO_BATCH_SIZE, -(-n_samples // AUTO_BATCHES)))


def _penalty(penalty: Any) -> str | None:
    if penalty is not None and (not isinstance(penalty, str) or penalty not in PENALTIES):
        raise ValueError(
            f"The 'penalty' parameter of fit must be None or one of {', '.join(map(repr, PENALTIES))}. "
            f"Got {penalty!r} instead."
        )
    return penalty


def _average(average: Any) -> bool | int:
    if isinstance(average, bool | np.bool_):
        return bool(average)
    if not isinstance(average, numbers.Integral) or average < 1:
        raise ValueError(
            f"The 'average' parameter of fit must be True, False or an int >= 1 (the sample from which to "
            f"average). Got {average!r} instead."
        )
    return int(average)


def _tol(tol: Any) -> float | None:
    return None if tol is None else check_float("tol", tol, low=0.0)


def _callbacks(callbacks: Any) -> list[Callback]:
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback) or not isinstance(callbacks, Sequence) or isinstance(callbacks, str):
        raise TypeError(
            "The 'callbacks' parameter of fit must be a list of gluonlr.callbacks.Callback or of objects with "
            f"on_epoch_end and the like (Keras' methods). Got {type(callbacks).__name__} instead."
        )
    return [as_callback(callback) for callback in callbacks]


def _metrics(metrics: Any) -> tuple[str | UserMetric, ...]:
    return check_metrics(metrics)


def _early_stopping(early_stopping: Any) -> EarlyStopping | None:
    if early_stopping is False or early_stopping is None:
        return None
    stopper = EarlyStopping() if early_stopping is True else early_stopping
    if not isinstance(stopper, EarlyStopping):
        raise TypeError(
            "The 'early_stopping' parameter of fit must be True, False or a gluonlr.callbacks.EarlyStopping. "
            f"Got {early_stopping!r} instead."
        )
    return stopper


def _verbose(verbose: Any) -> bool:
    """Return whether to show a progress bar."""
    if verbose == "auto":
        return sys.stderr is not None and (sys.stderr.isatty() or "ipykernel" in sys.modules)
    if verbose in (0, 1) and not isinstance(verbose, float):
        return bool(verbose)
    raise ValueError(f"The 'verbose' parameter of fit must be 'auto', 0 or 1. Got {verbose!r} instead.")


def _checkpoint(checkpoint: Any) -> PathLike | None:
    if checkpoint is not None:
        check_checkpoint(checkpoint)  # can its files be written? Now, not after the first epoch
    return checkpoint


def _resume(resume: Any) -> bool | PathLike | None:
    if resume is not None and not isinstance(resume, bool) and not isinstance(resume, str | os.PathLike):
        raise TypeError(
            f"The 'resume' parameter of fit must be True, False, None or a checkpoint path. Got {resume!r} instead."
        )
    return resume


def _kvstore(kvstore: Any) -> Any:
    """Check the kind of store only: joining a ``dist_sync`` job is the last step before training."""
    from gluonlr.distributed import check_kvstore_kind

    check_kvstore_kind(kvstore)
    return kvstore


# --- The table ----------------------------------------------------------------------------------------------


class _Fits:
    """The ``user_default`` of an option whose default is fit's on every surface."""

    def __repr__(self) -> str:
        return "fit's"


_FITS = _Fits()


@dataclass(frozen=True)
class Option:
    """One option of :func:`gluonlr.fit`.

    Attributes
    ----------
    name : str
        The parameter's name, the same on every surface.
    default : object
        Its default in ``fit`` (the estimator's and the reference's too).
    constraint : Choice, Integer, Real, Boolean or Rule
        What values it takes; :meth:`check` applies it.
    help : str
        One line: what it does (the command line's help, the docs' table).
    not_on : dict of str to str
        The surfaces of :data:`SURFACES` it is not on, each with the reason.
    metavar : str, optional
        The value's name in the command line's usage.
    flag_default : object, optional
        The flag's default when ``fit``'s is None but a name says the same
        (``--lr-schedule constant``).
    user_default : object, optional
        The default on the surfaces for users' own data (:data:`USER_SURFACES`),
        where it differs from fit's, which stays the article's.
    sklearn_name : str, optional
        scikit-learn's ``SGDRegressor`` name for the same setting, where it
        differs (``max_iter`` for ``epochs``): the estimator names gluonlr's
        when given scikit-learn's (:data:`gluonlr.sklearn.RENAMED`).

    Examples
    --------
    >>> option = Option("epochs", 10, Integer(1), "passes over the data", {"reference": "a reason"})
    >>> option.check(3), option.on("cli"), option.on("reference")
    (3, True, False)
    """

    name: str
    default: Any
    constraint: Constraint
    help: str
    not_on: Mapping[str, str] = field(default_factory=dict)
    metavar: str | None = None
    flag_default: Any = None
    user_default: Any = _FITS
    sklearn_name: str | None = None

    def default_on(self, surface: str) -> Any:
        """Return the option's default on ``surface``: its ``user_default`` on the users' data surfaces, if any.

        Examples
        --------
        >>> OPTIONS["reduction"].default_on("estimator"), OPTIONS["reduction"].default_on("reference")
        ('mean', 'sum')
        """
        if surface in USER_SURFACES and self.user_default is not _FITS:
            return self.user_default
        if not self.on(surface) and surface != "fit":
            raise ValueError(f"The option {self.name!r} is not on the surface {surface!r}: {self.not_on[surface]}.")
        return self.default

    def check(self, value: Any, where: str = "fit") -> Any:
        """Return ``value`` checked (and normalised), or raise ``ValueError``/``TypeError`` naming the option."""
        return self.constraint.check(self.name, value, where)

    def on(self, surface: str) -> bool:
        """Whether the option appears on ``surface`` (one of :data:`SURFACES`)."""
        if surface not in SURFACES:
            raise ValueError(f"surface must be one of {SURFACES}. Got {surface!r} instead.")
        return surface not in self.not_on


_DATA = "data, not a setting"
_NOT_CONFIG = "not a learner's setting"
_RUN = "how this run is carried out, not what it computes: a resumed run may change it"
_PYTHON_ONLY = "Python objects: call gluonlr.fit from Python"

_OPTION_LIST: tuple[Option, ...] = (
    Option(
        "path",
        "manual",
        Choice(PATH_NAMES),
        "the training path",
        {"reference": "the reference is one float64 computation of both", "record": _RUN, "config": _NOT_CONFIG},
    ),
    Option("loss", "squared", Choice(LOSSES), "per-sample loss"),
    Option("rho", 1.0, Real(0.0, low_open=True), "where the huber loss turns linear, > 0", metavar="RHO"),
    Option(
        "reduction",
        "sum",
        Choice(REDUCTIONS),
        "what a batch's summed gradient is divided by: nothing or its size",
        user_default="mean",
    ),
    Option(
        "lr",
        0.01,
        Rule("a float > 0 that float32 can hold, or ``'auto'``", check_lr),
        "learning rate, > 0, or auto: a stable rate from the data",
        metavar="LR",
        user_default="auto",
        sklearn_name="eta0",
    ),
    Option(
        "standardize",
        False,
        Boolean(),
        "train on standardized features; the model is in the data's units",
        {"config": "the learner trains on standardized batches through gluonlr.scaling.Standardized"},
        user_default=True,
    ),
    Option(
        "standardize_target",
        False,
        Boolean(),
        "train on the target standardized; the model is in its units",
        {"config": "fit standardizes y before the learner sees it"},
        user_default=True,
    ),
    Option(
        "batch_size",
        10,
        Rule(
            f"an int >= 1, or ``'auto'``: all the rows when there are at most {AUTO_FULL_BATCH_ROWS:,} "
            f"(and {AUTO_FULL_BATCH_BYTES >> 20} MiB in float64), else {AUTO_BATCHES} batches an epoch of at "
            f"least {AUTO_BATCH_SIZE} rows",
            _batch_size,
        ),
        f"samples per batch, or auto (all the rows up to {AUTO_FULL_BATCH_ROWS:,}, else n/{AUTO_BATCHES})",
        metavar="N",
        user_default="auto",
    ),
    Option(
        "epochs",
        10,
        Integer(1),
        "passes over the data (the most, with tol)",
        metavar="N",
        user_default=1000,
        sklearn_name="max_iter",
    ),
    Option(
        "tol",
        None,
        Rule("None or a float >= 0", _tol),
        "stop when the loss has not improved by tol for n_iter_no_change epochs (none: run every epoch)",
        {"config": "the loop's Convergence callback reads it"},
        metavar="TOL",
        user_default=1e-5,
    ),
    Option(
        "n_iter_no_change",
        5,
        Integer(1),
        "epochs without an improvement of tol before training stops",
        {"config": "the loop's Convergence callback reads it"},
        metavar="N",
    ),
    Option(
        "seed", 0, Integer(0), "seed of the initial weights and the shuffles", metavar="N", sklearn_name="random_state"
    ),
    Option("shuffle", True, Boolean(), "shuffle the rows every epoch, by the seed's permutation; off: in their order"),
    Option(
        "init",
        "normal",
        Choice(("normal", "zeros")),
        "initial weights without init_weight: N(0, 1) from the seed (the article's) or zeros (scikit-learn's)",
        {"config": "the initial parameters are the learner's arguments"},
        user_default="zeros",
    ),
    Option(
        "fit_intercept",
        True,
        Boolean(),
        "fit a bias (intercept); off: the model is x . w, its bias 0, and standardizing only scales",
    ),
    Option("optimizer", "sgd", Choice(OPTIMIZERS), "the optimizer"),
    Option("momentum", 0.0, Real(0.0, 1.0), "momentum of sgd, in [0, 1)", metavar="M"),
    Option("nesterov", False, Boolean(), "Nesterov momentum (sgd with --momentum > 0)"),
    Option("beta1", 0.9, Real(0.0, 1.0), "adam's first decay rate, in [0, 1)", metavar="B"),
    Option("beta2", 0.999, Real(0.0, 1.0), "adam's second decay rate, in [0, 1)", metavar="B"),
    Option("epsilon", 1e-8, Real(0.0, low_open=True), "adam's epsilon, > 0", metavar="EPS"),
    Option(
        "penalty",
        None,
        Rule("None, " + ", ".join(f"``{name!r}``" for name in PENALTIES), _penalty),
        "scikit-learn's penalty of the weights (never the bias): l2, l1 or elasticnet",
        metavar="{none,l2,l1,elasticnet}",
    ),
    Option("alpha", 0.0001, Real(0.0), "the penalty's strength, >= 0 (scikit-learn's alpha)", metavar="ALPHA"),
    Option(
        "l1_ratio",
        0.15,
        Real(0.0, 1.0, high_closed=True),
        "elasticnet's share of L1, in [0, 1] (scikit-learn's l1_ratio)",
        metavar="RATIO",
    ),
    Option(
        "weight_decay",
        0.0,
        Real(0.0),
        "MXNet's name for the L2 penalty, >= 0: weight_decay=a is penalty='l2', alpha=a",
        {
            "record": "an alias: the checkpoint records the penalty and alpha it stands for",
            "config": "an alias: check_options resolves it to penalty='l2', alpha=weight_decay",
        },
        metavar="WD",
    ),
    Option(
        "average",
        False,
        Rule("True, False or an int >= 1: averaging starts at the update that sees that sample", _average),
        "averaged SGD: the model is the mean of the steps' parameters from the N-th sample seen on "
        "(scikit-learn's average; true: from the first)",
        metavar="N",
    ),
    Option(
        "lr_schedule",
        None,
        Rule(
            "None, " + ", ".join(f"``{name!r}``" for name in SCHEDULES) + " or a :class:`~gluonlr.schedules.Schedule`",
            make_schedule,
        ),
        "learning-rate schedule",
        flag_default="constant",
        sklearn_name="learning_rate",
    ),
    Option(
        "dtype",
        "float32",
        Choice(DTYPES),
        "the model's dtype and MXNet's arithmetic: float32 (the article's), float64, "
        "or auto: float64 for float64 data, else float32",
        user_default="auto",
    ),
    Option(
        "sample_weight",
        None,
        Rule("None or an array of shape (n_samples,), >= 0"),
        "one weight per sample, multiplying its loss",
        {
            "estimator": "data, not a setting: an argument of fit and partial_fit, as in scikit-learn",
            "cli": "data, not a setting: call gluonlr.fit from Python to weight the samples",
            "config": _DATA,
        },
    ),
    Option(
        "validation_split",
        0.0,
        Real(0.0, 1.0),
        "hold out this last fraction of the samples to validate on, in [0, 1)",
        {"config": _NOT_CONFIG},
        metavar="FRACTION",
        sklearn_name="validation_fraction",
    ),
    Option(
        "validation_data",
        None,
        Rule("None or a tuple (X_val, y_val)"),
        "data to validate on instead of a split",
        {
            "estimator": "data: use validation_split, or score on held-out data",
            "cli": "data: use --validation-split, or gluonlr evaluate on a file held out",
            "record": "data: the checkpoint's fingerprint covers it",
            "config": _DATA,
        },
    ),
    Option(
        "metrics",
        (),
        Rule(
            "a sequence of " + ", ".join(f"``{name!r}``" for name in METRICS) + ", functions "
            "``metric(y_true, y_pred) -> float``, ``(name, function)`` pairs or ``mxnet.metric.EvalMetric``",
            _metrics,
        ),
        f"metrics recorded every epoch, comma-separated, of {', '.join(METRICS)} (names only on the "
        "command line; fit in Python also takes functions)",
        {"config": _NOT_CONFIG},
        metavar="NAMES",
    ),
    Option(
        "early_stopping",
        False,
        Rule("True, False or a :class:`~gluonlr.callbacks.EarlyStopping`", _early_stopping),
        "stop when the validation loss stops improving (patience 5, best weights kept)",
        {"reference": "a callback of fit's loop, tested there", "config": _NOT_CONFIG},
    ),
    Option(
        "init_weight",
        None,
        Rule("None or an array of shape (n_features,) or (n_features, n_outputs)"),
        "initial weights",
        {
            "estimator": "data: fit's coef_init, as SGDRegressor's",
            "cli": "data: call gluonlr.fit from Python to start from given weights",
            "record": "the checkpoint's state holds the parameters",
            "config": _DATA,
        },
    ),
    Option(
        "init_bias",
        None,
        Rule("None, a float or an array of shape (n_outputs,)"),
        "initial bias",
        {
            "estimator": "data: fit's intercept_init, as SGDRegressor's",
            "cli": "data, as init_weight",
            "record": "the checkpoint's state holds the parameters",
            "config": _DATA,
        },
    ),
    Option(
        "callbacks",
        None,
        Rule(
            "None or a list of :class:`~gluonlr.callbacks.Callback` or of objects with some of its ``on_*`` methods",
            _callbacks,
        ),
        "called at the start, after each batch and epoch and at the end",
        {
            "estimator": "live objects a clone or a grid search would share between fits",
            "cli": _PYTHON_ONLY,
            "reference": _PYTHON_ONLY,
            "record": _RUN,
            "config": _NOT_CONFIG,
        },
    ),
    Option(
        "checkpoint",
        None,
        Rule("None or a file or directory path", _checkpoint),
        "save a checkpoint there after every epoch",
        {
            "estimator": "a file: every fit of a grid search or a cross-validation would write the same one",
            "reference": "fit's own business",
            "record": "where the checkpoint is, not what it holds",
            "config": _NOT_CONFIG,
        },
        metavar="FILE",
    ),
    Option(
        "resume",
        None,
        Rule("True, False, None or a checkpoint path", _resume),
        "continue from --checkpoint if it exists",
        {
            "estimator": "a file, as checkpoint; partial_fit continues a fit in memory",
            "reference": "fit's own business",
            "record": "how the run starts",
            "config": _NOT_CONFIG,
        },
    ),
    Option(
        "check_input",
        True,
        Boolean(),
        "check every value for NaN and infinity before training",
        {
            "estimator": "the estimator always checks its input, with scikit-learn's check_array",
            "cli": "the command checks every value as it reads the file, naming the line and column",
            "reference": "the reference trusts its input",
            "record": _RUN,
            "config": _NOT_CONFIG,
        },
    ),
    Option(
        "verbose",
        "auto",
        Rule("``'auto'``, 0 or 1", _verbose),
        "a progress bar of the epochs",
        {
            "cli": "--progress and -q",
            "reference": "the reference shows nothing",
            "record": _RUN,
            "config": _NOT_CONFIG,
        },
    ),
    Option(
        "ctx",
        None,
        Rule("None, a Context, a string such as ``'cpu:0,cpu:1'`` or a list of Contexts", check_ctx),
        "the devices to train on, e.g. cpu:0,cpu:1",
        {"reference": "the reference runs in numpy", "record": _RUN, "config": _NOT_CONFIG},
        metavar="DEVICES",
    ),
    Option(
        "kvstore",
        None,
        Rule(
            "None, " + ", ".join(f"``{kind!r}``" for kind in (*LOCAL_KVSTORES, *DIST_KVSTORES)) + " or a KVStore",
            _kvstore,
        ),
        "where gradients are summed; dist_sync: as a worker of `gluonlr launch`",
        {"reference": "the reference runs in one process", "record": _RUN, "config": _NOT_CONFIG},
    ),
)

#: fit's options by name, in the order of fit's signature.
OPTIONS: dict[str, Option] = {option.name: option for option in _OPTION_LIST}


def options_of(surface: str) -> Iterator[Option]:
    """Yield the options on ``surface`` (one of :data:`SURFACES`), in the table's order.

    Examples
    --------
    >>> [option.name for option in options_of("config")][:4]
    ['loss', 'rho', 'reduction', 'lr']
    """
    return (option for option in _OPTION_LIST if option.on(surface))


# --- fit's checks -------------------------------------------------------------------------------------------


def check_options(values: Mapping[str, Any], where: str = "fit") -> dict[str, Any]:
    """Return ``values`` checked by each option's constraint, then by the rules across options.

    ``values`` holds every option of :data:`OPTIONS` (as fit's ``locals()``
    does); the result holds them checked: numbers as ``float``/``int``,
    ``lr_schedule`` a :class:`~gluonlr.schedules.Schedule`, ``early_stopping``
    an :class:`~gluonlr.callbacks.EarlyStopping` or None, ``verbose`` whether
    to show a progress bar, ``ctx`` a list of devices, and ``resume`` the
    checkpoint to continue from, or None.

    Examples
    --------
    >>> checked = check_options({**{name: option.default for name, option in OPTIONS.items()}, "lr": 1})
    >>> checked["lr"], checked["ctx"], checked["resume"]
    (1.0, [cpu(0)], None)
    >>> check_options({**{name: option.default for name, option in OPTIONS.items()}, "nesterov": True})
    Traceback (most recent call last):
    ...
    ValueError: nesterov=True needs optimizer='sgd' with momentum > 0, e.g. fit(..., momentum=0.9, nesterov=True).
    """
    checked = {name: option.check(values[name], where) for name, option in OPTIONS.items()}
    _cross_rules(checked)
    return checked


def _cross_rules(options: dict[str, Any]) -> None:
    """Check the rules across options, written out; make ``resume`` the checkpoint to continue from, or None."""
    if options["nesterov"] and (options["optimizer"] != "sgd" or not options["momentum"] > 0):
        raise ValueError(
            "nesterov=True needs optimizer='sgd' with momentum > 0, e.g. fit(..., momentum=0.9, nesterov=True)."
        )
    if options["optimizer"] != "sgd" and options["momentum"]:
        raise ValueError(f"The 'momentum' parameter of fit applies to optimizer='sgd', not {options['optimizer']!r}.")
    _resolve_penalty(options)
    if options["validation_data"] is not None and options["validation_split"]:
        raise ValueError("Pass validation_split or validation_data to fit, not both.")
    users = [metric.name for metric in options["metrics"] if isinstance(metric, UserMetric)]
    kind = getattr(options["kvstore"], "type", options["kvstore"])  # a name, or an mx.kv.KVStore's type
    if users and kind in DIST_KVSTORES:
        raise ValueError(
            f"The metrics of your own ({', '.join(map(repr, users))}) cannot be computed with "
            f"kvstore={kind!r}: each worker holds a part of the rows, and a metric function needs them all. Use "
            "the names 'mse', 'rmse', 'mae', 'r2' (summed across the workers), or evaluate the returned model."
        )
    options["resume"] = _resume_source(options["checkpoint"], options["resume"])


def _resolve_penalty(options: dict[str, Any]) -> None:
    """Make ``weight_decay=a`` the ``penalty='l2', alpha=a`` it stands for; refuse what contradicts it, and L1 off SGD.

    One penalty, two spellings: scikit-learn's ``penalty`` and ``alpha``, and MXNet's ``weight_decay``. Both
    given must say the same. The L1 penalty (``"l1"``, ``"elasticnet"``) is scikit-learn's cumulative truncated
    gradient, defined on plain SGD steps (:class:`gluonlr.optimizers.L1Penalty`).
    """
    decay, penalty, alpha = options["weight_decay"], options["penalty"], options["alpha"]
    if decay > 0:
        if penalty is None:
            options["penalty"], options["alpha"] = "l2", decay
        elif penalty != "l2" or alpha != decay:
            raise ValueError(
                f"weight_decay={decay!r} is penalty='l2', alpha={decay!r}, which penalty={penalty!r}, "
                f"alpha={alpha!r} contradicts. Pass one of them: penalty='l2', alpha={decay!r} (scikit-learn's "
                f"names) or weight_decay={decay!r} (MXNet's)."
            )
    if options["penalty"] in ("l1", "elasticnet") and (options["optimizer"] != "sgd" or options["momentum"] > 0):
        chosen = "optimizer='adam'" if options["optimizer"] != "sgd" else f"momentum={options['momentum']!r}"
        raise ValueError(
            f"penalty={options['penalty']!r} needs plain SGD steps: its L1 part is scikit-learn's cumulative "
            f"truncated gradient (Tsuruoka et al., 2009), applied after each SGD step, which {chosen} does not "
            "take. Pass optimizer='sgd' with momentum=0, or penalty='l2'."
        )


def _resume_source(checkpoint: PathLike | None, resume: bool | PathLike | None) -> PathLike | None:
    """Return the checkpoint to resume from, or None to start afresh.

    Refuses a ``checkpoint`` path where a file already exists (a checkpoint, a
    saved model, anything) unless the run resumes from that very checkpoint:
    fit never overwrites what it did not write in this run's line.
    """
    if resume is True and checkpoint is None:
        raise ValueError("resume=True continues from the 'checkpoint' parameter of fit, which is not set.")
    targets = checkpoint_files(checkpoint) if checkpoint is not None else None
    source: PathLike | None = None
    if resume is True and targets is not None:
        source = checkpoint if targets[1].exists() else None
    elif resume and not isinstance(resume, bool):
        source = resume
    if targets is not None:
        existing = [target for target in targets if target.exists()]
        resuming_it = source is not None and checkpoint_files(source)[1].resolve() == targets[1].resolve()
        if existing and not resuming_it:
            raise CheckpointError(
                f"{str(existing[0])!r} already exists, and fit(checkpoint=...) would replace it after the first "
                "epoch. Pass resume=True to continue the run checkpointed there, or choose another checkpoint path "
                "(or delete the file) to start afresh."
            )
    return source


def check_monitor(stopper: EarlyStopping | None, *, has_validation: bool, metrics: Sequence[str | UserMetric]) -> None:
    """Raise ``ValueError`` unless this fit records what ``stopper`` monitors (a rule across options and data).

    Examples
    --------
    >>> check_monitor(EarlyStopping(monitor="val_r2"), has_validation=True, metrics=("r2",))
    >>> check_monitor(EarlyStopping(), has_validation=False, metrics=())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Early stopping monitors 'val_loss', which this fit does not record (it records 'loss'). Pass ...
    """
    if stopper is None:
        return
    names = metric_names(metrics)
    available = ["loss", *names] + (["val_loss", *(f"val_{name}" for name in names)] if has_validation else [])
    if stopper.monitor not in available:
        hint = (
            " Pass validation_split=0.1 or validation_data=(X_val, y_val), or monitor='loss'."
            if stopper.monitor.startswith("val_") and not has_validation
            else " Add the metric to fit(metrics=...)."
        )
        raise ValueError(
            f"Early stopping monitors {stopper.monitor!r}, which this fit does not record "
            f"(it records {', '.join(map(repr, available))}).{hint}"
        )


# --- What comes from the checked options --------------------------------------------------------------------


def make_config(options: Mapping[str, Any], n_samples: int, lr: float | None = None, n_features: int = 1) -> Any:
    """Return the :class:`~gluonlr.config.FitConfig` of the checked ``options`` for ``n_samples`` training rows.

    ``lr`` is the rate ``lr="auto"`` chose, if it did; ``batch_size="auto"`` is resolved for ``n_samples`` rows
    of ``n_features``.

    Examples
    --------
    >>> config = make_config(check_options({name: option.default for name, option in OPTIONS.items()}), 300)
    >>> config.lr, config.batch_size
    (0.01, 10)
    """
    from gluonlr.config import FitConfig

    values = {option.name: options[option.name] for option in options_of("config")}
    values["batch_size"] = resolve_batch_size(values["batch_size"], n_samples, n_features)
    if lr is not None:
        values["lr"] = lr
    elif not isinstance(values["lr"], float):  # "auto": chosen once the data is read
        values["lr"] = OPTIONS["lr"].default
    return FitConfig(**values)


def record(options: Mapping[str, Any]) -> dict[str, Any]:
    """Return the arguments a checkpoint records (JSON-ready), which a resumed run must repeat.

    Examples
    --------
    >>> recorded = record(check_options({name: option.default for name, option in OPTIONS.items()}))
    >>> recorded["lr_schedule"], recorded["sample_weight"], recorded["early_stopping"]
    ({'name': 'constant'}, False, None)
    """
    recorded = {}
    for option in options_of("record"):
        value = options[option.name]
        if option.name == "lr_schedule":
            value = {"name": value.name, **value.params()}
        elif option.name == "sample_weight":
            value = value is not None
        elif option.name == "early_stopping":
            value = value.params() if value is not None else None
        elif option.name == "metrics":  # a metric of the user's by its name
            value = list(metric_names(value))
        recorded[option.name] = value
    return recorded
