"""The book's other language editions: translated prose around the *same* executed notebooks.

Why per-notebook text files rather than Sphinx gettext catalogs: a chapter's prose is a handful
of Markdown cells full of glue roles and links, so a translator works best with a whole cell at
a time, in the Markdown they will see rendered, beside nothing but other cells of the same
chapter. `translations/<lang>/<page>.md` (`<page>` as in `_toc.yml`) holds one entry per
Markdown cell of the English notebook, and one per figure caption and alt text; an entry opens
with a marker line carrying the cell's id and the digest of the English it translates:

    <!-- cell yongchuan-03 en:4be1c0a2d9f3 -->

A hand-written book page (`book/summary.md`) is cut into sections at its headings, each an
entry like a cell. Entries are matched to English by digest, so a cell moved or an id shifted
by an inserted code cell keeps its translation; an English cell whose digest no entry carries
is missing, or stale when an entry still names its id. Either fails the build in one line
(`cqbook translations --missing` lists them all).

An edition is built when `translations/<lang>/` translates the book's root page; it then has
to translate every page of the table of contents. It is staged from copies of the executed
notebooks in which only Markdown cells, captions and glued *text* change: code and outputs
stay, and a glued string is translated by its shape (numbers and Chinese runs become
placeholders, `{0} vehicles a day` -> `日均{0}辆`, from `_values.md`), so every number is
the one the English edition shows, from the same key. Strings of the book and of its
generated pages (titles, captions of the contents, headings) are in `_strings.md`.

The edition's config and contents are derived from the English ones here, built with the same
jupyter-book command into a stage of its own, and moved into the English book as `<lang>/`
before the one atomic swap of `_build/html`: a failure in either edition publishes neither.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import functools
import hashlib
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from cqbook.build.pipeline import BuildError
from cqbook.paths import BOOK_DIR, BUILD_DIR, REPO_ROOT

TRANSLATIONS_DIR = REPO_ROOT / "translations"
LANGUAGES = {"zh": {"sphinx": "zh_CN", "html": "zh-Hans", "name": "中文"}}
SOURCE_LANGUAGE = {"code": "en", "html": "en", "name": "English"}
STRINGS_FILE = "_strings.md"
VALUES_FILE = "_values.md"
_MARKER = re.compile(r"^<!-- (cell|caption|alt|section) (\S+) en:([0-9a-f]{12}) -->$",
                     flags=re.MULTILINE)
_HEADING = re.compile(r"^#{1,6} ")
_FENCE = re.compile(r"^(```+|~~~+)")
# A glued value's shape: Chinese runs (digits allowed inside, 已发运汽车12702辆) and numbers
# become placeholders; what is left is what a translator translates.
_CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef“”"
_CJK_RUN = re.compile(f"[{_CJK}](?:[{_CJK}0-9.,+—]*[{_CJK}])?")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_LATIN = re.compile(r"[A-Za-z]")
_PIECE = f"{_CJK_RUN.pattern}|{_NUMBER.pattern}"  # what a placeholder stands for
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
_ENGLISH_DATE = re.compile(rf"\b(\d{{1,2}}) ({'|'.join(_MONTHS)}) (\d{{4}})\b")
GLUE_PREFIX = "application/papermill.record/"
_HELD = 0xE000  # private-use characters stand for the held pieces while a shape is made


class TranslationError(BuildError):
    """A translation missing, stale or malformed; one line naming the file and the cell."""


def digest(english: str) -> str:
    return hashlib.sha256(english.strip().encode("utf-8")).hexdigest()[:12]


# ------------------------------------------------------------------ which editions


def toc_pages(repo: Path = REPO_ROOT) -> tuple[str, list[str]]:
    """The root page and every page of `_toc.yml`, in order (no suffix)."""
    toc = yaml.safe_load((repo / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", [{"chapters": toc.get("chapters")}]):
        walk(part.get("chapters"))
    return toc["root"], pages


def editions(repo: Path = REPO_ROOT) -> list[str]:
    """The languages whose translations translate the book's root page."""
    root, _ = toc_pages(repo)
    return [lang for lang in LANGUAGES
            if (repo / "translations" / lang / f"{root}.md").is_file()]


def source_files(repo: Path = REPO_ROOT) -> list[Path]:
    """The translation files: inputs of the book (its cache key)."""
    folder = repo / "translations"
    return sorted(p for p in folder.rglob("*.md") if p.is_file()) if folder.is_dir() else []


# ------------------------------------------------------------------ translation files


