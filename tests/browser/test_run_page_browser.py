"""The page of a re-run, as a reader opens it: `cqbook run yongchuan -p vehicles_shipped 13702`
in a copy of the repository (the real chapter: glue, MyST roles, charts, Chinese), opened in
Chromium with every other host blocked.

The page must look like the book (its theme and web font), show no raw `{glue` or role
text, say which values differ from the published book's, and list each headline value
published → this run, as results/headline_values.csv and the run's own values say. No book
is built: the run needs none.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from browsing import block_other_hosts, serve, watch
from conftest import copy_repository, cqbook

pytestmark = [pytest.mark.slow, pytest.mark.browser]

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "run_page"
FOLDER = "runs/yongchuan__vehicles_shipped=13702"

PAGE_JS = """() => ({
  theme: document.documentElement.dataset.theme,
  themeSheet: [...document.styleSheets].some(s => (s.href || "").includes("pydata-sphinx-theme")),
  sidebar: !!document.querySelector(".bd-sidebar-primary"),
  cjkFont: document.fonts.check('16px "Noto Sans CJK SC Subset"', "永川"),
  fontsLoaded: [...document.fonts].filter(f => f.status === "loaded").map(f => f.family),
  images: [...document.images].map(img => ({src: img.currentSrc, alt: img.alt.trim(),
                                             loaded: img.complete && img.naturalWidth > 0})),
  changes: [...document.querySelectorAll(".cq-changes tbody tr")].map(
      tr => [...tr.cells].map(td => td.innerText.trim())),
  parameters: [...document.querySelectorAll(".cq-run tbody tr")].map(
      tr => [...tr.cells].map(td => td.innerText.trim())),
  published: document.querySelector("a.cq-published")?.getAttribute("href"),
  sources: [...document.querySelectorAll("a.cq-source")].map(a => a.getAttribute("href")),
  // How far each box's table runs past the box's right edge, in CSS pixels.
  overflow: [...document.querySelectorAll(".cq-changes table, .cq-run table")].map(t => [
      t.closest(".admonition").className,
      t.getBoundingClientRect().right - t.closest(".admonition").getBoundingClientRect().right]),
})"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    repo = copy_repository(tmp_path_factory.mktemp("run-page") / "repo", fixture_book=False)
    result = cqbook(repo, "run", "yongchuan", "-p", "vehicles_shipped", "13702", timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    return repo, result


@pytest.fixture(scope="module")
def visit(run, browser):
    repo, _ = run
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with serve(repo) as origin:
        context = browser.new_context(viewport={"width": 1280, "height": 900})

        block_other_hosts(context, lambda: problems)
        page = context.new_page()
        watch(page, problems)
        page.goto(f"{origin}/{FOLDER}/index.html", wait_until="load")
        page.wait_for_load_state("networkidle")
        page.evaluate("document.fonts.ready.then(() => true)")
        seen = page.evaluate(PAGE_JS)
        seen["text"] = page.inner_text("main")
        page.screenshot(path=ARTIFACTS / "yongchuan-run.png", full_page=True)
        context.close()
    return {**seen, "problems": problems}


def test_run_prints_the_page_and_executes_once(run):
    repo, result = run
    assert f"page: {FOLDER}/index.html" in result.stdout
    assert result.stdout.count("executed in") == 1
    assert sorted(p.name for p in (repo / FOLDER).glob("*.ipynb")) == ["yongchuan.ipynb"]
    assert not (repo / "_build" / "html").exists()  # the published book is left alone


def test_the_page_is_the_books_theme_and_font_offline_without_errors(visit):
    assert not visit["problems"], visit["problems"]
    assert visit["theme"] == "light" and visit["themeSheet"] and visit["sidebar"]
    assert visit["cjkFont"] and "Noto Sans CJK SC Subset" in visit["fontsLoaded"]


def test_no_raw_glue_or_role_text(visit):
    text = visit["text"]
    assert "{glue" not in text
    assert not re.search(r"\{[a-z][a-z:-]*\}`", text), re.search(r".{40}\{[a-z:-]+\}`.{40}",
                                                                  text)
    assert "13,702 vehicles" in text  # glued into the prose


def test_charts_are_loaded_with_alt_text(visit):
    charts = [i for i in visit["images"] if "/_images/" in i["src"]]
    assert charts and all(i["loaded"] and i["alt"] for i in charts), charts


def test_the_box_names_the_parameter_that_differs_from_the_published_book(visit, run):
    assert visit["parameters"] == [["vehicles_shipped", "12702", "13702"]]
    repo, _ = run
    target = (repo / FOLDER / visit["published"]).resolve()
    assert target == (repo / "_build" / "html" / "notebooks" / "yongchuan.html").resolve()
    assert visit["sources"] and all(
        unquote(href).endswith("_build/html/book/sources.html#" + href.split("#")[1])
        for href in visit["sources"])


def test_the_what_changed_table_is_published_then_this_run(visit, run):
    from cqbook.build.results import value_text

    repo, _ = run
    with open(repo / "results" / "headline_values.csv", encoding="utf-8") as handle:
        published = {row["name"]: row for row in csv.DictReader(handle)
                     if row["notebook"] == "yongchuan" and row["kind"] == "headline"}
    ran = json.loads((repo / FOLDER / "headline_values.json").read_text(encoding="utf-8"))
    assert len(visit["changes"]) == len(ran) == len(published)
    for entry, (label, before, after, change) in zip(ran, visit["changes"]):
        assert label == entry["label"]
        assert before == published[entry["name"]]["text"] and after == entry["text"]
        moved = published[entry["name"]]["value"] != value_text(entry["value"])
        assert (change != "unchanged") == moved, (entry["name"], change)
    rows = {entry["name"]: row[1:] for entry, row in zip(ran, visit["changes"])}
    assert rows["yongchuan_vehicles_shipped"] == ["12,702 vehicles", "13,702 vehicles",
                                                  "+1,000 (+7.9%)"]
    assert rows["yongchuan_days_in_operation"][2] == "unchanged"


def test_the_boxes_tables_stay_inside_their_boxes(visit):
    """At 1280 px, as a reader's laptop shows it: no column of the what-changed or parameter
    table cut off at the box's right edge."""
    assert len(visit["overflow"]) == 2, visit["overflow"]
    outside = [(box, round(over)) for box, over in visit["overflow"] if over > 0.5]
    assert not outside, outside
