"""benchmarks/sparse.py, cheaply: a tiny set through every method, its smallest configuration (the quick 2,000 x
4,096 set, one epoch) end to end from its command line (slow), and the hashed data. Times are never asserted: only
that they were measured."""

import json

import numpy as np
import pytest

from conftest import benchmark_script

pytest.importorskip("sklearn")  # the benchmark's reference
pytest.importorskip("scipy")


@pytest.fixture(scope="module")
def bench():
    """The benchmark script, imported as a module."""
    yield from benchmark_script("sparse.py")


def check_report(bench, report):
    """The rows of a report of one set with the dense fits, one epoch each."""
    rows = {row["method"]: row for row in report["rows"]}
    assert list(rows) == ["SGDRegressor", *bench.GLUONLR, *bench.DENSE]
    assert report["settings"] == bench.SPARSE_SETTINGS and report["epochs"] == 1
    sgd = rows["SGDRegressor"]
    assert sgd["throughput_ratio"] == 1 and sgd["epochs"] == 1 and "met" not in sgd
    for method in (*bench.GLUONLR, *bench.DENSE):
        row = rows[method]
        assert row["seconds"] > 0 and row["epochs"] == 1 and row["nnz"] == sgd["nnz"]
        assert row["nnz_per_second"] == pytest.approx(row["nnz"] / row["seconds"])
        equal = row["equal_r2"]
        assert 1 <= equal["epochs"] <= bench.MAX_EPOCH_FACTOR
        assert row["met"] in ("target", "floor", "no") and (row["ratio_at_equal_r2"] is None) == (not equal["reached"])
    # The two paths train the same: the same R2 after the same epochs, sparse or dense.
    for sparse, dense in zip(bench.GLUONLR, bench.DENSE, strict=True):
        assert rows[sparse]["r2"] == pytest.approx(rows["gluonlr manual"]["r2"], abs=1e-4)
        assert rows[dense]["r2"] == pytest.approx(rows["gluonlr manual dense"]["r2"], abs=1e-4)
    text = bench.format_report(report)
    assert report["rows"][0]["data"] in text and "gluonlr gluon dense" in text and "to equal R2" in text


def test_every_method_on_a_tiny_set(bench):
    check_report(bench, bench.benchmark([bench.DataSet(300, 1_024, dense=True)], epochs=1, warm=False))


@pytest.mark.slow
def test_the_smallest_configuration_end_to_end(bench, capsys):
    assert bench.main(["--quick", "--only", "4,096", "--epochs", "1", "--json"]) == 0
    check_report(bench, json.loads(capsys.readouterr().out))


def test_the_hashed_data(bench):
    X, y = bench.hashed(2_000, 2**20, seed=3)
    assert y.shape == (2_000,) and np.isfinite(y).all()
    per_row = np.diff(X.indptr)
    assert X.shape == (2_000, 2**20) and X.has_canonical_format
    assert per_row.min() >= 5 and per_row.max() <= 100  # 10 to 100 tokens, some hashed together
    assert X.data.min() >= 1 and np.all(X.data == np.round(X.data))  # counts
    counts = np.bincount(X.indices, minlength=2**20)
    assert counts.max() > 200 and np.mean(counts > 0) < 0.1  # a few common columns, a long tail
    assert [data.name for data in bench.data_sets()] == ["hashed 100,000 x 2**20", "hashed 10,000 x 4,096"]
    assert [data.name for data in bench.data_sets(quick=True)] == ["hashed 10,000 x 2**20", "hashed 2,000 x 4,096"]
    with pytest.raises(SystemExit, match="no data set has such a name"):
        bench.select(bench.data_sets(), ["iris"])
