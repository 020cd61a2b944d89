"""Import MXNet 1.9.1 on any numpy and SciPy this package supports.

MXNet 1.9.1 (the last release) refers to numpy aliases that numpy 1.24 removed
(``np.bool``, ``np.int``, ...; apache/mxnet#21165) and, while importing, touches
deprecated numpy functions and ``distutils``, which warns. This module is the one
place gluonlr imports MXNet: it restores only the aliases that are missing, then
imports MXNet with those import-time warnings silenced, so ``import gluonlr``
prints nothing. Every other module does ``from gluonlr._mxnet import mx, nd, ...``.

Where SciPy is installed, MXNet's ``nd.array`` checks every input against
``scipy.sparse.csr.csr_matrix``: a namespace SciPy deprecated in 1.8 (each
``nd.array`` call warns, an error under ``-W error``) and removes in 2.0 (each
call would raise ``AttributeError``). After the import, :func:`hide_scipy_csr_namespace`
gives MXNet's modules a stand-in for ``scipy.sparse`` whose ``csr.csr_matrix`` is
``scipy.sparse.csr_matrix``, the same class, so MXNet never touches the
deprecated namespace and still recognises a SciPy CSR matrix.

MXNet's legacy ``mxnet.model`` imports scikit-learn, if installed, for the base
class of its ``FeedForward`` (which gluonlr never uses); scikit-learn in turn
imports pandas: 1.7 seconds on every ``import gluonlr``. Unless the program has
imported scikit-learn already, MXNet is imported with scikit-learn hidden
(:func:`hidden_modules`), as if it were not installed; :mod:`gluonlr.sklearn`
imports it when asked.

numpy 2 removed more names that MXNet 1.9.1 binds while importing: constants
(``np.PZERO``, ``np.NaN``, ...), deprecated functions (``np.in1d``, ``np.sometrue``,
...), the financial functions numpy 1.20 had already replaced by stand-ins that
raise, and ``np.compat``. On numpy 2, :func:`restore_numpy2_removals` sets back
each that is missing, as numpy 1.26 had it: the list, read from MXNet's Python
sources, is :data:`NUMPY2_REMOVALS`. On numpy 1.x nothing is set.
"""

from __future__ import annotations

import builtins
import contextlib
import sys
import types
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

#: The aliases numpy 1.24 removed and MXNet 1.9.1 still uses.
_REMOVED_ALIASES = ("bool", "int", "float", "complex", "object", "str")


def restore_numpy_aliases(module: types.ModuleType = np) -> list[str]:
    """Set each removed alias (``np.bool`` = ``bool``, ...) that ``module`` lacks; return their names.

    Aliases the module still defines are left alone. The check reads the
    module's ``__dict__`` rather than ``hasattr``, which on numpy < 1.24 would
    itself warn about the deprecated alias.
    """
    missing = [name for name in _REMOVED_ALIASES if name not in vars(module)]
    for name in missing:
        setattr(module, name, getattr(builtins, name))
    return missing


def _expired_financial(name: str) -> Callable[..., Any]:
    """Return numpy 1.26's ``np.<name>`` for a financial function removed in 1.20: it raises, as numpy's did."""
    message = (
        f"In accordance with NEP 32, the function {name} was removed from NumPy version 1.20.  A replacement for "
        "this function is available in the numpy_financial library: https://pypi.org/project/numpy-financial"
    )

    def expired(*args: object, **kwargs: object) -> Any:
        raise RuntimeError(message)

    expired.__name__ = expired.__qualname__ = name
    return expired


def _deprecated_alias(name: str, module: types.ModuleType, target: str, message: str) -> Callable[..., Any]:
    """Return numpy 1.26's ``np.<name>``: it warns ``DeprecationWarning(message)``, then calls ``module.<target>``."""

    def alias(*args: Any, **kwargs: Any) -> Any:
        warnings.warn(message, DeprecationWarning, stacklevel=2)
        return getattr(module, target)(*args, **kwargs)

    alias.__name__ = alias.__qualname__ = name
    alias.__doc__ = f"numpy 1.26's deprecated ``{name}`` (removed in numpy 2), restored for MXNet 1.9.1: {message}"
    return alias


