"""Speed to a converged model on users' data: gluonlr's estimator defaults against scikit-learn, in one process.

Usage::

    python benchmarks/users_data.py [--quick] [--json] [--repeats N] [--no-breakdown] [--only NAME]

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
    ``lr="auto"``, mean reduction, zero start, ``batch_size="auto"``, at most
    1,000 epochs with ``tol=1e-5`` and ``n_iter_no_change=5``) on each path,
    passed explicitly (:func:`estimator_with_users_defaults`).

Each fit starts from the data set's numpy arrays (float64) and its time is the
whole ``fit`` call, conversions and checks included. R² is the training R²
(``r2_score(y, model.predict(X))``). On a wide set least squares interpolates
(R² = 1, nothing to compare a regularized or stopped fit with), so the
reference there is ``Ridge``'s R², and least squares is not run (``lstsq`` of
2,000 x 5,000 takes minutes). Each fit's CPU time (the process's, all threads)
is recorded too: steadier than wall time on a shared machine.

After the timed rounds, one more fit of each gluonlr path per data set is
timed by phase (:func:`phase_seconds`: the estimator's validation, ``fit``'s
data phase, ``lr="auto"``'s estimate, the learner, the epochs) to say where
the time goes; ``--no-breakdown`` skips it.

Target (issue 22): a gluonlr row is met when its R² is within
:data:`R2_TOLERANCE` of the reference's or at least ``SGDRegressor``'s, in at
most :data:`TIME_FACTOR` times ``SGDRegressor``'s time.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

import gluonlr  # before mxnet (and before scikit-learn, whose imports may pull numpy's threads in first)
import gluonlr.options
import gluonlr.phases
import gluonlr.sklearn
from gluonlr.options import resolve_batch_size

# isort: split
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


def users_defaults() -> dict[str, Any]:
    """The estimator's options whose default for users' data differs from ``fit``'s, at that default.

    From the options' table: ``OPTIONS[name].default_on("estimator")`` where it is not ``OPTIONS[name].default``
    (standardized features and target, ``lr="auto"``, mean reduction, zero start, ``batch_size="auto"``, at most
    1,000 epochs with ``tol=1e-5``).
    """
    return {
        option.name: option.default_on("estimator")
        for option in gluonlr.options.options_of("estimator")
        if option.default_on("estimator") != option.default
    }


def estimator_with_users_defaults(path: str) -> gluonlr.sklearn.LinearRegressor:
    """``LinearRegressor(path=path)`` with the defaults for users' data, passed explicitly.

    Once ``LinearRegressor()``'s own defaults are the table's ``default_on("estimator")``, this is
    ``LinearRegressor(path=path)``; passing them keeps the benchmark measuring the same thing before and after.
    """
    return gluonlr.sklearn.LinearRegressor(**users_defaults(), path=path)


def users_batch_size(n_samples: int, n_features: int) -> int:
    """The batch size of the users' defaults on ``n_samples`` rows of ``n_features`` (``"auto"`` resolved)."""
    batch_size = users_defaults().get("batch_size", gluonlr.options.OPTIONS["batch_size"].default)
    return resolve_batch_size(batch_size, n_samples, n_features)


def make_model(method: str) -> Any:
    """A fresh, unfitted model of ``method`` (one of :data:`METHODS`)."""
    if method == "least squares":
        return LinearRegression()
    if method == "Ridge":
        return Ridge()
    if method == "SGDRegressor":
        return make_pipeline(StandardScaler(), SGDRegressor(random_state=0))
    return estimator_with_users_defaults(method.removeprefix("gluonlr "))


def iterations(model: Any) -> int | None:
    """Epochs (gluonlr, SGDRegressor) the fit ran, or None for the direct solvers."""
    last = model[-1] if hasattr(model, "steps") else model
    n_iter = getattr(last, "n_iter_", None)
    return None if n_iter is None else int(np.max(n_iter))


