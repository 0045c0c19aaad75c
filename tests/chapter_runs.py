"""What the chapter tests share: running a chapter notebook with parameters, reading what the
run wrote (headline values, glued texts, charts), and checking that bad parameters are refused
before any kernel starts.

`reruns.run` writes into any folder, inside the repository or not, so the tests run into
pytest's temporary folders (`tmp_path_factory`), never into runs/; a run with the same
values is made once per test session and shared (`shared_run`).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import nbformat
import pytest
from session_shared import made_once

from cqbook.analysis.links import source_href
from cqbook.build import reruns
from cqbook.build.notebook_files import read_notebook
from cqbook.build.params import ParameterError
from cqbook.dataset import package
from cqbook.paths import NOTEBOOKS_DIR

# ---------------------------------------------------------------- running a chapter


def run_variants(notebook: str, variants: dict[str, dict[str, str]],
                 tmp_path_factory) -> dict[str, Path]:
    """The run folder of `notebook` with each variant's parameter values, by variant name
    (`shared_run`)."""
    return {key: shared_run(notebook, values, tmp_path_factory)
            for key, values in variants.items()}


def shared_run(notebook: str, values: dict[str, str], tmp_path_factory) -> Path:
    """The folder of `notebook` run once with `values` in this test session, whichever test
    or worker asks first (`session_shared.made_once`): a chapter's default run is read by its
    own tests and by those of every chapter (the charts' vector test), so it is executed
    once, not once per module. The folder is read only."""
    key = hashlib.sha256(json.dumps([notebook, values], sort_keys=True).encode()).hexdigest()
    return made_once(tmp_path_factory, f"chapter-runs/{notebook}-{key[:16]}",
                     lambda folder: reruns.run(notebook, values, output_root=folder / "runs"))


def runs_fixture(notebook: str, variants: dict[str, dict[str, str]]):
    """A module-scoped fixture `runs`: the run folders of `run_variants`. In a test module:
    `runs = runs_fixture("banan", {"default": {}})`."""

    @pytest.fixture(scope="module")
    def runs(tmp_path_factory) -> dict[str, Path]:
        return run_variants(notebook, variants, tmp_path_factory)

    return runs


def headlines_fixture(variant: str):
    """A module-scoped fixture `<variant>_run`: the headline values of that run of `runs`.
    In a test module: `default_run = headlines_fixture("default")`."""

    @pytest.fixture(scope="module", name=f"{variant}_run")
    def run(runs: dict[str, Path]) -> dict[str, dict]:
        return headlines(runs[variant])

    return run


# ---------------------------------------------------------------- reading a run's folder


def headlines(folder: Path) -> dict[str, dict]:
    """The headline values a run recorded, by name."""
    entries = json.loads((folder / "headline_values.json").read_text(encoding="utf-8"))
    return {entry["name"]: entry for entry in entries}


def executed(folder: Path):
    """The executed notebook of a run (the one .ipynb of its folder)."""
    notebooks = sorted(folder.glob("*.ipynb"))
    assert len(notebooks) == 1, f"{folder}: expected one executed notebook, found {notebooks}"
    return nbformat.read(notebooks[0], as_version=4)


def _outputs(notebook):
    return [output for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.get("outputs", [])]


def glued_texts(folder: Path) -> dict[str, str]:
    """Every value the executed notebook glued for the prose, as the page will print it."""
    texts = {}
    for output in _outputs(executed(folder)):
        name = output.get("metadata", {}).get("scrapbook", {}).get("name")
        plain = [v for k, v in output.get("data", {}).items() if k.endswith("text/plain")]
        if name and plain:
            texts[name] = plain[0].strip("'\"")
    return texts


def chart_outputs(folder: Path) -> list[str]:
    """The SVG of every chart of the executed notebook, in the order of the page."""
    return [output["data"]["image/svg+xml"] for output in _outputs(executed(folder))
            if "image/svg+xml" in output.get("data", {})]


def html_outputs(folder: Path) -> list[str]:
    """The HTML of every rich output (tables) of the executed notebook."""
    return ["".join(output["data"]["text/html"]) for output in _outputs(executed(folder))
            if "text/html" in output.get("data", {})]


def assert_sources_linked(folder: Path, figure_ids) -> None:
    """Every one of `figure_ids` has a link to its sentence on the sources page, in the tables
    of the executed notebook (the hrefs `cqbook.analysis.links.source_link` writes from a chapter)."""
    tables = "".join(html_outputs(folder))
    missing = [f for f in figure_ids if f'href="{source_href(f)}"' not in tables]
    assert not missing, f"no link to the sources page for {missing}"


def article_figure_ids(article_id: str) -> list[str]:
    figures = package.figures()
    return sorted(figures.loc[figures["article_id"] == article_id, "figure_id"])


# ---------------------------------------------------------------- before any kernel


def assert_stored_without_outputs(notebook: str) -> None:
    """Stored as its text form alone, which holds no outputs by construction."""
    assert (NOTEBOOKS_DIR / f"{notebook}.md").is_file()
    assert not (NOTEBOOKS_DIR / f"{notebook}.ipynb").exists()


def assert_values_refused_before_kernel(notebook: str, values: dict[str, str], rule: str,
                                        monkeypatch) -> ParameterError:
    """`values` are refused with a ParameterError matching `rule`, by resolve and by run, and
    no kernel is ever started; the error of resolve, for closer checks."""

    def no_kernel(*args, **kwargs):
        raise AssertionError("a kernel was started")

    monkeypatch.setattr("cqbook.build.execution.execute_notebook", no_kernel)
    with pytest.raises(ParameterError, match=rule) as refused:
        reruns.resolve(notebook, values, None)
    with pytest.raises(ParameterError, match=rule):
        reruns.run(notebook, values)
    return refused.value


def assert_refused_before_kernel(notebook: str, name: str, value: str, rule: str,
                                 monkeypatch) -> ParameterError:
    """`name` = `value` is refused as `assert_values_refused_before_kernel` says."""
    return assert_values_refused_before_kernel(notebook, {name: value}, rule, monkeypatch)


# ---------------------------------------------------------------- the prose a reader sees


def markdown_cells(notebook: str) -> list[str]:
    """The Markdown cells of a chapter, as committed."""
    cells = read_notebook(NOTEBOOKS_DIR / f"{notebook}.md").cells
    return [cell.source for cell in cells if cell.cell_type == "markdown"]


def prose(notebook: str) -> str:
    """A chapter's Markdown, its lines joined into one string with single spaces (so that a
    phrase broken across lines is still found)."""
    return re.sub(r"\s+", " ", "\n\n".join(markdown_cells(notebook)))


_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]{2,}")
# Chinese a reader is allowed to meet without English beside it: quoted from the page
# (「」“”《》), a role's target or a code span (`…`), an inline glue role.
_QUOTED = re.compile(r"「[^」]*」|“[^”]*”|《[^》]*》|\{[a-z:]+\}`[^`]*`|`[^`]*`")
_SENTENCE_END = re.compile(r"(?<=[。！？；])\s*|(?<=[.!?;])\s+|\s*\|\s*")
# A magnitude an English reader cannot read, and the English that must follow it.
_MAGNITUDE = re.compile(r"\d[\d,.]*\s*(亿元|万元|万人)")
_ENGLISH_MAGNITUDE = re.compile(r"CNY|yuan|people")


def _prose_units(markdown: str):
    """Sentences of running prose (and table cells), with quotations taken out: block quotes
    (the page's own words) and headings-as-quotes stay as the page prints them."""
    for paragraph in re.split(r"\n\s*\n", markdown):
        lines = [line for line in paragraph.splitlines() if not line.lstrip().startswith(">")]
        text = " ".join(line.strip() for line in lines)
        text = re.sub(r"^\|?[-| :]+\|?$", "", text)  # a table's rule line
        for unit in _SENTENCE_END.split(text):
            if unit.strip():
                yield unit.strip()


def chinese_without_english(markdown: str) -> list[str]:
    """Sentences of `markdown` with Chinese outside quotes and no English word in them."""
    return [unit for unit in _prose_units(markdown)
            if _CJK.search(_QUOTED.sub("", unit)) and not _LATIN.search(_QUOTED.sub("", unit))]


def magnitudes_without_english(markdown: str) -> list[str]:
    """Amounts in 亿元, 万元 or 万人 in running prose (outside quotes) that are not followed,
    within the same sentence, by their value in CNY or people."""
    found = []
    for unit in _prose_units(markdown):
        text = _QUOTED.sub("", unit)
        for match in _MAGNITUDE.finditer(text):
            if not _ENGLISH_MAGNITUDE.search(text[match.end():match.end() + 60]):
                found.append(f"{match.group()} in: {unit}")
    return found
