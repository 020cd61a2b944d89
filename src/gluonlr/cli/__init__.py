"""The ``gluonlr`` command: ``fit``, ``predict`` and ``evaluate`` on data files, ``demo``, and ``launch``.

Each subcommand lives in a module of its own (``_files``: fit, predict, evaluate; ``_demo``; ``_job``:
launch); the flags of :func:`gluonlr.fit`'s options come from one table, :data:`gluonlr.cli.options.FIT_FLAGS`.
This module builds the parser and runs a command with the exit statuses of a Unix tool.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from gluonlr import __version__, distributed
from gluonlr.cli._demo import add_demo
from gluonlr.cli._files import add_evaluate, add_fit, add_predict
from gluonlr.cli._job import add_launch

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``gluonlr`` command.

    Examples
    --------
    >>> args = build_parser().parse_args(["fit", "data.csv", "--target", "y", "--out", "m.params", "--epochs", "3"])
    >>> args.command, args.data, args.target, args.epochs
    ('fit', 'data.csv', 'y', 3)
    """
    parser = argparse.ArgumentParser(
        prog="gluonlr", description="Linear regression on Apache MXNet, by hand and with Gluon."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_demo(commands)
    add_launch(commands)
    add_fit(commands)
    add_predict(commands)
    add_evaluate(commands)
    return parser


def _output_closed() -> int:
    """Return 141, as a tool killed by SIGPIPE; standard output goes to devnull, so the exit flush is silent.

    Python's recipe: https://docs.python.org/3/library/signal.html#note-on-sigpipe
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 128 + 13  # SIGPIPE is 13 on every POSIX system (signal.SIGPIPE does not exist on Windows)


def _leave_job(status: int) -> int:
    """Return ``status``; but a worker that joined a ``dist_sync`` job and failed leaves now, with it.

    MXNet's ``dist`` KVStore waits at a barrier of all the workers when the interpreter exits: a worker that
    failed alone (rank 0's ``--out`` cannot be written) would wait there forever, and its peers in their
    next pushpull. So it flushes its output and ends at once (``os._exit``), and ``gluonlr launch`` stops
    the rest of the job, as it does for an uncaught exception (see :func:`gluonlr.launch.launch`).
    """
    if status != 0 and distributed._store is not None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed pipe: nothing more can be said
                pass
        os._exit(status)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gluonlr`` console script.

    Returns 0 on success, 1 after an error (one line on standard error), 2 for
    a usage error (argparse exits), 130 after Ctrl-C and 141 when standard
    output was closed early (``gluonlr demo --json | head -c 10``): quietly, as
    ``cat`` and other Unix tools end, killed by SIGPIPE. ``gluonlr launch``
    returns the job's status.

    Examples
    --------
    >>> main(["fit", "missing.csv", "--target", "y", "--out", "model.params"])  # stderr: the error, one line
    1
    """
    args = build_parser().parse_args(argv)
    try:
        status = args.run(args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's flush at exit
    except BrokenPipeError:
        status = _output_closed()
    except (ValueError, TypeError, OSError, ImportError) as error:  # DivergenceError is a ValueError
        print(f"gluonlr: error: {error}", file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        print("gluonlr: interrupted", file=sys.stderr)
        status = 130
    return _leave_job(status)


if __name__ == "__main__":
    sys.exit(main())
