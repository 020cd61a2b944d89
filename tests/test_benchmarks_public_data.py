"""benchmarks/public_data.py, cheaply: diabetes alone from its command line, and the table it prints. Times are
never asserted; the accuracy of the estimator's defaults on diabetes is (the target's first half)."""

import json

import pytest

from conftest import benchmark_script

pytest.importorskip("sklearn")  # the benchmark's references


@pytest.fixture(scope="module")
def bench():
    """The benchmark script, imported as a module."""
    yield from benchmark_script("public_data.py")


@pytest.mark.slow  # four fits of 119 epochs and two of SGDRegressor: 3 to 40 s, with the load
def test_diabetes_end_to_end(bench, capsys):
    assert bench.main(["--only", "diabetes", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["data set"] == "diabetes" and row["shape"] == [442, 10]
    assert row["least squares"] == pytest.approx(0.5177, abs=1e-4) and row["SGDRegressor s"] > 0
    for path in ("manual", "gluon"):
        result = row[path]
        assert result["accurate"] and result["converged"] and result["r2"] > row["least squares"] - 0.005
        assert result["seconds"] > 0 and result["vs SGD"] == pytest.approx(result["seconds"] / row["SGDRegressor s"])
        assert result["met"] == (result["vs SGD"] <= bench.TIME_FACTOR)
    assert bench.main(["--only", "diabetes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["data", "set"] and lines[2].startswith("diabetes")
    assert lines[-1].startswith("accurate (R2 within 0.005 of least squares or >= SGDRegressor's): 2 of 2 fits")


def test_a_set_that_misses_is_marked(bench):
    row = {"data set": "x", "shape": [3, 1], "least squares": 0.9, "SGDRegressor": 0.8, "SGDRegressor s": 1.0}
    missed = {"r2": 0.7, "epochs": 5, "vs SGD": 30.0, "accurate": False, "met": False}
    row |= {"manual": missed, "gluon": missed}
    table = bench.format_rows([row])
    assert table.splitlines()[2].endswith("NO") and "0 of 2 fits" in table and "0 of 2" in table.splitlines()[-1]
