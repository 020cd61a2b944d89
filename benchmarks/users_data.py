"""Speed to a converged model on users' data: gluonlr's estimator defaults against scikit-learn, in one process.

Usage::

    python benchmarks/users_data.py [--quick] [--json] [--repeats N]

Data sets
---------
``diabetes``
    ``sklearn.datasets.load_diabetes(return_X_y=True, scaled=False)``: 442 x 10
    in raw units (age in years, blood pressure in mm Hg, ...).
``synthetic N x D``
    :func:`synthetic`: seeded features on mixed scales and offsets, as users'
    data are (column ``j`` is ``offset_j + scale_j * z_j`` with ``z`` standard
    normal, ``scale_j = 10**uniform(-2, 3)`` and ``offset_j`` up to 5 scales
    away from 0), and ``y`` a true linear model of them plus noise at a
    signal-to-noise ratio of :data:`SNR` (a population R² of 0.9), in units
    of its own (times 10, plus 100). Sizes 1e3 x 10, 1e4 x 10, 1e5 x 100,
    1e6 x 10, and the wide 2,000 x 5,000 (more features than rows).
    ``--quick`` shrinks the 1e5 x 100 set to 1e4 x 100, the 1e6 x 10 set to
    1e5 x 10 and the wide one to 500 x 1,250.

Methods
-------
``least squares``
    ``LinearRegression()``: the exact least-squares fit, the reference of the R²
    gap (except on a wide set, below).
``Ridge``
    ``Ridge()`` (alpha 1, on the raw features).
``SGDRegressor``
    ``make_pipeline(StandardScaler(), SGDRegressor(random_state=0))``:
    scikit-learn's defaults (``max_iter=1000``, ``tol=1e-3``,
    ``n_iter_no_change=5``), seeded. The time reference.
``gluonlr manual``, ``gluonlr gluon``
    ``gluonlr.sklearn.LinearRegressor`` with the estimator's defaults (the
    options' ``default_on("estimator")``: standardized features and target,
    ``lr="auto"``, mean reduction, zero start, batch 256, at most 1,000 epochs
    with ``tol=1e-4`` and ``n_iter_no_change=5``) on each path.

Each fit starts from the data set's numpy arrays (float64) and its time is the
whole ``fit`` call, conversions and checks included. R² is the training R²
(``r2_score(y, model.predict(X))``). On a wide set least squares interpolates
(R² = 1, nothing to compare a regularized or stopped fit with), so the
reference there is ``Ridge``'s R².

Target (issue 22): a gluonlr row is met when its R² is within
:data:`R2_TOLERANCE` of the reference's or at least ``SGDRegressor``'s, in at
most :data:`TIME_FACTOR` times ``SGDRegressor``'s time.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import gluonlr  # before mxnet (and before scikit-learn, whose imports may pull numpy's threads in first)
import gluonlr.options
import gluonlr.sklearn
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression, Ridge, SGDRegressor
from sklearn.metrics import r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

#: The target: within this much R² of the reference ...
R2_TOLERANCE = 0.005
#: ... (or at least SGDRegressor's R²) in at most this many times SGDRegressor's time.
TIME_FACTOR = 20.0
#: The synthetic sets' signal-to-noise ratio (variance of the true model's output over the noise's): R² 0.9.
SNR = 9.0
METHODS = ("least squares", "Ridge", "SGDRegressor", "gluonlr manual", "gluonlr gluon")
REFERENCE_TIME = "SGDRegressor"


@dataclasses.dataclass(frozen=True)
class DataSet:
    """A data set of the benchmark: its name, shape, how to make it and how many timed rounds it gets."""

    name: str
    n: int
    d: int
    make: Callable[[], tuple[np.ndarray, np.ndarray]]
    repeats: int

    @property
    def wide(self) -> bool:
        """More features than rows: least squares interpolates, Ridge is the reference."""
        return self.d >= self.n

    @property
    def reference(self) -> str:
        """The method whose R² the gaps are measured from."""
        return "Ridge" if self.wide else "least squares"


def synthetic(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` x ``d`` features on mixed scales and offsets and a linear target with noise at :data:`SNR`.

    Examples
    --------
    >>> X, y = synthetic(1000, 3)
    >>> X.shape, y.shape, X.dtype
    ((1000, 3), (1000,), dtype('float64'))
    """
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, d))
    scale = 10.0 ** rng.uniform(-2, 3, d)
    offset = scale * rng.uniform(-5, 5, d)
    beta = rng.standard_normal(d)  # the true weights of the standardized features
    signal = z @ beta
    noise = rng.standard_normal(n) * np.sqrt(beta @ beta / SNR)
    return offset + scale * z, 100.0 + 10.0 * (signal + noise)


