"""gluonlr fit, predict and evaluate on CSV and .npy files: the results, the files written, every bad file.

Most tests call ``gluonlr.cli.main`` in this process (what the console script runs); the console script itself
runs in a subprocess where a process matters: a closed pipe, and a job of two workers under ``gluonlr launch``.
"""

import inspect
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

import gluonlr
from conftest import MARK, read_and_close
from gluonlr import fit, load
from gluonlr._mxnet import nd
from gluonlr.cli import build_parser, main
from gluonlr.cli.options import EXCLUDED_OPTIONS, FIT_FLAGS, fit_options
from gluonlr.data import files
from gluonlr.data.files import read_data
from gluonlr.metrics import METRICS, r2_score, scores
from gluonlr.options import OPTIONS

GLUONLR = shutil.which("gluonlr", path=os.path.dirname(sys.executable)) or shutil.which("gluonlr")
JOB_SECONDS = 240  # a job takes seconds; this only keeps a broken one from hanging the suite
FAST = ["--epochs", "3", "--lr", "0.02", "--tol", "none", "-q"]
#: gluonlr fit FILE's defaults where they are not fit's: the table's defaults for users' data.
USERS = {name: option.default_on("cli") for name, option in OPTIONS.items()
         if option.on("cli") and option.default_on("cli") != option.default}  # fmt: skip


def fit_as_cli(X, y, **options):
    """fit with gluonlr fit FILE's defaults, and ``options``.

    dtype="auto" reads a CSV file's cells as float32 (its data frame, here, is float64): pass the dtype fit gets.
    """
    return fit(X, y, **{**USERS, "dtype": "float32", "verbose": 0, **options})


def make_frame(n=57, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    y = X @ [1.5, -2.0, 0.5] + 3.0 + 0.1 * rng.standard_normal(n)
    return pd.DataFrame({"x1": X[:, 0], "x2": X[:, 1], "note": rng.integers(0, 9, n), "x3": X[:, 2], "y": y})


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "data.csv"
    make_frame().to_csv(path, index=False)
    return path


def run(capsys, *args):
    """``gluonlr ARGS`` in this process: (status, stdout, stderr)."""
    status = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return status, out, err


def fit_json(capsys, *args):
    status, out, err = run(capsys, "fit", *args, "--json")
    assert status == 0, err
    return json.loads(out)


# -- the flags ---------------------------------------------------------------------------------------------------


def test_every_option_of_fit_has_a_flag_or_a_reason():
    """A new parameter of fit fails this test until it is an entry of FIT_FLAGS or EXCLUDED_OPTIONS."""
    flags = [flag.option for flag in FIT_FLAGS]
    assert len(flags) == len(set(flags)) and not set(flags) & set(EXCLUDED_OPTIONS)
    assert set(flags) | set(EXCLUDED_OPTIONS) == set(inspect.signature(fit).parameters)
    assert flags == [name for name in inspect.signature(fit).parameters if name in flags]  # fit's order


def test_flags_reach_fit_by_their_names():
    args = build_parser().parse_args(
        ["fit", "d.csv", "--target", "y", "--out", "m.params", "--path", "gluon", "--loss", "huber", "--rho", "2",
         "--reduction", "mean", "--lr", "auto", "--standardize", "--batch-size", "7", "--epochs", "4", "--seed", "3",
         "--momentum", "0.9", "--nesterov", "--penalty", "l2", "--alpha", "0.01", "--lr-schedule", "cosine",
         "--validation-split", "0.25", "--metrics", "mse, r2", "--early-stopping", "--checkpoint", "run.params",
         "--resume", "--ctx", "cpu:0,cpu:1", "--kvstore", "local"]
    )  # fmt: skip
    assert fit_options(args) == {
        **{flag.option: flag.fit_default(users_data=True) for flag in FIT_FLAGS},
        "path": "gluon", "loss": "huber", "rho": 2.0, "reduction": "mean", "lr": "auto", "standardize": True,
        "batch_size": 7, "epochs": 4,
        "seed": 3, "momentum": 0.9, "nesterov": True, "penalty": "l2", "alpha": 0.01, "lr_schedule": "cosine",
        "validation_split": 0.25, "metrics": ("mse", "r2"), "early_stopping": True, "checkpoint": "run.params",
        "resume": True, "ctx": "cpu:0,cpu:1", "kvstore": "local",
    }  # fmt: skip
    defaults = fit_options(build_parser().parse_args(["fit", "d.csv", "--out", "m"]))
    # gluonlr fit FILE takes the users' data defaults (the table's user_default), not fit's, the article's:
    users = {"reduction": "mean", "lr": "auto", "standardize": True, "standardize_target": True,
             "batch_size": "auto", "epochs": 1000, "tol": 1e-5, "init": "zeros",
             "dtype": "auto"}  # fmt: skip
    assert {name: defaults[name] for name in users} == users
    assert all(users[name] != inspect.signature(fit).parameters[name].default for name in users)
    assert {name: value for name, value in defaults.items() if name not in users} == {
        flag.option: flag.fit_default() if flag.type else bool(flag.fit_default())
        for flag in FIT_FLAGS
        if flag.option not in users
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lr", "nan"], "argument --lr: must be a finite float > 0 or 'auto'. Got nan instead."),
        (["--lr", "Auto"], "argument --lr: must be a finite float > 0 or 'auto'. Got 'Auto' instead."),
        (["--beta2", "1"], "argument --beta2: must be a float in [0, 1) (also as a float32). Got 1.0 instead."),
        (["--metrics", "mse,acc"], "argument --metrics: each name must be one of 'mse', 'rmse', 'mae', 'r2'."),
        (["--features", "x1,,x2"], "argument --features: must be column names separated by commas."),
        (["--kvstore", "dist_async"], "argument --kvstore: invalid choice: 'dist_async'"),
    ],
)
def test_bad_flags_are_usage_errors(capsys, args, message):
    with pytest.raises(SystemExit) as info:
        main(["fit", "data.csv", "--target", "y", "--out", "m.params", *args])
    assert info.value.code == 2
    assert f"gluonlr fit: error: {message}" in capsys.readouterr().err


