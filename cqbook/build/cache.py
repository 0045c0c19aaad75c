"""Cache keys: a notebook is executed again only when one of its declared inputs changed.

A notebook's output is a pure function of its own source, its parameters, the data files,
the package code and the pinned requirements; the key is a digest of exactly these.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar

from cqbook.paths import BOOK_DIR, DATA_DIR, NOTEBOOKS_DIR, PARAMS_DIR, REPO_ROOT

# Bump when the way notebooks are executed or cleaned changes in a way the code digest misses.
ENGINE_VERSION = "1"
PACKAGE_DIR = REPO_ROOT / "cqbook"
REQUIREMENTS = REPO_ROOT / "requirements.txt"


def file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def tree_digest(files: Iterable[Path], root: Path = REPO_ROOT) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(f"{path.relative_to(root).as_posix()}\0{file_digest(path)}\n".encode())
    return digest.hexdigest()


def files_under(folder: Path, pattern: str = "*") -> list[Path]:
    return [p for p in folder.rglob(pattern)
            if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".")]


def shared_inputs() -> dict[str, str]:
    """Digests of what every notebook depends on; computed once per build. The environment
    is the lock (every installed package, version and hash) and the Python running it."""
    import platform

    lock = REPO_ROOT / "requirements.lock"
    return {
        "data": tree_digest(files_under(DATA_DIR)),
        "package": tree_digest(files_under(PACKAGE_DIR, "*.py")),
        "requirements": file_digest(REQUIREMENTS),
        "lock": file_digest(lock) if lock.exists() else "none",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "engine": ENGINE_VERSION,
    }


def notebook_key(notebook: Path, parameters: dict[str, Any], shared: dict[str, str]) -> str:
    payload = {"notebook": file_digest(notebook), "parameters": parameters, **shared}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


class Cache:
    """One small JSON entry per notebook under `folder`, written atomically.

    An entry that cannot be read back whole (random bytes, half a file, the wrong shape) is
    treated as missing, with a one-line note through `note`: the notebook runs again and its
    entry is rewritten, so no one has to find and delete the file by hand."""

    # What the build reads from every entry; an entry without them is not one it wrote.
    REQUIRED: ClassVar[dict[str, type]] = {"key": str, "parameters": dict,
                                           "output_digest": str, "headlines": list}

    def __init__(self, folder: Path, note: Callable[[str], None] | None = None):
        self.folder = folder
        self.note = note
        self._noted: set[str] = set()

    def _entry_path(self, name: str) -> Path:
        return self.folder / f"{name}.json"

    def get(self, name: str) -> dict[str, Any] | None:
        path = self._entry_path(name)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except ValueError as error:  # not UTF-8, or not JSON
            self._unreadable(name, path, type(error).__name__)
            return None
        wrong = [key for key, kind in self.REQUIRED.items()
                 if not isinstance(entry, dict) or not isinstance(entry.get(key), kind)]
        if wrong:
            self._unreadable(name, path, f"no valid `{wrong[0]}`")
            return None
        return entry

    def _unreadable(self, name: str, path: Path, reason: str) -> None:
        if self.note and name not in self._noted:
            self._noted.add(name)
            self.note(f"note: {shown(path)} is not a readable cache entry ({reason}): "
                      f"{name} runs again")

    def put(self, name: str, entry: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self._entry_path(name), entry)

    def is_fresh(self, name: str, key: str, executed: Path) -> bool:
        """True when the entry matches `key` and the executed file is the one it recorded
        (a build killed mid-write leaves a file whose digest does not match)."""
        entry = self.get(name)
        return bool(entry and entry.get("key") == key and executed.exists()
                    and entry.get("output_digest") == file_digest(executed))


def shown(path: Path) -> str:
    """A path as the user reads it: relative to the repository when inside it."""
    path = Path(path)
    return path.relative_to(REPO_ROOT).as_posix() if path.is_relative_to(REPO_ROOT) else str(path)


# Everything a build reads: a change to any of these while notebooks run means the book would
# mix two versions of its inputs (a cell that writes into data/, an editor saving a file).
INPUT_FOLDERS = (DATA_DIR, NOTEBOOKS_DIR, BOOK_DIR, PARAMS_DIR, PACKAGE_DIR,
                 REPO_ROOT / "translations")
INPUT_FILES = ("_config.yml", "_toc.yml", "requirements.txt", "requirements.lock")


def input_digests() -> dict[str, str]:
    """Digest of every input file, by path relative to the repository (a few hundred files,
    well under a megabyte: milliseconds)."""
    files = [p for folder in INPUT_FOLDERS if folder.is_dir() for p in folder.rglob("*")
             if p.is_file() and not any(part.startswith(".") or part == "__pycache__"
                                        for part in p.relative_to(folder).parts)]
    files += [REPO_ROOT / name for name in INPUT_FILES if (REPO_ROOT / name).is_file()]
    return {shown(path): file_digest(path) for path in files}


def changed_inputs(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """`data/figures.csv changed`, `data/new.csv added`, ... in path order."""
    return ([f"{path} {'changed' if path in after else 'removed'}"
             for path in sorted(before) if after.get(path) != before[path]]
            + [f"{path} added" for path in sorted(set(after) - set(before))])


def keep_newest(folder: Path, pattern: str, keep: int = 4) -> list[Path]:
    """Delete all but the `keep` most recently used files matching `pattern` in `folder` (a
    cache of entries by content key, where each change of content leaves an old entry);
    returns the files deleted."""
    entries = sorted(Path(folder).glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in entries[keep:]:
        stale.unlink(missing_ok=True)
    return entries[keep:]


def write_json_atomic(path: Path, content: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(content, sort_keys=True, indent=1, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    os.replace(tmp, path)
