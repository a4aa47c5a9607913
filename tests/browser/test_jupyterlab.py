"""Each notebook in a real JupyterLab 4 + Chromium (ipywidgets 8): Run All, no errors, every
explorer responds to every control from several starting states, the quiz marks answers.

One test per notebook, so a failure names it; what is checked is :func:`driver.check_notebook`.
A screenshot of the page and the server's log are saved in ``test-artifacts/`` when one fails.
Run: ``pytest -m browser tests/browser`` (kept out of plain ``pytest`` by the marker).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from driver import JupyterLab, check_notebook
from servers import NOTEBOOKS, Server

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_and_explorers_respond(
    path: Path, lab: Server, browser: object, quiz_answers: dict[int, str]
) -> None:
    check_notebook(browser, lab, JupyterLab(), path, quiz_answers)