@dataclass
class Entry:
    kind: str  # cell, caption, alt (a notebook's) or section (a book page's)
    ident: str
    english_digest: str
    text: str


@dataclass(frozen=True)  # shared by the reads of one file (_notebook_units_read)
class Unit:
    """One piece of English that needs a translation."""

    kind: str
    ident: str
    english: str

    @property
    def english_digest(self) -> str:
        return digest(self.english)

    def label(self) -> str:
        first = self.english.strip().splitlines()[0] if self.english.strip() else ""
        return f"{self.kind} {self.ident} ({first[:50]!r})"


def read_entries(path: Path) -> list[Entry]:
    text = path.read_text(encoding="utf-8")
    markers = list(_MARKER.finditer(text))
    entries = []
    for number, marker in enumerate(markers):
        end = markers[number + 1].start() if number + 1 < len(markers) else len(text)
        entries.append(Entry(marker.group(1), marker.group(2), marker.group(3),
                             text[marker.end():end].strip("\n")))
    return entries


def marker(unit: Unit) -> str:
    return f"<!-- {unit.kind} {unit.ident} en:{unit.english_digest} -->"


def book_sections(text: str) -> list[str]:
    """A hand-written page cut at its headings (outside code fences)."""
    sections: list[list[str]] = [[]]
    fence = None
    for line in text.splitlines():
        opened = _FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)[0] * 3
        elif fence is not None and line.startswith(fence):
            fence = None
        elif fence is None and _HEADING.match(line) and any(s.strip() for s in sections[-1]):
            sections.append([])
        sections[-1].append(line)
    return ["\n".join(lines).strip("\n") for lines in sections if "".join(lines).strip()]


def notebook_units(notebook: dict) -> list[Unit]:
    """A notebook's Markdown cells, figure captions and alt texts, as JSON cells."""
    units = []
    for cell in notebook["cells"]:
        source = _joined(cell["source"])
        if cell["cell_type"] == "markdown" and source.strip():
            units.append(Unit("cell", cell["id"], source))
        mystnb = cell.get("metadata", {}).get("mystnb", {})
        caption = mystnb.get("figure", {}).get("caption")
        alt = mystnb.get("image", {}).get("alt")
        if cell["cell_type"] == "code" and caption:
            units.append(Unit("caption", cell["id"], caption))
        if cell["cell_type"] == "code" and alt:
            units.append(Unit("alt", cell["id"], alt))
    return units


# A notebook's units by its file's bytes: a build checks the translations before its kernels
# run and again as it stages each edition, and jupytext takes about 0.1 s per notebook. Kept
# in this process, and on disk for the next build (one file per notebook, holding the units
# of its last version read), so that a build after one chapter changed reads only that one.
_notebook_units_read: dict[tuple[Path, str], list[Unit]] = {}
# Under the checked repository's own build folder.
UNITS_CACHE = BUILD_DIR.relative_to(REPO_ROOT) / "cache" / "translation-units"


def _notebook_units_of(path: Path, repo: Path = REPO_ROOT) -> list[Unit]:
    key = (path.resolve(), hashlib.sha256(path.read_bytes()).hexdigest())
    if key not in _notebook_units_read:
        _notebook_units_read[key] = _units_on_disk(*key, Path(repo) / UNITS_CACHE)
    return list(_notebook_units_read[key])


@functools.cache
def _reader_version() -> str:
    """The reader is part of a unit entry's key: jupytext gives a text notebook's cells their
    ids. Read from its metadata, once: importing it is what the cache saves."""
    from importlib.metadata import version

    return f"jupytext {version('jupytext')}"


def _units_on_disk(path: Path, content: str, folder: Path) -> list[Unit]:
    from cqbook.build.cache import write_json_atomic
    from cqbook.build.notebook_files import read_notebook

    key = f"{content} {_reader_version()}"
    entry = folder / f"{hashlib.sha256(str(path).encode()).hexdigest()[:20]}.json"
    try:
        kept = json.loads(entry.read_text(encoding="utf-8"))
        units = [Unit(kind, ident, english) for kind, ident, english in kept["units"]]
        if kept["key"] == key and all(isinstance(text, str) for unit in units
                                      for text in (unit.kind, unit.ident, unit.english)):
            return units
    except (OSError, ValueError, KeyError, TypeError):
        pass  # none yet, or not one this code wrote whole: read the notebook
    units = notebook_units(json.loads(json.dumps(read_notebook(path))))
    with contextlib.suppress(OSError):  # a read-only checkout still checks its translations
        write_json_atomic(entry, {"notebook": str(path), "key": key,
                                  "units": [[u.kind, u.ident, u.english] for u in units]})
    return units


