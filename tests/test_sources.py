"""Data sources: fit reads memmaps and row-reading array-likes batch by batch, with results bitwise those in memory.

Every storage of gluonlr.testing.STORAGES (a float32 memmap the device shares, a float64 memmap converted batch
by batch, an h5py-like RowArray read in sorted order by a background thread) and a large in-memory data set
(gathered batch by batch) must give the in-memory fit's weights, bias and history bit for bit, on both paths.
"""

import tempfile
import threading
from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gluonlr
from gluonlr import DivergenceError, fit, synthetic_data
from gluonlr.callbacks import Callback, ProgressBar
from gluonlr.data import EpochData, Source, StreamData, TakeData, batches, epoch_data
from gluonlr.testing import STORAGES, RowArray, store
from gluonlr.testing.strategies import ALL_OPTIONS, datasets, fit_configs, storages

PATHS = ["manual", "gluon"]
#: The storages, and "take": an in-memory data set over EPOCH_GATHER_BYTES, gathered batch by batch.
KINDS = (*STORAGES, "take")


def assert_same_fit(expected, got):
    np.testing.assert_array_equal(got.weight, expected.weight)
    np.testing.assert_array_equal(got.bias, expected.bias)
    assert got.history == expected.history


def fit_stored(X, y, kind, directory, **config):
    if kind == "take":
        with mock.patch.object(batches, "EPOCH_GATHER_BYTES", 0):
            return fit(X, y, **config)
    storage = "memory" if kind == "take" else kind
    return fit(store(X, storage, directory, "X"), store(y, storage, directory, "y"), **config)


@pytest.mark.slow  # over ~3 s: python -m pytest -m slow and CI run it
@pytest.mark.parametrize("path", PATHS)
@given(data=st.data(), dataset=datasets(max_samples=60, max_outputs=2), kind=storages(KINDS))
def test_every_storage_fits_bitwise_as_in_memory(path, data, dataset, kind):
    X, y = dataset
    config = data.draw(fit_configs(X, y, **ALL_OPTIONS, init_params=True))
    expected = fit(X, y, path=path, verbose=0, **config)
    with tempfile.TemporaryDirectory() as directory:
        got = fit_stored(X, y, kind, directory, path=path, verbose=0, **config)
    assert_same_fit(expected, got)


@pytest.mark.parametrize("path", PATHS)
def test_validation_data_and_predict_from_memmaps(path, tmp_path):
    X, y = synthetic_data(200, true_w=[1.0, -2.0, 0.5])
    config = dict(path=path, epochs=3, metrics=["mse", "mae", "r2"], verbose=0)
    expected = fit(X[:150], y[:150], validation_data=(X[150:], y[150:]), **config)
    Xm, ym = store(X, "memmap", tmp_path, "X"), store(y, "memmap", tmp_path, "y")
    got = fit(Xm[:150], ym[:150], validation_data=(Xm[150:], ym[150:]), **config)
    assert_same_fit(expected, got)
    np.testing.assert_array_equal(got.predict(Xm), expected.predict(X))
    assert got.score(Xm, ym) == expected.score(X, y)


def test_the_batches_come_from_the_cheapest_reader(tmp_path):
    X, y = synthetic_data(300)
    assert isinstance(epoch_data(X, y, 10), EpochData)
    Xm = store(X, "memmap", tmp_path)
    data = epoch_data(Source(Xm), y, 10)
    assert isinstance(data, TakeData)
    assert np.shares_memory(data.sources[0], Xm)  # the file's pages, not a copy
    assert isinstance(epoch_data(Source(store(X, "memmap-float64", tmp_path)), y, 10), StreamData)
    assert isinstance(epoch_data(Source(RowArray(X)), y, 10), StreamData)
    with mock.patch.object(batches, "EPOCH_GATHER_BYTES", 300 * 12 - 1):  # X, y: 300 rows of 12 bytes
        assert isinstance(epoch_data(X, y, 10), TakeData)


