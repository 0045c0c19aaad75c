"""Fast notebook execution: real Jupyter kernels forked from a process that already imported
the heavy libraries, where forking is safe; real kernels started the usual way elsewhere.

Where the time went with one `python -m ipykernel_launcher` per notebook: every kernel
imported IPython, ipykernel, pandas, matplotlib and nbformat (myst_nb's glue imports it,
and jsonschema's format checker compiles a grammar at import) on its own, seconds each,
before the first line of the notebook ran.

Here the build process imports those once (`preload`), then

- `task_pool.run_tasks` runs each task (a notebook, or one run of a sweep) in its own process
  forked from it: nothing is shared between tasks but what was imported;
- the papermill engine `cqbook-fork` forks the notebook's kernel from that process before
  papermill starts talking to it, through a jupyter_client kernel provisioner. The kernel
  is ipykernel itself (`IPKernelApp`, the same code `python -m ipykernel_launcher` runs),
  started with the command line, environment and working directory jupyter_client
  prepared, in a new session, with no inherited files; so its outputs are a real kernel's.
  Parameters, timeouts, dead-kernel and error reporting are papermill's and nbclient's.

Forking is done only where it is safe (`fork_refusal`): on Linux, from a process running
one OS thread (not one Python thread: numpy's BLAS starts its own), on a Python the tests
ran on, with the fixed string hash seed every kernel gets, outside a running event loop.
Anywhere else, and everywhere with `CQBOOK_ENGINE=kernel`, nothing forks: each task runs in
a new interpreter (`subprocess`, fork+exec) and each kernel is `python -m ipykernel_launcher`
started by jupyter_client; the build says so once. Both engines give every kernel
`KERNEL_ENVIRONMENT` (one `PYTHONHASHSEED`, one BLAS thread), so they write the same bytes.

What this module still takes from libraries' internals, and why (versions pinned exactly in
requirements.lock; tests/build/test_engine.py compares a forked kernel with a real one):

| what | where | why |
|---|---|---|
| pandas `_config.config._registered_options`, `RegisteredOption._replace`, `pandas._config.display.detect_console_encoding` | `_pandas_as_in_a_kernel` | pandas chooses two defaults at import from where it runs (a terminal or a kernel) and has no public way to choose again once the kernel exists |
| papermill `Engine.execute_notebook` re-done with a `NotebookExecutionManager` subclass that saves less | `_QuietManager`, `_engine_class` | papermill writes the whole notebook twice per cell (a quarter of a notebook's time) and has no option to save less |
| jupyter_client `KernelManager.provisioner` set before `start_kernel` | `_kernel_manager_class` | a public attribute, but jupyter_client otherwise picks a provisioner only from a kernel spec's metadata and an installed entry point; ours needs the zygote of this one notebook |
| jupyter_client `LocalProvisioner.process`, `.pid`, `.pgid`, `.cwd` set by our `launch_kernel` (a `ForkedProcess` in place of a `Popen`) | `BookProvisioner.launch_kernel` | LocalProvisioner's poll, wait, signal and kill read them; undocumented attributes of a documented base class |
| jupyter_core `utils.ensure_event_loop` (public name, undocumented) | `_close_inherited_event_loop` | the loop a previous notebook of this process ran on is kept there; closed, it is not reused by the kernel |
| ipykernel `IPKernelApp.instance().initialize(); .start()` in-process, `sys.argv[0]` set to `ipykernel_launcher.__file__` | `_become_kernel` | what `ipykernel_launcher` itself runs; there is no "become a kernel" API |

Gone: `atexit._clear`/`_run_exitfuncs` (a forked kernel ends with `os._exit`, as a stopped
kernel does), `asyncio.events._set_running_loop` and the deprecated `set_event_loop_policy`
(no fork inside a running loop; the kept loop is closed), jupyter_core `_runner_map`/`_loop`,
jupyter_client `_async_launch_kernel` and `_reconcile_connection_info` (a provisioner now).
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable
from typing import Any

ENGINE_NAME = "cqbook-fork"
ENGINE_VARIABLE = "CQBOOK_ENGINE"  # "fork" (default) or "kernel"
# Fork only on the Pythons the test suite ran on: fork-without-exec safety is a property of
# the interpreter and its libraries, not something a newer version promises.
TESTED_PYTHONS = ((3, 11), (3, 12), (3, 13))
HASH_SEED = "0"
# Every kernel of both engines: the same string hashes (set order, byte-stable output) and
# one BLAS thread (OpenBLAS starts a thread per core at import, which rules out forking;
# one thread also keeps floating-point sums in one order).
KERNEL_ENVIRONMENT = {"PYTHONHASHSEED": HASH_SEED, "OPENBLAS_NUM_THREADS": "1"}

# What a notebook kernel of this book imports, in import order. Not here on purpose:
# matplotlib_inline.backend_inline (it hooks into IPython when imported, so it must be
# imported inside the kernel) and jieba (it binds its log handler to sys.stderr at import).
def _chapter_modules() -> tuple[str, ...]:
    """Every module a chapter may import: all of `dataset` and `analysis`
    (tests/build/test_architecture.py), found, not listed, so a new one is preloaded too."""
    import pkgutil

    import cqbook.analysis
    import cqbook.dataset

    return tuple(f"{package.__name__}.{module.name}"
                 for package in (cqbook.dataset, cqbook.analysis)
                 for module in pkgutil.iter_modules(package.__path__))


PRELOAD = (
    "numpy", "pandas", "matplotlib", "matplotlib.pyplot", "matplotlib.dates",
    "matplotlib.patches", "matplotlib.ticker", "IPython", "IPython.display",
    "IPython.core.formatters", "ipykernel.ipkernel", "ipykernel.zmqshell",
    "nbformat", "myst_nb", "myst_nb.ext.glue", *_chapter_modules(),
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


def fix_process_environment() -> None:
    """First thing `python -m cqbook` does: the build process gets the kernels' hash seed
    (a forked kernel keeps its parent's; it is fixed when an interpreter starts, so this
    re-runs the command once) and one BLAS thread (before numpy is imported)."""
    if os.environ.get("PYTHONHASHSEED") != HASH_SEED:
        os.environ["PYTHONHASHSEED"] = HASH_SEED
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        flush_std()
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def os_thread_count() -> int:
    """Threads of this process as the OS counts them (numpy's BLAS threads included)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else 0


_no_fork_reason: str | None = None  # set in a task process that its parent did not fork


def fork_refusal() -> str | None:
    """Why this process must not fork a kernel or a task now; None when it may."""
    if engine_choice() == "kernel":
        return f"{ENGINE_VARIABLE}=kernel"
    if _no_fork_reason is not None:
        return _no_fork_reason
    if sys.platform != "linux" or not hasattr(os, "fork"):
        return f"forking without exec is safe here only on Linux, not {sys.platform}"
    if sys.version_info[:2] not in TESTED_PYTHONS:
        tested = ", ".join(f"{major}.{minor}" for major, minor in TESTED_PYTHONS)
        return (f"Python {sys.version_info[0]}.{sys.version_info[1]} is not one the fork "
                f"engine was tested on ({tested})")
    threads = os_thread_count()
    if threads != 1:
        return f"the process runs {threads} OS threads (a fork copies only one)"
    if sys.flags.hash_randomization:
        return (f"the process's string hash seed is random, not PYTHONHASHSEED={HASH_SEED} "
                "as in every kernel (start it as `python -m cqbook`)")
    if "asyncio" in sys.modules:
        import asyncio

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            return "an asyncio event loop is running in this thread"
    return None


def refused_by_parent(reason: str) -> None:
    """In a task process its parent started as a new interpreter: the parent decided not to
    fork, and said so once."""
    global _no_fork_reason, _said
    _no_fork_reason, _said = reason, True


def can_fork() -> bool:
    return fork_refusal() is None


_said = False


def say_engine_once(reason: str) -> None:
    """One line in the build output when kernels are not forked, and why."""
    global _said
    if not _said:
        _said = True
        print(f"engine: real kernels, one `python -m ipykernel_launcher` each; not forked: "
              f"{reason}", flush=True)


_preloaded = False


def preload(modules: Iterable[str] = PRELOAD) -> None:
    """Import what every kernel would import, once, in the process the kernels fork from."""
    global _preloaded
    if _preloaded or fork_refusal() is not None:
        return
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # if numpy is not imported yet
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


def flush_std() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):
            pass


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
    """A child forked now, before this notebook's zmq sockets and event loop exist, that
    waits for the launch command and then becomes the kernel. One use."""

    def __init__(self) -> None:
        kernel_sys_path()
        read_fd, write_fd = os.pipe()
        flush_std()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(write_fd)
                _become_kernel(read_fd)
            except BaseException:  # noqa: BLE001
                import traceback

                traceback.print_exc()
                flush_std()
                os._exit(1)
            # As a kernel that was stopped: nothing of the parent's runs at exit.
            flush_std()
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
    # Nothing of the parent's is collected or closed in the kernel.
    gc.freeze()
    _close_inherited_event_loop()
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


