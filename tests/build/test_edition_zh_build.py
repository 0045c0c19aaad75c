"""Both editions are published together or not at all: in a copy of the built real book, a
Chinese page Sphinx refuses, or a glued value with no Chinese shape, fails the build in a
message naming the edition and what is wrong, and leaves both published editions as they
were; fixed, the next build publishes both, executing nothing."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import cqbook

pytestmark = [pytest.mark.slow]


def _published(repo):
    return json.loads((repo / "_build" / "published.json").read_text(encoding="utf-8"))


def test_a_failure_in_the_chinese_edition_leaves_both_editions_as_they_were(real_book_repo,
                                                                            tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(real_book_repo, repo, symlinks=True)
    before = _published(repo)
    assert "zh/notebooks/yongchuan.html" in before["manifest"]
    translation = repo / "translations" / "zh" / "notebooks" / "yongchuan.md"
    good = translation.read_text(encoding="utf-8")

    # A Chinese page Sphinx refuses (a glue key no notebook has).
    translation.write_text(good.replace("{glue:text}`yongchuan_run_note`",
                                        "{glue:text}`yongchuan_no_such_key`", 1),
                           encoding="utf-8")
    result = cqbook(repo, "build", timeout=1200)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Sphinx refused the book; the published book is unchanged." in result.stderr
    assert "the zh edition:" in result.stderr and "yongchuan_no_such_key" in result.stderr
    assert _published(repo) == before
    assert (repo / "_build" / "html").resolve().name == before["folder"].split("/")[-1]

    # A glued value whose shape _values.md does not translate.
    translation.write_text(good, encoding="utf-8")
    values = repo / "translations" / "zh" / "_values.md"
    values.write_text(values.read_text(encoding="utf-8").replace(
        "en: {0} vehicles a day\nzh: 每天{0}辆\n", ""), encoding="utf-8")
    result = cqbook(repo, "build", timeout=1200)
    assert result.returncode == 2, result.stdout + result.stderr
    assert ("translations/zh/_values.md: no translation of the value glued as "
            "`yongchuan_vehicles_per_day_text` in notebooks/yongchuan, shape "
            "`en: {0} vehicles a day`") in result.stderr
    assert _published(repo) == before

    # Put right: both published, nothing executed.
    shutil.copy(real_book_repo / "translations" / "zh" / "_values.md", values)
    result = cqbook(repo, "build", timeout=1200)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 executed" in result.stdout
    after = _published(repo)
    assert {"index.html", "zh/index.html", "zh/notebooks/yongchuan.html"} <= set(after["manifest"])