def _numpy126_functions(module: types.ModuleType) -> dict[str, Callable[..., Any]]:
    """Return the functions of :data:`NUMPY2_REMOVALS`, each as numpy 1.26 had it, over ``module``'s own."""

    def removed(name: str) -> str:
        return f"`{name}` is deprecated as of NumPy 1.25.0, and will be removed in NumPy 2.0. "

    def in1d(ar1: Any, ar2: Any, assume_unique: bool = False, invert: bool = False, *, kind: str | None = None) -> Any:
        """Test each element of ``ar1``, flattened, for membership in ``ar2``: numpy 1.26's ``in1d``."""
        extra = {} if kind is None else {"kind": kind}  # numpy before 1.24 has no kind: the default asks for none
        return module.isin(ar1, ar2, assume_unique=assume_unique, invert=invert, **extra).ravel()

    def msort(a: Any) -> Any:
        """Return a copy of ``a`` sorted along its first axis, warning as numpy 1.26's ``msort`` did."""
        warnings.warn("msort is deprecated, use np.sort(a, axis=0) instead", DeprecationWarning, stacklevel=2)
        b = module.array(a, subok=True, copy=True)
        b.sort(0)
        return b

    def trapz(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> Any:
        """Integrate along ``axis`` by the trapezoidal rule: numpy 1.26's ``trapz`` is numpy 2's ``trapezoid``."""
        integrate = module.trapezoid if hasattr(module, "trapezoid") else module.trapz  # numpy < 2.0: trapz
        return integrate(y, x=x, dx=dx, axis=axis)

    return {
        "alltrue": _deprecated_alias("alltrue", module, "all", removed("alltrue") + "Please use `all` instead."),
        "sometrue": _deprecated_alias("sometrue", module, "any", removed("sometrue") + "Please use `any` instead."),
        "product": _deprecated_alias("product", module, "prod", removed("product") + "Please use `prod` instead."),
        "round_": _deprecated_alias("round_", module, "round", removed("round_") + "Please use `round` instead."),
        "in1d": in1d,
        "msort": msort,
        "trapz": trapz,
        **{name: _expired_financial(name) for name in ("mirr", "npv", "pmt", "ppmt", "pv", "rate")},
    }


def _numpy126_compat() -> types.ModuleType:
    """Return numpy 1.26's ``np.compat`` as far as MXNet reads it (``basestring``, in ``mx.np.pad``)."""
    compat = types.ModuleType("numpy.compat", "numpy 1.26's numpy.compat, the one name MXNet 1.9.1 reads of it.")
    compat.basestring = str  # type: ignore[attr-defined]

    def __getattr__(name: str) -> object:
        raise AttributeError(
            f"numpy.compat.{name}: numpy 2 removed numpy.compat; gluonlr restores only numpy.compat.basestring "
            "(= str), the one name MXNet 1.9.1 reads"
        )

    compat.__getattr__ = __getattr__  # type: ignore[method-assign]
    return compat


#: What numpy 2 removed of what MXNet 1.9.1 reads, found by reading MXNet's Python sources (every ``np.`` /
#: ``onp.`` / ``_np.`` name they bind or call, and the names ``numpy_dispatch_protocol`` looks up with ``getattr``)
#: and checked against numpy 2: where MXNet reads each, and what numpy 1.26 had. MXNet binds all of them while
#: importing; gluonlr calls none of them (its paths use ``nd``, ``autograd`` and ``gluon``, not ``mx.np``).
NUMPY2_REMOVALS: dict[str, str] = {
    "PZERO": "mxnet/numpy/utils.py: mx.np.PZERO = 0.0",
    "NZERO": "mxnet/numpy/utils.py: mx.np.NZERO = -0.0",
    "PINF": "mxnet/numpy/utils.py: mx.np.PINF = inf",
    "NINF": "mxnet/numpy/utils.py: mx.np.NINF = -inf",
    "NAN": "mxnet/numpy/utils.py: mx.np.NAN = nan",
    "NaN": "mxnet/numpy/utils.py: mx.np.NaN = nan",
    "Inf": "mxnet/gluon/contrib/estimator/event_handler.py: a default priority and best value, inf",
    "alltrue": "mxnet/numpy/fallback.py: mx.np.alltrue; deprecated alias of all",
    "in1d": "mxnet/numpy/fallback.py: mx.np.in1d; isin, flattened",
    "msort": "mxnet/numpy/fallback.py: mx.np.msort; deprecated, sort(a, axis=0)",
    "trapz": "mxnet/numpy/fallback.py: mx.np.trapz; trapezoid",
    "mirr": "mxnet/numpy/fallback.py: mx.np.mirr; raises RuntimeError (removed in numpy 1.20)",
    "npv": "mxnet/numpy/fallback.py: mx.np.npv; raises RuntimeError (removed in numpy 1.20)",
    "pmt": "mxnet/numpy/fallback.py: mx.np.pmt; raises RuntimeError (removed in numpy 1.20)",
    "ppmt": "mxnet/numpy/fallback.py: mx.np.ppmt; raises RuntimeError (removed in numpy 1.20)",
    "pv": "mxnet/numpy/fallback.py: mx.np.pv; raises RuntimeError (removed in numpy 1.20)",
    "rate": "mxnet/numpy/fallback.py: mx.np.rate; raises RuntimeError (removed in numpy 1.20)",
    "sometrue": "mxnet/numpy_dispatch_protocol.py: __array_function__ key; deprecated alias of any",
    "product": "mxnet/numpy_dispatch_protocol.py: __array_function__ key; deprecated alias of prod",
    "round_": "mxnet/numpy_dispatch_protocol.py: __array_function__ key; deprecated alias of round",
    "compat": "mxnet/ndarray/numpy/_op.py, mxnet/symbol/numpy/_symbol.py: compat.basestring in pad, str",
}

_NUMPY126_CONSTANTS = {
    "PZERO": 0.0,
    "NZERO": -0.0,
    "PINF": float("inf"),
    "NINF": float("-inf"),
    "NAN": float("nan"),
    "NaN": float("nan"),
    "Inf": float("inf"),
}


def numpy126_stand_ins(module: types.ModuleType = np) -> dict[str, object]:
    """Each name of :data:`NUMPY2_REMOVALS` as numpy 1.26 had it, built over ``module``'s functions.

    The constants are numpy 1.26's Python floats; the deprecated aliases warn
    numpy 1.26's ``DeprecationWarning`` and call the function numpy 2 kept
    (``np.sometrue`` calls ``np.any``: an MXNet array reaches MXNet's ``any``
    through ``__array_function__`` as it reached its ``sometrue``); the
    financial functions raise numpy 1.26's ``RuntimeError``; ``compat`` holds
    ``basestring`` only.

    Examples
    --------
    >>> stand_ins = numpy126_stand_ins()
    >>> sorted(stand_ins) == sorted(NUMPY2_REMOVALS)
    True
    >>> stand_ins["PZERO"], stand_ins["in1d"]([[1, 2], [3, 4]], [2, 3])
    (0.0, array([False,  True,  True, False]))
    >>> stand_ins["mirr"]([1.0], 0.1, 0.1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    RuntimeError: In accordance with NEP 32, the function mirr was removed from NumPy version 1.20.  A ...
    """
    return {**_NUMPY126_CONSTANTS, **_numpy126_functions(module), "compat": _numpy126_compat()}


def restore_numpy2_removals(module: types.ModuleType = np) -> list[str]:
    """On numpy 2 and later, set each name of :data:`NUMPY2_REMOVALS` that ``module`` lacks; return their names.

    On numpy 1.x (``module.__version__`` below 2) nothing is set, whatever is
    missing: numpy 1.26 still has these names (the financial ones through its
    module ``__getattr__``). Names numpy still defines (``np.in1d`` and
    ``np.trapz`` in numpy 2.0-2.3, deprecated) are left alone.
    """
    if int(str(module.__version__).split(".")[0]) < 2:
        return []
    missing = [name for name in NUMPY2_REMOVALS if name not in vars(module)]
    stand_ins = numpy126_stand_ins(module)
    for name in missing:
        setattr(module, name, stand_ins[name])
    return missing


@contextlib.contextmanager
def hidden_modules(*names: str) -> Iterator[None]:
    """Within ``with``, ``import name`` raises ``ImportError`` for each of ``names`` not imported yet.

    Examples
    --------
    >>> with hidden_modules("no_such_module_imported_yet"):
    ...     import no_such_module_imported_yet
    Traceback (most recent call last):
    ...
    ModuleNotFoundError: import of no_such_module_imported_yet halted; None in sys.modules
    >>> "no_such_module_imported_yet" in sys.modules
    False
    """
    hidden = [name for name in names if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # the documented way to make an import fail
    try:
        yield
    finally:
        for name in hidden:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]


restore_numpy_aliases()
restore_numpy2_removals()

with warnings.catch_warnings(), hidden_modules("sklearn"):
    # MXNet's import touches np.mirr & co. (removed financial functions) and
    # distutils' version classes; neither matters to gluonlr.
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", UserWarning)
    import mxnet as mx
    from mxnet import autograd, gluon, nd


class _NoCSRMatrix:
    """What ``csr.csr_matrix`` is if a SciPy ever lacks ``scipy.sparse.csr_matrix``: nothing is an instance."""


class ScipySparseForMXNet:
    """``scipy.sparse`` as MXNet 1.9.1 uses it, without the deprecated ``scipy.sparse.csr`` namespace.

    MXNet reads ``spsp.csr.csr_matrix``; here ``csr.csr_matrix`` is
    ``scipy.sparse.csr_matrix`` (the class the old namespace re-exported), and
    every other name is looked up in ``scipy.sparse`` itself.

    Parameters
    ----------
    sparse : module
        The ``scipy.sparse`` module MXNet imported.
    """

    def __init__(self, sparse: types.ModuleType) -> None:
        self.sparse = sparse
        self.csr = types.SimpleNamespace(csr_matrix=getattr(sparse, "csr_matrix", _NoCSRMatrix))

    def __getattr__(self, name: str) -> object:
        """Look up every name but ``csr`` (set in ``__init__``) in ``scipy.sparse``."""
        return getattr(self.sparse, name)


#: The MXNet modules that import ``scipy.sparse`` as ``spsp`` and read ``spsp.csr.csr_matrix``.
MXNET_SCIPY_USERS = ("mxnet.ndarray.utils", "mxnet.ndarray.sparse")


def hide_scipy_csr_namespace(module_names: tuple[str, ...] = MXNET_SCIPY_USERS) -> list[str]:
    """Replace the ``spsp`` (``scipy.sparse``) of each named, imported module by a :class:`ScipySparseForMXNet`.

    Modules that are not imported, that found no SciPy (``spsp = None``) or that
    were already patched are left alone; returns the names of those patched.
    """
    patched = []
    for name in module_names:
        namespace = vars(sys.modules[name]) if name in sys.modules else {}
        sparse = namespace.get("spsp")
        if isinstance(sparse, types.ModuleType):
            namespace["spsp"] = ScipySparseForMXNet(sparse)
            patched.append(name)
    return patched


hide_scipy_csr_namespace()

__all__ = ["autograd", "gluon", "mx", "nd"]
