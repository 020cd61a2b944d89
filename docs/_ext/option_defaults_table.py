"""The rows of ``.. option-defaults::`` (see ``option_defaults.py``), without Sphinx: the tests import it."""

from __future__ import annotations

from typing import Any


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
            raise ValueError(
                f"option-defaults: {name!r} needs one user default and a reason in gluonlr.options.USER_DEFAULT_REASONS"
            )
        lines += [
            f"   * - ``{name}``",
            f"     - {_literal(option.default)}",
            f"     - {_literal(users.pop())}",
            f"     - {USER_DEFAULT_REASONS[name]}",
        ]
    return lines
