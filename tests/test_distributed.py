"""fit(kvstore="dist_sync"): real jobs of 1, 2 and 3 workers on 127.0.0.1, each worker's fit against one process's.

Each job runs ``WORKER`` in every worker: it loads the data the test wrote (in memory, as a memmap, or through a
:class:`~gluonlr.testing.RowArray` that records what is read), runs the fits the test names, and prints one JSON
line per fit. Every process a job starts carries the test's marker, and whatever is left of it is killed at the
end (the ``marker`` fixture).
"""

import io
import itertools
import json
import os
import runpy
import signal
import sys
import textwrap
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import MARK, marked
from gluonlr import fit
from gluonlr._mxnet import mx, nd
from gluonlr.data import EpochData, Share, StreamData, TakeData, batch_bounds, epoch_order, share_bounds
from gluonlr.data.sources import Source
from gluonlr.distributed import ENVIRONMENT, KeySpace, Workers, check_kvstore
from gluonlr.launch import launch
from gluonlr.parallel import row_bounds
from gluonlr.persistence import read_checkpoint

JOB_SECONDS = 240  # a job takes seconds; this only keeps a broken one from hanging the suite
FAULT_SECONDS = 30

WORKER = textwrap.dedent(
    """
    import json, os, signal, sys
    import numpy as np
    import gluonlr
    from gluonlr import fit
    from gluonlr.callbacks import Callback
    from gluonlr.testing import RowArray
    from gluonlr._mxnet import nd

    spec = json.loads(sys.argv[1])
    rank = int(os.environ["GLUONLR_RANK"])
    X, y = (np.load(spec[name], mmap_mode="r" if spec["storage"] != "memory" else None) for name in ("X", "y"))
    if spec["storage"] == "rows":
        X = RowArray(X)
    if spec["storage"] == "sparse":
        import scipy.sparse
        X = scipy.sparse.csr_matrix(X)


    class Die(Callback):
        # SIGKILL this worker after batch `batch` of epoch `epoch` (0-based) has been summed by the servers.
        def __init__(self, epoch, batch):
            self.epoch, self.batch, self.current = epoch, batch, 0

        def on_epoch_end(self, epoch, logs=None):
            self.current = epoch + 1

        def on_batch_end(self, batch, logs=None):
            if self.current == self.epoch and batch == self.batch:
                nd.waitall()
                print("dying", flush=True)
                os.kill(os.getpid(), signal.SIGKILL)


    class Epochs(Callback):
        # Counts the epochs this fit trains (a resumed fit: only those after its checkpoint).
        count = 0

        def on_epoch_end(self, epoch, logs=None):
            self.count += 1


    for number, kwargs in enumerate(spec["fits"]):
        die = kwargs.pop("die", None)
        epochs = Epochs()
        callbacks = [epochs, *([Die(die["epoch"], die["batch"])] if die and die["rank"] == rank else [])]
        result = fit(X, y, kvstore="dist_sync", verbose=0, callbacks=callbacks, **kwargs)
        reads = [key.tolist() for key, _ in getattr(X, "reads", []) if isinstance(key, np.ndarray)]
        spans = [[key.start, key.stop] for key, _ in getattr(X, "reads", []) if isinstance(key, slice)]
        print(json.dumps({
            "fit": number, "rank": rank, "weight": np.asarray(result.weight).tolist(), "bias": result.bias
            if np.isscalar(result.bias) else np.asarray(result.bias).tolist(), "history": result.history,
            "stopped_epoch": result.stopped_epoch, "reads": reads, "spans": spans,
            "epochs_trained": epochs.count,
        }), flush=True)
        if hasattr(X, "reads"):
            X.reads.clear()
    """
)


def make_data(tmp_path, n=103, features=3, outputs=None, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, features)).astype(np.float32)
    w = rng.standard_normal((features,) if outputs is None else (features, outputs)).astype(np.float32)
    y = (X @ w + 0.5 + 0.1 * rng.standard_normal(n if outputs is None else (n, outputs))).astype(np.float32)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    return X, y


