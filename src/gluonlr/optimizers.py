r"""The manual path's optimizers: MXNet's update rules, written out by hand.

Each class applies, with plain NDArray arithmetic in place, the formula that
MXNet's optimizer of the same name documents and its kernel computes, so that
the manual path agrees with ``gluon.Trainer(params, name, ...)`` on the Gluon
path to float32 round-off. With :math:`g` the batch's summed gradient times
``rescale_grad`` (1, or 1 / the batch's size), :math:`\eta_u` the learning rate
of update :math:`u` and :math:`\lambda` the weight decay:

:class:`SGD`, Gluon's ``"sgd"``:

.. math:: \theta \leftarrow \theta - \eta_u (g + \lambda\theta)

:class:`SGD` with momentum :math:`\mu`, Gluon's ``"sgd"`` with ``momentum``:

.. math:: m \leftarrow \mu m - \eta_u (g + \lambda\theta), \qquad \theta \leftarrow \theta + m

:class:`NAG`, Gluon's ``"nag"`` (MXNet's kernel, whose last line reads the new :math:`\theta`):

.. math:: m \leftarrow \mu m, \qquad
          \theta \leftarrow \theta - m + (1 + \mu)\,(m - \eta_u (g + \lambda\theta)), \qquad
          m \leftarrow m - \eta_u (g + \lambda\theta)

:class:`Adam`, Gluon's ``"adam"``:

.. math:: g' = g + \lambda\theta, \quad m \leftarrow \beta_1 m + (1-\beta_1) g', \quad
          v \leftarrow \beta_2 v + (1-\beta_2) g'^2, \quad
          \theta \leftarrow \theta - \eta_u \frac{\sqrt{1-\beta_2^u}}{1-\beta_1^u} \frac{m}{\sqrt v + \epsilon}

Weight decay applies to the weights only, never to the bias: the decay is the
L2 penalty of scikit-learn's ``SGDRegressor`` (``fit(penalty="l2",
alpha=...)``, MXNet's ``wd``), which leaves the intercept alone. The Gluon
path sets its ``Dense`` bias's ``wd_mult`` to 0, which ``gluon.Trainer``
honours; the updates here multiply each parameter's decay by its entry of
:attr:`Optimizer.wd_mults` the same way.

The L1 penalty (``penalty="l1"`` or ``"elasticnet"``) is a step of its own
after each SGD update, on both paths: :class:`L1Penalty`, the cumulative
truncated gradient that scikit-learn's SGD applies.

MXNet's update kernels take their scalars (``lr``, ``wd``, ``momentum``,
``rescale_grad``, the betas, ``epsilon``) as float32 parameters, whatever the
arrays' dtype; the updates here round them the same way (:func:`kernel_scalar`),
which changes nothing in float32 (a scalar operator rounds its scalar to the
array's dtype) and keeps a float64 model (``fit(dtype="float64")``) equal to
the Gluon path's to float64 round-off.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from gluonlr._mxnet import nd

__all__ = [
    "NAG",
    "OPTIMIZERS",
    "PENALTIES",
    "SGD",
    "Adam",
    "L1Penalty",
    "LazySGD",
    "Optimizer",
    "fused_sgd",
    "kernel_scalar",
    "lazy_sgd",
]


def kernel_scalar(value: float) -> float:
    """Return ``value`` as MXNet's update kernels take a scalar parameter: rounded to float32.

    Examples
    --------
    >>> kernel_scalar(0.1), kernel_scalar(0.5)
    (0.10000000149011612, 0.5)
    """
    return float(np.float32(value))


def fused_sgd(
    params: list[nd.NDArray],
    grads: list[nd.NDArray],
    *,
    lr: float,
    rescale_grad: float,
    wd: float | Sequence[float],
) -> None:
    r"""Apply :math:`\theta \leftarrow \theta - \eta (r g + \lambda \theta)` to every parameter, in place.

    One call of MXNet's fused ``multi_sgd_update`` for all parameters (the
    kernel ``gluon.Trainer`` runs for plain ``"sgd"``) in place of three
    operators and a copy per parameter. ``wd`` is :math:`\lambda` of every
    parameter, or one for each.

    Examples
    --------
    >>> w, g = nd.array([1.0]), nd.array([2.0])
    >>> fused_sgd([w], [g], lr=0.1, rescale_grad=0.5, wd=0.0)
    >>> print(w.asnumpy())
    [0.9]
    """
    weights_and_grads = [array for pair in zip(params, grads, strict=True) for array in pair]
    nd.multi_sgd_update(
        *weights_and_grads,
        out=params,
        lrs=(lr,) * len(params),
        wds=(wd,) * len(params) if isinstance(wd, int | float) else tuple(wd),
        rescale_grad=rescale_grad,
        num_weights=len(params),
    )


def lazy_sgd(params: list[nd.NDArray], grads: list[nd.NDArray], *, lr: float, rescale_grad: float) -> None:
    r"""Apply :math:`\theta_j \leftarrow \theta_j - \eta\, r g_j` to the rows :math:`j` each gradient holds, in place.

    MXNet's ``sgd_update`` with ``lazy_update=True``: a ``row_sparse``
    gradient (a sparse ``X``'s weight's) updates only the rows it stores,
    the features of the batch; the other rows' gradient is 0, so plain SGD
    leaves them as a dense update would. A dense gradient (the bias's)
    updates every row.

    Examples
    --------
    >>> w = nd.array([[1.0], [1.0], [1.0]])
    >>> g = nd.sparse.row_sparse_array((nd.array([[2.0]]), nd.array([1])), shape=(3, 1))
    >>> lazy_sgd([w], [g], lr=0.1, rescale_grad=0.5)
    >>> w.asnumpy().ravel().tolist()
    [1.0, 0.8999999761581421, 1.0]
    """
    for param, grad in zip(params, grads, strict=True):
        nd.sgd_update(param, grad, lr=lr, rescale_grad=rescale_grad, wd=0.0, lazy_update=True, out=param)


class Optimizer:
    r"""Base class: per-parameter state and an in-place update of all parameters.

    Parameters
    ----------
    wd : float, default=0.0
        Weight decay :math:`\lambda`, MXNet's ``wd``.

    Examples
    --------
    >>> [(opt.mxnet_name, opt.state_names) for opt in (SGD(), SGD(momentum=0.9), NAG(momentum=0.9), Adam())]
    [('sgd', ()), ('sgd', ('mom',)), ('nag', ('mom',)), ('adam', ('mean', 'var'))]
    """

    #: The MXNet optimizer the Gluon path uses for this one.
    mxnet_name = ""
    #: Names of the state arrays of each parameter, e.g. ``("mom",)``.
    state_names: tuple[str, ...] = ()
    #: The decay's multiplier of each parameter :meth:`update` takes, ``[w]`` or ``[w, b]``: Gluon's ``wd_mult``.
    #: The bias's is 0: the L2 penalty leaves the intercept alone, as scikit-learn's.
    wd_mults: tuple[float, ...] = (1.0, 0.0)

    def __init__(self, *, wd: float = 0.0) -> None:
        self.wd = wd

    def wds(self, n_params: int) -> list[float]:
        """Return the weight decay of each of ``n_params`` parameters (``[w]`` or ``[w, b]``): ``wd * wd_mult``.

        Examples
        --------
        >>> SGD(wd=0.5).wds(2), SGD(wd=0.5).wds(1)
        ([0.5, 0.0], [0.5])
        """
        return [self.wd * mult for mult in self.wd_mults[:n_params]]

    def mxnet_params(self) -> dict[str, Any]:
        """Return the ``optimizer_params`` of the matching ``gluon.Trainer`` (without the learning rate)."""
        return {"wd": self.wd}

    def create_state(self, param: nd.NDArray) -> list[nd.NDArray]:
        """Return the zero-initialised state arrays of ``param``, one per :attr:`state_names`."""
        return [nd.zeros_like(param) for _ in self.state_names]

    def update(
        self,
        params: list[nd.NDArray],
        grads: list[nd.NDArray],
        states: list[list[nd.NDArray]],
        *,
        lr: float,
        rescale_grad: float,
        t: int,
    ) -> None:
        """Update ``params``, ``[w]`` or ``[w, b]``, in place from ``grads``; ``t`` counts updates from 1."""
        raise NotImplementedError


class SGD(Optimizer):
    r"""Stochastic gradient descent, with optional momentum: MXNet's ``sgd``.

    Without momentum this is the article's step (with weight decay), fused;
    with momentum :math:`\mu` it keeps a velocity ``mom`` per parameter, as
    MXNet's ``sgd_mom_update`` does.

    Examples
    --------
    >>> w, g = nd.array([1.0]), nd.array([1.0])
    >>> opt = SGD(momentum=0.9)
    >>> state = [opt.create_state(w)]
    >>> for t in (1, 2):
    ...     opt.update([w], [g], state, lr=0.1, rescale_grad=1.0, t=t)
    >>> print(w.asnumpy().round(4), state[0][0].asnumpy().round(4))
    [0.71] [-0.19]
    """

    mxnet_name = "sgd"

    def __init__(self, *, momentum: float = 0.0, wd: float = 0.0) -> None:
        super().__init__(wd=wd)
        self.momentum = momentum
        self.state_names = ("mom",) if momentum > 0 else ()

    def mxnet_params(self) -> dict[str, Any]:
        """Return ``{"wd": ..., "momentum": ...}``."""
        return {**super().mxnet_params(), "momentum": self.momentum}

    def update(
        self,
        params: list[nd.NDArray],
        grads: list[nd.NDArray],
        states: list[list[nd.NDArray]],
        *,
        lr: float,
        rescale_grad: float,
        t: int,
    ) -> None:
        """Update every parameter: all at once with :func:`fused_sgd` without momentum, else one by one."""
        if not self.state_names:
            fused_sgd(params, grads, lr=lr, rescale_grad=rescale_grad, wd=self.wds(len(params)))
            return
        for param, grad, (mom,), wd in zip(params, grads, states, self.wds(len(params)), strict=True):
            self.momentum_step(param, kernel_scalar(rescale_grad) * grad, mom, kernel_scalar(lr), wd)

    def momentum_step(self, param: nd.NDArray, g: nd.NDArray, mom: nd.NDArray, lr: float, wd: float) -> None:
        """``mom = momentum * mom - lr * (g + wd * param); param += mom``, in place."""
        momentum, wd = kernel_scalar(self.momentum), kernel_scalar(wd)
        mom[:] = momentum * mom - lr * (g + wd * param)
        param[:] = param + mom


class LazySGD(SGD):
    """Plain SGD on a ``row_sparse`` gradient: :func:`lazy_sgd`, the manual path's optimizer for a sparse ``X``.

    The same step as :class:`SGD` without momentum or weight decay, which
    would change every weight at every step (a sparse ``X`` refuses them).

    Examples
    --------
    >>> w, g = nd.array([1.0]), nd.array([1.0])
    >>> LazySGD().update([w], [g], [[]], lr=0.1, rescale_grad=1.0, t=1)
    >>> print(w.asnumpy())
    [0.9]
    """

    def update(
        self,
        params: list[nd.NDArray],
        grads: list[nd.NDArray],
        states: list[list[nd.NDArray]],
        *,
        lr: float,
        rescale_grad: float,
        t: int,
    ) -> None:
        """Update every parameter with :func:`lazy_sgd`."""
        lazy_sgd(params, grads, lr=lr, rescale_grad=rescale_grad)


class NAG(SGD):
    """Nesterov accelerated gradient: MXNet's ``nag`` (``fit(nesterov=True)``).

    Written from MXNet's ``nag_mom_update`` kernel, which keeps the velocity
    scaled by the learning rate, rather than from the ``NAG`` class's
    docstring (``mom = momentum * mom + g + wd * w; w -= lr * (g + momentum *
    mom)``): the two differ once there is weight decay or the rate changes.

    Examples
    --------
    >>> w, g = nd.array([1.0]), nd.array([1.0])
    >>> opt = NAG(momentum=0.9)
    >>> state = [opt.create_state(w)]
    >>> opt.update([w], [g], state, lr=0.1, rescale_grad=1.0, t=1)
    >>> print(w.asnumpy().round(4), state[0][0].asnumpy().round(4))
    [0.81] [-0.1]
    """

    mxnet_name = "nag"

    def momentum_step(self, param: nd.NDArray, g: nd.NDArray, mom: nd.NDArray, lr: float, wd: float) -> None:
        """MXNet's ``nag_mom_update`` kernel, line by line, in place."""
        momentum, wd = kernel_scalar(self.momentum), kernel_scalar(wd)
        mom[:] = momentum * mom
        param[:] = param - mom + (momentum + 1) * (mom - lr * (g + wd * param))
        # MXNet's NAG updates the weight in place (out=weight), so its kernel's last
        # line reads the weight it has just written: so does this one.
        mom[:] = mom - lr * (g + wd * param)


class Adam(Optimizer):
    r"""Adam: MXNet's ``adam``, bias correction folded into the learning rate as MXNet does.

    Parameters
    ----------
    beta1, beta2 : float, default=0.9, 0.999
        Decay rates of the moment estimates.
    epsilon : float, default=1e-8
        Added to :math:`\sqrt v`.
    wd : float, default=0.0
        Weight decay, added to the gradient.

    Examples
    --------
    >>> w, g = nd.array([1.0]), nd.array([4.0])
    >>> opt = Adam()
    >>> state = [opt.create_state(w)]
    >>> opt.update([w], [g], state, lr=0.1, rescale_grad=1.0, t=1)
    >>> print(w.asnumpy().round(4))  # the first step of Adam is lr * sign(g)
    [0.9]
    """

    mxnet_name = "adam"
    state_names = ("mean", "var")

    def __init__(self, *, beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8, wd: float = 0.0) -> None:
        super().__init__(wd=wd)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon

    def mxnet_params(self) -> dict[str, Any]:
        """Return ``{"wd": ..., "beta1": ..., "beta2": ..., "epsilon": ...}``."""
        return {**super().mxnet_params(), "beta1": self.beta1, "beta2": self.beta2, "epsilon": self.epsilon}

    def update(
        self,
        params: list[nd.NDArray],
        grads: list[nd.NDArray],
        states: list[list[nd.NDArray]],
        *,
        lr: float,
        rescale_grad: float,
        t: int,
    ) -> None:
        """One Adam step of every parameter, the ``t``-th."""
        # MXNet's Adam folds the bias correction into the rate in Python (double), which its kernel takes as float32
        lr_t = kernel_scalar(lr * math.sqrt(1.0 - self.beta2**t) / (1.0 - self.beta1**t))
        # MXNet's kernel takes the betas as float32: 1 - beta2 then differs from the
        # double's by ~1e-5 relative, which the moments would otherwise accumulate.
        beta1, beta2 = kernel_scalar(self.beta1), kernel_scalar(self.beta2)
        epsilon, rescale = kernel_scalar(self.epsilon), kernel_scalar(rescale_grad)
        for param, grad, (mean, var), wd in zip(params, grads, states, self.wds(len(params)), strict=True):
            g = rescale * grad + kernel_scalar(wd) * param
            mean[:] = beta1 * mean + (1.0 - beta1) * g
            var[:] = beta2 * var + (1.0 - beta2) * nd.square(g)
            param[:] = param - lr_t * mean / (nd.sqrt(var) + epsilon)


class L1Penalty:
    r"""scikit-learn's L1 penalty of SGD: the cumulative truncated gradient (Tsuruoka, Tsujii and Ananiadou, 2009).

    A step of its own after each SGD update (:meth:`step`), the same on both
    paths: the manual path's learner applies it to its ``w`` after the
    optimizer's update, the Gluon path's to the ``Dense`` weight after
    ``trainer.step``, on every device. With :math:`\eta` the update's rate,
    :math:`\alpha` the penalty's strength and :math:`\rho` its L1 share
    (``l1_ratio``, 1 for ``penalty="l1"``), ``u`` is the L1 penalty a weight
    could have received so far and each weight's ``q`` the penalty it has
    received (signed); the weight moves towards 0 by what it has still to
    receive, and stops at 0:

    .. math:: u \leftarrow u + \rho\,\eta\,\alpha, \qquad
              w' = \begin{cases} \max(0,\ w - (u + q)) & w > 0 \\ \min(0,\ w + (u - q)) & w < 0 \\
              0 & w = 0 \end{cases}, \qquad q \leftarrow q + (w' - w)

    as ``l1penalty`` in scikit-learn's ``sklearn/linear_model/_sgd_fast.pyx.tp`` computes it (there in units of
    its ``wscale``, 1 without an L2 part), so weights reach exactly 0 and stay there until a gradient moves them
    further than the penalty. The three cases are one expression here, :math:`w' = w - s \min(|w|,\ u + s q)`
    with :math:`s = \operatorname{sign}(w)`: the same values to the bit (:math:`w - w` is +0, as
    scikit-learn's ``max(0, ...)``), in fewer MXNet operators. ``u`` is a Python float (double), ``q`` an
    array of the weight's shape and dtype on its device; the bias is never penalized.

    Parameters
    ----------
    alpha : float
        The penalty's strength, scikit-learn's ``alpha``.
    l1_ratio : float
        Its L1 share: 1 for ``"l1"``, ``l1_ratio`` for ``"elasticnet"``.

    Examples
    --------
    Two weights, one step of rate 0.5 with :math:`\alpha = 0.5`: each may move by 0.25 towards 0, the smaller
    stops at 0 and has received only 0.125:

    >>> w = nd.array([[1.0], [-0.125]])
    >>> penalty = L1Penalty(alpha=0.5, l1_ratio=1.0)
    >>> q = penalty.create_state(w)
    >>> penalty.step([w], [q], lr=0.5)
    >>> w.asnumpy().ravel().tolist(), q.asnumpy().ravel().tolist(), penalty.u
    ([0.75, 0.0], [-0.25, 0.125], 0.25)
    """

    def __init__(self, *, alpha: float, l1_ratio: float) -> None:
        self.alpha, self.l1_ratio = alpha, l1_ratio
        self.u = 0.0

    def create_state(self, weight: nd.NDArray) -> nd.NDArray:
        """Return ``q`` of ``weight``: zeros of its shape, dtype and device."""
        return nd.zeros_like(weight)

    def step(self, weights: Sequence[nd.NDArray], qs: Sequence[nd.NDArray], *, lr: float) -> None:
        """Add this update's penalty to ``u``, then truncate each copy of the weight (one a device) in place."""
        self.u += self.l1_ratio * lr * self.alpha  # scikit-learn's order of the product
        for weight, q in zip(weights, qs, strict=True):
            sign = nd.sign(weight)  # 0 for a weight at 0, which stays there
            truncated = weight - sign * nd.minimum(nd.abs(weight), self.u + sign * q)
            q += truncated - weight
            weight[:] = truncated


#: The optimizer names :func:`gluonlr.fit` accepts.
OPTIMIZERS = ("sgd", "adam")

#: The penalties :func:`gluonlr.fit` accepts besides None: scikit-learn's ``SGDRegressor``'s.
PENALTIES = ("l2", "l1", "elasticnet")
