"""Shared fixtures: a committed snapshot of the working tree, and a Chromium.

``course_clone`` stands in for the public repository in tests that run the notebooks' setup cell
as Colab would: a git repository (made once per session) holding the current files of this
checkout, tracked and untracked-but-not-ignored, so uncommitted work is what gets tested.

``browser`` is Debian's Chromium driven by Playwright for Python (``playwright install`` cannot
download browsers here), for the browser suites: JupyterLab (``tests/browser``) and the course's
website (``tests/site``). It is launched only by the tests that ask for it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
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
        "-c",
        "user.name=vitlearn-tests",
        "-c",
        "user.email=tests@vitlearn.invalid",
        "commit",
        "--quiet",
        "--no-verify",
        "-m",
        "snapshot of the working tree",
        cwd=repo,
    )
    return repo


CHROMIUM_CANDIDATES = [
    os.environ.get("VITLEARN_CHROMIUM", ""),
    "/usr/lib/chromium/chromium",
    "/usr/bin/chromium",
]
CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root in CI
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_path() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    path = chromium_path()
    if path is None:
        message = f"no Chromium at {CHROMIUM_CANDIDATES[1:]} (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        chromium = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        pw.stop()
