"""The memory tests' probe: RssAnon (Linux's /proc/self/status), sampled every 2 ms while a call runs.

The scripts of tests/test_memory.py, test_sparse.py and test_libsvm_stream.py run in a fresh interpreter and
import it from this directory (their first argument).
"""

import threading
import time


def rss_anon_mib():
    """This process's anonymous resident memory, in MiB (a memmap's pages are not in it)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("RssAnon:"))


def peak_growth(run):
    """Return ``({"growth", "samples", "seconds"}, run())``: the largest RssAnon seen while ``run()`` runs (and
    once more with its result still alive), minus the one before."""
    before = rss_anon_mib()
    samples = [before]
    done = threading.Event()

    def sample():
        while not done.wait(0.002):
            samples.append(rss_anon_mib())

    sampler = threading.Thread(target=sample)
    sampler.start()
    start = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - start
    samples.append(rss_anon_mib())
    done.set()
    sampler.join()
    return {"growth": max(samples) - before, "samples": len(samples), "seconds": seconds}, result
