"""Loaded at start-up by the Python workers of ``gluonlr launch``: an uncaught exception ends the worker at once.

MXNet 1.x's ``dist`` KVStore waits, when a worker's interpreter shuts down, at a barrier of all the workers
(``KVStoreDist``'s destructor). A worker that raised would wait there forever, its peers blocked in a pushpull
that now never completes, and the launcher would see no exit to act on. So in a process that imported MXNet, an
uncaught exception is printed as usual, the ``atexit`` handlers run (all but MXNet's, which would wait for
the pending pushpulls; for at most 5 s), the output is flushed, and the process leaves with status 1 through
``os._exit``, past that barrier; the launcher then stops the rest of the job.
Elsewhere (MXNet not imported) Python exits as it always does.

``gluonlr launch`` puts this file's directory first on the workers' ``PYTHONPATH``; the ``sitecustomize`` it
hides, if any, is imported next, so both run. It uses the standard library only: it runs before the worker's
program, in every Python process the worker starts.
"""

from __future__ import annotations

import atexit
import importlib
import os
import sys
import threading
from types import TracebackType

_print_exception = sys.excepthook
_ATEXIT_SECONDS = 5.0


def _exit_on_uncaught_exception(
    kind: type[BaseException], value: BaseException, traceback: TracebackType | None
) -> None:
    _print_exception(kind, value, traceback)
    if "mxnet" not in sys.modules:
        return
    # MXNet's own atexit handler waits for every pending operation, a pushpull that will never complete
    # among them; the others get a few seconds.
    base = sys.modules.get("mxnet.base")
    if base is not None and hasattr(base, "_notify_shutdown"):
        atexit.unregister(base._notify_shutdown)
    watchdog = threading.Timer(_ATEXIT_SECONDS, os._exit, args=(1,))
    watchdog.daemon = True
    watchdog.start()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed or broken stream: nothing more can be said
            pass
    os._exit(1)


def _import_hidden_sitecustomize() -> None:
    """Import the ``sitecustomize`` that comes after this directory on ``sys.path``, as ``site`` would."""
    here = os.path.dirname(os.path.abspath(__file__))
    saved = sys.path[:]
    sys.path[:] = [entry for entry in saved if os.path.abspath(entry or os.curdir) != here]
    this = sys.modules.pop("sitecustomize", None)
    try:
        importlib.import_module("sitecustomize")  # the next one on the path
    except ImportError as error:
        if error.name != "sitecustomize":
            raise
        if this is not None:
            sys.modules["sitecustomize"] = this
    finally:
        sys.path[:] = saved


sys.excepthook = _exit_on_uncaught_exception
_import_hidden_sitecustomize()
