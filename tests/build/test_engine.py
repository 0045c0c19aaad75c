"""The fast engine: kernels forked from a process that imported what notebooks need, only
where that is safe. Its outputs and the kernel's state must be a real kernel's, each notebook
gets a fresh process, the executor reports every outcome, a process with a second OS thread
or `CQBOOK_ENGINE=kernel` forks nothing, and every chapter gives the same bytes with both
engines. No test here measures time."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest
from conftest import copy_repository, executed_notebooks

from cqbook.build import engine, task_pool
from cqbook.build.notebook_files import notebook_files
from cqbook.build.progress import Progress

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

# What a kernel knows about itself that a leak from the parent could change.
STATE_PROBE = r'''
import json, os, signal, sys, warnings
import matplotlib, pandas as pd
from pandas._config import config as pandas_config
state = {
    "cwd": os.getcwd(), "argv0": os.path.basename(sys.argv[0]), "path": sys.path,
    "jpy_parent_is_parent": os.environ.get("JPY_PARENT_PID") == str(os.getppid()),
    "mplbackend": os.environ.get("MPLBACKEND"), "backend": matplotlib.get_backend(),
    "pandas_options": {k: repr(pd.get_option(k)) for k in sorted(pandas_config._registered_options)
                       if k not in pandas_config._deprecated_options},
    "pandas_defaults": {k: repr(o.defval) for k, o in sorted(pandas_config._registered_options.items())},
    "rcparams": {k: repr(v) for k, v in sorted(matplotlib.rcParams.items())},
    "warning_filters": [repr(f) for f in warnings.filters],
    "sigint": repr(signal.getsignal(signal.SIGINT)), "own_group": os.getpgid(0) == os.getpid(),
    "open_files": sorted(os.listdir("/proc/self/fd"))[:3] if os.path.exists("/proc/self/fd") else [],
    "main": sys.modules["__main__"].__name__,
    "hash_seed": os.environ.get("PYTHONHASHSEED"), "hash_randomization": sys.flags.hash_randomization,
    "str_hash": hash("永川 set order"), "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
    "threads": len(os.listdir("/proc/self/task")),
    "transport": __import__("ipykernel.kernelapp").kernelapp.IPKernelApp.instance().transport,
}
print(json.dumps(state, sort_keys=True))
'''

OUTPUT_CELLS = [
    "factor = 2  # int, min 1, max 10; a parameter",
    STATE_PROBE,
    "import sys\nprint('to stdout')\nprint('to stderr', file=sys.stderr)\nfactor * 21",
    ("import pandas as pd\n"
     "frame = pd.DataFrame({'名称': ['永川', '巴南'], 'value': [12702, 178.0],\n"
     "                      **{f'column {i}': [i, i] for i in range(25)}})\n"
     "display(frame)\nframe.describe()"),
    ("import matplotlib.pyplot as plt\nfrom cqbook.analysis.charts import new_figure, use_book_style\n"
     "use_book_style()\nfig, ax = new_figure('图表 (chart)', 'test')\n"
     "_ = ax.bar(['甲', '乙'], [1, factor])\nplt.show()"),
    ("from cqbook.analysis.headlines import record\n"
     "_ = record('probe_value', factor * 1.5, unit='辆', label='a probe')"),
    "from IPython.display import Markdown, display\ndisplay(Markdown('**bold** 中文'))",
    "import warnings\nwarnings.warn('a user warning')",
]


def probe_notebook(path: Path) -> Path:
    cells = [nbformat.v4.new_code_cell(source, id=f"cell-{i}")
             for i, source in enumerate(OUTPUT_CELLS)]
    cells[0].metadata["tags"] = ["parameters"]
    notebook = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(notebook, path)
    return path


def comparable(path: Path) -> list:
    """Every output, with what differs between any two runs of a real kernel removed:
    stream chunking (how prints are split depends on timing), memory addresses and the
    kernel's process id in warnings' file names."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cells = []
    for cell in notebook["cells"]:
        outputs = []
        for output in cell.get("outputs", []):
            if (output["output_type"] == "stream" and outputs
                    and outputs[-1]["output_type"] == "stream"
                    and outputs[-1]["name"] == output["name"]):
                outputs[-1]["text"] += "".join(output["text"])
                continue
            text = re.sub(r"0x[0-9a-f]{6,}", "0x…", json.dumps(output))
            output = json.loads(re.sub(r"ipykernel_\d+", "ipykernel_…", text))
            if output["output_type"] == "stream":
                output["text"] = "".join(output["text"])
            outputs.append(output)
        cells.append((cell.get("execution_count"), outputs))
    return cells


