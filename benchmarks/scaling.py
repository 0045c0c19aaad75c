"""How the build scales with the book: generated books of 6, 30 and 60 chapters, ours against
the naive pipeline, in one run.

    .venv/bin/python benchmarks/scaling.py            # or: make benchmark (after the real book)
    .venv/bin/python benchmarks/scaling.py --quick    # a smoke run: 6 and 12 chapters, 1 round

Each chapter is a generated notebook of about the weight of ours: a parameter, the data
package loaded, a table of a few hundred rows, three SVG charts with Chinese titles, three
headline values glued, a page of prose. The book's root page pastes one value from every
chapter (across pages, as the summary does). Per size and round, in an order that rotates:

- naive    `papermill` command line per notebook, one after another, then `jupyter-book
           build` of the same sources (the reference, 1.00);
- clean    `python -m cqbook build`, no `_build`;
- no-op    the same again, nothing changed;
- changed  after one chapter's prose changed (it runs again; Sphinx reads it and the root).

Medians of the rounds, ratios within the run (never across runs), the peak resident memory
of the largest process, and the machine go to benchmarks/scaling.json, with a chart
(scaling.svg); benchmarks/report.py puts them in results.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from run_benchmarks import NOT_COPIED, REPO, commit_of, naive_build, run

RESULTS = REPO / "benchmarks"
TARGETS = {"changed 60 / changed 6": 1.5, "clean / naive at 60": 0.33, "peak MiB at 60": 400}

PROSE = ("The page reports this district's figures in one paragraph; this chapter reads them "
         "as a table, draws them, and says what they do not tell us. ") * 6


def chapter(number: int) -> dict:
    """A generated chapter notebook (nbformat 4 JSON)."""
    name = f"ch{number:02d}"

    def cell(kind: str, source: str, **metadata) -> dict:
        base = {"cell_type": kind, "metadata": metadata, "source": source,
                "id": f"{name}-{len(cells):02d}"}
        return {**base, "execution_count": None, "outputs": []} if kind == "code" else base

    cells: list[dict] = []
    for kind, source, metadata in [
        ("markdown", f"# Chapter {number}: 区县 {number}\n\n{PROSE}", {}),
        ("code", "scale = 1.0  # float, min 0.1, max 10; what every value is multiplied by",
         {"tags": ["parameters"]}),
        ("code", ("import matplotlib.pyplot as plt\nimport numpy as np\nimport pandas as pd\n\n"
                 "from cqbook.analysis.charts import use_book_style\n"
                 "from cqbook.analysis.headlines import record\n"
                 "from cqbook.dataset.package import load_tables\n\n"
                 "tables = load_tables()\nuse_book_style()"), {"tags": ["remove-input"]}),
        ("markdown", f"## What the page says\n\n{PROSE}", {}),
        ("code", (f"rng = np.random.default_rng({number})\n"
                 "table = pd.DataFrame({'month': np.arange(300) % 12 + 1,\n"
                 "                      'projects': rng.integers(1, 40, 300),\n"
                 "                      'investment': rng.gamma(2.0, 3.0, 300) * scale})\n"
                 "monthly = table.groupby('month').sum()\nmonthly.head(12)"), {}),
        ("code", (f"_ = record('{name}_projects', int(table['projects'].sum()), unit='个')\n"
                 f"_ = record('{name}_investment', round(float(table['investment'].sum()), 1),"
                 " unit='亿元')\n"
                 f"_ = record('{name}_share', round(float(monthly['investment'].max() / "
                 "monthly['investment'].sum()), 3))"), {}),
        *[("code", (f"fig, ax = plt.subplots(figsize=(6, 3))\n"
                   f"_ = ax.{kind}(monthly.index, monthly['{column}'])\n"
                   f"_ = ax.set_title('{title}')\nplt.show()"),
           {"mystnb": {"figure": {"caption": f"{title} by month.", "name": f"fig-{name}-{i}"},
                       "image": {"alt": f"{title} by month, from the table above."}}})
          for i, (kind, column, title) in enumerate([("bar", "projects", "项目数 Projects"),
                                                     ("plot", "investment", "投资 Investment"),
                                                     ("bar", "investment", "投资额 Amount")])],
        ("markdown", f"## What the page does not tell us\n\n{PROSE}", {}),
    ]:
        cells.append(cell(kind, source, **metadata))
    return {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                        "name": "python3"}, "language_info": {"name": "python"}}}


def generated_repository(destination: Path, chapters: int) -> Path:
    shutil.copytree(REPO, destination, ignore=NOT_COPIED, symlinks=True)
    for folder in ("notebooks", "book"):
        shutil.rmtree(destination / folder)
        (destination / folder).mkdir()
    names = [f"ch{n:02d}" for n in range(1, chapters + 1)]
    for number, name in enumerate(names, start=1):
        (destination / "notebooks" / f"{name}.ipynb").write_text(
            json.dumps(chapter(number), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    pasted = "\n".join(f"- Chapter {n}: {{glue:text}}`/notebooks/{name}.ipynb::{name}_projects"
                       f"_text:s` projects for {{glue:text}}`/notebooks/{name}.ipynb::{name}_"
                       "investment_text:s`." for n, name in enumerate(names, start=1))
    (destination / "book" / "index.md").write_text(
        f"# A generated book of {chapters} chapters\n\n{PROSE}\n\n{pasted}\n", encoding="utf-8")
    (destination / "_toc.yml").write_text(
        "format: jb-book\nroot: book/index\nchapters:\n"
        + "".join(f"  - file: notebooks/{name}\n" for name in names), encoding="utf-8")
    (destination / "params" / "book.yml").unlink(missing_ok=True)  # the defaults
    return destination


def change_chapter(repo: Path, marker: str) -> None:
    path = repo / "notebooks" / "ch01.ipynb"
    notebook = json.loads(path.read_text(encoding="utf-8"))
    notebook["cells"][-1]["source"] = (notebook["cells"][-1]["source"].split("\n\n<!--")[0]
                                       + f"\n\n<!-- benchmark {marker} -->")
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def ours(repo: Path, jobs: int) -> tuple[list[str], Path, dict]:
    return ([sys.executable, "-m", "cqbook", "build", "--jobs", str(jobs)], repo,
            {"PYTHONPATH": str(repo)})


def prepare_naive(repo: Path, jobs: int, scratch: Path) -> tuple[Path, Path, list[str]]:
    """The naive pipeline's sources (the stage our build lays out, with its marker) and its
    unexecuted notebooks; papermill writes the executed ones in each timed run."""
    command, cwd, env = ours(repo, jobs)
    run(command, cwd, env)
    sources, inputs = scratch / "naive-sources", scratch / "naive-inputs"
    shutil.copytree(repo / "_build" / "sphinx" / "en" / "src", sources)
    shutil.copytree(repo / "notebooks", inputs)
    names = sorted(p.stem for p in inputs.glob("*.ipynb"))
    for name in names:
        (sources / "notebooks" / f"{name}.ipynb").unlink()
    return sources, inputs, names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=lambda t: [int(x) for x in t.split(",")],
                        default=[6, 30, 60])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: sizes 6 and 12, one round, nothing written")
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.sizes, arguments.runs = [6, 12], 1
    scratch = Path(tempfile.mkdtemp(prefix="cqbook-scaling-"))
    print(f"scratch in {scratch}", flush=True)
    setups = {}
    for size in arguments.sizes:
        repo = generated_repository(scratch / f"ours-{size}", size)
        naive_repo = generated_repository(scratch / f"naive-{size}", size)
        setups[size] = (repo, prepare_naive(naive_repo, arguments.jobs, scratch / f"n{size}"),
                        naive_repo)
    times: dict[str, list[float]] = {}
    peaks: dict[str, int] = {}
    load = [os.getloadavg()[0]]
    for round_number in range(arguments.runs):
        for size in arguments.sizes[round_number % 2::] + arguments.sizes[:round_number % 2]:
            repo, (sources, inputs, names), naive_repo = setups[size]
            command, cwd, env = ours(repo, arguments.jobs)

            def clean(repo=repo, command=command, cwd=cwd, env=env):
                shutil.rmtree(repo / "_build", ignore_errors=True)
                return run(command, cwd, env)

            def changed(repo=repo, command=command, cwd=cwd, env=env, r=round_number):
                change_chapter(repo, f"round {r}")
                return run(command, cwd, env)

            steps = [("naive", lambda s=sources, i=inputs, n=names, r=naive_repo:
                      naive_build(r, s, i, n)),
                     ("clean", clean), ("no-op", lambda c=command, w=cwd, e=env: run(c, w, e)),
                     ("changed", changed)]
            if round_number % 2:  # alternate the naive pipeline's place in the round
                steps = steps[1:] + steps[:1]
            for name, step in steps:
                seconds, peak = step()
                key = f"{name} {size}"
                times.setdefault(key, []).append(seconds)
                peaks[key] = max(peaks.get(key, 0), peak)
                print(f"round {round_number + 1}/{arguments.runs}  {size:3d} chapters  "
                      f"{name:<8} {seconds:7.2f} s  peak {peak / 1024:5.0f} MiB", flush=True)
            load.append(os.getloadavg()[0])
        # Written after every round: a run cut short still leaves the medians of the rounds
        # it finished (`rounds` says how many), never a mix with an earlier run.
        result = summarise(times, peaks, arguments, load, rounds_done=round_number + 1)
        if not arguments.quick:
            (RESULTS / "scaling.json").write_text(json.dumps(result, indent=1, sort_keys=True)
                                                  + "\n")
            (RESULTS / "scaling.svg").write_bytes(chart(result))
    print("\n" + markdown(result))
    if not arguments.quick:
        print("written: benchmarks/scaling.json, scaling.svg (benchmarks/report.py puts them "
              "in results.md)")
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


def summarise(times, peaks, arguments, load, rounds_done: int) -> dict:
    medians = {key: statistics.median(values) for key, values in times.items()}
    sizes = arguments.sizes
    ratios = {f"{name} / naive at {size}": medians[f"{name} {size}"] / medians[f"naive {size}"]
              for size in sizes for name in ("clean", "no-op", "changed")}
    small, large = min(sizes), max(sizes)
    ratios[f"changed {large} / changed {small}"] = (medians[f"changed {large}"]
                                                    / medians[f"changed {small}"])
    ours_peak = {size: max(peaks[f"{name} {size}"] for name in ("clean", "no-op", "changed"))
                 / 1024 for size in sizes}
    return {"commit": commit_of(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                        "platform": platform.platform(),
                        "load_average_during": [round(x, 2) for x in load]},
            "rounds": rounds_done, "rounds_asked": arguments.runs, "jobs": arguments.jobs,
            "sizes": sizes,
            "seconds": {k: [round(x, 2) for x in v] for k, v in times.items()},
            "median_seconds": {k: round(v, 2) for k, v in medians.items()},
            "ratios": {k: round(v, 3) for k, v in ratios.items()},
            "peak_rss_mib": {k: round(v / 1024) for k, v in peaks.items()},
            "ours_peak_mib": {str(k): round(v) for k, v in ours_peak.items()}}


def markdown(result: dict) -> str:
    medians, ratios = result["median_seconds"], result["ratios"]
    machine = result["machine"]
    lines = ["# Scaling: generated books of " + ", ".join(map(str, result["sizes"]))
             + " chapters", "",
             (f"Commit {result.get('commit', 'not recorded')}, {result.get('date', 'undated')}. "
              f"Machine: {machine['cores']} cores, Python {machine['python']}, "
             f"{machine['platform']}; load average during the run "
             f"{', '.join(map(str, machine['load_average_during']))}. {result['rounds']} "
             f"round(s){_of_asked(result)}, alternating; medians; `--jobs {result['jobs']}`."
             + (f" {result['note']}." if result.get("note") else "")), "",
             ("| chapters | naive s | clean s (ratio) | no-op s (ratio) | one changed s (ratio) "
             "| peak RSS of one process of ours (MiB) |"), "|---:|---:|---:|---:|---:|---:|"]
    for size in result["sizes"]:
        cells = [f"{medians[f'{name} {size}']:.1f} ({ratios[f'{name} / naive at {size}']:.3f})"
                 for name in ("clean", "no-op", "changed")]
        lines.append(f"| {size} | {medians[f'naive {size}']:.1f} | {' | '.join(cells)} | "
                     f"{result['ours_peak_mib'][str(size)]} |")
    small, large = min(result["sizes"]), max(result["sizes"])
    lines += ["", (f"One changed at {large} / one changed at {small}: "
              f"{ratios[f'changed {large} / changed {small}']:.2f}."), "",
              "![seconds by chapters](scaling.svg)", ""]
    return "\n".join(lines)


def _of_asked(result: dict) -> str:
    asked = result.get("rounds_asked", result["rounds"])
    return f" of the {asked} asked (the run was cut short)" if asked > result["rounds"] else ""


def chart(result: dict) -> bytes:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3.5))
    sizes = result["sizes"]
    for name in ("naive", "clean", "changed", "no-op"):
        axes.plot(sizes, [result["median_seconds"][f"{name} {size}"] for size in sizes],
                  marker="o", label=name)
    axes.set_xlabel("chapters")
    axes.set_ylabel("median seconds")
    axes.set_xticks(sizes)
    axes.legend()
    axes.grid(alpha=0.3)
    buffer = io.BytesIO()
    matplotlib.rcParams["svg.hashsalt"] = "cqbook"
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buffer.getvalue()


if __name__ == "__main__":
    sys.exit(main())
