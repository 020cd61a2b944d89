"""``.. option-defaults::``: the table of fit's defaults beside the users' data defaults, made from the options.

"Your own data" shows, for each option whose default on the surfaces for users' own data (the estimator and
``gluonlr fit FILE``) differs from ``fit``'s, both defaults and why, read from
:data:`gluonlr.options.OPTIONS` (``default``, :meth:`~gluonlr.options.Option.default_on`) and
:data:`gluonlr.options.USER_DEFAULT_REASONS` at build time: the page cannot drift from the code. An option
with a user default and no reason fails the build.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from option_defaults_table import table_lines
from sphinx.util.docutils import SphinxDirective


class OptionDefaults(SphinxDirective):
    """The directive: parses :func:`table_lines` in place."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        container = nodes.container()
        self.state.nested_parse(StringList(table_lines(), source="option-defaults"), self.content_offset, container)
        return container.children


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("option-defaults", OptionDefaults)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