def diabetes() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's diabetes data in raw units, 442 x 10."""
    X, y = load_diabetes(return_X_y=True, scaled=False)
    return X, y


def synthetic_set(n: int, d: int, repeats: int, seed: int = 0) -> DataSet:
    """A :class:`DataSet` of :func:`synthetic` data."""
    return DataSet(f"synthetic {n:,} x {d:,}", n, d, lambda: synthetic(n, d, seed), repeats)


def data_sets(quick: bool = False, repeats: int | None = None) -> list[DataSet]:
    """The benchmark's data sets; ``quick`` shrinks the large ones (see the module's docstring)."""

    def rounds(full: int) -> int:
        return repeats if repeats is not None else (max(1, full - 2) if quick else full)

    return [
        DataSet("diabetes", 442, 10, diabetes, rounds(5)),
        synthetic_set(1_000, 10, rounds(5)),
        synthetic_set(10_000, 10, rounds(5)),
        synthetic_set(10_000 if quick else 100_000, 100, rounds(3)),
        synthetic_set(100_000 if quick else 1_000_000, 10, rounds(3)),
        synthetic_set(500 if quick else 2_000, 1_250 if quick else 5_000, rounds(3)),
    ]


def estimator_defaults() -> dict[str, Any]:
    """The estimator's defaults for users' data, from the options' table.

    Equal to ``LinearRegressor()``'s own defaults once its ``__init__`` takes
    them; until then this is how to build the estimator users will get.
    """
    return {o.name: o.default_on("estimator") for o in gluonlr.options.options_of("estimator")}


def make_model(method: str) -> Any:
    """A fresh, unfitted model of ``method`` (one of :data:`METHODS`)."""
    if method == "least squares":
        return LinearRegression()
    if method == "Ridge":
        return Ridge()
    if method == "SGDRegressor":
        return make_pipeline(StandardScaler(), SGDRegressor(random_state=0))
    path = method.removeprefix("gluonlr ")
    # The users' defaults, as LinearRegressor() will have them (see estimator_defaults), on the path.
    return gluonlr.sklearn.LinearRegressor(
        **{**{o.name: o.default_on("estimator") for o in gluonlr.options.options_of("estimator")}, "path": path}
    )


def iterations(model: Any) -> int | None:
    """Epochs (gluonlr, SGDRegressor) the fit ran, or None for the direct solvers."""
    last = model[-1] if hasattr(model, "steps") else model
    n_iter = getattr(last, "n_iter_", None)
    return None if n_iter is None else int(np.max(n_iter))


def fit_once(method: str, X: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, Any]]:
    """Fit a fresh ``method`` model on ``(X, y)``: the fit's wall time and what the fit gave.

    Warnings are recorded, not raised nor shown: ``ConvergenceWarning`` (scikit-learn's, which the estimator
    emits for gluonlr's) means the fit ran out of epochs.
    """
    model = make_model(method)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - start
        r2 = float(r2_score(y, model.predict(X)))
    names = sorted({warning.category.__name__ for warning in caught})
    return seconds, {
        "r2": r2,
        "epochs": iterations(model),
        "converged": None if iterations(model) is None else "ConvergenceWarning" not in names,
        "warnings": names,
        "first_warning": str(caught[0].message).split("\n")[0][:200] if caught else None,
    }


def interleave(runs: dict[str, Callable[[], Any]], repeats: int) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """``repeats`` timed rounds of ``runs``, each called once a round in turn: each run's times and last result.

    benchmarks/run.py's ``take_turns``, without its untimed warm-up of each run (a fit of a million rows is too
    long to throw away): :func:`warm_up` runs every method once on small data first, so MXNet's and
    scikit-learn's one-time costs are paid before any timing. ``run`` returns ``(seconds, result)``: a fit
    times itself, leaving out making the model and scoring it.
    """
    times: dict[str, list[float]] = {name: [] for name in runs}
    results: dict[str, Any] = {}
    for _ in range(repeats):
        for name, run in runs.items():
            seconds, results[name] = run()
            times[name].append(seconds)
    return times, results


def warm_up() -> None:
    """Fit every method once on small data (and a wide one), untimed."""
    for n, d in ((300, 5), (50, 80)):
        X, y = synthetic(n, d, seed=1)
        for method in METHODS:
            fit_once(method, X, y)