# As the build runs notebooks: `python -m cqbook`'s environment (fixed hash seed), imports
# preloaded, one process per notebook (forked, or a new interpreter with the kernel engine).
RUNNER = """
import json, sys
from pathlib import Path
from cqbook.build import engine, task_pool
engine.fix_process_environment()
from cqbook.build.execution import execute_notebook
engine.preload()
source, failures = Path(sys.argv[1]), Path(sys.argv[2])
parameters = json.loads(sys.argv[3])
outputs = [Path(p) for p in sys.argv[4:]]
outcomes = task_pool.run_tasks(execute_notebook, [(source, output, parameters, failures)
                                                  for output in outputs], 2)
print("OUTCOMES " + json.dumps([[ok, str(value), str(getattr(value, "kept_at", ""))]
                                for ok, value in outcomes]))
"""

# Imported by every Python process of a test (build, tasks, kernels): writes the pid of
# each process that calls os.fork() (subprocess's fork+exec does not run these hooks).
FORK_WATCH = """
import os
_log = os.environ.get("CQBOOK_TEST_FORK_LOG")
if _log:
    def _record():
        with open(_log, "a") as log:
            log.write(f"{os.getpid()}\\n")
    os.register_at_fork(before=_record)
if os.environ.pop("CQBOOK_TEST_START_THREAD", None):
    import threading, time
    threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
"""


def watched_environment(tmp_path: Path, choice: str, *paths: Path) -> tuple[dict, Path]:
    """The environment of a test's process: the engine asked for, the fork watch on."""
    watch = tmp_path / "watch"
    watch.mkdir(exist_ok=True)
    (watch / "sitecustomize.py").write_text(FORK_WATCH, encoding="utf-8")
    log = tmp_path / f"forks-{choice}.log"
    log.write_text("")
    env = {**os.environ, engine.ENGINE_VARIABLE: choice, "CQBOOK_TEST_FORK_LOG": str(log),
           "PYTHONPATH": os.pathsep.join(str(p) for p in (watch, *paths))}
    return env, log


def run_with(choice: str, source: Path, outputs: list[Path], parameters: dict | None = None,
             ) -> tuple[list, str]:
    """Run `source` into each of `outputs` in a new process, as in a build (pytest's own
    warning filters stay out of it); returns [(ok, message, kept_at)] and what it printed."""
    env, _ = watched_environment(outputs[0].parent.parent, choice, REPO)
    completed = subprocess.run(
        [sys.executable, "-c", RUNNER, str(source), str(outputs[0].parent / "failures"),
         json.dumps(parameters or {}), *map(str, outputs)],
        check=True, env=env, timeout=300, capture_output=True, text=True)
    line = next(x for x in completed.stdout.splitlines() if x.startswith("OUTCOMES "))
    return json.loads(line.removeprefix("OUTCOMES ")), completed.stdout


