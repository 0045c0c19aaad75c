"""The glossary page: every Chinese term of the page, by kind, with pinyin and English."""

from __future__ import annotations

from pathlib import Path

from cqbook.build.pages.common import GENERATED, esc, html_table, md_text
from cqbook.paths import DATA_DIR

KIND_TITLES = {"place": "Places", "firm": "Firms", "project": "Projects", "policy": "Policy",
               "organisation": "Organisations", "brand": "Brands", "unit": "Units"}


def glossary_page(data_dir: Path = DATA_DIR) -> str:
    from cqbook.dataset import package

    glossary = package.load_table("glossary", data_dir)
    parts = [f"# {GENERATED['glossary']}", "",
             (f"The {len(glossary)} Chinese terms of the page: the name as printed, its pinyin "
             "(tone marks, one syllable per character) and the English used in this book. "
             "From `glossary.csv` of the data package (see [Data](data.md))."), ""]
    kinds = list(KIND_TITLES) + sorted(set(glossary["kind"]) - set(KIND_TITLES))
    for kind in kinds:
        terms = glossary[glossary["kind"] == kind].sort_values("pinyin")
        if terms.empty:
            continue
        rows = [[f'<span lang="zh-Hans">{esc(t["term_zh"])}</span>', esc(t["pinyin"]),
                 esc(t["term_en"])] for t in terms.to_dict("records")]
        parts += [f"## {md_text(KIND_TITLES.get(kind, kind.capitalize()))}", "",
                  html_table(["Chinese", "pinyin", "English"], rows, escape=False), ""]
    return "\n".join(parts)
