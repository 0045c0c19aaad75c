"""The review page: the changed values as a table and every changed chart old and new, the
base built in its own worktree, the working tree and the published book left alone."""

from __future__ import annotations

import base64
import hashlib
import html.parser
import re
import subprocess
from pathlib import Path

import pytest
from conftest import cqbook
from review_repos import build, edit_notebook, on_feature_branch, reviewed_repo, reviewed_stdout

from cqbook.build import diff, results, review


class ReviewPage(html.parser.HTMLParser):
    """What a reviewer reads: the rows of the values table, and per chart section the
    images of its old and new side."""

    def __init__(self, text: str):
        super().__init__()
        self.rows: list[list[str]] = []
        self.charts: dict[str, dict] = {}
        self._in_table = self._in_body = self._in_cell = False
        self._chart: dict | None = None
        self._side = ""
        self.links: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attributes):
        attributes = dict(attributes)
        if tag == "table" and attributes.get("id") == "changed-values":
            self._in_table = True
        elif tag == "tbody" and self._in_table:
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows.append([])
        elif tag == "td" and self._in_body:
            self._in_cell = True
            self.rows[-1].append("")
        elif tag == "section" and "data-figure" in attributes:
            self._chart = {"class": attributes["class"].split(), "images": {}}
            self.charts[attributes["data-figure"]] = self._chart
        elif tag == "figure" and self._chart is not None:
            self._side = attributes["class"]
        elif tag == "img" and self._chart is not None:
            self._chart["images"][self._side] = attributes
        if tag in ("link", "img", "script") and (attributes.get("href") or attributes.get("src")):
            self.links.append(attributes.get("href") or attributes.get("src"))

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_table = self._in_body = False
        elif tag == "td":
            self._in_cell = False
        elif tag == "section":
            self._chart = None

    def handle_data(self, data):
        if self._in_cell:
            self.rows[-1][-1] += data


def svg_of(image: dict) -> str:
    prefix = "data:image/svg+xml;base64,"
    assert image["src"].startswith(prefix)
    return base64.b64decode(image["src"][len(prefix):]).decode("utf-8")


def figure_hash(repo: Path, revision: str | None, figure: str) -> str:
    text = ((repo / "results" / "figure_hashes.csv").read_text(encoding="utf-8")
            if revision is None else subprocess.run(
                ["git", "show", f"{revision}:results/figure_hashes.csv"], cwd=repo,
                capture_output=True, text=True, check=True).stdout)
    [row] = [r for r in results.read_csv_text(text) if r["figure"] == figure]
    return row["sha256"]


# --- the page, from given changes (no build) --------------------------------------------------


def _chart_change(kind: str) -> tuple[diff.Changes, review.Images, review.Images]:
    old = results.FigureOutput("fig-<b>", "svg", "<svg>old</svg>", "a <caption>", "old alt")
    new = results.FigureOutput("fig-<b>", "svg", "<svg>new</svg>", "a <caption>", "new alt")
    rows = {side: {"notebook": "nb", "figure": "fig-<b>", "format": "svg",
                   "sha256": results.content_hash(image.content)}
            for side, image in (("old", old), ("new", new))}
    change = diff.ChartChange(kind, "nb", "fig-<b>", rows["old"] if kind != "added" else None,
                              rows["new"] if kind != "removed" else None)
    found = diff.Changes(diff.Base("0" * 40, "main"), [], [change])
    return found, {("nb", "fig-<b>"): old}, {("nb", "fig-<b>"): new}


def test_every_text_on_the_page_is_escaped():
    value = diff.ValueChange("changed", "nb", "<script>alert(1)</script>", "headline",
                             {"value": "1", "unit": "<i>", "bound": "exact", "text": "<b>1"},
                             {"value": "2", "unit": "<i>", "bound": "exact", "text": "<b>2"},
                             ("value", "text"))
    found, old, new = _chart_change("changed")
    found.values.append(value)
    text = review.page(found, old, new)
    assert "<script>" not in text and "<b>" not in text and "<i>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    parsed = ReviewPage(text)
    assert parsed.rows[0][:4] == ["nb", "<script>alert(1)</script>", "1 <i>", "2 <i>"]


def test_a_changed_chart_shows_old_and_new_and_added_or_removed_one_side():
    for kind, sides in (("changed", {"old", "new"}), ("added", {"new"}),
                        ("removed", {"old"})):
        page = ReviewPage(review.page(*_chart_change(kind)))
        chart = page.charts["fig-<b>"]
        assert kind in chart["class"] and set(chart["images"]) == sides
        for side in sides:
            assert svg_of(chart["images"][side]) == f"<svg>{side}</svg>"
            assert chart["images"][side]["alt"] == f"{side}: {side} alt"


