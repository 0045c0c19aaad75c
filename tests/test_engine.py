"""The fast engine: kernels forked from a process that imported what notebooks need. Its
outputs and the kernel's state must be a real kernel's, each notebook gets a fresh process,
and the executor reports every outcome. No test here measures time."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from cqbook import engine
from cqbook.execution import ExecutionFailure, execute_notebook
from cqbook.progress import Progress

REPO = Path(__file__).resolve().parent.parent

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
    ("import matplotlib.pyplot as plt\nfrom cqbook.charts import new_figure, use_book_style\n"
     "use_book_style()\nfig, ax = new_figure('图表 (chart)', 'test')\n"
     "_ = ax.bar(['甲', '乙'], [1, factor])\nplt.show()"),
    ("from cqbook.headlines import record\n"
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


# As the build runs a notebook: imports preloaded (fork engine), one forked process.
RUNNER = """
import os, sys
from pathlib import Path
from cqbook import engine
from cqbook.execution import execute_notebook
if engine.engine_choice() == "fork":
    engine.preload()
source, output = Path(sys.argv[1]), Path(sys.argv[2])
ok, value = engine.fork_map(execute_notebook, [(source, output, {"factor": 3},
                                                output.parent / "failures")], 1)[0]
if not ok:
    raise value
"""


def run_with(engine_choice: str, source: Path, output: Path) -> list:
    """In a new process, as in a build (pytest's own warning filters stay out of it)."""
    subprocess.run([sys.executable, "-c", RUNNER, str(source), str(output)], check=True,
                   env={**os.environ, engine.ENGINE_VARIABLE: engine_choice,
                        "PYTHONPATH": str(REPO)}, timeout=300)
    return comparable(output)


def test_forked_kernel_gives_a_real_kernels_outputs_and_state(tmp_path):
    source = probe_notebook(tmp_path / "probe.ipynb")
    real = run_with("kernel", source, tmp_path / "real" / "probe.ipynb")
    forked = run_with("fork", source, tmp_path / "fork" / "probe.ipynb")
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


def test_each_notebook_gets_a_fresh_process(tmp_path, monkeypatch):
    monkeypatch.setenv(engine.ENGINE_VARIABLE, "fork")
    engine.preload()
    source = tmp_path / "leak.ipynb"
    cell = nbformat.v4.new_code_cell(
        "import os, cqbook.units as units\n"
        "print(getattr(units, 'left_by_a_previous_notebook', None), os.getpid())\n"
        "units.left_by_a_previous_notebook = 'leaked'", id="only")
    nbformat.write(nbformat.v4.new_notebook(cells=[cell], metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}),
        source)

    def run_one(index):
        output = tmp_path / f"run-{index}.ipynb"
        execute_notebook(source, output, {}, tmp_path / "failures")
        return comparable(output)[0][1][0]["text"].split()

    outcomes = engine.fork_map(run_one, [(i,) for i in range(3)], 2)
    assert all(ok for ok, _ in outcomes)
    assert [value[0] for _, value in outcomes] == ["None"] * 3
    assert len({value[1] for _, value in outcomes}) == 3


def test_failing_cell_is_reported_as_with_a_real_kernel(tmp_path, monkeypatch):
    source = tmp_path / "fails.ipynb"
    cells = [nbformat.v4.new_code_cell("x = 1", id="a"),
             nbformat.v4.new_code_cell("y = x / 0", id="b")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}),
        source)
    messages, kept = [], []
    for choice in ("kernel", "fork"):
        monkeypatch.setenv(engine.ENGINE_VARIABLE, choice)
        with pytest.raises(ExecutionFailure) as caught:
            execute_notebook(source, tmp_path / choice / "out.ipynb", {},
                             tmp_path / choice / "failures")
        messages.append(str(caught.value).replace(str(tmp_path / choice), "…"))
        kept.append(comparable(caught.value.kept_at))
    assert messages[0] == messages[1]
    assert kept[0] == kept[1]  # the traceback too
    errors = [o for _, outputs in kept[1] for o in outputs if o["output_type"] == "error"]
    assert [e["ename"] for e in errors] == ["ZeroDivisionError"]
    assert "fails.ipynb: cell 1 (`y = x / 0`): ZeroDivisionError" in messages[1]


def test_fork_map_keeps_order_and_reports_every_outcome():
    seen = []
    outcomes = engine.fork_map(_square_or_fail, [(i,) for i in range(5)], 2,
                               lambda index, ok, value: seen.append(index))
    assert sorted(seen) == list(range(5))
    assert outcomes[0] == (True, 0) and outcomes[1] == (True, 1) and outcomes[4] == (True, 16)
    assert outcomes[2][0] is False and "two is refused" in str(outcomes[2][1])
    assert outcomes[3][0] is False and "without a result (exit code 7)" in str(outcomes[3][1])


def _square_or_fail(number: int) -> int:
    if number == 2:
        raise ValueError("two is refused")
    if number == 3:
        os._exit(7)
    return number * number


def test_engine_is_chosen_by_environment(monkeypatch):
    monkeypatch.setenv(engine.ENGINE_VARIABLE, "kernel")
    assert engine.engine_name() is None and not engine.can_fork()
    monkeypatch.setenv(engine.ENGINE_VARIABLE, "fork")
    assert engine.engine_name() == engine.ENGINE_NAME
    monkeypatch.setenv(engine.ENGINE_VARIABLE, "fast please")
    with pytest.raises(ValueError, match="use 'fork' or 'kernel'"):
        engine.engine_choice()


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