def run_job(tmp_path, marker, workers, fits, storage="memory"):
    """Run the fits in a job of ``workers`` workers; return (status, {rank: [result of each fit]}, stderr, seconds)."""
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    spec = {"X": str(tmp_path / "X.npy"), "y": str(tmp_path / "y.npy"), "storage": storage, "fits": fits}
    out, err = io.StringIO(), io.StringIO()
    start = time.monotonic()
    status = launch(
        [sys.executable, str(script), json.dumps(spec)],
        workers=workers,
        env={MARK: marker, "OMP_NUM_THREADS": "1"},
        timeout=JOB_SECONDS,
        stdout=out,
        stderr=err,
    )
    seconds = time.monotonic() - start
    results = {}
    for line in out.getvalue().splitlines():
        prefix, _, text = line.partition(" ")
        if text.startswith("{"):
            record = json.loads(text)
            assert prefix == f"[{record['rank']}]"
            results.setdefault(record["rank"], []).append(record)
    return status, results, err.getvalue(), seconds


def one_process(X, y, kwargs):
    kwargs = {key: value for key, value in kwargs.items() if key != "die"}
    result = fit(X, y, verbose=0, **kwargs)
    return {
        "epochs_trained": len(result.history["loss"]),
        "weight": np.asarray(result.weight).tolist(),
        "bias": result.bias if np.isscalar(result.bias) else np.asarray(result.bias).tolist(),
        "history": result.history,
        "stopped_epoch": result.stopped_epoch,
    }


# The cases: SGD with momentum and Adam on both paths, a short last batch (93 training rows in batches of
# 10: 3 rows, one per worker of 3), a last batch with fewer rows than workers (batches of 7: 2 rows), validation,
# metrics, early stopping, several outputs.
FITS = [
    dict(path=path, **options)
    for options in (
        dict(optimizer="sgd", momentum=0.9, lr=0.05, reduction="mean", epochs=3, validation_split=0.1,
             metrics=["r2", "mae"]),
        dict(optimizer="adam", lr=0.05, reduction="sum", epochs=3, batch_size=7, validation_split=0.1),
        dict(lr=0.01, epochs=6, loss="huber", validation_split=0.3, early_stopping=True, metrics=["mse"]),
        dict(lr=0.1, reduction="mean", epochs=60, tol=1e-3, n_iter_no_change=2),  # every worker stops together
    )
    for path in ("manual", "gluon")
]  # fmt: skip


