"""The data page: each resource of the data package to download, with its schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cqbook.build.pages.common import (
    GENERATED,
    SOURCE_LANGUAGE,
    esc,
    html_table,
    md_text,
    translator,
)
from cqbook.paths import DATA_DIR

_SAFE_PATH = re.compile(r"[A-Za-z0-9_./-]+")


def _constraints(field_: dict) -> str:
    constraints = dict(field_.get("constraints", {}))
    constraints.pop("required", None)
    return "; ".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in
                     sorted(constraints.items()))


def data_page(data_dir: Path = DATA_DIR, link_prefix: str = "../data/",
              lang: str = SOURCE_LANGUAGE) -> str:
    """Each resource downloadable (from the copy of the package in the stage), with its
    schema. The package's own descriptions stay as the package writes them (English)."""
    tr = translator(lang)
    package = json.loads((Path(data_dir) / "datapackage.json").read_text(encoding="utf-8"))

    def download(path: str, text: str | None = None) -> str:
        if not _SAFE_PATH.fullmatch(path) or ".." in path:
            raise ValueError(f"unsafe resource path in datapackage.json: {path!r}")
        return f"{{download}}`{text or path} <{link_prefix}{path}>`"

    licences = "; ".join(md_text(lic.get("title", lic.get("name", "")))
                         for lic in package.get("licenses", []))
    parts = [f"# {tr(GENERATED['data'])}", "",
             md_text(package.get("description", "")), "",
             tr("The tables are a Frictionless Data Package: {link} holds their schemas, keys "
                "and checksums. Licence: {licences}.", link=download("datapackage.json"),
                licences=licences), "",
             tr("CSV files are UTF-8 with LF line endings, sorted by their key. Every chapter "
                "reads them only through `cqbook.dataset.package`, which checks them against "
                "these schemas and against the page at every load."), ""]
    for resource in package["resources"]:
        digest = str(resource.get("hash", "")).removeprefix("sha256:")
        parts += [f"## {md_text(resource.get('title', resource['name']))}", "",
                  md_text(resource.get("description", "")), "",
                  f"{tr('Download')}: {download(resource['path'])}"
                  + (f" — SHA-256 <code>{md_text(digest)}</code>" if digest else ""), ""]
        schema = resource.get("schema")
        if not schema:
            continue
        keys = schema.get("primaryKey", [])
        if keys:
            parts += [f"{tr('Primary key')}: " + ", ".join(f"<code>{md_text(k)}</code>" for k in keys)
                      + ".", ""]
        rows = [[f"<code>{esc(f['name'])}</code>", esc(f["type"]),
                 tr("yes") if f.get("constraints", {}).get("required") else "",
                 esc(_constraints(f)), esc(f.get("description", ""))]
                for f in schema["fields"]]
        parts += [html_table([tr(c) for c in ("field", "type", "required", "constraints",
                                              "meaning")], rows, escape=False), ""]
    return "\n".join(parts)
