"""Fail the build when a ``.. plot::`` directive produces no image.

matplotlib's plot directive runs each plot's code and saves the figures that
*pyplot* tracks. Code that draws on a figure pyplot does not know — a
``matplotlib.figure.Figure()`` made directly, say — runs without an error, and
the directive then renders only the source: the page shows no plot, and a
``-W`` build still passes. This extension wraps the directive: it reads the
reStructuredText the directive inserts into the page, and warns (an error
under ``-W``) when that text holds no figure, naming the page and line. A plot
meant to draw nothing says so with the directive's own ``:nofigs:`` option.
"""

from __future__ import annotations

import re
from typing import Any

from docutils import nodes
from matplotlib.sphinxext.plot_directive import PlotDirective
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: A figure in the text the directive inserts: matplotlib's templates write one
#: ``.. figure::`` (or ``.. figure-mpl::`` with ``plot_srcset``) per image.
FIGURE = re.compile(r"^\s*\.\. figure(-mpl)?::", re.MULTILINE)

#: What the warning says; tests/test_docs_plots.py pins it.
NO_IMAGE = (
    "the plot directive produced no image: its code drew on no figure that pyplot tracks. Create figures with "
    "plt.figure() or plt.subplots() (a matplotlib.figure.Figure made directly is invisible to the directive), "
    "or add :nofigs: to a plot meant to draw nothing."
)


def figures_in(lines: list[str]) -> int:
    """Return how many figures the directive's inserted text shows (its HTML and non-HTML copies alike)."""
    return len(FIGURE.findall("\n".join(lines)))


class PlotMustDraw(PlotDirective):
    """matplotlib's ``plot`` directive, warning when it renders no figure (unless ``:nofigs:``)."""

    def run(self) -> list[nodes.Node]:
        inserted: list[str] = []
        insert_input = self.state_machine.insert_input

        def capture(lines: list[str], source: Any) -> None:
            inserted.extend(lines)
            insert_input(lines, source)

        self.state_machine.insert_input = capture
        try:
            result = super().run()
        finally:
            self.state_machine.insert_input = insert_input
        if "nofigs" not in self.options and not figures_in(inserted):
            source, line = self.state_machine.get_source_and_line(self.lineno)
            logger.warning(NO_IMAGE, location=f"{source}:{line}")
        return result


def setup(app: Any) -> dict[str, Any]:
    app.setup_extension("matplotlib.sphinxext.plot_directive")
    app.add_directive("plot", PlotMustDraw, override=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
