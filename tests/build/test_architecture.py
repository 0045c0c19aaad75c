"""The package follows the data: dataset -> analysis -> build, and the imports say so.

`dataset` (the page -> typed, checked tables) imports neither `analysis` nor `build`;
`analysis` (what a chapter imports) does not import `build`; nothing but the entry point
`__main__` imports `cli`; `paths` (the repository's layout) imports no wing; and a chapter
notebook imports only `dataset` and `analysis` (its code cells are read too).
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

from cqbook.build.notebook_files import read_cells_quickly

WINGS = ("dataset", "analysis", "build")
ENTRY_POINTS = ("cli.py", "__main__.py")  # the command line: free to import every wing
# What each part of the package may not import.
FORBIDDEN = {
    "dataset": ("cqbook.analysis", "cqbook.build", "cqbook.cli"),
    "analysis": ("cqbook.build", "cqbook.cli"),
    "build": ("cqbook.cli",),
    "top": ("cqbook.dataset", "cqbook.analysis", "cqbook.build", "cqbook.cli"),
    "notebook": ("cqbook.build", "cqbook.cli", "cqbook.paths"),
}


def imported_modules(source: str) -> set[str]:
    """Every module a piece of code imports, at any depth (imports inside functions too)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def part_of(path: Path, package: Path) -> str:
    relative = path.relative_to(package).parts
    return relative[0] if relative[0] in WINGS else "top"


def broken_rules(package: Path, notebooks: Path) -> list[str]:
    problems = []
    sources = [(p, part_of(p, package), p.read_text(encoding="utf-8"))
               for p in sorted(package.rglob("*.py"))
               if p.relative_to(package).as_posix() not in ENTRY_POINTS]
    sources += [(p, "notebook", "\n".join(c["source"] for c in read_cells_quickly(p)
                                          if not c["source"].lstrip().startswith(("%", "!"))))
                for p in sorted(notebooks.glob("*.md"))]
    for path, part, source in sources:
        for module in sorted(imported_modules(source)):
            if any(module == f or module.startswith(f + ".") for f in FORBIDDEN[part]):
                problems.append(f"{path.relative_to(package.parent)} ({part}) imports {module}")
    return problems


def test_the_package_has_three_wings_and_a_thin_top():
    package = REPO / "cqbook"
    assert {p.name for p in package.iterdir() if p.is_dir() and p.name != "__pycache__"} == \
        set(WINGS)
    top = sorted(p.name for p in package.glob("*.py"))
    assert top == ["__init__.py", "__main__.py", "cli.py", "paths.py"]


def test_imports_follow_the_data():
    problems = broken_rules(REPO / "cqbook", REPO / "notebooks")
    assert not problems, "\n".join(problems)


def test_a_broken_rule_is_caught(tmp_path):
    package = tmp_path / "cqbook"
    for wing in WINGS:
        (package / wing).mkdir(parents=True)
    (package / "dataset" / "tables.py").write_text("def f():\n    from cqbook.build import x\n")
    (package / "analysis" / "charts.py").write_text("import cqbook.build.params\n")
    (package / "build" / "book.py").write_text("from cqbook import cli\n")
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (notebooks / "chapter.md").write_text("```{code-cell}\nfrom cqbook.build import pages\n```\n")
    assert broken_rules(package, notebooks) == [
        "cqbook/analysis/charts.py (analysis) imports cqbook.build.params",
        "cqbook/build/book.py (build) imports cqbook.cli",
        "cqbook/dataset/tables.py (dataset) imports cqbook.build",
        "cqbook/dataset/tables.py (dataset) imports cqbook.build.x",
        "notebooks/chapter.md (notebook) imports cqbook.build",
        "notebooks/chapter.md (notebook) imports cqbook.build.pages",
    ]


def defined_names(source: str) -> set[str]:
    return {node.name for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))}


def test_no_two_notebooks_define_the_same_helper():
    """What two chapters need lives once in the package, with a test."""
    defined: dict[str, list[str]] = {}
    for path in sorted((REPO / "notebooks").glob("*.md")):
        code = "\n".join(c["source"] for c in read_cells_quickly(path))
        for name in defined_names(code):
            defined.setdefault(name, []).append(path.stem)
    twice = {name: where for name, where in defined.items() if len(where) > 1}
    assert not twice, f"defined in more than one notebook: {twice}"


def test_a_helper_defined_twice_is_found():
    assert defined_names("def chart(title):\n    pass\nclass Box:\n    pass\n") == \
        {"chart", "Box"}


# --- what a chapter's code may not do by hand ------------------------------------------------

# A chapter converts through units (to_yi, to_wan, from_base …) and bounds through Bounds,
# glues through record(): these are the hand-made versions, found in the code cells.
MAGNITUDES = {"YI", "WAN", "MU_IN_M2"}


