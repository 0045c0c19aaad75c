"""Benchmark of the book's build, in one run: the naive pipeline against ours, alternating.

    .venv/bin/python benchmarks/run_benchmarks.py            # or: make benchmark

In a scratch copy of the repository (the real notebooks and book), each round times, one
after another and in a rotating order:

- naive      `papermill` command line per notebook, one after another, then
             `jupyter-book build` of the same book sources, once per edition (English and
             Chinese, as ours builds them): the reference (1.00). Its English part alone is
             reported beside it, the reference before the book had a second edition;
- clean      `python -m cqbook build` with no `_build` at all (kernels forked);
- clean-kernel  the same with `CQBOOK_ENGINE=kernel` (one `python -m ipykernel_launcher`
             per notebook, no fork anywhere), at the same `--jobs`: what the fork buys;
- no-op      `python -m cqbook build` again, nothing changed;
- changed    `python -m cqbook build` after one notebook's text changed;
- sweep      `python -m cqbook sweep` of one notebook over N values of one parameter;
- sweep-kernel  the same with `CQBOOK_ENGINE=kernel`, at the same `--jobs`;
- sweep-pm   the same N runs by the `papermill` command line, one after another: the
             reference of the sweep.

It prints and writes (benchmarks/results.json, whose tables benchmarks/report.py puts in
results.md) the median of each over the rounds, the ratios (build ratios against `naive`,
the sweep against `sweep-pm`), the peak resident memory of any one process of each variant,
and the machine. Compare ratios, not seconds: other work on the machine moves the seconds,
alternating and medians keep the ratios honest.

The variants come in two groups, each with its references: `build` (naive, clean, no-op,
changed, clean-kernel) and `sweep` (sweep-pm, sweep, sweep-kernel). `--only build` runs and
rewrites one group; the other keeps its last run (with its own commit, date and machine).
`--only clean,clean-kernel --runs 1` times a few variants once and writes nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS_JSON = REPO / "benchmarks" / "results.json"
NOT_COPIED = shutil.ignore_patterns(".venv", "_build", "runs", "sweeps", ".git", "__pycache__",
                                    "test-artifacts", ".pytest_cache", ".ruff_cache")
# Issue 18's targets for the build; the sweep's from the issue that made it.
TARGETS = {"clean": 0.33, "no-op": 0.02, "changed": 0.10, "sweep": 0.25}
GROUPS = {"build": ("naive", "clean", "no-op", "changed", "clean-kernel"),
          "sweep": ("sweep-pm", "sweep", "sweep-kernel")}
VARIANTS = GROUPS["build"] + GROUPS["sweep"]
NAIVE_ENGLISH = "naive-en"  # timed within `naive`, not a run of its own
# Each ratio: a variant against its reference. fork/kernel: what forking kernels buys.
REFERENCES = {"clean": "naive", "no-op": "naive", "changed": "naive", "clean-kernel": "naive",
              "clean / naive English only": ("clean", NAIVE_ENGLISH),
              "sweep": "sweep-pm", "sweep-kernel": "sweep-pm", "fork/kernel clean":
              ("clean", "clean-kernel"), "fork/kernel sweep": ("sweep", "sweep-kernel")}
KERNEL_ENGINE = {"CQBOOK_ENGINE": "kernel"}
MEMORY_TARGET_MIB = 300


def run(command: list[str], cwd: Path, env: dict | None = None) -> tuple[float, int]:
    """Seconds and peak RSS (KiB) of the largest process of the command's tree (children
    are counted once reaped: wait4 folds a reaped child's peak into its parent's)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, env={**os.environ, **(env or {})})
    # Read stderr while waiting, so a chatty command never blocks on a full pipe.
    stderr_chunks = list(iter(lambda: process.stderr.read(65536), b""))
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed ({process.returncode}):\n"
                           + b"".join(stderr_chunks).decode(errors="replace")[-3000:])
    return seconds, usage.ru_maxrss