def test_out_is_required(capsys):
    with pytest.raises(SystemExit) as info:
        main(["fit", "data.csv", "--target", "y"])
    assert info.value.code == 2 and "the following arguments are required: --out" in capsys.readouterr().err


# -- fit, predict, evaluate on a CSV file --------------------------------------------------------------------------


def test_fit_on_a_csv_file_is_fit_on_its_data_frame(capsys, csv_file, tmp_path):
    out = tmp_path / "model.params"
    report = fit_json(capsys, csv_file, "--target", "y", "--features", "x3,x1", "--out", out, *FAST, "--path", "gluon")
    frame = pd.read_csv(csv_file)
    expected = fit_as_cli(frame[["x3", "x1"]], frame["y"], epochs=3, lr=0.02, tol=None, path="gluon")
    model = load(out)
    np.testing.assert_array_equal(model.weight, expected.weight)
    assert model.bias == np.float32(expected.bias) and model.feature_names == ("x3", "x1")
    assert report["weight"] == expected.weight.tolist() and report["history"] == expected.history
    assert report["feature_names"] == ["x3", "x1"] and report["n_samples"] == 57 and report["n_validation"] == 0
    assert report["feature_names_file"] == f"{out}.features.json" and os.path.exists(report["feature_names_file"])
    prediction = expected.predict(frame[["x3", "x1"]])
    assert report["metrics"] == {"training": scores(frame["y"].to_numpy(np.float32), prediction)}
    assert report["params"] == expected.params and report["path"] == "gluon"


def test_fit_prints_a_summary_with_validation_metrics(capsys, csv_file, tmp_path):
    out = tmp_path / "model.params"
    status, text, err = run(capsys, "fit", csv_file, "--target", "y", "--out", out, *FAST, "--validation-split", "0.2")
    assert status == 0 and err == ""
    lines = text.splitlines()
    assert lines[0] == f"{csv_file}: 45 training samples, 12 held out for validation, 4 features, target 'y'"
    assert lines[1].startswith("manual path, 3 epochs, lr 0.02, final training loss ")
    assert [line.split()[0] for line in lines[2:7]] == ["x1", "x2", "note", "x3", "bias"]
    assert lines[7].startswith("training:   mse ") and lines[8].startswith("validation: mse ")
    model, frame = load(out), pd.read_csv(csv_file)
    X, y = frame[["x1", "x2", "note", "x3"]], frame["y"].to_numpy(np.float32)
    values = scores(y[45:], model.predict(X.iloc[45:]))  # fit's rule: the last 57 - int(57 * 0.8) rows
    assert lines[8] == "validation: " + "  ".join(f"{name} {value:.6g}" for name, value in values.items())
    assert lines[9] == f"model written to {out} (feature names in {out}.features.json)"


def test_predict_writes_the_models_predictions_as_csv(capsys, csv_file, tmp_path):
    out, predictions = tmp_path / "model.params", tmp_path / "predictions.csv"
    fit_json(capsys, csv_file, "--target", "y", "--features", "x2,x1", "--out", out, *FAST)
    moved = pd.read_csv(csv_file)[["y", "x1", "note", "x2"]]  # other columns, in another order
    moved.to_csv(tmp_path / "new.csv", index=False)
    assert run(capsys, "predict", out, tmp_path / "new.csv", "-o", predictions) == (0, "", "")
    expected = load(out).predict(moved[["x2", "x1"]])
    written = pd.read_csv(predictions, dtype=np.float32)
    assert list(written.columns) == ["prediction"]
    np.testing.assert_array_equal(written["prediction"].to_numpy(), expected)  # float32 round trip: exact
    status, text, _ = run(capsys, "predict", out, tmp_path / "new.csv")  # standard output: the same CSV
    assert status == 0 and text == predictions.read_text()
    assert run(capsys, "predict", out, tmp_path / "new.csv", "-o", tmp_path / "p.npy")[0] == 0
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), expected)


def test_evaluate_prints_gluonlr_metrics(capsys, csv_file, tmp_path):
    out = tmp_path / "model.params"
    fit_json(capsys, csv_file, "--target", "y", "--out", out, *FAST)
    status, text, _ = run(capsys, "evaluate", out, csv_file, "--target", "y", "--json")
    assert status == 0
    values = json.loads(text)
    frame = pd.read_csv(csv_file)
    y, predictions = frame["y"].to_numpy(np.float32), load(out).predict(frame[["x1", "x2", "note", "x3"]])
    assert values == scores(y, predictions)
    assert values["r2"] == pytest.approx(r2_score(y, predictions), rel=1e-12)
    for name in ("mse", "rmse", "mae"):  # mxnet.metric's own, in float32
        metric = METRICS[name]()
        metric.update([nd.array(y)], [nd.array(predictions)])
        assert values[name] == pytest.approx(metric.get()[1], rel=1e-5)
    status, text, _ = run(capsys, "evaluate", out, csv_file, "--target", "y")
    assert status == 0 and text.splitlines() == [f"{name:<4} {value:.6g}" for name, value in values.items()]


