"""The flags of :func:`gluonlr.fit`'s options, from one table: :data:`FIT_FLAGS`.

Each entry names a parameter of ``fit`` and says how its flag parses the text; the flag's name
(``batch_size`` is ``--batch-size``) and its default (``fit``'s own) follow from that. A new option of
``fit`` is one entry here, or one line of :data:`EXCLUDED_OPTIONS` saying why it has no flag
(``tests/test_cli_files.py`` checks that every parameter is one or the other). Numbers are checked by the
validator ``fit`` itself applies, so a value ``fit`` would refuse (``--lr nan``) is a usage error, exit
status 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gluonlr._files import atomic_write
from gluonlr._validation import check_choice, check_float, check_positive_int, check_seed
from gluonlr.conventions import LOSSES, REDUCTIONS
from gluonlr.distributed import DIST_KVSTORES
from gluonlr.fit import PATHS, fit
from gluonlr.metrics import METRICS
from gluonlr.optimizers import OPTIMIZERS
from gluonlr.scaling import check_lr
from gluonlr.schedules import SCHEDULES

__all__ = ["EXCLUDED_OPTIONS", "FIT_FLAGS", "Flag", "add_fit_flags", "fit_options"]


def checked(parse: Callable[[str], Any], check: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[[str], Any]:
    """Return an argparse ``type``: ``parse`` the text, then ``check(*args, value, **kwargs)`` it.

    ``check`` is the validator :func:`gluonlr.fit` uses, so the rule is stated
    once and a value ``fit`` would refuse (``--lr nan``, or ``--lr 1e39``,
    which float32 cannot hold) is a usage error, exit status 2.
    """

    def convert(text: str) -> Any:
        try:
            value = parse(text)
        except ValueError:
            kind = "an int" if parse is int else "a float"
            raise argparse.ArgumentTypeError(f"must be {kind}. Got {text!r} instead.") from None
        try:
            return check(*args, value, **kwargs)
        except ValueError as error:  # "The 'lr' parameter of fit must be ..." -> "must be ..."
            before, must, rule = str(error).partition("must be")
            raise argparse.ArgumentTypeError(must + rule if must else before) from None

    return convert


def _names(name: str, choices: Sequence[str]) -> Callable[[str], tuple[str, ...]]:
    """Return an argparse ``type`` for a comma-separated list of ``choices``, e.g. ``--metrics mse,r2``."""

    def convert(text: str) -> tuple[str, ...]:
        names = tuple(part.strip() for part in text.split(",") if part.strip())
        try:
            return tuple(check_choice(name, part, choices) for part in names)
        except ValueError as error:
            before, must, rule = str(error).partition("must be")
            raise argparse.ArgumentTypeError(f"each name {must}{rule}" if must else before) from None

    return convert


def _float_or_name(text: str) -> float | str:
    """Return ``text`` as a float if it is one, else as it is (for a check that takes a name too, as ``auto``)."""
    try:
        return float(text)
    except ValueError:
        return text


def _fraction(name: str) -> Callable[[str], float]:
    return checked(float, check_float, name, low=0.0, high=1.0)


def _at_least(name: str, low: float, low_open: bool = False) -> Callable[[str], float]:
    return checked(float, check_float, name, low=low, low_open=low_open)


@dataclass(frozen=True)
class Flag:
    """How the command line gives one option of :func:`gluonlr.fit`.

    Attributes
    ----------
    option : str
        The parameter of ``fit``; the flag is ``--`` and its name with ``-`` for ``_``.
    help : str
        What the option does, in a few words; the default is added.
    type : callable or None
        An argparse ``type`` that parses and checks the text; None for a switch, which sets the option to
        True.
    choices : sequence of str, optional
        The values allowed, for an option that takes a name.
    metavar : str, optional
        The value's name in the usage text.
    default : object, optional
        The flag's default when ``fit``'s is None but a name says the same (``--lr-schedule constant``).

    Examples
    --------
    >>> flag = Flag("batch_size", "samples per batch", int)
    >>> flag.flag, flag.fit_default()
    ('--batch-size', 10)
    """

    option: str
    help: str
    type: Callable[[str], Any] | None = str
    choices: Sequence[str] | None = None
    metavar: str | None = None
    default: Any = None

    @property
    def flag(self) -> str:
        """The flag, e.g. ``--batch-size``."""
        return "--" + self.option.replace("_", "-")

    def fit_default(self) -> Any:
        """Return the flag's default: :func:`gluonlr.fit`'s, unless this flag names it."""
        if self.default is not None:
            return self.default
        # The defaults themselves, not the signature's: Sphinx's autodoc_preserve_defaults rewrites the latter.
        return (fit.__kwdefaults__ or {})[self.option]


#: The flags of :func:`gluonlr.fit`'s options, in the order of ``fit``'s signature.
FIT_FLAGS: tuple[Flag, ...] = (
    Flag("path", "the training path", choices=tuple(PATHS)),
    Flag("loss", "per-sample loss", choices=LOSSES),
    Flag("rho", "where the huber loss turns linear, > 0", _at_least("rho", 0.0, low_open=True), metavar="RHO"),
    Flag("reduction", "what a batch's summed gradient is divided by: nothing or its size", choices=REDUCTIONS),
    Flag(
        "lr",
        "learning rate, > 0, or auto: a stable rate from the data",
        checked(_float_or_name, check_lr),
        metavar="LR",
    ),
    Flag("standardize", "train on standardized features; the model is in the data's units", None),
    Flag("batch_size", "samples per batch", checked(int, check_positive_int, "batch_size"), metavar="N"),
    Flag("epochs", "passes over the data", checked(int, check_positive_int, "epochs"), metavar="N"),
    Flag("seed", "seed of the initial weights and the shuffles", checked(int, check_seed), metavar="N"),
    Flag("optimizer", "the optimizer", choices=OPTIMIZERS),
    Flag("momentum", "momentum of sgd, in [0, 1)", _fraction("momentum"), metavar="M"),
    Flag("nesterov", "Nesterov momentum (sgd with --momentum > 0)", None),
    Flag("beta1", "adam's first decay rate, in [0, 1)", _fraction("beta1"), metavar="B"),
    Flag("beta2", "adam's second decay rate, in [0, 1)", _fraction("beta2"), metavar="B"),
    Flag("epsilon", "adam's epsilon, > 0", _at_least("epsilon", 0.0, low_open=True), metavar="EPS"),
    Flag("weight_decay", "L2 penalty (MXNet's wd), >= 0", _at_least("weight_decay", 0.0), metavar="WD"),
    Flag("lr_schedule", "learning-rate schedule", choices=tuple(SCHEDULES), default="constant"),
    Flag(
        "validation_split",
        "hold out this last fraction of the samples to validate on, in [0, 1)",
        _fraction("validation_split"),
        metavar="FRACTION",
    ),
    Flag(
        "metrics",
        f"metrics recorded every epoch, comma-separated, of {', '.join(METRICS)}",
        _names("metrics", tuple(METRICS)),
        metavar="NAMES",
    ),
    Flag("early_stopping", "stop when the validation loss stops improving (patience 5, best weights kept)", None),
    Flag("checkpoint", "save a checkpoint there after every epoch", metavar="FILE"),
    Flag("resume", "continue from --checkpoint if it exists", None),
    Flag("ctx", "the devices to train on, e.g. cpu:0,cpu:1", metavar="DEVICES"),
    Flag(
        "kvstore",
        "where gradients are summed; dist_sync: as a worker of `gluonlr launch`",
        choices=("device", "local", *DIST_KVSTORES),
    ),
)

#: The parameters of :func:`gluonlr.fit` that have no flag, and why.
EXCLUDED_OPTIONS: dict[str, str] = {
    "X": "the data file's feature columns",
    "y": "the data file's --target column (a .npy file: --target-file)",
    "sample_weight": "data, not a setting: call gluonlr.fit from Python to weight the samples",
    "validation_data": "data: use --validation-split, or gluonlr evaluate on a file held out",
    "init_weight": "data: call gluonlr.fit from Python to start from given weights",
    "init_bias": "data, as init_weight",
    "callbacks": "Python objects",
    "check_input": "the command checks every value as it reads the file, naming the line and column",
    "verbose": "--progress and -q",
}


def add_fit_flags(parser: argparse.ArgumentParser, options: Sequence[str] | None = None) -> None:
    """Add the flags of ``options`` (names of :data:`FIT_FLAGS`, in this order; all by default) to ``parser``.

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_fit_flags(parser, ["lr", "epochs"])
    >>> parser.parse_args(["--lr", "0.5"])
    Namespace(lr=0.5, epochs=10)
    """
    flags = {flag.option: flag for flag in FIT_FLAGS}
    for name in options if options is not None else list(flags):
        flag = flags[name]
        default = flag.fit_default()
        if flag.type is None:
            parser.add_argument(flag.flag, dest=name, action="store_true", help=flag.help)
            continue
        shown = ",".join(default) if isinstance(default, tuple) else default
        parser.add_argument(
            flag.flag,
            dest=name,
            type=flag.type,
            choices=flag.choices,
            default=default,
            metavar=flag.metavar,
            help=f"{flag.help} (default: {shown if shown not in ('', None) else 'none'})",
        )


def fit_options(args: argparse.Namespace) -> dict[str, Any]:
    """Return the options of :func:`gluonlr.fit` that ``args`` holds (those of :data:`FIT_FLAGS` it was given).

    Examples
    --------
    >>> fit_options(argparse.Namespace(lr=0.5, epochs=10, json=True))
    {'lr': 0.5, 'epochs': 10}
    """
    values = vars(args)
    return {flag.option: values[flag.option] for flag in FIT_FLAGS if flag.option in values}


def add_output_flags(parser: argparse.ArgumentParser, plot: str) -> None:
    """Add ``--progress``/``-q``, ``--json`` and ``--plot FILE`` (``plot`` says what the PNG shows)."""
    progress = parser.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress", action="store_true", help="show a progress bar even when standard error is not a terminal"
    )
    progress.add_argument("-q", "--quiet", action="store_true", help="show no progress bar")
    parser.add_argument("--json", action="store_true", help="print only a JSON document")
    parser.add_argument("--plot", metavar="FILE", help=f"write a PNG with {plot}")


def verbose(args: argparse.Namespace) -> int | str:
    """Return ``fit``'s ``verbose`` for ``--progress`` and ``-q``."""
    return 0 if args.quiet else 1 if args.progress else "auto"


#: What names ``--plot`` in messages.
PLOT = "--plot"


def save_png(figure: Any, path: str) -> None:
    """Write a matplotlib ``figure`` as a PNG at ``path``, atomically (as :func:`gluonlr.save` writes a model)."""
    atomic_write(path, lambda tmp: figure.savefig(tmp, format="png"), what=PLOT)
