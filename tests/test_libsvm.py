"""LibSVM files: read as scikit-learn's load_svmlight_file reads them, block by block, every bad line named; and
gluonlr fit, predict and evaluate on them (issue 26, deliverable 3).

The CLI runs in this process (``gluonlr.cli.main``). Equality is bitwise throughout: the reader rounds each value
from float64 to float32 once, as fit rounds load_svmlight_file's float64 matrix, so the same data reach fit.
"""

import json
import os
import tracemalloc

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given
from hypothesis import strategies as st

from gluonlr import fit, load
from gluonlr.cli import main
from gluonlr.data import libsvm
from gluonlr.data.files import read_data
from gluonlr.data.libsvm import is_libsvm, read_libsvm
from gluonlr.options import OPTIONS

sklearn_datasets = pytest.importorskip("sklearn.datasets")  # the reference reader

#: gluonlr fit FILE's defaults where they are not fit's: the table's defaults for users' data.
USERS = {name: option.default_on("cli") for name, option in OPTIONS.items()
         if option.on("cli") and option.default_on("cli") != option.default}  # fmt: skip


def run(capsys, *args):
    """``gluonlr ARGS`` in this process: (status, stdout, stderr)."""
    status = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return status, out, err


def random_problem(n=300, d=200, density=0.05, seed=0):
    """A CSR X with some empty rows, and y = X w + b + noise."""
    rng = np.random.default_rng(seed)
    X = scipy.sparse.random(n, d, density=density, random_state=seed, format="csr", dtype=np.float64)
    X.data = rng.uniform(-2.0, 2.0, X.nnz)
    y = X @ rng.standard_normal(d) + 1.5 + 0.05 * rng.standard_normal(n)
    return X, y


@pytest.fixture
def svm_file(tmp_path):
    X, y = random_problem()
    path = tmp_path / "data.svm"
    sklearn_datasets.dump_svmlight_file(X, y, str(path), zero_based=False)
    return path


def assert_same(X, y, expected_X, expected_y):
    """X, y (float32) are load_svmlight_file's expected_X, expected_y rounded to float32, bitwise."""
    assert X.shape == expected_X.shape and X.dtype == np.float32 and y.dtype == np.float32
    expected_X = scipy.sparse.csr_matrix(expected_X)
    for name in ("indptr", "indices"):
        np.testing.assert_array_equal(getattr(X, name), getattr(expected_X, name), err_msg=name)
    np.testing.assert_array_equal(X.data, expected_X.data.astype(np.float32))
    np.testing.assert_array_equal(y, expected_y.astype(np.float32))


# -- the reader ------------------------------------------------------------------------------------------------


@st.composite
def libsvm_texts(draw):
    """The text of a LibSVM file, in the forms the format allows, and the load_svmlight_file options it needs."""
    zero_based = draw(st.booleans())
    lines = []
    for _ in range(draw(st.integers(1, 12))):
        target = draw(st.sampled_from(["1", "-2.5", "3e-3", "+7", "0", "1.0000001"]))
        indices = sorted(draw(st.sets(st.integers(0 if zero_based else 1, 40), max_size=6)))
        values = [draw(st.sampled_from(["0", "1", "-0.5", "2.25e3", ".5", "123456789.123", "1e-40"])) for _ in indices]
        pairs = [f"{index}:{value}" for index, value in zip(indices, values, strict=True)]
        gap = draw(st.sampled_from([" ", "  ", "\t"]))
        qid = draw(st.sampled_from(["", f"{gap}qid:{draw(st.integers(0, 5))}"]))
        comment = draw(st.sampled_from(["", " # a comment", "#x:1"]))
        line = target + qid + "".join(gap + pair for pair in pairs) + comment
        lines.append(line + draw(st.sampled_from(["", " ", "\r"])))
        if draw(st.integers(0, 5)) == 0:
            lines.append(draw(st.sampled_from(["", "   ", "# only a comment"])))
    end = draw(st.sampled_from(["\n", ""]))
    n_features = draw(st.sampled_from([None, 60]))
    return "\n".join(lines) + end, zero_based, n_features


