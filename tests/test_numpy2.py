"""MXNet 1.9.1 on numpy 2: the names gluonlr._mxnet restores, each checked against numpy 1.26's behaviour.

numpy 1.26's results are written out below (what numpy 1.26.4 returns, warns and raises); on numpy 1.x each
stand-in is compared with numpy's own function too. On numpy 2 the stand-ins are what ``np`` and MXNet hold.
"""

import ast
import math
import pathlib
import types
import warnings

import numpy as np
import pytest

import gluonlr  # noqa: F401  (restores the names)
from gluonlr._mxnet import NUMPY2_REMOVALS, mx, numpy126_stand_ins, restore_numpy2_removals

NUMPY_MAJOR = int(np.__version__.split(".")[0])
STAND_INS = numpy126_stand_ins()

FINANCIAL = ("mirr", "npv", "pmt", "ppmt", "pv", "rate")


def financial_message(name):
    return (
        f"In accordance with NEP 32, the function {name} was removed from NumPy version 1.20.  A replacement for "
        "this function is available in the numpy_financial library: https://pypi.org/project/numpy-financial"
    )


def deprecation(name, replacement):
    return (
        f"`{name}` is deprecated as of NumPy 1.25.0, and will be removed in NumPy 2.0. "
        f"Please use `{replacement}` instead."
    )


