"""Test your own training code against gluonlr: a float64 reference, and assertions that say where runs part.

gluonlr's own suite proves its two paths equal with these tools, and they are
public for code of your own: a course checking students' hand-written SGD
against :func:`reference_fit`, a library checking its Gluon port epoch by
epoch with :func:`assert_runs_agree`.

* :func:`reference_fit` trains as :func:`gluonlr.fit` does in plain float64
  numpy, from the formulas (and MXNet 1.9.1's optimizers and schedulers);
* :func:`assert_paths_agree` and :func:`assert_matches_reference` fit and
  compare every epoch's parameters and history, and on failure name the first
  value that differs, at which epoch and by how much;
* :func:`assert_runs_agree` compares any two runs, e.g. your own loop's
  (anything with the attributes of a :class:`Trajectory`) with the reference;
* :func:`store` puts data in each storage :func:`gluonlr.fit` reads
  (:data:`STORAGES`: memory, ``.npy`` memmaps, :class:`RowArray`, an
  ``h5py.Dataset``'s interface that records its reads);
* :mod:`gluonlr.testing.exercises` checks a student's pieces of the article's
  loop — the data iterator, the squared loss, SGD with momentum, the Huber
  gradient, a learning-rate schedule — against the reference, saying which
  value differs first (the documentation's "Exercises" page);
* :mod:`gluonlr.testing.strategies` holds hypothesis strategies for data sets
  and fit configurations. It needs hypothesis (from a clone,
  ``pip install ".[testing]"``); this package does not.

Examples
--------
>>> from gluonlr import synthetic_data
>>> from gluonlr.testing import assert_matches_reference, assert_paths_agree
>>> X, y = synthetic_data(n=40)
>>> runs = assert_paths_agree(X, y, epochs=3, batch_size=8)
>>> runs = assert_matches_reference(X, y, epochs=3, batch_size=8, path="gluon")
"""

from gluonlr.testing._assertions import (
    PATH_ATOL,
    PATH_RTOL,
    REFERENCE_ATOL,
    REFERENCE_RTOL,
    RecordedFit,
    Trajectory,
    assert_matches_reference,
    assert_paths_agree,
    assert_runs_agree,
    record_fit,
)
from gluonlr.testing._reference import ReferenceResult, reference_fit, reference_lrs, stable_lr
from gluonlr.testing._storage import STORAGES, RowArray, store

__all__ = [
    "PATH_ATOL",
    "PATH_RTOL",
    "REFERENCE_ATOL",
    "REFERENCE_RTOL",
    "STORAGES",
    "RecordedFit",
    "ReferenceResult",
    "RowArray",
    "Trajectory",
    "assert_matches_reference",
    "assert_paths_agree",
    "assert_runs_agree",
    "record_fit",
    "reference_fit",
    "reference_lrs",
    "stable_lr",
    "store",
]