@pytest.mark.parametrize("path", PATHS)
def test_a_row_array_is_read_in_sorted_batches_ahead_of_training(path):
    X, y = synthetic_data(100)
    rows = RowArray(X)
    fit(rows, y, path=path, epochs=2, batch_size=16, verbose=0, check_input=False)
    batch_reads = [(key, thread) for key, thread in rows.reads if isinstance(key, np.ndarray)]
    assert len(batch_reads) == 2 * 7  # every batch of both epochs, each read once
    for key, thread in batch_reads:
        assert (np.diff(key) > 0).all()  # sorted rows: RowArray (like h5py) raises otherwise
        assert thread != threading.main_thread().name  # read by a background thread, ahead of training
    assert max(len(key) for key, _ in batch_reads) == 16
    # Never the whole data set at once: the slices are the (16 MiB) chunks of the passes over the data.
    assert all(isinstance(key, np.ndarray) or key.stop - key.start <= 100 for key, _ in rows.reads)


def test_check_input_reads_the_data_once_before_training_and_false_skips_it():
    X, y = synthetic_data(100)
    checked, trusted = RowArray(X), RowArray(X)
    fit(checked, y, epochs=1, verbose=0)
    fit(trusted, y, epochs=1, verbose=0, check_input=False)
    # the check's one pass, then the divergence guard's initial and final loss: three passes of slices.
    slices = [key for key, _ in checked.reads if isinstance(key, slice)]
    assert len(slices) - len([key for key, _ in trusted.reads if isinstance(key, slice)]) == 1


@pytest.mark.parametrize("kind", ["memmap", "memmap-float64", "rows"])
def test_a_nan_in_a_source_names_its_row(kind, tmp_path):
    X, y = synthetic_data(50)
    X[17, 1] = np.nan
    with pytest.raises(ValueError, match=r"^X passed to fit contains NaN or infinity .*first in row 17\."):
        fit(store(X, kind, tmp_path), y)
    Xv = synthetic_data(50)[0]
    Xv[45, 0] = np.inf  # in the validation split: still the row of the X given
    with pytest.raises(ValueError, match=r"first in row 45\."):
        fit(store(Xv, kind, tmp_path, "Xv"), y, validation_split=0.2)


def test_check_input_false_leaves_a_nan_to_the_divergence_guard():
    X, y = synthetic_data(50)
    X[3, 0] = np.nan
    with pytest.raises(
        DivergenceError,
        match=r"Training cannot start: .* already nan\. The data holds NaN or "
        r"infinity: fit\(check_input=True\), the default, finds the first bad row before training\.",
    ):
        fit(RowArray(X), y, check_input=False)
    X[3, 0], y[7] = 1.0, np.inf  # inf in y: the loss is inf, the same advice
    with pytest.raises(DivergenceError, match=r"already inf\. The data holds NaN or infinity"):
        fit(X, y, check_input=False)
    with pytest.raises(ValueError, match="'check_input' parameter of fit must be True or False"):
        fit(X, y, check_input="no")


def test_bad_sources_get_clear_errors(tmp_path):
    X, y = synthetic_data(30)
    with pytest.raises(ValueError, match=r"X passed to fit must be 2-D .*got shape \(30,\)"):
        fit(store(X[:, 0].copy(), "memmap", tmp_path), y)
    with pytest.raises(TypeError, match="X passed to fit must hold real numbers; got dtype object"):
        fit(RowArray(X.astype(object)), y)
    with pytest.raises(ValueError, match=r"same number of samples; got len\(X\)=30 and len\(y\)=29"):
        fit(store(X, "memmap", tmp_path), store(y[:-1], "memmap", tmp_path, "y"))
    closed = RowArray(X)
    closed.close()
    with pytest.raises(ValueError, match=r"Reading rows of X passed to fit \(RowArray\) failed: .*file is closed"):
        fit(closed, y)

    class NoShape:
        shape, dtype = "30 x 2", "float32"

        def __getitem__(self, key):
            return X[key]

    with pytest.raises(TypeError, match="X passed to fit is a NoShape whose shape and dtype could not be read"):
        fit(NoShape(), y)


