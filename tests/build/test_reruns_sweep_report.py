"""The report a sweep writes beside results.csv: a chart per headline value, opened in Chromium
with every other host blocked. A two-parameter sweep of a fixture notebook (an exact value, a
lower bound, an approximate one) runs through the real command line; the charts' drawing is
also checked in-process with every warning an error (a missing glyph is a warning)."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest
from browsing import block_other_hosts, serve, watch
from conftest import FIXTURES, copy_repository, cqbook

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "sweep_report"
GRID = FIXTURES / "param_notebooks" / "grid.md"

MEDIA_JS = """() => ({
  images: [...document.images].map(img => ({src: img.getAttribute("src"), alt: img.alt.trim(),
      loaded: img.complete && img.naturalWidth > 0})),
  cjkFont: document.fonts.check('16px "Noto Sans CJK SC Subset"', "参数扫描"),
  fonts: [...document.fonts].filter(f => f.status === "loaded").map(f => f.family),
  title: document.querySelector("h1").innerText,
})"""


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    repo = copy_repository(tmp_path_factory.mktemp("sweep-report") / "repo")
    shutil.copy(GRID, repo / "notebooks" / "grid.md")
    result = cqbook(repo, "sweep", "grid", "-p", "factor", "1", "2", "3",
                    "-p", "offset", "0", "0.5")
    assert result.returncode == 0, result.stdout + result.stderr
    (folder,) = (repo / "sweeps").glob("grid__factor_offset__*")
    return repo, folder, result


@pytest.mark.slow
def test_the_sweep_prints_its_report_and_draws_without_missing_glyphs(swept):
    repo, folder, result = swept
    assert f"report: {folder.relative_to(repo).as_posix()}/report.html" in result.stdout
    assert "missing from font" not in result.stderr and "Glyph" not in result.stderr
    assert (folder / "results.csv").exists() and (folder / "report.html").exists()
    charts = sorted(p.name for p in (folder / "charts").glob("*.svg"))
    assert charts == ["00-grid_total.svg", "01-grid_at_least.svg", "02-grid_about.svg"]


@pytest.mark.slow
@pytest.mark.browser
def test_the_reports_charts_load_offline_with_alt_text(swept, browser):
    _, folder, _ = swept
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with serve(folder) as origin:
        context = browser.new_context(viewport={"width": 1280, "height": 900})

        block_other_hosts(context, lambda: problems)
        page = context.new_page()
        watch(page, problems)
        page.goto(f"{origin}/report.html", wait_until="load")
        page.wait_for_load_state("networkidle")
        page.evaluate("document.fonts.ready.then(() => true)")
        seen = page.evaluate(MEDIA_JS)
        page.screenshot(path=ARTIFACTS / "grid-two-parameters.png", full_page=True)
        context.close()
    assert not problems, problems
    charts = [i for i in seen["images"] if i["src"].startswith("charts/")]
    assert len(charts) == 3 and all(i["loaded"] for i in charts), charts
    alts = [i["alt"] for i in charts]
    assert all(alt.startswith("Heat map of ") for alt in alts), alts
    assert "factor across (1, 2, 3) and offset down (0, 0.5)" in alts[0]
    assert "default cell (factor = 2, offset = 0.5) is outlined" in alts[0]
    assert "lower bounds" in alts[1] and "approximate" in alts[2]
    assert seen["cjkFont"] and "Noto Sans CJK SC Subset" in seen["fonts"]
    assert seen["title"] == "参数扫描 · Sweep of grid"


RESULTS = [[{"name": "total", "value": 21 * f + o, "unit": "辆", "bound": "exact",
             "label": "vehicles in total", "text": f"{21 * f + o} 辆"},
            {"name": "floor", "value": 10 * f, "unit": "个", "bound": "lower",
             "label": "projects", "text": f"≥ {10 * f} 个"},
            {"name": "name", "value": "text", "unit": "", "bound": "exact", "label": "",
             "text": "text"}]
           for f in (1, 2) for o in (0.0, 0.5)]
RUNS = [{"factor": f, "offset": o} for f in (1, 2) for o in (0.0, 0.5)]


@pytest.mark.parametrize("names", [["factor"], ["factor", "offset"], ["offset", "factor"]])
def test_charts_draw_chinese_without_a_warning(tmp_path, names, monkeypatch):
    from matplotlib import pyplot as plt

    from cqbook.analysis.charts import chinese_only_labels
    from cqbook.build import sweep_report

    kept = [i for i, run in enumerate(RUNS) if len(names) == 2 or run["offset"] == 0.0]
    drawn = []
    save = sweep_report._save
    monkeypatch.setattr(sweep_report, "_save", lambda fig, path: (
        drawn.append(chinese_only_labels(fig)), save(fig, path)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        page = sweep_report.write_report(tmp_path, "demo", names, [RUNS[i] for i in kept],
                                         [RESULTS[i] for i in kept],
                                         {"factor": 2, "offset": 0.5})
    plt.close("all")
    assert drawn == [[], []]  # two numeric values charted; every title bilingual
    text = page.read_text(encoding="utf-8")
    assert text.count("<img ") == 2 and "Not charted (not a number in every run): name" in text
    assert "https://" not in text and "http://" not in text


def test_a_value_the_sweep_does_not_move_is_said_once_not_charted(tmp_path):
    from matplotlib import pyplot as plt

    from cqbook.build import sweep_report

    kept = [i for i, run in enumerate(RUNS) if run["offset"] == 0.0]
    results = [[*RESULTS[i], {"name": "grid_days", "value": 167, "unit": "days",
                              "bound": "exact", "label": "days", "text": "167 days"}]
               for i in kept]
    page = sweep_report.write_report(tmp_path, "demo", ["factor"], [RUNS[i] for i in kept],
                                     results, {"factor": 2, "offset": 0.5})
    plt.close("all")
    text = page.read_text(encoding="utf-8")
    assert text.count("<img ") == 2
    assert "The same in every run, so not charted: <code>grid_days</code> 167 days." in text
    assert not list((tmp_path / "charts").glob("*grid_days*"))