def run_all(commands: list[tuple[list[str], Path]]) -> tuple[float, int]:
    started, peak = time.perf_counter(), 0
    for command, cwd in commands:
        peak = max(peak, run(command, cwd)[1])
    return time.perf_counter() - started, peak


def commit_of(repo: Path = REPO) -> str:
    described = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=repo,
                               capture_output=True, text=True, check=False)
    return described.stdout.strip() or "unknown"


def copy_repository(destination: Path) -> Path:
    shutil.copytree(REPO, destination, ignore=NOT_COPIED, symlinks=True)
    return destination


def cqbook(repo: Path, *arguments: str) -> list[str]:
    return [sys.executable, "-m", "cqbook", *arguments]


STAGE_SCRIPT = """
import shutil, sys
from pathlib import Path
import nbformat
from cqbook.build import cache, editions, pages, pipeline, publishing
from cqbook.build.notebook_files import read_notebook
jobs = pipeline.plan_jobs(pipeline.book_parameters(), "book")
store = cache.Cache(pipeline.CACHE_DIR)
entries = {job.name: store.get(job.name) for job in jobs}
state = pipeline._book_state(jobs, entries, [], pages.commit_description(),
                              pages.package_versions())
executed = {j.name: pipeline.EXECUTED_DIR / f"{j.name}.ipynb" for j in jobs}
stage = publishing.stage_sources(executed, state)
shutil.copytree(stage, sys.argv[1])
shutil.rmtree(stage)
# Each other edition's sources, translated notebooks included: the naive pipeline builds
# them as they are (it is not charged for translating).
for lang in editions.editions():
    stage = editions.stage_edition(lang, executed, state)
    shutil.copytree(stage, sys.argv[1] + "-" + lang)
    shutil.rmtree(stage)
# The notebooks as papermill reads them: .ipynb files (the committed form may be text).
inputs = Path(sys.argv[2])
inputs.mkdir()
for name, path in pipeline.notebook_paths().items():
    nbformat.write(read_notebook(path), inputs / (name + ".ipynb"))
"""


def prepare_naive(repo: Path, naive_sources: Path, naive_inputs: Path) -> list[str]:
    """The book's sources as the naive pipeline gets them (prose, config, generated pages)
    and its notebooks as .ipynb in `naive_inputs`; the executed notebooks are written by
    papermill in each timed run."""
    env = {**os.environ, "PYTHONPATH": str(repo)}
    subprocess.run(cqbook(repo, "build"), cwd=repo, env=env, check=True,
                   capture_output=True)
    subprocess.run([sys.executable, "-c", STAGE_SCRIPT, str(naive_sources), str(naive_inputs)],
                   cwd=repo, env=env, check=True)
    names = sorted(p.stem for p in naive_inputs.glob("*.ipynb"))
    for name in names:
        (naive_sources / "notebooks" / f"{name}.ipynb").unlink()
    return names


def naive_build(repo: Path, sources: Path, inputs: Path, names: list[str],
                english: list | None = None) -> tuple[float, int]:
    """papermill per notebook, then `jupyter-book build` of every edition's sources (the
    English ones, then each `<sources>-<lang>` the preparation made). `english`, if given,
    receives the seconds of the English part alone."""
    started = time.perf_counter()
    commands = [([str(BIN / "papermill"), str(inputs / f"{name}.ipynb"),
                  str(sources / "notebooks" / f"{name}.ipynb"), "-k", "python3",
                  "--cwd", str(repo / "notebooks")], repo) for name in names]
    peak = 0
    for edition in [sources, *sorted(sources.parent.glob(f"{sources.name}-*"))]:
        shutil.rmtree(edition / "output", ignore_errors=True)
        commands.append(([str(BIN / "jupyter-book"), "build", str(edition), "--path-output",
                          str(edition / "output")], repo))
        peak = max(peak, run_all(commands)[1])
        commands = []
        if english is not None and edition == sources:
            english.append(time.perf_counter() - started)
    return time.perf_counter() - started, peak