def test_forked_kernel_gives_a_real_kernels_outputs_and_state(tmp_path):
    source = probe_notebook(tmp_path / "probe.ipynb")
    (tmp_path / "real").mkdir()
    (tmp_path / "fork").mkdir()
    outcomes, said = run_with("kernel", source, [tmp_path / "real" / "probe.ipynb"],
                              {"factor": 3})
    assert outcomes[0][0], outcomes
    assert said.count("engine: real kernels") == 1 and "CQBOOK_ENGINE=kernel" in said
    outcomes, said = run_with("fork", source, [tmp_path / "fork" / "probe.ipynb"], {"factor": 3})
    assert outcomes[0][0], outcomes
    assert "engine: real kernels" not in said
    real = comparable(tmp_path / "real" / "probe.ipynb")
    forked = comparable(tmp_path / "fork" / "probe.ipynb")
    real_state, forked_state = (_state(outputs) for outputs in (real, forked))
    # Modules add warning filters when imported, each for their own warnings; imported in
    # another order (papermill first) they stack in another order, and the process the
    # kernel was forked from imported a few more (papermill's requests, urllib3). Every
    # filter a real kernel has must be there; the others must be for a library's own
    # warnings, so that no warning is shown or hidden differently.
    real_filters = real_state.pop("warning_filters")
    forked_filters = forked_state.pop("warning_filters")
    assert set(real_filters) <= set(forked_filters)
    for extra in set(forked_filters) - set(real_filters):
        assert "re.compile" in extra or not re.search(
            r"<class '(DeprecationWarning|UserWarning|FutureWarning|RuntimeWarning|Warning)'>",
            extra), extra
    assert forked_state == real_state
    # One hash seed for both engines: the same set order, the same bytes.
    assert real_state["hash_seed"] == engine.HASH_SEED and real_state["hash_randomization"] == 0
    assert real_state["threads"] == 1 or real_state["blas_threads"] == "1"
    # Unix sockets, not TCP ports two kernels could both be handed (BookKernelManager).
    assert real_state["transport"] == "ipc"
    assert _without_state(forked) == _without_state(real)
    # ... and the outputs are the kinds the book relies on.
    kinds = {o["output_type"] for _, outputs in forked for o in outputs}
    assert kinds == {"stream", "execute_result", "display_data"}
    assert any("image/svg+xml" in o.get("data", {}) for _, outputs in forked for o in outputs)


def _without_state(cells: list) -> list:
    return [(count, [o for o in outputs if not (o["output_type"] == "stream"
                                                 and o["text"].startswith('{"argv0"'))])
            for count, outputs in cells]


def _state(cells: list) -> dict:
    return next(json.loads(o["text"]) for _, outputs in cells for o in outputs
                if o["output_type"] == "stream" and o["text"].startswith('{"argv0"'))


@pytest.mark.parametrize("choice", ["fork", "kernel"])
def test_each_notebook_gets_a_fresh_process(tmp_path, choice):
    source = tmp_path / "leak.ipynb"
    cell = nbformat.v4.new_code_cell(
        "import os, cqbook.dataset.units as units\n"
        "print(getattr(units, 'left_by_a_previous_notebook', None), os.getpid())\n"
        "units.left_by_a_previous_notebook = 'leaked'", id="only")
    nbformat.write(nbformat.v4.new_notebook(cells=[cell], metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}),
        source)
    (tmp_path / "runs").mkdir()
    outputs = [tmp_path / "runs" / f"run-{index}.ipynb" for index in range(3)]
    outcomes, _ = run_with(choice, source, outputs)
    assert all(ok for ok, _, _ in outcomes), outcomes
    printed = [comparable(output)[0][1][0]["text"].split() for output in outputs]
    assert [leftover for leftover, _ in printed] == ["None"] * 3
    assert len({pid for _, pid in printed}) == 3


def test_failing_cell_is_reported_as_with_a_real_kernel(tmp_path):
    source = tmp_path / "fails.ipynb"
    cells = [nbformat.v4.new_code_cell("x = 1", id="a"),
             nbformat.v4.new_code_cell("y = x / 0", id="b")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}),
        source)
    messages, kept = [], []
    for choice in ("kernel", "fork"):
        (tmp_path / choice).mkdir()
        [(ok, message, kept_at)], _ = run_with(choice, source, [tmp_path / choice / "out.ipynb"])
        assert not ok
        messages.append(message.replace(str(tmp_path / choice), "…"))
        kept.append(comparable(Path(kept_at)))
    assert messages[0] == messages[1]
    assert kept[0] == kept[1]  # the traceback too
    errors = [o for _, outputs in kept[1] for o in outputs if o["output_type"] == "error"]
    assert [e["ename"] for e in errors] == ["ZeroDivisionError"]
    assert "fails.ipynb: cell 1 (`y = x / 0`): ZeroDivisionError" in messages[1]


