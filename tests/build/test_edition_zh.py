"""The Chinese edition's translations, without building a book: complete and current for the
committed chapters, stale or missing when the English moves, refused by the build in one
line before any kernel starts, listed by `cqbook translations --missing`; glued text
translated by its shape with every number kept; the edition's config and contents derived
from the English ones.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import REPO, copy_repository, cqbook
from markdown_it import MarkdownIt

from cqbook.build import editions, pages
from cqbook.build.notebook_files import read_notebook

ZH = REPO / "translations" / "zh"


def _copy(tmp_path: Path) -> Path:
    """The pieces of the repository the translation check reads."""
    repo = tmp_path / "repo"
    for name in ("notebooks", "book", "translations"):
        shutil.copytree(REPO / name, repo / name)
    for name in ("_toc.yml", "_config.yml"):
        shutil.copy(REPO / name, repo / name)
    return repo


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path}: {old!r} not found"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_every_page_of_the_book_has_a_current_chinese_translation():
    assert editions.editions() == ["zh"]
    found, problems = editions.check("zh")
    assert [p.line() for p in problems] == []
    _, toc = editions.toc_pages()
    written = {page for page in toc if editions.page_units(page) is not None}
    assert set(found) == written and len(written) == 8  # six chapters, summary, method
    strings, shapes = editions.Strings.read("zh"), editions.ValueShapes.read("zh")
    assert strings("book.title") and shapes.general


def test_a_changed_english_cell_makes_its_translation_stale(tmp_path):
    repo = _copy(tmp_path)
    _replace(repo / "notebooks" / "yongchuan.md", "## What the page says",
             "## What the page says, in full")
    _, problems = editions.check("zh", repo)
    lines = [p.line() for p in problems]
    assert len(lines) == 1, lines
    assert lines[0].startswith("translations/zh/notebooks/yongchuan.md: cell yongchuan-03 ")
    assert "is stale: its English changed since it was translated" in lines[0]
    with pytest.raises(editions.TranslationError) as refused:
        editions.require("zh", repo)
    assert "\n" not in str(refused.value) and "yongchuan-03" in str(refused.value)


def test_a_notebook_edited_between_two_checks_is_read_again(tmp_path):
    # One build checks twice (before its kernels, and staging the edition): the second
    # check must see the file as it is then, not as the first one read it.
    repo = _copy(tmp_path)
    assert editions.check("zh", repo)[1] == []
    _replace(repo / "notebooks" / "yongchuan.md", "## What the page says",
             "## What the page says, in full")
    assert [p.unit.ident for p in editions.check("zh", repo)[1]] == ["yongchuan-03"]


def test_a_new_english_cell_a_caption_and_a_page_without_translation_are_missing(tmp_path):
    repo = _copy(tmp_path)
    notebook = repo / "notebooks" / "banan.md"
    _replace(notebook, "## Summary\n", "A new paragraph of English.\n\n+++\n\n## Summary\n")
    _replace(notebook, "The 23 reuse projects against the other 9",
             "The 23 reuse projects against the other nine")
    (repo / "translations" / "zh" / "book" / "method.md").unlink()
    _, problems = editions.check("zh", repo)
    lines = sorted(p.line() for p in problems)
    assert any("book/method.md: missing: book/method has no zh translation" in line
               for line in lines), lines
    assert any("banan.md: caption banan-18 " in line and "is stale" in line
               for line in lines), lines
    assert any("A new paragraph of English" in line and "has no translation" in line
               for line in lines), lines


def test_translations_follow_english_cells_by_digest_when_cells_move(tmp_path):
    """A code cell inserted above shifts every id after it: translations still match."""
    repo = _copy(tmp_path)
    _replace(repo / "notebooks" / "tongliang.md", "## What the page says",
             "```{code-cell}\nx = 1\n```\n\n+++\n\n## What the page says")
    _, problems = editions.check("zh", repo)
    assert [p.line() for p in problems] == []


def test_the_build_refuses_a_stale_translation_in_one_line_before_any_kernel(tmp_path):
    repo = copy_repository(tmp_path / "repo", fixture_book=False)
    _replace(repo / "notebooks" / "also_on_this_page.md", "### 三攻坚一试点: four lines of work",
             "### 三攻坚一试点: four strands of work")
    result = cqbook(repo, "build", timeout=300)
    assert result.returncode == 2, result.stdout + result.stderr
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert message.startswith("error: the zh edition cannot be built: "
                              "translations/zh/notebooks/also_on_this_page.md: cell "
                              "also-on-this-page-09 ")
    assert "nothing was built or published" in message
    assert "executed" not in result.stdout and not (repo / "_build" / "html").exists()

    listed = cqbook(repo, "translations", "--missing")
    assert listed.returncode == 1, listed.stdout + listed.stderr
    assert "zh: translations/zh/notebooks/also_on_this_page.md: cell also-on-this-page-09" \
        in listed.stdout
    assert "four strands of work" in listed.stdout  # the English to translate, shown
    assert "<!-- cell also-on-this-page-09 en:" in listed.stdout  # the marker to write
    assert listed.stdout.rstrip().endswith("1 translation missing or stale")


def test_translations_missing_lists_nothing_for_the_committed_book():
    result = cqbook(REPO, "translations", "--missing")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "0 translations missing or stale"


def test_glued_text_is_translated_by_shape_with_every_number_kept():
    shapes = editions.ValueShapes.read("zh")
    assert shapes.translate("k", "≈ 2,216.3 亿元 (≈ CNY 222 bn)", "x") == "≈ 2,216.3亿元"
    assert shapes.translate("k", "12,702 vehicles (已发运汽车12702辆)", "x") == \
        "12,702辆（已发运汽车12702辆）"
    assert shapes.translate("k", "0.6% (166 days instead of 167)", "x") == "0.6%（166天而非167天）"
    assert shapes.translate("k", "13,702 vehicles a day", "x") == "每天13,702辆"  # new number
    assert shapes.translate("k", "28 April 2023", "x") == "2023年4月28日"
    assert shapes.translate("k", "智能网联新能源汽车、产业链", "x") == "智能网联新能源汽车、产业链"
    with pytest.raises(editions.TranslationError) as missing:
        shapes.translate("yongchuan_note", "5 wagons of cars", "notebooks/yongchuan")
    assert str(missing.value) == ("translations/zh/_values.md: no translation of the value glued "
                                  "as `yongchuan_note` in notebooks/yongchuan, shape `en: {0} "
                                  "wagons of cars` (value '5 wagons of cars')")


def test_a_run_note_that_lists_changed_parameters_keeps_the_list_as_it_is():
    """Parameters other than the page's (`params/book.yml`, `run --into-book`) make notes no
    fixed shape can hold: `{*}` keeps the varying list (names and values: code)."""
    shapes = editions.ValueShapes.read("zh")
    note = shapes.translate("yongchuan_run_note", "This run departs from the page: "
                            "vehicles_shipped = 13702 (page: 12702).", "notebooks/yongchuan")
    assert note == "本次运行与版面不同：vehicles_shipped = 13702 (page: 12702)。"
    note = shapes.translate(
        "tongliang_run_note", "This run departs from the page: projects_signed = 30 (page: 27)"
        "; the vehicle-parts value is assumed at 55 亿元 (CNY 5.5 bn), above the page's bound "
        "(ASSUMPTION).", "notebooks/tongliang")
    assert note == ("本次运行与版面不同：projects_signed = 30 (page: 27)；汽车零部件组的金额假定为"
                    "55亿元，高于版面给出的下限（假设）。")


def test_the_chinese_notebook_keeps_every_code_cell_and_output_of_the_executed_one():
    """Only Markdown, captions, alt texts and glued strings change; glued numbers, code,
    tables and charts are the executed notebook's."""
    english = json.loads(json.dumps(read_notebook(REPO / "notebooks" / "yongchuan.md")))
    english["cells"].append({"cell_type": "code", "id": "glued", "metadata": {},
                             "execution_count": 1, "source": "", "outputs": [
        _glued("yongchuan_vehicles_per_day", "76.05988023952096"),
        _glued("yongchuan_vehicles_per_day_text", "'76.1 vehicles a day'"),
        {"output_type": "display_data", "metadata": {}, "data": {"text/html": "<table/>"}}]})
    translation, _ = editions.match_page("zh", "notebooks/yongchuan",
                                         editions.notebook_units(english))
    chinese = editions.translate_notebook(english, translation,
                                          editions.ValueShapes.read("zh"), "yongchuan")
    assert len(chinese["cells"]) == len(english["cells"])
    for before, after in zip(english["cells"], chinese["cells"]):
        assert before["cell_type"] == after["cell_type"] and before["id"] == after["id"]
        if before["cell_type"] == "code":
            assert after["source"] == before["source"]
            caption = before["metadata"].get("mystnb", {}).get("figure", {}).get("caption")
            assert caption is None or after["metadata"]["mystnb"]["figure"]["caption"] != caption
        else:
            assert re.search("[\u4e00-\u9fff]", after["source"])
    outputs = chinese["cells"][-1]["outputs"]
    assert outputs[0] == english["cells"][-1]["outputs"][0]  # the number, untouched
    assert outputs[1]["data"]["application/papermill.record/text/plain"] == "'每天76.1辆'"
    assert outputs[2] == english["cells"][-1]["outputs"][2]


