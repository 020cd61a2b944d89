import os
import signal
import subprocess
import sys
import uuid

import matplotlib
import pytest
from hypothesis import HealthCheck, Phase, settings

matplotlib.use("Agg")

# Started in the background by a shell without job control (`nohup python -m pytest &` in a script, CI), the
# process begins with SIGINT ignored, and Python then installs no KeyboardInterrupt handler. fit rightly leaves
# an ignored SIGINT alone, so the Ctrl-C tests would see nothing: give the suite the handler a foreground Python
# starts with (the demo subprocesses they signal then start with SIGINT's default disposition too).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# MXNet's first call of an operator is slow; deadlines would flake. Derandomized so
# every run tries the same examples (tests must be deterministic); the "thorough"
# profile explores more, with fresh randomness.
settings.register_profile(
    "default", deadline=None, max_examples=40, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("ci", parent=settings.get_profile("default"), print_blob=True)
settings.register_profile("thorough", deadline=None, max_examples=500, suppress_health_check=[HealthCheck.too_slow])
# tools/mutate.py: the default profile's examples, but a failure is reported at once, unshrunk (shrinking a
# failure takes minutes, and a mutation run needs only to know that a test failed).
settings.register_profile("mutate", parent=settings.get_profile("default"), phases=[Phase.explicit, Phase.generate])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default"))


@pytest.fixture
def popen():
    """``popen(args, **kwargs)`` starts a ``subprocess.Popen``; whatever is still running when the test ends,
    passed or failed, is killed and reaped."""
    started = []

    def start(*args, **kwargs):
        process = subprocess.Popen(*args, **kwargs)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()


def benchmark_script(filename):
    """Yield ``benchmarks/<filename>`` imported as a module (it lives in the repository, not in the package).

    For a module-scoped fixture: ``yield from benchmark_script("run.py")``. The module is registered in
    ``sys.modules`` while in use (dataclasses look their module up there) and removed after.
    """
    import importlib.util
    import pathlib

    name = "gluonlr_benchmark_" + filename.removesuffix(".py")
    path = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / filename
    spec = importlib.util.spec_from_file_location(name, path)
    module = sys.modules[name] = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[name]


def read_and_close(command, n_bytes):
    """Run ``command``, read the first ``n_bytes`` of its output and close the pipe, as ``| head -c N`` does;
    return ``(those bytes, its stderr, its exit status)``. It is killed if it is still running at the end."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        head = process.stdout.read(n_bytes)
        process.stdout.close()
        _, stderr = process.communicate(timeout=300)
    finally:
        process.kill()
        process.wait()
    return head, stderr, process.returncode


#: The variable that marks the environment of every process a launcher test starts (see ``marker``).
MARK = "GLUONLR_TEST_JOB"


def marked(marker):
    """The processes whose environment holds ``MARK=marker`` (zombies have none)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/environ", "rb") as environ:
                    if f"{MARK}={marker}".encode() in environ.read().split(b"\0"):
                        found.append(int(name))
            except OSError:  # gone, or not ours
                pass
    return found


@pytest.fixture
def marker():
    """A marker for the environment of everything a test starts (the launcher passes its environment on to the
    scheduler, the servers and the workers); what is left of it at the end, passed or failed, is killed."""
    if not os.path.isdir("/proc"):
        pytest.skip("needs /proc to find the processes a job started")
    value = uuid.uuid4().hex
    yield value
    for pid in marked(value):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture(autouse=True)
def close_pyplot_figures():
    """Close the pyplot figures a test (or a doctest of gluonlr.plot) left open: pyplot warns past 20."""
    yield
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")


@pytest.fixture(params=["manual", "gluon"])
def path(request):
    """Each test using this runs once per training path."""
    return request.param


def pytest_report_header(config):
    import numpy

    from gluonlr._mxnet import mx

    return f"gluonlr on Python {sys.version.split()[0]}, numpy {numpy.__version__}, mxnet {mx.__version__}"


#: The slow tests the marker expression (``-m 'not slow'``, pyproject's default) left out of this run.
_slow_deselected = []


#: With pytest-xdist (``-n 2``, pyproject's default) the workers collect and deselect; each tells the controller its
#: count through ``workeroutput``, and every worker collects the whole suite, so their counts agree.
_workers_slow_deselected = []


def pytest_deselected(items):
    _slow_deselected.extend(item for item in items if item.get_closest_marker("slow"))


def pytest_sessionfinish(session):
    workeroutput = getattr(session.config, "workeroutput", None)  # set on an xdist worker only
    if workeroutput is not None:
        workeroutput["slow_deselected"] = len(_slow_deselected)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """An xdist worker ended: keep its count of the slow tests it left out."""
    _workers_slow_deselected.append(getattr(node, "workeroutput", {}).get("slow_deselected", 0))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Say how to run the slow tests when the run left them out (the default, fast suite)."""
    left_out = max([len(_slow_deselected), *_workers_slow_deselected])
    if left_out and config.option.markexpr == "not slow":
        terminalreporter.write_sep(
            "-", f"{left_out} slow tests not run: python -m pytest -m slow runs them (CI runs both)"
        )
