"""The ``gluonlr`` command: ``demo`` trains both paths on the article's data, ``launch`` runs a dist_sync job."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gluonlr import __version__
from gluonlr._files import atomic_write, check_writable
from gluonlr._validation import check_float, check_positive_float, check_positive_int, check_seed
from gluonlr.conventions import LOSSES, REDUCTIONS
from gluonlr.data import TRUE_B, TRUE_W, synthetic_data
from gluonlr.fit import PATHS, fit
from gluonlr.launch import check_port, check_seconds, launch
from gluonlr.optimizers import OPTIMIZERS
from gluonlr.result import FitResult
from gluonlr.schedules import SCHEDULES


def _option(
    parse: type[int] | type[float], check: Callable[..., Any], *args: Any, **kwargs: Any
) -> Callable[[str], Any]:
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


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``gluonlr`` command."""
    parser = argparse.ArgumentParser(prog="gluonlr", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="train both paths on the article's data and compare them",
        description="Fit y = 2*x1 + 51*x2 + 21.2 from 300 noisy samples on the manual and the Gluon path.",
    )
    epochs, lr = _option(int, check_positive_int, "epochs"), _option(float, check_positive_float, "lr")
    demo.add_argument("--epochs", type=epochs, default=10, help="passes over the data (default: 10)")
    demo.add_argument("--lr", type=lr, default=0.01, help="learning rate (default: 0.01)")
    batch_size = _option(int, check_positive_int, "batch_size")
    demo.add_argument("--batch-size", type=batch_size, default=10, help="samples per batch (default: 10)")
    demo.add_argument("--seed", type=_option(int, check_seed), default=0, help="seed of init and shuffles (default: 0)")
    demo.add_argument("--loss", choices=LOSSES, default="squared", help="per-sample loss (default: squared)")
    demo.add_argument("--reduction", choices=REDUCTIONS, default="sum", help="batch gradient (default: sum)")
    demo.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd", help="optimizer (default: sgd)")
    momentum = _option(float, check_float, "momentum", low=0.0, high=1.0)
    demo.add_argument("--momentum", type=momentum, default=0.0, help="momentum of sgd, in [0, 1) (default: 0)")
    demo.add_argument(
        "--lr-schedule", choices=tuple(SCHEDULES), default="constant", help="learning-rate schedule (default: constant)"
    )
    demo.add_argument(
        "--validation-split",
        type=_option(float, check_float, "validation_split", low=0.0, high=1.0),
        default=0.0,
        metavar="FRACTION",
        help="hold out this last fraction of the samples to validate on, in [0, 1) (default: 0)",
    )
    progress = demo.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress", action="store_true", help="show a progress bar even when standard error is not a terminal"
    )
    progress.add_argument("-q", "--quiet", action="store_true", help="show no progress bar")
    demo.add_argument("--json", action="store_true", help="print only a JSON document")
    demo.add_argument("--plot", metavar="FILE", help="write a PNG with the article's plot and the loss curves")
    _add_launch(commands)
    return parser


