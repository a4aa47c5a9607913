"""What a student on Colab sees: every notebook on ipywidgets 7's JavaScript, in Chromium.

Colab runs ipywidgets 7.7.1, and its widget frontend is ipywidgets 7's JavaScript, not the
ipywidgets 8 that JupyterLab 4 runs. The classic Notebook 6.5 with ``widgetsnbextension`` 3.6 runs
that same JavaScript, and it installs from the registries; so this suite:

* builds a Colab-shaped venv (``.venv-colab-browser/``, or ``$VITLEARN_COLAB_BROWSER_VENV``; reused
  while its pins are unchanged) from :data:`PINS`, then installs this checkout's ``vitlearn`` with
  ``pip install --no-deps -e`` as the notebooks' setup cell does on Colab; playwright stays in the
  runner's environment, not in that venv;
* checks that the widgets' nbextension is enabled there and that a kernel started by the page runs
  Colab's pins (:func:`test_kernel_runs_colabs_pins`);
* starts that venv's classic Notebook on 127.0.0.1 over a copy of the notebooks and, for each one,
  runs :func:`driver.check_notebook` (the same check as the JupyterLab suite): Run All from the
  Cell menu, no error output, no "Error displaying widget" / "Widget Javascript not detected",
  every explorer draws its image and every slider and menu changes it from several starting
  states, the quiz marks answers. Screenshots on failure; the server always stops.

Not reproduced here: Colab's own page around the widgets, its Python 3.13 (this machine's 3.11)
and its torch 2.11 (the local CPU wheel of 2.13 stands in).
Run: ``pytest -m colab_browser tests/browser`` (kept out of plain ``pytest`` by the marker).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from driver import ROOT, ClassicNotebook, check_notebook, wait_for
from servers import NOTEBOOKS, Server, copy_notebooks, isolated_env, serve

pytestmark = pytest.mark.colab_browser

VENV = Path(os.environ.get("VITLEARN_COLAB_BROWSER_VENV") or ROOT / ".venv-colab-browser")
PINS = [
    # the local CPU wheel stands in for Colab's torch 2.11 (a bare `torch` pulls the CUDA build)
    "torch==2.13.0",
    # Colab's widgets, and the JavaScript that pip pairs with them for the classic Notebook
    # (ipywidgets 7.7.1 requires widgetsnbextension ~=3.6.0; 3.6.10 is the newest 3.6)
    "ipywidgets==7.7.1",
    "widgetsnbextension==3.6.10",
    # the last classic Notebook (7.x runs JupyterLab's ipywidgets 8 frontend instead)
    "notebook==6.5.7",
    # notebook 6.5.7 requires jupyter_client <8; 7.4.9, the newest 7.x, runs it on Python 3.11
    "jupyter_client==7.4.9",
    # Colab's kernel and libraries
    "ipykernel==6.17.1",
    "ipython==7.34.0",
    "matplotlib==3.10.0",
    "numpy==2.1.3",
    # vitlearn loads the sample photos and encodes the explorers' PNGs with it (Colab has it)
    "pillow",
]
# What the kernel must report (checked in the browser, from a kernel the page started).
KERNEL_PINS = {
    "ipywidgets": "7.7.1",
    "ipykernel": "6.17.1",
    "IPython": "7.34.0",
    "matplotlib": "3.10.0",
    "numpy": "2.1.3",
}
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _run(*args: str | Path, timeout: float = 1200) -> str:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, (
        f"{' '.join(map(str, args))} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    )
    return ANSI.sub("", done.stdout + done.stderr)


def _widgets_extension_enabled(python: Path) -> bool:
    listing = _run(python, "-m", "jupyter", "nbextension", "list")
    return re.search(r"jupyter-js-widgets/extension\s+enabled", listing) is not None


@pytest.fixture(scope="session")
def colab_browser_python() -> Path:
    """The Colab-shaped venv's python; built (a minute or two: torch) unless its pins match."""
    python = VENV / "bin" / "python"
    stamp = VENV / "vitlearn-colab-browser-pins.json"
    wanted = json.dumps({"python": sys.version.split()[0], "pins": PINS, "vitlearn": str(ROOT)})
    if not (python.exists() and stamp.exists() and stamp.read_text() == wanted):
        stamp.unlink(missing_ok=True)
        _run(sys.executable, "-m", "venv", "--clear", VENV)
        _run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *PINS)
        # as the notebooks' setup cell does on Colab: the course alone, nothing it depends on
        _run(
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "-e",
            ROOT,
        )
        if not _widgets_extension_enabled(python):
            _run(
                python,
                "-m",
                "jupyter",
                "nbextension",
                "enable",
                "--py",
                "--sys-prefix",
                "widgetsnbextension",
            )
        stamp.write_text(wanted)
    assert _widgets_extension_enabled(python), "jupyter-js-widgets/extension is not enabled"
    found = _run(python, "-c", "import vitlearn; print(vitlearn.__file__)").strip()
    assert Path(found).resolve().is_relative_to(ROOT), f"vitlearn comes from {found}, not {ROOT}"
    return python


