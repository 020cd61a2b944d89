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
"""

from __future__ import annotations

import builtins
import contextlib
import sys
import types
import warnings
from collections.abc import Iterator

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
