"""What the diff and review tests share: a committed fixture repository with a feature
branch, edits that work on a notebook whatever its stored format, and one reviewed
repository built once for the page tests and the browser test."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import copy_repository, cqbook, git_commit_all

GIT_USER = ["-c", "user.name=t", "-c", "user.email=t@t"]


def git(repo: Path, *arguments: str) -> str:
    completed = subprocess.run(["git", *GIT_USER, *arguments], cwd=repo, capture_output=True,
                               text=True, check=True)
    return completed.stdout.strip()


def on_feature_branch(repo: Path) -> Path:
    """`repo` committed on main, then a branch `feature` checked out for the change."""
    git_commit_all(repo)
    git(repo, "checkout", "-q", "-b", "feature")
    return repo


def commit(repo: Path, message: str = "change") -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def edit_notebook(repo: Path, name: str, old: str, new: str) -> None:
    """Replace text in the cells of a notebook, stored as .ipynb or as a text notebook."""
    [path] = [p for p in (repo / "notebooks").glob(f"{name}.*") if p.suffix in (".md", ".ipynb")]
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":  # in JSON, quotes are escaped: edit the cells' sources
        notebook = json.loads(text)
        cells = [json.dumps({**cell, "source": "".join(cell["source"])}, ensure_ascii=False)
                 for cell in notebook["cells"]]
        edited = [cell.replace(json.dumps(old, ensure_ascii=False)[1:-1],
                               json.dumps(new, ensure_ascii=False)[1:-1]) for cell in cells]
        assert edited != cells, f"{old!r} not in {path}"
        notebook["cells"] = [json.loads(cell) for cell in edited]
        path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n",
                        encoding="utf-8")
    else:
        assert old in text, f"{old!r} not in {path}"
        path.write_text(text.replace(old, new), encoding="utf-8")


def build(repo: Path) -> None:
    result = cqbook(repo, "build")
    assert result.returncode == 0, result.stdout + result.stderr


_reviewed: dict[str, Path] = {}


def reviewed_repo(folder: Path) -> Path:
    """The fixture book with `factor` 2 → 3 committed on a feature branch, and `review` run
    once (built once per test session: the page tests only read it)."""
    if "repo" not in _reviewed:
        repo = copy_repository(folder / "repo")
        build(repo)
        on_feature_branch(repo)
        (repo / "params" / "book.yml").write_text("alpha:\n  factor: 3\n")
        build(repo)
        commit(repo, "factor 3")
        result = cqbook(repo, "review")
        assert result.returncode == 1, result.stdout + result.stderr
        _reviewed.update(repo=repo, stdout=result.stdout)
    return _reviewed["repo"]


def reviewed_stdout() -> str:
    return _reviewed["stdout"]
