"""``gluonlr fit``, ``predict`` and ``evaluate``: train on a data file, save the model, use it on other files.

The data are read by :func:`gluonlr.data.files.read_data` (a CSV file's columns by name, a ``.npy`` file as a
memmap, a LibSVM file as a CSR matrix), every value checked before training; the model is written by
:func:`gluonlr.save` (atomically, with the feature names beside it) and read by :func:`gluonlr.load`.

In a ``dist_sync`` job (``gluonlr launch -n 2 -- gluonlr fit ... --kvstore dist_sync``) every worker reads
the data and trains; rank 0 alone checks and writes ``--out``, ``--plot`` and ``--checkpoint`` and prints
the summary; the other workers print nothing.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import os
import re
import shutil
import sys
import tempfile
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from gluonlr._files import atomic_write, atomic_write_all, check_writable
from gluonlr._validation import check_positive_int
from gluonlr.cli.options import PLOT, add_fit_flags, add_output_flags, checked, fit_options, verbose
from gluonlr.data.files import DataFile, read_data
from gluonlr.data.libsvm import is_libsvm
from gluonlr.data.sources import Source, is_sparse, row_width
from gluonlr.distributed import DIST_KVSTORES, check_kvstore
from gluonlr.fit import fit
from gluonlr.metrics import scores
from gluonlr.persistence import FEATURES_SUFFIX, load, save_writes
from gluonlr.result import FitResult

__all__ = ["add_evaluate", "add_fit", "add_predict", "evaluate_command", "fit_command", "predict_command"]

_OUT = "--out"
_PREDICTIONS = "-o"
_STDIO = "-"  # as a file name: standard input (DATA) or standard output (-o)
_STDIN_NAME = "<standard input>"
_DATA_HELP = "a CSV file whose first line names the columns, a .npy file, or a LibSVM file (.svm, .libsvm, .svmlight)"
#: A LibSVM DATA file of at least this many bytes (256 MiB) is read by byte ranges
#: (:class:`~gluonlr.data.libsvm_source.LibSVMSource`), a smaller one into memory
#: (:func:`~gluonlr.data.libsvm.read_libsvm`). The fit, the predictions and the metrics are bitwise the same
#: either way; below it, reading the file whole is faster (a batch's rows are parsed once, not every epoch).
STREAM_BYTES = 256 << 20
#: The most weights the summary of a fit lists, one a line; a wider model's largest (all are in the model file).
_LISTED_WEIGHTS = 20


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"must be column names separated by commas. Got {text!r} instead.")
    return names


def _add_features(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--features",
        type=_names,
        metavar="A,B,...",
        help=f"the CSV columns of the features, in this order (default: {default})",
    )


def _add_data(parser: argparse.ArgumentParser, n_features: bool = False) -> None:
    """Add ``DATA``, ``--target``, ``--target-file``, ``--features`` and ``--zero-based`` (and ``--n-features``)."""
    parser.add_argument("data", metavar="DATA", help=_DATA_HELP)
    parser.add_argument("--target", metavar="COLUMN", help="the CSV column of the targets (required for a CSV file)")
    parser.add_argument(
        "--target-file", metavar="FILE", help="the .npy file of the targets of a .npy DATA file, one row per sample"
    )
    _add_features(parser, "the model's, or all but the target")
    _add_libsvm(parser, n_features)


def _add_libsvm(parser: argparse.ArgumentParser, n_features: bool) -> None:
    """Add ``--zero-based`` (and ``--n-features``), the options of a LibSVM DATA file."""
    parser.add_argument(
        "--zero-based",
        action="store_true",
        help="a LibSVM file's indices start at 0 (default: at 1, as libsvm's: index 1 is the first feature)",
    )
    if n_features:
        parser.add_argument(
            "--n-features",
            type=checked(int, check_positive_int, "n_features", where="gluonlr fit"),
            metavar="N",
            help="the features of a LibSVM file (default: its largest index)",
        )


def _subcommand(commands: Any, name: str, run: Any, summary: str, description: str) -> argparse.ArgumentParser:
    """Add the subcommand ``name``, which ``run(args)`` runs, to the ``commands`` of the ``gluonlr`` parser."""
    parser: argparse.ArgumentParser = commands.add_parser(name, help=summary, description=description)
    parser.set_defaults(run=run)
    return parser


def add_fit(commands: Any) -> None:
    """Add ``gluonlr fit`` to the ``commands`` of the ``gluonlr`` parser."""
    parser = _subcommand(
        commands,
        "fit",
        fit_command,
        "train on a CSV, .npy or LibSVM file and save the model",
        "Train a linear model on the features and targets of a data file with gluonlr.fit, print its summary "
        "and save it (gluonlr.save), for gluonlr predict, gluonlr evaluate and gluonlr.load.",
    )
    _add_data(parser, n_features=True)
    parser.add_argument("--out", required=True, metavar="MODEL", help="the model file to write, e.g. model.params")
    add_fit_flags(parser)
    add_output_flags(parser, plot="the loss curves and the predictions against the targets")


def add_predict(commands: Any) -> None:
    """Add ``gluonlr predict`` to the ``commands`` of the ``gluonlr`` parser."""
    parser = _subcommand(
        commands,
        "predict",
        predict_command,
        "predict the targets of a CSV, .npy or LibSVM file with a saved model",
        "Predict the targets of the rows of DATA with the model that gluonlr fit (or gluonlr.save) wrote; a CSV "
        "file's columns are those the model was fitted on, found by name.",
    )
    parser.add_argument("model", metavar="MODEL", help="the model file")
    parser.add_argument("data", metavar="DATA", help=_DATA_HELP)
    _add_features(parser, "the model's, or all")
    _add_libsvm(parser, n_features=False)
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the predictions there (CSV, or .npy) instead of standard output; - is standard output",
    )


def add_evaluate(commands: Any) -> None:
    """Add ``gluonlr evaluate`` to the ``commands`` of the ``gluonlr`` parser."""
    parser = _subcommand(
        commands,
        "evaluate",
        evaluate_command,
        "print a saved model's metrics on a CSV, .npy or LibSVM file",
        "Print the MSE, RMSE, MAE and R² of the model's predictions of the targets of DATA.",
    )
    parser.add_argument("model", metavar="MODEL", help="the model file")
    _add_data(parser)
    parser.add_argument("--json", action="store_true", help="print only a JSON document")


def _read(
    args: argparse.Namespace,
    *,
    features: Sequence[str] | None,
    needs_target: bool,
    dtype: str = "float32",
    model: tuple[int, str] | None = None,
) -> DataFile:
    """Read ``args.data`` with the target the arguments name; a CSV file without ``--target`` is refused if needed.

    ``dtype`` is the one the data is used in (``--dtype``, or a loaded model's): see :func:`~gluonlr.data.read_data`.
    ``model``: the features and the file of the model that will use the data; a LibSVM file is read with its
    features (else with ``--n-features``, else its largest index).
    """
    if args.data == _STDIO:
        return _read_stdin(args, features=features, needs_target=needs_target, dtype=dtype, model=model)
    return _read_file(
        args, args.data, features=features, needs_target=needs_target, dtype=dtype, model=model, may_stream=True
    )


def _read_file(
    args: argparse.Namespace,
    path: str,
    *,
    features: Sequence[str] | None,
    needs_target: bool,
    dtype: str,
    model: tuple[int, str] | None,
    may_stream: bool = False,
) -> DataFile:
    """Read the data file ``path`` (``args.data``, or standard input's copy) as :func:`_read` says.

    With ``may_stream``, a LibSVM file of :data:`STREAM_BYTES` or more is read by byte ranges, not into memory
    (standard input's copy is not: it is removed once read).
    """
    target = getattr(args, "target", None)
    target_file = getattr(args, "target_file", None)
    given = getattr(args, "n_features", None)  # --n-features, of gluonlr fit
    if is_libsvm(path):
        n_features, source = (given, "--n-features") if model is None else (model[0], f"the model {model[1]}")
        return read_data(
            path,
            target=target,
            features=getattr(args, "features", None),  # --features: an error; a model's names: none to look up
            target_file=target_file,
            dtype=dtype,
            zero_based=args.zero_based,
            n_features=n_features,
            n_features_from=source,
            stream=may_stream and os.path.getsize(path) >= STREAM_BYTES,
        )
    if needs_target and target is None and target_file is None:
        kind = "--target-file Y.npy" if path.endswith(".npy") else "--target COLUMN"
        raise ValueError(f"Which are the targets of {args.data}? Name them with {kind}.")
    return read_data(
        path,
        target=target,
        features=features,
        target_file=target_file,
        dtype=dtype,
        zero_based=args.zero_based,
        n_features=given,
    )


#: The first line of data of a LibSVM file: a target, maybe a query id, then INDEX:VALUE pairs (a CSV file's
#: header has commas, or no colon).
_LIBSVM_LINE = re.compile(rb"[^\s,:#]+(?:\s+qid:\S+)?(?:\s+[^\s,:]+:[^\s,]+)+")


def _looks_libsvm(path: str) -> bool:
    r"""Return whether the file's first line of data (not blank, nor a ``#`` comment) is a LibSVM line.

    Examples
    --------
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "stdin")
    >>> for text in ("# a comment\n\n3 1:0.5 7:2\n", "x1,x2,y\n1,2,3\n", "y\n3\n"):
    ...     with open(path, "w") as file:
    ...         _ = file.write(text)
    ...     print(_looks_libsvm(path))
    True
    False
    False
    """
    with open(path, "rb") as file:
        for line in file:
            text = line.split(b"#", 1)[0].strip()
            if text:
                return _LIBSVM_LINE.fullmatch(text) is not None
    return False


def _read_stdin(
    args: argparse.Namespace,
    *,
    features: Sequence[str] | None,
    needs_target: bool,
    dtype: str,
    model: tuple[int, str] | None,
) -> DataFile:
    """Read DATA ``-``: standard input, copied to a file, as a ``.npy`` (by its magic bytes), LibSVM or CSV file.

    The data are read more than once (the header, the cells, a bad cell's line), so standard input is first
    copied to a file; errors name ``<standard input>``, never the temporary file. It is a LibSVM file if
    ``--zero-based`` or ``--n-features`` is given or its first line of data is one (:func:`_looks_libsvm`).
    The ``features`` that are a model's names, not ``--features``, are dropped for a ``.npy`` or LibSVM file
    (which have no names).
    """
    with tempfile.TemporaryDirectory(prefix="gluonlr-stdin-") as folder:
        source = sys.stdin.buffer
        head = source.read(6)
        copy = os.path.join(folder, "stdin")
        with open(copy, "wb") as file:
            file.write(head)
            shutil.copyfileobj(source, file)
        libsvm = args.zero_based or getattr(args, "n_features", None) is not None or _looks_libsvm(copy)
        path = copy + (".npy" if head == b"\x93NUMPY" else ".svm" if libsvm else ".csv")
        os.rename(copy, path)
        if not path.endswith(".csv") and getattr(args, "features", None) is None:
            features = None
        try:
            data = _read_file(args, path, features=features, needs_target=needs_target, dtype=dtype, model=model)
        except ValueError as error:
            raise ValueError(str(error).replace(path, _STDIN_NAME)) from None
        # A memmap of a .npy file stays readable once its file is removed (POSIX).
        return dataclasses.replace(data, path=_STDIN_NAME)


# -- fit ---------------------------------------------------------------------------------------------------------


def fit_command(args: argparse.Namespace) -> int:
    """Run ``gluonlr fit`` with the parsed ``args``; return the exit status.

    The data are read and checked first, then (in a ``dist_sync`` job) the worker joins the job, then the
    files to write are checked, by rank 0 only; training comes last. The model is written, atomically, only
    when training completed: a failure or Ctrl-C leaves ``--out`` as it was.
    """
    data = _read(args, features=args.features, needs_target=True, dtype=args.dtype)
    assert data.y is not None
    options = {**fit_options(args), "verbose": verbose(args)}
    rank = 0
    if options.get("kvstore") in DIST_KVSTORES:  # join the job: now, to know which worker writes
        _, workers = check_kvstore(options["kvstore"])
        assert workers is not None
        rank, options["kvstore"] = workers.rank, workers.store
        if rank != 0:
            options["verbose"] = 0  # one progress bar, rank 0's (fit has rank 0 alone write the checkpoint)
    if rank == 0:
        check_writable(args.out, _OUT)
        if args.plot:
            check_writable(args.plot, PLOT, example="loss.png")
    with warnings.catch_warnings(record=True) as caught:  # each printed as one line, not with a source line
        warnings.simplefilter("always")
        result = fit(data.X, data.y, **options)  # an array: its result has no feature names, the model the file's
    for warning in caught:
        print(f"gluonlr: warning: {warning.message}", file=sys.stderr)
    if result.interrupted:
        print(f"gluonlr: the fit was {result.stop_reason}; {args.out} not written.", file=sys.stderr)
        return 130
    if rank != 0:
        return 0
    held_out = _held_out(data.X.shape[0], args.validation_split)
    predictions = _predictions(result, data.X)
    report = _fit_report(args, data, result, held_out, predictions)
    # The model, its names and the plot change together or not at all: a plot that cannot be written (a full
    # disk) leaves --out as it was.
    writes, stale_names = save_writes(dataclasses.replace(result, feature_names=data.feature_names), args.out)
    if args.plot:
        figure = _fit_figure(data, result, held_out, predictions)
        writes.append((args.plot, lambda tmp: figure.savefig(tmp, format="png"), PLOT))
    atomic_write_all(writes)
    if stale_names is not None:
        stale_names.unlink()
    if args.json:
        print(json.dumps(report))
    else:
        _print_fit(report)
    return 0


def _held_out(n: int, validation_split: float) -> int:
    """Return how many rows fit holds out for validation: the last ones, from ``int(n * (1 - validation_split))``.

    The rule of :func:`gluonlr.data.split.split_validation` (Keras' own).
    """
    return n - int(n * (1.0 - validation_split))


#: The most of the data converted to the model's dtype at once to predict: a large .npy file is never copied whole.
_PREDICT_BYTES = 16 << 20


def _predictions(model: FitResult, X: Any) -> np.ndarray:
    """Return ``model.predict(X)``, ``X`` (a memmap, a CSR matrix, a LibSVMSource) a block of rows at a time.

    A block of a CSR matrix holds about as many non-zeros as a dense block values.

    Examples
    --------
    >>> model = FitResult(weight=np.array([2.0], np.float32), bias=1.0, history={}, path=None)
    >>> _predictions(model, np.arange(3.0).reshape(-1, 1)).tolist()
    [1.0, 3.0, 5.0]
    """
    rows = max(1, _PREDICT_BYTES // (4 * max(1, row_width(X))))
    n = X.shape[0]
    if isinstance(X, Source):  # a LibSVM file read by byte ranges
        blocks = (X.read(start, min(start + rows, n)) for start in range(0, n, rows))
    else:
        blocks = (X[start : start + rows] for start in range(0, n, rows))
    return np.concatenate([model.predict(block if is_sparse(block) else np.asarray(block)) for block in blocks])


def _fit_report(
    args: argparse.Namespace, data: DataFile, result: FitResult, held_out: int, predictions: np.ndarray
) -> dict[str, Any]:
    """Return the summary of a fit: the data, the model, its history, its metrics on training and validation rows."""
    n = data.X.shape[0]
    train, validation = slice(0, n - held_out), slice(n - held_out, n)
    assert data.y is not None
    metrics = {"training": scores(data.y[train], predictions[train])}
    if held_out:
        metrics["validation"] = scores(data.y[validation], predictions[validation])
    return {
        "data": data.path,
        "target": data.target,
        "feature_names": None if data.feature_names is None else list(data.feature_names),
        "n_samples": n - held_out,
        "n_validation": held_out,
        "path": result.path,
        "lr": result.lr,
        "weight": np.asarray(result.weight).tolist(),
        "bias": np.asarray(result.bias).tolist(),
        "history": result.history,
        "stopped_epoch": result.stopped_epoch,
        "stop_reason": result.stop_reason,
        "n_epochs": result.n_epochs,
        "converged": result.converged,
        "metrics": metrics,
        "params": result.params,
        "out": args.out,
        "feature_names_file": args.out + FEATURES_SUFFIX if data.feature_names is not None else None,
        "plot": args.plot,
    }


def _print_fit(report: dict[str, Any]) -> None:
    held_out = f", {report['n_validation']} held out for validation" if report["n_validation"] else ""
    target = f", target {report['target']!r}" if report["target"] else ""
    weight = np.asarray(report["weight"], dtype=np.float64)
    print(f"{report['data']}: {report['n_samples']} training samples{held_out}, {len(weight)} features{target}")
    history = report["history"]
    stopped = f" (stopped early: {report['stop_reason']})" if report["stop_reason"] and not report["converged"] else ""
    chosen = " (auto)" if report["params"].get("lr") == "auto" else ""
    print(
        f"{report['path']} path, {report['n_epochs']} epochs{stopped}, lr {report['lr']:.6g}{chosen}, "
        f"final training loss {history['loss'][-1]:.6g}"
    )
    if report["converged"] is not None:
        print(_convergence(report))
    rows = weight.reshape(len(weight), -1)
    listed = list(range(len(weight)))
    if len(weight) > _LISTED_WEIGHTS:  # a wide model (a LibSVM file's): its largest weights, in their order
        listed = sorted(np.argsort(-np.abs(rows).max(axis=1), kind="stable")[:_LISTED_WEIGHTS].tolist())
    names = report["feature_names"] or [f"x{index + 1}" for index in range(len(weight))]
    width = max(len(name) for name in [*(names[index] for index in listed), "bias"])
    for index in listed:
        print(f"  {names[index]:<{width}}  {' '.join(f'{v:12.6g}' for v in rows[index])}")
    if len(listed) < len(weight):
        print(f"  ... and {len(weight) - len(listed)} smaller weights (all in the model file)")
    bias = np.atleast_1d(np.asarray(report["bias"], dtype=np.float64))
    print(f"  {'bias':<{width}}  {' '.join(f'{v:12.6g}' for v in bias)}")
    for part, values in report["metrics"].items():
        print(f"{part + ':':<12}" + "  ".join(f"{name} {value:.6g}" for name, value in values.items()))
    names_file = f" (feature names in {report['feature_names_file']})" if report["feature_names_file"] else ""
    print(f"model written to {report['out']}{names_file}")
    if report["plot"]:
        print(f"plot written to {report['plot']}")


def _convergence(report: dict[str, Any]) -> str:
    """Say whether the fit of ``report`` converged, and what to do if not; ``report["converged"]`` is not None.

    It is False when a run with ``--tol`` reached ``--epochs`` first, or when the model ended worse than
    predicting the mean (the divergence guard's warning), with or without ``--tol``: then ``--tol`` may be
    ``none``, and training may have stopped by ``--tol`` long before ``--epochs``.

    Examples
    --------
    >>> report = {"converged": False, "n_epochs": 10, "stop_reason": None, "params": {"tol": None}}
    >>> _convergence(report)
    'did not converge: after 10 epochs (--tol none) the model is worse than predicting the mean; see the warning'
    >>> _convergence({**report, "params": {"tol": 1e-5}})
    'did not converge in 10 epochs (tol 1e-05): raise --epochs, or see the warning'
    """
    n, tol, reason = report["n_epochs"], report["params"]["tol"], report["stop_reason"] or ""
    if report["converged"]:
        return f"converged after {n} epochs: {reason.removeprefix('converged: ')}"
    if tol is None:  # nothing to converge by: only the guard's worse-than-the-mean check says False
        return (
            f"did not converge: after {n} epochs (--tol none) the model is worse than predicting the mean; "
            "see the warning"
        )
    if reason.startswith("converged: "):  # stopped by --tol, then found worse than the mean: more epochs cannot help
        return (
            f"did not converge: stopped after {n} epochs (the loss improved by less than tol {tol:g}) worse than "
            "predicting the mean; see the warning"
        )
    return f"did not converge in {n} epochs (tol {tol:g}): raise --epochs, or see the warning"


def _fit_figure(data: DataFile, result: FitResult, held_out: int, predictions: np.ndarray) -> Any:
    """Return a figure: the loss curves beside the predictions of the validation rows (or the training rows)."""
    from matplotlib.figure import Figure

    from gluonlr.plot import plot_loss, plot_predicted_vs_true

    assert data.y is not None
    figure = Figure(figsize=(11, 4.5), layout="constrained")
    left, right = figure.subplots(1, 2)
    plot_loss({"training": result.history}, ax=left, validation_label="validation")
    left.set_title(f"loss per epoch of {os.path.basename(data.path)} ({result.path} path)")
    rows = slice(data.X.shape[0] - held_out, None) if held_out else slice(None)
    plot_predicted_vs_true(data.y[rows], predictions[rows], ax=right)
    right.set_title(f"{'validation' if held_out else 'training'} samples of {os.path.basename(data.path)}")
    return figure


# -- predict and evaluate ------------------------------------------------------------------------------------------


def _model_and_data(args: argparse.Namespace, needs_target: bool) -> tuple[FitResult, DataFile]:
    """Load the model, then read the data's columns: ``--features``, else the model's names, else all."""
    model = load(args.model)
    features = args.features if args.features is not None else model.feature_names
    if args.data.endswith(".npy"):
        features = None
    data = _read(
        args, features=features, needs_target=needs_target, dtype=model.dtype, model=(model.n_features, args.model)
    )
    if data.X.shape[1] != model.n_features:
        how = "" if data.feature_names is None else f" ({', '.join(data.feature_names)})"
        raise ValueError(
            f"{data.path} gives {data.X.shape[1]} features{how}, but the model {args.model} takes "
            f"{model.n_features}. Select its columns with --features."
        )
    # The columns are selected by name already, or the data has none: the model's names are not checked again.
    return dataclasses.replace(model, feature_names=None), data


def predict_command(args: argparse.Namespace) -> int:
    """Run ``gluonlr predict``: write the predictions, one row per sample, as CSV (or ``.npy`` with ``-o x.npy``).

    The CSV has a header, ``prediction`` (``prediction_0``, ``prediction_1``, ... for several outputs), and
    each value is the shortest decimal that reads back as the same float32 (float64 for a float64 model).
    """
    output = None if args.output == _STDIO else args.output  # "-": standard output, as for cat
    if output:
        check_writable(output, _PREDICTIONS, example="predictions.csv")
    model, data = _model_and_data(args, needs_target=False)
    predictions = _predictions(model, data.X)
    if output and output.endswith(".npy"):
        atomic_write(output, lambda tmp: _save_npy(tmp, predictions), what=_PREDICTIONS)
    elif output:
        atomic_write(output, lambda tmp: _write_csv(tmp, predictions), what=_PREDICTIONS)
    else:
        _write_rows(sys.stdout, predictions)
    return 0


def _save_npy(path: str, array: np.ndarray) -> None:
    with open(path, "wb") as file:
        np.save(file, array)


def _write_csv(path: str, predictions: np.ndarray) -> None:
    with open(path, "w", newline="") as file:
        _write_rows(file, predictions)


def _write_rows(file: io.TextIOBase | Any, predictions: np.ndarray) -> None:
    """Write ``predictions`` as CSV rows with a header; values in their shortest round-trip form in their dtype."""
    writer = csv.writer(file, lineterminator="\n")
    columns = predictions.reshape(len(predictions), -1)
    header = ["prediction"] if predictions.ndim == 1 else [f"prediction_{i}" for i in range(columns.shape[1])]
    writer.writerow(header)
    for start in range(0, len(columns), 4096):
        writer.writerows([[str(value) for value in row] for row in columns[start : start + 4096]])


def evaluate_command(args: argparse.Namespace) -> int:
    """Run ``gluonlr evaluate``: print the MSE, RMSE, MAE and R² of the model on the data.

    The values are :func:`gluonlr.metrics.scores` of the model's predictions.
    """
    model, data = _model_and_data(args, needs_target=True)
    assert data.y is not None
    predictions = _predictions(model, data.X)
    if predictions.shape[1:] != data.y.shape[1:]:
        raise ValueError(
            f"The model {args.model} predicts {predictions.shape[1] if predictions.ndim == 2 else 1} output(s); "
            f"the targets have shape {data.y.shape}."
        )
    values = scores(data.y, predictions)
    if args.json:
        print(json.dumps(values))
    else:
        for name, value in values.items():
            print(f"{name:<4} {value:.6g}")
    return 0
