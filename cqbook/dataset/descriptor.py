"""The data package's descriptor, `datapackage.json`: its resources, each file checked to lie
inside the data folder, and one digest of the whole package.

Apart from the tables (`cqbook.dataset.package`), so that what needs only the files (the
digest in every chapter's provenance box) does not import pandas: a rebuild that executes no
notebook would otherwise import it for this alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from cqbook.paths import DATA_DIR, REPO_ROOT

PAGE_RESOURCE = "page"
# Limits far above what one page needs (cqbook.dataset.package has the tables' own).
MAX_DESCRIPTOR_BYTES = 1_000_000
MAX_FILE_BYTES = 2_000_000
# Resource paths: also what the data page's download links can carry.
SAFE_PATH = re.compile(r"[A-Za-z0-9_./-]+")
FIELD_TYPES = ("string", "number", "integer", "boolean", "date")


class DataError(ValueError):
    """The data package is malformed; the message names the file, row and column."""


def shown_path(path: Path) -> str:
    path = Path(os.path.abspath(path))  # as named, not where a link leads
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def fail(path: Path, message: str, row: int | None = None, column: str | None = None):
    """Raise DataError; row is the 1-based data row (line row + 1 of the CSV), 0 the header."""
    where = [shown_path(path)]
    if row == 0:
        where.append("header")
    elif row is not None:
        where.append(f"row {row}")
    if column is not None:
        where.append(f"column {column!r}")
    raise DataError(f"{', '.join(where)}: {message}")


def read_resources(data_dir: Path) -> dict:
    """The descriptor's resources by name, each checked for what the loader relies on."""
    path = data_dir / "datapackage.json"
    _check_inside(data_dir, path, path)
    try:
        if path.stat().st_size > MAX_DESCRIPTOR_BYTES:
            fail(path, f"larger than the limit of {MAX_DESCRIPTOR_BYTES:,} bytes")
        package = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_unique_keys)
    except FileNotFoundError:
        fail(path, "file is missing")
    except (OSError, UnicodeDecodeError) as error:
        fail(path, f"cannot be read ({type(error).__name__})")
    except ValueError as error:
        fail(path, f"not valid JSON ({error})")
    if not isinstance(package, dict) or not isinstance(package.get("resources"), list):
        fail(path, "not a data package descriptor (no list of `resources`)")
    resources = {}
    for number, resource in enumerate(package["resources"], start=1):
        name = resource.get("name") if isinstance(resource, dict) else None
        if not isinstance(name, str) or not isinstance(resource.get("path"), str):
            fail(path, f"resource {number} needs a `name` and a `path` (text)")
        if name in resources:
            fail(path, f"resource {name!r} is given twice")
        if name != PAGE_RESOURCE:
            _check_schema(path, name, resource.get("schema"))
        resources[name] = resource
    for name, resource in resources.items():
        for foreign in resource.get("schema", {}).get("foreignKeys", []):
            target = foreign["reference"]["resource"] or name
            (column,) = foreign["reference"]["fields"]
            fields = resources.get(target, {}).get("schema", {}).get("fields", [])
            if column not in [f["name"] for f in fields]:
                fail(path, f"resource {name!r}: foreign key refers to {target}.{column}, "
                     "which is not a field of a resource")
    return resources


def _unique_keys(pairs: list) -> dict:
    keys = [key for key, _ in pairs]
    for key in keys:
        if keys.count(key) > 1:  # json keeps the last silently; the reader sees the first
            raise ValueError(f"key {key!r} is given twice in one object")
    return dict(pairs)


def _check_schema(path: Path, name: str, schema) -> None:
    where = f"resource {name!r}"
    if not isinstance(schema, dict) or not isinstance(schema.get("fields"), list):
        fail(path, f"{where} has no `schema` with a list of `fields`")
    names = set()
    for field in schema["fields"]:
        if not isinstance(field, dict) or not isinstance(field.get("name"), str):
            fail(path, f"{where}: every field needs a `name`")
        if field.get("type") not in FIELD_TYPES:
            fail(path, f"{where}, field {field['name']!r}: type {field.get('type')!r} is not "
                 f"one of {', '.join(FIELD_TYPES)}")
        if field["name"] in names:
            fail(path, f"{where}: field {field['name']!r} is given twice")
        names.add(field["name"])
        if not isinstance(field.get("constraints", {}), dict):
            fail(path, f"{where}, field {field['name']!r}: `constraints` must be an object")
    for key in schema.get("primaryKey", []):
        if key not in names:
            fail(path, f"{where}: primary key {key!r} is not a field")
    for foreign in schema.get("foreignKeys", []):
        try:
            (column,) = foreign["fields"]
            (_,) = foreign["reference"]["fields"]
            target = foreign["reference"]["resource"]
        except (KeyError, TypeError, ValueError):
            fail(path, f"{where}: a foreign key needs one field and a reference to one field "
                 "of a resource")
        if column not in names or not isinstance(target, str):
            fail(path, f"{where}: foreign key {column!r} names no field or no resource")


def _check_inside(data_dir: Path, path: Path, shown: Path) -> Path:
    """`path`, resolved, if it lies inside data_dir (symbolic links followed)."""
    inside = Path(data_dir).resolve()
    real = Path(os.path.realpath(path))
    if not real.is_relative_to(inside):
        fail(shown, "resolves to a file outside the data folder; refused")
    return real


def resource_file(data_dir: Path, resource: dict) -> Path:
    """The file of a resource, checked to lie inside data_dir and to be a regular file of
    sensible size: a descriptor can name `/etc/passwd` or `../../x.csv`, and a link can point
    anywhere. Nothing outside the package is opened, and no message shows a file's content."""
    relative = resource["path"]
    descriptor = Path(data_dir) / "datapackage.json"
    if (not SAFE_PATH.fullmatch(relative) or Path(relative).is_absolute()
            or ".." in Path(relative).parts):
        fail(descriptor, f"resource {resource['name']!r}: path {relative[:100]!r} must be "
             "relative and inside the data folder (no leading /, no .., only letters, "
             "digits and _ . / -)")
    path = Path(data_dir) / relative
    _check_inside(data_dir, path, path)
    try:
        status = path.stat()
    except FileNotFoundError:
        fail(path, "file is missing")
    except OSError as error:
        fail(path, f"cannot be read ({type(error).__name__})")
    if not path.is_file():
        fail(path, "not a regular file")
    if status.st_size > MAX_FILE_BYTES:
        fail(path, f"{status.st_size:,} bytes is larger than the limit of "
             f"{MAX_FILE_BYTES:,} bytes per file")
    return path


def datapackage_hash(data_dir=DATA_DIR) -> str:
    """SHA-256 over datapackage.json and every resource file (names and bytes, in a fixed
    order): one digest for the book's provenance box."""
    data_dir = Path(data_dir)
    descriptor = data_dir / "datapackage.json"
    resources = sorted(read_resources(data_dir).values(), key=lambda r: r["path"])
    digest = hashlib.sha256()
    for name, path in [("datapackage.json", descriptor)] + [
            (r["path"], resource_file(data_dir, r)) for r in resources]:
        digest.update(name.encode("utf-8") + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()
