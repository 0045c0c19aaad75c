"""Where things live in the repository. Every path the package uses is derived from here,
so that notebooks (whose working directory is their own folder under nbval) and the command
line resolve the same files."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
RAW_DIR = DATA_DIR / "raw"
RAW_PAGE = RAW_DIR / "chongqing_daily_page.txt"
DATAPACKAGE = DATA_DIR / "datapackage.json"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
BOOK_DIR = REPO_ROOT / "book"
PARAMS_DIR = REPO_ROOT / "params"
BUILD_DIR = REPO_ROOT / "_build"
