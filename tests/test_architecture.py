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