class _Command(argparse.Action):
    """The launched command: everything after the options, a leading ``--`` dropped; a usage error if empty."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, *_: Any) -> None:
        command = list(values)[1:] if list(values)[:1] == ["--"] else list(values)
        if not command:
            raise argparse.ArgumentError(self, "the command to run is missing, e.g. -- python train.py")
        setattr(namespace, self.dest, command)


def _add_launch(commands: Any) -> None:
    launch = commands.add_parser(
        "launch",
        help="run a command as the workers of a dist_sync job on this host",
        usage="gluonlr launch -n WORKERS [-s SERVERS] [--host HOST] [--port PORT] [--timeout SECONDS] "
        "-- COMMAND [ARGS ...]",
        description="Start MXNet's scheduler, SERVERS servers and WORKERS copies of COMMAND, the workers of one "
        "dist_sync job on this host, each with the DMLC variables set; relay the workers' output with each line "
        "prefixed by its rank, and exit with the job's status. A worker that fails stops the job.",
    )
    where = {"where": "launch"}
    launch.add_argument(
        "-n",
        "--workers",
        type=_option(int, check_positive_int, "workers", **where),
        required=True,
        help="the number of workers, copies of COMMAND",
    )
    launch.add_argument(
        "-s",
        "--servers",
        type=_option(int, check_positive_int, "servers", **where),
        default=1,
        help="the number of servers (default: 1)",
    )
    launch.add_argument("--host", default="127.0.0.1", help="this machine's address for the job (default: 127.0.0.1)")
    launch.add_argument("--port", type=_option(int, check_port), help="the scheduler's port (default: a free one)")
    launch.add_argument(
        "--timeout",
        type=_option(float, check_seconds, "timeout"),
        metavar="SECONDS",
        help="stop the job after this long, exit status 124 (default: no limit)",
    )
    launch.add_argument(
        "program",
        nargs=argparse.REMAINDER,
        action=_Command,
        metavar="COMMAND [ARGS ...]",
        help="what each worker runs, after --, e.g. -- python train.py",
    )


def _report(results: dict[str, FitResult]) -> dict[str, Any]:
    manual, gluon = results["manual"], results["gluon"]
    max_abs_diff = max(float(np.abs(manual.weight - gluon.weight).max()), abs(manual.bias - gluon.bias))
    return {
        "true_w": list(TRUE_W),
        "true_b": TRUE_B,
        **{
            name: {"w": result.weight.tolist(), "b": result.bias, "history": result.history}
            for name, result in results.items()
        },
        "max_abs_diff": max_abs_diff,
    }


def _print_text(report: dict[str, Any]) -> None:
    print(f"true      w = {report['true_w']}, b = {report['true_b']}")
    for name in PATHS:
        w = ", ".join(f"{v:.4f}" for v in report[name]["w"])
        history = report[name]["history"]
        validation = f", validation loss = {history['val_loss'][-1]:.3g}" if "val_loss" in history else ""
        print(f"{name:<9} w = [{w}], b = {report[name]['b']:.4f}, final loss = {history['loss'][-1]:.3g}{validation}")
    print(f"largest difference between the paths: {report['max_abs_diff']:.3g}")


_PLOT = "--plot"


def write_plot(path: str, X: np.ndarray, results: dict[str, FitResult]) -> None:
    """Write a PNG: the article's plot (Gluon's model) beside both loss curves; atomically, as a model file."""
    from matplotlib.figure import Figure

    from gluonlr.plot import plot_loss, plot_predictions

    figure = Figure(figsize=(11, 4.5), layout="constrained")
    left, right = figure.subplots(1, 2)
    plot_predictions(results["gluon"], X, ax=left)
    left.set_title("first 50 samples: prediction vs true plane")
    plot_loss({name: result.history for name, result in results.items()}, ax=right)
    right.set_title("training loss")
    atomic_write(path, lambda tmp: figure.savefig(tmp, format="png"), what=_PLOT)


def demo(args: argparse.Namespace) -> int:
    """Run the article demo with the parsed ``args``; return the exit status.

    ``--plot``'s file is checked before training: it must be new or a regular,
    writable file, in an existing, writable directory (the rules of
    :func:`gluonlr.save`). The plot is written before the report is printed, so
    a failure prints no report.
    """
    if args.plot:
        check_writable(args.plot, _PLOT, example="plot.png")
    X, y = synthetic_data()
    options = dict(
        loss=args.loss,
        reduction=args.reduction,
        lr=args.lr,
        batch_size=args.batch_size,
        epochs=args.epochs,
        optimizer=args.optimizer,
        momentum=args.momentum,
        lr_schedule=args.lr_schedule,
        validation_split=args.validation_split,
        verbose=0 if args.quiet else 1 if args.progress else "auto",
    )
    results = {}
    for path in PATHS:
        results[path] = fit(X, y, path=path, seed=args.seed, **options)
        if results[path].interrupted:
            print(f"gluonlr: the {path} path was {results[path].stop_reason}; stopping.", file=sys.stderr)
            return 130
    report = _report(results)
    if args.plot:
        write_plot(args.plot, X, results)
    if args.json:
        print(json.dumps(report))
    else:
        _print_text(report)
        if args.plot:
            print(f"plot written to {args.plot}")
    return 0


def _output_closed() -> int:
    """Return 141, as a tool killed by SIGPIPE; standard output goes to devnull, so the exit flush is silent.

    Python's recipe: https://docs.python.org/3/library/signal.html#note-on-sigpipe
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 128 + 13  # SIGPIPE is 13 on every POSIX system (signal.SIGPIPE does not exist on Windows)


def launch_job(args: argparse.Namespace) -> int:
    """Run ``gluonlr launch`` with the parsed ``args``; return the job's exit status (:func:`gluonlr.launch.launch`)."""
    return launch(
        args.program, workers=args.workers, servers=args.servers, host=args.host, port=args.port, timeout=args.timeout
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gluonlr`` console script.

    Returns 0 on success, 1 after an error (one line on standard error), 2 for
    a usage error (argparse exits), 130 after Ctrl-C and 141 when standard
    output was closed early (``gluonlr demo --json | head -c 10``): quietly, as
    ``cat`` and other Unix tools end, killed by SIGPIPE. ``gluonlr launch``
    returns the job's status.
    """
    args = build_parser().parse_args(argv)
    try:
        status = launch_job(args) if args.command == "launch" else demo(args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's flush at exit
        return status
    except BrokenPipeError:
        return _output_closed()
    except (ValueError, TypeError, OSError) as error:  # DivergenceError is a ValueError
        print(f"gluonlr: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("gluonlr: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
