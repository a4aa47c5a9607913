"""Every notebook, executed in a Colab-shaped environment, with the course installed by its own
cell.

Colab ships ipywidgets 7.7.1 (8.x breaks its widget rendering), matplotlib 3.10, numpy 2.1 and no
ipympl; installing the course's requirements there would replace torch and ipywidgets, which is why
the notebooks' setup cell installs ``vitlearn`` with ``--no-deps``. This suite reproduces that:

* a virtual environment ``.venv-colab/`` (gitignored; reused while its pins are unchanged) holds
  Colab's pins, the local CPU torch wheel, ipykernel and nbclient, and NOT vitlearn;
* each notebook is copied to a fresh ``content/`` folder and executed by nbclient in that venv,
  with a stand-in ``google.colab`` module imported at kernel start (an IPython startup file, as
  Colab's runtime has it imported), ``VITLEARN_REPO`` pointing at a local snapshot of this
  checkout (no network) and ``VITLEARN_HOME`` in a fresh folder: so cell 1, the real setup cell,
  clones the course and ``pip install --no-deps -e``'s it, and every later cell runs on that;
* after the run, a probe cell in the same kernel reports the versions it ran on: Colab's pins must
  still be there (the setup cell replaced nothing) and ``vitlearn`` must come from the clone;
* a second probe moves every control of every explorer the notebook displayed (found in
  ipywidgets' registry by the ``vitlearn-explorer`` class) one step and back: with ipywidgets
  7.7.1's traits and callbacks, the explorer's image must change and its status stay empty.

Python is this machine's 3.11 (Colab has 3.13; the local CPU torch wheel is built for 3.11 only).
Run: ``pytest -m colab_env tests/colab_env``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.colab_env

ROOT = Path(__file__).resolve().parents[2]
NB_DIR = Path(os.environ.get("VITLEARN_NOTEBOOKS") or ROOT / "notebooks")
NOTEBOOKS = sorted(NB_DIR.glob("[0-9][0-9]_*.ipynb"))
VENV = Path(os.environ.get("VITLEARN_COLAB_VENV") or ROOT / ".venv-colab")
RUNNER = Path(__file__).with_name("run_notebook.py")

# What Colab has (checked by the probe after each notebook), and the tools to drive a kernel.
COLAB_PINS = {"ipywidgets": "7.7.1", "matplotlib": "3.10.", "numpy": "2.1.", "torch": "2.13.0"}
REQUIREMENTS = [
    "torch==2.13.0",  # the local CPU wheel (a bare `torch` would pull the CUDA build)
    "ipywidgets==7.7.1",
    "matplotlib==3.10.*",
    "numpy==2.1.*",
    "pillow",
    "ipykernel>=6,<7",
    "nbclient",
    "nbformat",
]


def _pip(python: Path, *args: str) -> None:
    done = subprocess.run(
        [str(python), "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, (
        f"pip {' '.join(args)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    )


@pytest.fixture(scope="session")
def colab_python() -> Path:
    """The venv's python; created (a minute or two: torch) unless it already has these pins."""
    python = VENV / "bin" / "python"
    stamp = VENV / "vitlearn-colab-pins.json"
    wanted = json.dumps({"python": sys.version.split()[0], "requirements": REQUIREMENTS})
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    _pip(python, "install", "--quiet", *REQUIREMENTS)
    # The image must not carry vitlearn: it has to come from the notebook's own setup cell.
    found = subprocess.run(
        [str(python), "-c", "import importlib.util as u; print(u.find_spec('vitlearn'))"],
        capture_output=True,
        text=True,
        check=True,
        cwd=VENV,
    ).stdout.strip()
    assert found == "None", f"vitlearn is importable in the fresh Colab venv: {found}"
    stamp.write_text(wanted)
    return python


@pytest.fixture(scope="session")
def colab_stub(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(PYTHONPATH dir with a ``google.colab`` stand-in, IPYTHONDIR that imports it at start)."""
    base = tmp_path_factory.mktemp("colab")
    stub = base / "stub"
    (stub / "google" / "colab").mkdir(parents=True)  # google/ stays a namespace package
    (stub / "google" / "colab" / "__init__.py").write_text('"""Stand-in for Colab."""\n')
    startup = base / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-colab.py").write_text("import google.colab  # noqa: F401\n")
    return stub, base / "ipython"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_in_colab_shaped_env(
    path: Path,
    colab_python: Path,
    colab_stub: tuple[Path, Path],
    course_clone: Path,
    tmp_path: Path,
) -> None:
    content = tmp_path / "content"  # Colab's working folder; a fresh runtime per notebook
    content.mkdir()
    notebook = shutil.copy(path, content / path.name)
    home = content / "vitlearn"
    stub, ipython_dir = colab_stub
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VITLEARN_", "PYTHON", "JUPYTER", "IPYTHON", "MPL"))
    }
    env.update(
        PYTHONPATH=str(stub),
        IPYTHONDIR=str(ipython_dir),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        VITLEARN_REPO=course_clone.as_uri(),
        VITLEARN_HOME=str(home),
        PIP_NO_INPUT="1",
        PATH=f"{colab_python.parent}:{env.get('PATH', '')}",
    )
    done = subprocess.run(
        [str(colab_python), str(RUNNER), str(notebook), str(content)],
        cwd=content,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, (
        f"{path.name} failed in the Colab-shaped env:\n{done.stderr[-6000:]}\n{done.stdout[-2000:]}"
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{path.name}: {report}")

    assert Path(report["python"]).parent == colab_python.parent, report["python"]
    assert report["google.colab"], "the google.colab stand-in was not imported"
    for name, version in COLAB_PINS.items():
        assert report[name].startswith(version), (
            f"{path.name}: after the run {name} is {report[name]}, Colab has {version}: "
            "something (the setup cell?) replaced it"
        )
    assert Path(report["vitlearn"]).resolve().is_relative_to(home.resolve()), (
        f"{path.name}: vitlearn imported from {report['vitlearn']}, not from the clone {home}"
    )
    # The explorers it displayed respond to their controls on ipywidgets 7.7.1 (Python side).
    problems = [
        f"explorer #{i}: {p}" for i, e in enumerate(report["explorers"]) for p in e["problems"]
    ]
    assert not problems, f"{path.name} on ipywidgets {report['ipywidgets']}:\n" + "\n".join(
        problems
    )
