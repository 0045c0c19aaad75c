"""The review page as a reviewer opens it: offline (every host but 127.0.0.1 blocked), no
console error, the changed values and an old/new pair of charts on screen, in the book's CJK
font. A screenshot is saved to `test-artifacts/review/`."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browsing import LOCAL_HOSTS, serve
from review_repos import reviewed_repo

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "review"

SHOWN_JS = """() => {
  const visible = element => element && element.checkVisibility()
    && element.getBoundingClientRect().width > 0;
  const rows = [...document.querySelectorAll("#changed-values tbody tr")]
    .filter(visible).map(row => [...row.cells].map(cell => cell.textContent));
  const chart = document.querySelector('section.chart[data-figure="fig-alpha-bar"]');
  const images = Object.fromEntries([...chart.querySelectorAll("figure")].map(figure => {
    const img = figure.querySelector("img");
    const box = img.getBoundingClientRect();
    return [figure.className, {loaded: img.complete && img.naturalWidth > 0,
                               visible: visible(img), left: box.left, top: box.top}];
  }));
  return {rows, images};
}"""


@pytest.fixture(scope="module")
def opened(browser, tmp_path_factory):
    repo = reviewed_repo(tmp_path_factory.mktemp("reviewed"))
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors, foreign = [], []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("requestfailed", lambda request: errors.append(f"failed: {request.url}"))

    def only_local(route):
        url = route.request.url
        if url.startswith("data:") or urlsplit(url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            foreign.append(url)
            route.abort()

    page.route("**/*", only_local)
    with serve(repo / "_build" / "review") as origin:
        page.goto(f"{origin}/index.html")
        page.wait_for_load_state("networkidle")
        page.evaluate("document.fonts.ready")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=ARTIFACTS / "review.png", full_page=True)
        yield page, errors, foreign
    page.close()


def test_review_page_opens_offline_without_console_errors(opened):
    _, errors, foreign = opened
    assert foreign == [] and errors == []


def test_review_page_shows_the_changed_values(opened):
    page, _, _ = opened
    rows = page.evaluate(SHOWN_JS)["rows"]
    assert ["alpha", "alpha_product", "42 个", "63 个", "+21", "+50.0%"] in [r[:6] for r in rows]


def test_review_page_shows_old_and_new_chart_side_by_side(opened):
    page, _, _ = opened
    images = page.evaluate(SHOWN_JS)["images"]
    assert set(images) == {"old", "new"}
    assert all(image["loaded"] and image["visible"] for image in images.values())
    assert images["old"]["left"] < images["new"]["left"]  # side by side, old first
    assert images["old"]["top"] == images["new"]["top"]


def test_review_page_text_is_drawn_in_the_books_cjk_font(opened):
    page, _, _ = opened
    assert page.evaluate("""() => [...document.fonts].some(
        font => font.family.includes("Noto Sans CJK SC Subset") && font.status === "loaded")""")
