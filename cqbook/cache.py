"""Cache keys: a notebook is executed again only when one of its declared inputs changed.

A notebook's output is a pure function of its own source, its parameters, the data files,
the package code and the pinned requirements; the key is a digest of exactly these.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cqbook.paths import DATA_DIR, REPO_ROOT

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
    """One small JSON entry per notebook under `folder`, written atomically."""

    def __init__(self, folder: Path):
        self.folder = folder

    def _entry_path(self, name: str) -> Path:
        return self.folder / f"{name}.json"

    def get(self, name: str) -> dict[str, Any] | None:
        try:
            return json.loads(self._entry_path(name).read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def put(self, name: str, entry: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self._entry_path(name), entry)

    def is_fresh(self, name: str, key: str, executed: Path) -> bool:
        """True when the entry matches `key` and the executed file is the one it recorded
        (a build killed mid-write leaves a file whose digest does not match)."""
        entry = self.get(name)
        return bool(entry and entry.get("key") == key and executed.exists()
                    and entry.get("output_digest") == file_digest(executed))


def write_json_atomic(path: Path, content: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(content, sort_keys=True, indent=1, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    os.replace(tmp, path)
