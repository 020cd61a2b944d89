"""LibSVM files read by byte ranges (issue 26, deliverable 3): LibSVMSource's rows are read_libsvm's, bitwise, a fit
on it is the fit on read_libsvm's matrix, and the CLI reads a file of STREAM_BYTES or more that way.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse

import gluonlr
from gluonlr.cli import _files, main
from gluonlr.data import SparseSource, libsvm
from gluonlr.data.libsvm import read_libsvm
from gluonlr.data.libsvm_source import LibSVMSource
from test_libsvm import BAD_LINES, random_problem

sklearn_datasets = pytest.importorskip("sklearn.datasets")


def assert_bitwise(actual, expected):
    """Two CSR matrices hold the same arrays: values, indices, indptr, their dtypes, and the shape."""
    assert scipy.sparse.issparse(actual) and actual.format == "csr" and actual.shape == expected.shape
    for name in ("data", "indices", "indptr"):
        a, e = getattr(actual, name), getattr(expected, name)
        assert a.dtype == e.dtype and a.tobytes() == e.tobytes(), name


def messy_file(path, n=400, d=60, seed=0, zero_based=False):
    """A file with empty rows, comments, blank lines, qids, CRLF endings and no final newline."""
    rng = np.random.default_rng(seed)
    lines = ["# a header comment", ""]
    for i in range(n):
        k = int(rng.integers(0, 9)) if i % 9 else 0
        columns = np.sort(rng.choice(d, k, replace=False)) + (0 if zero_based else 1)
        line = f"{rng.normal():.17g}" + (" qid:7" if i % 5 == 0 else "")
        line += "".join(f" {c}:{rng.normal() * 10.0 ** rng.integers(-3, 4):.12g}" for c in columns)
        if i % 7 == 0:
            line += "  # a comment 1:2"
        lines.append(line + ("\r" if i % 11 == 0 else ""))
        if i % 13 == 0:
            lines.append("")
        if i % 17 == 0:
            lines.append("   # an indented comment")
    path.write_text("\n".join(lines))  # no final newline
    return path


@pytest.mark.parametrize(
    "options",
    [{}, {"zero_based": True}, {"n_features": 100}, {"dtype": np.float64}, {"zero_based": True, "n_features": 61}],
)
@pytest.mark.parametrize("block_bytes", [None, 300])
def test_the_rows_are_read_libsvms_rows_bitwise(tmp_path, monkeypatch, options, block_bytes):
    if block_bytes is not None:  # many blocks, lines split by their ends, long runs read a block at a time
        monkeypatch.setattr(libsvm, "BLOCK_BYTES", block_bytes)
    path = messy_file(tmp_path / "data.svm", zero_based=options.get("zero_based", False))
    X, y = read_libsvm(path, **options)
    source = LibSVMSource(path, **options)
    assert isinstance(source, SparseSource)
    assert source.shape == X.shape and source.nnz == X.nnz and source.dtype == X.dtype
    assert source.y.dtype == y.dtype and source.y.tobytes() == y.tobytes()
    rng = np.random.default_rng(1)
    n = X.shape[0]
    assert_bitwise(source.read(0, n), X[0:n])
    assert_bitwise(source.read(5, 5), X[5:5])
    assert_bitwise(source.rows(np.array([], dtype=np.int64)), X[np.array([], dtype=np.int64)])
    for _ in range(30):
        rows = rng.choice(n, int(rng.integers(1, n)), replace=False)
        assert_bitwise(source.rows(rows), X[rows])
        assert_bitwise(source.rows(np.sort(rows)), X[np.sort(rows)])
        start, stop = np.sort(rng.choice(n + 1, 2, replace=False))
        assert_bitwise(source.read(start, stop), X[start:stop])
        part = source.slice(start, stop)
        assert part.nnz == X[start:stop].nnz and part.y.tobytes() == y[start:stop].tobytes()
        if stop > start:
            inner = rng.choice(stop - start, min(7, stop - start), replace=False)
            assert_bitwise(part.rows(inner), X[start + inner])


def test_a_file_of_empty_rows_and_what_read_libsvm_refuses(tmp_path):
    path = tmp_path / "empty.svm"
    path.write_text("1\n2 # nothing\n\n3\n")
    X, _ = read_libsvm(path)
    assert_bitwise(LibSVMSource(path).rows(np.array([2, 0])), X[[2, 0]])
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match=r"The 'n_features' parameter of LibSVMSource must be an int in \[1, "):
            LibSVMSource(path, n_features=bad)
    path.write_text("\n# nothing\n")
    with pytest.raises(ValueError, match=r"empty.svm holds no line of data. Each line is 'TARGET INDEX:VALUE"):
        LibSVMSource(path)


@pytest.mark.parametrize(("text", "message"), BAD_LINES)
def test_a_bad_line_is_named_as_read_libsvm_names_it(tmp_path, text, message):
    path = tmp_path / "data.svm"
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        LibSVMSource(path)
    assert str(info.value) == f"{path}, {message}"


def test_a_bad_line_far_into_the_file_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(libsvm, "BLOCK_BYTES", 1000)
    path = tmp_path / "data.svm"
    path.write_text("1 1:2 5:3\n" * 5000 + "# a comment: 1 x:2\n\n" + "2 3:1\n" * 10 + "1 3:1 2:1\n")
    with pytest.raises(ValueError) as info:
        LibSVMSource(path)
    with pytest.raises(ValueError) as expected:
        read_libsvm(path)
    assert str(info.value) == str(expected.value) and "data.svm, line 5013: index 2 follows index 3" in str(info.value)


def test_a_file_changed_after_the_first_pass_is_refused(tmp_path):
    path = messy_file(tmp_path / "data.svm")
    source = LibSVMSource(path)
    text = path.read_bytes()
    stat = os.stat(path)
    path.write_bytes(text.replace(b"qid:7", b"qid:8", 1))  # the same size: the modification time differs
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    with pytest.raises(ValueError, match=r"data.svm changed since gluonlr read it first \(its size or modification "):
        source.rows(np.array([3, 1]))
    path.write_bytes(text + b"\n1 1:2\n")
    with pytest.raises(ValueError, match=r"data.svm changed since gluonlr read it first"):
        source.read(0, 10)
    # Lines moved, the size and time put back: the rows read are not those of the first pass.
    path.write_bytes(b"\n" + text[:-1])
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(ValueError, match=r"data.svm changed since gluonlr read it first \("):
        source.rows(np.array([3, 1]))
    path.unlink()
    with pytest.raises(ValueError, match=r"data.svm changed since gluonlr read it first \(it can no longer be opened"):
        source.read(0, 1)


@pytest.fixture
def svm_file(tmp_path):
    X, y = random_problem(n=400)
    path = tmp_path / "data.svm"
    sklearn_datasets.dump_svmlight_file(X, y, str(path), zero_based=False)
    return path


def _weights(result):
    return np.asarray(result.weight).tobytes(), np.asarray(result.bias).tobytes()


@pytest.mark.parametrize("path", ["manual", "gluon"])
def test_a_fit_on_the_source_is_the_fit_on_read_libsvms_matrix(svm_file, path):
    X, y = read_libsvm(svm_file)
    source = LibSVMSource(svm_file)
    for options in ({}, {"validation_split": 0.25, "standardize": True, "lr": "auto", "batch_size": 16}):
        expected = gluonlr.fit(X, y, path=path, epochs=3, verbose=0, **options)
        result = gluonlr.fit(source, source.y, path=path, epochs=3, verbose=0, **options)
        assert _weights(result) == _weights(expected) and result.history == expected.history


def _run(capsys, *args):
    status = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("path", ["manual", "gluon"])
def test_the_cli_streams_a_large_file_to_the_same_model(capsys, monkeypatch, tmp_path, svm_file, path):
    flags = ["--path", path, "--epochs", "3", "--validation-split", "0.2", "-q"]
    assert _run(capsys, "fit", svm_file, "--out", tmp_path / "memory.params", *flags)[0] == 0
    streamed = []
    original = LibSVMSource.__init__

    def spy(self, *args, **kwargs):
        streamed.append(args[0])
        original(self, *args, **kwargs)

    monkeypatch.setattr(LibSVMSource, "__init__", spy)
    monkeypatch.setattr(_files, "STREAM_BYTES", 0)
    assert _run(capsys, "fit", svm_file, "--out", tmp_path / "stream.params", *flags)[0] == 0
    assert streamed == [str(svm_file)]
    assert (tmp_path / "stream.params").read_bytes() == (tmp_path / "memory.params").read_bytes()
    for command in (
        ["predict", tmp_path / "stream.params", svm_file],
        ["evaluate", tmp_path / "stream.params", svm_file],
    ):
        monkeypatch.setattr(_files, "STREAM_BYTES", 1 << 40)
        status, expected, _ = _run(capsys, *command)
        monkeypatch.setattr(_files, "STREAM_BYTES", 0)
        assert status == 0 and _run(capsys, *command) == (0, expected, "")
    assert len(streamed) == 3


def test_the_cli_names_a_bad_line_of_a_streamed_file(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(_files, "STREAM_BYTES", 0)
    path = tmp_path / "bad.svm"
    path.write_text("1 1:2\n2 3:1\n1 4:2 2:1\n")
    status, out, err = _run(capsys, "fit", path, "--out", tmp_path / "m.params")
    assert status == 1 and out == "" and not (tmp_path / "m.params").exists()
    assert f"{path}, line 3: index 2 follows index 4" in err


# Memory: a fresh interpreter writes a LibSVM file of `rows` rows of 40 non-zeros over 2**18 features, warms up
# on a small fit, then samples RssAnon (every 2 ms, from a thread) while it indexes the file and fits one epoch on
# it (plain SGD, batches of 1,000). CHUNK_BYTES is set to 1 MiB, so that the passes over the data (the epoch's
# loss, the checks) read chunks of 6,553 rows: what a file larger than memory is read in, at a size a test writes.
STREAM_MEMORY_SCRIPT = r"""
import json, sys, warnings