def _glued(name: str, plain: str) -> dict:
    return {"output_type": "display_data", "metadata": {"scrapbook": {
        "name": name, "mime_prefix": "application/papermill.record/"}},
        "data": {"application/papermill.record/text/plain": plain}}


def test_the_editions_config_and_contents_are_derived_from_the_english_ones():
    strings = editions.Strings.read("zh")
    config = editions.derived_config("zh", strings)
    english = editions.yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    sphinx = config["sphinx"]["config"]
    assert sphinx["language"] == "zh_CN" and sphinx["cqbook_edition"] == "zh"
    assert config["title"] == "一页《重庆日报》，当作数据来读"
    assert sphinx["extensions"] == english["sphinx"]["config"]["extensions"] + [
        editions.SWITCH_EXTENSION]
    assert sphinx["html_search_language"] == "zh"
    toc = editions.derived_toc(strings)
    assert [part["caption"] for part in toc["parts"]] == ["章节", "本书是怎样做成的"]
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    assert files == editions.toc_pages()[1][1:]


def test_generated_pages_exist_in_chinese_and_english_is_unchanged():
    state = pages.BookState(notebooks={"yongchuan": pages.NotebookState(
        "yongchuan", {"vehicles_shipped": 12702}, True, 3.2)}, commit="abc", data_hash="f00",
        versions={"pandas": "3.1"}, python="3.11")
    chinese = pages.generated_pages(state, lang="zh")
    english = pages.generated_pages(state)
    assert chinese["glossary"].startswith("# 术语表\n")
    assert chinese["sources"].startswith("# 原文：版面本身\n")
    assert chinese["data"].startswith("# 数据：可下载的表格\n")
    assert chinese["build_info"].startswith("# 构建信息\n")
    assert english["glossary"].startswith("# Glossary\n")
    assert pages.WEBFONT_PLACEHOLDER in chinese["build_info"]
    box = pages.provenance_box(state.notebooks["yongchuan"], state, lang="zh")
    assert "本页是怎样做出来的" in box and "How this page" not in box


