"""Incremental Sphinx on the fixture book: a change is read again where it shows and nowhere
else (judged by Sphinx's own "reading sources" lines), a damaged environment is rebuilt by
itself, and a build that fails publishes nothing."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
from conftest import cqbook
from test_faults import book_snapshot

from cqbook.build.sphinx_incremental import TEMPLATE_CACHE

pytestmark = pytest.mark.slow

WORKSPACE = ("_build", "sphinx", "en")


def pages_read(output: str) -> tuple[str, set[str]]:
    """("incremental" or "from scratch", the pages Sphinx read) from the build's line."""
    match = re.search(r"^sphinx: read \d+ pages? \((incremental|from scratch)[^)]*\)(?:: (.*))?$",
                      output, flags=re.MULTILINE)
    assert match, output
    return match.group(1), set(filter(None, (match.group(2) or "").split(", ")))


def page_text(repo, page: str) -> str:
    """What a reader reads (Chinese runs are wrapped in `<span lang="zh-Hans">`)."""
    return re.sub(r"<[^>]+>", "", (repo / "_build" / "html" / page).read_text(encoding="utf-8"))


def edit_markdown_cell(repo, name: str, text: str) -> None:
    path = repo / "notebooks" / f"{name}.ipynb"
    notebook = json.loads(path.read_text())
    notebook["cells"][0]["source"] += f"\n\n{text}"
    path.write_text(json.dumps(notebook, indent=1))


def rename_chapter(repo, name: str, title: str) -> None:
    path = repo / "notebooks" / f"{name}.ipynb"
    notebook = json.loads(path.read_text())
    notebook["cells"][0]["source"] = re.sub(r"^# .*", f"# {title}",
                                            "".join(notebook["cells"][0]["source"]), count=1)
    path.write_text(json.dumps(notebook, indent=1))


def build(repo):
    result = cqbook(repo, "build")
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_a_notebook_no_page_pastes_from_is_the_only_page_read_again(fixture_repo):
    edit_markdown_cell(fixture_repo, "beta", "Edited.")
    assert pages_read(build(fixture_repo).stdout) == ("incremental", {"notebooks/beta"})
    assert "Edited." in page_text(fixture_repo, "notebooks/beta.html")


def test_the_page_that_pastes_from_a_changed_notebook_is_read_again_with_it(fixture_repo):
    (fixture_repo / "params" / "book.yml").write_text("alpha:\n  factor: 3\n")
    assert pages_read(build(fixture_repo).stdout) == ("incremental",
                                                     {"notebooks/alpha", "book/index"})
    assert "63 个" in page_text(fixture_repo, "book/index.html")


def test_an_incremental_build_publishes_what_a_clean_build_publishes(fixture_repo):
    (fixture_repo / "params" / "book.yml").write_text("alpha:\n  factor: 3\n")
    build(fixture_repo)
    incremental = book_snapshot(fixture_repo)
    shutil.rmtree(fixture_repo.joinpath(*WORKSPACE))
    (fixture_repo / "_build" / "published.json").unlink()  # so the book is built again
    assert pages_read(build(fixture_repo).stdout)[0] == "from scratch"
    assert book_snapshot(fixture_repo) == incremental


@pytest.mark.parametrize("damage", [
    lambda workspace: (workspace / "out" / "doctrees" / "environment.pickle").write_bytes(
        b"\x80\x05not a pickle"),
    lambda workspace: (workspace / "out" / "doctrees" / "notebooks" / "alpha.doctree")
    .write_bytes(b"\x80\x05not a pickle"),
    lambda workspace: (workspace / "built.json").write_text("{}"),
    lambda workspace: shutil.rmtree(workspace / "src"),
], ids=["environment", "a-doctree", "record", "sources"])
def test_a_damaged_workspace_falls_back_to_a_full_build(fixture_repo, damage):
    damage(fixture_repo.joinpath(*WORKSPACE))
    # A new title: every page is written again, so every doctree is read back.
    rename_chapter(fixture_repo, "beta", "Renamed chapter")
    result = build(fixture_repo)
    assert pages_read(result.stdout)[1] == {"book/index", "notebooks/alpha", "notebooks/beta"}
    assert "Renamed chapter" in page_text(fixture_repo, "notebooks/alpha.html")