def call(function, *args, **kwargs):
    """``(result or exception, [(category, message) of each warning])`` of ``function(*args, **kwargs)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            outcome = function(*args, **kwargs)
        except Exception as error:
            outcome = error
    return outcome, [(w.category, str(w.message)) for w in caught]


def same(a, b):
    if isinstance(a, Exception) or isinstance(b, Exception):
        return type(a) is type(b) and str(a) == str(b)
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


#: name -> (arguments, numpy 1.26.4's result, the warnings it gave): the functions' behaviour, recorded.
MATRIX = [[3, 1, 2], [0, 5, 4]]
NUMPY126 = {
    "alltrue": (([[True, False], [True, True]],), {"axis": 0}, np.array([True, False]), "all"),
    "sometrue": (([[False, False], [True, False]],), {"axis": 1}, np.array([False, True]), "any"),
    "product": ((MATRIX,), {"axis": 1}, np.array([6, 0]), "prod"),
    "round_": (([0.5, 1.5, 2.675, -0.5],), {"decimals": 0}, np.array([0.0, 2.0, 3.0, -0.0]), "round"),
    "in1d": (([[1, 2], [3, 4]], [[4], [1]]), {}, np.array([True, False, False, True]), None),
    "msort": ((MATRIX,), {}, np.array([[0, 1, 2], [3, 5, 4]]), "msort"),
    "trapz": (([1.0, 2.0, 4.0],), {"x": [0.0, 1.0, 3.0]}, np.float64(7.5), None),
    "trapz_dx": (
        (np.array([[1, 2, 4], [0, 1, 1]], np.float32),),
        {"dx": 0.5, "axis": 1},
        np.float32([2.25, 0.75]),
        None,
    ),
}
NUMPY126_IN1D_INVERT = (([1, 2, 3], [2]), {"invert": True}, np.array([True, False, True]))


def stand_in(name):
    return STAND_INS[name.split("_dx")[0]]


def expected_warnings(name):
    replacement = NUMPY126[name][3]
    if replacement is None:
        return []
    if name == "msort":
        return [(DeprecationWarning, "msort is deprecated, use np.sort(a, axis=0) instead")]
    return [(DeprecationWarning, deprecation(name, replacement))]


def test_every_name_has_a_stand_in_and_a_reason():
    assert sorted(STAND_INS) == sorted(NUMPY2_REMOVALS)
    assert all(NUMPY2_REMOVALS.values())


#: The stand-ins are numpy 1.26's (its deprecation warnings, in1d's kind): numpy before 1.25 has its own functions,
#: which gluonlr never replaces, and which warn less (numpy 1.23, tox's numpy123).
BEFORE_125 = pytest.mark.skipif(
    tuple(int(part) for part in np.__version__.split(".")[:2]) < (1, 25),
    reason="numpy < 1.25: its own functions are used, and the stand-ins copy 1.26's deprecation warnings",
)


@BEFORE_125
@pytest.mark.parametrize("name", sorted(NUMPY126))
def test_each_function_behaves_as_numpy_126(name):
    args, kwargs, result, _ = NUMPY126[name]
    outcome, caught = call(stand_in(name), *args, **kwargs)
    assert same(outcome, result), outcome
    assert caught == expected_warnings(name)
    if NUMPY_MAJOR < 2:  # and as numpy 1.x's own, on this numpy
        own, own_caught = call(getattr(np, stand_in(name).__name__), *args, **kwargs)
        assert same(outcome, own) and caught == own_caught


@BEFORE_125
def test_in1d_inverted_and_msort_copies():
    args, kwargs, result = NUMPY126_IN1D_INVERT
    assert same(STAND_INS["in1d"](*args, **kwargs), result)
    original = np.array(MATRIX)
    with pytest.warns(DeprecationWarning):
        sorted_ = STAND_INS["msort"](original)
    assert sorted_ is not original and (original == MATRIX).all()


@pytest.mark.parametrize("name", FINANCIAL)
def test_each_financial_function_raises_as_numpy_126(name):
    outcome, caught = call(STAND_INS[name], 0.1, [1.0, 2.0])
    assert isinstance(outcome, RuntimeError) and str(outcome) == financial_message(name) and caught == []
    if NUMPY_MAJOR < 2:  # numpy 1.x's own: a DeprecationWarning when read, the same RuntimeError when called
        with pytest.warns(DeprecationWarning, match=name):
            real = getattr(np, name)
        assert same(outcome, call(real, 0.1, [1.0, 2.0])[0])


def test_constants_are_numpy_126s_floats():
    expected = {"PZERO": 0.0, "NZERO": -0.0, "PINF": math.inf, "NINF": -math.inf, "Inf": math.inf}
    for name, value in expected.items():
        assert type(STAND_INS[name]) is float and STAND_INS[name] == value
        assert math.copysign(1.0, STAND_INS[name]) == math.copysign(1.0, value)
    assert all(type(STAND_INS[name]) is float and math.isnan(STAND_INS[name]) for name in ("NaN", "NAN"))
    if NUMPY_MAJOR < 2:
        for name in ("PZERO", "NZERO", "PINF", "NINF", "NaN", "NAN", "Inf"):
            assert same(STAND_INS[name], getattr(np, name))


def test_compat_holds_basestring_only():
    compat = STAND_INS["compat"]
    assert compat.basestring is str
    with pytest.raises(AttributeError, match=r"numpy\.compat\.long: numpy 2 removed numpy\.compat"):
        compat.long  # noqa: B018
    if NUMPY_MAJOR < 2:
        assert np.compat.basestring is str  # noqa: NPY201


@pytest.mark.skipif(NUMPY_MAJOR < 2, reason="numpy 1.x keeps these names; gluonlr sets none")
def test_on_numpy_2_numpy_and_mxnet_hold_the_stand_ins():
    for name in NUMPY2_REMOVALS:
        assert hasattr(np, name), name
    assert mx.np.PZERO == 0.0 and mx.np.NaN != mx.np.NaN
    assert mx.np.in1d is np.in1d and mx.np.mirr is np.mirr  # noqa: NPY201
    with pytest.raises(RuntimeError, match="numpy_financial"):
        mx.np.mirr([1.0], 0.1, 0.1)
    # MXNet's __array_function__ table is keyed by numpy's functions: the stand-ins are keys of their own,
    # so np.any still dispatches to mx.np.any, not to the sometrue MXNet registered after it.
    from mxnet.numpy.multiarray import _NUMPY_ARRAY_FUNCTION_DICT

    assert _NUMPY_ARRAY_FUNCTION_DICT[np.sometrue] is mx.np.sometrue  # noqa: NPY003, NPY201
    assert _NUMPY_ARRAY_FUNCTION_DICT[np.any] is mx.np.any


def fake_numpy(version, **names):
    module = types.ModuleType("fake_numpy")
    module.__version__ = version
    vars(module).update(names)
    return module


def test_nothing_is_set_on_numpy_1():
    module = fake_numpy("1.26.4")
    assert restore_numpy2_removals(module) == [] and "PZERO" not in vars(module)


def test_on_numpy_2_only_the_missing_names_are_set():
    module = fake_numpy("2.0.2", in1d="numpy's own")
    restored = restore_numpy2_removals(module)
    assert sorted(restored) == sorted(set(NUMPY2_REMOVALS) - {"in1d"})
    assert module.in1d == "numpy's own" and module.PZERO == 0.0
    assert restore_numpy2_removals(module) == []


def mxnet_numpy_names():
    """Every ``numpy.<name>`` (dotted) MXNet's Python sources read, with the files reading it.

    The names each module binds to numpy (``import numpy as onp`` ...) followed by attributes, ``from numpy
    import ...``, and the names ``numpy_dispatch_protocol`` looks up with ``getattr(_np, name)``.
    """
    root = pathlib.Path(mx.__file__).parent
    names = {}
    for source in root.rglob("*.py"):
        with warnings.catch_warnings():
            # MXNet's docstrings hold invalid escapes: a SyntaxWarning, a DeprecationWarning before Python 3.12
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            tree = ast.parse(source.read_bytes())
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == "numpy" or alias.name.startswith("numpy."):
                        aliases[alias.asname or "numpy"] = alias.name if alias.asname else "numpy"
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("numpy"):
                if node.module == "numpy" or node.module.startswith("numpy."):
                    for alias in node.names:
                        names.setdefault(f"{node.module}.{alias.name}", set()).add(source.name)
        for node in ast.walk(tree):
            chain = []
            while isinstance(node, ast.Attribute):
                chain.append(node.attr)
                node = node.value
            if chain and isinstance(node, ast.Name) and node.id in aliases:
                names.setdefault(".".join([aliases[node.id], *reversed(chain)]), set()).add(source.name)
    dispatch = ast.parse((root / "numpy_dispatch_protocol.py").read_text())
    for node in dispatch.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == "_NUMPY_ARRAY_FUNCTION_LIST":
            for name in ast.literal_eval(node.value):
                names.setdefault(f"numpy.{name}", set()).add("numpy_dispatch_protocol.py")
    return names


@pytest.mark.slow  # over ~3 s: python -m pytest -m slow and CI run it
def test_every_numpy_name_mxnet_reads_exists():
    # Guards the list against a numpy that removes more: each name MXNet's sources read resolves after
    # `import gluonlr` (numpy.core.* warns on numpy 2, deprecated, not removed; nested attributes of
    # results, e.g. np.random.RandomState's methods, resolve as well).
    import importlib

    missing = []
    names = mxnet_numpy_names()
    assert len(names) > 300 and "numpy.PZERO" in names and "numpy.sometrue" in names
    for dotted, files in sorted(names.items()):
        parts = dotted.split(".")
        found = np
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            for depth, part in enumerate(parts[1:], 2):
                try:
                    found = getattr(found, part)
                except AttributeError:
                    try:
                        found = importlib.import_module(".".join(parts[:depth]))
                    except ImportError:
                        missing.append(f"{'.'.join(parts[:depth])} (read in {', '.join(sorted(files))})")
                        break
    assert missing == []
