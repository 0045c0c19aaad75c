"""Fast notebook execution: real Jupyter kernels forked from a process that already imported
the heavy libraries, and a fork-per-task executor to run notebooks side by side.

Where the time went with one `python -m ipykernel_launcher` per notebook: every kernel
imported IPython, ipykernel, pandas, matplotlib and nbformat (myst_nb's glue imports it,
and jsonschema's format checker compiles a grammar at import) on its own, seconds each,
before the first line of the notebook ran.

Here the build process imports those once (`preload`), then

- `fork_map` runs each task (a notebook, or one run of a sweep) in its own process forked
  from it: nothing is shared between tasks but what was imported;
- the papermill engine `cqbook-fork` forks the notebook's kernel from that process before
  papermill starts talking to it. The kernel is ipykernel itself (`IPKernelApp`, the same
  code `python -m ipykernel_launcher` runs), started with the command line, environment and
  working directory jupyter_client prepared, in a new session, with no inherited files; so
  its outputs are a real kernel's. Parameters, timeouts, dead-kernel and error reporting are
  papermill's and nbclient's, unchanged.

`CQBOOK_ENGINE=kernel` (or a process with threads, such as a Dask worker) uses papermill's
own engine: one `python -m ipykernel_launcher` per notebook.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import pickle
import selectors
import signal
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

ENGINE_NAME = "cqbook-fork"
ENGINE_VARIABLE = "CQBOOK_ENGINE"  # "fork" (default) or "kernel"

# What a notebook kernel of this book imports, in import order. Not here on purpose:
# matplotlib_inline.backend_inline (it hooks into IPython when imported, so it must be
# imported inside the kernel) and jieba (it binds its log handler to sys.stderr at import).
PRELOAD = (
    "numpy", "pandas", "matplotlib", "matplotlib.pyplot", "matplotlib.dates",
    "matplotlib.patches", "matplotlib.ticker", "IPython", "IPython.display",
    "IPython.core.formatters", "ipykernel.ipkernel", "ipykernel.zmqshell",
    "nbformat", "myst_nb", "myst_nb.ext.glue", "cqbook.data", "cqbook.units", "cqbook.charts",
    "cqbook.headlines", "cqbook.projections", "cqbook.intensity", "cqbook.segmentation",
    "cqbook.sources",
)
# Imported inside each kernel, never before it starts: matplotlib_inline (see PRELOAD) and
# ipykernel.kernelapp, whose class reads JPY_PARENT_PID from the environment at import.
KERNEL_ONLY = ("matplotlib_inline", "ipykernel.kernelapp")
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def engine_choice() -> str:
    choice = os.environ.get(ENGINE_VARIABLE, "fork").strip().lower() or "fork"
    if choice not in ("fork", "kernel"):
        raise ValueError(f"{ENGINE_VARIABLE}={choice!r}: use 'fork' or 'kernel'")
    return choice


def can_fork() -> bool:
    """Forking is safe only from a process with one thread (a Dask worker has many)."""
    return (hasattr(os, "fork") and threading.active_count() == 1
            and engine_choice() == "fork")


_preloaded = False


def preload(modules: Iterable[str] = PRELOAD) -> None:
    """Import what every kernel would import, once, in the process the kernels fork from."""
    global _preloaded
    if _preloaded or engine_choice() != "fork":
        return
    for name in modules:
        try:
            # Plainly: the filters a module adds to `warnings` at import (numpy's ...) must
            # stay, as they would in a kernel that imported it.
            importlib.import_module(name)
        except Exception:  # noqa: BLE001, S110 - the kernel imports it itself, or fails there
            pass
    _forget_kernel_only()
    kernel_sys_path()
    register()
    _preloaded = True


_kernel_sys_path: list[str] | None = None


def kernel_sys_path() -> list[str] | None:
    global _kernel_sys_path
    if _kernel_sys_path is None:
        _kernel_sys_path = _fresh_sys_path()
    return _kernel_sys_path


def _fresh_sys_path() -> list[str] | None:
    """The module path of a new interpreter of this Python in this environment, without
    the first entry (`python -m ipykernel_launcher` removes it): a kernel's path. This
    process's own may have grown (pytest, a script's folder)."""
    import subprocess

    try:
        completed = subprocess.run(
            [sys.executable, "-c", "import json, sys; print(json.dumps(sys.path[1:]))"],
            capture_output=True, text=True, timeout=60, check=True)
        return json.loads(completed.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def _forget_kernel_only() -> None:
    for name in [m for m in sys.modules
                 if any(m == k or m.startswith(k + ".") for k in KERNEL_ONLY)]:
        del sys.modules[name]


# ------------------------------------------------------------------ fork-per-task executor


def _flush_std() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):
            pass


def fork_map(function: Callable, argument_tuples: list[tuple], jobs: int,
             on_done: Callable[[int, bool, Any], None] | None = None) -> list[tuple[bool, Any]]:
    """Run `function(*args)` for each tuple, each in a fresh process forked from this one,
    at most `jobs` at a time. Returns [(ok, result or exception)] in the order given, and
    calls `on_done(index, ok, value)` as each ends."""
    outcomes: list[tuple[bool, Any] | None] = [None] * len(argument_tuples)
    pending = list(enumerate(argument_tuples))
    running: dict[int, tuple[int, bytearray, int]] = {}  # fd -> (index, buffer, pid)
    selector = selectors.DefaultSelector()
    jobs = max(1, jobs)
    try:
        while pending or running:
            while pending and len(running) < jobs:
                index, arguments = pending.pop(0)
                read_fd, pid = _start_task(function, arguments)
                running[read_fd] = (index, bytearray(), pid)
                selector.register(read_fd, selectors.EVENT_READ)
            for key, _ in selector.select():
                fd = key.fd
                index, buffer, pid = running[fd]
                chunk = os.read(fd, 1 << 16)
                if chunk:
                    buffer.extend(chunk)
                    continue
                selector.unregister(fd)
                os.close(fd)
                del running[fd]
                _, status = os.waitpid(pid, 0)
                outcome = _outcome(buffer, status)
                outcomes[index] = outcome
                if on_done is not None:
                    on_done(index, *outcome)
    finally:
        for fd, (_, _, pid) in running.items():  # interrupted: stop what still runs
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass
            os.close(fd)
        selector.close()
    return outcomes  # type: ignore[return-value]


def _start_task(function: Callable, arguments: tuple) -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    _flush_std()
    pid = os.fork()
    if pid == 0:  # the task's own process
        try:
            os.close(read_fd)
            try:
                outcome = (True, function(*arguments))
            except BaseException as error:  # noqa: BLE001 - sent to the parent
                outcome = (False, error)
            try:
                data = pickle.dumps(outcome)
            except Exception as error:  # noqa: BLE001
                data = pickle.dumps((False, RuntimeError(
                    f"{outcome[1]!r} could not be sent back ({error})")))
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(data)
            _flush_std()
        finally:
            os._exit(0)
    os.close(write_fd)
    return read_fd, pid


def _outcome(data: bytearray, status: int) -> tuple[bool, Any]:
    if data:
        try:
            return pickle.loads(bytes(data))
        except Exception as error:  # noqa: BLE001
            return False, RuntimeError(f"the task's result could not be read: {error}")
    code = os.waitstatus_to_exitcode(status)
    how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
    return False, RuntimeError(f"the worker process ended without a result ({how})")


# ------------------------------------------------------------------ forked kernels


class ForkedProcess:
    """What jupyter_client's LocalProvisioner needs of a `subprocess.Popen`, for a kernel
    forked from this process."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid, self.returncode = pid, None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = -signal.SIGKILL
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                import subprocess

                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.01)
        return self.returncode  # type: ignore[return-value]

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class KernelZygote:
    """A child forked now, while this process runs no event loop and no thread, that waits
    for the launch command and then becomes the kernel. One use."""

    def __init__(self) -> None:
        kernel_sys_path()
        read_fd, write_fd = os.pipe()
        _flush_std()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(write_fd)
                _become_kernel(read_fd)
            except BaseException:  # noqa: BLE001
                import traceback

                traceback.print_exc()
                _flush_std()
                os._exit(1)
            os._exit(0)
        os.close(read_fd)
        self.pid, self._write_fd, self.used = pid, write_fd, False

    @staticmethod
    def accepts(command: list[str]) -> bool:
        """Only the command of ipykernel's own kernel spec, for this Python."""
        if len(command) < 3 or command[1:3] != ["-m", "ipykernel_launcher"]:
            return False
        try:
            return os.path.samefile(command[0], sys.executable)
        except OSError:
            return False

    def launch(self, command: list[str], env: dict[str, str], cwd: str | None) -> int:
        payload = pickle.dumps((list(command), dict(env), cwd))
        os.write(self._write_fd, struct.pack("!I", len(payload)) + payload)
        os.close(self._write_fd)
        self.used = True
        return self.pid

    def discard(self) -> None:
        """Never used: let it end (it ends when its pipe closes) and reap it."""
        if self.used:
            return
        self.used = True
        os.close(self._write_fd)
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def _read_exactly(fd: int, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _become_kernel(read_fd: int) -> None:
    """In the forked child: wait for the launch, then start ipykernel as its launcher does."""
    os.setsid()  # its own process group, as jupyter_client starts kernels
    for signum, handler in ((signal.SIGINT, signal.default_int_handler),
                            (signal.SIGTERM, signal.SIG_DFL), (signal.SIGCHLD, signal.SIG_DFL),
                            (signal.SIGHUP, signal.SIG_DFL), (signal.SIGPIPE, signal.SIG_IGN)):
        signal.signal(signum, handler)
    header = _read_exactly(read_fd, 4)
    if len(header) < 4:
        os._exit(0)  # the notebook never asked for its kernel
    command, env, cwd = pickle.loads(_read_exactly(read_fd, struct.unpack("!I", header)[0]))
    # Nothing of the parent's is collected, closed or run at exit in the kernel.
    gc.freeze()
    import atexit

    atexit._clear()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.closerange(3, _max_fd())  # a kernel started by Popen inherits no file either
    if _kernel_sys_path is not None:
        sys.path[:] = _kernel_sys_path
    elif sys.path and (sys.path[0] == "" or _same_dir(sys.path[0], os.getcwd())
                       or _same_dir(sys.path[0], os.path.dirname(os.path.abspath(sys.argv[0])))):
        # The entry the interpreter put first (a script's folder, the working directory):
        # ipykernel_launcher removes its own, so a kernel has none.
        del sys.path[0]
    if cwd:
        os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    import ipykernel_launcher

    sys.argv = [ipykernel_launcher.__file__, *command[3:]]
    _forget_kernel_only()
    _forget_event_loops()
    if "matplotlib" in sys.modules:
        # What ipykernel sets before any import (IPKernelApp.init_gui_pylab) and what
        # matplotlib reads from the environment when it is imported.
        os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
        matplotlib = sys.modules["matplotlib"]
        matplotlib.rcParams["backend"] = os.environ["MPLBACKEND"]
        matplotlib.rcParamsOrig["backend"] = os.environ["MPLBACKEND"]
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()  # a new process draws new numbers
    from ipykernel import kernelapp

    # kernelapp.launch_new_instance(), with the choices libraries made at import redone
    # once the kernel exists, as they would have been made had they been imported in it.
    app = kernelapp.IPKernelApp.instance()
    app.initialize()
    if "pandas" in sys.modules:
        _pandas_as_in_a_kernel(app.shell)
    app.start()
    atexit._run_exitfuncs()
    _flush_std()


def _forget_event_loops() -> None:
    """A process that already ran a notebook keeps its asyncio loop (and jupyter_core's
    record of it); their files were closed above. The kernel starts its own."""
    import asyncio

    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop_policy(None)
    utils = sys.modules.get("jupyter_core.utils")
    if utils is not None:
        utils._runner_map.clear()
        utils._loop.set(None)


def _pandas_as_in_a_kernel(shell) -> None:
    """pandas picks two defaults at import from where it runs: `display.max_columns` (0,
    "fit the terminal", outside a Jupyter kernel; 20 in one) and `display.encoding` (that of
    sys.stdout). Imported before the kernel existed, it chose the parent's: choose again,
    now, as pandas does."""
    from pandas._config import config
    from pandas._config.display import detect_console_encoding

    # pandas.core.config_init.is_terminal(), asked inside the kernel's shell (get_ipython
    # is a builtin only while a cell runs).
    in_a_terminal = not hasattr(shell, "kernel")
    for key, value in (("display.max_columns", 0 if in_a_terminal else 20),
                       ("display.encoding", detect_console_encoding())):
        option = config._registered_options.get(key)
        if option is None or option.defval == value:
            continue
        untouched = config.get_option(key) == option.defval
        config._registered_options[key] = option._replace(defval=value)
        if untouched:
            config.set_option(key, value)


def _same_dir(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _max_fd() -> int:
    try:
        return os.sysconf("SC_OPEN_MAX")
    except (ValueError, OSError):
        return 4096


def _fork_kernel_manager_class(zygote: KernelZygote):
    from jupyter_client import AsyncKernelManager

    class ForkKernelManager(AsyncKernelManager):
        """jupyter_client's kernel manager, launching the kernel from `zygote`."""

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            if zygote.used or not zygote.accepts(kernel_cmd):
                zygote.discard()
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            cwd = kw.get("cwd") or os.getcwd()
            env = dict(kw.get("env") or os.environ)
            if not kw.get("independent"):  # as jupyter_client.launcher.launch_kernel does
                env["JPY_PARENT_PID"] = str(os.getpid())
            pid = zygote.launch(kernel_cmd, env, str(cwd))
            provisioner = self.provisioner
            provisioner.process = ForkedProcess(pid)
            provisioner.pid = provisioner.pgid = pid
            provisioner.cwd = cwd
            self._reconcile_connection_info(provisioner.connection_info)

    return ForkKernelManager


def _engine_class():
    from papermill.engines import NBClientEngine

    class ForkEngine(NBClientEngine):
        """papermill's nbclient engine; the kernel is forked instead of started anew."""

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):
            if not can_fork():
                return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)
            _save_only_at_the_end(nb_man)
            zygote = KernelZygote()
            try:
                kwargs.setdefault("kernel_manager_class", _fork_kernel_manager_class(zygote))
                # Every output has arrived when the last cell is done: no need to wait for
                # the kernel to wind down.
                kwargs.setdefault("shutdown_kernel", "immediate")
                return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)
            finally:
                zygote.discard()

    return ForkEngine