@pytest.fixture(scope="session")
def classic(
    colab_browser_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The venv's classic Notebook 6.5 over a copy of the notebooks."""
    base = tmp_path_factory.mktemp("classic")
    root = copy_notebooks(base / "notebooks")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VIRTUAL_ENV", "PYTHON", "JUPYTER", "IPYTHON", "MPL"))
    }
    env["PATH"] = f"{colab_browser_python.parent}:{env.get('PATH', '')}"

    def command(port: int, token: str) -> list[str]:
        return [
            str(colab_browser_python),
            "-m",
            "notebook",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--port-retries=0",
            f"--NotebookApp.token={token}",
            f"--notebook-dir={root}",
            "--NotebookApp.terminals_enabled=False",
        ]

    with serve(
        "classic Notebook", command, root, isolated_env(base, env), base / "notebook.log"
    ) as server:
        yield server


# Runs in the kernel the page started; prints what it runs on.
_PROBE = """\
import json, sys, ipywidgets, ipykernel, IPython, matplotlib, numpy, vitlearn
print(json.dumps({"python": sys.executable, "vitlearn": vitlearn.__file__,
                  "ipywidgets": ipywidgets.__version__, "ipykernel": ipykernel.__version__,
                  "IPython": IPython.__version__, "matplotlib": matplotlib.__version__,
                  "numpy": numpy.__version__}))
"""
_EXECUTE_JS = """
code => new Promise((resolve, reject) => {
  let text = '';
  Jupyter.notebook.kernel.execute(code, {
    iopub: {output: m => {
      if (m.content.text) { text += m.content.text; }
      if (m.content.ename) { reject(m.content.ename + ': ' + m.content.evalue); }
    }},
    shell: {reply: m => resolve(text)},
  });
})
"""


def test_kernel_runs_colabs_pins(
    classic: Server, browser: object, colab_browser_python: Path
) -> None:
    """The page's widget manager is ipywidgets 7's, and its kernel runs Colab's pins."""
    frontend = ClassicNotebook()
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    try:
        page.goto(frontend.url(classic, NOTEBOOKS[0].name))
        frontend.wait_ready(page)
        assert page.evaluate("() => typeof Jupyter.WidgetManager") == "function"
        text = wait_for(lambda: page.evaluate(_EXECUTE_JS, _PROBE), 60, "the probe's output")
        report = json.loads(text.strip().splitlines()[-1])
        print(report)
        assert Path(report["python"]).parent == colab_browser_python.parent, report["python"]
        assert Path(report["vitlearn"]).resolve().is_relative_to(ROOT), report["vitlearn"]
        wrong = {k: report[k] for k, v in KERNEL_PINS.items() if report[k] != v}
        assert not wrong, f"the kernel runs {wrong}, Colab has {KERNEL_PINS}"
    finally:
        context.close()
        classic.shutdown_kernels()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_on_ipywidgets7(
    path: Path, classic: Server, browser: object, quiz_answers: dict[int, str]
) -> None:
    check_notebook(browser, classic, ClassicNotebook(), path, quiz_answers)