@given(libsvm_texts(), st.sampled_from([libsvm.BLOCK_BYTES, 7, 64]))
def test_the_reader_reads_what_load_svmlight_file_reads(tmp_path_factory, problem, block_bytes):
    text, zero_based, n_features = problem
    path = tmp_path_factory.mktemp("svm") / "data.svm"
    path.write_text(text, newline="")
    options = {"zero_based": zero_based, "n_features": n_features}
    expected_X, expected_y = sklearn_datasets.load_svmlight_file(str(path), **options)
    old, libsvm.BLOCK_BYTES = libsvm.BLOCK_BYTES, block_bytes  # blocks of a few bytes: lines longer than a block
    try:
        X, y = read_libsvm(path, **options)
    finally:
        libsvm.BLOCK_BYTES = old
    assert_same(X, y, expected_X, expected_y)


def test_a_dumped_matrix_reads_back(tmp_path):
    X, y = random_problem(n=500, d=3000, density=0.01, seed=1)
    for zero_based in (False, True):
        path = tmp_path / f"zero_based_{zero_based}.svm"
        sklearn_datasets.dump_svmlight_file(X, y, str(path), zero_based=zero_based)
        read_X, read_y = read_libsvm(path, zero_based=zero_based, n_features=3000)
        expected_X, expected_y = sklearn_datasets.load_svmlight_file(str(path), zero_based=zero_based, n_features=3000)
        assert_same(read_X, read_y, expected_X, expected_y)  # dump_svmlight_file writes 16 digits: not always X
        np.testing.assert_allclose(read_X.toarray(), X.toarray(), rtol=1e-7)
        assert read_X.has_canonical_format and read_X.indices.dtype == np.int32
    as_float64, _ = read_libsvm(path, zero_based=True, n_features=3000, dtype=np.float64)
    assert as_float64.dtype == np.float64 and (as_float64 != expected_X).nnz == 0


def test_a_hand_written_file():
    """One line of each kind, computed by hand: index 1 is column 0; a comment, a blank line, a qid and a 0 kept."""
    text = "# a header comment\n2.5 1:1 3:-2  # a comment\n\n-1 qid:7 2:0.5 4:0\n0\n"
    X, y = _read_text(text)
    assert X.shape == (3, 4) and X.nnz == 4  # the stored 0 is kept, as load_svmlight_file keeps it
    assert X.toarray().tolist() == [[1.0, 0.0, -2.0, 0.0], [0.0, 0.5, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    assert y.tolist() == [2.5, -1.0, 0.0]


def _read_text(text, **options):
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "data.svm")
        with open(path, "w", newline="") as file:
            file.write(text)
        return read_libsvm(path, **options)


BAD_LINES = [
    ("1 1:2\n1:0.5 2:1\n", "line 2: no target: the line starts with '1:0.5', a feature. Each line is 'TARGET "
     "INDEX:VALUE INDEX:VALUE ...'."),
    ("1 1:2\nabc 2:1\n", "line 2, the target: 'abc' is not a number. Each line is 'TARGET INDEX:VALUE INDEX:VALUE "
     "...'."),
    ("nan 1:2\n", "line 1, the target: 'nan' is not a finite number. Remove or impute the NaN and infinite values "
     "first."),
    ("1 1:2 3:x\n", "line 1, index 3: 'x' is not a number. Each line is 'TARGET INDEX:VALUE INDEX:VALUE ...'."),
    ("1 1:2 3:inf\n", "line 1, index 3: 'inf' is not a finite number. Remove or impute the NaN and infinite values "
     "first."),
    ("1 1:1e39\n", "line 1, index 1: '1e39' is beyond the range of float32 (±3.4e38), in which gluonlr computes. "
     "Scale the values first."),
    ("1 1:2 7\n", "line 1: '7' is not 'INDEX:VALUE'. Each line is 'TARGET INDEX:VALUE INDEX:VALUE ...'."),
    ("1 1:2 7:\n", "line 1: '7:' is not 'INDEX:VALUE'. Each line is 'TARGET INDEX:VALUE INDEX:VALUE ...'."),
    ("1 1:2:3 4\n", "line 1, index 1: '2:3' is not a number. Each line is 'TARGET INDEX:VALUE INDEX:VALUE ...'."),
    ("1 a:2\n", "line 1: the index 'a' of 'a:2' is not an integer."),
    ("1 1.5:2\n", "line 1: the index '1.5' of '1.5:2' is not an integer."),
    ("1 -3:2\n", "line 1: index -3 is negative."),
    ("1 0:2\n", "line 1: index 0, but the indices start at 1 (libsvm's convention). If the file's indices start "
     "at 0, pass --zero-based (zero_based=True)."),
    ("1 4:2 2:1\n", "line 1: index 2 follows index 4: the indices of a line must increase (sorted, each at most "
     "once)."),
    ("1 4:2 4:1\n", "line 1: index 4 follows index 4: the indices of a line must increase (sorted, each at most "
     "once)."),
    ("1 99999999999999999999:1\n", "line 1: index 99999999999999999999 is too large: at most 2147483647."),
    ("1 qid:a 1:2\n", "line 1: the query id 'qid:a' is not 'qid:INTEGER'."),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), BAD_LINES)
