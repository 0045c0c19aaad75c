"""The benchmark scripts' bookkeeping (not their timings: those are `make benchmark`'s)."""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import report
import run_benchmarks


def build_group(**ratios) -> dict:
    return {"commit": "abc1234", "date": "2026-12-02 06:00 UTC", "rounds": 5, "sweep_runs": 20,
            "jobs": 2, "notebook": "yongchuan", "notebooks": [],
            "machine": {"cores": 2, "python": "3.11.7", "platform": "Linux",
                        "load_average_during": [1.0]},
            "median_seconds": {"naive": 100.0, "naive-en": 60.0, "clean": 30.0, "no-op": 1.0,
                               "changed": 12.0},
            "peak_rss_mib": {"naive": 250, "clean": 240, "no-op": 30, "changed": 200},
            "ratios": {"clean": 0.30, "no-op": 0.01, "changed": 0.12, **ratios},
            "met": {"clean": True, "no-op": True, "changed": False}}


def scaling_result() -> dict:
    return {"commit": "abc1234", "date": "2026-12-02", "sizes": [6, 30, 60], "rounds": 5,
            "jobs": 2, "machine": {"cores": 2, "python": "3.11.7", "platform": "Linux",
                                   "load_average_during": [1.0]},
            "median_seconds": {f"{name} {size}": 10.0 for name in ("naive", "clean", "no-op",
                                                                   "changed")
                               for size in (6, 30, 60)},
            "ratios": {"changed 60 / changed 6": 1.2, "clean / naive at 60": 0.4,
                       **{f"{name} / naive at {size}": 1.0 for name in ("clean", "no-op",
                                                                       "changed")
                          for size in (6, 30, 60)}},
            "ours_peak_mib": {"6": 200, "30": 260, "60": 420}}


def test_every_row_of_the_issue_is_in_the_targets_table_with_its_verdict():
    suite = {"seconds": 540.0, "summary": "950 passed", "target_seconds": 360,
             "commit": "abc1234", "date": "2026-12-02"}
    rows = report.targets_rows({"build": build_group()}, scaling_result(), suite)
    verdicts = {row[0]: row[3] for row in rows}
    assert verdicts == {
        "clean build / naive": "yes", "no-op / naive": "yes",
        "one notebook changed / naive": "**no**",
        "one changed at 60 chapters / one changed at 6": "yes",
        "clean build at 60 chapters / naive at 60": "**no**",
        "peak memory of one process, 60 chapters": "**no**",
        "`make test` wall time, 2 cores, fresh clone, venv present": "**no**"}
    assert rows[-1][1] == "9.0 min (950 passed)"


def test_the_suite_section_says_where_the_suite_ran():
    suite = {"seconds": 540.0, "summary": "950 passed", "target_seconds": 360, "slowest": [],
             "commit": "abc1234", "date": "2026-12-02", "machine": {"cores": 2, "python": "3.11"}}
    assert "in a fresh clone of abc1234 with its .venv" in "\n".join(report.suite_section(suite))
    by_hand = "\n".join(report.suite_section({**suite, "where": "the checkout at abc1234"}))
    assert "in the checkout at abc1234, 2026-12-02" in by_hand
    assert "fresh clone" not in by_hand


def test_a_benchmark_not_run_is_said_to_be_not_measured_never_met():
    rows = report.targets_rows(None, None, None)
    assert all(row[1] == "not measured" and row[3] == "—" for row in rows)


def test_the_naive_english_part_is_shown_beside_the_naive_reference():
    text = run_benchmarks.markdown({"build": build_group(**{"clean / naive English only": 0.5})})
    assert "| naive, its English part alone" in text and "| 60.00 | 0.600 |" in text
    assert "Clean against the naive English part alone: 0.500" in text
    assert "Commit abc1234, 2026-12-02 06:00 UTC." in text


def test_groups_name_their_variants_and_a_partial_group_is_not_a_group():
    assert run_benchmarks.variants_named("build") == list(run_benchmarks.GROUPS["build"])
    assert run_benchmarks.variants_named("sweep,clean") == [*run_benchmarks.GROUPS["sweep"],
                                                            "clean"]


def test_the_committed_results_make_a_report():
    text = report.report()
    assert "| measure | measured | target | met | run |" in text
    assert "## The real book: sweep" in text


def test_the_benchmark_changes_a_notebook_s_code_not_its_translated_prose(tmp_path):
    from cqbook.build.notebook_files import read_cells_quickly

    original = BENCHMARKS.parent / "notebooks" / "yongchuan.md"
    (tmp_path / "notebooks").mkdir()
    changed = tmp_path / "notebooks" / "yongchuan.md"
    changed.write_text(original.read_text(encoding="utf-8"), encoding="utf-8")
    for round_number in (1, 2):
        run_benchmarks.change_notebook(tmp_path, "yongchuan", f"change {round_number}")
    before, after = read_cells_quickly(original), read_cells_quickly(changed)
    assert after[-1]["source"] == before[-1]["source"] + "\n# benchmark change 2"
    assert after[:-1] == before[:-1]
    markdown = [line for line in original.read_text(encoding="utf-8").splitlines()
                if not line.startswith("# benchmark")]
    assert [line for line in changed.read_text(encoding="utf-8").splitlines()
            if not line.startswith("# benchmark")] == markdown
