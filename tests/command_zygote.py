"""The suite's `python -m cqbook ...` commands, each forked from one interpreter per test
worker that has already imported the libraries every build imports (a zygote).

Why: the suite runs about two hundred commands in repository copies, and each new
interpreter first imported pandas, matplotlib, IPython, papermill and nbformat on its own:
about 1.1 s of CPU, a fifth of a small build's, before it read an argument.

What stays as it is: the command is the copy's own `cqbook/__main__.py`, run as
`python -m cqbook` runs it (`runpy`, as `__main__`), in a process of its own, with the
arguments, working directory, environment and `sys.path` that `subprocess.run` would give
it, its output captured apart, its exit code, `sys.exit` and traceback its own. The
interpreter state it starts from is that of a `python -m cqbook` after its one re-run with
the kernels' hash seed (`cqbook.build.engine.fix_process_environment`), with the modules of
`PRELOADED` imported: each of them one that a build process imports itself, none of them
one that only a kernel may import (cqbook.build.engine.KERNEL_ONLY), none of the book's
(tests/build/test_command_zygote.py checks all three). Every copy's package is its own.

Where it cannot stand in, the command runs in a new interpreter, as before: an environment
that differs from the zygote's in anything but the package path, the suite's own variables
and the book's (`CQBOOK_*`), or a zygote that could not start or would fork with a second
thread. `CQBOOK_TEST_FRESH_PROCESSES=1` runs every command in a new interpreter.
Commands the tests start themselves (`subprocess.Popen`: the builds they kill, interrupt or
watch) are new interpreters too, so the whole start of `python -m cqbook` stays tested.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import locale
import os
import select
import signal
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

# Imported by the build process of every `cqbook build` that runs a notebook, before its
# kernels fork (cqbook.build.engine.PRELOAD, papermill's engine, the notebook files): the
# libraries, in that order, never the book's own modules.
PRELOADED = (
    "numpy", "pandas", "matplotlib", "matplotlib.pyplot", "matplotlib.dates",
    "matplotlib.patches", "matplotlib.ticker", "IPython", "IPython.display",
    "IPython.core.formatters", "ipykernel.ipkernel", "ipykernel.zmqshell", "nbformat",
    "myst_nb", "myst_nb.ext.glue", "papermill", "yaml",
)
# What a `python -m cqbook` process runs with once it has re-run itself.
FIXED_ENVIRONMENT = {"PYTHONHASHSEED": "0"}
DEFAULT_ENVIRONMENT = {"OPENBLAS_NUM_THREADS": "1"}
# Variables that change nothing a preloaded library read at import.
IGNORED_PREFIXES = ("PYTEST_", "CQBOOK_")
IGNORED = {"PYTHONPATH", *FIXED_ENVIRONMENT}
FRESH_VARIABLE = "CQBOOK_TEST_FRESH_PROCESSES"
# As the test session started: the zygote is started by a test's first command, which may
# have changed the environment for itself.
SESSION_ENVIRONMENT = dict(os.environ)


def run(arguments: list[str], cwd: Path, env: dict[str, str],
        timeout: float) -> subprocess.CompletedProcess:
    """`subprocess.run([sys.executable, "-m", *arguments], cwd=..., env=...,
    capture_output=True, text=True, timeout=...)`, forked from the zygote where it can be."""
    command = [sys.executable, "-m", *arguments]
    zygote = _zygote() if not os.environ.get(FRESH_VARIABLE) else None
    differences = zygote.differences(env) if zygote is not None else []
    if zygote is None or differences:
        if differences:  # said in pytest's warnings summary, which xdist's workers reach
            warnings.warn(NewInterpreter(f"a new interpreter runs `python -m "
                                         f"{' '.join(arguments)}`: its environment differs "
                                         f"from the zygote's in {', '.join(differences)}"),
                          stacklevel=2)
        return subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                              timeout=timeout, env=env, check=False)
    return zygote.run(command, Path(cwd), env, timeout)


class NewInterpreter(UserWarning):
    """A command the zygote could have forked ran in a new interpreter: slower, not wrong."""


_started: list[Zygote | None] = []


def _zygote() -> Zygote | None:
    if not _started:
        try:
            _started.append(Zygote())
        except (OSError, RuntimeError):
            _started.append(None)
    zygote = _started[0]
    return zygote if zygote is not None and zygote.alive() else None


class Zygote:
    """The waiting interpreter of this test process, and how it is asked for a command."""

    def __init__(self) -> None:
        self.pending = b""  # what the zygote said past its last line read
        self.environment = {name: value for name, value in SESSION_ENVIRONMENT.items()
                            if name != "PYTHONPATH"}
        started_with = {**self.environment, **FIXED_ENVIRONMENT}
        for name, value in DEFAULT_ENVIRONMENT.items():
            started_with.setdefault(name, value)
        self.process = subprocess.Popen(
            [sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=started_with, cwd=tempfile.gettempdir())
        if self._reply(timeout=120) != ["ready"]:
            self.close()
            raise RuntimeError("the zygote did not start")
        atexit.register(self.close)

    def alive(self) -> bool:
        return self.process.poll() is None

    def differences(self, env: dict[str, str]) -> list[str]:
        """The variables in which `env` differs from the zygote's, as the command would see
        them (the defaults are the command's too: an in-process build sets them in the test
        process itself)."""
        def relevant(environment):
            seen = {**DEFAULT_ENVIRONMENT, **environment}
            return {name: value for name, value in seen.items()
                    if name not in IGNORED and not name.startswith(IGNORED_PREFIXES)}

        ours, theirs = relevant(self.environment), relevant(env)
        return sorted(name for name in ours.keys() | theirs.keys()
                      if ours.get(name) != theirs.get(name))

    def run(self, command: list[str], cwd: Path, env: dict[str, str],
            timeout: float) -> subprocess.CompletedProcess:
        with tempfile.TemporaryDirectory(prefix="cqbook-command-") as folder:
            out, err = Path(folder, "stdout"), Path(folder, "stderr")
            order = {"arguments": command[2:], "cwd": str(cwd), "env": env,
                     "stdout": str(out), "stderr": str(err)}
            self.process.stdin.write((json.dumps(order) + "\n").encode())
            self.process.stdin.flush()
            started = self._reply(timeout=60)
            if started[:1] != ["started"]:
                raise RuntimeError(f"the zygote did not fork the command: {started}")
            ended = self._reply(timeout=timeout)
            if not ended:  # as subprocess.run: the command is killed, then waited for
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(started[1]), signal.SIGKILL)
                self._reply(timeout=60)
                raise subprocess.TimeoutExpired(command, timeout, _text(out), _text(err))
            return subprocess.CompletedProcess(command, int(ended[2]), _text(out), _text(err))

    def _reply(self, timeout: float) -> list[str]:
        """The zygote's next line, split; [] if none came within `timeout` seconds or the
        zygote is gone. Read from the pipe itself, never through a buffered file: a command
        that ends at once sends `started` and `ended` together, and a buffered readline
        would take both, leaving select() to wait for a line already read."""
        while b"\n" not in self.pending:
            if not select.select([self.process.stdout], [], [], timeout)[0]:
                return []
            chunk = os.read(self.process.stdout.fileno(), 4096)
            if not chunk:
                return []
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return line.decode().split()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _text(path: Path) -> str:
    """As subprocess.run(text=True) decodes: the locale's encoding, universal newlines."""
    data = path.read_bytes() if path.exists() else b""
    text = data.decode(locale.getpreferredencoding(False))
    return text.replace("\r\n", "\n").replace("\r", "\n")


