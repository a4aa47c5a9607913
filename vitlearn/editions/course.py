"""Where the course lives, and the two cells every notebook opens with.

The repository's public location is written here and nowhere else: the badge and setup cells of
every notebook are made from it, and ``tests/test_course_cells.py`` checks that they agree.
"""

from __future__ import annotations

REPO_URL = "https://github.com/vitlearn/vitlearn"
"""The public git repository of the course."""

BRANCH = "main"
"""The version of the course these notebooks belong to: a branch or a tag of ``REPO_URL``. The
Colab badges open the notebooks at this version, and the setup cell installs this version."""

_COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"

INSTALLED_MARKER = ".vitlearn-installed"
"""Written into the clone by the setup cell once cloning and installing have both finished."""


def colab_url(notebook_path: str) -> str:
    """The Colab link that opens ``notebook_path`` (relative to the repository root)."""
    github = REPO_URL.removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{github}/blob/{BRANCH}/{notebook_path}"


def binder_url(notebook_path: str) -> str:
    """The Binder link that opens ``notebook_path`` (from the repository root) in JupyterLab."""
    github = REPO_URL.removeprefix("https://github.com/")
    return f"https://mybinder.org/v2/gh/{github}/{BRANCH}?urlpath=lab/tree/{notebook_path}"


def site_url() -> str:
    """Where GitHub Pages publishes the course's website (``python -m vitlearn build-site``)."""
    owner, name = REPO_URL.removeprefix("https://github.com/").split("/")
    return f"https://{owner}.github.io/{name}/"


def badge_markdown(notebook_path: str) -> str:
    """The "Open in Colab" badge for one notebook, as a line of Markdown."""
    return f"[![Open in Colab]({_COLAB_BADGE})]({colab_url(notebook_path)})"


SETUP_CELL = f'''\
# @title Setup: in Colab this installs the course; anywhere else it does nothing
# In Google Colab this fetches the version of the course this notebook belongs to and installs
# its helper package `vitlearn` with --no-deps, so Colab's own torch, numpy, matplotlib and
# ipywidgets stay as they are. Anywhere else (JupyterLab on your laptop, a class server) it does
# nothing.
import os
import sys

if "google.colab" in sys.modules:
    import shutil
    import subprocess

    repo = os.environ.get("VITLEARN_REPO", "{REPO_URL}")
    version = os.environ.get("VITLEARN_BRANCH", "{BRANCH}")
    home = os.environ.get("VITLEARN_HOME", "/content/vitlearn")
    marker = os.path.join(home, "{INSTALLED_MARKER}")  # written last, once all went well
    installed = ""
    if os.path.isfile(marker):
        with open(marker) as f:
            installed = f.read()
    if installed != version:  # nothing yet, an interrupted setup, or another version
        shutil.rmtree(home, ignore_errors=True)
        subprocess.run(
            ["git", "clone", "--quiet", "--depth", "1", "--branch", version, repo, home], check=True
        )
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "-e", home], check=True
        )
        with open(marker, "w") as f:
            f.write(version)
        if "vitlearn" in sys.modules:
            print("vitlearn was already imported: restart the runtime (Runtime > Restart session)")
    if home not in sys.path:
        sys.path.insert(0, home)  # importable now, without restarting the runtime
'''
"""Source of the second cell of every notebook. Its first line is a Colab form title: with
:data:`COLLAPSED` metadata, Colab shows only that line, JupyterLab folds the code away."""

COLLAPSED: dict[str, object] = {"cellView": "form", "jupyter": {"source_hidden": True}}
"""Cell metadata that folds a code cell's source away where the notebook is read: Colab shows
the cell as a form (its ``# @title`` line, the code hidden), JupyterLab collapses the input. The
setup cell, the imports cell and every exercise's solution carry it, so a student sees the lesson
first and a solution only by asking for it."""

IMPORTS_TITLE = "# @title Imports: the libraries and the course's helpers this notebook uses"
"""The first line of every notebook's third cell (the imports)."""

SOLUTION_TITLE = "# @title Solution: open it after you have tried"
"""The first line of every exercise's solution cell."""
