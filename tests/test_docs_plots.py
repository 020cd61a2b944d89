"""The docs' plots render: a plot directive that draws no image fails the build (docs/_ext/plot_must_draw.py).

Builds a small Sphinx project with the docs' extension in a subprocess. Needs Sphinx (docs/requirements.txt);
``tox -e docs`` runs this file, and the suite skips it where Sphinx is not installed.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"

pytestmark = [
    pytest.mark.skipif(not (DOCS / "_ext" / "plot_must_draw.py").exists(), reason="docs/ is not beside the tests"),
]

CONF = f"""
import sys
sys.path.insert(0, {str(DOCS / "_ext")!r})
import gluonlr  # before MXNet, as docs/conf.py
extensions = ["matplotlib.sphinxext.plot_directive", "plot_must_draw"]
plot_formats = [("png", 40)]
plot_html_show_source_link = False
plot_html_show_formats = False
"""

#: Each page's plot code; only "untracked" draws on a figure pyplot does not know.
PAGES = {
    "pyplot": "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])",
    "untracked": "from matplotlib.figure import Figure\nFigure().add_subplot().plot([1, 2, 3])",
    "plot_loss": 'from gluonlr.plot import plot_loss\nplot_loss({"run": {"loss": [4.0, 1.0, 0.25]}})',
    "plot_predictions": (
        "from gluonlr import fit, synthetic_data\nfrom gluonlr.plot import plot_predictions\n"
        "X, y = synthetic_data(n=20)\nplot_predictions(fit(X, y, epochs=1), X)"
    ),
    "plot_predicted_vs_true": (
        "from gluonlr.plot import plot_predicted_vs_true\nplot_predicted_vs_true([1.0, 2.0, 3.0], [1.5, 2.0, 2.5])"
    ),
}


def directive(code, options=""):
    return ".. plot::\n" + options + "\n" + "".join(f"   {line}\n" for line in code.splitlines())


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    pytest.importorskip("sphinx")
    source = tmp_path_factory.mktemp("docs15-plots-src")
    out = tmp_path_factory.mktemp("docs15-plots-html")
    (source / "conf.py").write_text(CONF)
    pages = [*PAGES, "nofigs"]
    (source / "index.rst").write_text("Plots\n=====\n\n.. toctree::\n\n" + "".join(f"   {p}\n" for p in pages))
    for name, code in PAGES.items():
        (source / f"{name}.rst").write_text(f"{name}\n{'=' * len(name)}\n\n{directive(code)}")
    (source / "nofigs.rst").write_text("nofigs\n======\n\n" + directive("x = 1", "   :nofigs:\n"))
    # tox -p and CI set FORCE_COLOR: Sphinx would wrap each warning in ANSI colour codes.
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "PY_COLORS")}
    env.update(MPLBACKEND="Agg", NO_COLOR="1", TERM="dumb")
    completed = subprocess.run(
        [sys.executable, "-m", "sphinx", "--no-color", "-W", "--keep-going", "-q", "-b", "html", str(source), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    return completed, source, out


@pytest.mark.slow
def test_a_plot_that_draws_no_image_fails_the_build(build):
    completed, source, _ = build
    assert completed.returncode != 0, completed.stderr
    warnings = [line for line in completed.stderr.splitlines() if "WARNING" in line]
    assert warnings == [
        f"{source / 'untracked.rst'}:4: WARNING: the plot directive produced no image: its code drew on no figure "
        "that pyplot tracks. Create figures with plt.figure() or plt.subplots() (a matplotlib.figure.Figure made "
        "directly is invisible to the directive), or add :nofigs: to a plot meant to draw nothing."
    ], completed.stderr


@pytest.mark.slow
@pytest.mark.parametrize("page", ["pyplot", "plot_loss", "plot_predictions", "plot_predicted_vs_true"])
def test_plots_drawn_through_pyplot_render_an_image(build, page):
    """gluonlr's plot functions, called without ``ax``, draw on a figure the directive captures."""
    _, _, out = build
    html = (out / f"{page}.html").read_text()
    assert html.count("<img") == 1, html
    assert (out / "_images" / f"{page}-1.png").stat().st_size > 1000


@pytest.mark.slow
def test_nofigs_and_untracked_plots_render_no_image(build):
    _, _, out = build
    assert "<img" not in (out / "nofigs.html").read_text()
    assert "<img" not in (out / "untracked.html").read_text()
