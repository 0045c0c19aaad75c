"""The build-information page: commit, data hash, each notebook's parameters and execution,
the package versions; the web font's numbers filled in once Sphinx has written the book."""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
from pathlib import Path

from cqbook.build.pages.common import (
    GENERATED,
    SOURCE_LANGUAGE,
    BookState,
    esc,
    html_table,
    translator,
)
from cqbook.paths import REPO_ROOT

WEBFONT_PLACEHOLDER = '<span id="webfont-stats">(web font: see build)</span>'


def commit_description(repo: Path = REPO_ROOT) -> str:
    """`git rev-parse --short HEAD`, plus "+ uncommitted changes" for a dirty tree; "no git"
    outside a checkout."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "no git"
    return f"{head} + uncommitted changes" if dirty else head


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_versions() -> dict[str, str]:
    """Version of every installed distribution, by normalised name; where two are installed
    under one name, the one first on the path, as `importlib.metadata.version` finds it.
    Read from each METADATA file's headers: importlib's email parser would read the long
    description too, most of the file (0.18 s of a build for the 214 installed; 0.02 s here)."""
    found: dict[str, str] = {}
    for distribution in importlib.metadata.distributions():
        text = distribution.read_text("METADATA") or distribution.read_text("PKG-INFO") or ""
        headers = text.replace("\r\n", "\n").split("\n\n", 1)[0]
        name = re.search(r"^Name:[ \t]*(\S+)", headers, flags=re.MULTILINE)
        version = re.search(r"^Version:[ \t]*(\S+)", headers, flags=re.MULTILINE)
        if name and version:
            found.setdefault(_normalized(name.group(1)), version.group(1))
    return found


def package_versions(requirements: Path = REPO_ROOT / "requirements.txt") -> dict[str, str]:
    """Installed version of every package pinned in requirements.txt (sorted by name), and
    a last row for the lock beside it: its digest, and every installed package whose version
    is not the locked one."""
    installed = installed_versions()
    versions = {}
    for line in requirements.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name = re.split(r"[=<>!~\[; ]", line, maxsplit=1)[0]
        versions[name] = installed.get(_normalized(name), "not installed")
    versions = dict(sorted(versions.items(), key=lambda item: item[0].lower()))
    lock = requirements.with_suffix(".lock")
    if lock.exists():
        import hashlib

        text = lock.read_text(encoding="utf-8")
        locked = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", text, flags=re.MULTILINE)
        moved = [f"{name} {installed[_normalized(name)]} (locked {version})"
                 for name, version in locked
                 if installed.get(_normalized(name), version) != version]
        digest = hashlib.sha256(text.encode()).hexdigest()
        versions[lock.name] = (f"SHA-256 {digest[:16]}…, {len(locked)} packages; "
                               + (f"not as locked: {', '.join(moved)}" if moved
                                  else "installed as locked"))
    return versions


def fill_webfont_stats(html_dir: Path, stats: dict, lang: str = SOURCE_LANGUAGE) -> None:
    """Put the web font's numbers into the built build-information page: they are known only
    after Sphinx wrote the pages the font is subset to (the text added is ASCII, so the
    subset stays complete)."""
    page = Path(html_dir) / "book" / "build_info.html"
    if not page.exists():  # a book whose table of contents has no build-information page
        return
    text = page.read_text(encoding="utf-8")
    if WEBFONT_PLACEHOLDER not in text:
        raise RuntimeError(f"{page}: the web-font placeholder is missing")
    tr = translator(lang)
    numbers = tr("{characters} characters, {glyphs} glyphs, {kib} KiB",
                 characters=f"{stats['characters']:,}", glyphs=f"{stats['glyphs']:,}",
                 kib=f"{stats['bytes'] / 1024:,.0f}")
    filled = (f'<span id="webfont-stats">{esc(stats["family"])}, {numbers} '
              f'(<a href="../{esc(stats["licence_file"])}">{tr("licence")}</a>)</span>')
    page.write_text(text.replace(WEBFONT_PLACEHOLDER, filled), encoding="utf-8")


def build_info_page(state: BookState, lang: str = SOURCE_LANGUAGE) -> str:
    tr = translator(lang)
    rows = []
    for name, notebook in sorted(state.notebooks.items()):
        parameters = "<br>".join(
            f"<code>{esc(key)} = {esc(json.dumps(value, ensure_ascii=False))}</code>"
            for key, value in sorted(notebook.parameters.items())) or "—"
        seconds = "—" if notebook.seconds is None else f"{notebook.seconds:.1f}"
        status = tr("executed in this build" if notebook.status == "executed"
                    else "unchanged: from the cache")
        rows.append([f'<a href="../notebooks/{esc(name)}.html">{esc(name)}</a>',
                     parameters,
                     tr("yes") if notebook.defaults else f"<strong>{tr('no')}</strong>",
                     seconds,
                     esc(status)])
    versions = [[esc(name), f"<code>{esc(version)}</code>"]
                for name, version in state.versions.items()]
    return "\n".join([
        f"# {tr(GENERATED['build_info'])}", "",
        tr("What made this book: the commit of the sources, the data package, each notebook's "
           "parameters and execution, and the versions of the packages that ran them. "
           "Execution time is the last time the notebook was executed (a notebook whose "
           "inputs did not change is taken from the build cache)."), "",
        '<div class="cq-build">',
        f"<p>{tr('Build commit')}: <code>{esc(state.commit)}</code><br>",
        (f"{tr('Data package (SHA-256 over datapackage.json and every resource)')}: "
         f"<code>{esc(state.data_hash)}</code><br>"),
        f"Python: <code>{esc(state.python)}</code><br>",
        f"{tr('Chinese web font')}: {WEBFONT_PLACEHOLDER}</p>",
        "</div>", "",
        f"## {tr('Notebooks')}", "",
        html_table([tr(c) for c in ("notebook", "parameters", "defaults", "execution (s)",
                                    "status")], rows, escape=False), "",
        f"## {tr('Package versions')}", "",
        tr("The packages pinned in `requirements.txt`, as installed where the book was built."),
        "",
        html_table([tr("package"), tr("version")], versions, escape=False), "",
    ])