def test_scores_are_the_mxnet_metrics_of_all_rows_whatever_the_chunks(monkeypatch):
    rng = np.random.default_rng(1)
    y, predictions = rng.standard_normal((50, 2)), rng.standard_normal((50, 2))
    whole = scores(y, predictions)
    monkeypatch.setattr("gluonlr.data.sources.CHUNK_BYTES", 40)  # chunks of 5 rows
    monkeypatch.setattr("gluonlr.metrics.chunks", lambda *arrays: gluonlr.data.chunks(*arrays, rows=7))
    assert scores(y, predictions) == pytest.approx(whole, rel=1e-12)
    assert whole["r2"] == pytest.approx(r2_score(y, predictions), rel=1e-12)
    assert whole["mse"] == pytest.approx(np.mean((y - predictions) ** 2), rel=1e-12)
    assert whole["mae"] == pytest.approx(np.mean(np.abs(y - predictions)), rel=1e-12)
    with pytest.raises(ValueError, match="Unknown metric 'acc'"):
        scores(y, predictions, ["acc"])


def test_plot_is_written(capsys, csv_file, tmp_path):
    plot = tmp_path / "loss.png"
    report = fit_json(capsys, csv_file, "--target", "y", "--out", tmp_path / "m.params", "--plot", plot, *FAST)
    assert report["plot"] == str(plot)
    from matplotlib.image import imread

    image = imread(plot)
    assert image.shape[0] > 300 and image.shape[1] > 800 and image[..., :3].std() > 0.05


@pytest.mark.parametrize(
    ("flags", "curves"), [([], ["training"]), (["--validation-split", "0.3"], ["training", "validation"])]
)
def test_the_plots_loss_curves_are_labelled_by_what_they_are(capsys, csv_file, tmp_path, monkeypatch, flags, curves):
    """Issue 22, 7: --plot labels its loss curves "training" and "validation", not by the data file's name."""
    from matplotlib.figure import Figure

    saved = []
    savefig = Figure.savefig

    def keep(self, *args, **kwargs):  # the figure the PNG is drawn from
        saved.append(self)
        return savefig(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    plot = tmp_path / "loss.png"
    fit_json(capsys, csv_file, "--target", "y", "--out", tmp_path / "m.params", "--plot", plot, *FAST, *flags)
    assert os.path.getsize(plot) > 0 and len(saved) == 1
    (loss,) = [ax for ax in saved[0].axes if ax.get_xlabel() == "epoch"]
    assert [line.get_label() for line in loss.get_lines()] == curves
    assert [text.get_text() for text in loss.get_legend().get_texts()] == curves
    for ax in saved[0].axes:  # no curve of either panel is named after the file
        labels = [text.get_text() for text in ax.get_legend().get_texts()]
        assert not any(csv_file.stem in label for label in labels), labels


# -- .npy files -------------------------------------------------------------------------------------------------


def test_fit_on_npy_files_reads_memmaps(capsys, tmp_path):
    frame = make_frame()
    X, y = frame[["x1", "x2", "x3"]].to_numpy(np.float32), frame["y"].to_numpy(np.float32)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y[:, None])  # a column: one output
    data = read_data(tmp_path / "X.npy", target_file=tmp_path / "y.npy")
    assert isinstance(data.X, np.memmap) and data.y.shape == (57,) and data.feature_names is None
    out = tmp_path / "model.params"
    report = fit_json(capsys, tmp_path / "X.npy", "--target-file", tmp_path / "y.npy", "--out", out, *FAST)
    expected = fit_as_cli(X, y, epochs=3, lr=0.02, tol=None)
    np.testing.assert_array_equal(load(out).weight, expected.weight)
    assert report["feature_names"] is None and not os.path.exists(f"{out}.features.json")
    assert run(capsys, "predict", out, tmp_path / "X.npy", "-o", tmp_path / "p.csv")[0] == 0
    np.testing.assert_array_equal(pd.read_csv(tmp_path / "p.csv", dtype=np.float32)["prediction"], expected.predict(X))
    status, text, _ = run(capsys, "evaluate", out, tmp_path / "X.npy", "--target-file", tmp_path / "y.npy", "--json")
    assert status == 0 and json.loads(text) == scores(y, expected.predict(X))


def test_several_outputs_from_npy(capsys, tmp_path):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((40, 2)).astype(np.float32)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "Y.npy", (X @ [[1.0, 2.0], [3.0, -1.0]]).astype(np.float32))
    out = tmp_path / "model.params"
    fit_json(capsys, tmp_path / "X.npy", "--target-file", tmp_path / "Y.npy", "--out", out, *FAST)
    status, text, _ = run(capsys, "predict", out, tmp_path / "X.npy")
    assert status == 0 and text.splitlines()[0] == "prediction_0,prediction_1" and len(text.splitlines()) == 41


# -- bad files --------------------------------------------------------------------------------------------------