def assert_same(worker, single, exact):
    """A worker's result against one process's: bitwise if ``exact`` (the scores aside), else to round-off."""
    if exact:
        assert worker["weight"] == single["weight"] and worker["bias"] == single["bias"]
        assert worker["history"]["loss"] == single["history"]["loss"]
        # Scores are computed from float32 predictions of the data as each process holds it: to the last bits.
        assert worker["history"].keys() == single["history"].keys()
        for key, values in single["history"].items():
            np.testing.assert_allclose(worker["history"][key], values, rtol=1e-6, atol=1e-9, err_msg=key)
    else:
        np.testing.assert_allclose(worker["weight"], single["weight"], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(worker["bias"], single["bias"], rtol=1e-5, atol=1e-5)
        assert worker["history"].keys() == single["history"].keys()
        for key, values in single["history"].items():
            np.testing.assert_allclose(worker["history"][key], values, rtol=1e-5, atol=1e-6, err_msg=key)
    assert worker["stopped_epoch"] == single["stopped_epoch"]
    assert worker["epochs_trained"] == single["epochs_trained"]


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_every_worker_returns_the_one_process_fit(tmp_path, marker, workers):
    X, y = make_data(tmp_path)
    status, results, stderr, _ = run_job(tmp_path, marker, workers, FITS)
    assert status == 0, stderr
    assert sorted(results) == list(range(workers))
    for number, kwargs in enumerate(FITS):
        single = one_process(X, y, kwargs)
        for rank in range(workers):
            # Every worker holds the same parameters and history, bitwise: the servers' sums are the same bits.
            assert results[rank][number] == {**results[0][number], "rank": rank}
        # One worker does the one process's arithmetic; more sum the gradient in another order.
        assert_same(results[0][number], single, exact=workers == 1)
    assert marked(marker) == []


@pytest.mark.slow
def test_several_outputs_and_two_devices_per_worker(tmp_path, marker):
    X, y = make_data(tmp_path, n=50, features=4, outputs=2)
    fits = [dict(path=path, ctx="cpu:0,cpu:1", lr=0.02, epochs=2, batch_size=9) for path in ("manual", "gluon")]
    status, results, stderr, _ = run_job(tmp_path, marker, 2, fits)
    assert status == 0, stderr
    for number, kwargs in enumerate(fits):
        assert results[1][number] == {**results[0][number], "rank": 1}
        assert_same(results[0][number], one_process(X, y, {**kwargs, "ctx": None}), exact=False)


@pytest.mark.slow
def test_standardize_and_auto_lr_in_a_job(tmp_path, marker):
    """Every worker computes the statistics and the rate from all the training rows (the pass over the data and
    the sample read the whole data set, not the worker's share): the same ones as one process."""
    X, y = make_data(tmp_path)
    X = X * np.array([1e-3, 1.0, 1e4], np.float32) + np.array([0.0, 5.0, 1e5], np.float32)
    np.save(tmp_path / "X.npy", X)
    fits = [
        dict(path=path, standardize=True, lr="auto", epochs=3, validation_split=0.1) for path in ("manual", "gluon")
    ]
    status, results, stderr, _ = run_job(tmp_path, marker, 2, fits, storage="memmap")
    assert status == 0, stderr
    for number, kwargs in enumerate(fits):
        assert results[1][number] == {**results[0][number], "rank": 1}
        assert_same(results[0][number], one_process(X, y, kwargs), exact=False)
    assert marked(marker) == []


@pytest.mark.slow
def test_sparse_rows_train_in_a_job_as_in_one_process(tmp_path, marker):
    """CSR batches in a job: each worker's share a CSR batch, the row_sparse gradients summed over the workers
    (through dense buffers: GradientSum), lazy steps; a short last batch (93 rows in batches of 10, 3 workers),
    batches of one row (two workers idle each step), validation, metrics, no intercept, early stopping."""
    pytest.importorskip("scipy")
    X, y = make_data(tmp_path, features=8)
    X[np.random.default_rng(1).random(X.shape) < 0.7] = 0.0  # 70% zeros
    np.save(tmp_path / "X.npy", X)
    fits = [
        dict(path=path, **options)
        for options in (
            dict(lr=0.05, epochs=3, validation_split=0.1, metrics=["r2"]),
            dict(lr=0.01, epochs=2, batch_size=1, fit_intercept=False, standardize=True),
            dict(lr=0.05, reduction="mean", epochs=8, validation_split=0.2, early_stopping=True, average=True),
        )
        for path in ("manual", "gluon")
    ]
    status, results, stderr, _ = run_job(tmp_path, marker, 3, fits, storage="sparse")
    assert status == 0, stderr
    import scipy.sparse

    for number, kwargs in enumerate(fits):
        for rank in (1, 2):
            assert results[rank][number] == {**results[0][number], "rank": rank}
        assert_same(results[0][number], one_process(scipy.sparse.csr_matrix(X), y, kwargs), exact=False)
    assert marked(marker) == []


def expected_reads(n, batch_size, epochs, rank, workers):
    """The rows worker ``rank`` reads for training: its share of each batch, each read in increasing order."""
    reads = []
    for epoch in range(epochs):
        order = epoch_order(n, 0, epoch)
        for start, stop in batch_bounds(n, batch_size):  # the documented rule, not share_bounds itself
            low, high = row_bounds(stop - start, workers)[rank]
            if high > low:
                reads.append(sorted(order[start + low : start + high].tolist()))
    return reads


@pytest.mark.slow
@pytest.mark.parametrize("path", ["manual", "gluon"])
def test_each_worker_reads_only_its_share_of_each_batch_and_its_part_of_each_evaluation(tmp_path, marker, path):
    make_data(tmp_path, n=41)
    fits = [dict(path=path, batch_size=6, epochs=2, check_input=False, validation_split=0.2, metrics=["r2"])]
    status, results, stderr, _ = run_job(tmp_path, marker, 3, fits, storage="rows")
    assert status == 0, stderr
    n_train = int(41 * 0.8)
    covered = set()
    for rank in range(3):
        assert results[rank][0]["reads"] == expected_reads(n_train, 6, 2, rank, 3)
        # The passes over whole data sets (metrics, validation, the divergence guard's losses): its part of each.
        train, val = row_bounds(n_train, 3)[rank], row_bounds(41 - n_train, 3)[rank]
        parts = [train, (n_train + val[0], n_train + val[1])]
        spans = results[rank][0]["spans"]
        assert spans and all(any(low <= a and b <= high for low, high in parts) for a, b in spans), (rank, spans)
        covered.update(row for a, b in spans for row in range(a, b))
    assert covered == set(range(41))


@pytest.mark.slow
def test_a_killed_worker_ends_the_job_and_a_relaunch_resumes_from_rank_0s_checkpoint(tmp_path, marker):
    make_data(tmp_path)
    options = dict(path="gluon", optimizer="sgd", momentum=0.9, lr=0.02, epochs=4, validation_split=0.1)
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    whole.mkdir()
    broken.mkdir()
    # Rank 1 is killed in the third epoch, after rank 0 wrote the checkpoint of the second.
    fits = [
        dict(options, checkpoint=f"{whole}/"),
        dict(options, checkpoint=f"{broken}/", die=dict(rank=1, epoch=2, batch=3)),
    ]
    status, results, stderr, seconds = run_job(tmp_path, marker, 2, fits)
    # Each assertion shows what the job printed: a failure on a loaded machine says which step went otherwise.
    told = f"status {status} after {seconds:.1f} s; stderr:\n{stderr}\nresults: {results}"
    assert status == 128 + signal.SIGKILL, told
    assert "rank 1" in stderr and "SIGKILL" in stderr, told
    assert seconds < JOB_SECONDS, told
    assert marked(marker) == [], told
    assert [len(results.get(rank, [])) for rank in (0, 1)] == [1, 1], told  # the uninterrupted fit, on each worker
    assert sorted(os.listdir(broken)) == ["gluonlr.params", "gluonlr.params.state"], told
    assert read_checkpoint(broken / "gluonlr.params")[1]["epoch"] == 2, told

    status, resumed, stderr, _ = run_job(tmp_path, marker, 2, [dict(options, checkpoint=f"{broken}/", resume=True)])
    assert status == 0, stderr
    for rank in (0, 1):
        # 2 workers' gradient sums are the same bits in any order (a + b == b + a): the resumed job trains as the
        # uninterrupted one, bitwise. Its validation loss is a score of float32 predictions summed on the host
        # and over the job: to the last bits (CI saw 4e-8 relative once, on py313), as assert_same allows.
        again, straight = resumed[rank][0], results[rank][0]
        assert again["epochs_trained"] == 2, stderr  # epochs 3 and 4: resumed, not started afresh
        history, expected = again.pop("history"), straight["history"]
        assert {**again, "epochs_trained": 4} == {k: v for k, v in straight.items() if k != "history"}, stderr
        assert history.keys() == expected.keys() and history["loss"] == expected["loss"], stderr
        assert history["lr"] == expected["lr"], stderr
        np.testing.assert_allclose(history["val_loss"], expected["val_loss"], rtol=1e-6, err_msg=stderr)


@pytest.mark.slow
def test_the_launcher_ends_a_job_whose_worker_died_within_the_bound(tmp_path, marker):
    make_data(tmp_path)
    fits = [dict(path="manual", epochs=50, die=dict(rank=0, epoch=1, batch=0))]
    status, _, stderr, seconds = run_job(tmp_path, marker, 3, fits)
    assert status == 128 + signal.SIGKILL and "rank 0" in stderr
    assert seconds < FAULT_SECONDS + 20  # start-up of 5 processes on 2 cores, then the bound
    assert marked(marker) == []


# -- without processes -----------------------------------------------------------------------------------------


@pytest.fixture
def no_job(monkeypatch):
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("kvstore", ["dist_sync", "dist_sync_device"])
def test_dist_sync_outside_a_job_says_how_to_start_one(no_job, kvstore):
    with pytest.raises(
        ValueError,
        match=r"must run as a worker of a dist_sync job, but DMLC_ROLE, .*`gluonlr launch -n 2 -- python train.py`",
    ):
        fit(np.zeros((4, 1)), np.zeros(4), kvstore=kvstore)


def test_dist_sync_in_a_server_process_is_refused(no_job, monkeypatch):
    for name in ENVIRONMENT:
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("DMLC_ROLE", "server")
    with pytest.raises(ValueError, match=r"runs in the job's workers; this process has DMLC_ROLE='server'"):
        fit(np.zeros((4, 1)), np.zeros(4), kvstore="dist_sync")


@pytest.mark.parametrize(
    "kvstore, error, message",
    [
        ("dist_async", ValueError, r"cannot be 'dist_async': asynchronous updates .* Use 'dist_sync'"),
        ("nccl", ValueError, r"must be None, one of \('device', 'local', 'dist_sync', 'dist_sync_device'\)"),
        (2, TypeError, r"must be None, one of .* or an mxnet KVStore. Got 2 of type int"),
    ],
)
def test_bad_kvstore_values(kvstore, error, message):
    with pytest.raises(error, match=message):
        fit(np.zeros((4, 1)), np.zeros(4), kvstore=kvstore)


def test_bad_kvstore_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="dist_async"):
        fit(np.zeros((4, 1)), np.zeros(4), kvstore="dist_async", checkpoint=tmp_path / "model.params")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("kvstore", ["local", "device", lambda: mx.kv.create("local")])
