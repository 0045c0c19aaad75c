"""Faults and bad input against the real command line: each is refused or fails the build
with a message naming what is wrong and where, and the last good book is never lost."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import cqbook, executed_notebooks
from data_edits import drop_column, edit_cell

pytestmark = pytest.mark.slow


def book_snapshot(repo: Path) -> dict[str, str]:
    """Digest of every file of the published book, by relative path."""
    html = (repo / "_build" / "html").resolve()
    return {p.relative_to(html).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(html.rglob("*")) if p.is_file()}


def set_cell_source(repo: Path, notebook: str, index: int, source: str) -> None:
    path = repo / "notebooks" / f"{notebook}.ipynb"
    content = json.loads(path.read_text())
    content["cells"][index]["source"] = source
    path.write_text(json.dumps(content, indent=1))


# ------------------------------------------------------------------ parameters


@pytest.mark.parametrize("book_yml, message", [
    ("alpha:\n  factr: 3\n", "unknown parameter `factr`"),
    ("alpha:\n  factor: NO\n", "'NO' is not a valid int"),
    ("alpha:\n  factor: 01234\n", "leading zeros"),
    ("alpha:\n  factor: 1e3\n", "'1e3' is not a valid int"),
    ("alpha:\n  factor: .nan\n", "'.nan' is not a valid int"),
    ("alpha:\n  factor: -3\n", "`factor` = -3 breaks the rule: must be >= 1"),
    ("alpha:\n  factor: 99999999999999999999\n", "breaks the rule: must be <= 1000"),
    ("gamma:\n  factor: 2\n", "no notebook named gamma"),
    ("alpha: [1, 2\n", "malformed YAML"),
    ("", "the parameters file is empty"),
    ("- alpha\n", "expected a mapping"),
])
def test_bad_book_parameters_file_is_refused_before_any_kernel(fixture_repo, book_yml,
                                                               message):
    (fixture_repo / "_build" / "executed" / "alpha.ipynb").unlink()  # would have to run
    before = book_snapshot(fixture_repo)
    (fixture_repo / "params" / "book.yml").write_text(book_yml)
    result = cqbook(fixture_repo, "build")
    assert result.returncode == 2
    assert message in result.stderr and "params/book.yml" in result.stderr
    assert executed_notebooks(result.stdout) == set()
    assert not (fixture_repo / "_build" / "executed" / "alpha.ipynb").exists()
    assert book_snapshot(fixture_repo) == before


def test_non_utf8_parameters_file_is_refused(fixture_repo):
    path = fixture_repo / "p.yml"
    path.write_bytes("label: 永川\n".encode("gb18030"))
    result = cqbook(fixture_repo, "run", "beta", "-f", str(path))
    assert result.returncode == 2 and "not UTF-8" in result.stderr
    assert not (fixture_repo / "runs").exists()


@pytest.mark.parametrize("date_value", ["2023-10-11", "'2023-10-11'"])
def test_a_date_for_a_text_parameter_stays_text(fixture_repo, date_value):
    path = fixture_repo / "p.yml"
    path.write_text(f"label: {date_value}\n")
    result = cqbook(fixture_repo, "run", "beta", "-f", str(path))
    assert result.returncode == 0, result.stderr
    folder = next((fixture_repo / "runs").iterdir())
    assert json.loads((folder / "parameters.json").read_text()) == {"label": "2023-10-11"}


def test_code_in_a_parameter_value_stays_a_plain_value(fixture_repo):
    hostile = '"); import os; os._exit(3) # \\n \' """'
    result = cqbook(fixture_repo, "run", "beta", "-p", "label", hostile)
    assert result.returncode == 0, result.stderr
    folder = next((fixture_repo / "runs").iterdir())
    headline = json.loads((folder / "headline_values.json").read_text())[0]
    assert headline["value"] == len(hostile)
    cells = json.loads((folder / "beta.ipynb").read_text())["cells"]
    printed = ["".join(output["text"]) for cell in cells for output in cell.get("outputs", [])
               if output["output_type"] == "stream"]
    assert printed == [hostile + "\n"]


# ------------------------------------------------------------------ data


def _alter_page_by_one_byte(repo):
    page = repo / "data" / "raw" / "chongqing_daily_page.txt"
    content = bytearray(page.read_bytes())
    content[100] ^= 1
    page.write_bytes(bytes(content))


DATA_FAULTS = {
    "wrong-type": (lambda r: edit_cell(r / "data", "figures", "yongchuan_vehicles_shipped",
                                       "value", "一万二"), "figures.csv, row"),
    "missing-column": (lambda r: drop_column(r / "data", "figures", "unit"),
                       "figures.csv, header, column 'unit'"),
    "duplicate-id": (lambda r: edit_cell(r / "data", "figures", "wankaiyun_gdp_growth",
                                         "figure_id", "wankaiyun_gdp"), "duplicate value"),
    "broken-foreign-key": (lambda r: edit_cell(r / "data", "figures", "banan_investment_total",
                                               "entity_id", "jiangbei"), "entities.csv"),
    "quote-not-on-page": (lambda r: edit_cell(r / "data", "figures",
                                              "yongchuan_vehicles_shipped", "quote",
                                              "已发运汽车12703辆"), "quote not found"),
    "unknown-unit": (lambda r: edit_cell(r / "data", "figures", "tongliang_investment_total",
                                         "unit", "亿圆"), "unknown unit '亿圆'"),
    "unknown-qualifier": (lambda r: edit_cell(r / "data", "figures", "lingchuang_base_land_area",
                                              "qualifier_printed", "大约"),
                          "unknown qualifier '大约'"),
    "missing-file": (lambda r: (r / "data" / "glossary.csv").unlink(), "glossary.csv"),
    "page-altered-by-one-byte": (_alter_page_by_one_byte, "chongqing_daily_page.txt"),
}


