"""benchmarks/results.md from what the benchmarks wrote: issue 18's targets in one table, then
each benchmark's own tables (the real book, the scaling of generated books with its chart,
the test suite).

    .venv/bin/python benchmarks/report.py    # make benchmark runs it last

Each ratio comes from one run of one script (alternating rounds, medians); the table says
which run, so a number is never compared with one measured at another time.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import run_benchmarks
import scaling

HERE = Path(__file__).resolve().parent
RESULTS_MD = HERE / "results.md"


def read(name: str) -> dict | None:
    try:
        return json.loads((HERE / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def targets_rows(book: dict | None, scaled: dict | None, suite: dict | None) -> list[list[str]]:
    """measure, measured, target, met, where it was measured."""
    rows = []
    build = (book or {}).get("build")
    for key, label in (("clean", "clean build / naive"), ("no-op", "no-op / naive"),
                       ("changed", "one notebook changed / naive")):
        target = run_benchmarks.TARGETS[key]
        if build and key in build["ratios"]:
            value = build["ratios"][key]
            rows.append([label, f"{value:.3f}", f"≤ {target:.2f}", _met(value <= target),
                         f"real book, {build['commit']}"])
        else:
            rows.append([label, "not measured", f"≤ {target:.2f}", "—", "run_benchmarks.py"])
    if scaled:
        small, large = min(scaled["sizes"]), max(scaled["sizes"])
        where = f"generated books, {scaled.get('commit', '')}".rstrip(", ")
        for key, label, target_key in (
                (f"changed {large} / changed {small}",
                 f"one changed at {large} chapters / one changed at {small}",
                 "changed 60 / changed 6"),
                (f"clean / naive at {large}", (f"clean build at {large} chapters / naive at "
                 f"{large}"), "clean / naive at 60")):
            value, target = scaled["ratios"][key], scaling.TARGETS[target_key]
            rows.append([label, f"{value:.3f}", f"≤ {target}", _met(value <= target), where])
        peak, target = scaled["ours_peak_mib"][str(large)], scaling.TARGETS["peak MiB at 60"]
        rows.append([f"peak memory of one process, {large} chapters", f"{peak} MiB",
                     f"≤ {target} MiB", _met(peak <= target), where])
    else:
        rows.append(["the three rows at 60 chapters", "not measured", "—", "—", "scaling.py"])
    if suite:
        minutes, target = suite["seconds"] / 60, suite["target_seconds"] / 60
        failed = "; the run failed" if suite.get("returncode") else ""
        rows.append(["`make test` wall time, 2 cores, fresh clone, venv present",
                     f"{minutes:.1f} min ({suite['summary']}{failed})", f"≤ {target:.0f} min",
                     _met(minutes <= target and not failed), (f"{suite['commit']}, "
                     f"{suite['date']}")])
    else:
        rows.append(["`make test` wall time", "not measured", "≤ 6 min", "—", "suite_time.py"])
    return rows


def _met(yes: bool) -> str:
    return "yes" if yes else "**no**"


def report() -> str:
    book = run_benchmarks.read_results() or None
    scaled, suite = read("scaling.json"), read("suite.json")
    lines = ["# Benchmark results", "",
             ("Issue 18's targets, each from the run named in the last column (ratios within "
             "one run: alternating rounds, medians)."), "",
             "| measure | measured | target | met | run |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in targets_rows(book, scaled, suite)]
    lines.append("")
    if book:
        lines += [run_benchmarks.markdown(book)]
    if scaled:
        lines += [scaling.markdown(scaled).replace("# Scaling", "## Scaling", 1)]
    if suite:
        lines += suite_section(suite)
    return "\n".join(lines)


def where_suite_ran(suite: dict) -> str:
    """suite_time.py's fresh clone, unless the record names another place (a run by hand)."""
    return suite.get("where") or (f"a fresh clone of {suite['commit']} with its .venv made "
                                  "beforehand")


def suite_section(suite: dict) -> list[str]:
    lines = ["## The test suite", "",
              (f"`make test` (`CI=true`) in {where_suite_ran(suite)}, "
               f"{suite['date']}: {suite['seconds'] / 60:.1f} min, "
               f"{suite['summary']}. Machine: {suite['machine']['cores']} cores, Python "
               f"{suite['machine']['python']}." + (f" {suite['note']}." if suite.get("note")
                                                    else "")), ""]
    if suite["slowest"]:
        lines += ["The slowest tests it printed:", ""]
        lines += [f"- {line}" for line in suite["slowest"][:10]] + [""]
    return lines


def main() -> int:
    text = report()
    RESULTS_MD.write_text(text, encoding="utf-8")
    print(text)
    print(f"written: {RESULTS_MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
