"""Benchmark gluonlr's two ``fit`` paths against reference mini-batch SGD loops.

Usage::

    python benchmarks/run.py [--quick] [--json] [--repeats N] [--no-scaleout | --scaleout-only]

Workloads
---------
``article``
    The article's problem and settings: ``synthetic_data()`` (300 x 2,
    ``y = 2 x1 + 51 x2 + 21.2``), batch 10, 10 epochs, lr 0.01,
    ``loss="squared"``, ``reduction="sum"``. Tiny: this measures per-batch
    overhead (Python, autograd, the MXNet engine), not arithmetic.
``scale``
    200,000 x 100 (20,000 x 100 with ``--quick``), 100 true weights drawn from a
    seeded standard normal, batch 1,000, 2 epochs, lr 0.1, ``loss="squared"``,
    ``reduction="mean"``. Large enough that data movement and arithmetic count.
``ondisk``
    The ``scale`` data and settings, saved to ``X.npy`` and ``y.npy`` in a
    temporary directory (removed afterwards) and opened with
    ``np.load(mmap_mode="r")`` inside every timed run. The files have just been
    written, so the page cache is warm: this measures mapping and reading
    cached pages, not the disk. Only the reference numpy loop, the two bare
    loops and gluonlr's two paths run here. ``fit`` shares the float32 memmap with the device (no copy)
    and gathers each batch's rows with ``nd.take``; it reads the file once
    more before training (the NaN/infinity check) and twice for the
    divergence guard's losses of the initial and the fitted parameters.

Implementations
---------------
Every implementation is a function ``(X, y, w0, b0, *, lr, batch_size, epochs,
seed, loss, reduction) -> (w, b)`` that starts from numpy arrays and returns
numpy parameters, so each timing covers the whole fit: converting the data to
NDArrays, training, and reading the parameters back. All start from the same
``w0 ~ N(0, 1)`` (``default_rng(seed)``) and ``b0 = 0``, and optimize the same
objective (the scikit-learn one excepted, see below):

* ``d2l manual loop``: the MXNet "linear regression from scratch" tutorial:
  ``random.shuffle`` of a list of indices, ``nd.take`` per batch, autograd,
  Python SGD, and the full-data training loss read after every epoch.
* ``Gluon + DataLoader``: the tutorial's "concise" loop: ``DataLoader`` over an
  ``ArrayDataset``, ``nn.Dense(1)``, ``L2Loss``, ``Trainer('sgd')``.
* ``tuned Gluon loop``: one ``take`` per epoch then slices, a hybridized
  (``static_alloc``, ``static_shape``) ``Dense``, no ``DataLoader``, the epoch
  loss summed on the device and read once per epoch.
* ``bare autograd loop`` / ``bare Gluon loop``: what each gluonlr path costs
  in MXNet with nothing else: the path's per-batch calls (the batch's ``take``;
  the article's net and loss recorded, ``backward`` and one fused
  ``multi_sgd_update``; or one hybridized ``Dense`` + ``L2Loss`` block,
  ``backward`` and ``Trainer.step``) in ``fit``'s loop, without ``fit``'s
  checks, divergence guard, history or callbacks. The same batches as the
  numpy per-batch loop, so the same result to float32 round-off.
* ``numpy per-batch SGD``: plain float32 numpy mini-batch SGD, each batch
  gathered with fancy indexing (``xb = X[order[start:stop]]``): the batch
  stays in the cache between the gather and the products that read it.
* ``numpy epoch-gather SGD``: the same SGD (same permutation, same batches,
  same result), the whole epoch gathered at once (``X[order]``) then sliced.
* ``sklearn SGDRegressor``: run only when scikit-learn is importable. It is
  per-sample SGD (constant step ``eta0 = 0.1 / n_features``), a different
  algorithm: only its time and accuracy are comparable.
* ``gluonlr manual`` / ``gluonlr gluon``: ``gluonlr.fit(path=...)``.

Reading the table
-----------------
``median s`` is the median wall time of ``--repeats`` runs after one warm-up
run; ``samples/s`` is ``n * epochs / median s``. ``vs d2l`` is
``t_d2l / t_impl``: above 1 means faster than the tutorial loop. ``vs numpy`` is
``samples/s`` over that of the faster of the two numpy loops in the same
workload (the reference, named under the table): above 1 means faster than
the fastest hand-written numpy SGD. ``of limit`` is ``samples/s`` over the
workload's ``limit`` row: ``n * epochs`` over the time of merely reading ``X``
once per epoch (the fastest of ``X @ ones`` and ``X.sum()``, best of 10).
``max|err|`` is the largest absolute error of ``(w, b)`` against the true
parameters and ``train MSE`` the training mean squared error; a row is flagged
``FAIL`` (and the script exits 1) when its MSE exceeds 10 x the reference's +
1e-3.

The memory section runs each gluonlr path's ``scale`` fit in a fresh process
and reports how much the resident set size (RSS) peaks above its level just
before ``fit``, as a multiple of the data's size ``X.nbytes + y.nbytes``.

Scale-out
---------
The ``scale`` workload's data and settings (``--quick``: its 20,000 rows),
written once to ``.npy`` files that every row opens with
``np.load(mmap_mode="r")``, fitted on each path: in one process; in one
process on 2 CPU contexts (``ctx="cpu:0,cpu:1"``); and in ``dist_sync`` jobs of
1 and 2 workers and one server on 127.0.0.1, started with
``gluonlr.launch.launch`` (this script again, with a hidden flag), each worker
timing its own fits after a warm-up fit in the same process, a run taking
its slowest worker's time. Also timed: one worker's share of a 2-worker job
in one process (half the rows in batches of half the size: as many steps,
each on a worker's rows), and, in the jobs' workers, a ``pushpull`` of the
gradient (100 + 1 float32). The report's notes derive from these what a step
costs and what 2 workers would give on hosts of their own.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import io
import json
import math
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

import gluonlr  # before mxnet: restores the numpy aliases mxnet 1.9.1 needs
from gluonlr._mxnet import autograd, gluon, mx, nd
from gluonlr.data.batches import EPOCH_GATHER_BYTES
from gluonlr.distributed import Workers
from gluonlr.launch import launch

try:
    import sklearn
    from sklearn.linear_model import SGDRegressor
except ImportError:  # optional reference
    sklearn = None

#: Factor ``c`` of the per-sample loss ``c * (yhat - y)**2``.
LOSS_SCALE = {"squared": 1.0, "l2": 0.5}

#: A row fails the accuracy check when its MSE exceeds MSE_RTOL x numpy's + MSE_ATOL.
MSE_RTOL, MSE_ATOL = 10.0, 1e-3

SEED = 0
PATHS = ("manual", "gluon")
D2L = "d2l manual loop"
NUMPY_BATCH, NUMPY_EPOCH = "numpy per-batch SGD", "numpy epoch-gather SGD"
#: The plain-numpy loops; the fastest one present in a workload is its ``vs numpy`` reference.
NUMPY_LOOPS = (NUMPY_BATCH, NUMPY_EPOCH)
#: The least each gluonlr path's arithmetic costs in MXNet: its per-batch calls and nothing else.
BARE_AUTOGRAD, BARE_GLUON = "bare autograd loop", "bare Gluon loop"
#: What the ``ondisk`` workload times: the reference numpy loop, the two bare loops and gluonlr's two paths.
ONDISK_IMPLS = (NUMPY_BATCH, BARE_AUTOGRAD, BARE_GLUON, "gluonlr manual", "gluonlr gluon")
#: Timed passes over ``X`` for the read-bandwidth limit; the fastest counts.
READ_REPEATS = 10


@dataclasses.dataclass(frozen=True)
class Workload:
    """One problem and its SGD settings."""

    name: str
    n: int
    d: int
    batch_size: int
    epochs: int
    lr: float
    loss: str
    reduction: str
    repeats: int
    source: str = "memory"  # "memory": numpy arrays; "npy": .npy files opened with np.load(mmap_mode="r")

    def make_data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """Return ``X, y, true_w, true_b``."""
        if self.name == "article":
            true_w, true_b = np.array([2.0, 51.0]), 21.2
        else:
            true_w, true_b = np.random.default_rng(2026).standard_normal(self.d), 4.2
        X, y = gluonlr.synthetic_data(n=self.n, true_w=true_w, true_b=true_b, noise=0.01, seed=SEED)
        return X, y, true_w, true_b

    def train_args(self) -> dict[str, Any]:
        """The keyword arguments every implementation takes."""
        return {
            "lr": self.lr,
            "batch_size": self.batch_size,
            "epochs": self.epochs,
            "seed": SEED,
            "loss": self.loss,
            "reduction": self.reduction,
        }


def workloads(quick: bool, repeats: int | None) -> list[Workload]:
    """The three workloads, shrunk by ``quick``; ``repeats`` overrides the default counts."""
    scale_n = 20_000 if quick else 200_000
    article_repeats, scale_repeats = (3, 2) if quick else (5, 3)
    scale = Workload("scale", scale_n, 100, 1_000, 2, 0.1, "squared", "mean", repeats or scale_repeats)
    return [
        Workload("article", 300, 2, 10, 10, 0.01, "squared", "sum", repeats or article_repeats),
        scale,
        dataclasses.replace(scale, name="ondisk", source="npy"),
    ]


def initial_params(d: int, seed: int = SEED) -> tuple[np.ndarray, float]:
    """The shared starting point: ``w0 ~ N(0, 1)`` float32 from ``default_rng(seed)``, ``b0 = 0``."""
    return np.random.default_rng(seed).standard_normal(d).astype(np.float32), 0.0


def divisor(reduction: str, batch_len: int) -> int:
    """What a batch's summed gradient is divided by: 1 for ``"sum"``, the batch length for ``"mean"``."""
    return batch_len if reduction == "mean" else 1


