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

Weight decay applies to the bias too, as ``gluon.Trainer`` applies it to every
parameter whose ``wd_mult`` is 1 (a ``Dense`` layer's bias included).

MXNet's update kernels take their scalars (``lr``, ``wd``, ``momentum``,
``rescale_grad``, the betas, ``epsilon``) as float32 parameters, whatever the
arrays' dtype; the updates here round them the same way (:func:`kernel_scalar`),
which changes nothing in float32 (a scalar operator rounds its scalar to the
array's dtype) and keeps a float64 model (``fit(dtype="float64")``) equal to
the Gluon path's to float64 round-off.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gluonlr._mxnet import nd

__all__ = ["NAG", "OPTIMIZERS", "SGD", "Adam", "LazySGD", "Optimizer", "fused_sgd", "kernel_scalar", "lazy_sgd"]


def kernel_scalar(value: float) -> float:
    """Return ``value`` as MXNet's update kernels take a scalar parameter: rounded to float32.

    Examples
    --------
    >>> kernel_scalar(0.1), kernel_scalar(0.5)
    (0.10000000149011612, 0.5)
    """
    return float(np.float32(value))


def fused_sgd(params: list[nd.NDArray], grads: list[nd.NDArray], *, lr: float, rescale_grad: float, wd: float) -> None:
    r"""Apply :math:`\theta \leftarrow \theta - \eta (r g + \lambda \theta)` to every parameter, in place.

    One call of MXNet's fused ``multi_sgd_update`` for all parameters (the
    kernel ``gluon.Trainer`` runs for plain ``"sgd"``) in place of three
    operators and a copy per parameter.

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
        wds=(wd,) * len(params),
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

    def __init__(self, *, wd: float = 0.0) -> None:
        self.wd = wd

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
        """Update ``params`` in place from ``grads``; ``t`` counts updates from 1."""
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
            fused_sgd(params, grads, lr=lr, rescale_grad=rescale_grad, wd=self.wd)
            return
        for param, grad, (mom,) in zip(params, grads, states, strict=True):
            self.momentum_step(param, kernel_scalar(rescale_grad) * grad, mom, kernel_scalar(lr))

    def momentum_step(self, param: nd.NDArray, g: nd.NDArray, mom: nd.NDArray, lr: float) -> None:
        """``mom = momentum * mom - lr * (g + wd * param); param += mom``, in place."""
        momentum, wd = kernel_scalar(self.momentum), kernel_scalar(self.wd)
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

    def momentum_step(self, param: nd.NDArray, g: nd.NDArray, mom: nd.NDArray, lr: float) -> None:
        """MXNet's ``nag_mom_update`` kernel, line by line, in place."""
        momentum, wd = kernel_scalar(self.momentum), kernel_scalar(self.wd)
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
        wd, epsilon, rescale = kernel_scalar(self.wd), kernel_scalar(self.epsilon), kernel_scalar(rescale_grad)
        for param, grad, (mean, var) in zip(params, grads, states, strict=True):
            g = rescale * grad + wd * param
            mean[:] = beta1 * mean + (1.0 - beta1) * g
            var[:] = beta2 * var + (1.0 - beta2) * nd.square(g)
            param[:] = param - lr_t * mean / (nd.sqrt(var) + epsilon)


#: The optimizer names :func:`gluonlr.fit` accepts.
OPTIMIZERS = ("sgd", "adam")
