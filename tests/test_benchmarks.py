"""benchmarks/run.py, cheaply: the bare loops optimize the reference's objective; the scale-out section's
arithmetic on hand-made times, the pushpull timer on a one-process store, and the whole section on tiny data with a
2-worker job on 127.0.0.1 (every process it started gone afterwards)."""

import dataclasses
import json

import numpy as np
import pytest

from conftest import MARK, benchmark_script, marked
from gluonlr._mxnet import mx


@pytest.fixture(scope="module")
def bench():
    """The benchmark script, imported as a module."""
    yield from benchmark_script("run.py")


@pytest.mark.parametrize("loop", ["bare_autograd_loop", "bare_gluon_loop"])
@pytest.mark.parametrize(
    ("n", "loss", "reduction", "memmap"), [(300, "squared", "sum", False), (2_000, "l2", "mean", True)]
)
def test_the_bare_loops_are_the_numpy_reference_loop(bench, loop, n, loss, reduction, memmap, tmp_path):
    """Same permutation, same batches (a short last one too), same objective: numpy per-batch SGD's result, to
    float32 round-off; in memory (one gather an epoch) and from a memmap (a take per batch)."""
    load = bench.Workload("scale", n, 3, 64, 2, 0.01, loss, reduction, 1)
    X, y, _, _ = load.make_data()
    if memmap:
        np.save(tmp_path / "X.npy", X)
        X = np.load(tmp_path / "X.npy", mmap_mode="r")
    w0, b0 = bench.initial_params(load.d)
    expected_w, expected_b = bench.numpy_batch_sgd(X, y, w0, b0, **load.train_args())
    w, b = getattr(bench, loop)(X, y, w0, b0, **load.train_args())
    np.testing.assert_allclose(w, expected_w, rtol=1e-5, atol=1e-5)
    assert b == pytest.approx(expected_b, rel=1e-5, abs=1e-5)
    assert X.flags.writeable or memmap  # shared with the device through a view: the caller's array is left writable


def test_per_step_splits_a_step_into_rows_and_a_fixed_cost(bench):
    # 10 steps of 1,000 rows: 500 us a step; a worker's 500 rows: 300 us. So 0.4 us a row and 100 us fixed;
    # 2 workers save 200 us a step, and with a 200 us pushpull break even at a batch of 1,000 rows.
    load = bench.Workload("scale", 10_000, 3, 1_000, 1, 0.1, "squared", "mean", 1)
    rows = [
        {"path": "manual", "setup": "1 process", "median_s": 5e-3},
        {"path": "manual", "setup": "dist_sync, 2 workers", "median_s": 2e-2, "workers": 2},
    ]
    numbers = bench.per_step(load, 10, rows, 3e-3, "manual", {2: 2e-4})
    assert numbers["setups"] == pytest.approx({"1 process": 5e-4, "dist_sync, 2 workers": 2e-3})
    assert numbers["share_step_s"] == pytest.approx(3e-4)
    assert numbers["per_row_s"] == pytest.approx(4e-7)
    assert numbers["fixed_s"] == pytest.approx(1e-4)
    assert numbers["pushpull_share_of_step"] == pytest.approx({2: 0.1})
    assert numbers["job_overhead_s"] == pytest.approx({2: 1.5e-3})
    assert numbers["projected_step_s"] == pytest.approx(5e-4)
    assert numbers["projected_vs_one_process"] == pytest.approx(1.0)
    assert numbers["break_even_batch"] == pytest.approx(1_000)


def test_per_step_gives_no_break_even_when_noise_hides_the_cost_of_the_rows(bench):
    load = bench.Workload("scale", 10_000, 3, 1_000, 1, 0.1, "squared", "mean", 1)
    rows = [{"path": "gluon", "setup": "1 process", "median_s": 3e-3}]  # the whole batch faster than half of it
    numbers = bench.per_step(load, 10, rows, 4e-3, "gluon", {2: 2e-4})
    assert numbers["per_row_s"] < 0 and numbers["break_even_batch"] is None


