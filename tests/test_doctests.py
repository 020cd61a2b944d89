"""Run the docstring examples of every gluonlr module, as installed."""

import doctest
import importlib
import inspect
import pkgutil
import warnings

import pytest

import gluonlr

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(gluonlr.__path__, "gluonlr.") if info.name != "gluonlr.__main__"
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    with warnings.catch_warnings():
        if name == "gluonlr.testing._assertions":  # its examples record 2-3 epochs of 20 rows from N(0, 1)
            warnings.simplefilter("ignore", gluonlr.WorseThanMeanWarning)
        failed, attempted = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert failed == 0, f"{failed} of {attempted} examples in {name} failed (see the captured output)"


@pytest.mark.parametrize("name", MODULES)
def test_public_functions_and_classes_have_examples(name):
    """Everything a public module exports (its __all__), but exceptions and constants, has a doctested example."""
    if name.rsplit(".", 1)[-1].startswith("_"):
        pytest.skip("a private module: what it exports is checked where a public module re-exports it")
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    for public in getattr(module, "__all__", []):
        obj = getattr(module, public)
        if inspect.isfunction(obj) or (inspect.isclass(obj) and not issubclass(obj, BaseException)):
            tests = finder.find(obj, public, module=False)
            assert any(test.examples for test in tests), f"{name}.{public} has no example"