def _close_inherited_event_loop() -> None:
    """A process that already ran a notebook keeps the event loop it ran on (jupyter_core
    keeps it for the thread, asyncio as the thread's loop). Closed here, before its files
    are, neither reuses it: the kernel starts its own."""
    if "asyncio" not in sys.modules:
        return
    import asyncio

    utils = sys.modules.get("jupyter_core.utils")
    if utils is not None:
        utils.ensure_event_loop().close()  # the kept one, or a new one: closed, not reused
    asyncio.set_event_loop(None)


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


# ------------------------------------------------------------------ jupyter_client, papermill


def _provisioner_class():
    from jupyter_client.provisioning import LocalProvisioner

    class BookProvisioner(LocalProvisioner):
        """jupyter_client's local provisioner: the kernel environment of both engines, and
        the kernel forked from `zygote` when there is one (else started by Popen)."""

        zygote: KernelZygote | None = None

        async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
            kwargs = await super().pre_launch(**kwargs)
            kwargs["env"].update(KERNEL_ENVIRONMENT)
            return kwargs

        async def launch_kernel(self, cmd: list[str], **kwargs: Any):
            zygote = self.zygote
            if zygote is None or zygote.used or not zygote.accepts(cmd):
                if zygote is not None:
                    zygote.discard()
                return await super().launch_kernel(cmd, **kwargs)
            cwd = kwargs.get("cwd") or os.getcwd()
            env = dict(kwargs.get("env") or os.environ)
            if not kwargs.get("independent"):  # as jupyter_client.launcher.launch_kernel does
                env["JPY_PARENT_PID"] = str(os.getpid())
            pid = zygote.launch(cmd, env, str(cwd))
            self.process = ForkedProcess(pid)
            self.pid = self.pgid = pid
            self.cwd = cwd
            return self.connection_info

    return BookProvisioner


