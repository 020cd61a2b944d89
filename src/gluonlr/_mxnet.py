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
import warnings

import numpy as np

#: The aliases numpy 1.24 removed and MXNet 1.9.1 still uses.
_REMOVED_ALIASES = ("bool", "int", "float", "complex", "object", "str")

for _name in _REMOVED_ALIASES:
    if _name not in np.__dict__:
        setattr(np, _name, getattr(builtins, _name))

with warnings.catch_warnings():
    # MXNet's import touches np.mirr & co. (removed financial functions) and
    # distutils' version classes; neither matters to gluonlr.
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", UserWarning)
    import mxnet as mx
    from mxnet import autograd, gluon, nd

__all__ = ["autograd", "gluon", "mx", "nd"]
