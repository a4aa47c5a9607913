"""The nbgrader edition, graded by the real nbgrader (``pytest -m nbgrader``; not in plain pytest).

Needs the grading environment (``requirements-grading.txt``: nbgrader and its pinned Jupyter
stack). One module-scoped course directory goes through a teacher's whole cycle, with nbgrader's
own command line, as the teachers' guide (docs/SYLLABUS.md, "Grading with nbgrader") tells it:

1. ``python -m vitlearn release-nbgrader COURSE``, then ``nbgrader generate_assignment`` for every
   assignment (the source notebooks must also pass nbgrader's metadata validator);
2. one exchange round trip (release_assignment, fetch_assignment and submit as a student,
   collect) for notebook 01; the other submissions are put straight into ``submitted/``, which
   is where ``collect`` leaves them;
3. ``nbgrader autograde`` per assignment: ``stub`` (the released copy, untouched) and
   ``solution`` (each answer cell holds the notebook's own solution, the quiz its key) for every
   assignment; ``mistake`` (the solution with one typical mistake in one exercise; in 08, one
   wrong quiz answer) for every assignment but the two slowest, 05 and 06 (training runs of
   47 s and 33 s on 2 cores: grading them a third time would add more than a minute and a half
   to CI and test nothing the others do not). Scores are read from nbgrader's gradebook, cell by
   cell;
4. ``nbgrader generate_feedback``: the feedback holds the checkers' own messages; and
   release_feedback / fetch_feedback for the round-trip student.

A fourth submission, ``warning``, answers 04 correctly with ``torch.meshgrid`` without
``indexing`` (a UserWarning on stderr): it must keep its point (the IgnorePattern setting that
release-nbgrader writes into nbgrader_config.py).

The stub submission doubles as the proof that the students' copy runs top to bottom: its
autograded notebook may hold no error output except the hidden test's AssertionError in graded
cells, and every checker in it says "not done yet".
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from vitlearn.editions.nbgrader import BEGIN_SOLUTION, END_SOLUTION, quiz_key, to_nbgrader
from vitlearn.editions.student import NOTEBOOK_GLOB

pytestmark = pytest.mark.nbgrader

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
BIN = Path(sys.executable).parent  # nbgrader runs `alembic` from PATH: the venv's bin first
STUDENTS = ("stub", "solution", "mistake")
NO_MISTAKE = {"05_train_tiny_vit", "06_interpolating_positions"}  # the slowest: see above
ROUND_TRIP = ("01_patches", "solution")  # the submission that goes through the exchange


def _assignments() -> list[str]:
    names = []
    for path in sorted(NOTEBOOKS.glob(NOTEBOOK_GLOB)):
        if to_nbgrader(nbformat.read(path, as_version=4), path.name):
            names.append(path.stem)
    return names


ASSIGNMENTS = _assignments()

# One typical mistake per assignment: (the function, its wrong version) or ("quiz", wrong letters).
# Each wrong function keeps the stub's signature and uses only the notebook's imports.
MISTAKES: dict[str, tuple[str, str]] = {
    "01_patches": (
        "fixed_patchify",
        "def fixed_patchify(images, p):\n"
        "    B, C = images.shape[:2]\n"
        "    width, height = images.shape[-2:]  # the bug kept: (H, W) read as (width, height)\n"
        "    rows, cols = height // p, width // p\n"
        "    x = images.reshape(B, C, rows, p, cols, p)\n"
        "    x = x.permute(0, 4, 2, 3, 5, 1)  # 'fixed' in the wrong place: the grid axes swapped\n"
        "    return x.reshape(B, rows * cols, p * p * C)\n",
    ),
    "02_patch_embedding": (
        "predict_conversions",
        "def predict_conversions():\n"
        "    # the plain reshape (a) predicted right: (C, P, P) order kept, channel first\n"
        "    return {'a': True, 'b': True, 'c': False, 'd': True, 'e': False}\n",
    ),
    "03_why_position": (
        "predict_shuffle",
        "def predict_shuffle():\n"
        "    # with learned codes the attention changes, but the class output is predicted the "
        "same\n"
        "    return {'none': {'attention': 'permuted', 'patch_outputs': 'permuted', "
        "'class_output': 'same'},\n"
        "            'learned': {'attention': 'changed', 'patch_outputs': 'changed', "
        "'class_output': 'same'}}\n",
    ),
    "04_position_embeddings": (
        "my_sincos_2d",
        "def my_sincos_2d(grid_size, dim):\n"
        "    rows, cols = (grid_size, grid_size) if isinstance(grid_size, int) else grid_size\n"
        "    f = dim // 4\n"
        "    w = 10000.0 ** (-torch.arange(f, dtype=torch.float64) / f)\n"
        "    y, x = torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing='ij')\n"
        "    ax, ay = x.reshape(-1, 1) * w, y.reshape(-1, 1) * w\n"
        "    return torch.cat([ay.sin(), ay.cos(), ax.sin(), ax.cos()], dim=1).float()"
        "  # y first\n",
    ),
    "07_flexible_patch_size": (
        "my_resize_matrix",
        "def my_resize_matrix(old_size, new_size):\n"
        "    n = old_size[0] * old_size[1]\n"
        "    basis = torch.eye(n).reshape(n, 1, *old_size)\n"
        "    resized = F.interpolate(basis, size=tuple(new_size), mode='bicubic')  # no antialias\n"
        "    return resized.reshape(n, -1).T\n",
    ),
    "08_putting_it_together": ("quiz", "wrong answer to question 3"),
    "09_any_resolution": (
        "my_naflex_size",
        "def my_naflex_size(height, width, patch_size, max_patches):\n"
        "    # one-shot square-root scale, sides rounded up: over the budget for most shapes\n"
        "    s = (max_patches / ((height / patch_size) * (width / patch_size))) ** 0.5\n"
        "    rows = max(1, int(np.ceil(height * s / patch_size)))\n"
        "    cols = max(1, int(np.ceil(width * s / patch_size)))\n"
        "    return rows * patch_size, cols * patch_size\n",
    ),
    "10_positions_in_the_wild": (
        "my_mrope_ids",
        "def my_mrope_ids(segments):\n"
        "    # image tokens numbered like text: one id per token, the same on all three axes\n"
        "    sizes = [n if kind == 'text' else n[0] * (n[1] // 2) * (n[2] // 2)\n"
        "             for kind, n in segments]\n"
        "    return torch.arange(sum(sizes)).expand(3, sum(sizes))\n",
    ),
}

# A correct my_sincos_2d that raises torch's UserWarning (meshgrid without `indexing`).
WARNING_ANSWER = (
    "def my_sincos_2d(grid_size, dim):\n"
    "    rows, cols = (grid_size, grid_size) if isinstance(grid_size, int) else grid_size\n"
    "    f = dim // 4\n"
    "    w = 10000.0 ** (-torch.arange(f, dtype=torch.float64) / f)\n"
    "    y, x = torch.meshgrid(torch.arange(rows), torch.arange(cols))  # warns: no indexing\n"
    "    ax, ay = x.reshape(-1, 1) * w, y.reshape(-1, 1) * w\n"
    "    return torch.cat([ax.sin(), ax.cos(), ay.sin(), ay.cos()], dim=1).float()\n"
)


def test_every_assignment_has_a_typical_mistake():
    missing = sorted(set(ASSIGNMENTS) - set(MISTAKES) - NO_MISTAKE)
    assert not missing, f"add a typical mistake to MISTAKES for {missing}"
    assert not set(MISTAKES) & NO_MISTAKE
    assert len(ASSIGNMENTS) >= 8, ASSIGNMENTS


# --- running nbgrader -----------------------------------------------------------------------------


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("JUPYTER_CONFIG_DIR", None)
    env.update(extra)
    return env


def nbgrader_cli(*args: str, cwd: Path, timeout: float = 900, **env: str) -> str:
    """Run ``nbgrader ARGS`` in ``cwd``; fail the test with its log if it exits non-zero."""
    cmd = [str(BIN / "nbgrader"), *args]
    done = subprocess.run(
        cmd, cwd=cwd, env=_env(**env), capture_output=True, text=True, timeout=timeout
    )
    log = done.stdout + done.stderr
    if done.returncode != 0 or "| ERROR]" in log:
        pytest.fail(f"`nbgrader {' '.join(args)}` failed (exit {done.returncode}):\n{log[-6000:]}")
    return log


def _answer_cells(nb) -> dict[str, nbformat.NotebookNode]:
    return {
        c.metadata["nbgrader"]["grade_id"]: c
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }


def _quiz_cell(nb):
    """The quiz's answer cell: the ordinary cell just before the quiz's test cell."""
    for i, c in enumerate(nb.cells):
        if c.metadata.get("nbgrader", {}).get("grade_id") == "test-quiz":
            return nb.cells[i - 1]
    return None


def _without_markers(source: str) -> str:
    return "\n".join(
        line for line in source.split("\n") if line.strip() not in (BEGIN_SOLUTION, END_SOLUTION)
    )


def submission(course: Path, name: str, student: str) -> nbformat.NotebookNode:
    """What ``student`` hands in for assignment ``name``, made from the released copy."""
    released = nbformat.read(course / "release" / name / f"{name}.ipynb", as_version=4)
    if student == "stub":
        return released
    source = nbformat.read(course / "source" / name / f"{name}.ipynb", as_version=4)
    reference = {k: _without_markers(c.source) for k, c in _answer_cells(source).items()}
    answers = _answer_cells(released)
    assert set(answers) == set(reference)
    for grade_id, cell in answers.items():
        cell.source = reference[grade_id]
    key = quiz_key()
    quiz = _quiz_cell(released)
    if quiz is not None:
        var = quiz.source.split("=")[0].strip()
        quiz.source = f"{var} = {key!r}"
    if student == "mistake":
        what, wrong = MISTAKES[name]
        if what == "quiz":
            assert quiz is not None, f"{name} has no quiz to get wrong"
            bad = dict(key)
            bad[3] = next(letter for letter in "abcd" if letter != key[3])
            quiz.source = f"{var} = {bad!r}"
        else:
            assert what in answers, f"{name}: no exercise `{what}` (answers: {sorted(answers)})"
            answers[what].source = wrong
    if student == "warning":
        answers["my_sincos_2d"].source = WARNING_ANSWER
    return released


def _students(name: str) -> tuple[str, ...]:
    return STUDENTS if name not in NO_MISTAKE else ("stub", "solution")


def _put_submission(course: Path, name: str, student: str, nb) -> None:
    """Where `nbgrader collect` leaves a submission: submitted/STUDENT/ASSIGNMENT/."""
    folder = course / "submitted" / student / name
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{name}.ipynb")
    (folder / "timestamp.txt").write_text("2026-12-01 12:00:00.000000 UTC\n")


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """The course directory: released, generated, and every submission in place."""
    top = tmp_path_factory.mktemp("class")
    course, exchange = top / "course", top / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)  # nbgrader wants an exchange every user can write to
    subprocess.run(
        [sys.executable, "-m", "vitlearn", "release-nbgrader", str(course)],
        cwd=top,
        env=_env(),
        check=True,
        capture_output=True,
        text=True,
    )
    (course / "nbgrader_config.py").open("a").write(f"\nc.Exchange.root = {str(exchange)!r}\n")

    from nbgrader.nbgraderformat import read as nbgrader_read

    for name in ASSIGNMENTS:  # nbgrader's own validator on the source notebooks
        with open(course / "source" / name / f"{name}.ipynb") as f:
            nbgrader_read(f, as_version=4)

    nbgrader_cli("generate_assignment", "*", cwd=course)
    assert sorted(p.name for p in (course / "release").iterdir()) == ASSIGNMENTS

    # One real exchange round trip, as a class does it (the students' side runs in their home).
    name, student = ROUND_TRIP
    home = top / "home" / student
    home.mkdir(parents=True)
    nbgrader_cli("release_assignment", name, cwd=course)
    ex = f"--Exchange.root={exchange}"
    nbgrader_cli("fetch_assignment", name, "--course=vitlearn", ex, cwd=home)
    fetched = home / name / f"{name}.ipynb"
    nbformat.write(submission(course, name, student), fetched)
    nbgrader_cli("submit", name, "--course=vitlearn", f"--student={student}", ex, cwd=home)
    nbgrader_cli("collect", name, cwd=course)
    assert (course / "submitted" / student / name / f"{name}.ipynb").is_file()

    for name in ASSIGNMENTS:
        for student in _students(name):
            if (name, student) != ROUND_TRIP:
                _put_submission(course, name, student, submission(course, name, student))
    _put_submission(
        course,
        "04_position_embeddings",
        "warning",
        submission(course, "04_position_embeddings", "warning"),
    )
    return course


# --- the students' copy ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_released_copy_hides_solutions_and_hidden_tests(course, name):
    released = nbformat.read(course / "release" / name / f"{name}.ipynb", as_version=4)
    nbformat.validate(released)
    source = nbformat.read(course / "source" / name / f"{name}.ipynb", as_version=4)
    text = "\n".join(c.source for c in released.cells)
    assert (
        "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "assert passed" not in text
    )
    for grade_id, cell in _answer_cells(released).items():
        # the student gets the stub back: the signature and docstring, then nbgrader's raise
        ref = _answer_cells(source)[grade_id].source
        head = ref.split(BEGIN_SOLUTION)[0]
        assert cell.source.startswith(head.rstrip(" ")), (grade_id, cell.source)
        assert cell.source.rstrip().endswith("raise NotImplementedError()")
        assert cell.metadata.get("deletable") is False and "editable" not in cell.metadata
    for cell in released.cells:
        meta = cell.metadata.get("nbgrader")
        if meta and meta["locked"]:
            assert cell.metadata.get("editable") is False, cell.source[:80]
    if _quiz_cell(released) is not None:
        assert "nbgrader" not in _quiz_cell(released).metadata  # the students' answers: editable
        assert "quiz_credit" not in text


# --- autograde ------------------------------------------------------------------------------------


def _scores(course: Path, name: str, student: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(name, name, student)
        return {g.name: g.score for g in nb.grades}


def _max_scores(course: Path, name: str) -> dict[str, float]:
    source = nbformat.read(course / "source" / name / f"{name}.ipynb", as_version=4)
    return {
        c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"])
        for c in source.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    }


def _stream(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


TIMES: dict[str, float] = {}


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_autograde(course, name):
    t0 = time.perf_counter()
    nbgrader_cli("autograde", name, cwd=course)
    TIMES[name] = time.perf_counter() - t0
    graded = sorted(p.parent.name for p in course.glob(f"autograded/*/{name}"))
    print(f"{name}: autograded {len(graded)} submissions in {TIMES[name]:.1f} s")

    full = _max_scores(course, name)
    assert full and all(p > 0 for p in full.values())
    assert _scores(course, name, "stub") == {k: 0.0 for k in full}
    assert _scores(course, name, "solution") == full

    assert len(graded) == len(_students(name)) + (name == "04_position_embeddings")
    if name in NO_MISTAKE:
        return
    what, _ = MISTAKES[name]
    got = _scores(course, name, "mistake")
    wrong = "test-quiz" if what == "quiz" else f"test-{what}"
    expected = dict(full)
    questions = len(quiz_key())
    # the quiz: all right but one (question 3); any other exercise: no point
    expected[wrong] = full[wrong] * ((questions - 1) / questions if what == "quiz" else 0.0)
    assert got == pytest.approx(expected), got

    if name == "04_position_embeddings":
        assert _scores(course, name, "warning") == full  # a warning does not cost the point
        nb = nbformat.read(course / "autograded" / "warning" / name / f"{name}.ipynb", 4)
        cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))
        assert "✓" in _stream(cell)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_students_copy_runs_top_to_bottom(course, name):
    """The autograded stub: no error but the hidden asserts; every checker says "not done yet"."""
    path = course / "autograded" / "stub" / name / f"{name}.ipynb"
    if not path.exists():
        pytest.fail(f"{path} is missing: test_autograde[{name}] must run first")
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            assert _stream(cell).count("not done yet") == 1, (i, _stream(cell))
            assert "✓" not in _stream(cell)
            if meta["grade_id"] == "test-quiz":
                assert not errors, (i, errors)  # the quiz's credit is a number: 0.0
            else:
                assert [e.ename for e in errors] == ["AssertionError"], (i, errors)
                assert "no points yet" in errors[0].evalue
        else:
            assert not errors, (
                f"{name} cell {i} stops with {errors[0].ename}: {errors[0].evalue}\n{cell.source}"
            )


# --- feedback -------------------------------------------------------------------------------------


def test_feedback_shows_the_checkers_messages(course):
    missing = [n for n in ASSIGNMENTS if not (course / "autograded" / "stub" / n).exists()]
    if missing:
        pytest.fail(f"autograde did not run first for {missing}")
    nbgrader_cli("generate_feedback", "*", cwd=course)
    for name in ASSIGNMENTS:
        for student in _students(name):
            html = (course / "feedback" / student / name / f"{name}.html").read_text()
            expected = {"stub": "not done yet", "solution": "✓", "mistake": "not quite"}[student]
            if student == "mistake" and MISTAKES[name][0] == "quiz":
                expected = f"{len(quiz_key()) - 1} / {len(quiz_key())} right"  # all but question 3
            assert expected in html, f"{student}/{name}: feedback lacks {expected!r}"
    html = (course / "feedback" / "mistake" / "01_patches" / "01_patches.html").read_text()
    assert "column" in html  # check_patchify names the column-major mistake

    # release it through the exchange; the round-trip student fetches it into their folder
    # (only submissions that came through the exchange can go back through it: the others were
    # put into submitted/ by hand, without the secret that `submit` gives each submission)
    name, student = ROUND_TRIP
    nbgrader_cli("release_feedback", name, f"--student={student}", cwd=course)
    exchange = re.search(r"c\.Exchange\.root = '(.*)'", (course / "nbgrader_config.py").read_text())
    home = course.parent / "home" / student
    nbgrader_cli(
        "fetch_feedback",
        name,
        "--course=vitlearn",
        f"--student={student}",
        f"--Exchange.root={exchange.group(1)}",
        cwd=home,
    )
    fetched = list((home / name / "feedback").glob(f"*/{name}.html"))
    assert len(fetched) == 1 and "✓" in fetched[0].read_text()


def test_export_writes_every_score(course):
    """``nbgrader export``: grades.csv, one row per student and assignment, gradebook's scores."""
    import csv

    missing = [n for n in ASSIGNMENTS if not (course / "autograded" / "stub" / n).exists()]
    if missing:
        pytest.fail(f"autograde did not run first for {missing}")
    nbgrader_cli("export", cwd=course)
    rows = list(csv.DictReader((course / "grades.csv").open()))
    got = {(r["assignment"], r["student_id"]): float(r["raw_score"]) for r in rows}
    for name in ASSIGNMENTS:
        full = sum(_max_scores(course, name).values())
        assert got[(name, "stub")] == 0.0
        assert got[(name, "solution")] == full
        if name in NO_MISTAKE:
            continue
        assert got[(name, "mistake")] == pytest.approx(
            sum(_scores(course, name, "mistake").values())
        )
        assert got[(name, "mistake")] < full


def test_report_times(course):
    """Print what autograding took, per assignment (the submissions of ``_students``; 04 has one
    more)."""
    if not TIMES:
        pytest.skip("run together with test_autograde")
    lines = [f"  {n}: {t:6.1f} s" for n, t in TIMES.items()]
    print(
        "autograde time per assignment:\n"
        + "\n".join(lines)
        + f"\n  total {sum(TIMES.values()):.0f} s"
    )
    print(json.dumps({n: round(t, 1) for n, t in TIMES.items()}))