# --------------------------------------------------------------------------- references


def linreg(X: nd.NDArray, w: nd.NDArray, b: nd.NDArray) -> nd.NDArray:
    """The tutorial's model ``X w + b``."""
    return nd.dot(X, w) + b


def squared_loss(y_hat: nd.NDArray, y: nd.NDArray, scale: float) -> nd.NDArray:
    """The tutorial's per-sample loss, ``scale * (y_hat - y)**2``."""
    return scale * (y_hat - y.reshape(y_hat.shape)) ** 2


def d2l_manual_loop(X, y, w0, b0, *, lr, batch_size, epochs, seed, loss, reduction):
    """d2l "from scratch": shuffled index list, ``nd.take`` per batch, autograd and Python SGD."""
    features, labels = nd.array(X), nd.array(y)
    w, b = nd.array(w0.reshape(-1, 1)), nd.array([b0])
    for param in (w, b):
        param.attach_grad()
    scale, n, rng = LOSS_SCALE[loss], len(y), random.Random(seed)
    for _ in range(epochs):
        indices = list(range(n))
        rng.shuffle(indices)
        for i in range(0, n, batch_size):
            j = nd.array(indices[i : min(i + batch_size, n)])
            Xb, yb = nd.take(features, j), nd.take(labels, j)
            with autograd.record():
                batch_loss = squared_loss(linreg(Xb, w, b), yb, scale)
            batch_loss.backward()
            for param in (w, b):
                param[:] = param - lr * param.grad / divisor(reduction, len(j))
        train_loss = squared_loss(linreg(features, w, b), labels, scale)
        float(train_loss.mean().asscalar())  # the tutorial prints this every epoch
    return w.asnumpy().ravel(), float(b.asscalar())


def dense(w0: np.ndarray, b0: float) -> gluon.nn.Dense:
    """A ``Dense(1)`` layer holding ``w0``, ``b0``."""
    net = gluon.nn.Dense(1, in_units=len(w0))
    net.initialize()
    net.weight.set_data(nd.array(w0.reshape(1, -1)))
    net.bias.set_data(nd.array([b0]))
    return net


def gluon_parts(w0, b0, lr, loss) -> tuple[gluon.nn.Dense, gluon.loss.L2Loss, gluon.Trainer]:
    """``Dense``, ``L2Loss`` weighted to match ``loss`` (``L2Loss(weight=w)`` is ``w/2 (yhat-y)^2``) and SGD trainer."""
    net = dense(w0, b0)
    loss_fn = gluon.loss.L2Loss(weight=2 * LOSS_SCALE[loss])
    return net, loss_fn, gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr})


def gluon_dataloader_loop(X, y, w0, b0, *, lr, batch_size, epochs, seed, loss, reduction):
    """d2l "concise": ``DataLoader(ArrayDataset, shuffle=True)``, ``Dense``, ``L2Loss``, ``Trainer.step``."""
    np.random.seed(seed)  # noqa: NPY002 -- DataLoader(shuffle=True) shuffles with the global generator
    features, labels = nd.array(X), nd.array(y)
    data_iter = gluon.data.DataLoader(gluon.data.ArrayDataset(features, labels), batch_size, shuffle=True)
    net, loss_fn, trainer = gluon_parts(w0, b0, lr, loss)
    for _ in range(epochs):
        for Xb, yb in data_iter:
            with autograd.record():
                batch_loss = loss_fn(net(Xb), yb)
            batch_loss.backward()
            trainer.step(divisor(reduction, len(yb)))
        float(loss_fn(net(features), labels).mean().asscalar())  # the tutorial prints this every epoch
    return net.weight.data().asnumpy().ravel(), float(net.bias.data().asscalar())


def tuned_gluon_loop(X, y, w0, b0, *, lr, batch_size, epochs, seed, loss, reduction):
    """Gluon without ``DataLoader``: one ``take`` per epoch, slices, hybridized net, one loss read per epoch."""
    features, labels = nd.array(X), nd.array(y)
    net, loss_fn, trainer = gluon_parts(w0, b0, lr, loss)
    net.hybridize(static_alloc=True, static_shape=True)
    loss_fn.hybridize(static_alloc=True, static_shape=True)
    n, rng = len(y), np.random.default_rng(seed)
    for _ in range(epochs):
        index = nd.array(rng.permutation(n))
        X_epoch, y_epoch = nd.take(features, index), nd.take(labels, index)
        total = nd.zeros(1)
        for start in range(0, n, batch_size):
            Xb, yb = X_epoch[start : start + batch_size], y_epoch[start : start + batch_size]
            with autograd.record():
                batch_loss = loss_fn(net(Xb), yb)
            batch_loss.backward()
            trainer.step(divisor(reduction, yb.shape[0]))
            total += batch_loss.sum()
        float(total.asscalar())
    return net.weight.data().asnumpy().ravel(), float(net.bias.data().asscalar())


def numpy_step(w, b, Xb, yb, *, lr, loss, reduction):
    """One float32 SGD step on the batch ``(Xb, yb)``: update ``w`` in place, return the new ``b``."""
    residual = Xb @ w + b - yb
    step = np.float32(lr * 2 * LOSS_SCALE[loss] / divisor(reduction, len(yb)))
    w -= step * (residual @ Xb)
    return b - step * residual.sum()


