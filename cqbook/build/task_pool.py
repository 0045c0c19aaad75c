"""One process per task, at most `jobs` at a time: the pool the build runs notebooks in and
`sweep` runs its runs in.

Each task (a function and its arguments) runs in a fresh process and sends back its result,
or the exception it raised, pickled through a pipe: forked from this process where the
engine allows it (`engine.fork_refusal`: the tasks then start with everything `engine.preload`
imported), else a new interpreter of this Python (fork+exec) that reads this process's module
path and the task from its stdin. A task that ends without a result (killed, `os._exit`) is an
outcome too, never a hang.
"""

from __future__ import annotations

import os
import pickle
import selectors
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from cqbook.build import engine


class _Task:
    """One running task: the pipe its result comes through, and its process."""

    def __init__(self, index: int, read_fd: int, pid: int, process=None):
        self.index, self.read_fd, self.pid, self.process = index, read_fd, pid, process
        self.buffer = bytearray()

    def exit_code(self) -> int:
        if self.process is not None:
            return self.process.wait()
        return os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
            self.exit_code()
        except OSError:
            pass


def run_tasks(function: Callable, argument_tuples: list[tuple], jobs: int,
             on_done: Callable[[int, bool, Any], None] | None = None,
             meanwhile: Callable[[], None] | None = None) -> list[tuple[bool, Any]]:
    """Run `function(*args)` for each tuple, each in a fresh process, at most `jobs` at a
    time: forked from this one where that is safe (`engine.fork_refusal`), else a new interpreter
    (then `function` and its arguments must pickle). Returns [(ok, result or exception)] in
    the order given, and calls `on_done(index, ok, value)` as each ends. `meanwhile()` is
    called once, in this process, when the first tasks have started: this process only waits
    for them, so work the caller needs later costs no time there."""
    reason = engine.fork_refusal()
    if reason is not None:
        engine.say_engine_once(reason)
    outcomes: list[tuple[bool, Any] | None] = [None] * len(argument_tuples)
    pending = list(enumerate(argument_tuples))
    running: dict[int, _Task] = {}
    selector = selectors.DefaultSelector()
    jobs = max(1, jobs)
    try:
        while pending or running:
            while pending and len(running) < jobs:
                index, arguments = pending.pop(0)
                task = (_fork_task(index, function, arguments) if reason is None
                        else _spawn_task(index, function, arguments, reason))
                running[task.read_fd] = task
                selector.register(task.read_fd, selectors.EVENT_READ)
            if meanwhile is not None:
                meanwhile, call = None, meanwhile
                call()
            for key, _ in selector.select():
                task = running[key.fd]
                chunk = os.read(key.fd, 1 << 16)
                if chunk:
                    task.buffer.extend(chunk)
                    continue
                selector.unregister(key.fd)
                os.close(key.fd)
                del running[key.fd]
                outcome = _outcome(task.buffer, task.exit_code())
                outcomes[task.index] = outcome
                if on_done is not None:
                    on_done(task.index, *outcome)
    finally:
        for fd, task in running.items():  # interrupted: stop what still runs
            task.kill()
            os.close(fd)
        selector.close()
    return outcomes  # type: ignore[return-value]


def _run_and_send(function: Callable, arguments: tuple, write_fd: int) -> None:
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
    engine.flush_std()


def _fork_task(index: int, function: Callable, arguments: tuple) -> _Task:
    read_fd, write_fd = os.pipe()
    engine.flush_std()
    pid = os.fork()
    if pid == 0:  # the task's own process
        try:
            os.close(read_fd)
            _run_and_send(function, arguments, write_fd)
        finally:
            os._exit(0)
    os.close(write_fd)
    return _Task(index, read_fd, pid)


# A new interpreter that takes this process's module path, then the task, from its stdin.
_SPAWNED = ("import pickle, sys; sys.path[:] = pickle.load(sys.stdin.buffer); "
            "from cqbook.build.task_pool import _run_spawned_task; _run_spawned_task()")


def _spawn_task(index: int, function: Callable, arguments: tuple, reason: str) -> _Task:
    read_fd, write_fd = os.pipe()
    engine.flush_std()
    process = subprocess.Popen([sys.executable, "-c", _SPAWNED, str(write_fd)],
                               stdin=subprocess.PIPE, pass_fds=(write_fd,))
    os.close(write_fd)
    with process.stdin:
        pickle.dump(list(sys.path), process.stdin)
        pickle.dump((reason, function, arguments), process.stdin)
    return _Task(index, read_fd, process.pid, process)


def _run_spawned_task() -> None:
    write_fd = int(sys.argv[1])
    reason, function, arguments = pickle.load(sys.stdin.buffer)
    engine.refused_by_parent(reason)
    _run_and_send(function, arguments, write_fd)


def _outcome(data: bytearray, code: int) -> tuple[bool, Any]:
    if data:
        try:
            return pickle.loads(bytes(data))
        except Exception as error:  # noqa: BLE001
            return False, RuntimeError(f"the task's result could not be read: {error}")
    how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
    return False, RuntimeError(f"the worker process ended without a result ({how})")