def test_a_failed_incremental_build_leaves_the_published_book_byte_identical(fixture_repo):
    before, link = book_snapshot(fixture_repo), (fixture_repo / "_build" / "html").readlink()
    edit_markdown_cell(fixture_repo, "beta", "See {doc}`no-such-page`.")
    result = cqbook(fixture_repo, "build")
    assert result.returncode != 0 and "no-such-page" in result.stderr
    assert book_snapshot(fixture_repo) == before
    assert (fixture_repo / "_build" / "html").readlink() == link
    # Sphinx's environment now holds the page read with its warning: the next build must not
    # take the page as up to date and publish it.
    again = cqbook(fixture_repo, "build")
    assert again.returncode != 0 and "no-such-page" in again.stderr
    assert book_snapshot(fixture_repo) == before


def test_a_new_chapter_title_is_shown_on_every_page(fixture_repo):
    rename_chapter(fixture_repo, "beta", "Renamed chapter")
    result = build(fixture_repo)
    assert pages_read(result.stdout)[1] == {"notebooks/beta"}
    for page in ("book/index.html", "notebooks/alpha.html", "notebooks/beta.html"):
        assert "Renamed chapter" in page_text(fixture_repo, page), page


def test_compiled_templates_are_kept_with_the_doctrees_and_an_edited_one_is_compiled_again(
        tmp_path):
    source, doctrees = tmp_path / "src", tmp_path / "doctrees"
    (source / "_templates").mkdir(parents=True)
    (source / "conf.py").write_text('extensions = ["myst_nb", "cqbook.build.sphinx_incremental"]\n'
                                    'templates_path = ["_templates"]\n')
    (source / "index.md").write_text("# A page\n")
    layout = source / "_templates" / "layout.html"

    def build_with(mark: str) -> str:
        layout.write_text('{% extends "!layout.html" %}{% block footer %}' + mark
                          + "{{ super() }}{% endblock %}\n")
        result = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W",
                                 "-d", str(doctrees), str(source), str(tmp_path / "html")],
                                capture_output=True, text=True, timeout=300, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        return (tmp_path / "html" / "index.html").read_text(encoding="utf-8")

    assert "FIRST-MARK" in build_with("FIRST-MARK")
    compiled = sorted((doctrees / TEMPLATE_CACHE).iterdir())
    assert compiled  # the page's template and the theme's it extends
    page = build_with("SECOND-MARK")
    assert "SECOND-MARK" in page and "FIRST-MARK" not in page


def full_sphinx_build(repo) -> tuple[str, bytes]:
    """The book built again by Sphinx from scratch (no environment, no published record; the
    notebooks from the cache): the jieba line of Sphinx's log and the search index."""
    shutil.rmtree(repo.joinpath(*WORKSPACE))
    (repo / "_build" / "published.json").unlink()
    assert pages_read(build(repo).stdout)[0] == "from scratch"
    log = repo.joinpath(*WORKSPACE, "sphinx.log").read_text(encoding="utf-8")
    said = [line for line in log.splitlines() if line.startswith("jieba: ")]
    return " ".join(said), (repo / "_build" / "html" / "searchindex.js").read_bytes()


def test_the_book_words_kept_by_a_build_index_the_book_as_the_whole_dictionary(fixture_repo):
    kept = fixture_repo / "_build" / "cache" / "jieba"
    assert len(list(kept.glob("*.marshal"))) == 1  # kept by the fixture book's first build
    said, from_kept = full_sphinx_build(fixture_repo)
    assert said.startswith("jieba: the book's words"), said
    shutil.rmtree(kept)
    said, from_whole = full_sphinx_build(fixture_repo)
    assert said.startswith("jieba: the whole dictionary"), said
    assert from_kept == from_whole
    terms = json.loads(from_whole.decode().removeprefix("Search.setIndex(")[:-1])["terms"]
    assert {"乘积", "制造业", "汽车产业"} <= set(terms)  # Chinese words of the fixture's pages
    assert len(list(kept.glob("*.marshal"))) == 1  # kept again, for the next build
