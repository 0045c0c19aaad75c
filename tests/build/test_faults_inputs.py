"""Faults 2 (issue 21), inputs: files from outside the repository, text that could become
markup, sizes without limits, values given twice or silently defaulted, and tracebacks where
a message belongs. Every case runs the real command line in a copy of the repository and is
refused with one line naming the file and what is wrong, exit 2, the published book
untouched; or, for text, is built and shown as text."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import copy_repository, cqbook
from data_edits import edit_cell
from test_faults import book_snapshot

pytestmark = pytest.mark.slow

PASSWD_LINE = re.compile(r"root:[^:\s]*:0:0:")


def refused(result, *fragments: str) -> str:
    """Assert a refusal: exit 2, one `error:` line naming what is wrong, no traceback and
    nothing of /etc/passwd; return that line."""
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output and not PASSWD_LINE.search(output), output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def edit_package(repo: Path, change) -> None:
    path = repo / "data" / "datapackage.json"
    package = json.loads(path.read_text(encoding="utf-8"))
    change(package)
    path.write_text(json.dumps(package, ensure_ascii=False, indent=2), encoding="utf-8")


def resource(package: dict, name: str) -> dict:
    return next(r for r in package["resources"] if r["name"] == name)


def add_code_cell(repo: Path, notebook: str, source: str) -> None:
    path = repo / "notebooks" / f"{notebook}.ipynb"
    content = json.loads(path.read_text())
    content["cells"].append({"cell_type": "code", "execution_count": None,
                             "id": f"added-{len(content['cells'])}", "metadata": {},
                             "outputs": [], "source": source})
    path.write_text(json.dumps(content, indent=1))


def refused_build(repo: Path, *fragments: str, arguments: tuple = ()) -> str:
    """`build` is refused before any kernel, and the published book stays byte for byte."""
    before = book_snapshot(repo)
    result = cqbook(repo, "build", *arguments)
    line = refused(result, *fragments)
    assert " executed " not in result.stdout
    assert book_snapshot(repo) == before
    return line


# ------------------------------------------------------------------ 2. files from outside


def _outside_csv(repo: Path) -> str:
    """A valid figures.csv outside the repository (its copy's parent folder)."""
    outside = repo.parent / "outside" / "figures.csv"
    outside.parent.mkdir(exist_ok=True)
    shutil.copy(repo / "data" / "figures.csv", outside)
    return str(outside)


def _link_figures_to(target):
    def change(repo: Path) -> None:
        link = repo / "data" / "figures.csv"
        destination = target(repo)
        link.unlink()
        link.symlink_to(destination)
    return change


def _point_figures_at(path):
    def change(repo: Path) -> None:
        edit_package(repo, lambda p: resource(p, "figures").update(path=path(repo)))
    return change


OUTSIDE = {
    "dotdot-to-etc-passwd": (_point_figures_at(lambda r: "../../../../etc/passwd"),
                             "path '../../../../etc/passwd' must be relative and inside"),
    "absolute-etc-passwd": (_point_figures_at(lambda r: "/etc/passwd"),
                            "path '/etc/passwd' must be relative and inside"),
    "dotdot-to-a-valid-csv": (_point_figures_at(lambda r: "../../outside/figures.csv"),
                              "must be relative and inside"),
    "absolute-valid-csv": (_point_figures_at(_outside_csv), "must be relative and inside"),
    "symlink-to-a-valid-csv": (_link_figures_to(_outside_csv),
                               "data/figures.csv: resolves to a file outside the data folder"),
    "symlink-to-etc-passwd": (_link_figures_to(lambda r: "/etc/passwd"),
                              "data/figures.csv: resolves to a file outside the data folder"),
    "datapackage-json-a-symlink-outside": (
        lambda r: (shutil.copy(r / "data" / "datapackage.json", r.parent / "dp.json"),
                   (r / "data" / "datapackage.json").unlink(),
                   (r / "data" / "datapackage.json").symlink_to(r.parent / "dp.json")),
        "datapackage.json: resolves to a file outside the data folder"),
    "data-folder-a-link-outside": (
        lambda r: (shutil.move(r / "data", r.parent / "data-outside"),
                   (r / "data").symlink_to(r.parent / "data-outside")),
        "data: is a link to a folder outside the repository"),
}


@pytest.mark.parametrize("case", OUTSIDE, ids=list(OUTSIDE))
def test_a_resource_outside_the_data_folder_is_refused_and_never_shown(fixture_repo, case):
    change, message = OUTSIDE[case]
    change(fixture_repo)
    refused_build(fixture_repo, message)


def test_run_refuses_a_resource_outside_the_data_folder_too(fixture_repo):
    _point_figures_at(lambda r: "/etc/passwd")(fixture_repo)
    refused(cqbook(fixture_repo, "run", "beta"), "must be relative and inside")
    assert not (fixture_repo / "runs").exists()


# ------------------------------------------------------------------ 2. text, never markup

BREAKOUT = "x\n\n```{literalinclude} /etc/passwd\n```\n\nafter"
EVAL_RST = ("```{eval-rst}\n.. raw:: html\n   :file: /etc/passwd\n```\n\n"
            "<script>alert('rst')</script>")
IMG = "<img src=x onerror=alert(1)>"
ROLE = "{raw}`<b>bold</b>` {file}`/etc/passwd` <script>alert('role')</script>"
GENERATED_TOC = """format: jb-book
root: book/index
chapters:
  - file: notebooks/alpha
  - file: notebooks/beta
  - file: book/sources
  - file: book/glossary
  - file: book/data
  - file: book/build_info
"""


def _write_rows(path: Path, rows: list[list[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def _inject_hostile_text(repo: Path) -> None:
    """MyST directives, roles and HTML in every kind of text the generated pages show: the
    page itself, CSV fields, the descriptor's own texts, a parameter value."""
    page = repo / "data" / "raw" / "chongqing_daily_page.txt"
    old_hash = hashlib.sha256(page.read_bytes()).hexdigest()
    page.write_bytes(page.read_bytes() + f"\n{IMG}\n".encode())
    new_hash = hashlib.sha256(page.read_bytes()).hexdigest()
    descriptor = repo / "data" / "datapackage.json"
    descriptor.write_text(descriptor.read_text(encoding="utf-8").replace(old_hash, new_hash),
                          encoding="utf-8")
    with open(repo / "data" / "glossary.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    rows[1][rows[0].index("term_en")] = BREAKOUT
    rows[2][rows[0].index("pinyin")] = ROLE
    _write_rows(repo / "data" / "glossary.csv", rows)
    edit_cell(repo / "data", "articles", "yongchuan_rail_exports", "title_en", f"{IMG} {ROLE}")
    edit_cell(repo / "data", "figures", "yongchuan_vehicles_shipped", "measure", BREAKOUT)

    def change(package):
        package["description"] = EVAL_RST
        package["licenses"][0]["title"] = ROLE
        glossary = resource(package, "glossary")
        glossary["title"] = f"Glossary {IMG}"
        glossary["description"] = BREAKOUT
        glossary["schema"]["fields"][0]["description"] = EVAL_RST
    edit_package(repo, change)
    (repo / "params" / "book.yml").write_text(f"alpha: {{}}\nbeta:\n  label: '{IMG}'\n")
    (repo / "_toc.yml").write_text(GENERATED_TOC)


@pytest.fixture(scope="module")
def hostile_repo(tmp_path_factory) -> Path:
    repo = copy_repository(tmp_path_factory.mktemp("hostile") / "repo")
    _inject_hostile_text(repo)
    result = cqbook(repo, "build")
    assert result.returncode == 0, result.stdout + result.stderr
    return repo


def _page(repo: Path, name: str) -> str:
    return (repo / "_build" / "html" / name).read_text(encoding="utf-8")


def _assert_shown_as_text(html: str) -> None:
    assert not PASSWD_LINE.search(html)  # no file was included
    assert "<script>alert(" not in html  # no injected script
    assert not re.search(r"<img[^>]*onerror", html)  # no injected element
    assert "<b>bold</b>" not in html


@pytest.mark.parametrize("page, shown", [
    ("book/sources.html", ["&lt;img src=x onerror=alert(1)&gt;", "{raw}"]),
    ("book/glossary.html", ["{literalinclude} /etc/passwd", "{file}`/etc/passwd`"]),
    ("book/data.html", ["{eval-rst}", ".. raw:: html", "{literalinclude} /etc/passwd",
                        "Glossary &lt;img src=x onerror=alert(1)&gt;"]),
    ("book/build_info.html", ["&lt;img src=x onerror=alert(1)&gt;"]),
    ("notebooks/beta.html", ["&lt;img src=x onerror=alert(1)&gt;"]),
])
def test_directives_roles_and_html_in_the_data_are_shown_as_text(hostile_repo, page, shown):
    html = _page(hostile_repo, page)
    _assert_shown_as_text(html)
    for text in shown:
        assert text in html, text


GLUE_NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "id": "gamma-00", "metadata": {},
         "source": "# Gamma\n\nThe page ends with: {glue:text}`page_tail`."},
        {"cell_type": "code", "execution_count": None, "id": "gamma-01",
         "metadata": {"tags": ["parameters"]}, "outputs": [],
         "source": "lines = 1  # int, min 1, max 3; how many of the page's last lines"},
        {"cell_type": "code", "execution_count": None, "id": "gamma-02", "metadata": {},
         "outputs": [],
         "source": "from myst_nb import glue\nfrom cqbook.dataset import package\n\n"
                   "tail = ' '.join(package.source_text().strip().splitlines()[-lines:])\n"
                   "glue('page_tail', tail, display=False)"},
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                "name": "python3"}, "language_info": {"name": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
}


def test_the_page_that_run_writes_shows_page_text_as_text(hostile_repo, tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(hostile_repo, repo, symlinks=True)
    (repo / "notebooks" / "gamma.ipynb").write_text(json.dumps(GLUE_NOTEBOOK))
    result = cqbook(repo, "run", "gamma", "-p", "lines", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    html = next((repo / "runs").glob("gamma__*/index.html")).read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert not re.search(r"<img[^>]*onerror", html)


def test_chapter_tables_show_data_text_as_text(tmp_path):
    """A real chapter (banan): its tables of figures, rendered by `run`'s standalone page
    from the chapter's own outputs, as the book renders them."""
    repo = copy_repository(tmp_path / "repo", fixture_book=False)
    edit_cell(repo / "data", "figures", "banan_investment_total", "measure", f"{IMG} {ROLE}")
    result = cqbook(repo, "run", "banan")
    assert result.returncode == 0, result.stdout + result.stderr
    html = next((repo / "runs").glob("banan__*/index.html")).read_text(encoding="utf-8")
    _assert_shown_as_text(html)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


# ------------------------------------------------------------------ 4. limits

ALIAS_BOMB = "".join(
    [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n" if i else "a0: &a0 [lol]\n"
     for i in range(9)])


def test_a_yaml_alias_bomb_is_refused_at_once(fixture_repo):
    path = fixture_repo / "bomb.yml"
    path.write_text(ALIAS_BOMB)
    assert len(ALIAS_BOMB) < 600
    result = cqbook(fixture_repo, "run", "beta", "-f", str(path))
    line = refused(result, "bomb.yml", "anchors and aliases")
    assert len(line) < 300  # refused before expanding, so the message stays one short line
    assert not (fixture_repo / "runs").exists()


def test_a_single_alias_in_the_book_parameters_is_refused(fixture_repo):
    (fixture_repo / "params" / "book.yml").write_text("alpha: &same {factor: 3}\nbeta: *same\n")
    refused_build(fixture_repo, "params/book.yml", "anchors and aliases")


def test_a_parameter_file_over_the_size_limit_is_refused(fixture_repo):
    path = fixture_repo / "big.yml"
    path.write_text("# padding\n" * 10_000 + "label: x\n")
    refused(cqbook(fixture_repo, "run", "beta", "-f", str(path)), "big.yml", "larger than")


def test_a_cell_printing_past_the_limit_fails_the_build_and_leaves_nothing(fixture_repo):
    add_code_cell(fixture_repo, "alpha", "print('x' * 11_000_000)")
    before = book_snapshot(fixture_repo)
    result = cqbook(fixture_repo, "build")
    assert result.returncode == 2 and "Traceback" not in result.stdout + result.stderr
    assert "alpha.ipynb: cell 5 (`print('x' * 11_000_000)`)" in result.stderr
    assert "per cell" in result.stderr
    assert book_snapshot(fixture_repo) == before
    assert not (fixture_repo / "_build" / "executed" / "alpha.ipynb").exists()
    assert not any((fixture_repo / "_build" / "executed").glob(".*"))
    again = cqbook(fixture_repo, "build")  # not cached: it runs, and fails, again
    assert again.returncode == 2 and "per cell" in again.stderr


def test_a_notebook_past_the_total_limit_is_refused_by_run_and_removed(fixture_repo):
    for _ in range(6):
        add_code_cell(fixture_repo, "beta", "print('y' * 9_000_000)")
    result = cqbook(fixture_repo, "run", "beta")
    line = refused(result, "beta.ipynb", "per notebook")
    assert "cell " in line
    assert not list((fixture_repo / "runs").rglob("*.ipynb"))
    assert not list((fixture_repo / "runs").rglob("*.html"))


@pytest.mark.parametrize("size, message", [
    (3_000_000, "larger than the limit of 2,000,000 bytes per file"),
    (50_000_000, "larger than the limit of 2,000,000 bytes per file"),
])
def test_a_data_file_over_the_size_limit_is_refused_at_once(fixture_repo, size, message):
    with open(fixture_repo / "data" / "glossary.csv", "a", encoding="utf-8") as handle:
        handle.write(f"x,{'a' * size},y,place\n")  # one field of `size` characters
    refused_build(fixture_repo, "data/glossary.csv", message)


@pytest.mark.parametrize("length, message", [
    (20_000, "row {row}, column 'pinyin': value of 20,000 characters is longer than the limit"),
    (200_000, "not a readable CSV file (field larger than field limit"),
])
def test_a_csv_field_over_the_limit_is_refused(fixture_repo, length, message):
    glossary = fixture_repo / "data" / "glossary.csv"
    row = len(glossary.read_text(encoding="utf-8").splitlines())  # the row appended: header + n
    with open(glossary, "a", encoding="utf-8") as handle:
        handle.write(f"x,{'a' * length},y,place\n")
    refused_build(fixture_repo, "data/glossary.csv", message.format(row=row))


# ------------------------------------------------------------------ 1. data read exactly


@pytest.mark.parametrize("table, column", [("figures", "unit"), ("glossary", "pinyin")])
def test_a_csv_column_given_twice_is_refused(fixture_repo, table, column):
    path = fixture_repo / "data" / f"{table}.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    index = rows[0].index(column)
    _write_rows(path, [row[:index + 1] + row[index:] for row in rows])
    refused_build(fixture_repo, f"data/{table}.csv, header, column '{column}'", "given twice")


@pytest.mark.parametrize("value, message", [
    ("104.8600001", "value 104.8600001 index points cannot be read back from the quote"),
    ("104.86000000001", "value 104.86000000001 index points cannot be read back"),
    ("104.86000000000000001", "has more digits than a number keeps"),
])
def test_a_value_must_read_back_from_its_quote_to_the_digits_printed(fixture_repo, value,
                                                                     message):
    edit_cell(fixture_repo / "data", "figures", "wankaiyun_integration_index", "value", value)
    refused_build(fixture_repo, "data/figures.csv, row", "column 'value'", message)


def test_a_key_given_twice_in_the_data_package_descriptor_is_refused(fixture_repo):
    path = fixture_repo / "data" / "datapackage.json"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"path": "figures.csv"',
                                 '"path": "figures.csv", "path": "units.csv"'), encoding="utf-8")
    refused_build(fixture_repo, "datapackage.json", "key 'path' is given twice")


def test_a_resource_given_twice_is_refused(fixture_repo):
    edit_package(fixture_repo, lambda p: p["resources"].append(dict(resource(p, "units"))))
    refused_build(fixture_repo, "datapackage.json", "resource 'units' is given twice")


# ------------------------------------------------------------------ 5. no silent default


@pytest.mark.parametrize("arguments, message", [
    (("--params", "typo.yml"), "typo.yml: parameters file not found"),
    (("--params", "params"), "params: parameters file is a folder"),
])
def test_build_with_a_parameter_file_that_is_not_there_is_refused(fixture_repo, arguments,
                                                                  message):
    refused_build(fixture_repo, message, arguments=arguments)


@pytest.mark.parametrize("arguments, message", [
    (("run", "alpha", "-p", "factor", "99", "-p", "factor", "3"),
     "run: `factor` is given twice with -p"),
    (("sweep", "alpha", "-p", "factor", "1", "2", "-p", "factor", "3"),
     "sweep: `factor` is given twice with -p"),
    (("sweep", "alpha", "-p", "factor", "2", "2"), "value '2' of `factor` is given twice"),
    (("run", "alpha", "-f", "p.yml", "-p", "factor", "4"),
     "`factor` is given both in p.yml and with -p"),
    (("sweep", "alpha", "-f", "p.yml", "-p", "factor", "4", "5"),
     "`factor` is given both in p.yml and with -p"),
])
def test_a_name_given_twice_is_refused(fixture_repo, arguments, message):
    (fixture_repo / "p.yml").write_text("factor: 3\n")
    refused(cqbook(fixture_repo, *arguments), message)
    assert not (fixture_repo / "runs").exists() and not (fixture_repo / "sweeps").exists()


# ------------------------------------------------------------------ 6. a message, not a traceback


@pytest.mark.parametrize("arguments, setup, message", [
    (("run", "beta", "-f", "folder"), lambda r: (r / "folder").mkdir(),
     "folder: parameters file is a folder"),
    (("run", "beta", "-f", "/dev/zero"), lambda r: None,
     "/dev/zero: parameters file is not a regular file"),
    (("run", "beta", "-f", "complex.yml"),
     lambda r: (r / "complex.yml").write_text("? [a, b]\n: 1\n"),
     "complex.yml: malformed YAML: a key must be a plain name"),
    (("run", "alpha", "-p", "factor", "9" * 5000), lambda r: None,
     "longer than 40 characters"),
    (("run", "alpha", "-p", "factor", "1" * 30), lambda r: None, "breaks the rule"),
    (("build", "--jobs", "0"), lambda r: None, None),
    (("build", "--cell-timeout", "-1"), lambda r: None, None),
    (("sweep", "alpha", "-p", "factor", "1", "--jobs", "100000"), lambda r: None, None),
])
def test_a_bad_argument_gets_a_line_not_a_traceback(fixture_repo, arguments, setup, message):
    setup(fixture_repo)
    result = cqbook(fixture_repo, *arguments)
    if message is None:  # argparse's own refusal: usage and one error line, exit 2
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert "is not between 1 and" in result.stderr
        return
    refused(result, message)


def test_book_parameters_that_are_a_folder_are_refused(fixture_repo):
    (fixture_repo / "params" / "book.yml").unlink()
    (fixture_repo / "params" / "book.yml").mkdir()
    refused_build(fixture_repo, "params/book.yml: parameters file is a folder")


def text_notebook(parameters: str) -> str:
    """A MyST text notebook whose only code cell is tagged `parameters`."""
    return f"# G\n\n```{{code-cell}}\n:tags: [parameters]\n\n{parameters}\n```\n"


NOTEBOOK_FAULTS = {
    "json-notebook-not-json": ("alpha.ipynb", "{not json", "alpha.ipynb: not a notebook in JSON"),
    "text-notebook-bad-cell-options": (
        "gamma.md", "# G\n\n```{code-cell}\n---\ntags: [parameters\n---\nx = 1\n```\n",
        "gamma.md: a code cell's options are not valid YAML"),
    "default-is-an-expression": ("gamma.md", text_notebook("x = 1 + 1  # int, min 0, max 3; m"),
                                 "the default of `x` must be a plain value"),
    "attribute-as-a-parameter": ("gamma.md", text_notebook("x.y = 1  # int, min 0, max 3; m"),
                                 "expected one plain name before `=`"),
    "length-rule-on-a-number": ("gamma.md",
                                text_notebook("x = 1  # int, len 1..x, min 0, max 3; m"),
                                "applies to a list only"),
    "parameter-declared-twice": ("gamma.md", text_notebook(
        "x = 1  # int, min 0, max 3; m\nx = 2  # int, min 0, max 3; m"), "`x` is declared twice"),
    "text-notebook-not-utf8": ("gamma.md", b"\xff\xfe# G\n", "gamma.md: cannot be read"),
}


@pytest.mark.parametrize("case", NOTEBOOK_FAULTS, ids=list(NOTEBOOK_FAULTS))
def test_an_unreadable_notebook_is_named(fixture_repo, case):
    name, content, message = NOTEBOOK_FAULTS[case]
    path = fixture_repo / "notebooks" / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    refused_build(fixture_repo, message)


DESCRIPTOR_FAULTS = {
    "no-schema": (lambda p: resource(p, "figures").pop("schema"),
                  "resource 'figures' has no `schema` with a list of `fields`"),
    "fields-not-a-list": (lambda p: resource(p, "figures")["schema"].update(fields={}),
                          "resource 'figures' has no `schema`"),
    "unknown-field-type": (lambda p: resource(p, "units")["schema"]["fields"][0].update(
        type="strnig"), "type 'strnig' is not one of"),
    "field-given-twice": (lambda p: resource(p, "units")["schema"]["fields"].append(
        dict(resource(p, "units")["schema"]["fields"][0])), "field 'unit' is given twice"),
    "foreign-key-to-nothing": (lambda p: resource(p, "figures")["schema"]["foreignKeys"][0][
        "reference"].update(resource="nowhere"), "foreign key refers to nowhere."),
    "resource-without-path": (lambda p: resource(p, "units").pop("path"),
                              "needs a `name` and a `path`"),
    "resources-not-a-list": (lambda p: p.update(resources={}), "no list of `resources`"),
    "path-with-a-space": (lambda p: resource(p, "units").update(path="my units.csv"),
                          "only letters, digits"),
}


@pytest.mark.parametrize("case", DESCRIPTOR_FAULTS, ids=list(DESCRIPTOR_FAULTS))
def test_a_malformed_descriptor_is_named(fixture_repo, case):
    change, message = DESCRIPTOR_FAULTS[case]
    edit_package(fixture_repo, change)
    refused_build(fixture_repo, "data/datapackage.json", message)


def test_a_data_file_that_is_a_folder_is_named(fixture_repo):
    (fixture_repo / "data" / "units.csv").unlink()
    (fixture_repo / "data" / "units.csv").mkdir()
    refused_build(fixture_repo, "data/units.csv: not a regular file")