def test_one_process_stores_sum_the_devices(path, kvstore):
    X, y = np.random.default_rng(1).standard_normal((30, 2)).astype(np.float32), np.arange(30.0, dtype=np.float32)
    store = kvstore() if callable(kvstore) else kvstore
    two = fit(X, y, path=path, ctx="cpu:0,cpu:1", kvstore=store, lr=0.001, epochs=2, verbose=0)
    one = fit(X, y, path=path, lr=0.001, epochs=2, verbose=0)
    np.testing.assert_allclose(two.weight, one.weight, rtol=1e-5)
    np.testing.assert_allclose(two.history["loss"], one.history["loss"], rtol=1e-5)


def test_only_rank_0_writes_checkpoints(tmp_path, monkeypatch, path):
    """A worker of rank 1 of 2 (faked: one process's store, its rank changed) trains but writes nothing."""
    store, ranks = mx.kv.create("local"), iter([1, 0])

    def check_kvstore(kvstore):
        workers = Workers(store)  # one process's store: it sums nothing, each "worker" sees its own part
        workers.rank, workers.num_workers = next(ranks), 2
        workers.part = (workers.rank, 2)
        return "device", workers

    monkeypatch.setattr(sys.modules["gluonlr.phases"], "check_kvstore", check_kvstore)
    X, y = np.zeros((10, 1), np.float32), np.ones(10, np.float32)
    result = fit(X, y, path=path, kvstore="dist_sync", checkpoint=tmp_path / "model.params", epochs=2, verbose=0)
    assert len(result.history["loss"]) == 2
    assert os.listdir(tmp_path) == []
    fit(X, y, path=path, kvstore="dist_sync", checkpoint=tmp_path / "model.params", epochs=2, verbose=0)
    assert sorted(os.listdir(tmp_path)) == ["model.params", "model.params.state"]