@pytest.mark.parametrize("path", PATHS)
def test_a_file_closed_during_training_raises_and_keeps_nothing_half_done(path):
    X, y = synthetic_data(60)
    rows = RowArray(X)

    class CloseAfterFirstEpoch(Callback):
        def on_epoch_end(self, epoch, logs):
            rows.close()

    with pytest.raises(ValueError, match=r"Reading rows of X passed to fit \(RowArray\) failed"):
        fit(rows, y, path=path, epochs=3, verbose=0, check_input=False, callbacks=[CloseAfterFirstEpoch()])


@pytest.mark.parametrize("path", PATHS)
def test_resume_from_a_memmap_checkpoint_is_bitwise_the_uninterrupted_run(path, tmp_path):
    X, y = synthetic_data(120, true_w=[3.0, -1.0])
    Xm, ym = store(X, "memmap", tmp_path, "X"), store(y, "memmap", tmp_path, "y")
    config = dict(path=path, batch_size=7, optimizer="adam", lr=0.05, verbose=0)
    whole = fit(X, y, epochs=4, **config)
    checkpoint = tmp_path / "run.params"
    fit(Xm, ym, epochs=2, checkpoint=checkpoint, **config)
    resumed = fit(Xm, ym, epochs=4, checkpoint=checkpoint, resume=True, **config)
    assert_same_fit(whole, resumed)
    # the fingerprint is that of the same data in memory: a run checkpointed in memory resumes from a memmap
    other = tmp_path / "other.params"
    fit(X, y, epochs=2, checkpoint=other, **config)
    assert_same_fit(whole, fit(RowArray(X), y, epochs=4, checkpoint=other, resume=True, **config))
    with pytest.raises(gluonlr.CheckpointError, match="trained on other data"):
        fit(store(X + 1, "memmap", tmp_path, "X1"), ym, epochs=4, checkpoint=checkpoint, resume=True, **config)


class BatchLog(Callback):
    def on_train_begin(self, logs=None):
        self.sizes = []

    def on_batch_end(self, batch, logs):
        self.sizes.append((batch, logs["size"]))


@pytest.mark.parametrize("path", PATHS)
def test_on_batch_end_hears_every_batch(path):
    X, y = synthetic_data(25)
    log = BatchLog()
    fit(X, y, path=path, epochs=2, batch_size=10, verbose=0, callbacks=[log])
    assert log.sizes == [(0, 10), (1, 10), (2, 5)] * 2


def test_the_progress_bar_shows_an_epoch_s_samples_without_a_device_read_per_batch(capsys, monkeypatch):
    from gluonlr import loop
    from gluonlr._mxnet import nd

    X, y = synthetic_data(300)
    reads, clock = [], iter(range(10**6))
    original = nd.NDArray.wait_to_read
    monkeypatch.setattr(nd.NDArray, "wait_to_read", lambda self: reads.append(1) or original(self))
    # a clock that moves 1 s a batch: the loop would wait for the device at every batch if it waited by count
    monkeypatch.setattr(loop.time, "monotonic", lambda: float(next(clock)) * 0.1)
    fit(X, y, epochs=2, batch_size=10, callbacks=[ProgressBar(batch_delay=0.0)], verbose=0)
    err = capsys.readouterr().err
    assert "epoch 1/2" in err and "sample" in err  # the epoch's bar: samples done and samples/s
    # 60 batches, 0.1 s each on that clock: one wait every _PROGRESS_SYNC (0.5 s) = every 6th batch or so
    assert 2 <= len(reads) <= 60 // 5
    with pytest.raises(ValueError, match="'batch_delay' parameter of ProgressBar"):
        ProgressBar(batch_delay=-1)