# Tasks any interpreter can unpickle at once (no test module to import): a result, an
# exception, a process that ends without a result.
TASKS = [("0 * 0",), ("1 * 1",), ("int('two is refused')",), ("__import__('os')._exit(7)",),
         ("4 * 4",)]


@pytest.mark.parametrize("refusal", [None, "a test's reason"], ids=["forked", "new-interpreter"])
def test_task_pool_keeps_order_and_reports_every_outcome(monkeypatch, refusal, capsys):
    monkeypatch.setattr(engine, "fork_refusal", lambda: refusal)
    monkeypatch.setattr(engine, "_said", False)
    seen = []
    outcomes = task_pool.run_tasks(eval, TASKS, 2, lambda index, ok, value: seen.append(index))
    assert sorted(seen) == list(range(5))
    assert outcomes[0] == (True, 0) and outcomes[1] == (True, 1) and outcomes[4] == (True, 16)
    assert outcomes[2][0] is False and "two is refused" in str(outcomes[2][1])
    assert outcomes[3][0] is False and "without a result (exit code 7)" in str(outcomes[3][1])
    said = capsys.readouterr().out
    assert said.count("engine: real kernels") == (0 if refusal is None else 1)


@pytest.mark.parametrize("refusal", [None, "a test's reason"], ids=["forked", "new-interpreter"])
def test_task_pool_calls_meanwhile_once_while_the_tasks_run(monkeypatch, refusal, tmp_path):
    monkeypatch.setattr(engine, "fork_refusal", lambda: refusal)
    monkeypatch.setattr(engine, "_said", False)
    flag = str(tmp_path / "meanwhile")
    # Each task waits up to 10 s for the file `meanwhile` writes: had it been called after
    # the tasks, each would answer "never written".
    wait = (f"next((open({flag!r}).read() for _ in range(1000) if "
            f"__import__('os').path.exists({flag!r}) or __import__('time').sleep(0.01)), "
            "'never written')")
    calls = []

    def meanwhile():
        calls.append(len(calls))
        written = Path(flag + ".part")  # renamed whole: a task never reads it half-written
        written.write_text("written while the tasks ran", encoding="utf-8")
        written.replace(flag)

    outcomes = task_pool.run_tasks(eval, [(wait,)] * 3, 2, meanwhile=meanwhile)
    assert calls == [0]
    assert outcomes == [(True, "written while the tasks ran")] * 3


def test_engine_is_chosen_by_environment(monkeypatch):
    monkeypatch.setenv(engine.ENGINE_VARIABLE, "kernel")
    assert engine.fork_refusal() == "CQBOOK_ENGINE=kernel" and not engine.can_fork()
    assert engine.engine_name() == engine.ENGINE_NAME  # the same engine, with real kernels
    monkeypatch.setenv(engine.ENGINE_VARIABLE, "fast please")
    with pytest.raises(ValueError, match="use 'fork' or 'kernel'"):
        engine.engine_choice()


def test_forking_is_refused_where_it_is_not_safe(monkeypatch):
    monkeypatch.setenv(engine.ENGINE_VARIABLE, "fork")
    monkeypatch.setattr(sys, "platform", "darwin")
    assert "only on Linux, not darwin" in engine.fork_refusal()
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(engine, "TESTED_PYTHONS", ((3, 99),))
    assert "was tested on (3.99)" in engine.fork_refusal()
    monkeypatch.setattr(engine, "TESTED_PYTHONS", (sys.version_info[:2],))
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        # The OS's count, not Python's: one Python thread more, one OS thread more.
        assert engine.os_thread_count() >= 2
        assert re.search(r"runs \d+ OS threads", engine.fork_refusal())
    finally:
        stop.set()
        thread.join()


