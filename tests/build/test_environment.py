"""The environment is locked: requirements.lock pins every package with its hashes, resolved
from what pyproject.toml declares and requirements.txt pins, and `make` installs exactly it;
`make` refuses a Python older than 3.11 and makes a .venv of another Python anew."""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "requirements.lock"
REMAKE = "run `make lock` and commit requirements.lock"


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(text: str) -> dict[str, str]:
    return {_normalized(name): version for name, version in
            re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", text, flags=re.MULTILINE)}


def test_every_pin_of_requirements_txt_is_locked_at_its_version():
    pinned = _pins((REPO / "requirements.txt").read_text(encoding="utf-8"))
    locked = _pins(LOCK.read_text(encoding="utf-8"))
    moved = {name: (version, locked.get(name)) for name, version in pinned.items()
             if locked.get(name) != version}
    assert not moved, f"pinned vs locked: {moved}; {REMAKE}"


def test_every_declared_dependency_is_pinned_within_its_range():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [*project["dependencies"],
                *(r for extra in project["optional-dependencies"].values() for r in extra)]
    pinned = _pins((REPO / "requirements.txt").read_text(encoding="utf-8"))
    for line in declared:
        requirement = Requirement(line)
        name = _normalized(requirement.name)
        assert name in pinned, f"{requirement.name} is declared but not pinned in requirements.txt"
        assert requirement.specifier.contains(pinned[name], prereleases=True), \
            f"{requirement.name}=={pinned[name]} is outside the declared {requirement.specifier}"


def test_every_locked_package_has_its_hashes():
    blocks = re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text(encoding="utf-8"))
    packages = [block for block in blocks if re.match(r"[A-Za-z0-9][^\n]*==", block)]
    assert len(packages) > 100  # the whole environment, not the direct pins
    for block in packages:
        assert "--hash=sha256:" in block, block.splitlines()[0]


def test_the_libraries_the_fork_engine_relies_on_are_pinned_exactly():
    pinned = _pins((REPO / "requirements.txt").read_text(encoding="utf-8"))
    assert {"jupyter-client", "jupyter-core", "ipython", "pyzmq", "ipykernel", "pandas",
            "papermill"} <= set(pinned)


def test_the_installed_environment_is_the_locked_one():
    locked = _pins(LOCK.read_text(encoding="utf-8"))
    # The version import finds first on sys.path: once something imported setuptools, its
    # vendored copies (older packaging, zipp, ...) are on sys.path too, later.
    installed = {}
    for name in locked:
        try:
            installed[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    moved = {name: (installed[name], version) for name, version in locked.items()
             if name in installed and installed[name] != version}
    assert not moved, f"installed vs locked: {moved}; run `make` to install the lock"


# A stand-in interpreter of one version: it answers the Makefile's two questions (its
# version; is it 3.11.5 or later), makes a "venv" (a copy of itself) and logs the rest.
FAKE_PYTHON = """#!/bin/sh
case "$1 $2" in
  "-c "*print*) echo {version} ;;
  "-c "*) exit {too_old} ;;
  "-m venv") mkdir -p "$3/bin" && cp "$0" "$3/bin/python" ;;
  *) echo "{version} $*" >> "$FAKE_LOG" ;;
esac
"""


def _make(folder: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", *arguments], cwd=folder,
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "FAKE_LOG": str(folder / "log")})


def _machine(tmp_path: Path) -> dict[str, Path]:
    """The Makefile, its inputs, and fake Pythons 3.10, 3.11 and 3.12."""
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    for name in ("requirements.lock", "pyproject.toml"):
        (tmp_path / name).write_text("")
    pythons = {}
    for version in ("3.10", "3.11", "3.12"):
        path = tmp_path / "pythons" / f"python{version}"
        path.parent.mkdir(exist_ok=True)
        path.write_text(FAKE_PYTHON.format(version=version, too_old=int(version == "3.10")))
        path.chmod(0o755)
        pythons[version] = path
    return pythons


def _venv_version(folder: Path) -> str:
    return subprocess.run([folder / ".venv" / "bin" / "python", "-c", "print()"],
                          capture_output=True, text=True, check=True).stdout.strip()


def test_make_refuses_a_python_older_than_3_11_and_makes_no_venv(tmp_path):
    pythons = _machine(tmp_path)
    result = _make(tmp_path, "book", f"PYTHON={pythons['3.10']}")
    assert result.returncode == 2
    assert f"PYTHON={pythons['3.10']} is Python 3.10; the book needs Python 3.11" in result.stderr
    assert "make book PYTHON=python3.11" in result.stderr
    assert not (tmp_path / ".venv").exists()


def test_a_venv_of_another_python_is_made_anew_with_the_one_asked_for(tmp_path):
    pythons = _machine(tmp_path)
    # What a failed install with Python 3.10 left behind: a venv, no stamp.
    subprocess.run([pythons["3.10"], "-m", "venv", tmp_path / ".venv"], check=True)
    result = _make(tmp_path, "book", f"PYTHON={pythons['3.11']}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (f"make: .venv has Python 3.10 and PYTHON={pythons['3.11']} is Python 3.11: "
            "making .venv anew") in result.stdout
    assert _venv_version(tmp_path) == "3.11"
    log = (tmp_path / "log").read_text()
    assert "3.11 -m pip install --quiet --disable-pip-version-check --require-hashes -r " \
           "requirements.lock" in log
    assert "3.11 -m cqbook build" in log
    # Another minor version asked for: made anew again; nothing asked for: kept.
    result = _make(tmp_path, "book", f"PYTHON={pythons['3.12']}")
    assert "making .venv anew" in result.stdout and _venv_version(tmp_path) == "3.12"
    result = _make(tmp_path, "book")
    assert "making .venv anew" not in result.stdout and _venv_version(tmp_path) == "3.12"
    assert result.returncode == 0, result.stdout + result.stderr
