"""Fits from several threads at once, and the memory of a thread pool reused for many fits (docs/concurrency.rst)."""

import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from gluonlr import fit, synthetic_data

X, y = synthetic_data(n=60)
WEIGHTS = np.random.default_rng(1).uniform(0.5, 2.0, size=60).astype(np.float32)

#: Eight different runs, four per path, so that the threads run different code at the same time.
CASES = [
    {"path": path, **options}
    for path in ("manual", "gluon")
    for options in (
        {"seed": 1},
        {"seed": 2, "optimizer": "sgd", "momentum": 0.9, "lr": 0.002},
        {"seed": 3, "optimizer": "adam", "lr": 0.1, "loss": "huber"},
        {"seed": 4, "sample_weight": WEIGHTS, "validation_split": 0.2, "metrics": ["r2"]},
    )
]


def test_fits_from_several_threads_at_once_equal_sequential_fits():
    sequential = [fit(X, y, epochs=3, **case) for case in CASES]
    start_together = threading.Barrier(4)

    def run(case):
        start_together.wait(timeout=60)  # four fits at a time, all four running at once
        return fit(X, y, epochs=3, **case)

    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(run, CASES))
    for case, alone, together in zip(CASES, sequential, concurrent, strict=True):
        assert alone.weight.tobytes() == together.weight.tobytes(), case
        assert alone.bias == together.bias and alone.history == together.history, case


# In a fresh interpreter, so that nothing else the suite did moves the numbers: the anonymous memory
# (RssAnon) after warming up a pool of two threads, after 100 more fits on the same pool, and after one
# fit in each of 10 new threads.
MEMORY = """
import json, threading
from concurrent.futures import ThreadPoolExecutor
from gluonlr import fit, synthetic_data

X, y = synthetic_data(n=20)

def rss_anon_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("RssAnon:"))

def one_fit(i):
    fit(X, y, path=("manual", "gluon")[i % 2], epochs=1, batch_size=20)

with ThreadPoolExecutor(max_workers=2) as pool:
    list(pool.map(one_fit, range(20)))
    warm = rss_anon_mb()
    list(pool.map(one_fit, range(100)))
    pooled = rss_anon_mb()
for i in range(10):
    thread = threading.Thread(target=one_fit, args=(i,))
    thread.start()
    thread.join()
print(json.dumps({"warm": warm, "pooled": pooled, "fresh": rss_anon_mb()}))
"""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RssAnon from Linux's /proc")
def test_a_reused_thread_pool_stays_flat_over_many_fits():
    """MXNet keeps ~4.9 MB for each new OS thread that runs an operator (apache/mxnet#18135); a pool reuses two."""
    completed = subprocess.run([sys.executable, "-c", MEMORY], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    mb = json.loads(completed.stdout)
    # 100 fits on two reused threads: flat. A new thread per fit would have kept ~490 MB.
    assert mb["pooled"] - mb["warm"] < 16, mb
    # The contrast, MXNet's leak, shows the measure can see it: ~49 MB for 10 new threads.
    assert mb["fresh"] - mb["pooled"] > 10 * 2, mb