BAD_CSV = [
    ("", "{path} is empty: a CSV file needs a first line naming the columns, then one line per sample."),
    ("\n\n", "{path} is empty: a CSV file needs a first line naming the columns, then one line per sample."),
    ("x1,x2,y\n", "{path} has a header (line 1) but no rows of data."),
    ("x1,x2\n1,2\n", "{path} has no column 'y' (--target); its columns are 'x1', 'x2'."),
    (
        "x1,x2,y\n1,2,3\n4,five,6\n",
        "{path}, line 3, column 'x2': 'five' is not a number. Every cell of the columns used must be a finite number.",
    ),
    (
        "x1,x2,y\n1,2,3\n\n4,5,6\n7,8,x\n",
        "{path}, line 5, column 'y': 'x' is not a number. Every cell of the columns used must be a finite number.",
    ),
    (
        "x1,x2,y\n1,2,3\n4,inf,6\n",
        "{path}, line 3, column 'x2': 'inf' is not a finite number. Every cell of the columns used must be a finite "
        "number.",
    ),
    (
        "x1,x2,y\n1,,3\n",
        "{path}, line 2, column 'x2': the cell is empty. Fill in or remove the rows with missing values.",
    ),
    (
        "x1,x2,y\n1,2,3\n4,5\n",
        "{path}, line 3: 2 fields, but the header (line 1) names 3 columns. Every row needs one field per column.",
    ),
    (
        "x1,x2,y\n1,2,3\n4,5,6,7\n",
        "{path}, line 3: 4 fields, but the header (line 1) names 3 columns. Every row needs one field per column.",
    ),
    (
        "x1,x1,y\n1,2,3\n",
        "{path}, line 1: the column name 'x1' appears twice (columns 1 and 2); the columns must have names of their "
        "own.",
    ),
    (
        ",x1,y\n0,1,2\n",
        "{path}, line 1: column 1 has no name (an index that pandas' to_csv wrote? Write with index=False), so it "
        "cannot be a feature: name it, or select the features with --features.",
    ),
    ("y\n1\n", "{path} has no column of features: its only column is the target 'y'."),
    # Issue 23: hostile cells, each one line naming the file, the line and the column.
    (
        "x1,x2,y\n1,2,3\n4,1e39,6\n",
        "{path}, line 3, column 'x2': '1e39' is beyond the range of float32 (±3.4e38), in which gluonlr computes. "
        "Scale the column first.",
    ),
    (
        "x1,x2,y\n1,2,3\n0x10,5,6\n",
        "{path}, line 3, column 'x1': '0x10' is a hexadecimal number. Write the numbers in decimal, as numpy and "
        "pandas' readers read them.",
    ),
    (
        "x1,x2,y\n1,2,3\n4," + "9" * 200_000 + ",6\n",
        "{path}, line 3, column 'x2': '99999999999999999999...99999999' (200000 characters) is not a finite number. "
        "Every cell of the columns used must be a finite number.",
    ),
    (
        b"x1,x2,y\n1,2,3\n" + b"4,5,6\n" * 2000 + b"7,caf\xe9,9\n",
        "{path}, line 2003, column 'x2': the byte 0xe9 (character 6 of the line) is not UTF-8. Save the file in "
        "UTF-8 (from Latin-1: iconv -f latin1 -t utf-8).",
    ),
    (
        b"x1,caf\xe9,y\n1,2,3\n",
        "{path} is not a text file in UTF-8: is it a CSV file? (line 1: the byte 0xe9 at character 7)",
    ),
]


@pytest.fixture(params=["pyarrow", "c"])
def engine(request, monkeypatch):
    """Each bad file, read by pandas' pyarrow engine and by its C engine: the same message."""
    if request.param == "pyarrow" and files.csv_engine() != "pyarrow":
        pytest.skip("pyarrow is not installed")
    monkeypatch.setattr(files, "csv_engine", lambda: request.param)
    return request.param


@pytest.mark.parametrize(("content", "message"), BAD_CSV)
def test_a_bad_csv_file_is_named_with_its_line_and_column(tmp_path, engine, content, message):
    path = tmp_path / "data.csv"
    path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    with pytest.raises(ValueError) as info:
        read_data(path, target="y")
    assert str(info.value) == message.format(path=path)


@pytest.mark.parametrize(("content", "message"), BAD_CSV[-5:])
def test_a_hostile_cell_is_one_line_exit_1(capsys, tmp_path, content, message):
    """Issue 23, 10 and 11: a traceback of 24 lines, or a message without file, line and column."""
    path = tmp_path / "data.csv"
    path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    status, text, err = run(capsys, "fit", path, "--target", "y", "--out", tmp_path / "model.params")
    assert (status, text, err) == (1, "", f"gluonlr: error: {message.format(path=path)}\n")


def test_many_columns_are_checked_in_linear_time():
    """Issue 23, 2: a header of 10**6 columns hung fit: each name was compared with all earlier ones."""
    names = [f"c{index}" for index in range(200_000)]
    start = time.perf_counter()
    assert files._columns("wide.csv", names, names[-1], None) == names[:-1]
    assert files._columns("wide.csv", names, None, names[::-1]) == names[::-1]
    with pytest.raises(ValueError, match=r"'c0' appears twice \(columns 1 and 200001\)"):
        files._columns("wide.csv", [*names, "c0"], None, None)
    assert time.perf_counter() - start < 10  # quadratic: 2 * 10**10 comparisons, minutes


@pytest.mark.parametrize(("content", "message"), BAD_CSV[2:5] + BAD_CSV[8:10])
def test_a_bad_file_is_one_line_exit_1_and_leaves_out_alone(capsys, tmp_path, content, message):
    path, out = tmp_path / "data.csv", tmp_path / "model.params"
    path.write_text(content)
    status, text, err = run(capsys, "fit", path, "--target", "y", "--out", out)
    assert (status, text, err) == (1, "", f"gluonlr: error: {message.format(path=path)}\n")
    assert os.listdir(tmp_path) == ["data.csv"]  # nothing written, not even a temporary file
    out.write_bytes(b"an older model")
    assert run(capsys, "fit", path, "--target", "y", "--out", out)[0] == 1
    assert out.read_bytes() == b"an older model"