def test_a_bad_line_is_named_with_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "data.svm"
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        read_libsvm(path)
    assert str(info.value) == f"{path}, {message}"


def test_a_bad_line_far_into_the_file_is_named(tmp_path, monkeypatch):
    """Many blocks before it: the line is counted across them (and a line split by a block's end is whole)."""
    monkeypatch.setattr(libsvm, "BLOCK_BYTES", 1000)
    path = tmp_path / "data.svm"
    path.write_text("1 1:2 5:3\n" * 5000 + "# a comment: 1 x:2\n\n" + "2 3:1\n" * 10 + "1 3:1 2:1\n")
    with pytest.raises(ValueError, match=r"data.svm, line 5013: index 2 follows index 3"):
        read_libsvm(path)


def test_n_features_and_the_first_index(tmp_path):
    path = tmp_path / "data.svm"
    path.write_text("1 1:2 5:3\n2 0:1\n")
    X, _ = read_libsvm(path, zero_based=True)
    assert X.shape == (2, 6) and X[1, 0] == 1.0 and X[0, 5] == 3.0
    path.write_text("1 1:2 5:3\n")
    assert read_libsvm(path)[0].shape == (1, 5) and read_libsvm(path, n_features=9)[0].shape == (1, 9)
    with pytest.raises(ValueError) as info:
        read_libsvm(path, n_features=4)
    assert str(info.value) == f"{path}, line 1: index 5 is beyond the 4 features of --n-features (indices 1 to 4)."
    with pytest.raises(ValueError, match=r"beyond the 5 features of the model m.params \(indices 0 to 4\)"):
        read_libsvm(path, n_features=5, zero_based=True, n_features_from="the model m.params")
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match=r"The 'n_features' parameter of read_libsvm must be an int in \[1, "):
            read_libsvm(path, n_features=bad)
    for text in ("", "\n# nothing\n\n"):
        path.write_text(text)
        with pytest.raises(ValueError, match=r"data.svm holds no line of data. Each line is 'TARGET INDEX:VALUE"):
            read_libsvm(path)


def test_is_libsvm_and_what_read_data_refuses(tmp_path):
    assert is_libsvm("a.svm") and is_libsvm("a.libsvm") and is_libsvm("A.SVMLIGHT") and not is_libsvm("a.svm.csv")
    path = tmp_path / "data.svm"
    path.write_text("1 1:2\n")
    with pytest.raises(ValueError, match=r"data.svm is a LibSVM file: each line starts with its target.*\(--target\)"):
        read_data(path, target="y")
    csv = tmp_path / "data.csv"
    csv.write_text("x,y\n1,2\n")
    with pytest.raises(ValueError, match=r"--zero-based is for LibSVM files \(a name ending in .svm, .libsvm, "):
        read_data(csv, target="y", zero_based=True)
    data = read_data(path)
    assert data.X.shape == (1, 1) and data.y.tolist() == [1.0] and data.feature_names is None


