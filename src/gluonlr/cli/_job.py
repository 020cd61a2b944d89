"""``gluonlr launch``: run a command as the workers of a ``dist_sync`` job on this host."""

from __future__ import annotations

import argparse
from typing import Any

from gluonlr._validation import check_positive_int
from gluonlr.cli.options import checked
from gluonlr.launch import check_port, check_seconds, launch

__all__ = ["add_launch", "launch_job"]


class _Command(argparse.Action):
    """The launched command: everything after the options, a leading ``--`` dropped; a usage error if empty."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, *_: Any) -> None:
        command = list(values)[1:] if list(values)[:1] == ["--"] else list(values)
        if not command:
            raise argparse.ArgumentError(self, "the command to run is missing, e.g. -- python train.py")
        setattr(namespace, self.dest, command)


def add_launch(commands: Any) -> None:
    """Add the ``launch`` subcommand to the ``commands`` of the ``gluonlr`` parser."""
    parser = commands.add_parser(
        "launch",
        help="run a command as the workers of a dist_sync job on this host",
        usage="gluonlr launch -n WORKERS [-s SERVERS] [--host HOST] [--port PORT] [--timeout SECONDS] "
        "-- COMMAND [ARGS ...]",
        description="Start MXNet's scheduler, SERVERS servers and WORKERS copies of COMMAND, the workers of one "
        "dist_sync job on this host, each with the DMLC variables set; relay the workers' output with each line "
        "prefixed by its rank, and exit with the job's status. A worker that fails stops the job.",
    )
    where = {"where": "launch"}
    parser.add_argument(
        "-n",
        "--workers",
        type=checked(int, check_positive_int, "workers", **where),
        required=True,
        help="the number of workers, copies of COMMAND",
    )
    parser.add_argument(
        "-s",
        "--servers",
        type=checked(int, check_positive_int, "servers", **where),
        default=1,
        help="the number of servers (default: 1)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="this machine's address for the job (default: 127.0.0.1)")
    parser.add_argument("--port", type=checked(int, check_port), help="the scheduler's port (default: a free one)")
    parser.add_argument(
        "--timeout",
        type=checked(float, check_seconds, "timeout"),
        metavar="SECONDS",
        help="stop the job after this long, exit status 124 (default: no limit)",
    )
    parser.add_argument(
        "program",
        nargs=argparse.REMAINDER,
        action=_Command,
        metavar="COMMAND [ARGS ...]",
        help="what each worker runs, after --, e.g. -- python train.py",
    )
    parser.set_defaults(run=launch_job)


def launch_job(args: argparse.Namespace) -> int:
    """Run ``gluonlr launch`` with the parsed ``args``; return the job's exit status (:func:`gluonlr.launch.launch`)."""
    return launch(
        args.program, workers=args.workers, servers=args.servers, host=args.host, port=args.port, timeout=args.timeout
    )
