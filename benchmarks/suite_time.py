"""The test suite's wall time as a contributor meets it: `make test` in a fresh clone of the
committed tree, its virtual environment already made.

    .venv/bin/python benchmarks/suite_time.py      # or: make benchmark (last)

It clones HEAD into a scratch folder, makes the clone's .venv there (not timed: `make test`
on a machine that has set up once), then times `make test` with `CI=true` (so that nothing a
test needs may be skipped) and writes benchmarks/suite.json: the seconds, pytest's summary
line, the ten slowest tests it printed, the commit and the machine. One run: a whole suite
is minutes, and it is a wall time to compare with a target, not a ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run_benchmarks import REPO, commit_of

RESULT = REPO / "benchmarks" / "suite.json"
TARGET_SECONDS = 6 * 60
_SUMMARY = re.compile(r"^=+ (.*(?:passed|failed|error).*) in [\d.]+s.* =+$", re.MULTILINE)
_SLOWEST = re.compile(r"^([\d.]+)s (call|setup|teardown)\s+(\S+)$", re.MULTILINE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="the fast tests only (-m 'not slow and not browser'), nothing "
                        "written: a smoke run of this script")
    arguments = parser.parse_args(argv)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.strip()
    if dirty:
        print("note: the working tree has uncommitted changes; the clone times HEAD",
              flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="cqbook-suite-"))
    clone = scratch / "repo"
    try:
        subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
        commit = commit_of(clone)  # what is timed, though the repository may move meanwhile
        print(f"clone of {commit} in {clone}; making its .venv (not timed) ...", flush=True)
        made = subprocess.run(["make", ".venv/.installed"], cwd=clone, capture_output=True,
                              text=True, check=False)
        if made.returncode != 0:  # pip's chatter is shown only when it failed
            print(made.stdout[-3000:] + made.stderr[-3000:], file=sys.stderr)
            return 2
        command, env = ["make", "test"], {**os.environ, "CI": "true"}
        if arguments.quick:
            env["PYTEST_ADDOPTS"] = "-m 'not slow and not browser'"
        print(f"timing `{' '.join(command)}` with CI=true ...", flush=True)
        started = time.perf_counter()
        completed = subprocess.run(command, cwd=clone, capture_output=True, text=True,
                                   env=env, check=False)
        seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    output = completed.stdout + completed.stderr
    result = result_of(output, seconds, completed.returncode, commit,
                       os.environ.get("TEST_WORKERS") or makefile_workers())
    print(f"make test: {seconds / 60:.1f} min, exit {completed.returncode}: "
          f"{result['summary']} (target ≤ {TARGET_SECONDS // 60} min)")
    if completed.returncode != 0:
        print(output[-4000:], file=sys.stderr)
    if not arguments.quick:  # a failing run is recorded too: the report says it failed
        RESULT.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
        print(f"written: {RESULT.relative_to(REPO)}")
    return 0 if completed.returncode == 0 else 1


def makefile_workers() -> str:
    """The number of test workers `make test` uses unless told (the Makefile's default)."""
    found = re.search(r"^TEST_WORKERS \?= (\d+)$", (REPO / "Makefile").read_text(encoding="utf-8"),
                      flags=re.MULTILINE)
    return found.group(1) if found else "?"


def result_of(output: str, seconds: float, returncode: int, commit: str,
              workers: str | None = None) -> dict:
    summary = _SUMMARY.findall(output)
    return {"seconds": round(seconds, 1), "returncode": returncode,
            "summary": summary[-1] if summary else "no pytest summary line",
            "slowest": [f"{s}s {when} {test}" for s, when, test in _SLOWEST.findall(output)],
            "commit": commit, "workers": workers or makefile_workers(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "target_seconds": TARGET_SECONDS,
            "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                        "platform": platform.platform(),
                        "load_average_after": round(os.getloadavg()[0], 2)}}


if __name__ == "__main__":
    sys.exit(main())
