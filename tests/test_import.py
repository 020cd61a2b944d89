import subprocess
import sys

import numpy as np
import pytest

import gluonlr  # noqa: F401  (restores the aliases)


@pytest.mark.slow
def test_import_emits_no_warning():
    # a fit that fits, so no warning is right (five rows and one epoch rightly warn: worse than the mean)
    completed = subprocess.run(
        [sys.executable, "-W", "error", "-c", "import gluonlr; gluonlr.fit(*gluonlr.synthetic_data(), epochs=2)"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""


def test_only_missing_aliases_are_restored():
    import builtins
    import types

    from gluonlr._mxnet import restore_numpy_aliases

    fake_numpy = types.ModuleType("fake_numpy")
    fake_numpy.int = "kept"
    assert restore_numpy_aliases(fake_numpy) == ["bool", "float", "complex", "object", "str"]
    assert fake_numpy.int == "kept" and fake_numpy.bool is builtins.bool
    assert restore_numpy_aliases(fake_numpy) == []
    # the real numpy, after import gluonlr: numpy 2 defines np.bool again (as np.bool_), and it is kept
    assert np.bool is (builtins.bool if np.__version__ < "2" else np.bool_) and np.float32 is not float


def run_python(code, *args):
    """Run ``code`` in a fresh interpreter with warnings as errors; return the completed process."""
    return subprocess.run(
        [sys.executable, "-W", "error", *args, "-c", code], capture_output=True, text=True, timeout=120
    )


# Fits on both paths, and a SciPy CSR matrix that nd.array must still recognise as sparse.
FIT_AND_CSR = """
import numpy as np, scipy.sparse
import gluonlr
from gluonlr._mxnet import nd
X, y = gluonlr.synthetic_data(n=20)
gluonlr.fit(X, y, epochs=2)
gluonlr.fit(X, y, epochs=2, path="gluon")
csr = nd.array(scipy.sparse.csr_matrix(np.eye(3, dtype=np.float32)))
assert type(csr).__name__ == "CSRNDArray", type(csr)
assert (csr.asscipy() != scipy.sparse.eye(3)).nnz == 0
print("ok")
"""


@pytest.mark.slow
def test_fit_with_scipy_installed_and_warnings_as_errors():
    # MXNet's nd.array reads scipy.sparse.csr.csr_matrix, deprecated since SciPy 1.8: every call warned.
    pytest.importorskip("scipy")
    completed = run_python(FIT_AND_CSR)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "ok\n" and completed.stderr == ""


# SciPy 2.0 removes the scipy.sparse.csr namespace: a scipy.sparse without it, in place before MXNet imports it.
WITHOUT_CSR_NAMESPACE = """
import sys, types
import scipy, scipy.sparse
sparse = types.ModuleType("scipy.sparse")
vars(sparse).update({k: v for k, v in vars(scipy.sparse).items() if k not in ("csr", "__getattr__")})
sys.modules["scipy.sparse"] = scipy.sparse = sparse
sys.modules.pop("scipy.sparse.csr", None)
try:
    sparse.csr
except AttributeError:
    pass
else:
    raise AssertionError("the simulated SciPy 2.0 still has scipy.sparse.csr")
"""


@pytest.mark.slow
def test_fit_without_the_scipy_csr_namespace():
    pytest.importorskip("scipy")
    completed = run_python(WITHOUT_CSR_NAMESPACE + FIT_AND_CSR)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "ok\n"


def test_mxnet_sees_scipy_sparse_without_its_csr_namespace():
    sparse = pytest.importorskip("scipy.sparse")
    import mxnet.ndarray.sparse
    import mxnet.ndarray.utils

    from gluonlr._mxnet import ScipySparseForMXNet

    for module in (mxnet.ndarray.utils, mxnet.ndarray.sparse):
        assert isinstance(module.spsp, ScipySparseForMXNet)
        assert module.spsp.csr.csr_matrix is sparse.csr_matrix
        assert module.spsp.coo_matrix is sparse.coo_matrix  # every other name is scipy.sparse's


def test_hide_scipy_csr_namespace_patches_only_modules_that_imported_scipy(monkeypatch):
    import types

    from gluonlr._mxnet import ScipySparseForMXNet, hide_scipy_csr_namespace

    sparse = types.ModuleType("fake_sparse")
    sparse.csr_matrix = type("csr_matrix", (), {})
    with_scipy, without_scipy = types.ModuleType("with_scipy"), types.ModuleType("without_scipy")
    with_scipy.spsp, without_scipy.spsp = sparse, None
    monkeypatch.setitem(sys.modules, "with_scipy", with_scipy)
    monkeypatch.setitem(sys.modules, "without_scipy", without_scipy)
    names = ("with_scipy", "without_scipy", "not_imported")
    assert hide_scipy_csr_namespace(names) == ["with_scipy"]
    assert isinstance(with_scipy.spsp, ScipySparseForMXNet) and with_scipy.spsp.sparse is sparse
    assert with_scipy.spsp.csr.csr_matrix is sparse.csr_matrix and without_scipy.spsp is None
    assert hide_scipy_csr_namespace(names) == []  # patched once


def test_a_scipy_without_csr_matrix_matches_nothing():
    import types

    from gluonlr._mxnet import ScipySparseForMXNet

    stand_in = ScipySparseForMXNet(types.ModuleType("fake_sparse"))
    assert not isinstance(np.eye(2), stand_in.csr.csr_matrix)
    with pytest.raises(AttributeError):
        stand_in.coo_matrix  # noqa: B018


@pytest.mark.slow
def test_import_and_a_numpy_fit_import_neither_pandas_nor_scikit_learn():
    """Both installed (the test extra): MXNet's import would pull scikit-learn, and it pandas, in 1.7 s."""
    pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    code = (
        "import sys, gluonlr\n"
        "X, y = gluonlr.synthetic_data(n=20)\n"
        "gluonlr.fit(X, y, epochs=1).predict(X); gluonlr.fit(X, y, epochs=1, path='gluon')\n"
        "print(sorted(name for name in ('pandas', 'sklearn') if name in sys.modules))\n"
    )
    completed = run_python(code)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "[]\n"


@pytest.mark.slow
def test_gluonlr_sklearn_without_scikit_learn_says_how_to_install_it():
    completed = run_python("import sys; sys.modules['sklearn'] = None; import gluonlr.sklearn")
    assert completed.returncode == 1
    assert "ImportError: gluonlr.sklearn needs scikit-learn 1.6 or later" in completed.stderr
    assert "pip install 'gluonlr[sklearn]'" in completed.stderr


@pytest.mark.slow
def test_scikit_learn_imported_first_is_left_as_it_is():
    pytest.importorskip("sklearn")
    completed = run_python("import sklearn.base, gluonlr, mxnet.model; print(mxnet.model.BASE_ESTIMATOR.__name__)")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "BaseEstimator\n"
