"""``gluonlr demo``: train both paths on the article's data and compare them."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

from gluonlr._files import check_writable
from gluonlr.cli.options import PLOT, add_fit_flags, add_output_flags, fit_options, save_png, verbose
from gluonlr.data import TRUE_B, TRUE_W, synthetic_data
from gluonlr.fit import PATHS, fit
from gluonlr.result import FitResult

__all__ = ["OPTIONS", "add_demo", "demo", "write_plot"]

#: The options of :func:`gluonlr.fit` that ``gluonlr demo`` takes (see :data:`~gluonlr.cli.options.FIT_FLAGS`).
OPTIONS = (
    "epochs",
    "lr",
    "batch_size",
    "seed",
    "loss",
    "reduction",
    "optimizer",
    "momentum",
    "lr_schedule",
    "validation_split",
)


def add_demo(commands: Any) -> None:
    """Add the ``demo`` subcommand to the ``commands`` of the ``gluonlr`` parser."""
    parser = commands.add_parser(
        "demo",
        help="train both paths on the article's data and compare them",
        description="Fit y = 2*x1 + 51*x2 + 21.2 from 300 noisy samples on the manual and the Gluon path.",
    )
    add_fit_flags(parser, OPTIONS, users_data=False)  # the article's defaults
    add_output_flags(parser, plot="the article's plot and the loss curves")
    parser.set_defaults(run=demo)


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
    save_png(figure, path)


def demo(args: argparse.Namespace) -> int:
    """Run the article demo with the parsed ``args``; return the exit status.

    ``--plot``'s file is checked before training: it must be new or a regular,
    writable file, in an existing, writable directory (the rules of
    :func:`gluonlr.save`). The plot is written before the report is printed, so
    a failure prints no report.
    """
    if args.plot:
        check_writable(args.plot, PLOT, example="plot.png")
    X, y = synthetic_data()
    options = {**fit_options(args), "verbose": verbose(args)}
    seed = options.pop("seed")
    results = {}
    for path in PATHS:
        results[path] = fit(X, y, path=path, seed=seed, **options)
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