def _save_only_at_the_end(nb_man) -> None:
    """papermill writes the whole notebook (validated, SVGs and all) as each cell starts and
    again as it ends: a quarter of a notebook's time here. Keep the writes at the start, on
    an error, every `autosave_cell_every` seconds and at the end (papermill writes the
    final state in a `finally`, so a timeout or a dead kernel still leaves the notebook
    showing the cell that was running)."""
    real_save, quiet = nb_man.save, [False]

    def save(**kwargs):
        if not quiet[0]:
            return real_save(**kwargs)

    def hushed(method):
        def call(*args, **kwargs):
            quiet[0] = True
            try:
                return method(*args, **kwargs)
            finally:
                quiet[0] = False
        return call

    nb_man.save = save
    nb_man.cell_start = hushed(nb_man.cell_start)
    nb_man.cell_complete = hushed(nb_man.cell_complete)


_registered = False


def register() -> str:
    """Register the engine with papermill; return its name."""
    global _registered
    if not _registered:
        from papermill.engines import papermill_engines

        papermill_engines.register(ENGINE_NAME, _engine_class())
        _registered = True
    return ENGINE_NAME


def engine_name() -> str | None:
    """The papermill engine to use: ours, or papermill's default (None)."""
    return register() if engine_choice() == "fork" else None


def preloaded_modules() -> list[str]:
    return sorted(m for m in PRELOAD if m in sys.modules)