def test_key_spaces_of_two_fits_do_not_overlap():
    store = mx.kv.create("local")
    first, second = Workers(store), Workers(store)
    first.params.init(0, nd.ones(1))
    second.params.init(0, nd.full(1, 2.0))  # the same key 0 of each: two keys of the store
    out = nd.zeros(1)
    first.params.pull(0, out=out)
    assert out.asscalar() == 1.0
    assert isinstance(first.params, KeySpace) and first.params.type == "local"
    assert first.sum(nd.ones(3)).asnumpy().tolist() == [1.0, 1.0, 1.0]


def test_check_kvstore_reads_one_process_stores():
    assert check_kvstore(None) == ("device", None)
    assert check_kvstore("local") == ("local", None)
    assert check_kvstore(mx.kv.create("device")) == ("device", None)


@given(
    n=st.integers(1, 60),
    batch_size=st.integers(1, 12),
    workers=st.integers(1, 4),
)
def test_the_workers_shares_cut_each_batch_in_order(n, batch_size, workers):
    bounds = batch_bounds(n, batch_size)
    shares = [share_bounds(bounds, rank, workers) for rank in range(workers)]
    for k, (start, stop) in enumerate(bounds):
        runs = [share[k] for share in shares]
        assert runs[0][0] == start and runs[-1][1] == stop
        assert all(a[1] == b[0] for a, b in itertools.pairwise(runs))  # contiguous, in rank order
        assert [high - low for low, high in runs] == [high - low for low, high in row_bounds(stop - start, workers)]