def test_the_notes_are_computed_from_the_numbers(bench):
    # As above, with a 1-worker job 300 us a step slower than one process and a 100 us pushpull; on the Gluon path
    # the half batch was the slower (noise), so it gets no break-even.
    load = bench.Workload("scale", 10_000, 3, 1_000, 1, 0.1, "squared", "mean", 1)
    pushpull = {1: 1e-4, 2: 2e-4}
    per_step = {}
    for path, share in (("manual", 3e-3), ("gluon", 6e-3)):
        rows = [
            {"path": path, "setup": "1 process", "median_s": 5e-3},
            {"path": path, "setup": "dist_sync, 1 worker", "median_s": 8e-3, "workers": 1},
            {"path": path, "setup": "dist_sync, 2 workers", "median_s": 2e-2, "workers": 2},
        ]
        per_step[path] = bench.per_step(load, 10, rows, share, path, pushpull)
    section = {"workload": dataclasses.asdict(load), "per_step": per_step, "pushpull_s": pushpull}
    busy, cores, estimate, rest, split = bench.scaleout_notes({**section, "others_cpu_share": 0.3}, 2)
    assert "other programs took 30% of its CPU time" in busy
    assert "so it cannot be faster than one process here" in cores
    assert "manual 300.0 us + 200.0 us = 500.0 us, 1.00x one process's 500.0 us" in estimate
    assert "step minus one process's was +300.0 us (manual), +300.0 us (gluon), its pushpull 100.0 us" in rest
    # 0.4 us a row, 100 us fixed: a batch of 10,000 takes 4,100 us in one process, 100 + 2,000 + 200 us on 2 hosts.
    assert "manual: 0.400 us a row and 100.0 us fixed a step" in split
    assert "pay off above a global batch of about 1,000 rows and reach 1.78x one process at a batch of 10,000" in split
    assert "gluon: -100.0 us for the 500 rows more and 700.0 us fixed, which is noise" in split
    assert len(bench.scaleout_notes({**section, "others_cpu_share": 0.05}, 2)) == 4  # not busy


def test_pushpull_seconds_times_each_pushpull_after_the_warmup(bench):
    times = bench.pushpull_seconds(mx.kv.create("local"), 5, count=4, warmup=2)
    assert len(times) == 4 and all(seconds > 0 for seconds in times)


def test_others_share_is_the_busy_time_less_this_process_trees(bench, monkeypatch):
    # 10 s on 2 CPUs: 12 CPU seconds busy, 2 of them this process's: the others took 10 of the 20.
    monkeypatch.setattr(bench, "cpu_seconds", lambda: (110.0, 3.0, 122.0))
    assert bench.others_share((100.0, 1.0, 110.0), 2) == pytest.approx(0.5)
    assert bench.others_share((100.0, 1.0, None), 2) is None  # no /proc/stat


def test_scaleout_only_and_no_scaleout_exclude_each_other(bench, capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(["--no-scaleout", "--scaleout-only"])
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.slow
def test_the_scaleout_section_on_tiny_data(bench, marker):
    load = bench.Workload("scale", 240, 3, 20, 2, 0.1, "squared", "mean", 1)
    section = bench.scaleout(load, pushpulls=5, env={MARK: marker}, timeout=240, workers=(2,))
    assert marked(marker) == []  # the job's scheduler, server and workers are all gone
    setups = ["1 process", "1 process, ctx cpu:0,cpu:1", "dist_sync, 2 workers"]
    assert [(row["path"], row["setup"]) for row in section["rows"]] == [
        (path, setup) for path in ("manual", "gluon") for setup in setups
    ]
    for row in section["rows"]:
        assert row["accurate"], row
        assert row["samples_per_s"] == pytest.approx(240 * 2 / row["median_s"])
    jobs = [row for row in section["rows"] if "workers" in row]
    assert all(row["workers"] == 2 and row["workers_agree"] for row in jobs)
    # The job's fit is the one-process fit, to float32 round-off (the gradient summed in another order).
    for job, one in zip(jobs, section["rows"][::3], strict=True):
        assert job["train_mse"] == pytest.approx(one["train_mse"], rel=1e-4)
    assert list(section["pushpull_s"]) == [2] and section["pushpull_s"][2] > 0
    assert section["steps"] == 2 * 12
    for path in ("manual", "gluon"):
        assert section["per_step"][path]["projected_step_s"] == pytest.approx(
            section["per_step"][path]["share_step_s"] + section["pushpull_s"][2]
        )
    assert section["others_cpu_share"] is None or 0 <= section["others_cpu_share"] <= 1
    section["notes"] = bench.scaleout_notes(section, 2)
    report = " ".join(bench.format_report({"cpu_count": 2}, [], [], [], [], [], section).split())  # unwrapped
    assert "dist_sync, 2 workers" in report and "pushpull of the gradient (3 + 1 float32" in report
    assert "so it cannot be faster than one process here" in report
    json.dumps(section)  # the --json document holds it
