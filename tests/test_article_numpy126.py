"""The article's run on both paths is bitwise what it was on Python 3.11 with numpy 1.26, on any numpy.

``tests/data/article_run_numpy126.json`` holds the weights, bias and history of ``fit(*synthetic_data(),
path=path)`` as Python 3.11.7, numpy 1.26.4 and MXNet 1.9.1 gave them, each float in ``float.hex`` form (exact,
whatever the float formatting). To record it again, in such an environment::

    python tests/test_article_numpy126.py
"""

import json
import pathlib
import sys

import numpy as np
import pytest

import gluonlr

FIXTURE = pathlib.Path(__file__).parent / "data" / "article_run_numpy126.json"


def article_run(path):
    """The article's run on ``path``: its weights, bias and history, each float as ``float.hex``."""
    result = gluonlr.fit(*gluonlr.synthetic_data(), path=path)
    return {
        "weight": [float(w).hex() for w in np.asarray(result.weight, dtype=np.float32).ravel()],
        "bias": float(result.bias).hex(),
        "history": {key: [float(v).hex() for v in values] for key, values in sorted(result.history.items())},
    }


@pytest.mark.parametrize("path", ["manual", "gluon"])
def test_the_article_run_is_bitwise_numpy_126s(path):
    recorded = json.loads(FIXTURE.read_text())
    assert recorded["numpy"].startswith("1.26.") and recorded["mxnet"] == "1.9.1"
    assert article_run(path) == recorded[path]


def record():
    """Write the fixture from this environment (Python 3.11, numpy 1.26: refused elsewhere)."""
    from gluonlr._mxnet import mx

    if not np.__version__.startswith("1.26.") or sys.version_info[:2] != (3, 11):
        raise SystemExit(f"record on Python 3.11 with numpy 1.26, not {sys.version.split()[0]}/{np.__version__}")
    runs = {path: article_run(path) for path in ("manual", "gluon")}
    versions = {"python": sys.version.split()[0], "numpy": np.__version__, "mxnet": mx.__version__}
    FIXTURE.write_text(json.dumps({**versions, **runs}, indent=1) + "\n")


if __name__ == "__main__":
    record()
