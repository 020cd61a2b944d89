"""Check that the tests catch bugs: apply small deliberate bugs (mutants) one at a time and run the tests on each.

Usage::

    python tools/mutate.py                      # every mutant, each against its own test selection
    python tools/mutate.py --only check-seed-bool --only adam-bias-correction
    python tools/mutate.py --full               # every mutant against the whole suite (slow: ~90 s each)
    python tools/mutate.py --list               # the mutants and what each breaks
    python tools/mutate.py --only NAME -- tests/test_fit.py -k seed   # your own pytest selection

A mutant is one bug, written as text replacements in one file of ``src/``
(each pattern must occur exactly once, or the mutant is reported stale).
The working tree is never edited: each mutant is applied to a fresh copy of
``src/`` in a temporary directory, and pytest runs from the repository with
that copy first on ``PYTHONPATH`` (checked: the mutated ``gluonlr`` is the one
imported). Before the mutants, the unmutated copy must pass the same
selections, so that a failure means the mutant was caught.

Each mutant names the tests that should catch it (``tests``); ``--full``
runs the whole suite instead, the real verdict for a mutant that survives
its selection. The exit status is 1 if any mutant survived, was stale or
errored, else 0.

A survivor is a bug the tests let through: add a test that fails on it (apply
the mutant by hand, watch the test fail, revert), then add the mutant here so
the check stays. See "Checking the tests: mutation runs" in
docs/contributing.rst.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutant:
    """One deliberate bug: ``replacements`` (old, new) in ``file``, which ``tests`` should catch."""

    name: str
    file: str
    replacements: tuple[tuple[str, str], ...]
    tests: tuple[str, ...]
    what: str


def _mutant(name: str, file: str, replacements: list[tuple[str, str]], tests: list[str], what: str) -> Mutant:
    return Mutant(name, f"src/gluonlr/{file}", tuple(replacements), tuple(tests), what)


EQUIVALENCE = "tests/test_equivalence.py"

LITERAL = "tests/test_literal.py"

PENALTY = "tests/test_penalty.py"

SKLEARN_EQUALITY = "tests/test_sklearn_equality.py"
#: Averaged SGD against scikit-learn, the reference and itself across a checkpoint.
AVERAGE = "tests/test_average.py"

MUTANTS = [
    # -- issue 15: the article's pieces, literally, and the fast forms fit runs --------------------------------
    _mutant(
        "literal-sgd-ignores-divisor",
        "manual.py",
        [("        param[:] = param - lr * param.grad / divisor\n", "        param[:] = param - lr * param.grad\n")],
        [LITERAL],
        "manual.sgd steps with the summed gradient whatever the divisor (reduction='mean' becomes 'sum')",
    ),
    _mutant(
        "literal-loss-broadcasts",
        "manual.py",
        [("    return (yhat - y.reshape(yhat.shape)) ** 2\n", "    return (yhat - y) ** 2\n")],
        [LITERAL],
        "manual.squared_loss subtracts a (n,) y from (n, 1) predictions: an (n, n) loss",
    ),
    _mutant(
        "literal-data-iter-drops-short-batch",
        "manual.py",
        [
            (
                "    for i in range(0, num_examples, batch_size):\n",
                "    for i in range(0, num_examples - batch_size + 1, batch_size):\n",
            )
        ],
        [LITERAL],
        "manual.data_iter drops a short last batch, which fit keeps",
    ),
    _mutant(
        "gluon-data-iter-ignores-epoch",
        "gluon.py",
        [
            (
                "    order = epoch_order(len(features), seed, epoch)\n",
                "    order = epoch_order(len(features), seed, 0)\n",
            )
        ],
        [LITERAL],
        "gluon.data_iter visits the samples in epoch 0's order every epoch",
    ),
    _mutant(
        "fast-net-with-loss-drops-sample-weight",
        "gluon.py",
        [
            (
                "        return self.loss(net(x, self.dense), y, sample_weight)\n",
                "        return self.loss(net(x, self.dense), y)\n",
            )
        ],
        [LITERAL + "::test_fast_net_with_loss_is_the_plain_loss_of_the_net"],
        "the Gluon path's compiled layer-and-loss block ignores the sample weights",
    ),
    # -- issue 11's survivors ----------------------------------------------------------------------------------
    _mutant(
        "fsync-after-rename",
        "_files.py",
        [
            ("                os.fsync(written.fileno())\n", "                pass\n"),
            (
                "            os.replace(opened[index][1], targets[index][1])\n",
                "            os.replace(opened[index][1], targets[index][1])\n"
                "            with open(targets[index][1], 'rb') as written:\n"
                "                os.fsync(written.fileno())\n",
            ),
        ],
        ["tests/test_files.py"],
        "atomic_write flushes the temporary file to disk only after the rename",
    ),
    _mutant(
        "check-seed-bool",
        "_validation.py",
        [
            (
                "if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:",
                "if not isinstance(value, numbers.Integral) or value < low:",
            )
        ],
        ["tests/test_errors.py"],
        "check_seed accepts True and False",
    ),
    _mutant(
        "validation-outputs-unchecked",
        "data/split.py",
        [("        if y_val.shape[1:] != y.shape[1:]:\n", "        if False:\n")],
        ["tests/test_errors.py", "tests/test_validation.py"],
        "validation_data's y may have other outputs than y",
    ),
    _mutant(
        "early-stopping-min-delta-sign",
        "callbacks/stopping.py",
        [("return value < self.best - self.min_delta", "return value < self.best + self.min_delta")],
        ["tests/test_validation.py"],
        "EarlyStopping counts a rise of less than min_delta as an improvement (lower is better)",
    ),
    _mutant(
        "early-stopping-min-delta-sign-max",
        "callbacks/stopping.py",
        [("return value > self.best + self.min_delta", "return value > self.best - self.min_delta")],
        ["tests/test_validation.py"],
        "EarlyStopping counts a fall of less than min_delta as an improvement (higher is better)",
    ),
    _mutant(
        "early-stopping-resume-drops-best-weights",
        "callbacks/stopping.py",
        [('        if state["best_state"] is not None:\n', "        if False:\n")],
        ["tests/test_validation.py"],
        "EarlyStopping.set_state forgets the best parameters: a resumed run cannot restore them",
    ),
    _mutant(
        "momentum-velocity-sign",
        "optimizers.py",
        [
            (
                "        mom[:] = momentum * mom - lr * (g + wd * param)\n        param[:] = param + mom\n",
                "        mom[:] = momentum * mom + lr * (g + wd * param)\n        param[:] = param - mom\n",
            )
        ],
        ["tests/test_checkpoint.py"],
        "the manual path stores momentum's velocity with the opposite sign (the same trajectory on one path)",
    ),
    _mutant(
        "nag-velocity-sign",
        "optimizers.py",
        [
            (
                "param[:] = param - mom + (momentum + 1) * (mom - lr * (g + wd * param))",
                "param[:] = param + mom - (momentum + 1) * (mom + lr * (g + wd * param))",
            ),
            ("mom[:] = mom - lr * (g + wd * param)", "mom[:] = mom + lr * (g + wd * param)"),
        ],
        ["tests/test_checkpoint.py"],
        "the manual path stores NAG's velocity with the opposite sign (the same trajectory on one path)",
    ),
    _mutant(
        "adam-mean-sign",
        "optimizers.py",
        [
            ("mean[:] = beta1 * mean + (1.0 - beta1) * g", "mean[:] = beta1 * mean - (1.0 - beta1) * g"),
            ("param[:] = param - lr_t * mean", "param[:] = param + lr_t * mean"),
        ],
        ["tests/test_checkpoint.py"],
        "the manual path stores Adam's first moment with the opposite sign (the same trajectory on one path)",
    ),
    # The paths-vs-reference property tests missed these in the reference, where only they can catch them.
    _mutant(
        "reference-adam-bias-correction",
        "testing/_reference.py",
        [("/ (1.0 - self.beta1**t)", "/ (1.0 - self.beta1)")],
        [EQUIVALENCE],
        "the reference's Adam corrects the first moment's bias with beta1 instead of beta1**t",
    ),
    _mutant(
        "reference-adam-count-restarts-each-epoch",
        "testing/_reference.py",
        [
            (
                "    (X, Y, s), (W, b), (w_rule, b_rule, l1, averaged) = data, params, rules\n",
                "    (X, Y, s), (W, b), (w_rule, b_rule, l1, averaged) = data, params, rules\n    first = u\n",
            ),
            ("        u += 1\n", "        u += 1\n        t = u - first\n"),
            ("xb.T @ dyhat / divisor, lr_at(u), u)", "xb.T @ dyhat / divisor, lr_at(u), t)"),
            ("dyhat.sum(axis=0) / divisor, lr_at(u), u)", "dyhat.sum(axis=0) / divisor, lr_at(u), t)"),
        ],
        [EQUIVALENCE],
        "the reference's Adam restarts its bias correction every epoch",
    ),
    _mutant(
        "reference-nag-state-reads-old-weight",
        "testing/_reference.py",
        [
            ("        theta = theta - mom + (momentum + 1)", "        new = theta - mom + (momentum + 1)"),
            (
                "        self.mom = mom - lr * (g + wd * theta)\n        return theta\n",
                "        self.mom = mom - lr * (g + wd * theta)\n        return new\n",
            ),
        ],
        [EQUIVALENCE],
        "the reference's NAG velocity reads the weight from before the update (the NAG docstring's form)",
    ),
    _mutant(
        "reference-weight-decay-decays-bias",
        "testing/_reference.py",
        [("update_rule(b, weight_decay=0.0, **hyper)", "update_rule(b, weight_decay=decay, **hyper)")],
        [EQUIVALENCE, PENALTY],
        "the reference decays the bias (MXNet's default wd_mult 1), which scikit-learn's L2 penalty leaves alone",
    ),
    _mutant(
        "reference-l1-forgets-what-it-gave",
        "testing/_reference.py",
        [("        self.q = self.q + (new - W)\n", "")],
        [PENALTY],
        "the reference's L1 penalty never records what each weight received (q stays 0)",
    ),
    # The same bugs in the manual path, where the paths' comparison catches them too.
    _mutant(
        "adam-bias-correction",
        "optimizers.py",
        [("/ (1.0 - self.beta1**t)", "/ (1.0 - self.beta1)")],
        [EQUIVALENCE],
        "the manual Adam corrects the first moment's bias with beta1 instead of beta1**t",
    ),
    _mutant(
        "nag-state-reads-old-weight",
        "optimizers.py",
        [
            (
                "        mom[:] = momentum * mom\n",
                "        old = param.copy()\n        mom[:] = momentum * mom\n",
            ),
            ("mom[:] = mom - lr * (g + wd * param)", "mom[:] = mom - lr * (g + wd * old)"),
        ],
        [EQUIVALENCE],
        "the manual NAG velocity reads the weight from before the update",
    ),
    _mutant(
        "weight-decay-decays-bias",
        "optimizers.py",
        [("wd_mults: tuple[float, ...] = (1.0, 0.0)", "wd_mults: tuple[float, ...] = (1.0, 1.0)")],
        [EQUIVALENCE, PENALTY],
        "the manual path decays the bias too",
    ),
    _mutant(
        "l1-penalty-forgets-what-it-gave",
        "optimizers.py",
        [("            q += truncated - weight\n", "")],
        [PENALTY, SKLEARN_EQUALITY],
        "the L1 penalty never records what each weight received: every step takes u whole again",
    ),
    _mutant(
        "l1-penalty-crosses-zero",
        "optimizers.py",
        [("sign * nd.minimum(nd.abs(weight), self.u + sign * q)", "sign * (self.u + sign * q)")],
        [PENALTY, SKLEARN_EQUALITY],
        "the L1 penalty pushes a weight across 0 instead of truncating it there",
    ),
    _mutant(
        "gluon-l1-not-restored",
        "learners/gluon.py",
        [('                self.l1.u = float(state["l1/u"])\n', "                pass\n")],
        [PENALTY],
        "a resumed Gluon run (or partial_fit) restarts the L1 penalty's u from 0",
    ),
    _mutant(
        "average-counts-one-more",
        "averaging.py",
        [("mean += (param - mean) / self.count\n", "mean += (param - mean) / (self.count + 1)\n")],
        [AVERAGE],
        "the mean takes each step in with weight 1 / (k + 1): it never reaches the steps' mean",
    ),
    _mutant(
        "average-starts-a-sample-late",
        "averaging.py",
        [("        if self.seen < self.start:\n", "        if self.seen <= self.start:\n")],
        [AVERAGE],
        "averaging starts at the step after the one that sees sample `average`",
    ),
    _mutant(
        "average-before-the-l1-step",
        "learners/manual.py",
        [
            (
                "            self.averager.step(self.params, self.means, rows=rows)\n",
                "            pass\n",
            ),
            (
                "        if self.l1 is not None:\n            self.l1.step(",
                "        if self.averager is not None:\n"
                "            self.averager.step(self.params, self.means, rows=rows)\n"
                "        if self.l1 is not None:\n            self.l1.step(",
            ),
        ],
        [AVERAGE],
        "the manual path's mean takes in the weights before the L1 truncation",
    ),
    _mutant(
        "average-count-not-restored",
        "averaging.py",
        [('            self.count = int(state["average/count"])\n', "            pass\n")],
        [AVERAGE],
        "a resumed run (or partial_fit) restarts the mean's count: its first step replaces the mean",
    ),
    _mutant(
        "early-stopping-restores-the-last-mean",
        "learners/protocol.py",
        [(' or key.startswith("average/")}', "}")],
        [AVERAGE],
        "restore_best_weights restores the best epoch's last step, not its mean",
    ),
    _mutant(
        "sparse-sum-not-written-back",
        "parallel.py",
        [('                buffer.tostype("row_sparse").copyto(grad)\n', "                pass\n")],
        ["tests/test_sparse.py"],
        "a row_sparse gradient summed through its dense buffer keeps its own value: each worker steps alone",
    ),
    _mutant(
        "sparse-gradient-at-batch-columns",
        "learners/columns.py",
        [("(gradient, self.columns)", "(gradient, nd.arange(gradient.shape[0], dtype='int64'))")],
        ["tests/test_sparse.py"],
        "a sparse batch's gradient is written at its own column numbers 0..k-1, not at X's columns",
    ),
    _mutant(
        "column-index-keeps-marks",
        "data/columns.py",
        [("        self._marked[columns] = False\n", "")],
        ["tests/test_sparse.py"],
        "the column table keeps every batch's marks: later batches carry the columns of earlier ones",
    ),
    # Weak tests the issue named, and the order the reference now states itself.
    _mutant(
        "epoch-order-ignores-epoch",
        "data/batches.py",
        [("np.random.default_rng([seed, epoch])", "np.random.default_rng([seed, 0])")],
        [EQUIVALENCE, "tests/test_testing.py"],
        "every epoch visits the samples in the same order",
    ),
    _mutant(
        "epoch-order-ignores-seed",
        "data/batches.py",
        [("np.random.default_rng([seed, epoch])", "np.random.default_rng([0, epoch])")],
        ["tests/test_fit.py"],
        "the seed chooses the initial weights but not the order of the samples",
    ),
    # -- issue 12: the data sources ---------------------------------------------------------------------------
    _mutant(
        "source-rows-in-sorted-order",
        "data/sources.py",
        [("            out[order] = block.reshape(", "            out[:] = block.reshape(")],
        ["tests/test_sources.py"],
        "a source's batch keeps its rows in sorted order instead of the epoch's",
    ),
    _mutant(
        "take-skips-a-row",
        "data/batches.py",
        [
            (
                "        rows = self._order[start:stop]\n",
                "        rows = self._order[start : max(start + 1, stop - 1)]\n",
            )
        ],
        ["tests/test_sources.py"],
        "a large in-memory or memmapped data set loses the last row of each batch",
    ),
    _mutant(
        "nan-check-skips-rows",
        "_validation.py",
        [
            (
                "    suspects = np.flatnonzero(~np.isfinite(sums))",
                "    suspects = np.flatnonzero(~np.isfinite(sums[:1]))",
            )
        ],
        ["tests/test_sources.py", "tests/test_errors.py"],
        "the NaN check reads only the first row of each chunk",
    ),
    _mutant(
        "nan-check-trusts-overflowing-sums",
        "_validation.py",
        [
            (
                "    return int(suspects[np.argmax(bad)]) if bad.any() else None",
                "    return int(suspects[0])",
            )
        ],
        ["tests/test_errors.py"],
        "the NaN check calls a row of large finite values whose sum overflows a bad row",
    ),
    _mutant(
        "host-evaluation-ignores-standardization",
        "metrics.py",
        [
            (
                "host.predict(scaler.transform(block) if scaler is not None else block, weight, bias, out=out)",
                "host.predict(block, weight, bias, out=out)",
            )
        ],
        ["tests/test_evaluation.py"],
        "the evaluation passes predict a standardized model from raw rows",
    ),
    _mutant(
        "host-evaluation-unweighted",
        "metrics.py",
        [("            if weighted and sample_weight and sample_weight[0] is not None:\n", "            if False:\n")],
        ["tests/test_evaluation.py", "tests/test_divergence.py"],
        "the divergence guard's loss ignores the sample weights",
    ),
    _mutant(
        "progress-bar-starts-at-zero",
        "callbacks/progress.py",
        [("total=self.run.epochs, initial=self.run.initial_epoch,", "total=self.run.epochs, initial=0,")],
        ["tests/test_validation.py"],
        "a resumed run's progress bar counts from 0, not from the epochs done",
    ),
    _mutant(
        "progress-bar-hides-val-loss",
        "callbacks/progress.py",
        [('for key in ("loss", "val_loss") if key in logs}', 'for key in ("loss",) if key in logs}')],
        ["tests/test_validation.py"],
        "the progress bar does not show the validation loss",
    ),
    # -- the divergence check: growth measured against the initial parameters' loss ----------------------------
    _mutant(
        "divergence-end-unchecked",
        "callbacks/guard.py",
        [("        final = self.run.loss()\n", "        return\n")],
        ["tests/test_divergence.py"],
        "DivergenceGuard no longer measures the fitted parameters: a run that ends far worse than it began is returned",
    ),
    _mutant(
        "divergence-rise-uncounted",
        "callbacks/guard.py",
        [("            self.rises = self.rises + 1 if loss > self.previous else 0\n", "            self.rises = 0\n")],
        ["tests/test_divergence.py"],
        "DivergenceGuard no longer counts a steady rise: only the million-fold explosion stops training",
    ),
    _mutant(
        "divergence-level-first-epoch",
        "callbacks/guard.py",
        [
            (
                "        initial_loss, zero_loss = self.run.loss(), self.run.loss(zero_model=True)\n",
                "        initial_loss, zero_loss = 0.0, self.run.loss(zero_model=True)\n",
            )
        ],
        ["tests/test_divergence.py", "tests/test_callbacks.py"],
        "DivergenceGuard's start ignores the initial parameters' loss (and the overflow check before training)",
    ),
    # -- issue 13: several devices in one process --------------------------------------------------------------
    _mutant(
        "devices-manual-no-gradient-sum",
        "learners/manual.py",
        [("        self.gradient_sum()  #", "        pass  #")],
        ["tests/test_devices.py"],
        "the manual path's devices step with their own gradients, never summed through the KVStore",
    ),
    _mutant(
        "devices-manual-idle-stale-gradient",
        "learners/manual.py",
        [("                zero_gradients(grads)\n", "                pass\n")],
        ["tests/test_devices.py"],
        "an idle device pushes the previous batch's gradient again",
    ),
    _mutant(
        "devices-gluon-idle-stale-gradient",
        "learners/gluon.py",
        [("zero_gradients([param.grad(device) for param in params], [", "zero_gradients([], [")],
        ["tests/test_devices.py"],
        "on the Gluon path an idle device is marked fresh but pushes the previous batch's gradient again",
    ),
    _mutant(
        "devices-gluon-share-divisor",
        "learners/gluon.py",
        [
            (
                "sgd(self.trainer, step_divisor(self.config.reduction, rows))",
                "sgd(self.trainer, step_divisor(self.config.reduction, shares[0][0].shape[0]))",
            )
        ],
        ["tests/test_devices.py"],
        "reduction='mean' divides by the first device's share of the batch instead of the whole batch",
    ),
    _mutant(
        "devices-manual-set-state-first-copy",
        "learners/manual.py",
        [
            (
                "        for device, params in enumerate(self.copies):\n",
                "        for device, params in enumerate(self.copies[:1]):\n",
            )
        ],
        ["tests/test_devices.py"],
        "the manual path's set_state (resume, restored best weights) writes the first device's copy only",
    ),
    _mutant(
        "devices-gluon-update-count-first-device",
        "learners/gluon.py",
        [("            for device in self.ctx:  # MXNet", "            for device in self.ctx[:1]:  # MXNet")],
        ["tests/test_devices.py"],
        "a resumed Gluon run restores the update count (Adam's bias correction) of the first device only",
    ),
    # -- issue 13: fit(kvstore="dist_sync") -------------------------------------------------------------------
    _mutant(
        "dist-divisor-of-the-share",
        "learners/manual.py",
        [
            (
                "rescale_grad = 1.0 / step_divisor(self.config.reduction, rows)",
                "rescale_grad = 1.0 / step_divisor(self.config.reduction, x.shape[0] if x is not None else rows)",
            )
        ],
        ["tests/test_distributed.py::test_every_worker_returns_the_one_process_fit"],
        "a worker divides its step by its share's size, not the global batch's (reduction='mean')",
    ),
    _mutant(
        "dist-empty-share-pushes-stale-gradient",
        "learners/manual.py",
        [("                zero_gradients(grads)\n", "                pass\n")],
        ["tests/test_distributed.py::test_every_worker_returns_the_one_process_fit", "tests/test_devices.py"],
        "a device or worker with no rows in a batch pushes the previous batch's gradient",
    ),
    _mutant(
        "dist-epoch-loss-not-summed",
        "loop.py",
        [("                    total = workers.sum(total)\n", "                    pass\n")],
        ["tests/test_distributed.py::test_every_worker_returns_the_one_process_fit"],
        "history['loss'] is each worker's own rows' loss, not the job's",
    ),
    _mutant(
        "dist-shares-by-reversed-rank",
        "data/batches.py",
        [("row_bounds(stop - start, workers)[rank]", "row_bounds(stop - start, workers)[workers - 1 - rank]")],
        [
            "tests/test_distributed.py::test_each_worker_reads_only_its_share_of_each_batch_and_its_part_of_each_evaluation",
            "tests/test_distributed.py::test_the_workers_shares_cut_each_batch_in_order",
        ],
        "worker r trains on the share of worker W - 1 - r (the same sums, but not the documented rows)",
    ),
    _mutant(
        "dist-every-rank-checkpoints",
        "phases.py",
        [("if checkpoint is not None and rank in (None, 0) else", "if checkpoint is not None else")],
        ["tests/test_distributed.py::test_only_rank_0_writes_checkpoints"],
        "every worker of a dist_sync job writes the checkpoint",
    ),
    # -- issue 23: hostile files, full disks and killed processes ---------------------------------------------
    _mutant(
        "params-header-unbounded",
        "persistence.py",
        [("            if file.tell() + nbytes > size:\n", "            if False:\n")],
        ["tests/test_checkpoint.py::test_load_rejects_bad_files"],
        "load lets MXNet allocate the arrays a model file's header claims, whatever the file's size",
    ),
    _mutant(
        "stale-names-dropped",
        "persistence.py",
        [
            (
                '    if content.get("model_sha256") != hashlib.sha256(model_file.read_bytes()).hexdigest():\n',
                '    if content.get("model_sha256") != hashlib.sha256(model_file.read_bytes()).hexdigest():\n'
                "        return None\n",
            )
        ],
        ["tests/test_inputs.py::test_names_saved_with_another_model_are_an_error"],
        "names saved with another model file are dropped in silence: columns then matched by position",
    ),
    _mutant(
        "save-one-file-at-a-time",
        "persistence.py",
        [("    atomic_write_all(writes)\n", "    for write in writes:\n        atomic_write_all([write])\n")],
        ["tests/test_checkpoint.py::test_a_failed_save_leaves_the_model_and_its_names_as_they_were"],
        "save renames the model file before its names file is written: a full disk leaves a model without names",
    ),
    _mutant(
        "checkpoint-model-renamed-first",
        "persistence.py",
        [("renames=[1, 0]", "renames=[0, 1]")],
        ["tests/test_checkpoint.py::test_a_crash_between_the_renames_of_a_checkpoint_loads_the_committed_model"],
        "the checkpoint's model file is renamed before the state file that commits it",
    ),
    _mutant(
        "csv-float32-overflow-unchecked",
        "data/files.py",
        [
            (
                "            finite = np.isfinite(numbers.astype(dtype))\n",
                "            finite = np.isfinite(numbers)\n",
            )
        ],
        ["tests/test_cli_files.py::test_a_bad_csv_file_is_named_with_its_line_and_column"],
        "a CSV cell of 1e39, finite in float64, is read as infinity in float32",
    ),
    _mutant(
        "csv-hexadecimal-accepted",
        "data/files.py",
        [('    if engine == "pyarrow":  # pyarrow reads 0x10', "    if False:  # pyarrow reads 0x10")],
        ["tests/test_cli_files.py::test_a_bad_csv_file_is_named_with_its_line_and_column"],
        "pyarrow's reading of 0x10 as 16 is let through",
    ),
    _mutant(
        "fit-report-predicts-whole",
        "cli/_files.py",
        [("    rows = max(1, _PREDICT_BYTES // (4 * max(1, row_width(X))))\n", "    rows = max(1, X.shape[0])\n")],
        ["tests/test_cli_files.py::test_predictions_after_training_are_made_a_block_at_a_time"],
        "gluonlr fit, predict and evaluate convert the whole of X to float32 at once to predict",
    ),
    _mutant(
        "launch-children-outlive-launcher",
        "launch.py",
        [("        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)\n", "        pass\n")],
        ["tests/test_launch.py::test_a_killed_launcher_leaves_no_process_of_its_job"],
        "the job's processes get no death signal: kill -9 of the launcher leaves them running",
    ),
]


def _default_sigint() -> None:
    """Give the tests Ctrl-C's default handling, in the child before pytest starts.

    A shell starts a background job with SIGINT ignored, and fit then leaves it so (it installs its handler
    only over the default), which fails the tests that send it.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _run(command: list[str], env: dict[str, str], timeout: float) -> tuple[int | None, str]:
    """Run ``command`` from the repository; return its exit status (None on timeout) and the end of its output."""
    try:
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, preexec_fn=_default_sigint
        )
    except subprocess.TimeoutExpired as error:
        output = error.stdout if isinstance(error.stdout, str) else (error.stdout or b"").decode(errors="replace")
        return None, output[-2000:]
    return done.returncode, (done.stdout + done.stderr)[-2000:]


