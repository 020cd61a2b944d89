"""Throughput on wide sparse data: gluonlr's two paths against scikit-learn's SGDRegressor on the same CSR matrix.

Usage::

    python benchmarks/sparse.py [--quick] [--json] [--epochs N] [--batch-size N] [--only NAME]

Data sets
---------
``hashed N x D``
    :func:`hashed`: each row draws 10 to 100 tokens (uniformly many) from a
    vocabulary of :data:`VOCABULARY` tokens with Zipf frequencies (exponent
    :data:`ZIPF`: a few common tokens, a long tail of rare ones, as words in
    text), each token hashed to one of ``D`` columns (a seeded random table:
    the hashing trick, collisions included); a value is the token's count in
    the row. ``y`` is a true linear model of the columns plus noise at a
    signal-to-noise ratio of :data:`SNR` (a population R² of 0.9). Sizes:
    100,000 x 2**20 (sparse methods only: dense, it would take 400 GiB in
    float32) and 10,000 x 4,096 (small enough for the dense fit too, 160 MiB).
    ``--quick`` shrinks the first to 10,000 x 2**20 and the second to
    2,000 x 4,096.

Methods
-------
``SGDRegressor``
    ``SGDRegressor(max_iter=epochs, tol=None, random_state=0)`` on the CSR
    matrix (float64): scikit-learn's defaults (its ``invscaling`` rate, its
    ``alpha=1e-4`` L2 penalty, per-sample updates in compiled code, which
    touch only a row's non-zeros), for a fixed number of epochs. The
    reference.
``gluonlr manual``, ``gluonlr gluon``
    ``gluonlr.fit`` on the same CSR matrix with :data:`SPARSE_SETTINGS`: the
    defaults for users' data that apply to sparse data (plain SGD,
    ``standardize=True``, which scales without centring on sparse data,
    ``standardize_target=True``, ``lr="auto"``, ``reduction="mean"``,
    ``batch_size="auto"``, ``init="zeros"``), for the same epochs
    (``tol=None``).
``gluonlr manual dense``, ``gluonlr gluon dense``
    The same on ``X.toarray()`` (float64), on the small set only.

Measures
--------
Each method's fit for ``epochs`` epochs (default :data:`EPOCHS`): its wall
time (the whole ``fit`` call: conversion to float32, the standardization's
statistics, ``lr="auto"``'s estimate, everything), its throughput
``nnz * epochs / seconds`` in non-zeros a second, its training R², and its
throughput over SGDRegressor's. Then **at equal R²**: one more fit of each
gluonlr row with ``metrics=("r2",)`` (a pass over the training data after
every epoch, included in the time), stopped by a callback at the first epoch
whose training R² is at least SGDRegressor's minus :data:`R2_TOLERANCE`
(at most :data:`MAX_EPOCH_FACTOR` times ``epochs``): its epochs, its time,
and SGDRegressor's time over it, the ratio the target is about.

Target (issue 26, deliverable 5): at least SGDRegressor's throughput at equal
R² (a ratio of 1 or more), with a floor of 0.5.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse

import gluonlr  # before mxnet (and before scikit-learn)
from gluonlr.callbacks import Callback
from gluonlr.options import resolve_batch_size

# isort: split
from sklearn.linear_model import SGDRegressor
from sklearn.metrics import r2_score

#: The fixed number of epochs every method trains for.
EPOCHS = 5
#: Equal R²: within this much of SGDRegressor's.
R2_TOLERANCE = 0.005
#: The fit to SGDRegressor's R² runs at most this many times ``epochs``.
MAX_EPOCH_FACTOR = 4
#: The target's ratio, and its floor.
TARGET, FLOOR = 1.0, 0.5
#: The tokens of the hashed data, their Zipf exponent, the signal-to-noise ratio of y.
VOCABULARY, ZIPF, SNR = 1_000_000, 1.1, 9.0
#: gluonlr's settings on sparse data: the users' defaults that apply to it (epochs and tol are the benchmark's).
SPARSE_SETTINGS = {
    "optimizer": "sgd",
    "standardize": True,
    "standardize_target": True,
    "lr": "auto",
    "reduction": "mean",
    "batch_size": "auto",
    "init": "zeros",
}
GLUONLR = ("gluonlr manual", "gluonlr gluon")
DENSE = ("gluonlr manual dense", "gluonlr gluon dense")


@dataclass(frozen=True)
class DataSet:
    """A data set of the benchmark: its shape, and whether the dense fits run on it."""

    n: int
    d: int
    dense: bool

    @property
    def name(self) -> str:
        """E.g. ``hashed 100,000 x 2**20``."""
        d = f"2**{self.d.bit_length() - 1}" if self.d > 65_536 and self.d & (self.d - 1) == 0 else f"{self.d:,}"
        return f"hashed {self.n:,} x {d}"

    @property
    def methods(self) -> tuple[str, ...]:
        """The methods run on it."""
        return ("SGDRegressor", *GLUONLR, *(DENSE if self.dense else ()))


def hashed(n: int, d: int, seed: int = 0) -> tuple[Any, np.ndarray]:
    """``n`` rows of 10 to 100 Zipf-distributed tokens hashed into ``d`` columns (CSR, float64) and ``y``.

    Examples
    --------
    >>> X, y = hashed(1_000, 2**20)
    >>> X.shape, X.format, 10 <= X.nnz / 1_000 <= 100, y.shape
    ((1000, 1048576), 'csr', True, (1000,))
    """
    rng = np.random.default_rng(seed)
    counts = rng.integers(10, 101, n)
    weights = np.arange(1, VOCABULARY + 1, dtype=np.float64) ** -ZIPF
    tokens = rng.choice(VOCABULARY, size=int(counts.sum()), p=weights / weights.sum())
    table = rng.integers(0, d, VOCABULARY)  # the hash of each token
    rows = np.repeat(np.arange(n), counts)
    X = scipy.sparse.csr_matrix((np.ones(len(rows)), (rows, table[tokens])), shape=(n, d))
    X.sum_duplicates()  # a token twice in a row, or two tokens of one hash: a count of 2
    signal = X @ rng.standard_normal(d)
    return X, signal + rng.standard_normal(n) * signal.std() / np.sqrt(SNR)


def data_sets(quick: bool = False) -> list[DataSet]:
    """The benchmark's data sets; ``quick`` shrinks them (see the module's docstring)."""
    return [DataSet(10_000 if quick else 100_000, 2**20, dense=False), DataSet(2_000 if quick else 10_000, 4_096, True)]


class StopAtR2(Callback):
    """Stop the fit at the end of the first epoch whose training R² (``metrics=("r2",)``) reaches ``r2``."""

    def __init__(self, r2: float) -> None:
        self.r2 = r2

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Stop once ``logs["r2"]`` is at least the target."""
        if logs["r2"] >= self.r2:
            self.run.stop_training = True
            self.run.stop_reason = f"training R2 {logs['r2']:.5f} >= {self.r2:.5f}"