def page_units(page: str, repo: Path = REPO_ROOT) -> list[Unit] | None:
    """What of the English `page` (a toc entry) needs translating; None for a generated page."""
    if page.startswith("notebooks/"):
        name = page.split("/", 1)[1]
        for suffix in (".md", ".ipynb"):
            path = repo / "notebooks" / f"{name}{suffix}"
            if path.exists():
                return _notebook_units_of(path, repo)
        return None
    path = repo / f"{page}.md"
    if not path.exists():
        return None  # generated (cqbook/build/pages): its strings are in _strings.md
    name = Path(page).name
    return [Unit("section", f"{name}-{number:02d}", text)
            for number, text in enumerate(book_sections(path.read_text(encoding="utf-8")))]


@dataclass
class Problem:
    file: str
    unit: Unit | None
    what: str

    def line(self) -> str:
        return f"{self.file}: {self.unit.label() + ' ' if self.unit else ''}{self.what}"


@dataclass
class PageTranslation:
    file: Path
    texts: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, id) -> text


def match_page(lang: str, page: str, units: list[Unit],
               repo: Path = REPO_ROOT) -> tuple[PageTranslation, list[Problem]]:
    path = repo / "translations" / lang / f"{page}.md"
    shown = path.relative_to(repo).as_posix()
    result = PageTranslation(path)
    if not path.is_file():
        return result, [Problem(shown, None, f"missing: {page} has no {lang} translation "
                                f"({len(units)} entries to translate)")]
    entries = read_entries(path)
    by_digest: dict[tuple[str, str], list[Entry]] = {}
    for entry in entries:
        by_digest.setdefault((entry.kind, entry.english_digest), []).append(entry)
    used, unmatched = set(), []
    for unit in units:
        candidates = by_digest.get((unit.kind, unit.english_digest), [])
        entry = next((e for e in candidates if e.ident == unit.ident), None) or \
            next((e for e in candidates if id(e) not in used), None)
        if entry is None:
            unmatched.append(unit)
            continue
        used.add(id(entry))
        result.texts[(unit.kind, unit.ident)] = entry.text
    # Stale: an entry left over under the cell's own id (it translates older English); an
    # entry whose English moved to another cell was matched above, so a new cell there is
    # missing, not stale.
    leftover = {(e.kind, e.ident) for e in entries if id(e) not in used}
    problems = [Problem(shown, unit, "is stale: its English changed since it was translated"
                        if (unit.kind, unit.ident) in leftover else "has no translation")
                for unit in unmatched]
    problems += [Problem(shown, unit, "has an empty translation") for unit in units
                 if not result.texts.get((unit.kind, unit.ident), "x").strip()]
    return result, problems


def check(lang: str, repo: Path = REPO_ROOT) -> tuple[dict[str, PageTranslation], list[Problem]]:
    """Every page's translation, and every problem found (missing, stale, empty)."""
    _, pages = toc_pages(repo)
    found, problems = {}, []
    for page in pages:
        units = page_units(page, repo)
        if units is None:
            continue
        found[page], page_problems = match_page(lang, page, units, repo)
        problems += page_problems
    return found, problems


def require(lang: str, repo: Path = REPO_ROOT) -> dict[str, PageTranslation]:
    found, problems = check(lang, repo)
    if problems:
        more = (f" (and {len(problems) - 1} more; `python -m cqbook translations --missing` "
                "lists them)") if len(problems) > 1 else ""
        raise TranslationError(f"the {lang} edition cannot be built: {problems[0].line()}{more}; "
                               "nothing was built or published")
    return found


def check_all(repo: Path = REPO_ROOT) -> None:
    """Before any kernel starts: every edition's translations complete and current, and its
    strings and value shapes readable."""
    for lang in editions(repo):
        require(lang, repo)
        Strings.read(lang, repo)
        ValueShapes.read(lang, repo)


def missing_report(repo: Path = REPO_ROOT) -> tuple[str, int]:
    """What `cqbook translations --missing` prints, and how many problems."""
    lines, count = [], 0
    for lang in LANGUAGES:
        _, problems = check(lang, repo)
        count += len(problems)
        lines += [f"{lang}: {problem.line()}" for problem in problems]
        for problem in problems:
            if problem.unit is not None:
                lines += ["", marker(problem.unit), problem.unit.english, ""]
    lines.append(f"{count} translation{'s' if count != 1 else ''} missing or stale")
    return "\n".join(lines), count