def _kernel_manager_class(zygote: KernelZygote | None):
    from jupyter_client import AsyncKernelManager

    provisioner_class = _provisioner_class()

    class BookKernelManager(AsyncKernelManager):
        """jupyter_client's kernel manager with our provisioner, on Unix sockets of its own.

        Over TCP, jupyter_client picks a kernel's five ports by binding each to port 0 and
        closing it again before the kernel binds it: two kernels started at once (a build's
        two, or two builds') could be handed the same port, and one kernel then read the
        other's messages ("DELIM not in msg_list"). A socket file named by the kernel's id
        cannot be taken twice, and nothing listens on the network."""

        async def start_kernel(self, **kw: Any) -> None:
            if self.provisioner is None:
                self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
                self.transport = "ipc"
                # A short path: a socket's is limited to 107 bytes.
                self.ip = os.path.join(tempfile.gettempdir(), f"cqbook-kernel-{self.kernel_id}")
                self.provisioner = provisioner_class(
                    kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
                self.provisioner.zygote = zygote
            await super().start_kernel(**kw)

    return BookKernelManager


def _quiet_manager_class():
    from papermill.engines import NotebookExecutionManager

    class QuietManager(NotebookExecutionManager):
        """papermill writes the whole notebook (validated, SVGs and all) as each cell starts
        and again as it ends: a quarter of a notebook's time here. This one writes at the
        start, on an error, every `autosave_cell_every` seconds and at the end (papermill
        writes the final state in a `finally`, so a timeout or a dead kernel still leaves
        the notebook showing the cell that was running)."""

        _hushed = False

        def save(self, **kwargs):
            if not self._hushed:
                super().save(**kwargs)

        def _without_saving(self, method, *args, **kwargs):
            self._hushed = True
            try:
                return method(*args, **kwargs)
            finally:
                self._hushed = False

        def cell_start(self, cell, cell_index=None, **kwargs):
            return self._without_saving(super().cell_start, cell, cell_index, **kwargs)

        def cell_complete(self, cell, cell_index=None, **kwargs):
            return self._without_saving(super().cell_complete, cell, cell_index, **kwargs)

    return QuietManager


def _engine_class():
    from papermill.engines import NBClientEngine

    quiet_manager = _quiet_manager_class()

    class BookEngine(NBClientEngine):
        """papermill's nbclient engine, saving less; the kernel forked where safe."""

        @classmethod
        def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True,
                             log_output=False, autosave_cell_every=30, **kwargs):
            # papermill's Engine.execute_notebook, with our manager.
            nb_man = quiet_manager(nb, output_path=output_path, progress_bar=progress_bar,
                                   log_output=log_output,
                                   autosave_cell_every=autosave_cell_every)
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output,
                                             **kwargs)
            finally:
                nb_man.cleanup_pbar()
                nb_man.notebook_complete()
            return nb_man.nb

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):
            reason = fork_refusal()
            if reason is not None:
                say_engine_once(reason)
            zygote = KernelZygote() if reason is None else None
            try:
                kwargs.setdefault("kernel_manager_class", _kernel_manager_class(zygote))
                # Every output has arrived when the last cell is done: no need to wait for
                # the kernel to wind down.
                kwargs.setdefault("shutdown_kernel", "immediate")
                return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)
            finally:
                if zygote is not None:
                    zygote.discard()

    return BookEngine


_registered = False


def register() -> str:
    """Register the engine with papermill; return its name."""
    global _registered
    if not _registered:
        from papermill.engines import papermill_engines

        papermill_engines.register(ENGINE_NAME, _engine_class())
        _registered = True
    return ENGINE_NAME


def engine_name() -> str:
    """The papermill engine to use: ours, with either kind of kernel (`fork_refusal`)."""
    engine_choice()  # a wrong CQBOOK_ENGINE is refused before anything runs
    return register()


def preloaded_modules() -> list[str]:
    return sorted(m for m in PRELOAD if m in sys.modules)
