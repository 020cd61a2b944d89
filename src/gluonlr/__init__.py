"""gluonlr: the article's linear regression on MXNet, by hand and with Gluon, behind one ``fit``."""

from gluonlr import callbacks, conventions, gluon, manual, metrics, optimizers, schedules
from gluonlr.data import epoch_order, synthetic_data
from gluonlr.errors import (
    CheckpointError,
    ConvergenceWarning,
    DataConversionWarning,
    DivergenceError,
    WorseThanMeanWarning,
)
from gluonlr.fit import PATHS, fit, initial_params
from gluonlr.persistence import load, save
from gluonlr.result import FitResult

__version__ = "0.1.0"

__all__ = [
    "PATHS",
    "CheckpointError",
    "ConvergenceWarning",
    "DataConversionWarning",
    "DivergenceError",
    "FitResult",
    "WorseThanMeanWarning",
    "__version__",
    "callbacks",
    "conventions",
    "epoch_order",
    "fit",
    "gluon",
    "initial_params",
    "load",
    "manual",
    "metrics",
    "optimizers",
    "save",
    "schedules",
    "synthetic_data",
]