# ------------------------------------------------------------------ strings and value shapes


def _pairs(path: Path) -> list[tuple[str, str, str]]:
    """`en: …` / `zh: …` blocks (optionally `key: …` first), blank-line separated; a line
    starting with `#` is a comment. Returns (key, english, translation)."""
    if not path.is_file():
        raise TranslationError(f"{_shown(path)}: missing")
    found = []
    for number, block in enumerate(re.split(r"\n\s*\n", path.read_text(encoding="utf-8"))):
        lines = [line for line in block.splitlines() if line.strip()
                 and not line.startswith("#")]
        if not lines:
            continue
        fields = {}
        for line in lines:
            name, colon, value = line.partition(": ")
            if not colon or name not in ("key", "en", "zh"):
                raise TranslationError(f"{_shown(path)}: block {number + 1}: line {line[:60]!r} "
                                       "is not `key: …`, `en: …` or `zh: …`")
            fields[name] = value.strip()
        if "zh" not in fields or not ({"en", "key"} & set(fields)):
            raise TranslationError(f"{_shown(path)}: block {number + 1} needs `zh:` and `en:` or "
                                   "`key:`")
        found.append((fields.get("key", ""), fields.get("en", ""), fields["zh"]))
    return found


def _shown(path: Path) -> str:
    try:
        return path.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


@dataclass
class Strings:
    """The book's own strings: `key:` entries (title, captions of the contents, generated
    pages' frames)."""

    lang: str
    table: dict[str, str]

    @classmethod
    def read(cls, lang: str, repo: Path = REPO_ROOT) -> Strings:
        path = repo / "translations" / lang / STRINGS_FILE
        return cls(lang, {key or english: text for key, english, text in _pairs(path)})

    def __call__(self, key: str, **values) -> str:
        if key not in self.table:
            raise TranslationError(f"translations/{self.lang}/{STRINGS_FILE}: no entry "
                                   f"`key: {key}`")
        return self.table[key].format(**values) if values else self.table[key]


def value_shape(english: str) -> tuple[str, list[str]]:
    """`12,702 vehicles (已发运汽车12702辆)` -> (`{0} vehicles ({1})`, ['12,702', '已发运汽车12702辆'])."""
    english = _ENGLISH_DATE.sub(
        lambda m: f"{m.group(3)}年{_MONTHS.index(m.group(2)) + 1}月{int(m.group(1))}日", english)
    held: list[str] = []

    def hold(match: re.Match) -> str:
        held.append(match.group(0))
        return chr(_HELD + len(held) - 1)

    shape = _NUMBER.sub(hold, _CJK_RUN.sub(hold, english)).replace("{", "{{").replace("}", "}}")
    # Placeholders numbered in reading order, whatever was held first.
    order = [ord(c) - _HELD for c in shape if _HELD <= ord(c) < _HELD + len(held)]
    pieces = [held[i] for i in order]
    for position, index in enumerate(order):
        shape = shape.replace(chr(_HELD + index), f"{{{position}}}", 1)
    return shape, pieces


@dataclass
class ValueShapes:
    lang: str
    general: dict[str, str]
    by_key: dict[tuple[str, str], str]

    @classmethod
    def read(cls, lang: str, repo: Path = REPO_ROOT) -> ValueShapes:
        general, by_key = {}, {}
        for key, english, text in _pairs(repo / "translations" / lang / VALUES_FILE):
            (by_key.__setitem__((key, english), text) if key else
             general.__setitem__(english, text))
        return cls(lang, general, by_key)

    def translate(self, key: str, english: str, where: str) -> str:
        """The glued string `english` (glue key `key`) in this language."""
        shape, pieces = value_shape(english)
        if not _LATIN.search(re.sub(r"\{\d+\}", "", shape)):
            return shape.format(*pieces)  # numbers and Chinese only: as it is
        text = self.by_key.get((key, shape), self.general.get(shape))
        if text is None:
            text = self._with_rest(key, english)
            if text is not None:
                return text
            raise TranslationError(
                f"translations/{self.lang}/{VALUES_FILE}: no translation of the value glued as "
                f"`{key}` in {where}, shape `en: {shape}` (value {english!r})")
        return text.format(*pieces)

    def _with_rest(self, key: str, english: str) -> str | None:
        """An entry whose shape holds `{*}` (text that varies with the parameters, such as
        the list of values a run departs from the page with): that part is kept as it is,
        its parameter names and values being code; `{0}`, `{1}` … are the pieces around it."""
        shape, pieces = value_shape(english)
        english = shape.format(*pieces)  # its dates as the edition writes them
        candidates = [(e, t) for (k, e), t in self.by_key.items() if k == key] + \
            sorted(self.general.items(), key=lambda entry: -len(entry[0]))  # longest first
        for pattern_shape, text in candidates:
            if "{*}" not in pattern_shape:
                continue
            parts = re.split(r"(\{\*\}|\{\d+\})", pattern_shape)
            slots = parts[1::2]  # re.split keeps the separators at the odd places
            pattern = "".join(
                ("(.+?)" if part == "{*}" else f"({_PIECE})") if number % 2 else
                re.escape(part.replace("{{", "{").replace("}}", "}"))
                for number, part in enumerate(parts))
            found = re.fullmatch(pattern, english)
            if found is None:
                continue
            held = [value for slot, value in zip(slots, found.groups()) if slot != "{*}"]
            rest = next(value for slot, value in zip(slots, found.groups()) if slot == "{*}")
            return text.replace("{*}", rest.replace("{", "{{").replace("}", "}}")).format(*held)
        return None


