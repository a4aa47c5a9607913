"""The nbgrader edition, graded by the real nbgrader (``pytest -m nbgrader``; not in plain pytest).

Needs the grading environment (``requirements-grading.txt``: nbgrader and its pinned Jupyter
stack). One module-scoped course directory goes through a teacher's whole cycle, with nbgrader's
own command line, as the teachers' guide (docs/SYLLABUS.md, "Grading with nbgrader") tells it:

1. ``python -m vitlearn release-nbgrader COURSE``, then ``nbgrader generate_assignment`` for every
   assignment (the source notebooks must also pass nbgrader's metadata validator);
2. one exchange round trip (release_assignment, fetch_assignment and submit as a student,
   collect) for notebook 01; the other submissions are put straight into ``submitted/``, which
   is where ``collect`` leaves them;
3. ``nbgrader autograde`` per assignment, scores read from nbgrader's gradebook cell by cell. About
   one run of the course in all (CI executes the course as few times as it can):

   - ``solution`` for every assignment: each answer cell holds the notebook's own solution, the
     quiz's its key. Every graded cell must give all its points: the proof that no correct answer
     loses a point under nbgrader (a stray line on stderr would cost it, for one);
   - ``stub`` (the released copy, untouched) and ``mistake`` (the solution with the typical
     mistake of ``submissions.MISTAKES``) for 01, the shortest assignment: the stubs score 0, the
     mistake loses that exercise's point only;
   - ``mistake`` for 08 too: the quiz's letters typed into the students' dict, one of them wrong,
     nbgrader's answer slot left alone: partial credit, all but one question's share;
   - ``warning`` for 04: a correct answer with ``torch.meshgrid`` without ``indexing`` (a
     UserWarning on stderr) keeps its point (the IgnorePattern setting that release-nbgrader
     writes into nbgrader_config.py).

   Every other assignment's typical mistake is graded through the same cells without nbgrader
   (``test_mistakes.py``, plain pytest);
4. ``nbgrader generate_feedback``: the feedback holds the checkers' own messages; and
   release_feedback / fetch_feedback for the round-trip student; ``nbgrader export``.

The students' copy of every assignment is compared, cell by cell, with the student edition: the
same code, but for nbgrader's stubs and graded cells, so it runs top to bottom as that edition
does (``tests/test_release.py`` executes every student notebook). The stub submission of 01 shows
it under nbgrader itself: no error output but the hidden test's AssertionError, and every checker
says "not done yet".
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from submissions import (
    AUTOGRADE_SECONDS,
    MISTAKES,
    WARNING_ANSWER,
    quiz_with_one_mistake,
    without_markers,
)

from vitlearn.editions.nbgrader import BEGIN_HIDDEN, BEGIN_SOLUTION, quiz_key, to_nbgrader
from vitlearn.editions.student import NOTEBOOK_GLOB

pytestmark = pytest.mark.nbgrader

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
BIN = Path(sys.executable).parent  # nbgrader runs `alembic` from PATH: the venv's bin first
# Who hands in what: every assignment its solution, and these assignments also (see above).
EXTRA: dict[str, tuple[str, ...]] = {
    "01_patches": ("stub", "mistake"),
    "04_position_embeddings": ("warning",),
    "08_putting_it_together": ("mistake",),
}
ROUND_TRIP = ("01_patches", "solution")  # the submission that goes through the exchange


def _assignments() -> list[str]:
    names = []
    for path in sorted(NOTEBOOKS.glob(NOTEBOOK_GLOB)):
        if to_nbgrader(nbformat.read(path, as_version=4), path.name):
            names.append(path.stem)
    return names


ASSIGNMENTS = _assignments()


def _students(name: str) -> tuple[str, ...]:
    return ("solution", *EXTRA.get(name, ()))


def test_the_extra_submissions_name_assignments_and_mistakes_that_exist():
    assert set(EXTRA) <= set(ASSIGNMENTS), sorted(set(EXTRA) - set(ASSIGNMENTS))
    assert all(name in MISTAKES for name, extra in EXTRA.items() if "mistake" in extra)
    assert MISTAKES["08_putting_it_together"][0] == "quiz"  # 08's mistake is the quiz's


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


def _type_letters(dict_source: str, letters: dict[int, str]) -> str:
    """The quiz's dict with ``letters`` typed between its empty quotes, as a student does."""
    for n, letter in letters.items():
        blank = f'    {n}: "",'
        assert dict_source.count(blank) == 1, f"the quiz's dict has no line {blank!r}"
        dict_source = dict_source.replace(blank, f'    {n}: "{letter}",')
    return dict_source