# ------------------------------------------------------------------ the zygote itself


def serve() -> None:
    """Import PRELOADED, say `ready`, then fork each order (a JSON line on stdin): `started
    PID` when forked, `ended PID CODE` when it has ended."""
    import gc
    import importlib

    # As cqbook/__init__.py does first in every process of the book: jsonschema (through
    # nbformat) without rfc3987_syntax, whose Lark grammar a real command never compiles.
    sys.modules.setdefault("rfc3987_syntax", None)
    for name in PRELOADED:  # none imports what only a kernel may (the tests check)
        importlib.import_module(name)
    sys.path.pop(0)  # this file's folder; each command gets its own first entry
    gc.freeze()
    _say("ready")
    for line in sys.stdin.buffer:
        if _threads() != 1:  # a fork copies one thread: refuse rather than hang
            _say("refused")
            continue
        order = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _become(order)  # never returns: the command ends the process
        _say(f"started {pid}")
        _, status = os.waitpid(pid, 0)
        _say(f"ended {pid} {os.waitstatus_to_exitcode(status)}")


def _say(line: str) -> None:
    os.write(1, f"{line}\n".encode())


def _threads() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("Threads:"))


def _become(order: dict) -> None:
    """In the fork: the process `python -m cqbook ARGUMENTS` would be, then the command."""
    import runpy

    stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    for fd, path in ((1, order["stdout"]), (2, order["stderr"])):
        os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.chdir(order["cwd"])
    environment = {**order["env"], **FIXED_ENVIRONMENT}
    for name, value in DEFAULT_ENVIRONMENT.items():
        environment.setdefault(name, value)
    os.environ.clear()
    os.environ.update(environment)
    # `python -m`: the working directory first, then PYTHONPATH, then the interpreter's own.
    extra = [entry for entry in environment.get("PYTHONPATH", "").split(os.pathsep) if entry]
    sys.path[:0] = [os.getcwd(), *extra]
    sys.argv = ["-m", *order["arguments"][1:]]
    runpy.run_module(order["arguments"][0], run_name="__main__", alter_sys=True)
    sys.exit(0)  # the module ran to its end, as `python -m` then exits


if __name__ == "__main__":
    serve()
