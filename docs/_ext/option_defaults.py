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
from sphinx.errors import ExtensionError
from sphinx.util.docutils import SphinxDirective


def _literal(value: Any) -> str:
    return f"``{value!r}``"


def table_lines() -> list[str]:
    """Return the reStructuredText of the table: a ``list-table`` of option, fit's, the users' data's, why."""
    from gluonlr.options import OPTIONS, USER_DEFAULT_REASONS, USER_SURFACES

    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 16 14 14 56",
        "",
        "   * - option",
        "     - ``fit()`` (the article's)",
        "     - ``LinearRegressor()``, ``gluonlr fit FILE``",
        "     - why they differ",
    ]
    for name, option in OPTIONS.items():
        users = {option.default_on(surface) for surface in USER_SURFACES if option.on(surface)}
        if not users or users == {option.default}:
            continue
        if len(users) > 1 or name not in USER_DEFAULT_REASONS:
            raise ExtensionError(
                f"option-defaults: {name!r} needs one user default and a reason in gluonlr.options.USER_DEFAULT_REASONS"
            )
        lines += [
            f"   * - ``{name}``",
            f"     - {_literal(option.default)}",
            f"     - {_literal(users.pop())}",
            f"     - {USER_DEFAULT_REASONS[name]}",
        ]
    return lines


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