def test_feature_columns_are_checked(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a,b,y\n1,2,3\n")
    for features, message in [
        (["a", "c"], f"{path} has no column 'c' (--features); its columns are 'a', 'b', 'y'."),
        (["a", "y"], f"The column 'y' of {path} is the target; it cannot be a feature too."),
        (["a", "a"], f"--features names the column 'a' of {path} twice."),
    ]:
        with pytest.raises(ValueError) as info:
            read_data(path, target="y", features=features)
        assert str(info.value) == message
    assert read_data(path, features=["b"]).X.tolist() == [[2.0]]  # other columns are not read, nor checked


def test_a_file_that_is_not_there_or_not_a_file(capsys, tmp_path):
    status, _, err = run(capsys, "fit", tmp_path / "no.csv", "--target", "y", "--out", tmp_path / "m")
    assert (status, err) == (1, f"gluonlr: error: {tmp_path / 'no.csv'} does not exist.\n")
    status, _, err = run(capsys, "predict", tmp_path / "m", tmp_path)
    assert status == 1 and err.startswith(f"gluonlr: error: No model file at '{tmp_path / 'm'}'")
    (tmp_path / "binary.csv").write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(ValueError, match=r"binary.csv is not a text file in UTF-8: is it a CSV file\?"):
        read_data(tmp_path / "binary.csv", target="y")
    with pytest.raises(IsADirectoryError, match="is a directory, not a data file"):
        read_data(tmp_path, target="y")


def test_bad_npy_files(tmp_path):
    def error(name, array=None, **kwargs):
        path = tmp_path / name
        if array is not None:
            np.save(path, array)
        with pytest.raises(ValueError) as info:
            read_data(path, **kwargs)
        return str(info.value).replace(str(tmp_path) + os.sep, "")

    X = np.ones((4, 2), np.float32)
    assert error("one.npy", np.ones(4)) == (
        "one.npy holds an array of shape (4,); the features must be 2-D, one row per sample (a single feature? "
        "save X.reshape(-1, 1))."
    )
    assert error("none.npy", np.ones((0, 2))) == "none.npy holds no data: an array of shape (0, 2)."
    assert error("text.npy", np.array([["a", "b"]])) == "text.npy holds values of dtype <U1, not numbers."
    assert error("objects.npy", np.array([[None]], dtype=object)).startswith(
        "objects.npy is not a .npy file of numbers that numpy can read ("
    )
    holed = X.copy()
    holed[2, 1] = np.nan
    assert error("nan.npy", holed) == (
        "nan.npy, row 2, column 1: nan is not a finite number. Remove or impute the NaN and infinite values first."
    )
    for dtype in (np.float64, np.longdouble):  # issue 23, 11: finite here, infinite in float32
        beyond = X.astype(dtype)
        beyond[3, 1] = 1e39
        assert error("beyond.npy", beyond) == (
            "beyond.npy, row 3, column 1: 1e+39 is beyond the range of float32 (±3.4e38), in which gluonlr "
            "computes. Scale the values first."
        )
    np.save(tmp_path / "X.npy", X)
    assert error("X.npy", target="y").startswith("X.npy is a .npy file: its columns have no names")
    np.save(tmp_path / "y.npy", np.ones(3))
    assert (
        error("X.npy", target_file=tmp_path / "y.npy")
        == "y.npy holds 3 targets, but X.npy holds 4 rows: one per sample."
    )
    (tmp_path / "fake.npy").write_text("x1,x2\n")
    assert error("fake.npy").startswith("fake.npy is not a .npy file of numbers that numpy can read (")
    (tmp_path / "data.csv").write_text("a,y\n1,2\n")
    assert error("data.csv", target_file=tmp_path / "y.npy") == (
        "--target-file gives the targets of a .npy file of features; data.csv is a CSV file: name its target "
        "column with --target."
    )


def test_a_target_is_needed(capsys, csv_file, tmp_path):
    status, _, err = run(capsys, "fit", csv_file, "--out", tmp_path / "m")
    assert (status, err) == (
        1,
        f"gluonlr: error: Which are the targets of {csv_file}? Name them with --target COLUMN.\n",
    )


def test_csv_without_pandas_says_how_to_install_it(capsys, csv_file, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    status, _, err = run(capsys, "fit", csv_file, "--target", "y", "--out", tmp_path / "m")
    assert status == 1 and err == (
        "gluonlr: error: Reading a CSV file needs pandas, which is not installed: pip install 'gluonlr[csv]' "
        "(or save the data with numpy.save and give the .npy file).\n"
    )


def test_predict_on_other_columns(capsys, csv_file, tmp_path):
    out = tmp_path / "model.params"
    fit_json(capsys, csv_file, "--target", "y", "--features", "x1,x2", "--out", out, *FAST)
    (tmp_path / "other.csv").write_text("x1,x3\n1,2\n")
    status, _, err = run(capsys, "predict", out, tmp_path / "other.csv")
    assert (status, err) == (
        1,
        f"gluonlr: error: {tmp_path / 'other.csv'} has no column 'x2' (--features); its columns are 'x1', 'x3'.\n",
    )
    os.remove(f"{out}.features.json")  # a model without names: the columns given, or all
    status, _, err = run(capsys, "predict", out, csv_file)
    assert status == 1 and err == (
        f"gluonlr: error: {csv_file} gives 5 features (x1, x2, note, x3, y), but the model {out} takes 2. "
        "Select its columns with --features.\n"
    )
    assert run(capsys, "predict", out, csv_file, "--features", "x1,x2")[0] == 0


def test_a_diverged_fit_writes_nothing(capsys, csv_file, tmp_path):
    args = ["--lr", "50", "--reduction", "sum", "--batch-size", "10"]
    status, text, err = run(capsys, "fit", csv_file, "--target", "y", "--out", tmp_path / "m.params", *args)
    assert status == 1 and text == "" and err.startswith("gluonlr: error: Training diverged in epoch 1/1000")
    assert err.count("\n") == 1 and sorted(os.listdir(tmp_path)) == ["data.csv"]


def test_out_is_checked_before_training(capsys, csv_file, tmp_path):
    status, text, err = run(capsys, "fit", csv_file, "--target", "y", "--out", tmp_path / "no" / "m", "--progress")
    assert status == 1 and text == "" and "gluonlr fit" not in err  # no progress bar: nothing trained
    assert err == (
        f"gluonlr: error: --out '{tmp_path / 'no' / 'm'}' cannot be written: the directory "
        f"'{tmp_path / 'no'}' does not exist; create it first.\n"
    )


# -- processes --------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_closed_pipe_ends_predict_quietly(capsys, tmp_path):
    rng = np.random.default_rng(3)
    np.save(tmp_path / "X.npy", rng.standard_normal((20_000, 2)).astype(np.float32))
    np.save(tmp_path / "y.npy", rng.standard_normal(20_000).astype(np.float32))
    fit_json(capsys, tmp_path / "X.npy", "--target-file", tmp_path / "y.npy", "--out", tmp_path / "m", "--epochs", "1")
    head, stderr, status = read_and_close([GLUONLR, "predict", tmp_path / "m", tmp_path / "X.npy"], 11)
    assert head == b"prediction\n" and stderr == b"" and status == 141


def _job(marker, *args, timeout=JOB_SECONDS):
    env = {**os.environ, MARK: marker, "OMP_NUM_THREADS": "1"}
    return subprocess.run([GLUONLR, *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout)


@pytest.mark.slow
@pytest.mark.parametrize(("path", "raw"), [("manual", []), ("gluon", ["--standardize", "--lr", "auto"])])
def test_launch_runs_gluonlr_fit_unchanged(tmp_path, marker, path, raw):
    """`gluonlr launch -n 2 -- gluonlr fit ... --kvstore dist_sync`: rank 0 writes the model and prints the
    report, rank 1 nothing; the model is one process's to float32 round-off."""
    frame = make_frame(n=103)
    frame.to_csv(tmp_path / "data.csv", index=False)
    options = ["--target", "y", "--epochs", "3", "--batch-size", "10", "--reduction", "mean", "--lr", "0.02"]
    options += ["--path", path, "--momentum", "0.5", "--validation-split", "0.2", "--json", *raw]
    single = _job(marker, "fit", tmp_path / "data.csv", *options, "--out", tmp_path / "one.params")
    assert single.returncode == 0, single.stderr
    job = _job(
        marker, "launch", "-n", "2", "--timeout", JOB_SECONDS, "--", GLUONLR, "fit", tmp_path / "data.csv", *options,
        "--kvstore", "dist_sync", "--out", tmp_path / "two.params", "--plot", tmp_path / "two.png",
    )  # fmt: skip
    assert job.returncode == 0, job.stderr
    lines = job.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("[0] {"), job.stdout  # rank 1 prints nothing
    report, expected = json.loads(lines[0][4:]), json.loads(single.stdout)
    one, two = load(tmp_path / "one.params"), load(tmp_path / "two.params")
    np.testing.assert_allclose(two.weight, one.weight, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(two.bias, one.bias, rtol=1e-5, atol=1e-6)
    assert two.feature_names == one.feature_names == ("x1", "x2", "note", "x3")
    np.testing.assert_allclose(report["history"]["loss"], expected["history"]["loss"], rtol=1e-5)
    np.testing.assert_allclose(report["history"]["val_loss"], expected["history"]["val_loss"], rtol=1e-5)
    assert report["n_validation"] == expected["n_validation"] == 21  # 103 - int(103 * 0.8)
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["data.csv", "one.params", "one.params.features.json", "two.params", "two.params.features.json", "two.png"]
    )


@pytest.mark.slow
def test_a_worker_that_fails_alone_ends_the_job(tmp_path, marker):
    """Rank 0 cannot write --out once the job has started: it says so and leaves, and the launcher stops rank 1
    (it would otherwise wait for rank 0 at MXNet's exit barrier, or in its first pushpull, forever)."""
    make_frame().to_csv(tmp_path / "data.csv", index=False)
    out = tmp_path / "missing" / "m.params"
    start = time.monotonic()
    job = _job(
        marker, "launch", "-n", "2", "--timeout", JOB_SECONDS, "--", GLUONLR, "fit", tmp_path / "data.csv",
        "--target", "y", "--kvstore", "dist_sync", "--out", out,
    )  # fmt: skip
    assert time.monotonic() - start < 60
    assert job.returncode == 1, job.stderr
    assert f"[0] gluonlr: error: --out '{out}' cannot be written" in job.stderr
    assert not os.path.exists(tmp_path / "missing")


def test_dist_sync_without_a_launcher(capsys, csv_file, tmp_path, monkeypatch):
    for name in ("DMLC_ROLE", "DMLC_PS_ROOT_URI", "DMLC_PS_ROOT_PORT", "DMLC_NUM_SERVER", "DMLC_NUM_WORKER"):
        monkeypatch.delenv(name, raising=False)
    status, _, err = run(capsys, "fit", csv_file, "--target", "y", "--kvstore", "dist_sync", "--out", tmp_path / "m")
    assert status == 1 and err.startswith("gluonlr: error: fit(kvstore='dist_sync') must run as a worker")
    assert "gluonlr launch -n 2" in err and err.count("\n") == 1


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT is POSIX")
def test_ctrl_c_in_fit_writes_nothing(popen, csv_file, tmp_path):
    """A real Ctrl-C once training runs: exit status 130, one line on stderr, and --out not written."""
    out = tmp_path / "model.params"
    script = (
        "import signal, sys, gluonlr.cli; signal.signal(signal.SIGINT, signal.default_int_handler); "
        f"print('ready', flush=True); sys.exit(gluonlr.cli.main(['fit', {str(csv_file)!r}, '--target', 'y', "
        f"'--out', {str(out)!r}, '--epochs', '100000', '--lr', '0.001', '--tol', 'none']))"
    )
    process = popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "ready\n"
    time.sleep(3)  # reading the file and starting to train
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert stdout == "" and stderr.count("\n") == 1 and "Traceback" not in stderr
    assert stderr.endswith(f"; {out} not written.\n") or stderr == "gluonlr: interrupted\n", stderr
    assert sorted(os.listdir(tmp_path)) == ["data.csv"]


def test_the_summarys_validation_rows_are_fits(capsys, csv_file, tmp_path):
    """The metrics of the summary are those fit recorded on its validation rows after the last epoch."""
    report = fit_json(
        capsys, csv_file, "--target", "y", "--out", tmp_path / "m", *FAST, "--validation-split", "0.3",
        "--metrics", "mse,mae,r2",
    )  # fmt: skip
    assert (report["n_samples"], report["n_validation"]) == (39, 18)  # int(57 * 0.7) = 39
    for name in ("mse", "mae", "r2"):
        assert report["metrics"]["validation"][name] == pytest.approx(report["history"][f"val_{name}"][-1], rel=1e-5)
        assert report["metrics"]["training"][name] == pytest.approx(report["history"][name][-1], rel=1e-5)


def test_raw_data_with_the_users_data_defaults(capsys, tmp_path):
    """scikit-learn's diabetes data in its own units: with no flag, gluonlr fit FILE converges to least squares'
    R² (0.518); fit's own defaults (the article's, gluonlr demo's) diverge. The model (in the units of the file)
    is fit's with the same options, and the summary says it converged and after how many epochs."""
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import LinearRegression

    X, y = load_diabetes(return_X_y=True, as_frame=True, scaled=False)
    X.assign(progression=y).to_csv(tmp_path / "diabetes.csv", index=False)
    data, out = tmp_path / "diabetes.csv", tmp_path / "model.params"
    article = ["--lr=0.01", "--reduction=sum", "--batch-size=10", "--epochs=10", "--tol=none", "--init=normal"]
    status, _, err = run(capsys, "fit", data, "--target", "progression", "--out", out, "--no-standardize",
                         "--no-standardize-target", *article, "-q")  # fmt: skip
    assert status == 1 and err.startswith("gluonlr: error: Training diverged in epoch 1/10")
    report = fit_json(capsys, data, "--target", "progression", "--out", out, "-q")
    expected = fit_as_cli(X, y)
    np.testing.assert_array_equal(load(out).weight, expected.weight)
    assert report["converged"] is expected.converged is True and report["n_epochs"] == expected.n_epochs < 1000
    assert report["lr"] == expected.lr and report["params"]["lr"] == "auto" and report["params"]["standardize"]
    least_squares = LinearRegression().fit(X, y).score(X, y)
    assert expected.score(X, y) == pytest.approx(least_squares, abs=0.005)
    status, text, err = run(capsys, "fit", data, "--target", "progression", "--out", out, "-q")
    assert status == 0 and err == "" and f", lr {expected.lr:.6g} (auto), " in text.splitlines()[1]
    assert f"converged after {expected.n_epochs} epochs: loss did not improve by more than tol=1e-05" in text
    status, text, _ = run(capsys, "evaluate", out, data, "--target", "progression", "--json")
    assert json.loads(text)["r2"] == pytest.approx(expected.score(X, y), abs=1e-6)


def test_a_run_that_does_not_converge_exits_0_with_the_warning_on_stderr(capsys, csv_file, tmp_path):
    """Issue 22, 7: the warning is one line on stderr, the model written, the summary and JSON say it."""
    out = tmp_path / "model.params"
    status, text, err = run(capsys, "fit", csv_file, "--target", "y", "--out", out, "--epochs", "2", "-q")
    assert status == 0 and os.path.exists(out)
    assert err.startswith("gluonlr: warning: Training reached its last epoch (epochs=2) without converging: ")
    assert err.count("\n") == 1 and "Increase epochs, or raise tol" in err
    assert "did not converge in 2 epochs (tol 1e-05): raise --epochs, or see the warning" in text.splitlines()
    report = fit_json(capsys, csv_file, "--target", "y", "--out", out, "--epochs", "2", "-q")
    assert report["converged"] is False and report["n_epochs"] == 2
    report = fit_json(capsys, csv_file, "--target", "y", "--out", out, "--tol", "none", "--epochs", "2", "-q")
    assert report["converged"] is None and report["n_epochs"] == 2 and report["params"]["tol"] is None


@pytest.fixture
def wide_noise(tmp_path):
    """200 rows x 500 features of noise and a target independent of them, as .npy files: from w ~ N(0, 1), an
    unstandardized target and a few epochs, the fitted model is far worse than predicting the mean."""
    rng = np.random.default_rng(0)
    np.save(tmp_path / "wX.npy", rng.standard_normal((200, 500)))
    np.save(tmp_path / "wy.npy", rng.standard_normal(200))
    raw = ["--batch-size", "64", "--init", "normal", "--no-standardize-target"]
    return [tmp_path / "wX.npy", "--target-file", tmp_path / "wy.npy", "--out", tmp_path / "wm.params", *raw]


def test_a_model_worse_than_the_mean_without_tol_is_summarised(capsys, wide_noise, tmp_path):
    """Issue 22 (audit): with --tol none, the worse-than-the-mean warning made the summary format tol=None
    (``unsupported format string passed to NoneType.__format__``): exit 1 after the model was written."""
    status, text, err = run(capsys, "fit", *wide_noise, "--lr", "auto", "--epochs", "10", "--tol", "none", "-q")
    assert status == 0 and os.path.exists(tmp_path / "wm.params"), err
    assert err.startswith("gluonlr: warning: The fitted model is worse than predicting the mean of y: ")
    assert err.count("\n") == 1 and "error" not in err
    line = "did not converge: after 10 epochs (--tol none) the model is worse than predicting the mean; see the warning"
    assert line in text.splitlines() and "tol None" not in text
    report = fit_json(capsys, *wide_noise, "--lr", "auto", "--epochs", "10", "--tol", "none", "-q")
    assert report["converged"] is False and report["n_epochs"] == 10 and report["params"]["tol"] is None


def test_a_model_that_stops_by_tol_worse_than_the_mean_is_not_told_to_raise_epochs(capsys, wide_noise):
    """A rate so small the loss improves by less than tol stops training long before --epochs: the summary said
    "did not converge in 6 epochs (tol 1e-05): raise --epochs", which cannot help."""
    status, text, err = run(capsys, "fit", *wide_noise, "--lr", "1e-12", "--epochs", "50", "--tol", "1e-5", "-q")
    assert status == 0 and err.startswith("gluonlr: warning: The fitted model is worse than predicting the mean")
    assert "raise --epochs" not in text
    line = (
        "did not converge: stopped after 6 epochs (the loss improved by less than tol 1e-05) worse than predicting "
        "the mean; see the warning"
    )
    assert line in text.splitlines()


# -- issue 23: nothing half-done, '-' for standard input and output, bounded memory --------------------------------


def test_a_plot_that_cannot_be_written_leaves_the_model_as_it_was(capsys, csv_file, tmp_path, monkeypatch):
    """Issue 23, 8: a failing --plot exited 1 after --out was replaced."""
    import errno

    from matplotlib.figure import Figure

    out, plot = tmp_path / "model.params", tmp_path / "loss.png"
    out.write_bytes(b"an older model")

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", full)
    status, text, err = run(capsys, "fit", csv_file, "--target", "y", "--out", out, "--plot", plot, *FAST)
    assert (status, text) == (1, "")
    assert err == f"gluonlr: error: --plot {str(plot)!r} cannot be written: No space left on device.\n"
    assert out.read_bytes() == b"an older model"
    assert sorted(os.listdir(tmp_path)) == ["data.csv", "model.params"]


def test_predict_refuses_names_saved_with_another_model(capsys, csv_file, tmp_path):
    """Issue 23, 6: stale names were dropped in silence and a reordered file predicted by position, exit 0."""
    out = tmp_path / "model.params"
    fit_json(capsys, csv_file, "--target", "y", "--features", "x1,x2", "--out", out, *FAST)
    gluonlr.gluon.init_params(np.array([1.0, 2.0]), 3.0).save_parameters(str(out))  # behind gluonlr's back
    pd.read_csv(csv_file)[["x2", "x1"]].to_csv(tmp_path / "reordered.csv", index=False)
    status, text, err = run(capsys, "predict", out, tmp_path / "reordered.csv")
    assert (status, text) == (1, "")
    assert err.startswith(f"gluonlr: error: '{out}.features.json' holds the feature names of another model: ")


def test_predict_refuses_a_corrupt_names_file(capsys, csv_file, tmp_path):
    """Issue 23: a names file that was not JSON was ignored, and a reordered file predicted by position, exit 0."""
    out = tmp_path / "model.params"
    fit_json(capsys, csv_file, "--target", "y", "--features", "x1,x2", "--out", out, *FAST)
    names_file = tmp_path / "model.params.features.json"
    names_file.write_bytes(names_file.read_bytes()[:-10])  # truncated
    pd.read_csv(csv_file)[["x2", "x1"]].to_csv(tmp_path / "reordered.csv", index=False)
    status, text, err = run(capsys, "predict", out, tmp_path / "reordered.csv")
    assert (status, text) == (1, "")
    assert err.startswith(f"gluonlr: error: '{names_file}' cannot be used as the feature names of the model ")
    assert err.count("\n") == 1 and "delete" in err


def test_a_dash_is_standard_input_and_output(capsys, csv_file, tmp_path, monkeypatch):
    """Issue 23, 13: ``-o -`` wrote a file named '-'; DATA ``-`` is standard input, as for cat."""
    import io

    out = tmp_path / "model.params"
    fit_json(capsys, csv_file, "--target", "y", "--out", out, *FAST)
    status, expected, _ = run(capsys, "predict", out, csv_file)
    assert status == 0
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "predict", out, csv_file, "-o", "-") == (0, expected, "")
    assert "-" not in os.listdir(tmp_path)

    def stdin(raw):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))

    stdin(csv_file.read_bytes())
    assert run(capsys, "predict", out, "-", "-o", "-") == (0, expected, "")
    features = pd.read_csv(csv_file).drop(columns="y")
    buffer = io.BytesIO()
    np.save(buffer, features.to_numpy(np.float32))
    stdin(buffer.getvalue())  # a .npy file, known by its magic bytes
    status, text, _ = run(capsys, "predict", out, "-")
    assert status == 0
    np.testing.assert_allclose(pd.read_csv(io.StringIO(text)).to_numpy()[:, 0], load(out).predict(features), 1e-6)
    stdin(b"x1,x2,note,x3,y\n1,2,3,four,5\n")
    assert run(capsys, "fit", "-", "--target", "y", "--out", tmp_path / "other.params") == (
        1,
        "",
        "gluonlr: error: <standard input>, line 2, column 'x3': 'four' is not a number. Every cell of the columns "
        "used must be a finite number.\n",
    )
    assert sorted(os.listdir(tmp_path)) == ["data.csv", "model.params", "model.params.features.json"]


def test_predictions_after_training_are_made_a_block_at_a_time(capsys, tmp_path, monkeypatch):
    """Issue 23, 4: a float64 .npy was copied whole, twice (the summary's predictions, then the plot's)."""
    from gluonlr.cli import _files as cli_files

    rng = np.random.default_rng(0)
    X = rng.standard_normal((3000, 2))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", X @ [1.0, 2.0])
    monkeypatch.setattr(cli_files, "_PREDICT_BYTES", 4096, raising=False)  # 512 rows of 2 float32 values
    rows = []
    predict = gluonlr.FitResult.predict
    monkeypatch.setattr(gluonlr.FitResult, "predict", lambda self, X: rows.append(len(X)) or predict(self, X))
    args = [tmp_path / "X.npy", "--target-file", tmp_path / "y.npy", "--out", tmp_path / "m.params"]
    fit_json(capsys, *args, "--plot", tmp_path / "fit.png", *FAST)
    assert max(rows) <= 512 and sum(rows) == 3000, rows  # in blocks, and once for the summary and the plot
