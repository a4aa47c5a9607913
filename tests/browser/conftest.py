"""Fixtures of the browser suites: a JupyterLab server, the quiz's answers, the figures summary.

``pytest -m browser tests/browser`` drives JupyterLab 4 (this environment's ipywidgets 8);
``pytest -m colab_browser tests/browser`` drives the classic Notebook 6.5 with ipywidgets 7's
JavaScript in a Colab-shaped venv (its server fixture is in ``test_colab_browser.py``, next to its
pins). Both use ``driver.py`` for the page and ``servers.py`` to start and always stop the server.
The ``browser`` fixture (Debian's Chromium driven by Playwright) lives in ``tests/conftest.py``,
shared with ``tests/site``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import pytest
from driver import FIGURES
from servers import Server, copy_notebooks, isolated_env, serve

# JupyterLab settings for a quiet, deterministic run: no news/update toasts over the notebook,
# and every cell kept in the DOM (no virtual scrolling) so the test can see all outputs.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


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
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.terminals_enabled=False",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={base / 'ws'}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]

    with serve("JupyterLab", command, root, isolated_env(base), base / "jupyterlab.log") as server:
        yield server