@pytest.mark.parametrize("path", PATHS)
def test_mixed_storages_and_a_column_y(path, tmp_path):
    X, y = synthetic_data(90)
    expected = fit(X, y, path=path, epochs=2, verbose=0)
    Xm = store(X, "memmap", tmp_path, "X")
    assert_same_fit(expected, fit(Xm, store(y, "memmap-float64", tmp_path, "y64"), path=path, epochs=2, verbose=0))
    assert_same_fit(expected, fit(X, RowArray(y), path=path, epochs=2, verbose=0))
    column = store(y[:, None], "memmap", tmp_path, "ycol")
    with pytest.warns(gluonlr.DataConversionWarning, match=r"column-vector y of shape \(90, 1\)"):
        assert_same_fit(expected, fit(Xm, column, path=path, epochs=2, verbose=0))
    with pytest.warns(gluonlr.DataConversionWarning):
        assert_same_fit(expected, fit(RowArray(X), RowArray(y[:, None]), path=path, epochs=2, verbose=0))


def test_the_epoch_order_is_numpy_s_permutation_in_four_bytes_a_sample():
    """epoch_order shuffles an int32 arange: the values of Generator.permutation, half its memory."""
    for in_place in (False, True):  # permutation converted, or an int32 arange shuffled in place (large n)
        with mock.patch.object(batches, "_SHUFFLE_IN_PLACE", 0 if in_place else 2**20):
            for n, seed, epoch in [(1, 0, 0), (300, 0, 3), (100_003, 2**32 - 1, 7)]:
                order = gluonlr.epoch_order(n, seed, epoch)
                assert order.dtype == np.int32
                np.testing.assert_array_equal(order, np.random.default_rng([seed, epoch]).permutation(n))


@pytest.mark.parametrize("outputs", [1, 3])
def test_metrics_summed_over_chunks_do_not_depend_on_the_chunks(outputs):
    """evaluate reads in chunks and sums in float64: mxnet.metric's values on the whole data, whatever the chunks."""
    from gluonlr import metrics
    from gluonlr._mxnet import nd
    from gluonlr.config import FitConfig
    from gluonlr.learners import ManualLearner

    X, y = synthetic_data(101, true_w=[1.0, 2.0])
    y = np.stack([y * (k + 1) + k for k in range(outputs)], axis=1) if outputs > 1 else y
    weight = np.ones((2, outputs), np.float32) if outputs > 1 else np.ones(2, np.float32)
    learner = ManualLearner(X, y, FitConfig(), weight=weight, bias=np.zeros(outputs) if outputs > 1 else 0.0)
    names = ("mse", "rmse", "mae", "r2")
    whole = metrics.evaluate(learner, X, y, names)
    from gluonlr.data import sources

    with mock.patch.object(sources, "chunk_rows", lambda n_features: 7):  # chunks of 7 rows
        chunked = metrics.evaluate(learner, X, y, names)
    for name in names:
        assert chunked[name] == pytest.approx(whole[name], rel=1e-12)
    predictions = learner.predict(nd.array(X))
    labels = nd.array(y.reshape(len(y), -1))
    for name in ("mse", "rmse", "mae"):
        metric = metrics.METRICS[name]()
        metric.update([labels], [predictions])
        assert whole[name] == pytest.approx(metric.get()[1], rel=1e-5)
    assert whole["r2"] == pytest.approx(metrics.r2_score(y, predictions.asnumpy()), rel=1e-9)


def test_data_of_two_to_the_31_values_is_read_from_the_host(tmp_path):
    """MXNet 1.9.1 refuses arrays of 2**31 - 1 values or more: such a memmap is streamed, never shared whole.

    The files are sparse (created, never written): 8 GiB of X that take no disk.
    """
    n = 2**29 + 1
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float32, shape=(n, 4))
    y = np.lib.format.open_memmap(tmp_path / "y.npy", mode="w+", dtype=np.float32, shape=(n,))
    assert X.size >= batches.MAX_NDARRAY_SIZE
    assert isinstance(epoch_data(Source(X), Source(y), 1000), StreamData)
    assert isinstance(epoch_data(Source(X[: n // 2]), Source(y[: n // 2]), 1000), TakeData)
