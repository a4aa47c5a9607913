"""Fixtures of the browser suites: Debian's Chromium, a JupyterLab server, the figures summary.

``pytest -m browser tests/browser`` drives JupyterLab 4 (this environment's ipywidgets 8);
``pytest -m colab_browser tests/browser`` drives the classic Notebook 6.5 with ipywidgets 7.7.1 in
a Colab-shaped venv (its server fixture is in ``test_colab_browser.py``, next to its pins). Both
use ``driver.py`` for the page and ``servers.py`` to start and always stop the server. Chromium is
Debian's package, driven by Playwright for Python (``playwright install`` cannot download
browsers here).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator

import pytest
from driver import FIGURES
from servers import Server, copy_notebooks, isolated_env, serve

CHROMIUM_CANDIDATES = [os.environ.get("VITLEARN_CHROMIUM", ""), "/usr/lib/chromium/chromium",
                       "/usr/bin/chromium"]
CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root in CI
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# JupyterLab settings for a quiet, deterministic run: no news/update toasts over the notebook,
# and every cell kept in the DOM (no virtual scrolling) so the test can see all outputs.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def chromium_path() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The figures the browser suites measured (printed, never asserted)."""
    lines = FIGURES.lines()
    if lines:
        terminalreporter.section("browser figures")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def quiz_answers() -> dict[int, str]:
    """The quiz's right answers, from the package (the browser must accept exactly these)."""
    from vitlearn.exercises.quiz import QUIZ

    return {n: q.answer for n, q in QUIZ.items()}


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """JupyterLab 4 from this environment, over a copy of the notebooks."""
    base = tmp_path_factory.mktemp("lab")
    root = copy_notebooks(base / "notebooks")
    settings = base / "settings"
    for name, value in LAB_SETTINGS.items():
        plugin, file = name.rsplit("/", 1)
        (settings / plugin).mkdir(parents=True, exist_ok=True)
        (settings / plugin / file).write_text(json.dumps(value))

    def command(port: int, token: str) -> list[str]:
        return [
            sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            "--ServerApp.terminals_enabled=False",
            f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={base / 'ws'}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]

    with serve("JupyterLab", command, root, isolated_env(base), base / "jupyterlab.log") as server:
        yield server


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
