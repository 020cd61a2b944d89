"""Run the docstring examples of every gluonlr module, as installed."""

import doctest
import importlib
import pkgutil

import pytest

import gluonlr

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(gluonlr.__path__, "gluonlr.") if info.name != "gluonlr.__main__"
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    failed, attempted = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert failed == 0, f"{failed} of {attempted} examples in {name} failed (see the captured output)"


def test_public_functions_have_examples():
    finder = doctest.DocTestFinder()
    for name in gluonlr.__all__:
        obj = getattr(gluonlr, name)
        if callable(obj) and not isinstance(obj, type | dict):
            assert any(test.examples for test in finder.find(obj)), f"gluonlr.{name} has no example"
