"""The GitHub workflows: valid by GitHub's schema, clean by zizmor's security audit, thin (every
step a make target or a script of .ci/), and the pull-request job's commands run here, in a
scratch repository, as they run on a pull request."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO, copy_repository

BIN = Path(sys.executable).parent
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
PULL_REQUEST = REPO / ".github" / "workflows" / "pull-request.yml"
# Run steps that are not a make target: the Debian packages (as root, what .ci/run also
# does) and the comment job's GitHub CLI call, which exists only on GitHub.
NOT_MAKE = (".ci/install-system-packages", "gh pr comment")


def run(*command, cwd=REPO, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False,
                          **kwargs)


def steps(workflow: Path, job: str | None = None) -> list[dict]:
    jobs = yaml.safe_load(workflow.read_text(encoding="utf-8"))["jobs"]
    return [step for name, body in jobs.items() if job in (None, name)
            for step in body["steps"]]


def test_there_is_a_pull_request_and_a_publishing_workflow():
    assert {p.name for p in WORKFLOWS} == {"pull-request.yml", "publish.yml"}
    publish = yaml.safe_load((REPO / ".github/workflows/publish.yml").read_text())
    uses = [s.get("uses", "") for s in steps(REPO / ".github/workflows/publish.yml")]
    assert any(u.startswith("actions/deploy-pages@") for u in uses)
    assert publish[True]["push"]["branches"] == ["main"]  # YAML reads the key `on` as True


def test_workflows_match_githubs_schema():
    result = run(str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                 *map(str, WORKFLOWS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps: 3\n")
    result = run(str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                 str(broken))
    assert result.returncode == 1


def zizmor(*paths: Path) -> subprocess.CompletedProcess:
    return run(str(BIN / "zizmor"), "--offline", "--no-progress", *map(str, paths),
               env={**os.environ, "NO_COLOR": "1"})


def test_workflows_pass_zizmor():
    result = zizmor(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout + result.stderr


def test_zizmor_catches_an_action_not_pinned_to_a_commit(tmp_path):
    copy = tmp_path / "pull-request.yml"
    text = PULL_REQUEST.read_text(encoding="utf-8")
    pinned = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683"
    assert pinned in text
    copy.write_text(text.replace(pinned, "actions/checkout@v4"))
    result = zizmor(copy)
    assert result.returncode != 0 and "unpinned-uses" in result.stdout + result.stderr


def test_every_run_step_is_a_make_target_or_a_ci_script():
    for workflow in WORKFLOWS:
        for step in steps(workflow):
            if "run" in step:
                command = " ".join(step["run"].split())
                assert command.startswith("make ") or command.startswith(NOT_MAKE), (
                    f"{workflow.name}: `{command}` — keep the workflow thin: add a make "
                    "target that runs the same on a laptop")


def git(repo: Path, *arguments: str) -> str:
    result = run("git", "-c", "user.name=t", "-c", "user.email=t@t", *arguments, cwd=repo)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.slow
def test_the_pull_request_jobs_commands_run_in_a_scratch_repository(tmp_path):
    """A clone with `origin/main` and a feature branch that changes a parameter, as
    actions/checkout leaves a pull request; then every make step of the `book` job, in its
    order, with this test run's virtual environment. Not run: the Debian packages (root;
    .ci/run installs them) and `make test` (this suite itself)."""
    upstream = copy_repository(tmp_path / "upstream")
    git(upstream, "init", "-q", "-b", "main")
    git(upstream, "add", "-A")
    git(upstream, "commit", "-qm", "main")
    clone = tmp_path / "pull-request"
    git(tmp_path, "clone", "-q", str(upstream), str(clone))
    git(clone, "checkout", "-q", "-b", "feature")
    (clone / "params" / "book.yml").write_text("alpha:\n  factor: 3\n", encoding="utf-8")
    git(clone, "commit", "-qam", "factor 3")
    git(clone, "checkout", "-q", "--detach")  # a pull request's merge commit, no branch
    git(clone, "branch", "-q", "-D", "main")

    # This run's virtual environment, linked (a `rm -rf .venv` would remove only the link),
    # and its install stamp treated as up to date (`make -o`): the clone must never install
    # itself into the environment the rest of the suite runs in.
    (clone / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    environment = {**os.environ, "PYTHONPATH": str(clone)}
    environment.pop("CI", None)
    commands = [" ".join(s["run"].split()) for s in steps(PULL_REQUEST, "book") if "run" in s]
    make_steps = [c for c in commands if c.startswith("make ") and c != "make test"]
    assert make_steps == ["make book", "make review", "make site"]
    for command in make_steps:
        make, target = command.split()
        result = run(make, "-o", ".venv/.installed", target, cwd=clone, env=environment,
                     timeout=900)
        assert "pip install" not in result.stdout, result.stdout
        assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"

    diff = (clone / "_build" / "review" / "diff.md").read_text(encoding="utf-8")
    assert diff.startswith("<!-- cqbook-diff -->")
    assert "factor" in diff and "alpha_product" in diff
    page = (clone / "_build" / "review" / "index.html").read_text(encoding="utf-8")
    assert "alpha_product" in page and "<img" in page
    site = clone / "_build" / "site"
    assert (site / "book" / "index.html").is_file() and not (site / "book").is_symlink()
    assert (site / "review" / "diff.md").read_text(encoding="utf-8") == diff
    shutil.rmtree(clone / "_build")  # the worktree of the base lives there; keep tmp small