def submission(course: Path, name: str, student: str) -> nbformat.NotebookNode:
    """What ``student`` hands in for assignment ``name``, made from the released copy."""
    released = nbformat.read(course / "release" / name / f"{name}.ipynb", as_version=4)
    if student == "stub":
        return released
    typed = {k: c.source for k, c in _answer_cells(released).items()}  # the copy as fetched
    source = nbformat.read(course / "source" / name / f"{name}.ipynb", as_version=4)
    reference = {k: without_markers(c.source) for k, c in _answer_cells(source).items()}
    answers = _answer_cells(released)
    assert set(answers) == set(reference)
    for grade_id, cell in answers.items():
        cell.source = reference[grade_id]  # the teacher's copy: the solutions, the quiz's key
    if student == "mistake":
        what, wrong = MISTAKES[name]
        if what == "quiz":  # letters typed into the fetched dict, nbgrader's slot left alone
            assert "quiz" in answers, f"{name} has no quiz to get wrong"
            answers["quiz"].source = _type_letters(typed["quiz"], quiz_with_one_mistake(quiz_key()))
        else:
            assert what in answers, f"{name}: no exercise `{what}` (answers: {sorted(answers)})"
            answers[what].source = wrong
    if student == "warning":
        answers["my_sincos_2d"].source = WARNING_ANSWER
    return released


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
        if grade_id == "quiz":  # nbgrader's raise sits in the slot, inside try/except
            assert "\n    raise NotImplementedError()\n" in cell.source
            assert cell.source.rstrip().endswith("except NotImplementedError:\n    pass")
        else:
            assert cell.source.rstrip().endswith("raise NotImplementedError()")
        assert cell.metadata.get("deletable") is False and "editable" not in cell.metadata
    for cell in released.cells:
        meta = cell.metadata.get("nbgrader")
        if meta and meta["locked"]:
            assert cell.metadata.get("editable") is False, cell.source[:80]
    quiz = _answer_cells(released).get("quiz")
    if quiz is not None:  # the students' dict, nbgrader's slot after it: runs, sets no key
        assert repr(quiz_key()) not in text and "score_quiz" not in text
        ns: dict = {}
        exec(quiz.source, ns)
        var = quiz.source.split("=")[0].strip()
        assert ns[var] and not any(ns[var].values()), ns[var]


