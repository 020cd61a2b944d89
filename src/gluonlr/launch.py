"""Run one ``dist_sync`` job on this host: MXNet's scheduler, servers and workers, started and watched.

MXNet's parameter server (ps-lite, built into the ``mxnet`` wheel) is set up by environment variables alone:
every process of a job is told the scheduler's address, the numbers of servers and workers, and its own role
(:func:`job_environment`). A scheduler or a server is nothing but ``import mxnet`` with its role set: MXNet 1.x
runs the server loop inside that import and exits when the job ends. MXNet's own ``tools/launch.py`` needs
``dmlc_tracker``, which the wheel does not ship; :func:`launch` does the work of its local launcher, and
watches the job, so that a worker that fails ends it instead of leaving the others blocked in ps-lite forever.

POSIX only: each process is started in a session of its own, and stopped with its whole process group. On
Linux each also dies with the launcher (``PR_SET_PDEATHSIG``): a launcher killed by ``kill -9`` leaves no
process of its job behind.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import errno
import math
import numbers
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import FrameType
from typing import IO, Any, TextIO

from gluonlr._validation import check_choice, check_positive_int

__all__ = ["ROLES", "job_environment", "launch"]

#: The roles of a ps-lite job's processes, the values of ``DMLC_ROLE``.
ROLES = ("scheduler", "server", "worker")

_WHERE = "launch"
#: What a scheduler or a server runs: MXNet's import, which serves and exits with the job (gluonlr._mxnet
#: imports MXNet on any numpy gluonlr supports; plain ``import mxnet`` fails on numpy >= 1.24).
_SERVE = "import gluonlr._mxnet"
#: The directory whose ``sitecustomize`` makes an uncaught exception end a Python worker (see ``exit_on_error``).
_WORKER_HOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_worker_hook")
#: Whether ZeroMQ can bind a port the launcher holds (see _reserve_ports).
_HOLD_PORTS = sys.platform.startswith("linux")
_TAIL_LINES = 20  # of a failed process's standard error, shown again at the end
_POLL_SECONDS = 0.05
_OUTPUT_JOIN_SECONDS = 2.0  # for a process's last lines after it ended (longer only if a descendant holds its pipe)
_TIMED_OUT = 124  # as timeout(1)


def job_environment(
    role: str, *, workers: int, servers: int = 1, host: str = "127.0.0.1", port: int, node_host: str | None = None
) -> dict[str, str]:
    """Return the environment variables that make a process the ``role`` of a ``dist_sync`` job.

    These are what :func:`launch` sets, and what to set by hand on each host of a job that spans several:
    one scheduler at ``host:port``, ``servers`` servers and ``workers`` workers, every process with the same
    ``DMLC_PS_ROOT_URI``, ``DMLC_PS_ROOT_PORT``, ``DMLC_NUM_SERVER`` and ``DMLC_NUM_WORKER``. A scheduler or a
    server is then ``python -c "import gluonlr"`` (MXNet 1.x serves inside its import and exits when the job
    ends); a worker is your program, creating ``mx.kv.create("dist_sync")``.

    Parameters
    ----------
    role : {"scheduler", "server", "worker"}
        ``DMLC_ROLE``.
    workers : int
        The job's number of workers, ``DMLC_NUM_WORKER``; every worker must create its KVStore.
    servers : int, default=1
        The job's number of servers, ``DMLC_NUM_SERVER``.
    host : str, default="127.0.0.1"
        The scheduler's IPv4 address, ``DMLC_PS_ROOT_URI``: the scheduler listens there, the others connect.
    port : int
        The scheduler's port, ``DMLC_PS_ROOT_PORT``.
    node_host : str, optional
        ``DMLC_NODE_HOST``, the address a server or worker listens on and gives the others. Left out, ps-lite
        takes the address of the host's first network interface that is not the loopback; :func:`launch`
        sets ``host``, so that a job on 127.0.0.1 stays on the loopback.

    Returns
    -------
    dict of str to str
        The variables, to add to the process's environment.

    Raises
    ------
    ValueError
        If ``role`` is not one of :data:`ROLES`, a count is not an int >= 1 or ``port`` is not in [1, 65535].

    Examples
    --------
    The variables of a worker of a job with two workers, one server and the scheduler on port 9091 of the host
    10.0.0.1, as a shell on another host would set them:

    >>> for name, value in job_environment("worker", workers=2, host="10.0.0.1", port=9091).items():
    ...     print(f"export {name}={value}")
    export DMLC_ROLE=worker
    export DMLC_PS_ROOT_URI=10.0.0.1
    export DMLC_PS_ROOT_PORT=9091
    export DMLC_NUM_SERVER=1
    export DMLC_NUM_WORKER=2
    """
    check_choice("role", role, ROLES, where="job_environment")
    workers = check_positive_int("workers", workers, where="job_environment")
    servers = check_positive_int("servers", servers, where="job_environment")
    port = check_port(port, where="job_environment")
    variables = {
        "DMLC_ROLE": role,
        "DMLC_PS_ROOT_URI": host,
        "DMLC_PS_ROOT_PORT": str(port),
        "DMLC_NUM_SERVER": str(servers),
        "DMLC_NUM_WORKER": str(workers),
    }
    if node_host is not None:
        variables["DMLC_NODE_HOST"] = node_host
    return variables


def check_port(value: Any, where: str = _WHERE) -> int:
    """Return ``value`` as an int if it is a TCP port number, in [1, 65535] (bools rejected).

    Examples
    --------
    >>> check_port(9091)
    9091
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 1 <= int(value) <= 65535:
        raise ValueError(f"The 'port' parameter of {where} must be an int in [1, 65535]. Got {value!r} instead.")
    return int(value)