def change_notebook(repo: Path, name: str, marker: str) -> None:
    """A change to the notebook that a reader would make while working on it: a comment in its
    last code cell. The notebook runs again and both editions read its page again; its prose
    is untouched, so its translation stays current (a changed Markdown cell would be a stale
    translation, which fails the build by design)."""
    text_form = repo / "notebooks" / f"{name}.md"
    comment = f"# benchmark {marker}"
    if text_form.exists():
        lines = [line for line in text_form.read_text(encoding="utf-8").split("\n")
                 if not line.startswith("# benchmark ")]
        opening = max(i for i, line in enumerate(lines) if line.startswith("```{code-cell}"))
        closing = next(i for i in range(opening + 1, len(lines)) if lines[i] == "```")
        lines.insert(closing, comment)
        text_form.write_text("\n".join(lines), encoding="utf-8")
        return
    path = repo / "notebooks" / f"{name}.ipynb"
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cell = [c for c in notebook["cells"] if c["cell_type"] == "code"][-1]
    source = "".join(cell["source"]).split("\n# benchmark ")[0]
    cell["source"] = source + "\n" + comment
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n",
                    encoding="utf-8")


def sweep_values(count: int, base: int = 12702) -> list[str]:
    return [str(base - 500 * (count // 2) + 500 * i) for i in range(count)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds (medians over them)")
    parser.add_argument("--sweep-runs", type=int, default=20)
    parser.add_argument("--notebook", default="yongchuan", help="notebook changed and swept")
    parser.add_argument("--parameter", default="vehicles_shipped")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="parallel notebooks or runs, the same for both engines")
    parser.add_argument("--only", type=variants_named, default=list(VARIANTS),
                        help="comma-separated groups (" + ", ".join(GROUPS) + ") or variants "
                        "to time, of: " + ", ".join(VARIANTS))
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: one round, a 4-run sweep, nothing written")
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.runs, arguments.sweep_runs, arguments.no_write = 1, 4, True
    unknown = sorted(set(arguments.only) - set(VARIANTS))
    if unknown:
        parser.error(f"--only: no group or variant {', '.join(unknown)} (groups: "
                     f"{', '.join(GROUPS)}; variants: {', '.join(VARIANTS)})")
    # results.json holds whole groups only, each from one run
    written_groups = [group for group, members in GROUPS.items()
                      if set(members) <= set(arguments.only)]
    if not written_groups:
        arguments.no_write = True

    scratch = Path(tempfile.mkdtemp(prefix="cqbook-bench-"))
    ours = copy_repository(scratch / "ours")
    naive_repo = copy_repository(scratch / "naive")
    sources, inputs = scratch / "naive-sources", scratch / "naive-inputs"
    print(f"scratch copies in {scratch}; preparing ...", flush=True)
    only = set(arguments.only)
    # The naive pipeline's inputs (and the papermill sweep's) are made by a build: skipped
    # when neither is timed.
    names = prepare_naive(naive_repo, sources, inputs) if only & {"naive", "sweep-pm"} else []
    values = sweep_values(arguments.sweep_runs)
    env_ours = {"PYTHONPATH": str(ours)}
    jobs = ["--jobs", str(arguments.jobs)]

    def clean(engine: dict | None = None):
        shutil.rmtree(ours / "_build", ignore_errors=True)
        return run(cqbook(ours, "build", *jobs), ours, {**env_ours, **(engine or {})})

    def noop():
        return run(cqbook(ours, "build", *jobs), ours, env_ours)

    changes = [0]

    def changed():
        changes[0] += 1
        change_notebook(ours, arguments.notebook, f"change {changes[0]}")
        return run(cqbook(ours, "build", *jobs), ours, env_ours)

    def sweep(engine: dict | None = None):
        shutil.rmtree(ours / "sweeps", ignore_errors=True)
        return run(cqbook(ours, "sweep", arguments.notebook, "-p", arguments.parameter,
                          *values, *jobs), ours, {**env_ours, **(engine or {})})

    def sweep_papermill():
        out = scratch / "papermill-sweep"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        source = inputs / f"{arguments.notebook}.ipynb"
        return run_all([([str(BIN / "papermill"), str(source), str(out / f"run-{i:03d}.ipynb"),
                          "-p", arguments.parameter, value, "-k", "python3",
                          "--cwd", str(naive_repo / "notebooks")], naive_repo)
                        for i, value in enumerate(values)])

    # A first build of ours, untimed, so that `no-op` and `changed` have a book to start
    # from even in the first round.
    if only & {"no-op", "changed"}:
        clean()
    # `noop` must follow a build, `changed` must follow a build: they stay in this order;
    # the rest rotates each round.
    naive_english: list[float] = []
    steps = [("naive", lambda: naive_build(naive_repo, sources, inputs, names, naive_english)),
             ("clean+no-op+changed", None), ("clean-kernel", lambda: clean(KERNEL_ENGINE)),
             ("sweep-pm", sweep_papermill), ("sweep", sweep),
             ("sweep-kernel", lambda: sweep(KERNEL_ENGINE))]
    times: dict[str, list[float]] = {}
    peaks: dict[str, int] = {}
    load = [os.getloadavg()[0]]
    for round_number in range(arguments.runs):
        order = steps[round_number % len(steps):] + steps[:round_number % len(steps)]
        for name, step in order:
            parts = ([("clean", clean), ("no-op", noop), ("changed", changed)]
                     if step is None else [(name, step)])
            for part, function in parts:
                if part not in only and not (part == "clean" and only & {"no-op", "changed"}):
                    continue
                seconds, peak = function()
                times.setdefault(part, []).append(seconds)
                peaks[part] = max(peaks.get(part, 0), peak)
                print(f"round {round_number + 1}/{arguments.runs}  {part:<8} {seconds:7.2f} s  "
                      f"peak {peak / 1024:5.0f} MiB", flush=True)
        load.append(os.getloadavg()[0])

    if naive_english:
        times[NAIVE_ENGLISH] = naive_english
    machine = {"cores": os.cpu_count(), "python": platform.python_version(),
               "platform": platform.platform(),
               "load_average_during": [round(x, 2) for x in load]}
    about = {"machine": machine, "commit": commit_of(), "date": time.strftime(
        "%Y-%m-%d %H:%M UTC", time.gmtime()), "rounds": arguments.runs,
        "sweep_runs": arguments.sweep_runs, "jobs": arguments.jobs,
        "notebook": arguments.notebook, "notebooks": names}
    results = {group: group_result(group, times, peaks, about) for group in GROUPS
               if any(name in times for name in GROUPS[group])}
    print("\n" + markdown(results))
    if not arguments.no_write:
        kept = read_results()
        kept.update({group: results[group] for group in written_groups})
        RESULTS_JSON.write_text(json.dumps(kept, indent=1, sort_keys=True) + "\n")
        print(f"written: {RESULTS_JSON.relative_to(REPO)} ({', '.join(written_groups)}); "
              "benchmarks/report.py puts it in results.md")
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


def variants_named(text: str) -> list[str]:
    return [variant for name in text.split(",") for variant in GROUPS.get(name, (name,))]


def read_results() -> dict:
    """results.json: each group's last run."""
    try:
        return json.loads(RESULTS_JSON.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def group_result(group: str, times: dict, peaks: dict, about: dict) -> dict:
    members = set(GROUPS[group]) | ({NAIVE_ENGLISH} if group == "build" else set())
    times = {k: v for k, v in times.items() if k in members}
    medians = {name: statistics.median(values) for name, values in times.items()}
    pairs = {name: (name, ref) if isinstance(ref, str) else ref
             for name, ref in REFERENCES.items()}
    ratios = {name: medians[a] / medians[b] for name, (a, b) in pairs.items()
              if a in medians and b in medians}
    ours = [peak for name, peak in peaks.items() if name in members
            and name not in ("naive", "sweep-pm")]
    return {**about, "group": group,
            "seconds": {k: [round(x, 2) for x in v] for k, v in times.items()},
            "median_seconds": {k: round(v, 2) for k, v in medians.items()},
            "ratios": {k: round(v, 3) for k, v in ratios.items()},
            "targets": {k: v for k, v in TARGETS.items() if k in members},
            "peak_rss_mib": {k: round(v / 1024) for k, v in peaks.items() if k in members},
            "met": {**{k: ratios[k] <= TARGETS[k] for k in TARGETS if k in ratios},
                    **({"memory": max(ours) / 1024 <= MEMORY_TARGET_MIB} if ours else {})}}


def markdown(results: dict) -> str:
    """Each group's table, under the machine, commit and date of its own run."""
    lines = []
    for group, result in results.items():
        lines += group_markdown(group, result)
    lines += [(f"Memory target: ≤ {MEMORY_TARGET_MIB} MiB for any one process of ours. Every "
              "round's seconds are in results.json. Reproduce with `make benchmark`."), ""]
    return "\n".join(lines)


def group_markdown(group: str, result: dict) -> list[str]:
    medians, ratios, peaks = result["median_seconds"], result["ratios"], result["peak_rss_mib"]
    machine, runs, jobs = result["machine"], result["sweep_runs"], result.get("jobs")
    rows = [  # label, variant, ratio shown when the variant is a reference
        ("naive: papermill CLI per notebook, then jupyter-book build of each edition", "naive",
         "1.00"),
        ("naive, its English part alone (papermill, then the English jupyter-book build)",
         NAIVE_ENGLISH, None),
        (f"clean build (`python -m cqbook build --jobs {jobs}`, no `_build`)", "clean", None),
        ("no-op rebuild", "no-op", None),
        (f"rebuild after `{result['notebook']}` changed", "changed", None),
        (f"clean build, real kernels (`CQBOOK_ENGINE=kernel`, `--jobs {jobs}`)",
         "clean-kernel", None),
        (f"sweep, papermill CLI one after another ({runs} runs)", "sweep-pm",
         "1.00 (sweep ref.)"),
        (f"sweep, `python -m cqbook sweep --jobs {jobs}` ({runs} runs)", "sweep", None),
        (f"sweep, real kernels (`CQBOOK_ENGINE=kernel`, `--jobs {jobs}`, {runs} runs)",
         "sweep-kernel", None),
    ]
    about = (f"Commit {result.get('commit', 'not recorded')}, {result.get('date', 'undated')}. "
             f"Machine: {machine['cores']} cores, Python {machine['python']}, "
             f"{machine['platform']}; load average during the run "
             f"{', '.join(map(str, machine['load_average_during']))}. "
             f"{result['rounds']} rounds, alternating; medians.")
    lines = [f"## The real book: {group}", "", about, "",
             "| way to build | median s | ratio | target | peak RSS of one process (MiB) |",
             "|---|---:|---:|---:|---:|"]
    for label, key, shown_ratio in rows:
        if key not in medians:
            continue
        ratio = shown_ratio or (f"{ratios[key]:.3f}" if key in ratios else "—")
        if key == NAIVE_ENGLISH:
            ratio = f"{medians[key] / medians['naive']:.3f}"
        target = f"≤ {TARGETS[key]:.2f}" if key in TARGETS else "—"
        peak = peaks.get(key, "—")
        lines.append(f"| {label} | {medians[key]:.2f} | {ratio} | {target} | {peak} |")
    extra = [(f"clean against the naive English part alone: "
             f"{ratios['clean / naive English only']:.3f}")] \
        if "clean / naive English only" in ratios else []
    extra += [f"forked kernels against real kernels at the same `--jobs` ({what}): "
              f"{ratios[f'fork/kernel {what}']:.3f}" for what in ("clean", "sweep")
              if f"fork/kernel {what}" in ratios]
    if extra:
        said = "; ".join(extra)
        lines += ["", said[0].upper() + said[1:] + "."]
    verdicts = ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in result["met"].items())
    return lines + ["", f"Targets met: {verdicts}.", ""]


if __name__ == "__main__":
    sys.exit(main())