def fit_once(method: str, X: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, Any]]:
    """Fit a fresh ``method`` model on ``(X, y)``: the fit's wall time and what the fit gave.

    What the fit gave includes ``cpu``, the process's CPU time during the fit (every thread's: MXNet's engine
    and BLAS's too), steadier than the wall time on a machine shared with other work. Warnings are recorded,
    not raised nor shown: ``ConvergenceWarning`` (scikit-learn's, which the estimator emits for gluonlr's)
    means the fit ran out of epochs.
    """
    model = make_model(method)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cpu = time.process_time()
        start = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu
        r2 = float(r2_score(y, model.predict(X)))
    names = sorted({warning.category.__name__ for warning in caught})
    return seconds, {
        "cpu": cpu,
        "r2": r2,
        "epochs": iterations(model),
        "converged": None if iterations(model) is None else "ConvergenceWarning" not in names,
        "warnings": names,
        "first_warning": str(caught[0].message).split("\n")[0][:200] if caught else None,
    }


#: The phases of a gluonlr fit :func:`phase_seconds` times: ``(module, function, phase)``. ``validate`` is the
#: estimator's own part, before and after :func:`gluonlr.fit`.
PHASES = (
    ("gluonlr.sklearn", "gluonlr_fit", "fit"),
    ("gluonlr.fit", "prepare_data", "data"),
    ("gluonlr.fit", "build_learner", "build"),
    ("gluonlr.phases", "auto_lr", "lr_auto"),
    ("gluonlr.fit", "train_to_result", "train"),
)


@contextlib.contextmanager
def timing_phases() -> Iterator[dict[str, float]]:
    """Within ``with``: the wall seconds spent in each function of :data:`PHASES`, summed over its calls.

    Each is replaced, in the module that calls it, by a timing wrapper, and put back on exit.
    """
    seconds = {phase: 0.0 for _, _, phase in PHASES}
    replaced = []

    def timed(function: Callable[..., Any], phase: str) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                seconds[phase] += time.perf_counter() - start

        return wrapper

    try:
        for module_name, name, phase in PHASES:
            module = sys.modules[module_name]
            original = getattr(module, name)  # an AttributeError if gluonlr renamed it: tests/ runs this
            replaced.append((module, name, original))
            setattr(module, name, timed(original, phase))
        yield seconds
    finally:
        for module, name, original in replaced:
            setattr(module, name, original)