def check_seconds(name: str, value: Any, where: str = _WHERE, *, zero: bool = False) -> float:
    """Return ``value`` as a float if it is a finite number of seconds > 0 (>= 0 if ``zero``).

    Examples
    --------
    >>> check_seconds("timeout", 60)
    60.0
    """
    number = float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else math.nan
    if not (math.isfinite(number) and (number >= 0 if zero else number > 0)):
        bound = ">= 0" if zero else "> 0"
        raise ValueError(
            f"The {name!r} parameter of {where} must be a finite float {bound} (seconds). Got {value!r} instead."
        )
    return number


def _check_command(command: Any) -> list[str]:
    """Return ``command`` as a list of str if its program exists and may be run; nothing is started here."""
    if isinstance(command, (str, bytes)) or not isinstance(command, Sequence) or not command:
        raise TypeError(
            "The 'command' parameter of launch must be a non-empty sequence of str, the program and its "
            f"arguments, e.g. ['python', 'train.py']. Got {command!r} instead."
        )
    if not all(isinstance(part, str) for part in command):
        raise TypeError(f"The 'command' parameter of launch must hold str only. Got {list(command)!r} instead.")
    program = command[0]
    if shutil.which(program) is None:
        if os.sep in program and os.path.isfile(program):
            raise PermissionError(f"The command {program!r} is not executable (chmod +x?); nothing was started.")
        where = "" if os.sep in program else " on PATH"
        raise FileNotFoundError(f"The command {program!r} was not found{where}; nothing was started.")
    return list(command)


def _address(host: Any) -> str:
    """Return the IPv4 address ``host`` names (ps-lite speaks IPv4 only)."""
    if not isinstance(host, str) or not host:
        raise TypeError(f"The 'host' parameter of launch must be a non-empty str. Got {host!r} instead.")
    try:
        return str(socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)[0][4][0])
    except OSError as error:
        raise ValueError(
            f"The 'host' parameter of launch must be an IPv4 address or a name of this machine. "
            f"Got {host!r}, which does not resolve to an IPv4 address ({error})."
        ) from None