def test_every_emphasis_in_the_translations_is_rendered():
    """CommonMark opens `**` before punctuation only after a space or punctuation: 自**{glue…
    stays two asterisks in Chinese text. None may be left in what a reader sees."""
    markdown = MarkdownIt("commonmark")
    left = {}
    for path in sorted(ZH.rglob("*.md")):
        if path.name.startswith("_"):
            continue
        rendered = re.sub(r"<[^>]+>", "", markdown.render(path.read_text(encoding="utf-8")))
        found = re.findall(r".{0,20}\*\*.{0,20}", rendered)
        if found:
            left[path.relative_to(REPO).as_posix()] = found
    assert not left, left


def test_page_terms_are_written_as_the_page_and_official_usage_write_them():
    """The policy terms the chapters discuss, in the page's own words (链主 is on the page
    only, and reaches the Chinese sources page with it)."""
    text = "".join(p.read_text(encoding="utf-8") for p in ZH.rglob("*.md"))
    for term in ("投资强度", "亩均税收", "亩均论英雄", "专精特新", "小巨人", "合同投资"):
        assert term in text, term


def _units_cache(repo: Path) -> list[Path]:
    return sorted((repo / editions.UNITS_CACHE).glob("*.json"))


def test_a_notebooks_units_are_kept_on_disk_and_read_again_when_it_changes(tmp_path):
    # The next build (a new process) reads an unchanged notebook's units from its own
    # `_build`, never from another checkout's, and a changed one from the notebook.
    repo = _copy(tmp_path)
    notebook = repo / "notebooks" / "yongchuan.md"
    assert editions.check("zh", repo)[1] == []
    kept = [json.loads(p.read_text(encoding="utf-8")) for p in _units_cache(repo)]
    entry = next(k for k in kept if k["notebook"] == str(notebook.resolve()))
    fresh = editions.notebook_units(json.loads(json.dumps(read_notebook(notebook))))
    assert entry["units"] == [[u.kind, u.ident, u.english] for u in fresh]
    editions._notebook_units_read.clear()  # as in the next build's process
    _replace(notebook, "## What the page says", "## What the page says, in full")
    assert [p.unit.ident for p in editions.check("zh", repo)[1]] == ["yongchuan-03"]


@pytest.mark.parametrize("damage", [
    lambda text: "not json {",
    lambda text: json.dumps({**json.loads(text), "units": [["cell", "x", 3]]}),
    lambda text: json.dumps({**json.loads(text), "units": []}).replace(
        '"key": "', '"key": "0'),
], ids=["not-json", "wrong-shape", "other-key"])
def test_a_damaged_or_foreign_units_entry_is_not_used(tmp_path, damage):
    repo = _copy(tmp_path)
    assert editions.check("zh", repo)[1] == []
    for path in _units_cache(repo):
        path.write_text(damage(path.read_text(encoding="utf-8")), encoding="utf-8")
    editions._notebook_units_read.clear()
    found, problems = editions.check("zh", repo)
    assert problems == [] and found["notebooks/yongchuan"].texts
    assert all(json.loads(p.read_text(encoding="utf-8"))["units"] for p in _units_cache(repo))