def fit_once(
    method: str,
    X: Any,
    y: np.ndarray,
    epochs: int,
    stop_at: float | None = None,
    settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Fit ``method`` on ``(X, y)`` for ``epochs`` epochs (or until ``stop_at`` R²): its time, R² and epochs.

    ``settings``: gluonlr's, :data:`SPARSE_SETTINGS` by default.
    """
    settings = SPARSE_SETTINGS if settings is None else settings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SGDRegressor's ConvergenceWarning: tol=None runs every epoch, as asked
        if method == "SGDRegressor":
            model = SGDRegressor(max_iter=epochs, tol=None, random_state=0)
            start = time.perf_counter()
            model.fit(X, y)
            seconds = time.perf_counter() - start
            return {"seconds": seconds, "r2": float(r2_score(y, model.predict(X))), "epochs": int(model.n_iter_)}
        data = X.toarray() if method in DENSE else X
        extra: dict[str, Any] = {}
        if stop_at is not None:
            extra = {"metrics": ("r2",), "callbacks": [StopAtR2(stop_at)]}
        start = time.perf_counter()
        result = gluonlr.fit(data, y, path=method.split()[1], epochs=epochs, tol=None, verbose=0, **settings, **extra)
        seconds = time.perf_counter() - start
        return {
            "seconds": seconds,
            "r2": float(result.score(X, y)),
            "epochs": len(result.history["loss"]),
            "lr": result.lr,
            "batch_size": resolve_batch_size(settings["batch_size"], X.shape[0], X.shape[1]),
        }


def warm_up() -> None:
    """Fit every method once on small data, untimed: MXNet's and scikit-learn's one-time costs paid first."""
    X, y = hashed(300, 2**12, seed=1)
    for method in ("SGDRegressor", *GLUONLR, *DENSE):
        fit_once(method, X, y, 1)


def measure(data: DataSet, epochs: int, settings: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The rows of one data set: each method's throughput and R² in ``epochs`` epochs, and the fit to equal R²."""
    X, y = hashed(data.n, data.d)
    rows = []
    for method in data.methods:
        result = fit_once(method, X, y, epochs, settings=settings)
        rows.append({"data": data.name, "n": data.n, "d": data.d, "nnz": int(X.nnz), "method": method, **result})
    sgd = rows[0]
    for row in rows:
        row["nnz_per_second"] = row["nnz"] * row["epochs"] / row["seconds"]
        row["throughput_ratio"] = row["nnz_per_second"] / sgd["nnz_per_second"]
        row["r2_gap"] = sgd["r2"] - row["r2"]
        if row["method"] == "SGDRegressor":
            continue
        target = sgd["r2"] - R2_TOLERANCE
        equal = fit_once(row["method"], X, y, MAX_EPOCH_FACTOR * epochs, stop_at=target, settings=settings)
        reached = equal["r2"] >= target
        row["equal_r2"] = {**equal, "reached": reached}
        row["ratio_at_equal_r2"] = sgd["seconds"] / equal["seconds"] if reached else None
        ratio = row["ratio_at_equal_r2"]
        row["met"] = (
            "target" if ratio is not None and ratio >= TARGET else "floor" if ratio and ratio >= FLOOR else "no"
        )
    return rows


def _met(ratio: float | None) -> str:
    """``"target"``, ``"floor"`` or ``"no"``: where a ratio at equal R² stands (None: R² not reached)."""
    if ratio is not None and ratio >= TARGET:
        return "target"
    return "floor" if ratio is not None and ratio >= FLOOR else "no"


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import mxnet  # after gluonlr (imported above)
    import sklearn

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "gluonlr": getattr(gluonlr, "__version__", "?"),
        "mxnet": mxnet.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
    }


