"""The estimator's defaults on public data sets that ship inside packages, against least squares and SGDRegressor.

Issue 22's target, checked on data nobody tuned for: for each data set, the training R² of
``LinearRegressor()`` (the users' data defaults, both paths) against least squares' (``LinearRegression``)
and scikit-learn's ``SGDRegressor`` after a ``StandardScaler`` (defaults, seeded), and the fit's wall time
against ``SGDRegressor``'s, all in one process. A row meets the target when its R² is within 0.005 of least
squares' or at least ``SGDRegressor``'s, in at most 20x its time.

The data sets: scikit-learn's diabetes, and every statsmodels data set whose target and numeric regressors load
as a 1-D target and a matrix (``statsmodels.datasets.<name>.load_pandas()``: its ``endog`` and the numeric
columns of its ``exog``; rows with a missing value dropped). statsmodels is not a dependency of gluonlr:
``pip install statsmodels`` to run this (without it, diabetes alone).

Run ``python benchmarks/public_data.py`` (about a minute), ``--json`` for one JSON document.
"""

from __future__ import annotations

import argparse
import importlib
import json
import time
import warnings
from collections.abc import Collection, Iterator, Sequence
from typing import Any

import numpy as np

#: The statsmodels data sets tried (the ones with a numeric target); those that do not load as described are skipped.
STATSMODELS_SETS = (
    "anes96", "cancer", "ccard", "committee", "copper", "cpunish", "engel", "fair", "grunfeld", "longley",
    "modechoice", "randhie", "scotland", "spector", "stackloss", "statecrime", "strikes",
)  # fmt: skip

R2_TOLERANCE = 0.005
TIME_FACTOR = 20.0


def data_sets(only: Collection[str] | None = None) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """Yield ``(name, X, y)``: diabetes, then each statsmodels set that loads (none without statsmodels).

    ``only``: these names alone.
    """
    from sklearn.datasets import load_diabetes

    if only is None or "diabetes" in only:
        X, y = load_diabetes(return_X_y=True)
        yield "diabetes", X, y
    names = [name for name in STATSMODELS_SETS if only is None or name in only]
    if not names:
        return
    try:
        datasets = importlib.import_module("statsmodels.datasets")
    except ImportError:
        return
    for name in names:
        try:
            loaded = getattr(datasets, name).load_pandas()
        except (AttributeError, ValueError, OSError):
            continue
        X = loaded.exog.select_dtypes("number").to_numpy(np.float64)
        y = np.asarray(loaded.endog, np.float64)
        if y.ndim != 1 or len(y) != len(X) or X.ndim != 2 or X.shape[1] == 0:
            continue
        rows = np.isfinite(X).all(axis=1) & np.isfinite(y)
        yield name, X[rows], y[rows]


def _timed(model: Any, X: np.ndarray, y: np.ndarray) -> tuple[Any, float]:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    return model, time.perf_counter() - start


def measure(name: str, X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Return the row of one data set: R² and seconds of least squares, SGDRegressor and gluonlr's two paths."""
    from sklearn.linear_model import LinearRegression, SGDRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from gluonlr.sklearn import LinearRegressor

    least_squares = LinearRegression().fit(X, y).score(X, y)
    sgd, sgd_seconds = _timed(make_pipeline(StandardScaler(), SGDRegressor(random_state=0)), X, y)
    row: dict[str, Any] = {
        "data set": name,
        "shape": list(X.shape),
        "least squares": least_squares,
        "SGDRegressor": sgd.score(X, y),
        "SGDRegressor s": sgd_seconds,
    }
    for path in ("manual", "gluon"):
        _timed(LinearRegressor(path=path), X[:20], y[:20])  # warm: the first fit of a path builds its operators
        model, seconds = _timed(LinearRegressor(path=path), X, y)
        r2 = model.score(X, y)
        accurate = r2 >= least_squares - R2_TOLERANCE or r2 >= row["SGDRegressor"]
        row[path] = {
            "r2": r2,
            "seconds": seconds,
            "vs SGD": seconds / sgd_seconds,
            "epochs": model.n_iter_,
            "converged": model.converged_,
            "accurate": bool(accurate),
            "met": bool(accurate and seconds <= TIME_FACTOR * sgd_seconds),
        }
    return row


def format_rows(rows: Sequence[dict[str, Any]]) -> str:
    """Return the table of ``rows``, then how many meet the target's accuracy and its time."""
    lines = [
        f"{'data set':<12} {'rows x cols':>12} {'least sq.':>9} {'SGD':>8}   "
        f"{'manual':>8} {'epochs':>6} {'vs SGD':>7}   {'gluon':>8} {'epochs':>6} {'vs SGD':>7}  accurate",
    ]
    lines.append("-" * len(lines[0]))
    for row in rows:
        paths = "   ".join(
            f"{row[path]['r2']:8.4f} {row[path]['epochs']:6d} {row[path]['vs SGD']:6.1f}x"
            for path in ("manual", "gluon")
        )
        accurate = "yes" if row["manual"]["accurate"] and row["gluon"]["accurate"] else "NO"
        shape = f"{row['shape'][0]} x {row['shape'][1]}"
        references = f"{row['least squares']:9.4f} {row['SGDRegressor']:8.4f}"
        lines.append(f"{row['data set']:<12} {shape:>12} {references}   {paths}  {accurate}")
    results = [row[path] for row in rows for path in ("manual", "gluon")]
    lines += [
        "",
        f"accurate (R2 within {R2_TOLERANCE} of least squares or >= SGDRegressor's): "
        f"{sum(r['accurate'] for r in results)} of {len(results)} fits; "
        f"also within {TIME_FACTOR:g}x SGDRegressor's wall time: {sum(r['met'] for r in results)} of {len(results)}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the rows as one JSON document")
    parser.add_argument("--only", help="comma-separated data set names")
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    rows = [measure(name, X, y) for name, X, y in data_sets(only)]
    print(json.dumps(rows, indent=1) if args.json else format_rows(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
