"""Every test that starts a process is marked slow, so the README's ``python -m pytest`` stays fast.

A test starts a process if it, a function or fixture of its module that it names, or a fixture of conftest.py
(``popen``, ``marker``) names ``subprocess``, ``Popen``, ``sys.executable`` or conftest's ``read_and_close``.
"""

import ast
import pathlib

TESTS = pathlib.Path(__file__).parent
#: What starting a process looks like in these tests.
STARTS = {"subprocess", "Popen", "executable", "popen", "marker", "read_and_close"}


def names_in(node):
    """The names, attributes and parameter names a function's code holds."""
    found = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    found |= {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
    return found | {a.arg for a in node.args.args + node.args.kwonlyargs}


def is_slow_mark(node):
    """``pytest.mark.slow``, called or not."""
    node = node.func if isinstance(node, ast.Call) else node
    return isinstance(node, ast.Attribute) and node.attr == "slow"


def unmarked_process_tests(source):
    """The names of the tests of ``source`` (a module's text) that start a process and are not marked slow."""
    tree = ast.parse(source)
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    module_marks = [
        mark
        for node in tree.body
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "pytestmark" for t in node.targets)
        for mark in (node.value.elts if isinstance(node.value, ast.List | ast.Tuple) else [node.value])
    ]
    if any(is_slow_mark(mark) for mark in module_marks):
        return []
    starting = {name for name, node in functions.items() if names_in(node) & STARTS}
    grown = True
    while grown:  # a test that names a helper or fixture that starts a process starts one too
        more = {name for name, node in functions.items() if name not in starting and names_in(node) & starting}
        starting |= more
        grown = bool(more)
    return sorted(
        name
        for name in starting
        if name.startswith("test_") and not any(is_slow_mark(mark) for mark in functions[name].decorator_list)
    )


def test_every_test_that_starts_a_process_is_marked_slow():
    unmarked = {path.name: unmarked_process_tests(path.read_text()) for path in sorted(TESTS.glob("test_*.py"))}
    assert {name: tests for name, tests in unmarked.items() if tests} == {}


def test_the_check_finds_an_unmarked_process_test():
    source = """
import subprocess, sys
import pytest

def run(code):
    return subprocess.run([sys.executable, "-c", code])

def test_fast():
    assert 1

def test_through_a_helper():
    run("pass")

def test_with_the_popen_fixture(popen):
    popen(["true"])

@pytest.mark.slow
def test_marked():
    run("pass")
"""
    assert unmarked_process_tests(source) == ["test_through_a_helper", "test_with_the_popen_fixture"]
    assert unmarked_process_tests("import pytest\npytestmark = [pytest.mark.slow]\n" + source) == []