def test_the_page_loads_nothing_from_another_host():
    page = ReviewPage(review.page(*_chart_change("changed")))
    assert page.links and all(link.startswith(("data:", "_static/")) for link in page.links)


# --- the command, in a repository -------------------------------------------------------------


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory) -> Path:
    return reviewed_repo(tmp_path_factory.mktemp("reviewed"))


@pytest.mark.slow
def test_review_prints_the_page_and_exits_1_for_a_change(reviewed):
    assert reviewed_stdout().strip() == str(reviewed / "_build" / "review" / "index.html")


@pytest.mark.slow
def test_review_page_has_the_changed_values_as_a_table(reviewed):
    page = ReviewPage((reviewed / "_build" / "review" / "index.html").read_text("utf-8"))
    by_name = {row[1]: row for row in page.rows}
    assert set(by_name) == {"alpha_product", "factor (parameter)"}
    assert by_name["alpha_product"][:6] == ["alpha", "alpha_product", "42 个", "63 个", "+21",
                                            "+50.0%"]
    assert by_name["factor (parameter)"][2:4] == ["2", "3"]


@pytest.mark.slow
def test_review_page_shows_the_changed_chart_old_and_new_side_by_side(reviewed):
    page = ReviewPage((reviewed / "_build" / "review" / "index.html").read_text("utf-8"))
    chart = page.charts["fig-alpha-bar"]
    assert "changed" in chart["class"] and set(chart["images"]) == {"old", "new"}
    old, new = (svg_of(chart["images"][side]) for side in ("old", "new"))
    # The very charts the base and the working tree hashed, not two copies of one.
    assert hashlib.sha256(old.encode()).hexdigest() == figure_hash(reviewed, "main",
                                                                   "fig-alpha-bar")
    assert hashlib.sha256(new.encode()).hexdigest() == figure_hash(reviewed, None,
                                                                   "fig-alpha-bar")
    assert old != new


def published_text(repo: Path) -> str:
    """What the published pages read as, without their tags (Chinese runs are wrapped in
    `<span lang="zh-Hans">`)."""
    return "".join(re.sub(r"<[^>]+>", "", page.read_text("utf-8"))
                   for page in (repo / "_build" / "html").rglob("*.html"))


@pytest.mark.slow
def test_review_leaves_the_working_tree_alone_and_builds_the_base_once(reviewed):
    status = subprocess.run(["git", "status", "--porcelain"], cwd=reviewed, capture_output=True,
                            text=True, check=True).stdout
    assert status == ""
    # The published book is the working tree's (product 63), the base's (42) only in its
    # worktree.
    assert "63 个" in published_text(reviewed) and "42 个" not in published_text(reviewed)
    assert "42 个" in published_text(reviewed / "_build" / "review-base" / "worktree")
    log = reviewed / "_build" / "review-base" / "build.log"
    built_at = log.stat().st_mtime_ns
    again = cqbook(reviewed, "review")
    assert again.returncode == 1, again.stdout + again.stderr
    assert log.stat().st_mtime_ns == built_at  # the base's executed notebooks were reused


@pytest.mark.slow
def test_review_shows_an_added_and_a_removed_chart(fixture_repo):
    on_feature_branch(fixture_repo)
    edit_notebook(fixture_repo, "alpha", "fig-alpha-bar", "fig-alpha-column")
    build(fixture_repo)
    result = cqbook(fixture_repo, "review")
    assert result.returncode == 1, result.stdout + result.stderr
    page = ReviewPage(Path(result.stdout.strip()).read_text("utf-8"))
    assert "removed" in page.charts["fig-alpha-bar"]["class"]
    assert set(page.charts["fig-alpha-bar"]["images"]) == {"old"}
    assert "added" in page.charts["fig-alpha-column"]["class"]
    assert set(page.charts["fig-alpha-column"]["images"]) == {"new"}
    # Same bars, another name: the removed and the added chart are the same picture.
    assert (svg_of(page.charts["fig-alpha-bar"]["images"]["old"])
            == svg_of(page.charts["fig-alpha-column"]["images"]["new"]))


@pytest.mark.slow
def test_review_without_a_change_exits_0_and_builds_no_base(fixture_repo):
    on_feature_branch(fixture_repo)
    result = cqbook(fixture_repo, "review")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No headline value, parameter or chart changed." in Path(
        result.stdout.strip()).read_text("utf-8")
    assert not (fixture_repo / "_build" / "review-base").exists()


@pytest.mark.slow
def test_review_with_an_unknown_base_is_one_line_and_exit_2(fixture_repo):
    on_feature_branch(fixture_repo)
    result = cqbook(fixture_repo, "review", "--base", "nosuchrev")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        ("error: unknown revision 'nosuchrev': name a branch, tag or commit that exists here "
        "(git fetch it first if it is remote)")]
