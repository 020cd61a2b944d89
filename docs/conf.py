"""Sphinx configuration of the gluonlr documentation.

From the repository root, with ``pip install -r docs/requirements.txt`` and the
package's own dependencies installed::

    sphinx-build -n -W --keep-going -b html docs docs/_build/html
    sphinx-build -W -b doctest docs docs/_build/doctest
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

# Document the checkout, not whatever gluonlr happens to be installed: the
# "manual vs Gluon" page includes the source files of this tree, and the API
# reference must describe the same code. (MXNet and numpy still come from the
# environment.) gluonlr is imported before anything can import MXNet: it
# restores the numpy aliases MXNet 1.9.1 needs on numpy >= 1.24.
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(DOCS / "_ext"))

import gluonlr  # noqa: E402

project = "gluonlr"
author = "gluonlr developers"
copyright = "gluonlr developers, Apache License 2.0"
release = gluonlr.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    # MathJax 3 copied into the built site (_static/mathjax) and loaded from there, not from a CDN: the
    # formulas render offline, and the pages need no network.
    "sphinx-mathjax-offline",
    "numpydoc",
    "matplotlib.sphinxext.plot_directive",
    "plot_must_draw",  # docs/_ext: a plot directive that renders no image fails the build
    "myst_parser",
    "source_without_docstring",  # docs/_ext: literalinclude's :no-docstring:
    "option_defaults",  # docs/_ext: the table of fit's and the users' data defaults, from gluonlr.options
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "requirements.txt"]
nitpicky = True  # as -n: every cross-reference must resolve

# -- intersphinx: deliberately not used -------------------------------------
# intersphinx fetches objects.inv from numpy.org, matplotlib.org and
# mxnet.apache.org at build time. The machines that build these docs (developers'
# and CI's) reach package registries but no documentation sites, so the fetch
# fails, Sphinx warns, and -W turns that into a failed build. No numpy,
# matplotlib or MXNet package ships its inventory, and a copy checked in here
# would be a binary nobody reviews that silently goes stale. So external names
# (ndarray, NDArray, Axes, Dense, L2Loss, ...) appear as text or code, not links.

# -- autodoc + numpydoc ------------------------------------------------------
# Signatures without annotations: the numpydoc "Parameters" sections give each
# type in words ("ndarray of shape (n_features,)"), and annotations such as
# mxnet.ndarray.ndarray.NDArray would be unresolvable references under -n.
autodoc_typehints = "none"
autodoc_member_order = "bysource"
autodoc_preserve_defaults = True

numpydoc_show_class_members = False  # autodoc documents the members itself
numpydoc_class_members_toctree = False
# Parameter types stay the docstrings' text. numpydoc's cross-referencing of
# types would link "int", "ndarray", "array-like", ... to the python and numpy
# intersphinx inventories, which we do not have (see above): under -n every
# such type is an unresolved reference, and the page would show "python:int".
# With it off, -n has nothing to complain about in the types ("ndarray",
# "NDArray", "matplotlib Axes", "optional"), so no nitpick_ignore is needed.
numpydoc_xref_param_type = False

# -- doctest -----------------------------------------------------------------
# `sphinx-build -b doctest` runs the `.. doctest::` blocks of these pages. Plain
# `>>>` blocks, i.e. the docstring examples rendered on the API page, are not run
# again here: they need their module's namespace, and tests/test_doctests.py
# already runs every one of them against its module.
doctest_test_doctest_blocks = ""
doctest_global_setup = "import gluonlr  # before MXNet, always"
import doctest  # noqa: E402

doctest_default_flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE | doctest.DONT_ACCEPT_TRUE_FOR_1

# -- plots: drawn at build time by the real code -----------------------------
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 110)]
plot_pre_code = ""  # each plot's code shows all its imports
plot_rcparams = {"figure.constrained_layout.use": True}
# The directive saves the figures pyplot tracks after each plot's code ran (it closes them before and
# after); docs/_ext/plot_must_draw.py warns, an error under -W, when a plot's code left none.

# -- MyST (the benchmark page includes benchmarks/README.md) -----------------
myst_enable_extensions: list[str] = []

# -- HTML --------------------------------------------------------------------
html_theme = "furo"
html_title = f"gluonlr {release}"
html_static_path = ["_static"]
html_css_files = ["gluonlr.css"]
html_show_sourcelink = False