def benchmark(
    sets: Sequence[DataSet], epochs: int = EPOCHS, warm: bool = True, batch_size: int | str = "auto"
) -> dict[str, Any]:
    """Run the benchmark on ``sets``: the report (``machine``, ``rows``, ``seconds`` the whole run took).

    ``batch_size``: gluonlr's, instead of :data:`SPARSE_SETTINGS`'s ``"auto"``.
    """
    start = time.perf_counter()
    info = machine()
    settings = {**SPARSE_SETTINGS, "batch_size": batch_size}
    if warm:
        warm_up()
    rows = [row for data in sets for row in measure(data, epochs, settings)]
    info["load_average_after"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "machine": info,
        "settings": settings,
        "epochs": epochs,
        "target": {
            "ratio": TARGET,
            "floor": FLOOR,
            "r2_tolerance": R2_TOLERANCE,
            "max_epochs": MAX_EPOCH_FACTOR * epochs,
        },
        "rows": rows,
        "seconds": time.perf_counter() - start,
    }


def _cell(value: Any, spec: str = "") -> str:
    return "-" if value is None else format(value, spec)


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def format_report(report: dict[str, Any]) -> str:
    """The report as a table, with what its columns mean."""
    info = report["machine"]
    loads = [" ".join(f"{load:.1f}" for load in loads) if loads else "?" for loads in
             (info["load_average"], info.get("load_average_after"))]  # fmt: skip
    lines = [
        f"machine: python {info['python']}, {info['platform']}, gluonlr {info['gluonlr']}, mxnet {info['mxnet']}, "
        f"numpy {info['numpy']}, scipy {info['scipy']}, sklearn {info['sklearn']}, cpu_count {info['cpu_count']}",
        f"started {info['utc']} UTC, load average {loads[0]} before, {loads[1]} after; the run took "
        f"{report['seconds']:.0f} s",
        f"gluonlr: fit(X, y, {', '.join(f'{k}={v!r}' for k, v in report['settings'].items())}, tol=None)",
        "",
    ]
    header = (
        f"{'data set':<26} {'method':<21} {'nnz/row':>7} {'epochs':>6} {'seconds':>8} {'M nnz/s':>8} {'vs SGD':>7} "
        f"{'R2 train':>9} {'R2 gap':>8} {'batch':>6} | {'to equal R2: epochs':>19} {'seconds':>8} {'vs SGD':>7} "
        f"{'met':>6}"
    )
    lines += [header, "-" * len(header)]
    for row in report["rows"]:
        equal = row.get("equal_r2")
        lines.append(
            f"{row['data']:<26} {row['method']:<21} {row['nnz'] / row['n']:>7.1f} {row['epochs']:>6} "
            f"{row['seconds']:>8.3f} {row['nnz_per_second'] / 1e6:>8.2f} {row['throughput_ratio']:>6.2f}x "
            f"{row['r2']:>9.5f} {row['r2_gap']:>+8.5f} {_cell(row.get('batch_size')):>6} | "
            + (
                f"{equal['epochs']:>19}{'' if equal['reached'] else '+'} {equal['seconds']:>8.3f} "
                f"{_ratio(row['ratio_at_equal_r2']):>7} {row['met']:>6}"
                if equal
                else f"{'-':>19} {'-':>8} {'-':>7} {'-':>6}"
            )
        )
    target = report["target"]
    lines += [
        "",
        f"epochs, seconds, M nnz/s: each method's fit for {report['epochs']} epochs (the whole call), and its "
        "throughput, non-zeros x epochs / seconds; vs SGD: that throughput over SGDRegressor's",
        "R2 train: the training R2 after those epochs; R2 gap: SGDRegressor's R2 - the row's; batch: "
        "batch_size='auto' resolved",
        f"to equal R2: one more fit with metrics=('r2',), stopped at the first epoch whose training R2 >= "
        f"SGDRegressor's - {target['r2_tolerance']} (at most {target['max_epochs']} epochs; '+': not reached), "
        "its seconds, and SGDRegressor's seconds over them",
        f"met: 'target' at {target['ratio']:g}x or more at equal R2, 'floor' at {target['floor']:g}x or more, else "
        "'no'",
    ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line's options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1e4 x 2**20 and 2,000 x 4,096 instead of 1e5 and 1e4")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON document, nothing else")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"epochs of every fit (default {EPOCHS})")
    parser.add_argument(
        "--batch-size",
        type=lambda text: text if text == "auto" else int(text),
        default="auto",
        help="gluonlr's batch size (default: auto, the users' default)",
    )
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="run only the data sets whose name contains NAME, e.g. 4,096"
    )
    return parser.parse_args(argv)


def select(sets: Sequence[DataSet], only: Sequence[str] | None) -> list[DataSet]:
    """The data sets whose name contains one of ``only`` (all without ``only``); an error if none does.

    Examples
    --------
    >>> [data.name for data in select(data_sets(quick=True), ["4,096"])]
    ['hashed 2,000 x 4,096']
    """
    chosen = [data for data in sets if not only or any(name in data.name for name in only)]
    if not chosen:
        names = ", ".join(data.name for data in sets)
        raise SystemExit(f"--only {' '.join(only or [])}: no data set has such a name ({names})")
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its table (or ``--json``)."""
    args = parse_args(argv)
    report = benchmark(select(data_sets(args.quick), args.only), args.epochs, batch_size=args.batch_size)
    print(json.dumps(report, indent=1) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