@pytest.mark.parametrize("fault", DATA_FAULTS, ids=list(DATA_FAULTS))
def test_malformed_data_stops_the_build_before_any_kernel(fixture_repo, fault):
    corrupt, message = DATA_FAULTS[fault]
    before = book_snapshot(fixture_repo)
    corrupt(fixture_repo)
    result = cqbook(fixture_repo, "build")
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert executed_notebooks(result.stdout) == set()
    assert book_snapshot(fixture_repo) == before


# ------------------------------------------------------------------ execution

EXECUTION_FAULTS = {
    "raises": ("raise RuntimeError('boom')", [], "RuntimeError: boom"),
    "hangs": ("import time\ntime.sleep(600)", ["--cell-timeout", "5"], "Timeout"),
    "kernel-dies": ("import os\nos._exit(1)", [], "DeadKernelError"),
}


@pytest.mark.parametrize("fault", EXECUTION_FAULTS, ids=list(EXECUTION_FAULTS))
def test_failing_notebook_is_named_kept_and_the_book_untouched(fixture_repo, fault):
    source, options, error = EXECUTION_FAULTS[fault]
    before = book_snapshot(fixture_repo)
    set_cell_source(fixture_repo, "beta", 3, source)
    result = cqbook(fixture_repo, "build", *options, timeout=300)
    assert result.returncode == 2
    first_line = source.splitlines()[0]
    assert f"beta.ipynb: cell 3 (`{first_line}`)" in result.stderr
    assert error in result.stderr
    assert (fixture_repo / "_build" / "failures" / "beta.ipynb").exists()
    assert book_snapshot(fixture_repo) == before


# ------------------------------------------------------------------ interruption


def _start_build(repo: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cqbook", "build"], cwd=repo,
                            env={**os.environ, "PYTHONPATH": str(repo)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _edit_both_notebooks(repo: Path, marker: str) -> None:
    for name in ("alpha", "beta"):
        set_cell_source(repo, name, 0, f"# {name.title()}\n\nRevision {marker}.")


def test_build_killed_at_ten_moments_never_loses_the_book(fixture_repo):
    # How long a build that executes both notebooks and runs Sphinx takes here.
    _edit_both_notebooks(fixture_repo, "timing")
    started = time.perf_counter()
    assert cqbook(fixture_repo, "build").returncode == 0
    full = time.perf_counter() - started
    published_books = set()
    for moment in range(10):
        before = book_snapshot(fixture_repo)
        _edit_both_notebooks(fixture_repo, f"kill-{moment}")
        process = _start_build(fixture_repo)
        time.sleep(full * (moment + 0.5) / 10)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        after = book_snapshot(fixture_repo)
        # Either the old book, whole, or (killed after the swap) the new one, whole.
        assert after == before or ("notebooks/alpha.html" in after and len(after) >= len(before))
        published_books.add(tuple(sorted(after.items())))
    result = cqbook(fixture_repo, "build")
    assert result.returncode == 0, result.stderr
    executed = {p.name: p.read_bytes() for p in (fixture_repo / "_build" / "executed").glob("*")}
    assert set(executed) == {"alpha.ipynb", "beta.ipynb"}  # no partial file left behind
    # ... and equal to a clean build of the same inputs.
    for name in ("alpha", "beta"):
        (fixture_repo / "_build" / "cache" / f"{name}.json").unlink()
    assert cqbook(fixture_repo, "build").returncode == 0
    again = {p.name: p.read_bytes() for p in (fixture_repo / "_build" / "executed").glob("*")}
    assert again == executed


# ------------------------------------------------------------------ concurrency


def test_two_builds_at_once_both_finish_one_after_the_other(fixture_repo):
    _edit_both_notebooks(fixture_repo, "concurrent")
    environment = {**os.environ, "PYTHONPATH": str(fixture_repo)}
    first, second = (subprocess.Popen([sys.executable, "-m", "cqbook", "build"],
                                      cwd=fixture_repo, env=environment, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                     for _ in range(2))
    outputs = [process.communicate(timeout=600) for process in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outputs
    combined = "".join(out for out, _ in outputs)
    assert "waiting: another build holds" in combined
    # The notebooks ran once: the build that waited found them up to date.
    assert combined.count("alpha                    executed") == 1


def test_run_during_a_build_does_not_disturb_it(fixture_repo):
    _edit_both_notebooks(fixture_repo, "run-during-build")
    build = subprocess.Popen([sys.executable, "-m", "cqbook", "build"], cwd=fixture_repo,
                             env={**os.environ, "PYTHONPATH": str(fixture_repo)},
                             text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    run = cqbook(fixture_repo, "run", "alpha", "-p", "factor", "4")
    _, err = build.communicate(timeout=600)
    assert build.returncode == 0, err
    assert run.returncode == 0, run.stderr
    headlines = json.loads((fixture_repo / "_build" / "headline_values.json").read_text())
    assert headlines["alpha"][0]["value"] == 42  # the book kept its own parameters
