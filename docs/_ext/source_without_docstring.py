"""``literalinclude`` with a ``:no-docstring:`` flag.

The "manual vs Gluon" page shows each pair of functions from the real source with
``literalinclude`` and ``:pyobject:``, so it cannot drift from the code. The
docstrings are already on the API page, and beside each other they would bury
the few lines that differ, so ``:no-docstring:`` drops the docstring of the
included object and those of the methods and functions in it (found with
:mod:`ast`, not by line numbers). Everything else is
Sphinx's own ``literalinclude``; a missing ``:pyobject:`` still warns, which
fails a ``-W`` build.
"""

from __future__ import annotations

import ast
import textwrap
from typing import Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.directives.code import LiteralInclude
from sphinx.util import logging

logger = logging.getLogger(__name__)


Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _docstring(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> ast.Expr | None:
    """Return the docstring statement of a def or class node, or None."""
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first
    return None


def strip_docstring(source: str) -> str | None:
    """Return ``source`` (one def or class) without its docstrings, or None if it has none of its own.

    The docstrings of the methods and functions nested in it go too (one that is
    a body's only statement stays: the code would not parse without it).
    """
    tree = ast.parse(textwrap.dedent(source))
    if len(tree.body) != 1 or not isinstance(tree.body[0], Definition) or _docstring(tree.body[0]) is None:
        return None
    spans = []
    for node in ast.walk(tree):
        docstring = _docstring(node) if isinstance(node, Definition) else None
        if docstring is not None and (node is tree.body[0] or len(node.body) > 1):
            spans.append((docstring.lineno, docstring.end_lineno, len(node.body) > 1))
    lines = source.splitlines(keepends=True)
    for start, end, more in sorted(spans, reverse=True):
        del lines[start - 1 : end]
        if more and lines[start - 1].strip() == "":
            del lines[start - 1]  # the blank line some docstrings leave behind
    return "".join(lines)


class LiteralIncludeWithoutDocstring(LiteralInclude):
    """Sphinx's ``literalinclude``, plus ``:no-docstring:`` (only with ``:pyobject:``)."""

    option_spec: ClassVar[dict[str, Any]] = {**LiteralInclude.option_spec, "no-docstring": directives.flag}

    def run(self) -> list[nodes.Node]:
        strip = "no-docstring" in self.options
        result = super().run()
        if not strip:
            return result
        location = self.state_machine.get_source_and_line(self.lineno)
        for node in result:
            for block in node.findall(nodes.literal_block):
                stripped = strip_docstring(block.astext())
                if stripped is None:
                    logger.warning("no docstring to strip in %r", self.options.get("pyobject"), location=location)
                    continue
                block.rawsource = stripped
                block.children = []
                block += nodes.Text(stripped)
        return result


def setup(app):
    app.add_directive("literalinclude", LiteralIncludeWithoutDocstring, override=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
