"""``literalinclude`` with a ``:no-docstring:`` flag.

The "manual vs Gluon" page shows each pair of functions from the real source with
``literalinclude`` and ``:pyobject:``, so it cannot drift from the code. The
docstrings are already on the API page, and beside each other they would bury
the few lines that differ, so ``:no-docstring:`` drops the docstring of the
included object (found with :mod:`ast`, not by line numbers). Everything else is
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


def strip_docstring(source: str) -> str | None:
    """Return ``source`` (one def or class) without its docstring, or None if it has none."""
    tree = ast.parse(textwrap.dedent(source))
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return None
    body = tree.body[0].body
    first = body[0]
    is_string = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
    if not (is_string and isinstance(first.value.value, str)):
        return None
    lines = source.splitlines(keepends=True)
    del lines[first.lineno - 1 : first.end_lineno]
    if len(body) > 1 and lines[first.lineno - 1].strip() == "":
        del lines[first.lineno - 1]  # the blank line some docstrings leave behind
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
