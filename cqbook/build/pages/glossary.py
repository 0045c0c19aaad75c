"""The glossary page: every Chinese term of the page, by kind, with pinyin and English."""

from __future__ import annotations

from pathlib import Path

from cqbook.build.pages.common import (
    GENERATED,
    SOURCE_LANGUAGE,
    esc,
    html_table,
    md_text,
    translator,
)
from cqbook.paths import DATA_DIR

KIND_TITLES = {"place": "Places", "firm": "Firms", "project": "Projects", "policy": "Policy",
               "organisation": "Organisations", "brand": "Brands", "unit": "Units"}


def glossary_page(data_dir: Path = DATA_DIR, lang: str = SOURCE_LANGUAGE) -> str:
    from cqbook.dataset import package

    tr = translator(lang)
    glossary = package.load_table("glossary", data_dir)
    parts = [f"# {tr(GENERATED['glossary'])}", "",
             tr("The {count} Chinese terms of the page: the name as printed, its pinyin "
                "(tone marks, one syllable per character) and the English used in this book. "
                "From `glossary.csv` of the data package (see [Data](data.md)).",
                count=len(glossary)), ""]
    kinds = list(KIND_TITLES) + sorted(set(glossary["kind"]) - set(KIND_TITLES))
    for kind in kinds:
        terms = glossary[glossary["kind"] == kind].sort_values("pinyin")
        if terms.empty:
            continue
        rows = [[f'<span lang="zh-Hans">{esc(t["term_zh"])}</span>', esc(t["pinyin"]),
                 esc(t["term_en"])] for t in terms.to_dict("records")]
        title = tr(KIND_TITLES[kind]) if kind in KIND_TITLES else kind.capitalize()
        parts += [f"## {md_text(title)}", "",
                  html_table([tr("Chinese"), tr("pinyin"), tr("English")], rows, escape=False),
                  ""]
    return "\n".join(parts)
