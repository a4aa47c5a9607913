"""Shared fixtures: the course's notebooks, and a committed snapshot of the working tree.

``course_clone`` stands in for the public repository in tests that run the notebooks' setup cell
as Colab would: a git repository (made once per session) holding the current files of this
checkout, tracked and untracked-but-not-ignored, so uncommitted work is what gets tested.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture(scope="session")
def course_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository with this checkout's current files, committed (no network needed)."""
    repo = tmp_path_factory.mktemp("origin") / "vitlearn"
    repo.mkdir()
    files = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    for rel in filter(None, files.split("\0")):
        src = ROOT / rel
        if src.is_file():  # deleted but still in the index: skip
            dst = repo / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    _git("init", "--quiet", "--initial-branch=main", cwd=repo)
    _git("add", "--all", cwd=repo)
    _git(
        "-c", "user.name=vitlearn-tests", "-c", "user.email=tests@vitlearn.invalid",
        "commit", "--quiet", "--no-verify", "-m", "snapshot of the working tree", cwd=repo,
    )
    return repo