def phase_seconds(method: str, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Where one more fit of a gluonlr ``method`` spends its wall time, in seconds by phase.

    ``validate``: the estimator's checks and conversion to float32 (scikit-learn's ``validate_data``, which
    checks for NaN and infinity) and its attributes; ``data``: ``fit``'s data phase (the standardization's
    statistics, the target's); ``lr_auto``: ``lr="auto"``'s estimate of the largest eigenvalue; ``build``: the
    rest of making the learner (the parameters on the device); ``train``: the epochs (steps, the epoch loss's read,
    the callbacks: convergence, divergence guard) and the result. ``steps`` the optimizer's updates.
    """
    with timing_phases() as seconds:
        seconds["total"], result = fit_once(method, X, y)
    phases = {
        "validate": seconds["total"] - seconds["fit"],
        "data": seconds["data"],
        "lr_auto": seconds["lr_auto"],
        "build": seconds["build"] - seconds["lr_auto"],
        "train": seconds["train"],
        "total": seconds["total"],
    }
    phases["other"] = phases["total"] - sum(phases[key] for key in ("validate", "data", "lr_auto", "build", "train"))
    batch = users_batch_size(*X.shape)
    phases["steps"] = -(-len(X) // batch) * (result["epochs"] or 0)
    phases["batch_size"] = batch
    return phases


def interleave(runs: dict[str, Callable[[], Any]], repeats: int) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """``repeats`` timed rounds of ``runs``, each called once a round in turn: each run's times and last result.

    benchmarks/run.py's ``take_turns``, without its untimed warm-up of each run (a fit of a million rows is too
    long to throw away): :func:`warm_up` runs every method once on small data first, so MXNet's and
    scikit-learn's one-time costs are paid before any timing. ``run`` returns ``(seconds, result)``: a fit
    times itself, leaving out making the model and scoring it. The results' ``cpu`` become a list of each round's.
    """
    times: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    results: dict[str, Any] = {}
    for _ in range(repeats):
        for name, run in runs.items():
            seconds, results[name] = run()
            times[name].append(seconds)
            cpu[name].append(results[name]["cpu"])
    for name in runs:
        results[name]["cpu"] = cpu[name]
    return times, results


def warm_up() -> None:
    """Fit every method once on small data (and a wide one), untimed."""
    for n, d in ((300, 5), (50, 80)):
        X, y = synthetic(n, d, seed=1)
        for method in METHODS:
            fit_once(method, X, y)


def measure(data: DataSet, methods: Sequence[str] = METHODS, breakdown: bool = True) -> list[dict[str, Any]]:
    """The rows of one data set: each method's median time, R², gap to the reference, epochs and the target.

    On a wide set least squares is not run (it interpolates: R² 1, and ``lstsq`` of 2,000 x 5,000 takes
    minutes). ``breakdown``: each gluonlr row also gets :func:`phase_seconds` of one more fit.
    """
    X, y = data.make()
    methods = [method for method in methods if not (data.wide and method == "least squares")]
    times, results = interleave({method: (lambda m=method: fit_once(m, X, y)) for method in methods}, data.repeats)
    reference_r2 = results[data.reference]["r2"]
    sgd_seconds = statistics.median(times[REFERENCE_TIME])
    sgd_cpu = statistics.median(results[REFERENCE_TIME]["cpu"])
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
            "cpu_seconds": statistics.median(result["cpu"]),
            "cpu_ratio": statistics.median(result["cpu"]) / sgd_cpu,
            "reference": data.reference,
            "gap": reference_r2 - result["r2"],
            "met": None,
        }
        if method.startswith("gluonlr"):
            accurate = row["gap"] <= R2_TOLERANCE or result["r2"] >= sgd_r2
            row["accurate"] = accurate
            row["fast"] = row["ratio"] <= TIME_FACTOR
            row["met"] = accurate and row["fast"]
            batch = users_batch_size(data.n, data.d)
            row["batch_size"] = batch
            row["steps_per_epoch"] = -(-data.n // batch)
            steps = row["steps_per_epoch"] * (result["epochs"] or 0)
            row["us_per_step"] = seconds / steps * 1e6 if steps else None
            if breakdown:
                row["phases"] = phase_seconds(method, X, y)
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


def benchmark(
    sets: Sequence[DataSet], methods: Sequence[str] = METHODS, warm: bool = True, breakdown: bool = True
) -> dict[str, Any]:
    """Run the benchmark on ``sets``: the report (``machine``, ``rows``, ``seconds`` the whole run took)."""
    start = time.perf_counter()
    info = machine()
    if warm:
        warm_up()
    rows = [row for data in sets for row in measure(data, methods, breakdown)]
    info["load_average_after"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "machine": info,
        "users_defaults": users_defaults(),
        "target": {"r2_tolerance": R2_TOLERANCE, "time_factor": TIME_FACTOR, "time_reference": REFERENCE_TIME},
        "repeats": {data.name: data.repeats for data in sets},
        "rows": rows,
        "seconds": time.perf_counter() - start,
    }


def _cell(value: Any, spec: str = "") -> str:
    return "-" if value is None else format(value, spec)


def _r2(value: float, sign: str = "") -> str:
    """An R² (or a gap) to 5 decimals, or in exponent notation when it is too large for that (a diverged fit)."""
    return format(value, f"{sign}.5f") if abs(value) < 1_000 else format(value, f"{sign}.2e")


def _yes(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "NO")


def format_report(report: dict[str, Any]) -> str:
    """The report as a table, with what its columns mean, and the gluonlr fits' breakdown by phase."""
    info = report["machine"]
    lines = [
        f"machine: python {info['python']}, {info['platform']}, gluonlr {info['gluonlr']}, mxnet {info['mxnet']}, "
        f"numpy {info['numpy']}, sklearn {info['sklearn']}, cpu_count {info['cpu_count']}",
        f"started {info['utc']} UTC, load average {_loads(info['load_average'])} before, "
        f"{_loads(info.get('load_average_after'))} after; the run took {report['seconds']:.0f} s",
        f"gluonlr: LinearRegressor({', '.join(f'{k}={v!r}' for k, v in report['users_defaults'].items())})",
        "",
    ]
    header = (
        f"{'data set':<24} {'method':<15} {'median s':>9} {'vs SGD':>8} {'cpu s':>8} {'cpu vs':>7} {'R2 train':>9} "
        f"{'gap':>9} {'epochs':>6} {'conv.':>5} {'met':>4} {'batch':>6} {'us/step':>8}  warnings"
    )
    lines += [header, "-" * len(header)]
    for row in report["rows"]:
        lines.append(
            f"{row['data']:<24} {row['method']:<15} {row['seconds']:>9.4f} {row['ratio']:>7.2f}x "
            f"{row['cpu_seconds']:>8.4f} {row['cpu_ratio']:>6.2f}x {_r2(row['r2']):>9} {_r2(row['gap'], '+'):>9} "
            f"{_cell(row['epochs']):>6} {_yes(row['converged']):>5} {_yes(row['met']):>4} "
            f"{_cell(row.get('batch_size')):>6} {_cell(row.get('us_per_step'), '.0f'):>8}  "
            f"{', '.join(row['warnings']) or '-'}"
        )
    target = report["target"]
    lines += [
        "",
        f"median s: median wall time of a fit over the set's rounds ({_rounds(report['repeats'])}), the methods "
        "taking turns; vs SGD = median s / SGDRegressor's; cpu s, cpu vs: the same of the process's CPU time",
        "gap = the reference's R2 - the row's (least squares'; on a set with more features than rows, Ridge's: "
        "least squares interpolates there, R2 1, and is not run)",
        f"met (gluonlr rows): gap <= {target['r2_tolerance']} or R2 >= SGDRegressor's, and vs SGD <= "
        f"{target['time_factor']:g}x; epochs: n_iter_; conv. NO: a ConvergenceWarning (epochs ran out)",
        "batch: batch_size='auto' resolved; us/step: a gluonlr fit's time / (epochs x batches an epoch), "
        "everything in fit included",
    ]
    broken = [row for row in report["rows"] if "phases" in row]
    if broken:
        lines += ["", "Where a gluonlr fit's wall time goes (one more fit, each phase timed; seconds and share):", ""]
        names = ("validate", "data", "lr_auto", "build", "train", "other")
        header = f"{'data set':<24} {'method':<15} {'total s':>8} " + " ".join(f"{name:>15}" for name in names)
        header += f" {'steps':>6} {'train us/step':>13}"
        lines += [header, "-" * len(header)]
        for row in broken:
            phases = row["phases"]
            cells = " ".join(f"{phases[name]:>8.4f} {phases[name] / phases['total']:>5.0%}".rjust(15) for name in names)
            per_step = phases["train"] / phases["steps"] * 1e6 if phases["steps"] else None
            lines.append(
                f"{row['data']:<24} {row['method']:<15} {phases['total']:>8.4f} {cells} {phases['steps']:>6} "
                f"{_cell(per_step, '.0f'):>13}"
            )
        lines += [
            "",
            "validate: the estimator's checks (NaN/infinity) and float32 conversion; data: fit's data phase "
            "(standardization statistics); lr_auto: lr='auto''s eigenvalue estimate; build: the learner (parameters "
            "on the device); train: the epochs (steps, the epoch loss read once an epoch, the callbacks) and the "
            "result",
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
    parser.add_argument(
        "--no-breakdown", action="store_true", help="skip the extra gluonlr fit per set that times its phases"
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run only the data sets whose name contains NAME (repeatable), e.g. --only diabetes",
    )
    return parser.parse_args(argv)


def select(sets: Sequence[DataSet], only: Sequence[str] | None) -> list[DataSet]:
    """The data sets whose name contains one of ``only`` (all of them without ``only``); an error if none does.

    Examples
    --------
    >>> [data.name for data in select(data_sets(quick=True), ["diabetes", "1,000 x"])]
    ['diabetes', 'synthetic 1,000 x 10']
    """
    chosen = [data for data in sets if not only or any(name in data.name for name in only)]
    if not chosen:
        raise SystemExit(f"--only {' '.join(only or [])}: no data set has such a name ({_names(sets)})")
    return chosen


def _names(sets: Sequence[DataSet]) -> str:
    return ", ".join(data.name for data in sets)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its table (or ``--json``)."""
    args = parse_args(argv)
    report = benchmark(select(data_sets(args.quick, args.repeats), args.only), breakdown=not args.no_breakdown)
    print(json.dumps(report, indent=1) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
