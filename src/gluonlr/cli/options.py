"""The flags of :func:`gluonlr.fit`'s options, from the one table of options: :data:`FIT_FLAGS`.

Each flag comes from an entry of :data:`gluonlr.options.OPTIONS`: its name (``batch_size`` is
``--batch-size``), its help, its default (``fit``'s own) and how it parses the text (from the option's
constraint). An option the table keeps off the command line is in :data:`EXCLUDED_OPTIONS` with the
table's reason. Numbers are checked by the option's own check, the one ``fit`` applies, so a value ``fit``
would refuse (``--lr nan``) is a usage error, exit status 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gluonlr._files import atomic_write
from gluonlr._validation import check_choice
from gluonlr.distributed import DIST_KVSTORES, LOCAL_KVSTORES
from gluonlr.metrics import METRICS
from gluonlr.options import OPTIONS, Boolean, Choice, Integer, Option, Real, options_of
from gluonlr.schedules import SCHEDULES

__all__ = ["EXCLUDED_OPTIONS", "FIT_FLAGS", "Flag", "add_fit_flags", "fit_options"]


def checked(parse: Callable[[str], Any], check: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[[str], Any]:
    """Return an argparse ``type``: ``parse`` the text, then ``check(*args, value, **kwargs)`` it.

    ``check`` is the option's check that :func:`gluonlr.fit` applies, so the rule is stated
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


def _int_or_name(text: str) -> int | str:
    """Return ``text`` as an int if it is one, else as it is (for a check that takes a name too, as ``auto``)."""
    try:
        return int(text)
    except ValueError:
        return text


def _float_or_name(text: str) -> float | str:
    """Return ``text`` as a float if it is one, else as it is (for a check that takes a name too, as ``auto``)."""
    try:
        return float(text)
    except ValueError:
        return text


def _float_or_none(text: str) -> float | None:
    """Return ``text`` as a float, or None for ``none`` (``--tol none``: every epoch runs, as ``fit(tol=None)``)."""
    return None if text.strip().lower() == "none" else float(text)


def _name_or_none(text: str) -> str | None:
    """Return ``text``, or None for ``none`` (``--penalty none``: no penalty, as ``fit(penalty=None)``)."""
    return None if text.strip().lower() == "none" else text


def _int_or_switch(text: str) -> bool | int | str:
    """Return ``text`` as an int, or True/False for ``true``/``false`` (``--average true``), else as it is."""
    switch = {"true": True, "false": False}.get(text.strip().lower())
    return switch if switch is not None else _int_or_name(text)


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

    def fit_default(self, users_data: bool = False) -> Any:
        """Return the flag's default: :func:`gluonlr.fit`'s, or the users' data's; unless this flag names it.

        ``users_data``: the default of ``gluonlr fit FILE`` (:meth:`gluonlr.options.Option.default_on`), which
        converges on ordinary data; else fit's own, the article's (``gluonlr demo``).
        """
        option = OPTIONS[self.option]
        default = option.default_on("cli") if users_data else option.default
        if default is None and self.default is not None:
            return self.default
        return default


#: How the command line reads the options whose values are objects (a :class:`~gluonlr.options.Rule` in the
#: table); every other flag follows from its option's constraint: a switch for True/False, the choices of a
#: name, an int or a float checked by the option's own check.
_RULE_FLAGS: dict[str, dict[str, Any]] = {
    "lr": {"type": checked(_float_or_name, OPTIONS["lr"].check)},
    "batch_size": {"type": checked(_int_or_name, OPTIONS["batch_size"].check)},
    "lr_schedule": {"choices": tuple(SCHEDULES)},
    "penalty": {"type": checked(_name_or_none, OPTIONS["penalty"].check)},
    "tol": {"type": checked(_float_or_none, OPTIONS["tol"].check)},
    "average": {"type": checked(_int_or_switch, OPTIONS["average"].check)},
    "metrics": {"type": _names("metrics", tuple(METRICS))},
    "early_stopping": {"type": None},
    "checkpoint": {},
    "resume": {"type": None},
    "ctx": {},
    "kvstore": {"choices": (*LOCAL_KVSTORES, *DIST_KVSTORES)},
}


def _flag(option: Option) -> Flag:
    """Return the flag of ``option``, from its constraint (or :data:`_RULE_FLAGS`) and its entry in the table."""
    how: dict[str, Any] = {}
    if isinstance(option.constraint, Boolean):
        how = {"type": None}
    elif isinstance(option.constraint, Choice):
        how = {"choices": option.constraint.choices}
    elif isinstance(option.constraint, Integer | Real):
        how = {"type": checked(int if isinstance(option.constraint, Integer) else float, option.check)}
    else:
        how = _RULE_FLAGS[option.name]
    return Flag(option.name, option.help, metavar=option.metavar, default=option.flag_default, **how)


#: The flags of :func:`gluonlr.fit`'s options, in the order of the table :data:`gluonlr.options.OPTIONS`.
FIT_FLAGS: tuple[Flag, ...] = tuple(_flag(option) for option in options_of("cli"))

#: The parameters of :func:`gluonlr.fit` that have no flag, and why (from the table).
EXCLUDED_OPTIONS: dict[str, str] = {
    "X": "the data file's feature columns",
    "y": "the data file's --target column (a .npy file: --target-file)",
    **{name: option.not_on["cli"] for name, option in OPTIONS.items() if not option.on("cli")},
}


def add_fit_flags(
    parser: argparse.ArgumentParser, options: Sequence[str] | None = None, users_data: bool = True
) -> None:
    """Add the flags of ``options`` (names of :data:`FIT_FLAGS`, in this order; all by default) to ``parser``.

    With ``users_data`` (``gluonlr fit FILE``) their defaults are those for users' own data (the table's
    ``user_default``); else fit's, the article's (``gluonlr demo``). A True/False option has a ``--no-`` flag too.

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_fit_flags(parser, ["lr", "epochs"], users_data=False)
    >>> parser.parse_args(["--lr", "0.5"])
    Namespace(lr=0.5, epochs=10)
    """
    flags = {flag.option: flag for flag in FIT_FLAGS}
    for name in options if options is not None else list(flags):
        flag = flags[name]
        default = flag.fit_default(users_data)
        if flag.type is None and isinstance(OPTIONS[name].constraint, Boolean):  # --standardize, --no-standardize
            shown = "on" if default else "off"
            help = f"{flag.help} (default: {shown})"
            parser.add_argument(flag.flag, dest=name, action=argparse.BooleanOptionalAction, default=default, help=help)
            continue
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