def _bound_socket(ip: str, port: int) -> socket.socket:
    """Return a socket bound to ``ip:port`` (0: a free port) with SO_REUSEADDR, as ZeroMQ binds; not listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((ip, port))
    except BaseException:
        sock.close()
        raise
    return sock


def _reserve_ports(ip: str, port: int | None, workers: int) -> list[socket.socket]:
    """Return sockets bound to the scheduler's port (``port``, or a free one) and to ``workers`` free ports.

    The workers' ports come in increasing order: ps-lite ranks the workers in the order of the ports they
    listen on, so worker ``i``, given the ``i``-th (ps-lite's ``PORT`` variable), is rank ``i``.

    The sockets are bound, not listening, with SO_REUSEADDR: on Linux ZeroMQ, which binds with SO_REUSEADDR
    too, can listen on such a port, and the kernel gives it to no other ``bind`` to port 0 nor to an outgoing
    connection. Held until the job ends, they keep the ports for it; elsewhere ZeroMQ's bind would fail, and
    the caller closes them before starting the job.
    """
    try:
        scheduler = _bound_socket(ip, 0 if port is None else port)
    except OSError as error:
        if port is not None and error.errno == errno.EADDRINUSE:
            raise OSError(
                f"Port {port} on {ip} is in use (another job's scheduler?); choose another port, "
                "or leave it out to get a free one. Nothing was started."
            ) from None
        raise OSError(
            f"Cannot listen on {ip} ({error.strerror}): the launcher runs the whole job on this machine, so the "
            "host must be one of its addresses (127.0.0.1 by default). Nothing was started."
        ) from None
    held = [scheduler]
    try:
        for _ in range(workers):
            held.append(_bound_socket(ip, 0))
    except BaseException:
        for sock in held:
            sock.close()
        raise
    return [scheduler, *sorted(held[1:], key=lambda sock: int(sock.getsockname()[1]))]


def _exit_status(returncode: int) -> int:
    """Return a process's status as a shell reports it: 128 + N for a process killed by signal N."""
    return 128 - returncode if returncode < 0 else returncode


def _describe(returncode: int) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"killed by {name}"
    return f"exit status {returncode}"


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _die_with(launcher: int) -> Callable[[], None] | None:
    """Return what a child runs before its program so that it dies with the launcher: SIGKILL on its death.

    In its own session, a child gets no terminal's SIGHUP; were the launcher killed (``kill -9``, the OOM
    killer) its job would run on, the scheduler and servers waiting forever. Linux's ``PR_SET_PDEATHSIG``
    has the kernel send the child SIGKILL when the launcher's thread that started it ends; a launcher gone
    already before the child set it is caught by its parent's pid. None (nothing to run) elsewhere.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child only calls it

    def die_with_launcher() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != launcher:  # the launcher died before prctl: its death signal will never come
            os._exit(1)

    return die_with_launcher


class _Output:
    """The launcher's standard output and error, written a whole line at a time from several threads."""

    def __init__(self, stdout: TextIO, stderr: TextIO) -> None:
        self.streams = {"stdout": stdout, "stderr": stderr}
        self.lock = threading.Lock()

    def write(self, line: str, stream: str = "stderr") -> None:
        """Write ``line`` and a newline, and flush; a closed stream (``| head``) is ignored: the job goes on."""
        with self.lock:
            try:
                self.streams[stream].write(line + "\n")
                self.streams[stream].flush()
            except (OSError, ValueError):  # BrokenPipeError; ValueError: I/O operation on closed file
                pass


class _Process:
    """One process of the job, its output relayed line by line with ``prefix``, its last error lines kept."""

    def __init__(self, name: str, prefix: str, args: list[str], env: dict[str, str], output: _Output) -> None:
        self.name = name
        self.tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        # Its own session and process group: the terminal's Ctrl-C reaches the launcher only, which stops
        # the job; and stopping a process signals its group, so nothing it started is left behind.
        self.popen = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with(os.getpid()),
        )
        assert self.popen.stdout is not None and self.popen.stderr is not None  # both PIPE; for mypy
        self.relays = [
            threading.Thread(target=self._relay, args=(pipe, prefix, stream, output), daemon=True)
            for pipe, stream in ((self.popen.stdout, "stdout"), (self.popen.stderr, "stderr"))
        ]
        for relay in self.relays:
            relay.start()

    def _relay(self, pipe: IO[bytes], prefix: str, stream: str, output: _Output) -> None:
        with pipe:
            for raw in iter(pipe.readline, b""):
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                if stream == "stderr":
                    self.tail.append(line)
                output.write(prefix + line, stream)

    def poll(self) -> int | None:
        """Return the process's return code (-N: killed by signal N) if it ended, else None; without reaping it.

        An ended process stays a zombie until :meth:`_Job.stop` has signalled its group: its pid, the group's
        id, cannot be given to another process before then.
        """
        if self.popen.returncode is not None:
            return self.popen.returncode
        ended = os.waitid(os.P_PID, self.popen.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if ended is None:
            return None
        return -ended.si_status if ended.si_code in (os.CLD_KILLED, os.CLD_DUMPED) else ended.si_status

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the process's group (it and what it started), if any of it is left."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signum)

    def join_output(self, deadline: float) -> None:
        for relay in self.relays:
            relay.join(max(0.0, deadline - time.monotonic()))


class _Job:
    """The scheduler, the servers and the workers of one job, and what ended it."""

    def __init__(self, output: _Output) -> None:
        self.output = output
        self.processes: list[_Process] = []
        self.workers: list[_Process] = []
        self.stop_signal: int | None = None

    def start(self, name: str, prefix: str, args: list[str], env: dict[str, str], worker: bool = False) -> None:
        process = _Process(name, prefix, args, env, self.output)
        self.processes.append(process)
        if worker:
            self.workers.append(process)

    def wait(self, timeout: float | None) -> tuple[int, _Process | None]:
        """Wait for the job's end; return its exit status and the process that failed it, if one did."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            for process in self.processes:
                returncode = process.poll()
                if returncode:  # a worker, a server or the scheduler failed: the others would wait forever
                    return _exit_status(returncode), process
            if all(worker.poll() == 0 for worker in self.workers):
                return 0, None
            if self.stop_signal is not None:
                return 128 + self.stop_signal, None
            if deadline is not None and time.monotonic() >= deadline:
                self.output.write(f"gluonlr launch: the job did not end within {timeout:g} s; stopping it.")
                return _TIMED_OUT, None
            time.sleep(_POLL_SECONDS)

    def stop(self, grace: float) -> None:
        """Stop every process still running: SIGTERM to its group, SIGKILL after ``grace`` seconds; reap all."""
        interrupted = None
        try:
            running = [process for process in self.processes if process.poll() is None]
            for process in running:
                process.signal(signal.SIGTERM)
            deadline = time.monotonic() + grace
            while any(process.poll() is None for process in running) and time.monotonic() < deadline:
                time.sleep(_POLL_SECONDS)
        except KeyboardInterrupt as error:  # Ctrl-C again: no more grace
            interrupted = error
        for process in self.processes:  # also what an ended process left in its group
            process.signal(signal.SIGKILL)
        for process in self.processes:
            process.popen.wait()  # reaped: only now may its pid be reused
        deadline = time.monotonic() + _OUTPUT_JOIN_SECONDS
        for process in self.processes:
            process.join_output(deadline)
        if interrupted is not None:
            raise interrupted


@contextlib.contextmanager
def _stop_on_signals(job: _Job) -> Iterator[None]:
    """While the job runs, SIGTERM and SIGHUP (unless ignored) stop it rather than kill the launcher alone."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        job.stop_signal = signum

    previous: dict[int, Callable[[int, FrameType | None], Any] | int | None] = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is not signal.SIG_IGN:  # nohup's SIGHUP stays ignored
            previous[signum] = signal.signal(signum, stop)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)


