"""Reference solutions of the exercises on the documentation's "Exercises" page (docs/exercises.rst).

Each passes its checker in :mod:`gluonlr.testing.exercises`; tests/test_exercises.py runs them, and runs
deliberately wrong versions to pin the checkers' messages. Try the exercises before you read these.
"""

from __future__ import annotations

import math

import numpy as np

import gluonlr  # before MXNet: it makes MXNet 1.9.1 importable on numpy >= 1.24

from mxnet import nd  # isort: skip (after gluonlr)


def data_iter(batch_size, features, labels, *, seed, epoch):
    """Yield the epoch's mini-batches ``(x, y)``, shuffled by ``epoch_order``, the last one short if need be."""
    order = gluonlr.epoch_order(len(features), seed, epoch)
    for i in range(0, len(features), batch_size):
        j = nd.array(order[i : i + batch_size])  # the slice stops at the end: a short last batch
        yield nd.take(features, j), nd.take(labels, j)


def squared_loss(yhat, y):
    """Return the article's per-sample loss, ``(yhat - y) ** 2``, with ``y`` shaped as ``yhat``."""
    return (yhat - y.reshape(yhat.shape)) ** 2


def sgd_momentum(params, grads, velocities, *, lr, momentum):
    """Take one step of SGD with momentum, in place: ``v = momentum * v - lr * g``, then ``p += v``."""
    for param, grad, velocity in zip(params, grads, velocities, strict=True):
        velocity[:] = momentum * velocity - lr * grad
        param += velocity


def huber_grad(r, rho):
    """Return the derivative of ``HuberLoss(rho)`` in the residual: ``r / rho`` inside, ``sign(r)`` beyond rho."""
    return np.where(np.abs(r) > rho, np.sign(r), r / rho)


def cosine(u, *, lr, n_batches, epochs, final_lr=0.0):
    """Return the rate of update ``u`` (from 1) of MXNet's ``CosineScheduler`` over the run's updates."""
    max_update = n_batches * epochs
    return final_lr + (lr - final_lr) * (1 + math.cos(math.pi * min(u, max_update) / max_update)) / 2
