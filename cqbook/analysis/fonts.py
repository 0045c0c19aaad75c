"""The book's CJK font as a file: what its charts draw Chinese with and what the web edition
subsets for its pages.

Found without importing `mplfonts` (whose package imports matplotlib): a build that executes
no notebook would otherwise import matplotlib only to learn where a font file is, about a
second of a prose-only rebuild.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

FONT_FILE = "NotoSansCJKsc-Regular.otf"
FONT_NAME = "Noto Sans CJK SC"


def cjk_font_path() -> Path:
    """Noto Sans CJK SC as shipped (OFL) by the `mplfonts` wheel."""
    spec = importlib.util.find_spec("mplfonts")
    folders = list(spec.submodule_search_locations or []) if spec else []
    path = Path(folders[0] if folders else "mplfonts") / "fonts" / FONT_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path}: the CJK font shipped by mplfonts is missing; "
                                "reinstall with `pip install -r requirements.txt`")
    return path