STORAGES = {
    "EpochData": lambda X, y, b, part: EpochData(X, y, b, part=part),
    "TakeData": lambda X, y, b, part: TakeData(X, y, b, part=part),
    "StreamData": lambda X, y, b, part: StreamData(Source(X), y, b, part=part),
}


@pytest.mark.parametrize("storage", list(STORAGES))
@given(n=st.integers(1, 30), batch_size=st.integers(1, 8), workers=st.integers(2, 4))
def test_the_workers_shares_of_every_storage_put_together_are_the_batches(storage, n, batch_size, workers):
    X = np.arange(2 * n, dtype=np.float32).reshape(n, 2)
    y = np.arange(n, dtype=np.float32)
    order = epoch_order(n, 0, 1)
    whole = [xb.asnumpy() for xb, _ in STORAGES[storage](X, y, batch_size, None).batches(order)]
    parts = []
    for rank in range(workers):
        data = STORAGES[storage](X, y, batch_size, (rank, workers))
        parts.append(list(data.batches(order)))
        data.close()
    for k, batch in enumerate(whole):
        shares = [part[k] for part in parts]
        assert all(isinstance(share, Share) and share.rows == len(batch) for share in shares)
        pieces = [share.x.asnumpy() for share in shares if share.x is not None]
        assert all(share.x is None and share.y is None for share in shares[len(pieces) :])
        np.testing.assert_array_equal(np.concatenate(pieces), batch)


DOCS = os.path.join(os.path.dirname(__file__), os.pardir, "docs")


@pytest.mark.slow
def test_the_docs_example_prints_what_the_page_shows(marker):
    with open(os.path.join(DOCS, "distributed.rst"), encoding="utf-8") as page:
        text = page.read()
    block = text.split("$ gluonlr launch -n 2 -- python dist_train.py\n", 1)[1].split("\n\n", 1)[0]
    shown = [line.strip() for line in block.splitlines()]
    out, err = io.StringIO(), io.StringIO()
    command = [sys.executable, os.path.join(DOCS, "examples", "dist_train.py")]
    status = launch(command, workers=2, env={MARK: marker}, timeout=JOB_SECONDS, stdout=out, stderr=err)
    assert status == 0, err.getvalue()
    assert sorted(out.getvalue().splitlines()) == shown and len(shown) == 2


def test_the_docs_example_alone_says_how_to_start_a_job(no_job):
    with pytest.raises(ValueError, match="gluonlr launch"):
        runpy.run_path(os.path.join(DOCS, "examples", "dist_train.py"))


@pytest.mark.parametrize("kvstore", ["dist_sync", "dist_sync_device"])
def test_a_float64_model_is_refused_in_a_dist_sync_job_before_joining_it(no_job, kvstore):
    # MXNet 1.9.1's servers sum float64 gradients to float32 precision (a 2-worker SGD job differed from one process
    # by 2e-7 relative): refused, naming the option, before the job is joined (outside one, the same error).
    X, y = np.zeros((10, 1)), np.ones(10)
    for dtype in ("float64", "auto"):
        with pytest.raises(ValueError, match=rf"^The 'dtype' parameter of fit is 'float64' .* a {kvstore} job cannot"):
            fit(X, y, kvstore=kvstore, dtype=dtype)