def hand_work(source: str) -> list[str]:
    """What a chapter's code does by hand that the package does once: a magnitude used in
    arithmetic (units.YI, units.WAN), a bound typed as a label (bound="more_than"), a glue
    call or import (record() glues)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in MAGNITUDES:
            found.append(f"line {node.lineno}: converts by hand with {ast.unparse(node)}")
        elif isinstance(node, ast.Name) and node.id in MAGNITUDES:
            found.append(f"line {node.lineno}: converts by hand with {node.id}")
        elif isinstance(node, ast.keyword) and node.arg == "bound" and isinstance(
                node.value, ast.Constant):
            found.append(f"line {node.lineno}: types the bound label {node.value.value!r}")
        elif isinstance(node, ast.Call) and ast.unparse(node.func).split(".")[-1] == "glue":
            found.append(f"line {node.lineno}: calls glue() (record() glues)")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom) else []) + [
                alias.name for alias in node.names]
            if any(name == "myst_nb" or name.startswith("myst_nb.") for name in names):
                found.append(f"line {node.lineno}: imports myst_nb (record() glues)")
    return sorted(found, key=lambda problem: int(problem.split()[1].rstrip(":")))


def code_cells(path: Path) -> list[str]:
    return [c["source"] for c in read_cells_quickly(path) if c["cell_type"] == "code"]


def test_no_chapter_converts_units_types_a_bound_or_glues_by_hand():
    problems = [f"{path.name} cell {index}: {problem}"
                for path in sorted((REPO / "notebooks").glob("*.md"))
                for index, source in enumerate(code_cells(path))
                for problem in hand_work(source)]
    assert not problems, "\n".join(problems)


def test_hand_work_is_found():
    source = ("from myst_nb import glue\nx = total / units.YI\ny = per_mu.value / WAN\n"
              'record("a", 1, bound="more_than")\nglue("b", 2, display=False)\n'
              'record("c", units.to_yi(x), bound=share.headline_bound)\n')
    assert hand_work(source) == [
        "line 1: imports myst_nb (record() glues)",
        "line 2: converts by hand with units.YI",
        "line 3: converts by hand with WAN",
        "line 4: types the bound label 'more_than'",
        "line 5: calls glue() (record() glues)",
    ]


def setup_problems(source: str) -> list[str]:
    """A setup cell holds imports, one start(...) and display options; nothing else."""
    problems, starts = [], 0
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        value = node.value if isinstance(node, (ast.Assign, ast.Expr)) else None
        call = ast.unparse(value.func) if isinstance(value, ast.Call) else ""
        if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Call):
            call = ast.unparse(value.value.func)  # start().source
        if call == "start":
            starts += 1
        elif call != "pd.set_option":
            problems.append(f"line {node.lineno}: {ast.unparse(node).splitlines()[0]}")
    if starts != 1:
        problems.append(f"{starts} calls of start(), not one")
    return problems


def setup_cell(path: Path) -> str:
    cells = [c for c in read_cells_quickly(path) if c["cell_type"] == "code"]
    parameters = next(i for i, c in enumerate(cells) if "parameters" in c["tags"])
    return cells[parameters + 1]["source"]


def test_every_setup_cell_is_imports_and_one_start():
    problems = {path.stem: setup_problems(setup_cell(path))
                for path in sorted((REPO / "notebooks").glob("*.md"))}
    assert not any(problems.values()), problems


def test_a_setup_cell_with_a_helper_or_two_starts_is_found():
    source = ("import pandas as pd\nfrom cqbook.analysis.chapter import start\n"
              'article, text, SOURCE = start("banan_q3_signings")\npd.set_option("x", 1)\n'
              "def bounds(figure_id):\n    return figure_id\n"
              "page = package.source_text()\n")
    assert setup_problems(source) == ["line 5: def bounds(figure_id):",
                                      "line 7: page = package.source_text()"]
    assert setup_problems("SOURCE = start().source\nstart()\n") == [
        "2 calls of start(), not one"]


def test_the_tests_mirror_the_package_and_every_test_file_is_collected():
    """tests/<wing>/ for each wing, plus chapters/ and browser/; pytest skips folders called
    `build` unless told otherwise, and a test file it never collects passes silently."""
    import subprocess
    import sys

    folders = {p.name for p in (REPO / "tests").iterdir() if p.is_dir()
               and not p.name.startswith((".", "__"))}
    assert folders == {"dataset", "analysis", "build", "chapters", "browser", "fixtures"}
    assert not list((REPO / "tests").glob("test_*.py")), "a test file outside the wings"
    listed = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p",
                             "no:randomly", "tests"], cwd=REPO, capture_output=True, text=True,
                            check=False).stdout
    collected = {line.split("::", 1)[0] for line in listed.splitlines() if "::" in line}
    files = {p.relative_to(REPO).as_posix() for p in (REPO / "tests").rglob("test_*.py")
             if "fixtures" not in p.parts}
    assert sorted(files - collected) == []
