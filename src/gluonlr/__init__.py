"""gluonlr: the article's linear regression on MXNet, by hand and with Gluon, behind one ``fit``."""

from gluonlr import conventions, gluon, manual
from gluonlr.data import epoch_order, synthetic_data
from gluonlr.fit import PATHS, FitResult, fit, initial_params

__version__ = "0.1.0"

__all__ = [
    "PATHS",
    "FitResult",
    "__version__",
    "conventions",
    "epoch_order",
    "fit",
    "gluon",
    "initial_params",
    "manual",
    "synthetic_data",
]