def launch(
    command: Sequence[str],
    *,
    workers: int,
    servers: int = 1,
    host: str = "127.0.0.1",
    port: int | None = None,
    timeout: float | None = None,
    grace: float = 5.0,
    env: Mapping[str, str] | None = None,
    exit_on_error: bool = True,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run ``command`` as the ``workers`` workers of a ``dist_sync`` job on this host; return the job's exit status.

    Starts the job's scheduler on ``host:port``, its ``servers`` servers, then ``workers`` copies of
    ``command``, each with the variables of :func:`job_environment`, and waits for the workers to end. Worker
    ``i`` is rank ``i`` of the job (``kv.rank``, the launcher's ``GLUONLR_RANK`` in its environment), and each
    line it writes is relayed with the prefix ``[i]`` to the launcher's standard output or error, as the
    worker wrote it; the scheduler's and servers' lines are prefixed ``[scheduler]`` and ``[server i]``.
    Children run with ``PYTHONUNBUFFERED=1``, so Python's output arrives line by line.

    A job ends when every worker has exited with status 0 (the scheduler and servers then exit by themselves;
    any still running after ``grace`` seconds are stopped) or as soon as any process of it fails. A failed
    worker would leave the others blocked in ps-lite forever, so the launcher then stops the rest of the job
    (SIGTERM to each process group, SIGKILL after ``grace`` seconds), says which rank failed and how, shows
    the end of its standard error again and returns its status.

    Parameters
    ----------
    command : sequence of str
        The program each worker runs and its arguments, e.g. ``["python", "train.py"]``; looked up on
        ``PATH`` before anything is started.
    workers : int
        The number of workers, ``DMLC_NUM_WORKER``.
    servers : int, default=1
        The number of servers, ``DMLC_NUM_SERVER``.
    host : str, default="127.0.0.1"
        The address of this machine that the job's processes listen on and connect to.
    port : int, optional
        The scheduler's port; checked free before anything starts. Left out, a free port is taken.
    timeout : float, optional
        Stop the job after this many seconds (exit status 124, as ``timeout(1)``). No limit by default.
    grace : float, default=5.0
        Seconds between SIGTERM and SIGKILL when stopping processes.
    env : mapping of str to str, optional
        Variables to add to every process's environment (the launcher's own environment is inherited).
    exit_on_error : bool, default=True
        Make an uncaught exception end a Python worker at once, with status 1 (see Notes).
    stdout, stderr : text file, optional
        Where the processes' lines and the launcher's messages go; ``sys.stdout`` and ``sys.stderr`` by
        default.

    Returns
    -------
    int
        0 if every worker exited with status 0; otherwise the status of the process that failed first
        (128 + N if signal N killed it), 124 after ``timeout``, or 128 + N if signal N (SIGTERM, SIGHUP)
        stopped the launcher.

    Raises
    ------
    ValueError, TypeError
        For an invalid argument (a count < 1, a port outside [1, 65535], a host that is no IPv4 address).
    FileNotFoundError, PermissionError
        If ``command``'s program is not found or may not be run.
    OSError
        If ``port`` is in use or ``host`` is not an address of this machine.
    KeyboardInterrupt
        After Ctrl-C (SIGINT), once the job is stopped.

    Nothing is started before the arguments, the program and the port are checked, and every process the
    launcher started is stopped before it returns or raises.

    Notes
    -----
    MXNet 1.x's ``dist`` KVStore waits, when a worker's interpreter exits, at a barrier of all the workers.
    A Python worker that raised after creating its KVStore would print its traceback and then wait there
    forever, its peers blocked in a pushpull, and never exit. With ``exit_on_error`` the launcher puts a
    ``sitecustomize`` first on the workers' ``PYTHONPATH`` (the one it hides, if any, still runs) that, in a
    process that imported MXNet, follows the traceback by the ``atexit`` handlers (but MXNet's, which would
    wait for the pending pushpulls) and ``os._exit(1)``. A
    worker that calls ``sys.exit`` with a failure status, or a program that is not Python, still waits at
    that barrier: ``timeout`` is the remedy there.

    ps-lite ranks the workers in the order of the ports they listen on; the launcher gives worker ``i`` the
    ``i``-th of ``workers`` free ports (ps-lite's ``PORT`` variable), so that its rank is ``i``. Only if
    another program takes that port before the worker listens does ps-lite pick another one, and then the
    rank may differ from ``GLUONLR_RANK``.

    Examples
    --------
    Two workers, each printing its rank and the sum over the job of its rank + 1 (starting the four
    processes takes a few seconds, so this example is not run by the doctests):

    >>> import sys
    >>> program = '''
    ... import gluonlr
    ... from gluonlr._mxnet import mx
    ... kv = mx.kv.create("dist_sync")
    ... kv.init(0, mx.nd.zeros(1))
    ... total = mx.nd.zeros(1)
    ... kv.pushpull(0, mx.nd.full(1, kv.rank + 1), out=total)
    ... print(kv.rank, total.asscalar())
    ... '''
    >>> launch([sys.executable, "-c", program], workers=2)  # doctest: +SKIP
    [0] 0 3.0
    [1] 1 3.0
    0
    """
    args = _check_command(command)
    workers = check_positive_int("workers", workers, where=_WHERE)
    servers = check_positive_int("servers", servers, where=_WHERE)
    if port is not None:
        port = check_port(port)
    if timeout is not None:
        timeout = check_seconds("timeout", timeout)
    grace = check_seconds("grace", grace, zero=True)
    ip = _address(host)
    with contextlib.ExitStack() as held:
        sockets = [held.enter_context(sock) for sock in _reserve_ports(ip, port, workers)]
        port, *ports = (int(sock.getsockname()[1]) for sock in sockets)
        if not _HOLD_PORTS:
            held.close()
        base = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
        base.pop("PORT", None)  # ps-lite's: a worker's own port, set below

        def environment(role: str, **more: str) -> dict[str, str]:
            dmlc = job_environment(role, workers=workers, servers=servers, host=ip, port=port, node_host=ip)
            return {**base, **dmlc, **more}

        serve = [sys.executable, "-c", _SERVE]
        processes = [("the scheduler", "[scheduler] ", serve, environment("scheduler"))]
        processes += [(f"server {i}", f"[server {i}] ", serve, environment("server")) for i in range(servers)]
        hook = {"PYTHONPATH": os.pathsep.join(filter(None, [_WORKER_HOOK, base.get("PYTHONPATH")]))}
        for rank, worker_port in enumerate(ports):
            variables = environment(
                "worker", PORT=str(worker_port), GLUONLR_RANK=str(rank), **(hook if exit_on_error else {})
            )
            processes.append((f"rank {rank}", f"[{rank}] ", args, variables))
        return _run(processes, workers, timeout, grace, _Output(stdout or sys.stdout, stderr or sys.stderr))


def _run(
    processes: list[tuple[str, str, list[str], dict[str, str]]],
    workers: int,
    timeout: float | None,
    grace: float,
    output: _Output,
) -> int:
    """Start ``processes`` (name, prefix, arguments, environment; the workers last), watch and stop them."""
    job = _Job(output)
    status, failed = _TIMED_OUT, None
    with _stop_on_signals(job):
        try:
            for index, (name, prefix, args, env) in enumerate(processes):
                job.start(name, prefix, args, env, worker=index >= len(processes) - workers)
            status, failed = job.wait(timeout)
            if failed is None and status == 0:  # the scheduler and servers end with the last worker
                deadline = time.monotonic() + grace
                while any(p.poll() is None for p in job.processes) and time.monotonic() < deadline:
                    time.sleep(_POLL_SECONDS)
                if any(p.poll() is None for p in job.processes):
                    output.write(
                        "gluonlr launch: the scheduler and servers were still running after the workers ended "
                        f"by {grace:g} s (did every worker create a dist KVStore?); stopping them."
                    )
        finally:
            job.stop(grace)
    if failed is not None:
        _report(output, failed)
    elif job.stop_signal is not None:
        output.write(f"gluonlr launch: stopped the job on {signal.Signals(job.stop_signal).name}.")
    return status


def _report(output: _Output, failed: _Process) -> None:
    """Say which process failed, how, and show the end of its standard error again."""
    returncode = failed.popen.returncode
    output.write(f"gluonlr launch: {failed.name} failed ({_describe(returncode)}); stopped the job.")
    if failed.tail:
        output.write(f"gluonlr launch: the last lines {failed.name} wrote to standard error:")
        for line in failed.tail:
            output.write(f"    {line}")
    else:
        output.write(f"gluonlr launch: {failed.name} wrote nothing to standard error.")
