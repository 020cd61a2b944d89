"""The manual path's engine: :class:`ManualLearner` runs :mod:`gluonlr.manual`'s fast forms for :func:`gluonlr.fit`.

The article's pieces and their fast forms are in :mod:`gluonlr.manual`; what
is here is what a production fit adds around them: the parameters copied on
every device and each batch split across them, the gradients summed through
a KVStore (the devices' or a ``dist_sync`` job's), the optimizer's state, and
the training state a checkpoint saves and restores.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np

from gluonlr._mxnet import autograd, mx, nd
from gluonlr.config import FitConfig
from gluonlr.conventions import step_divisor
from gluonlr.data import Source, SparseSource, epoch_data, epoch_order
from gluonlr.data.columns import SparseRows
from gluonlr.distributed import Workers
from gluonlr.learners.columns import BatchColumns
from gluonlr.learners.protocol import Learner
from gluonlr.manual import fast_batches, init_params, make_loss, net, sparse_net
from gluonlr.optimizers import LazySGD
from gluonlr.parallel import GradientSum, check_ctx, gather, split_batch, zero_gradients

__all__ = ["ManualLearner"]


class ManualLearner:
    """The manual path, as :func:`gluonlr.fit` drives it: a :class:`~gluonlr.learners.Learner`.

    Holds the data on the device, the parameters and the optimizer's state,
    and offers what fit needs from a path: the batches of an epoch, one
    training step, the parameters, and the state for checkpoints (and
    predictions on the device; fit's evaluation passes compute theirs on the
    host from the parameters, see :func:`gluonlr.metrics.evaluate`). It runs
    the article's steps with the fast forms of :mod:`gluonlr.manual`:
    :func:`~gluonlr.manual.fast_batches`, and for plain SGD
    :func:`~gluonlr.optimizers.fused_sgd`, :func:`~gluonlr.manual.fast_sgd`'s
    kernel.

    Parameters
    ----------
    X : ndarray or Source of shape (n_samples, n_features), float32
        A :class:`~gluonlr.data.SparseSource` trains on CSR batches with
        :func:`~gluonlr.manual.sparse_net` and lazy SGD steps
        (:class:`~gluonlr.optimizers.LazySGD`).
    y : ndarray or Source of shape (n_samples,) or (n_samples, n_outputs), float32
    config : FitConfig
        The training options.
    weight : ndarray of shape (n_features,) or (n_features, n_outputs)
        Initial weights.
    bias : float or ndarray of shape (n_outputs,)
        Initial bias.
    sample_weight : ndarray of shape (n_samples,), optional
        Per-sample weights of the loss.
    ctx : Context or list of Context, optional
        The devices (see :func:`gluonlr.parallel.check_ctx`); one CPU by
        default. Each device holds a copy ``[w, b]`` of the parameters and
        trains on its share of each batch's rows; the KVStore sums their
        gradients (:class:`gluonlr.parallel.GradientSum`) and every copy
        takes the same step.
    kvstore : str, default="device"
        The KVStore that sums the devices' gradients.
    workers : Workers, optional
        A ``dist_sync`` job's: the learner trains on its worker's share of
        every batch, and the gradients are summed over the job.

    Examples
    --------
    >>> from gluonlr.data import synthetic_data
    >>> learner = ManualLearner(*synthetic_data(), FitConfig(), weight=np.zeros(2), bias=0.0)
    >>> for batch in learner.batches(epoch=0):
    ...     _ = learner.train_step(*batch)
    >>> weight, bias = learner.parameters()
    >>> print(weight.round(2), round(bias, 2))
    [ 1.99 50.96] 21.18

    On two devices, the same to float32 round-off:

    >>> devices = [mx.cpu(0), mx.cpu(1)]
    >>> learner = ManualLearner(*synthetic_data(), FitConfig(), weight=np.zeros(2), bias=0.0, ctx=devices)
    >>> for batch in learner.batches(epoch=0):
    ...     _ = learner.train_step(*batch)
    >>> weight, bias = learner.parameters()
    >>> print(weight.round(2), round(bias, 2))
    [ 1.99 50.96] 21.18
    """

    scaler = None  # raw rows: gluonlr.scaling.Standardized wraps a learner to standardize them

    def __init__(
        self,
        X: np.ndarray | Source,
        y: np.ndarray | Source,
        config: FitConfig,
        *,
        weight: np.ndarray,
        bias: float | np.ndarray,
        sample_weight: np.ndarray | None = None,
        ctx: mx.Context | Sequence[mx.Context] | None = None,
        kvstore: str = "device",
        workers: Workers | None = None,
    ) -> None:
        self.workers = workers  # a dist_sync job's, or None
        self.data = epoch_data(
            X, y, config.batch_size, sample_weight, part=workers.part if workers else None, dtype=config.dtype
        )
        self.ctx = check_ctx(ctx)
        sparse = isinstance(X, SparseSource)  # CSR batches: sparse_net, a row_sparse gradient, lazy steps
        self.net = sparse_net if sparse else net
        self.copies = [init_params(weight, bias, device, config.dtype, sparse) for device in self.ctx]  # [w, b] each
        self.params = self.copies[0]
        # What the steps update: [w, b], or [w] without an intercept (b stays at 0: no gradient, state or decay).
        self.trained = [params if config.fit_intercept else params[:1] for params in self.copies]
        if not config.fit_intercept:
            for _, b in self.copies:
                b.attach_grad(grad_req="null")
        # The gradient buffers' handles, held once: each param.grad makes a new NDArray handle, a measurable share of a
        # small step.
        self.grads = [[param.grad for param in params] for params in self.trained]
        # The gradients summed over the devices ("device" KVStore, if there are several) or over the job's workers
        # and their devices (its store, which also gives every worker rank 0's parameters to start from).
        store = workers.params if workers else kvstore
        self.gradient_sum = GradientSum(self.grads, self.trained, store)
        self.loss = make_loss(config.loss, config.rho, self.data.n_outputs)
        self.optimizer = LazySGD() if sparse else config.make_optimizer()
        self.states = [[self.optimizer.create_state(param) for param in params] for params in self.trained]
        # penalty="l1"/"elasticnet": the truncated gradient after each step, on every device's w (its q beside it)
        self.l1 = config.make_l1_penalty()
        self.l1_states = [self.l1.create_state(w) for w, _ in self.copies] if self.l1 is not None else []
        # average=...: the running mean of the first device's [w, b] after each step (and its L1 truncation)
        self.averager = config.make_averager()
        self.means = [self.averager.create_state(param) for param in self.params] if self.averager else []
        self.config, self.updates = config, 0

    def batches(self, epoch: int) -> Iterable[tuple[nd.NDArray, ...]]:
        """Return the mini-batches ``(x, y)`` or ``(x, y, sample_weight)`` of epoch ``epoch``."""
        return fast_batches(self.data, epoch_order(len(self.data), self.config.seed, epoch, self.config.shuffle))

    def train_step(
        self, x: nd.NDArray | None, y: nd.NDArray | None, sample_weight: nd.NDArray | None = None, rows: int = 0
    ) -> nd.NDArray | None:
        """Run forward and backward on each device's rows, one optimizer step; return the per-sample losses.

        In a ``dist_sync`` job the batch is this worker's :class:`~gluonlr.data.Share`: its rows (None if it
        has none: it returns None) and ``rows``, the size of the whole batch that the step divides by.
        """
        losses = []
        if not rows:  # a whole batch, not a worker's share of one
            assert x is not None
            rows = x.shape[0]
        shares = split_batch(self.ctx, x, y, sample_weight)  # (x, y[, sample_weight]) of each device, or None
        for (w, b), grads, share in zip(self.copies, self.grads, shares, strict=True):
            if share is None:  # no rows for this device in this batch
                zero_gradients(grads)
                continue
            x_share, *rest = share
            local = BatchColumns(w, x_share) if isinstance(x_share, SparseRows) else None
            with autograd.record():  # a sparse batch's step runs on the weights of its columns (local.weight)
                losses.append(self.loss(self.net(*((x_share.x, local.weight) if local else (x_share, w)), b), *rest))
            losses[-1].backward()
            if local is not None:
                local.write_gradient(grads[0])  # into w's row_sparse gradient, which the step below reads
        self.gradient_sum()  # each device's gradient becomes the sum over the devices
        self.updates += 1
        lr = self.config.lr_at(self.updates, self.data.n_batches)
        rescale_grad = 1.0 / step_divisor(self.config.reduction, rows)  # the whole batch's divisor
        for params, grads, states in zip(self.trained, self.grads, self.states, strict=True):
            self.optimizer.update(params, grads, states, lr=lr, rescale_grad=rescale_grad, t=self.updates)
        if self.l1 is not None:
            self.l1.step([w for w, _ in self.copies], self.l1_states, lr=lr)
        if self.averager is not None:
            self.averager.step(self.params, self.means, rows=rows)
        return gather(losses, self.ctx[0]) if losses else None

    def predict(self, x: nd.NDArray) -> nd.NDArray:
        """Return the predictions ``net(x)`` of shape ``(n_samples, n_outputs)``, computed on the first device."""
        return self.net(x.as_in_context(self.ctx[0]), *self._model())

    def set_lr(self, lr: float) -> None:
        """Train at rate ``lr`` from the next step: each step reads the config's rate through its schedule."""
        self.config = replace(self.config, lr=lr)

    def close(self) -> None:
        """Stop reading batches ahead (:meth:`~gluonlr.data.StreamData.close`); :func:`gluonlr.fit` calls it."""
        self.data.close()

    def parameters(self) -> tuple[np.ndarray, float | np.ndarray]:
        """Return the current ``(weight, bias)`` as numpy: ``(n_features,)`` and a float for one output.

        With ``average``, the mean of the steps' parameters (once a step is averaged).
        """
        w, b = self._model()
        if w.shape[1] == 1:
            return w.asnumpy().reshape(-1), float(b.asnumpy()[0])
        return w.asnumpy(), b.asnumpy()

    def trained_parameters(self) -> tuple[np.ndarray, float | np.ndarray]:
        """Return :meth:`parameters`: a learner on raw rows trains the model in the units of ``X``."""
        return self.parameters()

    def _model(self) -> list[nd.NDArray]:
        """Return the model's ``[w, b]`` on the first device: the steps' own, or with ``average`` their mean."""
        return list(self.averager.model(self.params, self.means)) if self.averager else self.params

    def get_state(self) -> dict[str, np.ndarray]:
        """Return a copy of the training state: parameters in Gluon's layout, optimizer state, update count.

        ``"weight"`` ``(n_outputs, n_features)``, ``"bias"`` ``(n_outputs,)``,
        ``"<state>/<param>"`` for each optimizer state array (same layouts) and
        ``"updates"``: the same keys and layouts as the Gluon path's. Without
        an intercept the bias has no optimizer state. With an L1 penalty,
        ``"l1/u"`` (a float64 scalar) and ``"l1/q"`` (the weight's layout). With ``average``,
        ``"average/weight"`` and ``"average/bias"`` (the mean, same layouts), ``"average/seen"`` and
        ``"average/count"`` (:class:`~gluonlr.averaging.Averager`).
        """
        state = {"updates": np.array(self.updates, dtype=np.int64)}
        for name, param, arrays in zip(("weight", "bias"), self.params, self._state_arrays(0), strict=True):
            state[name] = param.asnumpy().T.copy() if name == "weight" else param.asnumpy()
            for state_name, array in zip(self.optimizer.state_names[: len(arrays)], arrays, strict=True):
                state[f"{state_name}/{name}"] = array.asnumpy().T.copy() if name == "weight" else array.asnumpy()
        if self.l1 is not None:
            state["l1/u"] = np.array(self.l1.u, dtype=np.float64)
            state["l1/q"] = self.l1_states[0].asnumpy().T.copy()
        if self.averager is not None:
            state |= self.averager.get_state(self.means, layouts=(True, False))
        return state

    def _state_arrays(self, device: int) -> list[list[nd.NDArray]]:
        """Return the optimizer's state arrays of ``[w, b]`` on device ``device``: none for a bias not trained."""
        states = self.states[device]
        return states if len(states) == 2 else [*states, []]

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Overwrite the training state with one from :meth:`get_state` (of either path); missing keys are kept.

        Every device's copy of the parameters and of the optimizer state is overwritten.
        """
        for device, params in enumerate(self.copies):
            for name, param, arrays in zip(("weight", "bias"), params, self._state_arrays(device), strict=True):
                names = [f"{state_name}/{name}" for state_name in self.optimizer.state_names][: len(arrays)]
                targets = {name: param, **dict(zip(names, arrays, strict=True))}
                for key, target in targets.items():
                    if key in state:
                        value = np.asarray(state[key], dtype=self.config.dtype)
                        target[:] = nd.array(
                            np.ascontiguousarray(value.T if name == "weight" else value), dtype=value.dtype
                        )
        if self.l1 is not None:
            if "l1/u" in state:
                self.l1.u = float(state["l1/u"])
            if "l1/q" in state:
                q = np.ascontiguousarray(np.asarray(state["l1/q"], dtype=self.config.dtype).T)
                for target in self.l1_states:
                    target[:] = nd.array(q, dtype=q.dtype)
        if self.averager is not None:
            self.averager.set_state(state, self.means, layouts=(True, False))
        if "updates" in state:
            self.updates = int(state["updates"])


_: type[Learner] = ManualLearner  # mypy checks here that ManualLearner has every member of the protocol