# ------------------------------------------------------------------ the edition's notebooks


def _joined(source) -> str:
    return "".join(source) if isinstance(source, list) else source


def translate_notebook(notebook: dict, translation: PageTranslation, shapes: ValueShapes,
                       name: str) -> dict:
    """A copy of an executed notebook with translated prose and glued text; code, outputs
    and every number untouched."""
    notebook = copy.deepcopy(notebook)
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown" and _joined(cell["source"]).strip():
            cell["source"] = translation.texts[("cell", cell["id"])]
            continue
        if cell["cell_type"] != "code":
            continue
        mystnb = cell.get("metadata", {}).get("mystnb", {})
        if mystnb.get("figure", {}).get("caption"):
            mystnb["figure"]["caption"] = translation.texts[("caption", cell["id"])]
        if mystnb.get("image", {}).get("alt"):
            mystnb["image"]["alt"] = translation.texts[("alt", cell["id"])]
        for output in cell.get("outputs", []):
            glue_name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            plain = output.get("data", {}).get(GLUE_PREFIX + "text/plain")
            if glue_name is None or plain is None:
                continue
            try:
                value = ast.literal_eval(_joined(plain))
            except (SyntaxError, ValueError):
                continue
            if isinstance(value, str):
                output["data"][GLUE_PREFIX + "text/plain"] = repr(
                    shapes.translate(glue_name, value, f"notebooks/{name}"))
    return notebook


SWITCH_EXTENSION = "cqbook.build.edition_switch"


def _with_switch(config: dict, lang: str, langs: list[str]) -> dict:
    """`config` (a `_config.yml`) building edition `lang`, with the header link to the others."""
    sphinx_config = config.setdefault("sphinx", {}).setdefault("config", {})
    extensions = sphinx_config.setdefault("extensions", [])
    if SWITCH_EXTENSION not in extensions:
        extensions.append(SWITCH_EXTENSION)
    sphinx_config["cqbook_edition"] = lang
    sphinx_config["cqbook_editions"] = list(langs)
    return config


def derived_config(lang: str, strings: Strings, repo: Path = REPO_ROOT) -> dict:
    """The edition's `_config.yml`: the English one, in `lang`."""
    config = yaml.safe_load((repo / "_config.yml").read_text(encoding="utf-8"))
    config["title"] = strings("book.title")
    config["author"] = strings("book.author")
    sphinx_config = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx_config["language"] = LANGUAGES[lang]["sphinx"]
    # myst-nb's toggles of hidden code are English whatever the language.
    sphinx_config["nb_code_prompt_show"] = strings("nb.code_prompt_show")
    sphinx_config["nb_code_prompt_hide"] = strings("nb.code_prompt_hide")
    return _with_switch(config, lang, editions(repo))


def declare(stage: Path, repo: Path = REPO_ROOT) -> None:
    """Give the staged English book the header link to its editions (none: left as it is)."""
    langs = editions(repo)
    if langs:
        config = yaml.safe_load((stage / "_config.yml").read_text(encoding="utf-8"))
        _write_yaml(stage / "_config.yml", _with_switch(config, "en", langs))


def derived_toc(strings: Strings, repo: Path = REPO_ROOT) -> dict:
    toc = yaml.safe_load((repo / "_toc.yml").read_text(encoding="utf-8"))
    for part in toc.get("parts", []):
        if "caption" in part:
            part["caption"] = strings(f"toc.{part['caption']}")
    return toc


