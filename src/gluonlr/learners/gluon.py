"""The Gluon path's engine: :class:`GluonLearner` runs :mod:`gluonlr.gluon`'s fast forms for :func:`gluonlr.fit`.

The twin of :mod:`gluonlr.learners.manual`. The article's pieces and their
fast forms are in :mod:`gluonlr.gluon`; what is here is what a production fit
adds around them: the ``Trainer`` with the optimizer and schedule of
:class:`~gluonlr.config.FitConfig`, the layer's parameters copied on every
device and each batch split across them, a ``dist_sync`` job's store, and the
training state a checkpoint saves and restores (the ``Trainer``'s optimizer
state, kept per device).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from gluonlr._mxnet import autograd, gluon, mx, nd
from gluonlr.config import FitConfig
from gluonlr.conventions import step_divisor
from gluonlr.data import Source, SparseSource, epoch_data
from gluonlr.data.columns import SparseRows
from gluonlr.distributed import Workers
from gluonlr.gluon import (
    EpochBatchSampler,
    fast_batches,
    fast_net_with_loss,
    init_params,
    make_loss,
    net,
    set_weight,
    sgd,
    weight_of,
)
from gluonlr.learners.columns import BatchColumns
from gluonlr.learners.protocol import Learner
from gluonlr.parallel import GradientSum, check_ctx, gather, split_batch, zero_gradients

__all__ = ["GluonLearner"]


class GluonLearner:
    """The Gluon path, as :func:`gluonlr.fit` drives it: a :class:`~gluonlr.learners.Learner`.

    Same constructor and methods as :class:`~gluonlr.learners.ManualLearner`.
    It runs the article's steps with the fast forms,
    :func:`~gluonlr.gluon.fast_batches` and
    :func:`~gluonlr.gluon.fast_net_with_loss`, and the ``Trainer`` of
    :func:`~gluonlr.gluon.train`. With several devices ``ctx``, the layer
    holds a copy of its parameters on each, each device trains on its share
    of a batch's rows, and the ``Trainer``'s ``"device"`` KVStore sums their
    gradients before every copy takes the same step.

    Examples
    --------
    >>> from gluonlr.data import synthetic_data
    >>> learner = GluonLearner(*synthetic_data(), FitConfig(), weight=np.zeros(2), bias=0.0)
    >>> for batch in learner.batches(epoch=0):
    ...     _ = learner.train_step(*batch)
    >>> weight, bias = learner.parameters()
    >>> print(weight.round(2), round(bias, 2))
    [ 1.99 50.96] 21.18

    On two devices, the same to float32 round-off:

    >>> devices = [mx.cpu(0), mx.cpu(1)]
    >>> learner = GluonLearner(*synthetic_data(), FitConfig(), weight=np.zeros(2), bias=0.0, ctx=devices)
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
        self.data = data = epoch_data(
            X, y, config.batch_size, sample_weight, part=workers.part if workers else None, dtype=config.dtype
        )
        self.config = config
        self.sampler = EpochBatchSampler(data, config.seed, config.shuffle)
        self.loader = fast_batches(data, self.sampler)
        self.ctx = check_ctx(ctx)
        sparse = isinstance(X, SparseSource)  # CSR batches: a SparseDense layer, lazy "sgd" steps
        self.dense = init_params(weight, bias, self.ctx, config.dtype, sparse)  # a copy on each device
        if not config.fit_intercept:  # the bias stays at 0: no gradient, and the Trainer skips it (no state, no decay)
            self.dense.bias.grad_req = "null"
        self.dense.bias.wd_mult = 0.0  # the penalty leaves the bias alone (scikit-learn's); the weight's is 1
        self.loss = make_loss(config.loss, config.rho)
        # The layer and the loss compiled together to one cached graph: far fewer operator calls per batch.
        self.net_with_loss = fast_net_with_loss(self.dense, self.loss)
        # The same optimizer and schedule as the manual path, MXNet's own: "sgd", "nag" or "adam".
        self.optimizer = config.make_optimizer()
        scheduler = config.lr_schedule.mxnet_scheduler(lr=config.lr, n_batches=data.n_batches, epochs=config.epochs)
        options = {"learning_rate": config.lr, **self.optimizer.mxnet_params()}
        if scheduler is not None:
            options["lr_scheduler"] = scheduler
        # With several devices, step() first sums each parameter's gradients over them through the "device"
        # KVStore, then updates every copy on its device (one device: no KVStore, as before). In a dist_sync job,
        # through the job's store: over the devices, then the workers (update_on_kvstore=False: each worker
        # updates its own copies with the sum, as on one host; updating on the servers fails on a short batch).
        store = workers.params if workers else kvstore
        # CSR batches in a dist_sync job: MXNet's Trainer refuses a row_sparse gradient on a dist store unless the
        # servers update (update_on_kvstore=True, which fails on a short batch), so the job's store sums the
        # gradients as on the manual path (GradientSum, through dense buffers) and the Trainer only updates.
        sparse_job = sparse and workers is not None
        self.trainer = gluon.Trainer(
            self.dense.collect_params(), self.optimizer.mxnet_name, options, kvstore=None if sparse_job else store,
            update_on_kvstore=False,
        )  # fmt: skip
        self.gradient_sum = None
        if sparse_job:
            trained = [self.dense.weight, self.dense.bias] if config.fit_intercept else [self.dense.weight]
            self.gradient_sum = GradientSum(
                [[param.grad(device) for param in trained] for device in self.ctx],
                [[param.data(device) for param in trained] for device in self.ctx],
                store,
            )
        elif workers is not None:
            # The Trainer sets up its store at the first step, and its pull of rank 0's parameters then races the
            # first pushpull of gradients on the same keys: a worker may take the gradient sum for its weights.
            # Set up now, and wait for the pull.
            self.trainer._init_kvstore()
            self.trainer._init_params()
            nd.waitall()
        # penalty="l1"/"elasticnet": the truncated gradient after each trainer.step, on every device's weight
        self.l1 = config.make_l1_penalty()
        self.l1_states = (
            [self.l1.create_state(self.dense.weight.data(device)) for device in self.ctx] if self.l1 else []
        )
        # average=...: the running mean of the first device's weight and bias after each step (and its L1 truncation)
        self.averager = config.make_averager()
        self.means = [self.averager.create_state(param) for param in self._params()] if self.averager else []
        self.sparse = sparse

    def batches(self, epoch: int) -> gluon.data.DataLoader:
        """Return the mini-batches of epoch ``epoch``."""
        self.sampler.set_epoch(epoch)
        return self.loader

    def train_step(
        self, x: nd.NDArray | None, y: nd.NDArray | None, sample_weight: nd.NDArray | None = None, rows: int = 0
    ) -> nd.NDArray | None:
        """Run forward and backward on each device's rows, one ``Trainer`` step; return the per-sample losses.

        In a ``dist_sync`` job the batch is this worker's :class:`~gluonlr.data.Share`, as on the manual path
        (:meth:`gluonlr.learners.ManualLearner.train_step`).
        """
        losses = []
        if not rows:  # a whole batch, not a worker's share of one
            assert x is not None
            rows = x.shape[0]
        shares = split_batch(self.ctx, x, y, sample_weight)  # (x, y[, sample_weight]) of each device, or None
        for device, share in zip(self.ctx, shares, strict=True):
            if share is None:  # no rows for this device in this batch
                params = (self.dense.weight, self.dense.bias) if self.config.fit_intercept else (self.dense.weight,)
                zero_gradients([param.grad(device) for param in params], [param.data(device) for param in params])
                continue
            if isinstance(share[0], SparseRows):  # a sparse batch: the step on the weights of its columns
                losses.append(self._sparse_forward_backward(device, *share))
                continue
            with autograd.record():
                losses.append(self.net_with_loss(*share))  # loss(net(x, dense), y[, sample_weight]), compiled
            losses[-1].backward()
        if self.gradient_sum is not None:  # a sparse job's: summed over the workers here, not by the Trainer
            self.gradient_sum()
        sgd(self.trainer, step_divisor(self.config.reduction, rows))  # the whole batch's divisor
        if self.l1 is not None:  # the rate of the update just taken, by the schedule the Trainer follows
            lr = self.config.lr_at(self.trainer._optimizer.num_update, self.data.n_batches)
            self.l1.step([self.dense.weight.data(device) for device in self.ctx], self.l1_states, lr=lr)
        if self.averager is not None:
            self.averager.step(self._params(), self.means, rows=rows)
        return gather(losses, self.ctx[0]) if losses else None

    def _sparse_forward_backward(
        self, device: mx.Context, x: SparseRows, y: nd.NDArray, sample_weight: nd.NDArray | None = None
    ) -> nd.NDArray:
        """Run ``SparseDense``'s forward and backward on the weights of ``x``'s columns; return the losses.

        The layer's product, on the rows of its weight for the batch's columns (:class:`BatchColumns`); their
        gradient is then written to the weight's ``row_sparse`` gradient, marked fresh for ``Trainer.step``.
        """
        weight = self.dense.weight
        local = BatchColumns(weight.data(device), x)
        with autograd.record():
            losses = self.loss(self.dense.hybrid_forward(nd, x.x, local.weight, self.dense.bias.data(device)), y,
                               sample_weight)  # fmt: skip
        losses.backward()
        local.write_gradient(weight.grad(device))
        weight.data(device)._fresh_grad = True  # written by hand, not by backward: the flag the Trainer checks
        return losses

    def predict(self, x: nd.NDArray) -> nd.NDArray:
        """Return the predictions ``net(x)`` of shape ``(n_samples, n_outputs)``, computed on the first device.

        With ``average``, once a step is averaged: the layer's product with the mean parameters instead.
        """
        x = x.as_in_context(self.ctx[0])
        if not (self.averager and self.averager.count):
            return net(x, self.dense)
        weight, bias = self.means  # in the layer's layout: SparseDense's (n_features, n_outputs), else Dense's
        return nd.broadcast_add(nd.dot(x, weight, transpose_b=not self.sparse), bias.reshape((1, -1)))

    def set_lr(self, lr: float) -> None:
        """Train at rate ``lr`` from the next step: the ``Trainer``'s rate (its optimizer has no scheduler then)."""
        self.config = replace(self.config, lr=lr)
        self.trainer.set_learning_rate(lr)

    def close(self) -> None:
        """Stop the ``DataLoader``'s reading thread, if any; :func:`gluonlr.fit` calls it at the end."""
        pool = getattr(self.loader, "_worker_pool", None)  # DataLoader has no public close; its __del__ does this
        if pool is not None:
            pool.terminate()
            self.loader._worker_pool = None
        self.data.close()

    def _params(self) -> list[nd.NDArray]:
        """Return the layer's weight and bias on the first device (the weight in the layer's own layout)."""
        return [self.dense.weight.data(self.ctx[0]), self.dense.bias.data(self.ctx[0])]

    def parameters(self) -> tuple[np.ndarray, float | np.ndarray]:
        """Return the current ``(weight, bias)`` as numpy: ``(n_features,)`` and a float for one output.

        With ``average``, the mean of the steps' parameters (once a step is averaged).
        """
        if self.averager is not None and self.averager.count:
            mean_weight, mean_bias = self.means
            weight = mean_weight.asnumpy().T.copy() if self.sparse else mean_weight.asnumpy()
            bias = mean_bias.asnumpy()
        else:
            weight, bias = weight_of(self.dense, self.ctx[0]), self.dense.bias.data(self.ctx[0]).asnumpy()
        if weight.shape[0] == 1:
            return weight.reshape(-1), float(bias[0])
        return weight.T.copy(), bias

    def trained_parameters(self) -> tuple[np.ndarray, float | np.ndarray]:
        """Return :meth:`parameters`: a learner on raw rows trains the model in the units of ``X``."""
        return self.parameters()

    def _optimizer_states(self, device: int = 0) -> dict[str, list[nd.NDArray]]:
        """Return the Trainer's state arrays of each parameter on device ``ctx[device]`` (created now if need be)."""
        updater, optimizer = self.trainer._updaters[device], self.trainer._optimizer  # an updater per device
        states: dict[str, list[nd.NDArray]] = {}
        for name, param in (("weight", self.dense.weight), ("bias", self.dense.bias)):
            if param.grad_req == "null":  # a bias not fitted (fit_intercept=False): never updated, no state
                states[name] = []
                continue
            index = self.trainer._param2idx[param.name]  # the Trainer numbers its parameters by sorted name
            if self.optimizer.state_names and index not in updater.states:
                updater.states[index] = optimizer.create_state_multi_precision(index, param.data(self.ctx[device]))
                updater.states_synced[index] = True
            state = updater.states.get(index)
            states[name] = [] if state is None else list(state) if isinstance(state, tuple | list) else [state]
        return states

    def get_state(self) -> dict[str, np.ndarray]:
        """Return a copy of the training state: keys and layouts as :meth:`gluonlr.learners.ManualLearner.get_state`."""
        state = {
            "updates": np.array(self.trainer._optimizer.num_update, dtype=np.int64),
            "weight": weight_of(self.dense, self.ctx[0]),
            "bias": self.dense.bias.data(self.ctx[0]).asnumpy(),
        }
        for name, arrays in self._optimizer_states().items():
            for state_name, array in zip(self.optimizer.state_names[: len(arrays)], arrays, strict=True):
                state[f"{state_name}/{name}"] = array.asnumpy()
        if self.l1 is not None:
            state["l1/u"] = np.array(self.l1.u, dtype=np.float64)
            state["l1/q"] = self.l1_states[0].asnumpy()
        if self.averager is not None:
            state |= self.averager.get_state(self.means, layouts=(self.sparse, False))
        return state

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Overwrite the training state with one from :meth:`get_state` (of either path); missing keys are kept.

        Every device's copy of the parameters and of the optimizer state is overwritten.
        """
        if "weight" in state:
            set_weight(self.dense, np.asarray(state["weight"], self.config.dtype))  # on every device
        if "bias" in state:
            self.dense.bias.set_data(nd.array(np.asarray(state["bias"], self.config.dtype), dtype=self.config.dtype))
        for device in range(len(self.ctx)):
            for name, arrays in self._optimizer_states(device).items():
                for state_name, array in zip(self.optimizer.state_names[: len(arrays)], arrays, strict=True):
                    if f"{state_name}/{name}" in state:
                        array[:] = nd.array(
                            np.asarray(state[f"{state_name}/{name}"], self.config.dtype), dtype=self.config.dtype
                        )
        if self.l1 is not None:
            if "l1/u" in state:
                self.l1.u = float(state["l1/u"])
            if "l1/q" in state:
                q = np.asarray(state["l1/q"], self.config.dtype)
                for target in self.l1_states:
                    target[:] = nd.array(q, dtype=q.dtype)
        if self.averager is not None:
            self.averager.set_state(state, self.means, layouts=(self.sparse, False))
        if "updates" in state:
            optimizer = self.trainer._optimizer
            optimizer.num_update = int(state["updates"])
            for device in self.ctx:  # MXNet's optimizers count the updates of each device (by its number) apart
                optimizer._set_current_context(device.device_id)
                optimizer._index_update_count.update(
                    dict.fromkeys(self.trainer._param2idx.values(), optimizer.num_update)
                )


_: type[Learner] = GluonLearner  # mypy checks here that GluonLearner has every member of the protocol
