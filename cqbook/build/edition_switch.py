"""The header link from every page to the same page in the other language edition.

A Sphinx extension the pipeline adds to both editions' staged config (cqbook/build/editions.py):
`cqbook_edition` says which edition is being built, `cqbook_editions` which others exist. The
English book is the root of `_build/html`, each translation lives in `<lang>/` under it, so
the counterpart of `notebooks/yongchuan` is `zh/notebooks/yongchuan.html` from English and
`../notebooks/yongchuan.html` from Chinese, made relative to the page (the book is opened
from disk as well as served). Both editions have the same pages, generated ones included.
"""

from __future__ import annotations

from pathlib import Path

TEMPLATE = "cqbook-edition-switch.html"
# Label and hover text of the link, in the language of the edition it leads to.
LABELS = {"en": ("English", "This page in English"), "zh": ("中文", "本页的中文版")}
HTML_LANG = {"en": "en", "zh": "zh-Hans"}


def counterpart(pagename: str, edition: str, other: str) -> str:
    up = "../" * pagename.count("/")
    if edition == "en":
        return f"{up}{other}/{pagename}.html"
    return f"{up}../{pagename}.html" if other == "en" else f"{up}../{other}/{pagename}.html"


def _configure(app, config) -> None:
    config.templates_path = [*config.templates_path,
                             str(Path(__file__).with_name("edition_templates"))]
    options = dict(config.html_theme_options or {})
    end = options.get("article_header_end") or ["article-header-buttons.html"]
    end = [end] if isinstance(end, str) else list(end)
    if TEMPLATE not in end:
        app._cqbook_header_end = end  # drawn by the template, after the link
        options["article_header_end"] = [TEMPLATE]
    config.html_theme_options = options


def _on_page(app, pagename, templatename, context, doctree) -> None:
    context["cqbook_header_end"] = getattr(app, "_cqbook_header_end", [])
    edition = app.config.cqbook_edition
    others = [lang for lang in ["en", *app.config.cqbook_editions] if lang != edition]
    if not others:
        return
    other = others[0]  # two editions: the other one
    label, title = LABELS[other]
    context.update(cqbook_counterpart=counterpart(pagename, edition, other),
                   cqbook_counterpart_lang=HTML_LANG[other], cqbook_counterpart_label=label,
                   cqbook_counterpart_title=title)


def setup(app):
    app.add_config_value("cqbook_edition", "en", "html")
    app.add_config_value("cqbook_editions", [], "html")
    app.connect("config-inited", _configure)
    app.connect("html-page-context", _on_page)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