def _environment(src: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(src), *filter(None, [env.get("PYTHONPATH", "")])])
    # tests/conftest.py's "mutate" profile: the default profile's examples (derandomized: the same every run),
    # and a failure is not shrunk
    env["HYPOTHESIS_PROFILE"] = "mutate"
    return env


def _pytest(selection: list[str]) -> list[str]:
    # -m "": the slow tests too (pyproject's addopts leaves them out); a later -m in the selection still wins
    return [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-m", "", *selection]


def _apply(mutant: Mutant, src_copy: Path) -> str | None:
    """Apply ``mutant`` to the copy of ``src/``; return why it cannot be applied, or None."""
    target = src_copy / Path(mutant.file).relative_to("src")
    if not target.exists():
        return f"{mutant.file} does not exist"
    text = target.read_text()
    for old, new in mutant.replacements:
        count = text.count(old)
        if count != 1:
            return f"{old.strip()[:60]!r} occurs {count} times in {mutant.file}"
        text = text.replace(old, new)
    target.write_text(text)
    return None


def _fresh_copy(workdir: Path) -> Path:
    """Copy ``src/`` into ``workdir`` (no byte code); return the copy's ``src``."""
    copy = workdir / "src"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(ROOT / "src", copy, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return copy


def _check_imported(src: Path, env: dict[str, str]) -> None:
    """Make sure the copy is what pytest will import, not an installed gluonlr."""
    code = "import gluonlr, sys; sys.stdout.write(gluonlr.__file__)"
    where = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    if not where.stdout.startswith(str(src)):
        sys.exit(f"mutate.py: the tests would import gluonlr from {where.stdout or where.stderr!r}, not from {src}")


def main(argv: list[str] | None = None) -> int:
    """Run the mutants; print one line per mutant and a summary; return 1 if any survived."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", metavar="NAME", help="run only this mutant (repeatable)")
    parser.add_argument("--full", action="store_true", help="run the whole suite for every mutant")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per pytest run (default 900)")
    parser.add_argument("pytest_args", nargs="*", help="after --: a pytest selection used for every mutant")
    args = parser.parse_args(argv)
    mutants = [m for m in MUTANTS if not args.only or m.name in args.only]
    unknown = set(args.only or ()) - {m.name for m in MUTANTS}
    if unknown:
        parser.error(f"unknown mutants: {', '.join(sorted(unknown))} (see --list)")
    if args.list:
        for mutant in mutants:
            print(f"{mutant.name:42} {mutant.file:32} {mutant.what}")
        return 0

    def selection(mutant: Mutant) -> list[str]:
        return args.pytest_args or ([] if args.full else list(mutant.tests))

    results: list[tuple[str, str, float]] = []
    with tempfile.TemporaryDirectory(prefix="gluonlr-mutate-") as tmp:
        workdir = Path(tmp)
        src = _fresh_copy(workdir)
        env = _environment(src)
        _check_imported(src, env)
        for tests in sorted({tuple(selection(m)) for m in mutants}):
            status, output = _run(_pytest(list(tests)), env, args.timeout)
            if status != 0:
                print(output)
                sys.exit(f"mutate.py: the unmutated code fails {' '.join(tests) or 'the suite'}: fix that first")
        for mutant in mutants:
            src = _fresh_copy(workdir)
            problem = _apply(mutant, src)
            if problem:
                results.append((mutant.name, f"STALE ({problem})", 0.0))
                print(f"{mutant.name:42} STALE: {problem}", flush=True)
                continue
            start = time.monotonic()
            status, output = _run(_pytest(selection(mutant)), env, args.timeout)
            seconds = time.monotonic() - start
            # pytest: 0 all passed, 1 a test failed, 2 a collection error (e.g. the mutant breaks an import)
            verdict = "TIMEOUT" if status is None else {0: "SURVIVED", 1: "caught", 2: "caught"}.get(status, "ERROR")
            results.append((mutant.name, verdict, seconds))
            tests = " ".join(selection(mutant)) or "the suite"
            print(f"{mutant.name:42} {verdict:9} {seconds:6.1f} s  ({tests})", flush=True)
            if verdict in ("ERROR", "TIMEOUT"):
                print(output)
    survivors = [name for name, verdict, _ in results if verdict != "caught"]
    print(f"\n{len(results) - len(survivors)} of {len(results)} mutants caught", end="")
    print(f"; not caught: {', '.join(survivors)}" if survivors else "")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