@pytest.fixture(scope="module")
def student_edition(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("student")
    subprocess.run(
        [sys.executable, "-m", "vitlearn", "release-student", str(out)],
        env=_env(),
        check=True,
        capture_output=True,
        text=True,
    )
    return out / "notebooks"


def _same_stub(released: str, stub: str) -> bool:
    """Whether nbgrader's answer cell and the course's stub define the same functions, each with
    the same signature and docstring, each only raising NotImplementedError."""
    ours, theirs = ast.parse(released).body, ast.parse(stub).body
    if len(ours) != len(theirs):
        return False
    for a, b in zip(ours, theirs, strict=True):
        if not (isinstance(a, ast.FunctionDef) and isinstance(b, ast.FunctionDef)):
            return False
        if (a.name, ast.unparse(a.args), ast.get_docstring(a)) != (
            b.name,
            ast.unparse(b.args),
            ast.get_docstring(b),
        ):
            return False
        for fn in (a, b):
            rest = fn.body[1:] if ast.get_docstring(fn) is not None else fn.body
            if len(rest) != 1 or not isinstance(rest[0], ast.Raise):
                return False
            exc = rest[0].exc.func if isinstance(rest[0].exc, ast.Call) else rest[0].exc
            if getattr(exc, "id", None) != "NotImplementedError":
                return False
    return True


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_released_copy_is_the_student_edition_with_nbgrader_cells(course, student_edition, name):
    """Code cell for code cell, the students' copy is the student edition: the same code in every
    locked cell, nbgrader's stub for each exercise's stub, and the same check in each graded cell
    (its verdict kept in ``passed``); the quiz's cell split in two, the dict (then nbgrader's slot)
    and the check. So it runs top to bottom as the student edition does."""
    released = nbformat.read(course / "release" / name / f"{name}.ipynb", as_version=4)
    edition = nbformat.read(student_edition / f"{name}.ipynb", as_version=4)
    ours = [c for c in released.cells if c.cell_type == "code"]
    theirs = iter([c for c in edition.cells if c.cell_type == "code"])
    quiz_check = None
    for cell in ours:
        meta = cell.metadata["nbgrader"]
        if meta["grade_id"] == "test-quiz":  # the second half of the edition's quiz cell
            assert f"passed = {quiz_check}" in cell.source.split("\n"), cell.source
            continue
        edited = next(theirs)
        if meta["grade_id"] == "quiz":
            dict_source, _, quiz_check = edited.source.rstrip().rpartition("\n")
            assert cell.source.startswith(dict_source + "\n"), (cell.source, dict_source)
        elif meta["solution"]:
            assert _same_stub(cell.source, edited.source), (cell.source, edited.source)
        elif meta["grade"]:
            assert f"passed = {edited.source.strip()}" in cell.source.split("\n")
            assert BEGIN_HIDDEN not in cell.source
        else:
            assert cell.source == edited.source, (cell.source[:200], edited.source[:200])
    assert next(theirs, None) is None, "the student edition has code cells the copy lacks"


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


TIMES = AUTOGRADE_SECONDS


def _graded(course: Path, name: str) -> list[str]:
    return sorted(p.parent.name for p in course.glob(f"autograded/*/{name}"))


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_autograde(course, name):
    t0 = time.perf_counter()
    nbgrader_cli("autograde", name, cwd=course)
    TIMES[name] = time.perf_counter() - t0
    graded = _graded(course, name)
    print(f"{name}: autograded {', '.join(graded)} in {TIMES[name]:.1f} s")
    assert graded == sorted(_students(name))

    full = _max_scores(course, name)
    assert full and all(p > 0 for p in full.values())
    assert _scores(course, name, "solution") == full  # every graded cell gives its points
    if "stub" in graded:
        assert _scores(course, name, "stub") == {k: 0.0 for k in full}
    if "mistake" in graded:
        what, _ = MISTAKES[name]
        got = _scores(course, name, "mistake")
        wrong = "test-quiz" if what == "quiz" else f"test-{what}"
        expected = dict(full)
        questions = len(quiz_key())
        # the quiz: all right but one; any other exercise: no point
        expected[wrong] = full[wrong] * ((questions - 1) / questions if what == "quiz" else 0.0)
        assert got == pytest.approx(expected), got
    if "warning" in graded:
        assert _scores(course, name, "warning") == full  # a warning does not cost the point
        nb = nbformat.read(course / "autograded" / "warning" / name / f"{name}.ipynb", 4)
        cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))
        assert "✓" in _stream(cell)


STUBS = [name for name in ASSIGNMENTS if "stub" in _students(name)]


@pytest.mark.parametrize("name", STUBS)
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


def test_the_stubs_cover_an_assignment():
    assert STUBS, "no assignment has a stub submission: nothing shows the copy runs under nbgrader"


# --- feedback -------------------------------------------------------------------------------------


def _autograded_first(course: Path) -> None:
    missing = [n for n in ASSIGNMENTS if _graded(course, n) != sorted(_students(n))]
    if missing:
        pytest.fail(f"autograde did not run first for {missing}")


def test_feedback_shows_the_checkers_messages(course):
    _autograded_first(course)
    nbgrader_cli("generate_feedback", "*", cwd=course)
    for name in ASSIGNMENTS:
        for student in _students(name):
            html = (course / "feedback" / student / name / f"{name}.html").read_text()
            expected = {
                "stub": "not done yet",
                "solution": "✓",
                "mistake": "not quite",
                "warning": "✓",
            }[student]
            if student == "mistake" and MISTAKES[name][0] == "quiz":
                expected = f"{len(quiz_key()) - 1} / {len(quiz_key())} right"  # all but question 3
            assert expected in html, f"{student}/{name}: feedback lacks {expected!r}"
    html = (course / "feedback" / "mistake" / "01_patches" / "01_patches.html").read_text()
    assert "bug, still there" in html  # check_patchify names patchify_fast's bug

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

    _autograded_first(course)
    nbgrader_cli("export", cwd=course)
    rows = list(csv.DictReader((course / "grades.csv").open()))
    got = {(r["assignment"], r["student_id"]): float(r["raw_score"]) for r in rows}
    for name in ASSIGNMENTS:
        full = sum(_max_scores(course, name).values())
        for student in _students(name):
            score = got[(name, student)]
            assert score == pytest.approx(sum(_scores(course, name, student).values()))
            expected = {"stub": 0.0, "solution": full, "warning": full}.get(student)
            if expected is None:  # the mistake: something lost, not everything
                assert 0.0 <= score < full, (name, student, score)
            else:
                assert score == expected, (name, student, score)
