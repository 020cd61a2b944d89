"""The "Manual vs Gluon" page: what it includes of the source, and pairs narrow enough to sit side by side."""

import ast
import pathlib
import re
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "manual-vs-gluon.rst"

#: The widest lines of a pair's two panes, in characters, added: up to this many, the pair sits side by side on a
#: screen 1280 pixels wide (seen in headless Chromium: 59 + 58 did, 58 + 60 stacked the pair).
PAIR_COLUMNS = 117

pytestmark = pytest.mark.skipif(not PAGE.exists(), reason="the docs are not beside the tests")


@pytest.fixture(scope="module")
def strip_docstring():
    pytest.importorskip("docutils")  # Sphinx's: in `tox -e docs`, which runs this file, not in the test extra
    sys.path.insert(0, str(ROOT / "docs" / "_ext"))
    try:
        from source_without_docstring import strip_docstring
    finally:
        sys.path.remove(str(ROOT / "docs" / "_ext"))
    return strip_docstring


def _object_source(path, qualname):
    """The source lines of ``qualname`` (``name`` or ``Class.method``) in ``path``, as literalinclude takes them."""
    lines = path.read_text().splitlines(keepends=True)
    body = ast.parse("".join(lines)).body
    for name in qualname.split("."):
        node = next(node for node in body if getattr(node, "name", None) == name)
        body = node.body
    return "".join(lines[node.lineno - 1 : node.end_lineno])


def _pairs():
    """Each code-pair container of the page: the (file, pyobject) of its two panes."""
    pairs = []
    for block in re.split(r"^\.\. container:: code-pair$", PAGE.read_text(), flags=re.M)[1:]:
        body = re.split(r"^\S", block, maxsplit=1, flags=re.M)[0]  # up to the next unindented line
        includes = re.findall(r"literalinclude:: \.\./src/gluonlr/(\S+)\n\s+:pyobject: (\S+)", body)
        assert len(includes) == 2, body
        pairs.append(includes)
    return pairs


def test_the_articles_pieces_are_paired_and_narrow(strip_docstring):
    pairs = [pair for pair in _pairs() if {file for file, _ in pair} == {"manual.py", "gluon.py"}]
    names = [tuple(name for _, name in pair) for pair in pairs]
    assert names == [
        ("init_params", "init_params"),
        ("net", "net"),
        ("squared_loss", "make_loss"),
        ("data_iter", "data_iter"),
        ("sgd", "sgd"),
        ("train", "train"),
    ]
    for pair in pairs:
        widest = [
            max(strip_docstring(_object_source(ROOT / "src" / "gluonlr" / file, name)).splitlines(), key=len)
            for file, name in pair
        ]
        assert sum(map(len, widest)) <= PAIR_COLUMNS, f"{pair}: too wide to sit side by side: {widest}"


def test_no_docstring_strips_nested_docstrings_and_nothing_else(strip_docstring):
    source = textwrap.dedent('''\
        class Sampler:
            """The class.

            More.
            """

            def __init__(self):
                """Only the docstring of a body with more in it goes."""
                self.epoch = 0

            def abstract(self):
                """A body's only statement stays."""

            def set_epoch(self, epoch):
                text = """not a docstring"""
                self.epoch = epoch
        ''')
    kept = source.splitlines(keepends=True)
    del kept[7]  # __init__'s docstring
    del kept[1:6]  # the class's, and the blank line after it
    assert strip_docstring(source) == "".join(kept)
    assert strip_docstring("def f():\n    return 1\n") is None  # nothing to strip: the directive warns
