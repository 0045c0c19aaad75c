"""Chinese passages marked as Chinese: every run of Chinese text on a page of the book that is
not already inside an element with a `lang="zh…"` is wrapped in `<span lang="zh-Hans">`.

A Sphinx extension (listed in `_config.yml`), applied to each page's body as Sphinx writes it.
The book is in English with Chinese quotes, names and units throughout, in prose, tables,
code and chart captions; a screen reader reads a Chinese run with an English voice unless
the run says it is Chinese (WCAG 3.1.2, language of parts). A run starts and ends with a
Chinese character or CJK punctuation and may hold digits and spaces between them
(已发运汽车12702辆 is one run), never a Latin letter. Markup is never split: only text
between tags is wrapped, never inside <script>, <style> or an attribute.
"""

from __future__ import annotations

import re

LANG = "zh-Hans"
_CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_RUN = re.compile(f"[{_CJK}](?:[{_CJK}0-9 .,%·—“”‘’()+/:\\-]*[{_CJK}])?")
_TAG = re.compile(r"<!--.*?-->|<(/?)([A-Za-z][\w:-]*)([^>]*)>", flags=re.DOTALL)
_LANG_ATTRIBUTE = re.compile(r"""\blang\s*=\s*["']?([\w-]+)""")
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}
_RAW = {"script", "style", "textarea", "title"}


def mark_chinese(body: str) -> str:
    """`body` with each unmarked Chinese run in a `<span lang="zh-Hans">`."""
    out, position = [], 0
    stack: list[tuple[str, bool, bool]] = []  # (tag, inside Chinese, inside raw text)

    def state() -> tuple[bool, bool]:
        return (stack[-1][1], stack[-1][2]) if stack else (False, False)

    for match in _TAG.finditer(body):
        out.append(_wrap(body[position:match.start()], *state()))
        position = match.end()
        out.append(match.group(0))
        closing, name, attributes = match.group(1), (match.group(2) or "").lower(), \
            match.group(3) or ""
        if not name:
            continue  # a comment
        if closing:
            for depth in range(len(stack) - 1, -1, -1):
                if stack[depth][0] == name:
                    del stack[depth:]
                    break
            continue
        if name in _VOID or attributes.rstrip().endswith("/"):
            continue
        chinese, raw = state()
        lang = _LANG_ATTRIBUTE.search(attributes)
        if lang:
            chinese = lang.group(1).lower().startswith("zh")
        stack.append((name, chinese, raw or name in _RAW))
    out.append(_wrap(body[position:], *state()))
    return "".join(out)


def _wrap(text: str, chinese: bool, raw: bool) -> str:
    if chinese or raw or not text:
        return text
    return _RUN.sub(lambda run: f'<span lang="{LANG}">{run.group(0)}</span>', text)


def _on_page(app, pagename, templatename, context, doctree) -> None:
    if "body" in context:
        context["body"] = mark_chinese(context["body"])


def setup(app):
    app.connect("html-page-context", _on_page)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
