"""``classroom/start-singleuser.sh``: the course copied into a student's home, then the server.

Plain pytest (no JupyterHub needed): the script runs with a made-up edition and home, and a
command in place of the server. What the real hub does with it, for two students at once, is in
``test_jupyterhub.py``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "classroom" / "start-singleuser.sh"


def _start(edition: Path, home: Path, *command: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "VITLEARN_STUDENT_EDITION": str(edition),
    }
    return subprocess.run(
        ["/bin/sh", str(SCRIPT), *command],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def edition(tmp_path: Path) -> Path:
    folder = tmp_path / "student"
    (folder / "notebooks").mkdir(parents=True)
    (folder / "README.md").write_text("the student edition\n")
    for name in ("00_start_here.ipynb", "01_patches.ipynb"):
        (folder / "notebooks" / name).write_text(f'{{"edition": "{name}"}}\n')
    return folder


def test_first_start_copies_the_whole_edition(edition, tmp_path):
    home = tmp_path / "home" / "ada"
    home.mkdir(parents=True)
    done = _start(edition, home, "sh", "-c", 'echo "server in $PWD with $*"', "sh", "--port=1")
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert done.stdout == f"server in {home} with --port=1\n"  # the command, run in the home
    course = home / "course"
    copied = sorted(str(p.relative_to(course)) for p in course.rglob("*") if p.is_file())
    assert copied == ["README.md", "notebooks/00_start_here.ipynb", "notebooks/01_patches.ipynb"]
    for path in edition.rglob("*"):
        if path.is_file():
            assert (course / path.relative_to(edition)).read_text() == path.read_text()


def test_a_later_start_keeps_the_students_work_and_brings_what_is_missing(edition, tmp_path):
    home = tmp_path / "ada"
    home.mkdir()
    assert _start(edition, home, "true").returncode == 0
    notebooks = home / "course" / "notebooks"
    (notebooks / "01_patches.ipynb").write_text('{"edition": "mine now"}\n')  # the student's work
    (notebooks / "00_start_here.ipynb").unlink()  # deleted, to start it afresh
    (notebooks / "scratch.ipynb").write_text("{}\n")  # a file of their own
    (edition / "notebooks" / "02_patch_embedding.ipynb").write_text("{}\n")  # the teacher adds
    (edition / "notebooks" / "01_patches.ipynb").write_text('{"edition": "updated"}\n')

    done = _start(edition, home, "true")
    assert done.returncode == 0 and done.stderr == ""
    assert (notebooks / "01_patches.ipynb").read_text() == '{"edition": "mine now"}\n'
    assert (notebooks / "00_start_here.ipynb").read_text() == '{"edition": "00_start_here.ipynb"}\n'
    assert (notebooks / "02_patch_embedding.ipynb").is_file()
    assert (notebooks / "scratch.ipynb").read_text() == "{}\n"


def test_without_an_edition_the_server_still_starts_and_the_log_says_why(tmp_path):
    home = tmp_path / "ada"
    home.mkdir()
    done = _start(tmp_path / "nowhere", home, "sh", "-c", "echo started; exit 3")
    assert done.returncode == 3 and done.stdout == "started\n"  # the server's own exit status
    assert "no student edition in" in done.stderr and "release-student" in done.stderr
    assert not (home / "course").exists()