def test_memory_grows_with_the_non_zeros_not_the_columns(tmp_path, monkeypatch):
    """3,000 rows x 2**20 columns (12 GiB dense), 20 non-zeros a row: the read's peak is a few times the CSR's."""
    monkeypatch.setattr(libsvm, "BLOCK_BYTES", 64 << 10)
    rng = np.random.default_rng(0)
    n, k = 3_000, 20
    columns = np.sort(rng.choice(2**20, size=(n, k)), axis=1) + np.arange(1, k + 1)  # increasing along a row
    path = tmp_path / "wide.svm"
    path.write_text("".join("1.5 " + " ".join(f"{column}:0.25" for column in row) + "\n" for row in columns))
    tracemalloc.start()
    try:
        X, _ = read_libsvm(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    csr_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    assert X.nnz == n * k and X.shape[1] > 2**20 - 1
    assert peak < 4 * csr_bytes + 40 * libsvm.BLOCK_BYTES, (peak, csr_bytes)


# -- gluonlr fit, predict, evaluate ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["manual", "gluon"])
def test_fit_on_a_libsvm_file_is_fit_on_load_svmlight_file_with_the_users_defaults(capsys, tmp_path, svm_file, path):
    """The CLI's defaults (standardize: scaling only on sparse data, lr='auto', dtype 'auto': float32) train."""
    out = tmp_path / "model.params"
    status, text, err = run(capsys, "fit", svm_file, "--out", out, "--path", path, "--json", "-q")
    assert status == 0, err
    report = json.loads(text)
    X, y = sklearn_datasets.load_svmlight_file(str(svm_file), zero_based=False)
    expected = fit(X, y, **{**USERS, "path": path, "verbose": 0})
    model = load(out)
    np.testing.assert_array_equal(model.weight, expected.weight)  # bitwise
    np.testing.assert_array_equal(model.bias, expected.bias)
    assert report["history"] == expected.history and report["lr"] == expected.lr
    assert report["n_samples"] == 300 and report["target"] is None and report["feature_names"] is None
    assert report["params"]["standardize"] is True and report["params"]["lr"] == "auto"
    assert report["metrics"]["training"]["r2"] > 0.99


def test_predict_and_evaluate_on_a_libsvm_file(capsys, tmp_path, svm_file):
    out, predictions = tmp_path / "model.params", tmp_path / "p.csv"
    assert run(capsys, "fit", svm_file, "--out", out, "--epochs", "5", "-q")[0] == 0
    model = load(out)
    X, y = sklearn_datasets.load_svmlight_file(str(svm_file), zero_based=False, n_features=model.n_features)
    status, _, err = run(capsys, "predict", out, svm_file, "-o", predictions)
    assert status == 0, err
    lines = predictions.read_text().splitlines()
    assert lines[0] == "prediction"
    np.testing.assert_array_equal(np.array(lines[1:], dtype=np.float32), model.predict(X))
    status, text, err = run(capsys, "evaluate", out, svm_file, "--json")
    assert status == 0, err
    assert json.loads(text)["r2"] == pytest.approx(model.score(X, y), abs=1e-6)
    # A file of test data whose largest index is smaller: read with the model's features.
    small = tmp_path / "small.svm"
    small.write_text("1 1:0.5\n2 3:1\n")
    status, text, _ = run(capsys, "predict", out, small)
    expected = model.predict(scipy.sparse.csr_matrix(([0.5, 1.0], [0, 2], [0, 1, 2]), shape=(2, model.n_features)))
    assert status == 0 and text.splitlines()[1:] == [str(value) for value in expected]


def test_more_features_than_the_model_is_an_error(capsys, tmp_path, svm_file):
    out = tmp_path / "model.params"
    assert run(capsys, "fit", svm_file, "--out", out, "--epochs", "2", "-q")[0] == 0
    wide = tmp_path / "wide.svm"
    wide.write_text("1 1:2\n1 3:1 201:4\n")
    for command in (["predict", out, wide, "-o", tmp_path / "p.csv"], ["evaluate", out, wide]):
        status, text, err = run(capsys, *command)
        assert (status, text) == (1, "")
        assert err == (
            f"gluonlr: error: {wide}, line 2: index 201 is beyond the 200 features of the model {out} (indices 1 "
            "to 200).\n"
        )
    assert not (tmp_path / "p.csv").exists()


@pytest.mark.parametrize(("text", "message"), [BAD_LINES[0], BAD_LINES[3], BAD_LINES[12], BAD_LINES[13]])
def test_a_bad_line_is_one_line_exit_1_and_writes_nothing(capsys, tmp_path, text, message):
    path, out = tmp_path / "data.svm", tmp_path / "model.params"
    path.write_text(text)
    status, printed, err = run(capsys, "fit", path, "--out", out)
    assert (status, printed, err) == (1, "", f"gluonlr: error: {path}, {message}\n")
    assert os.listdir(tmp_path) == ["data.svm"]  # nothing written, not even a temporary file


def test_the_libsvm_flags(capsys, tmp_path, svm_file):
    out = tmp_path / "model.params"
    zero = tmp_path / "zero.svm"
    zero.write_text("1 0:1 2:1\n2 1:1\n3 0:2\n")
    status, text, err = run(capsys, "fit", zero, "--out", out, "--zero-based", "--n-features", "5", "--json", "-q")
    assert status == 0, err
    assert len(json.loads(text)["weight"]) == 5
    status, _, err = run(capsys, "fit", zero, "--out", out, "--n-features", "2")
    assert status == 1 and "zero.svm, line 1: index 0, but the indices start at 1" in err
    status, _, err = run(capsys, "fit", svm_file, "--out", out, "--target", "y")
    assert status == 1 and "there is no column to select (--target)" in err
    with pytest.raises(SystemExit) as info:
        main(["fit", str(svm_file), "--out", str(out), "--n-features", "0"])
    assert info.value.code == 2 and "argument --n-features: must be an int >= 1" in capsys.readouterr().err


def test_the_summary_of_a_wide_model_lists_its_largest_weights(capsys, tmp_path):
    path, out = tmp_path / "wide.svm", tmp_path / "model.params"
    path.write_text("".join(f"{index} {index}:1\n" for index in range(1, 31)))
    status, text, err = run(capsys, "fit", path, "--out", out, "--epochs", "3", "-q")
    assert status == 0, err
    listed = [line.split()[0] for line in text.splitlines() if line.startswith("  x")]
    largest = np.argsort(-np.abs(load(out).weight), kind="stable")[:20]
    assert listed == [f"x{index + 1}" for index in sorted(largest)]
    assert "  ... and 10 smaller weights (all in the model file)" in text


def test_standard_input_is_read_as_a_libsvm_file_when_it_is_one(capsys, tmp_path, svm_file, monkeypatch):
    """Its first line of data is a target and INDEX:VALUE pairs, or --zero-based or --n-features is given."""
    import io
    import sys

    def stdin(raw):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))

    out = tmp_path / "model.params"
    assert run(capsys, "fit", svm_file, "--out", out, "--epochs", "3", "-q")[0] == 0
    status, expected, _ = run(capsys, "predict", out, svm_file)
    assert status == 0
    stdin(b"# a comment first\n\n" + svm_file.read_bytes())
    assert run(capsys, "predict", out, "-") == (0, expected, "")
    stdin(svm_file.read_bytes())
    status, text, err = run(capsys, "fit", "-", "--out", tmp_path / "again.params", "--epochs", "3", "-q", "--json")
    assert status == 0, err
    assert json.loads(text)["data"] == "<standard input>"
    np.testing.assert_array_equal(load(tmp_path / "again.params").weight, load(out).weight)
    stdin(b"1\n2 0:1\n")  # no feature on its first line: known by --zero-based
    assert run(capsys, "fit", "-", "--out", tmp_path / "zero.params", "--zero-based", "-q")[0] == 0
    stdin(b"1 1:2\n2 3:x\n")
    assert run(capsys, "fit", "-", "--out", tmp_path / "bad.params") == (
        1,
        "",
        "gluonlr: error: <standard input>, line 2, index 3: 'x' is not a number. Each line is 'TARGET "
        "INDEX:VALUE INDEX:VALUE ...'.\n",
    )
    assert not (tmp_path / "bad.params").exists()
