"""The package as users get it: ``python -m build`` makes an sdist and a wheel, and the wheel, installed into a
fresh virtual environment with its dependencies from the index, runs ``gluonlr demo --json``.

A package-data file or a dependency missing from pyproject.toml passes every other test (they run against the
source tree or an environment that already has it) and fails here.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest

import gluonlr

ROOT = pathlib.Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.skipif(
        not (ROOT / "pyproject.toml").exists(), reason="the project's source tree is not beside the tests"
    ),
    pytest.mark.slow,  # builds the package and installs it into new environments
]

#: Python 3.13 and later install with uv and the override file (README, "Set-up"): pip stops at MXNet's numpy pin.
NUMPY2_PYTHON = sys.version_info >= (3, 13)
OVERRIDE = "numpy2-override.txt"


def _uv():
    """The uv binary (the test extra installs it on Python 3.13 and later). Not ``python -m uv``: that makes uv
    install into the environment of the Python running it, whatever ``VIRTUAL_ENV`` says."""
    from uv import find_uv_bin

    return find_uv_bin()


# Made by builds, tests and tools: never part of a clean clone.
_NOT_SOURCE = {".git", ".tox", ".nox", "build", "dist", "__pycache__", ".hypothesis", "_build"}


def _not_source(directory, names):
    ignored = set()
    for name in names:
        path = pathlib.Path(directory, name)
        if (
            name in _NOT_SOURCE
            or name.endswith((".egg-info", "_cache"))
            or (path.is_dir() and (path / "pyvenv.cfg").exists())
        ):
            ignored.add(name)
    return ignored


def _env():
    """The environment for the subprocesses, without anything that could import gluonlr from elsewhere."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(command, cwd, timeout=900):
    completed = subprocess.run(command, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert completed.returncode == 0, f"{command} failed:\n{completed.stdout}\n{completed.stderr}"
    return completed


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A copy of the source tree as a clean clone has it, so that builds leave the work tree alone and
    concurrent runs (``tox -p``) do not share setuptools' ``build/`` and ``*.egg-info``."""
    copy = tmp_path_factory.mktemp("source") / "gluonlr"
    shutil.copytree(ROOT, copy, ignore=_not_source)
    return copy


@pytest.fixture(scope="module")
def dists(source, tmp_path_factory):
    """``python -m build``: the sdist, then the wheel built from that sdist."""
    outdir = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--outdir", str(outdir), str(source)], cwd=outdir)
    sdists, wheels = sorted(outdir.glob("*.tar.gz")), sorted(outdir.glob("*.whl"))
    assert len(sdists) == 1 and len(wheels) == 1, sorted(p.name for p in outdir.iterdir())
    return sdists[0], wheels[0]


@pytest.fixture(scope="module")
def venv(dists, tmp_path_factory):
    """A fresh virtual environment with only the wheel and the dependencies it declares."""
    directory = tmp_path_factory.mktemp("venv") / "venv"
    _run([sys.executable, "-m", "venv", str(directory)], cwd=directory.parent)
    python = directory / "bin" / "python"
    if NUMPY2_PYTHON:
        uv = [_uv(), "pip", "install", "-q", "--python", str(python)]
        _run([*uv, "--override", str(ROOT / OVERRIDE), str(dists[1])], cwd=directory.parent)
    else:
        _run([str(python), "-m", "pip", "install", "-q", str(dists[1])], cwd=directory.parent)
    return directory


def test_build_makes_an_sdist_and_a_wheel_of_this_version(dists):
    sdist, wheel = dists
    assert sdist.name == f"gluonlr-{gluonlr.__version__}.tar.gz"
    assert wheel.name == f"gluonlr-{gluonlr.__version__}-py3-none-any.whl"


def test_sdist_has_what_a_build_and_the_tests_need(dists, source):
    sdist, _ = dists
    top = f"gluonlr-{gluonlr.__version__}"
    with tarfile.open(sdist) as tar:
        names = {name.removeprefix(f"{top}/") for name in tar.getnames()}
    modules = {f"src/gluonlr/{p.name}" for p in (source / "src" / "gluonlr").glob("*.py")}
    tests = {f"tests/{p.name}" for p in (source / "tests").glob("*.py")}
    expected = {"LICENSE", "README.md", "pyproject.toml", OVERRIDE, "src/gluonlr/py.typed"} | modules | tests
    assert expected <= names, sorted(expected - names)
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


def test_wheel_has_the_modules_py_typed_and_the_script(dists, source):
    _, wheel = dists
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        info = f"gluonlr-{gluonlr.__version__}.dist-info"
        entry_points = whl.read(f"{info}/entry_points.txt").decode()
    modules = {f"gluonlr/{p.name}" for p in (source / "src" / "gluonlr").glob("*.py")}
    assert modules | {"gluonlr/py.typed", f"{info}/licenses/LICENSE"} <= names
    assert "gluonlr = gluonlr.cli:main" in entry_points
    assert not [name for name in names if name.startswith("tests/")]


def test_installed_gluonlr_is_the_wheel(venv):
    python = venv / "bin" / "python"
    code = "import gluonlr, importlib.metadata as m; print(gluonlr.__file__); print(m.version('gluonlr'))"
    location, version = _run([str(python), "-c", code], cwd=venv.parent).stdout.split()
    assert pathlib.Path(location).is_relative_to(venv)
    assert version == gluonlr.__version__


def test_installed_script_runs_the_demo(venv):
    completed = _run([str(venv / "bin" / "gluonlr"), "demo", "--json"], cwd=venv.parent, timeout=300)
    assert completed.stderr == ""
    report = json.loads(completed.stdout)
    assert set(report) == {"true_w", "true_b", "manual", "gluon", "max_abs_diff"}
    assert set(report["manual"]) == set(report["gluon"]) == {"w", "b", "history"}
    assert report["max_abs_diff"] < 1e-4


def test_installed_script_prints_the_version(venv):
    completed = _run([str(venv / "bin" / "gluonlr"), "--version"], cwd=venv.parent, timeout=300)
    assert completed.stdout.strip() == f"gluonlr {gluonlr.__version__}"


def _freeze(python):
    """``{name: version}`` of what is installed in the environment of ``python``."""
    listed = _run([_uv(), "pip", "list", "--python", str(python), "--format", "json"], ".")
    return {package["name"].lower(): package["version"] for package in json.loads(listed.stdout)}


@pytest.mark.skipif(not NUMPY2_PYTHON, reason="the numpy 2 environment of Python 3.13 and later")
def test_adding_gluonlr_to_a_numpy_2_environment_downgrades_nothing(source, tmp_path):
    # A user's environment: numpy 2 and pandas, scikit-learn and matplotlib built for it, the newest there are.
    directory = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(directory)], cwd=tmp_path)
    python = directory / "bin" / "python"
    uv = [_uv(), "pip", "install", "-q", "--python", str(python)]
    _run([*uv, "numpy>=2", "pandas", "scikit-learn", "matplotlib"], cwd=tmp_path)
    before = _freeze(python)
    assert before["numpy"].split(".")[0] == "2"
    # The README's command, from the clone, in that environment (activated: VIRTUAL_ENV names it):
    env = {**_env(), "VIRTUAL_ENV": str(directory)}
    command = [_uv(), "pip", "install", "-q", "--override", OVERRIDE, "."]
    completed = subprocess.run(command, cwd=source, env=env, capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stderr
    after = _freeze(python)
    assert {name: after.get(name) for name in before} == before
    assert {"gluonlr", "mxnet"} <= set(after)
    code = "import gluonlr, sklearn, pandas; from gluonlr.sklearn import LinearRegressor; print('ok')"
    assert _run([str(python), "-W", "error", "-c", code], cwd=tmp_path).stdout == "ok\n"
    demo = _run([str(directory / "bin" / "gluonlr"), "demo", "--json"], cwd=tmp_path, timeout=300)
    assert json.loads(demo.stdout)["max_abs_diff"] < 1e-4 and demo.stderr == ""


@pytest.mark.skipif(not NUMPY2_PYTHON, reason="pip installs gluonlr on Python 3.10-3.12")
def test_pip_on_python_3_13_stops_at_mxnets_numpy_pin(source, tmp_path):
    # What the README says first: pip cannot install gluonlr on 3.13, and says which pins conflict.
    directory = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(directory)], cwd=tmp_path)
    command = [str(directory / "bin" / "python"), "-m", "pip", "install", "--dry-run", "."]
    completed = subprocess.run(command, cwd=source, env=_env(), capture_output=True, text=True, timeout=900)
    assert completed.returncode != 0
    assert "mxnet 1.9.1 depends on numpy<2.0.0" in completed.stdout + completed.stderr
