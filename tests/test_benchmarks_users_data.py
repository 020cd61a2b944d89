"""benchmarks/users_data.py, cheaply: its smallest configuration (diabetes, one round) end to end from its command
line, a tiny wide set (least squares not run, Ridge the reference), the phase timer, the data sets and the
estimator it builds. Times are never asserted: only that they were measured and add up."""

import json
import sys

import numpy as np
import pytest

import gluonlr.options
import gluonlr.phases
from conftest import benchmark_script

pytest.importorskip("sklearn")  # the benchmark's references

PHASES = ("validate", "data", "lr_auto", "build", "train", "other")


@pytest.fixture(scope="module")
def bench():
    """The benchmark script, imported as a module."""
    yield from benchmark_script("users_data.py")


def test_the_smallest_configuration_end_to_end(bench, capsys):
    assert bench.main(["--only", "diabetes", "--repeats", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["repeats"] == {"diabetes": 1}
    assert report["users_defaults"] == bench.users_defaults()
    rows = {row["method"]: row for row in report["rows"]}
    assert list(rows) == list(bench.METHODS)
    assert rows["least squares"]["gap"] == 0 and rows["least squares"]["r2"] == pytest.approx(0.5177, abs=1e-4)
    assert rows["SGDRegressor"]["ratio"] == 1 and rows["SGDRegressor"]["cpu_ratio"] == 1
    for method in ("gluonlr manual", "gluonlr gluon"):
        row = rows[method]
        assert row["seconds"] > 0 and row["epochs"] >= 1 and row["batch_size"] == 442 and row["steps_per_epoch"] == 1
        assert row["met"] == (row["accurate"] and row["fast"]) and row["gap"] < 0.1  # trained, if not timed
        phases = row["phases"]
        assert all(phases[name] >= 0 for name in PHASES if name != "other")
        assert sum(phases[name] for name in PHASES) == pytest.approx(phases["total"])
        assert phases["steps"] == row["epochs"]  # the same fit again: the same epochs
    text = bench.format_report(report)
    assert "diabetes" in text and "gluonlr gluon" in text and "Where a gluonlr fit's wall time goes" in text


def test_a_wide_set_has_ridge_for_reference_and_no_least_squares(bench):
    wide = bench.synthetic_set(40, 60, repeats=1)
    assert wide.wide and wide.reference == "Ridge"
    rows = bench.measure(wide, breakdown=False)
    assert [row["method"] for row in rows] == [method for method in bench.METHODS if method != "least squares"]
    assert rows[0]["method"] == "Ridge" and rows[0]["gap"] == 0
    assert all("phases" not in row for row in rows)
    text = bench.format_report(
        {
            "machine": bench.machine(),
            "users_defaults": {},
            "target": {"r2_tolerance": 0.005, "time_factor": 20},
            "repeats": {wide.name: 1},
            "rows": rows,
            "seconds": 1.0,
        }
    )
    assert "Where a gluonlr fit's wall time goes" not in text


def test_the_phase_timer_puts_every_function_back(bench):
    before = {(module, name): getattr(sys.modules[module], name) for module, name, _ in bench.PHASES}
    with pytest.raises(RuntimeError), bench.timing_phases() as seconds:
        assert gluonlr.phases.auto_lr is not before["gluonlr.phases", "auto_lr"]
        raise RuntimeError
    assert set(seconds) == {phase for _, _, phase in bench.PHASES}
    assert {(module, name): getattr(sys.modules[module], name) for module, name, _ in bench.PHASES} == before


def test_the_data_sets(bench):
    X, y = bench.synthetic(2_000, 4, seed=3)
    scales = X.std(axis=0)
    assert scales.max() / scales.min() > 10  # mixed scales: what standardize=True is for
    fitted = np.linalg.lstsq(np.column_stack([X, np.ones(len(X))]), y, rcond=None)[0]
    r2 = 1 - np.mean((np.column_stack([X, np.ones(len(X))]) @ fitted - y) ** 2) / np.var(y)
    assert r2 == pytest.approx(0.9, abs=0.02)  # the signal-to-noise ratio's population R2
    full, quick = bench.data_sets(), bench.data_sets(quick=True)
    assert [(data.n, data.d) for data in full] == [
        (442, 10),
        (1_000, 10),
        (10_000, 10),
        (100_000, 100),
        (1_000_000, 10),
        (2_000, 5_000),
    ]
    assert max(data.n * data.d for data in quick) < max(data.n * data.d for data in full) / 5
    assert [data.name for data in bench.select(full, ["1,000,000"])] == ["synthetic 1,000,000 x 10"]
    with pytest.raises(SystemExit, match="no data set has such a name"):
        bench.select(full, ["iris"])


def test_the_estimator_has_the_users_defaults(bench):
    defaults = bench.users_defaults()
    assert defaults == {
        name: option.default_on("estimator")
        for name, option in gluonlr.options.OPTIONS.items()
        if option in gluonlr.options.options_of("estimator") and option.default_on("estimator") != option.default
    }
    assert {"standardize", "standardize_target", "lr", "reduction", "init", "batch_size", "epochs", "tol"} <= set(
        defaults
    )
    model = bench.make_model("gluonlr gluon")
    assert model.get_params()["path"] == "gluon"
    assert all(model.get_params()[name] == value for name, value in defaults.items())


def test_the_docstrings_state_the_users_defaults_the_run_uses(bench):
    """The module's and users_defaults' docstrings said tol=1e-4; the run uses the table's users' tol (1e-5)."""
    import re

    defaults = bench.users_defaults()
    for doc in (bench.__doc__, bench.users_defaults.__doc__):
        stated = re.findall(r"at most\s+([\d,]+)\s+epochs\s+with\s+``tol=([^`]+)``", doc)
        assert len(stated) == 1, doc
        (epochs, tol), *_ = stated
        assert (int(epochs.replace(",", "")), float(tol)) == (defaults["epochs"], defaults["tol"])