def numpy_batch_sgd(X, y, w0, b0, *, lr, batch_size, epochs, seed, loss, reduction):
    """Plain float32 numpy mini-batch SGD gathering each batch (``X[idx]``) from a per-epoch permutation.

    The batch (``batch_size x n_features`` floats, 400 KB on ``scale``) stays in
    the cache between the gather and the two products that read it: the fastest
    plain-numpy loop measured here, hence the reference.
    """
    w, b = w0.astype(np.float32), np.float32(b0)
    n, rng = len(y), np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            b = numpy_step(w, b, X[idx], y[idx], lr=lr, loss=loss, reduction=reduction)
    return w, float(b)


def numpy_epoch_sgd(X, y, w0, b0, *, lr, batch_size, epochs, seed, loss, reduction):
    """Plain float32 numpy mini-batch SGD: the whole epoch gathered at once (``X[order]``), then slices.

    Same permutation and batches as :func:`numpy_batch_sgd`, so the same result;
    slower at scale, as the gathered epoch is written to memory and read back.
    """
    w, b = w0.astype(np.float32), np.float32(b0)
    n, rng = len(y), np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(n)
        X_epoch, y_epoch = X[order], y[order]
        for start in range(0, n, batch_size):
            rows = slice(start, start + batch_size)
            b = numpy_step(w, b, X_epoch[rows], y_epoch[rows], lr=lr, loss=loss, reduction=reduction)
    return w, float(b)


def sklearn_sgd(X, y, w0, b0, *, lr, batch_size, epochs, seed, loss, reduction):
    """scikit-learn ``SGDRegressor``: per-sample SGD, constant step ``0.1 / n_features``; ignores lr and batching."""
    model = SGDRegressor(
        loss="squared_error",
        penalty=None,
        alpha=0.0,
        learning_rate="constant",
        eta0=0.1 / X.shape[1],
        max_iter=epochs,
        tol=None,
        shuffle=True,
        random_state=seed,
    )
    model.fit(X, y, coef_init=w0.astype(np.float64), intercept_init=b0)
    return model.coef_.astype(np.float32), float(model.intercept_[0])


def gluonlr_fit(X, y, w0, b0, *, path, lr, batch_size, epochs, seed, loss, reduction, **options):
    """``gluonlr.fit`` on ``path`` from the shared initial parameters; ``options`` (``ctx``, ``kvstore``) passed on."""
    result = gluonlr.fit(
        X,
        y,
        path=path,
        loss=loss,
        reduction=reduction,
        lr=lr,
        batch_size=batch_size,
        epochs=epochs,
        seed=seed,
        init_weight=w0,
        init_bias=b0,
        verbose=0,
        **options,
    )
    return result.weight, result.bias


#: The losses of how many batches a bare loop sums in one operator (gluonlr's loop does the same).
BARE_BLOCK = 64


def bare_batches(X: np.ndarray, y: np.ndarray, batch_size: int, order: np.ndarray):
    """Yield the batches ``(Xb, yb)`` of one epoch in ``order``, read with the MXNet calls ``fit``'s data layer makes.

    ``X`` and ``y`` (a memmap too) are shared with the device, not copied. In-memory
    data of at most ``EPOCH_GATHER_BYTES`` is gathered once (one ``take`` per
    array) and sliced into views; larger data and memmaps are gathered a batch
    at a time (one ``take`` per array and batch), as ``fit`` chooses.
    """
    features = nd.from_numpy(np.ascontiguousarray(X).view(), zero_copy=True)  # a view: X itself stays writable
    labels = nd.from_numpy(np.ascontiguousarray(y).reshape(-1, 1).view(), zero_copy=True)
    index = nd.from_numpy(order.astype(np.int64), zero_copy=True)
    n = len(order)
    if not isinstance(X, np.memmap) and X.nbytes + y.nbytes <= EPOCH_GATHER_BYTES:
        features, labels = nd.take(features, index), nd.take(labels, index)
        for start in range(0, n, batch_size):
            yield features[start : start + batch_size], labels[start : start + batch_size]
    else:
        for start in range(0, n, batch_size):
            rows = index[start : start + batch_size]
            yield nd.take(features, rows), nd.take(labels, rows)


def bare_loop(X, y, *, batch_size, epochs, seed, step) -> None:
    """Run ``step(Xb, yb) -> per-sample losses`` on every batch, in ``numpy per-batch SGD``'s order.

    The losses are summed on the device a block of ``BARE_BLOCK`` batches at a
    time, at most two blocks in flight, and read once per epoch, all under
    ``mx.engine.bulk``: what ``fit``'s loop does, and nothing more.
    """
    n, rng = len(y), np.random.default_rng(seed)
    with mx.engine.bulk(BARE_BLOCK):
        for _ in range(epochs):
            losses, sums = [], []
            for Xb, yb in bare_batches(X, y, batch_size, rng.permutation(n)):
                losses.append(step(Xb, yb))
                if len(losses) == BARE_BLOCK:
                    sums.append(nd.concat(*losses, dim=0).sum())
                    losses = []
                    if len(sums) > 1:
                        sums[-2].wait_to_read()
            if losses:
                sums.append(nd.concat(*losses, dim=0).sum())
            float(nd.add_n(*sums).asscalar() if len(sums) > 1 else sums[0].asscalar())


def bare_autograd_loop(X, y, w0, b0, *, lr, batch_size, epochs, seed, loss, reduction):
    """The manual path's MXNet calls alone: the article's net and loss recorded, ``backward``, a fused SGD step.

    The calls ``fit(path="manual")`` makes per batch, and nothing else: the
    batch's ``take`` (or slices), ``dot``, ``+ b``, ``- y``, ``square``,
    ``backward``, ``multi_sgd_update`` (the kernel ``fit`` runs). None of
    ``fit``'s checks, divergence guard, history or callbacks: what stands
    between ``fit`` and this loop is their cost.
    """
    w, b = nd.array(w0.reshape(-1, 1)), nd.array([b0])
    params = [w, b]
    for param in params:
        param.attach_grad()
    grads, scale = [w.grad, b.grad], LOSS_SCALE[loss]

    def step(Xb: nd.NDArray, yb: nd.NDArray) -> nd.NDArray:
        with autograd.record():
            batch_loss = nd.square(nd.dot(Xb, w) + b - yb)
            if scale != 1.0:
                batch_loss = scale * batch_loss
        batch_loss.backward()
        rescale = 1.0 / divisor(reduction, Xb.shape[0])
        nd.multi_sgd_update(
            w, grads[0], b, grads[1], out=params, lrs=(lr, lr), wds=(0.0, 0.0), rescale_grad=rescale, num_weights=2
        )
        return batch_loss

    bare_loop(X, y, batch_size=batch_size, epochs=epochs, seed=seed, step=step)
    return w.asnumpy().ravel(), float(b.asscalar())


def bare_gluon_loop(X, y, w0, b0, *, lr, batch_size, epochs, seed, loss, reduction):
    """The Gluon path's MXNet calls alone: ``Dense`` + ``L2Loss`` as one hybridized block, ``Trainer.step``.

    The same batches as :func:`bare_autograd_loop`; per batch one call of the
    cached graph (``static_alloc``, ``static_shape``), its ``backward`` and
    ``Trainer.step``. None of ``fit``'s checks, divergence guard, history or
    callbacks, and no ``DataLoader``.
    """
    net, loss_fn, trainer = gluon_parts(w0, b0, lr, loss)

    class NetWithLoss(gluon.HybridBlock):
        def __init__(self) -> None:
            super().__init__()
            self.net, self.loss_fn = net, loss_fn

        def hybrid_forward(self, F: Any, Xb: Any, yb: Any) -> Any:
            return self.loss_fn(self.net(Xb), yb)

    block = NetWithLoss()
    block.hybridize(static_alloc=True, static_shape=True)

    def step(Xb: nd.NDArray, yb: nd.NDArray) -> nd.NDArray:
        with autograd.record():
            batch_loss = block(Xb, yb)
        batch_loss.backward()
        trainer.step(divisor(reduction, Xb.shape[0]))
        return batch_loss

    bare_loop(X, y, batch_size=batch_size, epochs=epochs, seed=seed, step=step)
    return net.weight.data().asnumpy().ravel(), float(net.bias.data().asscalar())