def measure(data: DataSet, methods: Sequence[str] = METHODS) -> list[dict[str, Any]]:
    """The rows of one data set: each method's median time, R², gap to the reference, epochs and the target."""
    X, y = data.make()
    times, results = interleave({method: (lambda m=method: fit_once(m, X, y)) for method in methods}, data.repeats)
    reference_r2 = results[data.reference]["r2"]
    sgd_seconds = statistics.median(times[REFERENCE_TIME])
    sgd_r2 = results[REFERENCE_TIME]["r2"]
    rows = []
    for method in methods:
        seconds = statistics.median(times[method])
        result = results[method]
        row = {
            "data": data.name,
            "n": data.n,
            "d": data.d,
            "method": method,
            "seconds": seconds,
            "times": times[method],
            "ratio": seconds / sgd_seconds,
            **result,
            "reference": data.reference,
            "gap": reference_r2 - result["r2"],
            "met": None,
        }
        if method.startswith("gluonlr"):
            accurate = row["gap"] <= R2_TOLERANCE or result["r2"] >= sgd_r2
            row["accurate"] = accurate
            row["met"] = accurate and row["ratio"] <= TIME_FACTOR
            steps = -(-data.n // 256) if data.n > 256 else 1  # batch_size="auto": 256 rows, or all when fewer
            row["steps_per_epoch"] = steps
            row["us_per_step"] = seconds / (steps * result["epochs"]) * 1e6 if result["epochs"] else None
        rows.append(row)
    return rows


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
        "sklearn": sklearn.__version__,
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
    }


def benchmark(sets: Sequence[DataSet], methods: Sequence[str] = METHODS, warm: bool = True) -> dict[str, Any]:
    """Run the benchmark on ``sets``: the report (``machine``, ``rows``, ``seconds`` the whole run took)."""
    start = time.perf_counter()
    info = machine()
    if warm:
        warm_up()
    rows = [row for data in sets for row in measure(data, methods)]
    info["load_average_after"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "machine": info,
        "target": {"r2_tolerance": R2_TOLERANCE, "time_factor": TIME_FACTOR, "time_reference": REFERENCE_TIME},
        "repeats": {data.name: data.repeats for data in sets},
        "rows": rows,
        "seconds": time.perf_counter() - start,
    }


def _cell(value: Any, spec: str = "") -> str:
    return "-" if value is None else format(value, spec)


def format_report(report: dict[str, Any]) -> str:
    """The report as a table, with what its columns mean."""
    info = report["machine"]
    lines = [
        f"machine: python {info['python']}, {info['platform']}, gluonlr {info['gluonlr']}, mxnet {info['mxnet']}, "
        f"numpy {info['numpy']}, sklearn {info['sklearn']}, cpu_count {info['cpu_count']}",
        f"started {info['utc']} UTC, load average {_loads(info['load_average'])} before, "
        f"{_loads(info.get('load_average_after'))} after; the run took {report['seconds']:.0f} s",
        "",
    ]
    header = (
        f"{'data set':<24} {'method':<15} {'median s':>9} {'vs SGD':>8} {'R2 train':>9} {'gap':>9} {'epochs':>6} "
        f"{'conv.':>5} {'met':>4} {'us/step':>8}  warnings"
    )
    lines += [header, "-" * len(header)]
    for row in report["rows"]:
        lines.append(
            f"{row['data']:<24} {row['method']:<15} {row['seconds']:>9.4f} {row['ratio']:>7.2f}x {row['r2']:>9.5f} "
            f"{row['gap']:>+9.5f} {_cell(row['epochs']):>6} "
            f"{_cell(None if row['converged'] is None else ('yes' if row['converged'] else 'NO')):>5} "
            f"{_cell(None if row['met'] is None else ('yes' if row['met'] else 'NO')):>4} "
            f"{_cell(row.get('us_per_step'), '.0f'):>8}  {', '.join(row['warnings']) or '-'}"
        )
    target = report["target"]
    lines += [
        "",
        f"median s: median wall time of a fit over the set's rounds ({_rounds(report['repeats'])}), the methods "
        "taking turns; vs SGD = median s / SGDRegressor's",
        "gap = the reference's R2 - the row's (least squares'; on a set with more features than rows, Ridge's)",
        f"met (gluonlr rows): gap <= {target['r2_tolerance']} or R2 >= SGDRegressor's, and vs SGD <= "
        f"{target['time_factor']:g}x; epochs: n_iter_; conv. NO: a ConvergenceWarning (epochs ran out)",
        "us/step: a gluonlr fit's time / (epochs x batches an epoch), everything in fit included",
    ]
    return "\n".join(lines)


def _loads(loads: Sequence[float] | None) -> str:
    return "?" if loads is None else " ".join(f"{load:.1f}" for load in loads)


def _rounds(repeats: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in repeats.items())


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line's options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shrink the large sets (1e5 x 100, 1e6 x 10, wide)")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON document, nothing else")
    parser.add_argument("--repeats", type=int, default=None, help="timed rounds of every set (default: 3 to 5)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its table (or ``--json``)."""
    args = parse_args(argv)
    report = benchmark(data_sets(args.quick, args.repeats))
    print(json.dumps(report, indent=1) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