def test_a_second_os_thread_means_real_kernels_said_once_and_no_fork(tmp_path):
    repo = copy_repository(tmp_path / "repo")
    env, log = watched_environment(tmp_path, "fork", repo)
    # A thread started before the build, by the interpreter's own start-up (sitecustomize),
    # in the build process only; the hash seed is already the kernels', so no re-run.
    env.update(CQBOOK_TEST_START_THREAD="1", PYTHONHASHSEED=engine.HASH_SEED)
    completed = subprocess.run([sys.executable, "-m", "cqbook", "build"], cwd=repo, env=env, check=False,
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    said = [line for line in completed.stdout.splitlines() if line.startswith("engine:")]
    assert len(said) == 1 and "the process runs 2 OS threads" in said[0], completed.stdout
    assert executed_notebooks(completed.stdout) == {"alpha", "beta"}
    assert log.read_text() == ""


def test_no_fork_anywhere_with_the_kernel_engine(tmp_path):
    repo = copy_repository(tmp_path / "repo")
    sweep = ["-m", "cqbook", "sweep", "alpha", "-p", "factor", "1", "2", "--jobs", "2"]
    forks = {}
    for choice in ("kernel", "fork"):
        env, log = watched_environment(tmp_path, choice, repo)
        completed = subprocess.run([sys.executable, *sweep], cwd=repo, env=env, check=False,
                                   capture_output=True, text=True, timeout=600)
        assert completed.returncode == 0, completed.stdout + completed.stderr
        forks[choice] = log.read_text().split()
        said = completed.stdout.count("engine: real kernels")
        assert said == (1 if choice == "kernel" else 0), completed.stdout
    assert forks["kernel"] == []
    # The watch sees forks where there are some: one per run, one per kernel.
    assert len(forks["fork"]) >= 4


def test_every_chapter_gives_the_same_bytes_with_both_engines(tmp_path):
    repo = copy_repository(tmp_path / "repo", fixture_book=False)
    script = """
import sys
from pathlib import Path
from cqbook.build import engine
engine.fix_process_environment()
from cqbook.build import pipeline
jobs = pipeline.plan_jobs({}, "test")
for job in jobs:
    job.output = Path(sys.argv[1]) / (job.name + ".ipynb")
failures = pipeline.execute_jobs(jobs, 2, lambda name, state, seconds: print(name, state))
assert not failures, failures
"""
    executed = {}
    for choice in ("kernel", "fork"):
        env, _ = watched_environment(tmp_path, choice, repo)
        output = tmp_path / choice
        completed = subprocess.run([sys.executable, "-c", script, str(output)], cwd=repo, check=False,
                                   env=env, capture_output=True, text=True, timeout=1200)
        assert completed.returncode == 0, completed.stdout + completed.stderr
        executed[choice] = {p.name: p.read_bytes() for p in sorted(output.glob("*.ipynb"))}
    chapters = {path.stem for path in notebook_files(repo / "notebooks").values()}
    assert {Path(name).stem for name in executed["fork"]} == chapters
    for name, content in executed["kernel"].items():
        assert executed["fork"][name] == content, name


def test_progress_prints_plain_lines_outside_a_terminal(capsys):
    progress = Progress(3, "notebooks", stream=io.StringIO())
    for _ in range(3):
        progress.advance()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert re.fullmatch(r"notebooks: 1/3 done, [\d.]+ s elapsed, ETA [\d.]+ s", lines[0])
    assert lines[-1].startswith("notebooks: 3/3 done")


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_draws_a_bar_on_a_terminal(capsys):
    terminal = _Terminal()
    progress = Progress(4, "sweep alpha", stream=terminal)
    for _ in range(4):
        with progress.printing():
            print("  a line of the build")
        progress.advance()
    shown = terminal.getvalue()
    assert "sweep alpha" in shown and "4/4 runs" in shown and "elapsed" in shown
    assert "ETA" in shown
    assert capsys.readouterr().out.count("a line of the build") == 4