def implementations() -> tuple[dict[str, Callable[..., tuple[np.ndarray, float]]], list[str]]:
    """The implementations by name, and notes on the ones skipped."""
    impls: dict[str, Callable[..., tuple[np.ndarray, float]]] = {
        D2L: d2l_manual_loop,
        "Gluon + DataLoader": gluon_dataloader_loop,
        "tuned Gluon loop": tuned_gluon_loop,
        BARE_AUTOGRAD: bare_autograd_loop,
        BARE_GLUON: bare_gluon_loop,
        NUMPY_BATCH: numpy_batch_sgd,
        NUMPY_EPOCH: numpy_epoch_sgd,
    }
    notes = []
    if sklearn is None:
        notes.append("sklearn SGDRegressor skipped: scikit-learn is not importable")
    else:
        impls["sklearn SGDRegressor"] = sklearn_sgd
    for path in PATHS:
        impls[f"gluonlr {path}"] = functools.partial(gluonlr_fit, path=path)
    return impls, notes


# --------------------------------------------------------------------------- timing and rows


def median_time(run: Callable[[], tuple[np.ndarray, float]], repeats: int) -> tuple[float, tuple[np.ndarray, float]]:
    """Median wall time of ``repeats`` calls of ``run`` after one untimed warm-up; also the last result."""
    result = run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def take_turns(
    runs: Mapping[Any, Callable[[], Any]], repeats: int, before: Callable[[], Any] | None = None
) -> tuple[dict[Any, list[float]], dict[Any, Any]]:
    """Wall times of ``repeats`` rounds of ``runs``, each called once a round in turn after one untimed warm-up each.

    Taking turns, the runs share the machine's changing load. ``before`` is
    called, untimed, before each timed call. Returns each run's times and its
    last result.
    """
    results = {name: run() for name, run in runs.items()}
    times: dict[Any, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            if before is not None:
                before()
            start = time.perf_counter()
            results[name] = run()
            times[name].append(time.perf_counter() - start)
    return times, results


def fastest_read(read: Callable[[], Any], repeats: int = READ_REPEATS) -> float:
    """The shortest of ``repeats`` timed calls of ``read``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        read()
        times.append(time.perf_counter() - start)
    return min(times)


def read_limit(workload: Workload, open_X: Callable[[], np.ndarray]) -> dict[str, Any]:
    """How fast ``X`` can merely be read: the samples/s of one pass over ``X`` per epoch.

    One pass is the faster of ``X @ ones`` (BLAS gemv, both cores) and
    ``X.sum()``, best of :data:`READ_REPEATS`. On memory-resident data every
    pass costs the same. On ``.npy`` files the first pass of a fit maps the
    pages of a freshly opened memmap (minor faults; the page cache is warm) and
    later passes read pages already mapped, so the limit of a fit is one fresh
    pass plus ``epochs - 1`` mapped ones.
    """
    X = open_X()
    ones = np.ones(X.shape[1], dtype=np.float32)
    passes = {"X @ ones": lambda X: X @ ones, "X.sum()": lambda X: X.sum()}
    again = {name: fastest_read(lambda read=read: read(X)) for name, read in passes.items()}
    method = min(again, key=again.get)
    if workload.source == "npy":
        first = fastest_read(lambda: passes[method](open_X()))
    else:
        first = again[method]
    seconds = first + (workload.epochs - 1) * again[method]
    return {
        "workload": workload.name,
        "source": workload.source,
        "method": method,
        "x_bytes": X.nbytes,
        "read_gb_per_s": X.nbytes / again[method] / 1e9,
        "first_pass_s": first,
        "pass_s": again[method],
        "seconds": seconds,
        "samples_per_s": workload.n * workload.epochs / seconds,
    }


def errors(X, y, true_w, true_b, w, b) -> dict[str, float]:
    """``max_abs_err`` of the learned ``(w, b)`` against the true parameters and the training MSE ``train_mse``."""
    residual = X @ np.asarray(w, dtype=np.float32) + np.float32(b) - y
    return {
        "max_abs_err": float(np.abs(np.append(w - true_w, b - true_b)).max()),
        "train_mse": float(np.mean(np.square(residual, dtype=np.float64))),
    }


def accurate(train_mse: float, reference_mse: float) -> bool:
    """The accuracy check: a finite training MSE of at most :data:`MSE_RTOL` x the reference's + :data:`MSE_ATOL`."""
    return bool(np.isfinite(train_mse) and train_mse <= MSE_RTOL * reference_mse + MSE_ATOL)


def benchmark(
    workload: Workload, impls: dict[str, Callable[..., tuple[np.ndarray, float]]]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Time every implementation on ``workload``: one row each, ratios and accuracy included, and the read limit."""
    X, y, true_w, true_b = workload.make_data()
    w0, b0 = initial_params(workload.d)
    with tempfile.TemporaryDirectory(prefix="gluonlr-bench-") as tmp:
        if workload.source == "npy":
            x_path, y_path = os.path.join(tmp, "X.npy"), os.path.join(tmp, "y.npy")
            np.save(x_path, X)
            np.save(y_path, y)

            def open_data() -> tuple[np.ndarray, np.ndarray]:
                return np.load(x_path, mmap_mode="r"), np.load(y_path, mmap_mode="r")
        else:

            def open_data() -> tuple[np.ndarray, np.ndarray]:
                return X, y

        limit = read_limit(workload, lambda: open_data()[0])
        rows = []
        for name, impl in impls.items():
            seconds, (w, b) = median_time(
                lambda impl=impl: impl(*open_data(), w0, b0, **workload.train_args()), workload.repeats
            )
            rows.append(
                {
                    "workload": workload.name,
                    "implementation": name,
                    "median_s": seconds,
                    "samples_per_s": workload.n * workload.epochs / seconds,
                    **errors(X, y, true_w, true_b, w, b),
                }
            )
    by_name = {row["implementation"]: row for row in rows}
    reference = max((by_name[name] for name in NUMPY_LOOPS if name in by_name), key=lambda row: row["samples_per_s"])
    limit["reference"] = reference["implementation"]
    for row in rows:
        row["speedup_vs_d2l"] = by_name[D2L]["median_s"] / row["median_s"] if D2L in by_name else None
        row["throughput_vs_numpy"] = row["samples_per_s"] / reference["samples_per_s"]
        row["fraction_of_limit"] = row["samples_per_s"] / limit["samples_per_s"]
        row["accurate"] = accurate(row["train_mse"], reference["train_mse"])
    limit["throughput_vs_numpy"] = limit["samples_per_s"] / reference["samples_per_s"]
    return rows, limit


# --------------------------------------------------------------------------- memory


def _proc_status_kib(field: str) -> int:
    """``field`` (e.g. ``VmRSS``, ``VmHWM``) of ``/proc/self/status``, in KiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def memory_probe(path: str, workload: Workload) -> dict[str, Any]:
    """Peak RSS increase of one gluonlr ``fit`` on ``workload``; meant to run in a fresh process.

    A small fit first pays MXNet's one-time allocations. On Linux the RSS
    high-water mark is then reset (``/proc/self/clear_refs``) after the data is
    built, so the peak is the fit's alone: ``VmHWM`` after the fit minus
    ``VmRSS`` before it. ``ru_maxrss`` cannot be used here as is: a child
    started by fork/vfork + exec inherits its parent's peak. Elsewhere the
    increase of ``ru_maxrss`` across the fit is reported, a lower bound.
    """
    small = dataclasses.replace(workload, n=2 * workload.batch_size)
    X, y, _, _ = small.make_data()
    gluonlr_fit(X, y, *initial_params(small.d), path=path, **small.train_args())
    X, y, _, _ = workload.make_data()
    w0, b0 = initial_params(workload.d)
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")  # reset the RSS high-water mark
        method = "VmHWM after fit - VmRSS before fit (/proc, peak reset after data creation)"
        before, read_peak = _proc_status_kib("VmRSS"), functools.partial(_proc_status_kib, "VmHWM")
    except OSError:
        method = "ru_maxrss increase across fit (lower bound: the data-creation peak hides part of it)"
        scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is bytes on macOS, KiB on Linux

        def read_peak() -> int:
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale // 1024

        before = read_peak()
    gluonlr_fit(X, y, w0, b0, path=path, **workload.train_args())
    increase = (read_peak() - before) * 1024
    data_bytes = X.nbytes + y.nbytes
    return {
        "workload": workload.name,
        "implementation": f"gluonlr {path}",
        "n": workload.n,
        "d": workload.d,
        "data_mib": data_bytes / 2**20,
        "peak_increase_mib": increase / 2**20,
        "peak_increase_over_data": increase / data_bytes,
        "method": method,
    }


def measure_memory(quick: bool) -> list[dict[str, Any]]:
    """Run :func:`memory_probe` for both gluonlr paths, each in a fresh interpreter."""
    results = []
    for path in PATHS:
        command = [sys.executable, os.path.abspath(__file__), "--memory-probe", path] + (["--quick"] if quick else [])
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return results


# --------------------------------------------------------------------------- scale-out

#: The scale-out section's one-process rows: their setup and the options given to ``fit``.
ONE_PROCESS = {"1 process": {}, "1 process, ctx cpu:0,cpu:1": {"ctx": "cpu:0,cpu:1"}}
#: The numbers of workers of the section's ``dist_sync`` jobs, each with one server.
JOB_WORKERS = (1, 2)
#: The job whose workers' share of a batch is also timed in one process (see :func:`scaleout`).
SHARE_WORKERS = 2
#: The name of the one-process fit of one worker's share, in :func:`scaleout`.
SHARE = "a worker's share"
#: Seconds a job may take before ``launch`` stops it: a job takes seconds, this only bounds a broken one.
JOB_SECONDS = 600.0
#: Timed pushpulls of the gradient in each worker (full run, ``--quick``), after ``PUSHPULL_WARMUP`` untimed.
PUSHPULLS, QUICK_PUSHPULLS, PUSHPULL_WARMUP = 1000, 200, 20
#: The share of the CPU time taken by other programs above which the report says the machine was busy.
BUSY_SHARE = 0.1
#: The width the scale-out section's long lines and notes are wrapped to.
NOTE_WIDTH = 120
#: Timed runs of each scale-out row (full run, ``--quick``), unless ``--repeats`` says otherwise.
SCALEOUT_REPEATS, QUICK_SCALEOUT_REPEATS = 5, 3


def cpu_seconds() -> tuple[float, float, float | None]:
    """Now: the wall clock, this process's CPU time with its reaped children's, and the machine's busy CPU time.

    The machine's is the time all its CPUs spent on anything but idling and
    waiting for I/O (``/proc/stat``), or None where there is no ``/proc``.
    Between two calls, the busy time less this process tree's is what other
    programs took.
    """
    times = os.times()
    own = times.user + times.system + times.children_user + times.children_system
    try:
        with open("/proc/stat") as stat:
            user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, stat.readline().split()[1:9])
    except (OSError, ValueError):
        return time.perf_counter(), own, None
    return time.perf_counter(), own, (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def others_share(start: tuple[float, float, float | None], cpus: int | None) -> float | None:
    """The share of the machine's CPU time that other programs took since ``start`` (:func:`cpu_seconds`)."""
    end = cpu_seconds()
    if start[2] is None or end[2] is None or not cpus:
        return None
    return max(0.0, (end[2] - start[2]) - (end[1] - start[1])) / ((end[0] - start[0]) * cpus)


def pushpull_seconds(store: mx.kv.KVStore, n_features: int, count: int, warmup: int = PUSHPULL_WARMUP) -> list[float]:
    """Wall times of ``count`` pushpulls of a linear model's gradient through ``store``, after ``warmup`` untimed.

    The gradient is the manual path's: the weight's ``n_features`` and the
    bias's one float32 values under two keys of their own (a fresh
    :class:`~gluonlr.distributed.Workers` key space, as a fit gets), pushed and
    pulled in one ``pushpull`` call as ``GradientSum`` makes it once a step (the
    Gluon path's ``Trainer`` makes one call per parameter), each timed until its
    result is there. In a ``dist_sync`` job a pushpull returns only once every
    worker has pushed, so each is also the step's meeting point of the workers.
    """
    keys = Workers(store).params
    grads = [nd.zeros((n_features, 1)), nd.zeros(1)]
    keys.init([0, 1], grads)
    nd.waitall()
    times = []
    for _ in range(warmup + count):
        start = time.perf_counter()
        keys.pushpull([0, 1], grads, out=grads)
        nd.waitall()
        times.append(time.perf_counter() - start)
    return times[warmup:]


def scaleout_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """One worker of a scale-out job: a warm-up fit per path, ``repeats`` timed fits of each, then the pushpulls.

    The data are the ``.npy`` files ``spec["X"]`` and ``spec["y"]``, opened
    with ``np.load(mmap_mode="r")``. The worker joins the job by creating its
    ``dist_sync`` store, which every fit is given (``fit(kvstore=store)``: the
    store ``kvstore="dist_sync"`` would make). Creating it and the warm-up fits
    (MXNet's first calls) are not timed. Before each timed fit the workers meet
    at the store's barrier, so their clocks start together. Returns the rank,
    each path's fit times and last ``(w, b)``, and the median pushpull time.
    """
    X, y = np.load(spec["X"], mmap_mode="r"), np.load(spec["y"], mmap_mode="r")
    w0, b0 = initial_params(X.shape[1])
    store = mx.kv.create("dist_sync")
    runs = {
        path: functools.partial(gluonlr_fit, X, y, w0, b0, path=path, kvstore=store, **spec["train_args"])
        for path in spec["paths"]
    }
    seconds, results = take_turns(runs, spec["repeats"], before=store._barrier)  # MXNet's barrier of the workers
    pushpulls = pushpull_seconds(store, X.shape[1], spec["pushpulls"])
    return {
        "rank": int(store.rank),
        "seconds": seconds,
        "params": {path: [np.asarray(w).tolist(), float(b)] for path, (w, b) in results.items()},
        "pushpull_s": statistics.median(pushpulls),
    }


def run_job(
    workers: int, spec: dict[str, Any], env: Mapping[str, str] | None = None, timeout: float = JOB_SECONDS
) -> list[dict[str, Any]]:
    """Run :func:`scaleout_worker` as the ``workers`` workers of a job on 127.0.0.1; return their records by rank.

    ``gluonlr.launch.launch`` starts the scheduler, one server and the workers
    (this script again, with ``--scaleout-worker``), stops the job after
    ``timeout`` seconds or as soon as a process of it fails, and ends every
    process it started before it returns. Each worker prints its record as one
    JSON line, which the launcher relays prefixed with ``[rank]``.
    """
    out, err = io.StringIO(), io.StringIO()
    command = [sys.executable, os.path.abspath(__file__), "--scaleout-worker", json.dumps(spec)]
    status = launch(command, workers=workers, host="127.0.0.1", timeout=timeout, env=env, stdout=out, stderr=err)
    lines = (line.partition(" ")[2] for line in out.getvalue().splitlines())
    records = sorted((json.loads(text) for text in lines if text.startswith("{")), key=lambda record: record["rank"])
    if status != 0 or [record["rank"] for record in records] != list(range(workers)):
        raise RuntimeError(
            f"The scale-out job of {workers} worker(s) failed (exit status {status}, records of ranks "
            f"{[record['rank'] for record in records]}); its standard error ended with:\n{err.getvalue()[-4000:]}"
        )
    return records


def scaleout(
    workload: Workload,
    pushpulls: int,
    env: Mapping[str, str] | None = None,
    timeout: float = JOB_SECONDS,
    workers: Sequence[int] = JOB_WORKERS,
) -> dict[str, Any]:
    """The scale-out section: ``fit`` on ``workload`` in one process, on 2 CPU contexts and in ``dist_sync`` jobs.

    The data are written once to ``.npy`` files in a temporary directory and
    every row reads them through ``np.load(mmap_mode="r")``. The one-process
    fits are timed here, taking turns (:func:`take_turns`): the whole fit, on
    :data:`ONE_PROCESS`'s setups, and one worker's share of a
    :data:`SHARE_WORKERS`-worker job: a fit on ``n / SHARE_WORKERS`` rows in
    batches of ``batch_size / SHARE_WORKERS``, the same number of steps, each
    on as many rows as a worker computes. Each job
    (:func:`run_job`, its ``env`` added to every process's environment) gives
    a row per path whose time is the median over the runs of the slowest
    worker's, and the median time of a pushpull of the gradient. Every row
    passes the accuracy check against the reference numpy loop's MSE on the
    same data, and a job's workers must return the same parameters.
    """
    start = cpu_seconds()
    X, y, true_w, true_b = workload.make_data()
    w0, b0 = initial_params(workload.d)
    args, repeats, samples = workload.train_args(), workload.repeats, workload.n * workload.epochs
    steps = workload.epochs * math.ceil(workload.n / workload.batch_size)
    reference_mse = errors(X, y, true_w, true_b, *numpy_batch_sgd(X, y, w0, b0, **args))["train_mse"]
    rows: list[dict[str, Any]] = []

    def add(path: str, setup: str, seconds: float, w: Any, b: float, **more: Any) -> None:
        row = {"path": path, "setup": setup, "median_s": seconds, "samples_per_s": samples / seconds}
        row.update(errors(X, y, true_w, true_b, np.asarray(w, dtype=np.float32), b), **more)
        row["accurate"] = accurate(row["train_mse"], reference_mse) and row.get("workers_agree", True)
        rows.append(row)

    share: dict[str, float] = {}
    pushpull: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="gluonlr-scaleout-") as tmp:
        spec = {"X": os.path.join(tmp, "X.npy"), "y": os.path.join(tmp, "y.npy"), "paths": PATHS}
        spec.update(train_args=args, repeats=repeats, pushpulls=pushpulls)
        np.save(spec["X"], X)
        np.save(spec["y"], y)
        X_map, y_map = np.load(spec["X"], mmap_mode="r"), np.load(spec["y"], mmap_mode="r")
        rows_each = workload.n // SHARE_WORKERS
        share_args = {**args, "batch_size": workload.batch_size // SHARE_WORKERS}
        runs = {}
        for path in PATHS:
            for setup, options in ONE_PROCESS.items():
                runs[path, setup] = functools.partial(gluonlr_fit, X_map, y_map, w0, b0, path=path, **options, **args)
            runs[path, SHARE] = functools.partial(
                gluonlr_fit, X_map[:rows_each], y_map[:rows_each], w0, b0, path=path, **share_args
            )
        times, results = take_turns(runs, repeats)
        for (path, setup), seconds in times.items():
            if setup == SHARE:
                share[path] = statistics.median(seconds)
            else:
                add(path, setup, statistics.median(seconds), *results[path, setup])
        for count in workers:
            records = run_job(count, spec, env, timeout)
            pushpull[count] = max(record["pushpull_s"] for record in records)
            for path in PATHS:
                slowest = [max(record["seconds"][path][i] for record in records) for i in range(repeats)]
                w, b = records[0]["params"][path]
                agree = all(record["params"][path] == records[0]["params"][path] for record in records)
                add(path, f"dist_sync, {count} worker{'s' if count > 1 else ''}", statistics.median(slowest), w, b,
                    workers=count, workers_agree=agree)  # fmt: skip
    rows.sort(key=lambda row: PATHS.index(row["path"]))  # stable: each path's setups in the order run
    for row in rows:
        one = next(other for other in rows if other["path"] == row["path"] and other["setup"] == "1 process")
        row["vs_one_process"] = row["samples_per_s"] / one["samples_per_s"]
    return {
        "workload": dataclasses.asdict(workload),
        "steps": steps,
        "reference_mse": reference_mse,
        "rows": rows,
        "pushpull_s": pushpull,
        "pushpulls": pushpulls,
        "others_cpu_share": others_share(start, os.cpu_count()),
        "per_step": {path: per_step(workload, steps, rows, share[path], path, pushpull) for path in PATHS},
    }


def per_step(
    workload: Workload, steps: int, rows: list[dict[str, Any]], share_s: float, path: str, pushpull: dict[int, float]
) -> dict[str, Any]:
    """A path's times per step (fit time / steps) and what they imply for a job whose workers have cores of their own.

    From the step of the whole batch (``B`` rows, one process) and of one
    worker's share (``B / W`` rows), a straight line: ``per_row_s`` is their
    difference over the ``B - B / W`` rows, ``fixed_s`` the rest of a step.
    On ``W`` hosts, each worker with cores of its own, a step would take the
    share's step plus the pushpull (measured here on loopback; a network adds
    its round trip): ``projected_step_s``. The workers pay off when the rows a
    worker no longer computes cost more than the pushpull: above a global
    batch of ``break_even_batch = pushpull / (per_row_s (1 - 1 / W))`` rows.
    """
    mine = [row for row in rows if row["path"] == path]
    setups = {row["setup"]: row["median_s"] / steps for row in mine}
    step, share_step, batch = setups["1 process"], share_s / steps, workload.batch_size
    rows_saved = batch - batch // SHARE_WORKERS
    per_row = (step - share_step) / rows_saved
    jobs = {row["workers"]: row["median_s"] / steps for row in mine if "workers" in row}
    result: dict[str, Any] = {
        "setups": setups,
        "share_step_s": share_step,
        "per_row_s": per_row,
        "fixed_s": step - batch * per_row,
        "pushpull_share_of_step": {count: pushpull[count] / seconds for count, seconds in jobs.items()},
        "job_overhead_s": {count: seconds - step for count, seconds in jobs.items()},
    }
    if SHARE_WORKERS in pushpull:
        result["projected_step_s"] = share_step + pushpull[SHARE_WORKERS]
        result["projected_vs_one_process"] = step / result["projected_step_s"]
        saved = per_row * rows_saved / batch  # a step's saving per row of the global batch
        separated = per_row > 0 and result["fixed_s"] >= 0  # else the noise hid the per-row cost
        result["break_even_batch"] = pushpull[SHARE_WORKERS] / saved if separated else None
    return result


# --------------------------------------------------------------------------- output


def machine_info() -> dict[str, Any]:
    """Versions and CPU count of this machine."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "gluonlr": gluonlr.__version__,
        "mxnet": mx.__version__,
        "numpy": np.__version__,
        "sklearn": None if sklearn is None else sklearn.__version__,
        "cpu_count": os.cpu_count(),
    }


def _seconds(value: float) -> str:
    return f"{value:>9.4f}" if value >= 1e-3 else f"{value:>9.1e}"


def _size(nbytes: int) -> str:
    return f"{nbytes / 2**20:.2f} MiB" if nbytes >= 2**20 else f"{nbytes / 2**10:.1f} KiB"


def _ratio(value: float | None, width: int) -> str:
    return f"{value:>{width - 1}.2f}x" if value is not None else f"{'-':>{width}}"


def format_table(rows: list[dict[str, Any]], limits: list[dict[str, Any]]) -> str:
    """The rows as a fixed-width text table, each workload ending with its read limit."""
    header = (
        f"{'workload':<8} {'implementation':<22} {'median s':>9} {'samples/s':>12} "
        f"{'vs d2l':>7} {'vs numpy':>8} {'of limit':>8} {'max|err|':>9} {'train MSE':>9}  check"
    )
    lines = [header, "-" * len(header)]
    for limit in limits:
        for row in rows:
            if row["workload"] != limit["workload"]:
                continue
            lines.append(
                f"{row['workload']:<8} {row['implementation']:<22} {row['median_s']:>9.4f} "
                f"{row['samples_per_s']:>12,.0f} {_ratio(row['speedup_vs_d2l'], 7)} "
                f"{_ratio(row['throughput_vs_numpy'], 8)} {row['fraction_of_limit']:>8.2%} "
                f"{row['max_abs_err']:>9.1e} {row['train_mse']:>9.1e}  {'ok' if row['accurate'] else 'FAIL'}"
            )
        lines.append(
            f"{limit['workload']:<8} {'limit: read X once/ep.':<22} {_seconds(limit['seconds'])} "
            f"{limit['samples_per_s']:>12,.0f} {_ratio(None, 7)} {_ratio(limit['throughput_vs_numpy'], 8)} "
            f"{1:>8.0%}"
        )
    return "\n".join(lines)


def format_report(info: dict[str, Any], loads: list[Workload], rows, limits, memory, notes, scaleout=None) -> str:
    """The human-readable report: settings, timing table, limits, memory, notes, and the scale-out section."""
    lines = ["machine: " + ", ".join(f"{key} {value}" for key, value in info.items())]
    if loads:
        lines += [format_workloads(loads, rows, limits, memory, notes)]
    if scaleout is not None:
        lines += ["", format_scaleout(scaleout), *(_wrap(f"note: {note}") for note in scaleout["notes"])]
    return "\n".join(lines)


def format_workloads(loads: list[Workload], rows, limits, memory, notes) -> str:
    """The workloads' settings, timing table, limits, memory and notes."""
    lines = []
    for load in loads:
        source = " (.npy memmaps, warm page cache)" if load.source == "npy" else ""
        lines.append(
            f"{load.name}: {load.n:,} x {load.d}{source}, batch {load.batch_size}, {load.epochs} epochs, "
            f"lr {load.lr}, loss {load.loss}, reduction {load.reduction}; "
            f"median of {load.repeats} runs after 1 warm-up"
        )
    lines += ["", format_table(rows, limits), ""]
    references = "; ".join(f"{limit['workload']}: {limit['reference']}" for limit in limits)
    lines.append(f"vs d2l = t_d2l / t; vs numpy = samples/s / the fastest numpy loop's ({references})")
    lines.append(
        "of limit = samples/s / the limit's; limit = n * epochs / the time of reading X once per epoch, "
        "its fastest pass of X @ ones and X.sum():"
    )
    for limit in limits:
        first = ""
        if limit["source"] == "npy":
            first = f", first pass of a freshly opened memmap {limit['first_pass_s'] * 1e3:.3f} ms"
        lines.append(
            f"  {limit['workload']:<8} X {_size(limit['x_bytes'])}, {limit['method']} "
            f"{limit['pass_s'] * 1e3:.3f} ms = {limit['read_gb_per_s']:.1f} GB/s{first}"
        )
    lines.append(f"check FAIL = train MSE > {MSE_RTOL:g} x the reference numpy loop's + {MSE_ATOL:g}")
    lines += ["", "peak memory of one gluonlr scale fit, each in a fresh process:"]
    for probe in memory:
        lines.append(
            f"  {probe['implementation']:<15} {probe['n']:,} x {probe['d']}: data (X+y) {probe['data_mib']:.1f} MiB, "
            f"peak RSS increase during fit {probe['peak_increase_mib']:.1f} MiB = "
            f"{probe['peak_increase_over_data']:.2f} x data"
        )
    if memory:
        lines.append(f"  measured as: {memory[0]['method']}")
    lines += [f"note: {note}" for note in notes]
    return "\n".join(lines)


def _wrap(text: str) -> str:
    """``text`` in lines of at most :data:`NOTE_WIDTH` characters, the later ones indented."""
    return textwrap.fill(text, NOTE_WIDTH, subsequent_indent="  ")


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} us"


def format_scaleout(section: dict[str, Any]) -> str:
    """The scale-out section: its settings, one row per path and setup, the times per step."""
    load, steps = Workload(**section["workload"]), section["steps"]
    lines = [
        _wrap(
            f"scale-out: the scale workload, {load.n:,} x {load.d}, batch {load.batch_size}, {load.epochs} epochs "
            f"({steps} steps), lr {load.lr}, loss {load.loss}, reduction {load.reduction}; every row reads X and y "
            f"from .npy memmaps; median of {load.repeats} runs after 1 warm-up"
        ),
        _wrap(
            "dist_sync rows: a job on 127.0.0.1 started by gluonlr.launch.launch (a scheduler, 1 server, the "
            "workers); each worker times its own fits, after a warm-up fit of each path in the same process (so "
            "MXNet's import and joining the job are not counted), the workers starting each fit together; a run "
            "takes its slowest worker's time"
        ),
    ]
    if section["others_cpu_share"] is not None:
        lines.append(f"other programs took {section['others_cpu_share']:.0%} of the CPU time during the section")
    lines.append("")
    header = (
        f"{'path':<7} {'setup':<27} {'median s':>9} {'samples/s':>12} {'vs 1 proc':>9} "
        f"{'max|err|':>9} {'train MSE':>9}  check"
    )
    lines += [header, "-" * len(header)]
    for row in section["rows"]:
        lines.append(
            f"{row['path']:<7} {row['setup']:<27} {row['median_s']:>9.4f} {row['samples_per_s']:>12,.0f} "
            f"{_ratio(row['vs_one_process'], 9)} {row['max_abs_err']:>9.1e} {row['train_mse']:>9.1e}  "
            f"{'ok' if row['accurate'] else 'FAIL'}"
        )
    lines.append(
        _wrap(
            f"vs 1 proc = samples/s / the same path's 1-process row's; check FAIL = train MSE > {MSE_RTOL:g} x the "
            f"numpy per-batch loop's ({section['reference_mse']:.1e}) + {MSE_ATOL:g}, or a job's workers returned "
            "different parameters"
        )
    )
    steps_of = {path: per_step["setups"] for path, per_step in section["per_step"].items()}
    share_rows = load.batch_size // SHARE_WORKERS
    lines += ["", f"{f'per step (fit time / {steps} steps)':<50} {'manual':>12} {'gluon':>12}"]
    for setup in steps_of["manual"]:
        label = f"{setup}, {load.batch_size} rows a step" if setup == "1 process" else setup
        lines.append(f"  {label:<48} " + " ".join(f"{_us(steps_of[path][setup]):>12}" for path in PATHS))
        if setup == "1 process":
            label = f"1 process, {share_rows} rows a step (a {SHARE_WORKERS}-worker share)"
            lines.append(
                f"  {label:<48} " + " ".join(f"{_us(section['per_step'][path]['share_step_s']):>12}" for path in PATHS)
            )
    lines.append(
        f"pushpull of the gradient ({load.d} + 1 float32 under 2 keys, one call), median of {section['pushpulls']} "
        "in each worker, the slowest worker's:"
    )
    for count, seconds in section["pushpull_s"].items():
        shares = ", ".join(
            f"{section['per_step'][path]['pushpull_share_of_step'][count]:.0%} ({path})" for path in PATHS
        )
        above = ", ".join(
            f"{section['per_step'][path]['job_overhead_s'][count] * 1e6:+,.1f} us ({path})" for path in PATHS
        )
        lines.append(f"  {count}-worker job: {_us(seconds)} = {shares} of the job's step;")
        lines.append(f"    its step - one process's: {above}")
    return "\n".join(lines)


def scaleout_notes(section: dict[str, Any], cpu_count: int | None) -> list[str]:
    """What the scale-out numbers mean on this machine and on hosts of their own, computed from them."""
    load, per_step = Workload(**section["workload"]), section["per_step"]
    batch, share_rows, workers = load.batch_size, load.batch_size // SHARE_WORKERS, SHARE_WORKERS
    notes = []
    others = section["others_cpu_share"]
    if others is not None and others > BUSY_SHARE:
        notes.append(
            f"the machine was busy with other work: other programs took {others:.0%} of its CPU time during the "
            "section; processes then wait for time slices, and a job's several processes may get more of them "
            "than one process does: rerun on a quiet machine before reading much into these numbers"
        )
    notes += [
        f"this machine has {cpu_count} cores, shared by a job's scheduler, server and workers (and each process's "
        "MXNet threads): "
        + (
            f"a {workers}-worker job splits each batch between processes that compete for the same cores and adds "
            "a pushpull to every step, so it cannot be faster than one process here; neither can 2 CPU contexts, "
            "two copies of the model on the same cores"
            if cpu_count is not None and cpu_count <= workers
            else "compare the rows with that in mind"
        )
    ]
    if workers not in section["pushpull_s"]:
        return notes
    pushpull = section["pushpull_s"][workers]
    projected = "; ".join(
        f"{path} {_us(per_step[path]['share_step_s'])} + {_us(pushpull)} = {_us(per_step[path]['projected_step_s'])}, "
        f"{per_step[path]['projected_vs_one_process']:.2f}x one process's {_us(per_step[path]['setups']['1 process'])}"
        for path in PATHS
    )
    notes.append(
        f"on {workers} hosts, each worker with cores of its own like these, a step would take about a "
        f"{share_rows}-row step plus the pushpull (measured on loopback; a network adds its round trip): {projected}"
    )
    if 1 in section["pushpull_s"]:
        rest = ", ".join(f"{per_step[path]['job_overhead_s'][1] * 1e6:+,.1f} us ({path})" for path in PATHS)
        notes.append(
            f"that counts the pushpull alone: the 1-worker job's step minus one process's was {rest}, its "
            f"pushpull {_us(section['pushpull_s'][1])}; what a dist_sync step costs beyond it (here with the server "
            "and the scheduler on the same cores) is not in the estimate, a lower bound of the step"
        )
    lines = []
    for path in PATHS:
        numbers = per_step[path]
        if numbers["break_even_batch"] is None:
            lines.append(
                f"{path}: {_us(numbers['per_row_s'] * (batch - share_rows))} for the {batch - share_rows} rows more "
                f"and {_us(numbers['fixed_s'])} fixed, which is noise, not a split: rerun on a quieter machine"
            )
            continue
        big = 10 * batch
        one = numbers["fixed_s"] + big * numbers["per_row_s"]
        many = numbers["fixed_s"] + big / workers * numbers["per_row_s"] + pushpull
        lines.append(
            f"{path}: {numbers['per_row_s'] * 1e6:.3f} us a row and {_us(numbers['fixed_s'])} fixed a step, which "
            f"every worker pays; {workers} workers save {_us(numbers['per_row_s'] * (batch - share_rows))} a step "
            f"and pay {_us(pushpull)} for the pushpull: by that line they pay off above a global batch of about "
            f"{numbers['break_even_batch']:,.0f} rows and reach {one / many:.2f}x one process at a batch of {big:,}"
        )
    notes.append(
        f"the line through the {batch}- and {share_rows}-row steps splits a step into a cost per row and a fixed "
        "cost (MXNet's operator calls, the update): " + "; ".join(lines)
    )
    return notes


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small scale workload and fewer repeats (<1 minute)")
    parser.add_argument("--json", action="store_true", help="print only a JSON document")
    parser.add_argument(
        "--repeats", type=int, help="timed runs per implementation (default 5 article, 3 scale, 5 scale-out)"
    )
    sections = parser.add_mutually_exclusive_group()
    sections.add_argument("--no-scaleout", action="store_true", help="skip the scale-out section (dist_sync jobs)")
    sections.add_argument("--scaleout-only", action="store_true", help="run only the scale-out section")
    parser.add_argument("--memory-probe", choices=PATHS, help=argparse.SUPPRESS)
    parser.add_argument("--scaleout-worker", metavar="SPEC", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit status (1 when an implementation is inaccurate)."""
    args = parse_args(argv)
    loads = workloads(args.quick, args.repeats)
    scale = next(load for load in loads if load.name == "scale")
    if args.memory_probe:
        print(json.dumps(memory_probe(args.memory_probe, scale)))
        return 0
    if args.scaleout_worker:
        print(json.dumps(scaleout_worker(json.loads(args.scaleout_worker))))
        return 0
    info = machine_info()
    rows, limits, memory, notes = [], [], [], []
    if args.scaleout_only:
        loads = []
    else:
        impls, notes = implementations()
        for load in loads:
            chosen = {name: impl for name, impl in impls.items() if load.source == "memory" or name in ONDISK_IMPLS}
            load_rows, limit = benchmark(load, chosen)
            rows += load_rows
            limits.append(limit)
        memory = measure_memory(args.quick)
    section = None
    if not args.no_scaleout:
        repeats = args.repeats or (QUICK_SCALEOUT_REPEATS if args.quick else SCALEOUT_REPEATS)
        section = scaleout(dataclasses.replace(scale, repeats=repeats), QUICK_PUSHPULLS if args.quick else PUSHPULLS)
        section["notes"] = scaleout_notes(section, info["cpu_count"])
    if args.json:
        document = {
            "machine": info,
            "workloads": [dataclasses.asdict(load) for load in loads],
            "rows": rows,
            "limits": limits,
            "memory": memory,
            "notes": notes,
            "scaleout": section,
        }
        print(json.dumps(document, indent=2))
    else:
        print(format_report(info, loads, rows, limits, memory, notes, section))
    failed = [f"{row['workload']}/{row['implementation']}" for row in rows if not row["accurate"]]
    for row in section["rows"] if section else []:
        if not row["accurate"]:
            failed.append(f"scaleout/{row['path']} {row['setup']}")
    if failed:
        print(
            f"ACCURACY CHECK FAILED for {', '.join(failed)}: train MSE above {MSE_RTOL:g} x the reference numpy loop's "
            f"+ {MSE_ATOL:g}, or the workers of a dist_sync job returned different parameters",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