sys.setswitchinterval(0.001)
sys.path.insert(0, sys.argv.pop(1))  # this directory: memory_probe
import numpy as np
import scipy.sparse
from sklearn.datasets import dump_svmlight_file

import gluonlr
import gluonlr.data.sources
from gluonlr.data.libsvm_source import LibSVMSource
from memory_probe import peak_growth

gluonlr.data.sources.CHUNK_BYTES = 1 << 20
file, path, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
d, per_row = 2**18, 40
rng = np.random.default_rng(0)
indices = rng.integers(0, d, (rows, per_row))
X = scipy.sparse.csr_matrix((np.ones(rows * per_row), indices.ravel(), np.arange(0, rows * per_row + 1, per_row)),
                            shape=(rows, d))
X.sum_duplicates()
dump_svmlight_file(X, rng.standard_normal(rows), file, zero_based=False)
csr_mib = (X.data.nbytes // 2 + X.indices.nbytes + X.indptr.nbytes) / 2**20  # float32 values, as fit reads them
del X, indices
options = {"path": path, "epochs": 1, "batch_size": 1000, "reduction": "mean", "lr": 0.01, "init": "zeros",
           "verbose": 0}
warnings.simplefilter("ignore")  # one epoch of random data: worse than the mean

small = LibSVMSource(file)
gluonlr.fit(small.slice(0, 2000), small.y[:2000], **options)  # the warm-up
del small


def index_and_fit():
    source = LibSVMSource(file)
    return gluonlr.fit(source, source.y, **options)


measured, result = peak_growth(index_and_fit)
assert np.isfinite(result.weight).all()
print(json.dumps({**measured, "csr": csr_mib}))
"""


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads RssAnon from Linux's /proc/self/status")
@pytest.mark.parametrize("path", ["manual", "gluon"])
def test_a_streamed_fit_takes_the_same_memory_from_a_file_three_times_larger(tmp_path, path, popen):
    measured = {}
    for rows in (40_000, 120_000):
        process = popen(
            [
                sys.executable,
                "-c",
                STREAM_MEMORY_SCRIPT,
                str(Path(__file__).parent),
                str(tmp_path / f"{rows}.svm"),
                path,
                f"{rows}",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
        measured[rows] = json.loads(stdout)
        assert measured[rows]["samples"] >= 10, measured
    small, large = measured[40_000], measured[120_000]
    # Read whole, the larger file's CSR alone (37 MiB) would add 24 MiB to the smaller's; streamed, the memory is
    # that of a block of text being indexed, the chunks, the batches and the weights (here 65 to 80 MiB), whatever
    # the file's length, plus 16 bytes a row of index. Half the CSR's difference leaves room for MXNet's pool.
    assert large["growth"] <= small["growth"] + 0.5 * (large["csr"] - small["csr"]), measured