def stage_edition(lang: str, executed_notebooks: dict[str, Path], state,
                  data_dir: Path | None = None) -> Path:
    """Lay out the `lang` edition's sources in a stage of its own; return it."""
    from cqbook.build import pages, publishing
    from cqbook.paths import DATA_DIR

    data_dir = Path(data_dir or DATA_DIR)
    translations = require(lang)
    strings, shapes = Strings.read(lang), ValueShapes.read(lang)
    stage = publishing.new_stage()
    try:
        _write_yaml(stage / "_config.yml", derived_config(lang, strings))
        _write_yaml(stage / "_toc.yml", derived_toc(strings))
        shutil.copytree(BOOK_DIR, stage / "book")
        for page, translation in translations.items():
            if not page.startswith("notebooks/"):
                (stage / f"{page}.md").write_text(
                    "\n\n".join(translation.texts[("section", u.ident)]
                                for u in page_units(page)) + "\n", encoding="utf-8")
        (stage / "notebooks").mkdir()
        for name, path in executed_notebooks.items():
            notebook = json.loads(Path(path).read_text(encoding="utf-8"))
            notebook = translate_notebook(notebook, translations[f"notebooks/{name}"], shapes,
                                          name)
            if state is not None and name in state.notebooks:
                box = pages.provenance_box(state.notebooks[name], state, lang=lang)
                notebook = pages.add_provenance(notebook, box)
            (stage / "notebooks" / f"{name}.ipynb").write_text(
                json.dumps(notebook, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        if state is not None:
            publishing._stage_generated(stage, state, data_dir)  # data, style sheet
            for name, text in pages.generated_pages(state, data_dir, lang=lang,
                                                    cache_dir=publishing.PAGES_CACHE).items():
                (stage / "book" / f"{name}.md").write_text(text, encoding="utf-8")
    except BaseException:
        publishing.release_stage(stage)
        raise
    return stage


def _write_yaml(path: Path, content: dict) -> None:
    path.write_text(yaml.safe_dump(content, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")


def start_editions(executed_notebooks: dict[str, Path], state, note=None) -> list:
    """Stage every translated edition and start its Sphinx (publishing.SphinxRun), to run
    beside the English one; `finish_editions` waits for them."""
    from cqbook.build import publishing

    started: list = []
    try:
        for lang in editions():
            try:
                stage = stage_edition(lang, executed_notebooks, state)
            except TranslationError as error:
                raise publishing.BookBuildFailure(str(error)) from None
            try:
                started.append((lang, stage, publishing.SphinxRun(
                    stage, note and (lambda line, lang=lang: note(f"{lang} edition: {line}")))))
            except BaseException:
                publishing.release_stage(stage)
                raise
    except BaseException:
        stop_editions(started)
        raise
    return started


def finish_editions(html: Path, started: list) -> None:
    """Wait for each started edition and move it into `html/<lang>/`; stop and release all."""
    from cqbook.build import publishing

    try:
        for lang, _stage, run in started:
            try:
                built = run.wait()
            except publishing.BookBuildFailure as error:
                raise publishing.BookBuildFailure(f"the {lang} edition: {error}") from None
            target = Path(html) / lang
            if target.exists():
                raise publishing.BookBuildFailure(f"the English book has a page folder `{lang}/`, "
                                                  f"where the {lang} edition goes")
            shutil.move(built, target)
            # The theme's Jinja macros that Sphinx copies into _static/ as *.html: no page of
            # the edition, and, opened, a page of broken links.
            for macros in (target / "_static").glob("*.html"):
                macros.unlink()
    finally:
        stop_editions(started)


def stop_editions(started: list) -> None:
    from cqbook.build import publishing

    for _lang, stage, run in started:
        run.stop()
        publishing.release_stage(stage)


def share_webfont(html: Path, stats: dict) -> None:
    """Point each edition at the English book's font subset (made from the characters of
    every edition's pages), and fill its build-information page."""
    from cqbook.build import pages, webfont

    sheet = (Path(html) / webfont.STYLESHEET).read_text(encoding="utf-8")
    for lang in editions():
        edition = Path(html) / lang
        if not edition.is_dir():
            continue
        (edition / webfont.STYLESHEET).write_text(
            sheet.replace('url("fonts/', 'url("../../_static/fonts/'), encoding="utf-8")
        pages.fill_webfont_stats(edition, {**stats, "licence_file":
                                           f"../{stats['licence_file']}"}, lang=lang)
