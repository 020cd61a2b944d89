"""Import MXNet 1.9.1 on any numpy this package supports.

MXNet 1.9.1 (the last release) refers to numpy aliases that numpy 1.24 removed
(``np.bool``, ``np.int``, ...; apache/mxnet#21165) and, while importing, touches
deprecated numpy functions and ``distutils``, which warns. This module is the one
place gluonlr imports MXNet: it restores only the aliases that are missing, then
imports MXNet with those import-time warnings silenced, so ``import gluonlr``
prints nothing. Every other module does ``from gluonlr._mxnet import mx, nd, ...``.
"""

from __future__ import annotations

import builtins
import types
import warnings

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


restore_numpy_aliases()

with warnings.catch_warnings():
    # MXNet's import touches np.mirr & co. (removed financial functions) and
    # distutils' version classes; neither matters to gluonlr.
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", UserWarning)
    import mxnet as mx
    from mxnet import autograd, gluon, nd

__all__ = ["autograd", "gluon", "mx", "nd"]
