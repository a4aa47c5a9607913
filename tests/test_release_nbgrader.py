"""``python -m vitlearn release-nbgrader``: the nbgrader edition, checked without nbgrader.

First the conversion on made-up notebooks (every rule of the convention, and each error it
names); then the command on the real course. What nbgrader itself makes of the result (the
students' copy, autograded scores, feedback) is tested with the real nbgrader in
``tests/classroom/test_nbgrader.py`` (``pytest -m nbgrader``).
"""

from __future__ import annotations

import ast
import hashlib
import re
import sys
from pathlib import Path

import nbformat
import pytest

from vitlearn import exercises
from vitlearn.editions import cli
from vitlearn.editions.nbgrader import (
    BEGIN_HIDDEN,
    BEGIN_SOLUTION,
    CONFIG,
    END_HIDDEN,
    END_SOLUTION,
    WARNING_PATTERN,
    ConventionError,
    graded_check,
    merge_exercise,
    quiz_key,
    to_nbgrader,
)
from vitlearn.editions.student import NOTEBOOK_GLOB
from vitlearn.exercises import score_quiz

REPO = Path(__file__).resolve().parents[1]
COURSE = sorted((REPO / "notebooks").glob(NOTEBOOK_GLOB))


def _nbgrader_clear(source: str) -> str:
    """What nbgrader's ClearSolutions and ClearHiddenTests leave of a cell (its default stubs).

    A stand-in for the tests here, which run without nbgrader; the real nbgrader does this in
    tests/classroom/test_nbgrader.py, whose checks would catch a difference.
    """
    out, skipping = [], False
    for line in source.split("\n"):
        if "BEGIN SOLUTION" in line:
            indent = re.match(r"\s*", line).group(0)
            out += [indent + "# YOUR CODE HERE", indent + "raise NotImplementedError()"]
            skipping = True
        elif "BEGIN HIDDEN TESTS" in line:
            skipping = True
        elif "END SOLUTION" in line or "END HIDDEN TESTS" in line:
            skipping = False
        elif not skipping:
            out.append(line)
    return "\n".join(out)


# --- merging a stub and its solution --------------------------------------------------------------

STUB = '''\
def area(w, h):
    """The area of a w x h rectangle."""
    raise NotImplementedError


def perimeter(w, h):
    """Its perimeter."""
    # your code here
    raise NotImplementedError("write me")'''

SOLVED = '''\
def area(w, h):
    """A shorter docstring that the student never sees."""
    # the product of the sides
    return w * h


def perimeter(w, h):
    s = w + h

    return 2 * s  # twice the half-perimeter
'''


def test_merge_keeps_the_stub_and_marks_only_the_bodies():
    merged, names = merge_exercise(STUB, SOLVED)
    assert names == ("area", "perimeter")
    assert (
        merged
        == '''\
def area(w, h):
    """The area of a w x h rectangle."""
    ### BEGIN SOLUTION
    # the product of the sides
    return w * h
    ### END SOLUTION


def perimeter(w, h):
    """Its perimeter."""
    # your code here
    ### BEGIN SOLUTION
    s = w + h

    return 2 * s  # twice the half-perimeter
    ### END SOLUTION'''
    )
    ns: dict = {}
    exec(merged, ns)  # the teacher's version is the solution
    assert (ns["area"](2, 3), ns["perimeter"](2, 3)) == (6, 10)
    student = _nbgrader_clear(merged)  # the students' version is the stub again
    ns = {}
    exec(student, ns)
    with pytest.raises(NotImplementedError):
        ns["perimeter"](2, 3)
    assert ast.get_docstring(ast.parse(student).body[0]) == "The area of a w x h rectangle."


def test_merge_reindents_a_solution_written_at_another_indent():
    stub = 'def f(x):\n  """Doc."""\n  raise NotImplementedError'
    solved = "def f(x):\n        y = x + 1\n        if y:\n            return y\n        return 0"
    merged, _ = merge_exercise(stub, solved)
    assert merged.split("\n")[2:] == [
        "  ### BEGIN SOLUTION",
        "  y = x + 1",
        "  if y:",
        "      return y",
        "  return 0",
        "  ### END SOLUTION",
    ]


@pytest.mark.parametrize(
    "stub, solved, says",
    [
        ("import torch\n" + STUB, SOLVED, "function definitions only, found `import torch`"),
        (STUB, SOLVED + "\nprint(1)", "function definitions only, found `print(1)`"),
        (STUB, SOLVED.replace("def perimeter", "def around"), "must define the same functions"),
        (
            STUB,
            SOLVED.replace("perimeter(w, h)", "perimeter(h, w)"),
            "takes (h, w) in the solution",
        ),
        (
            STUB.replace("    raise NotImplementedError\n", "    return 0\n", 1),
            SOLVED,
            "must be a docstring",
        ),
        (
            "def area(w, h): raise NotImplementedError",
            SOLVED.split("\n\n\n")[0],
            "on a line of its own",
        ),
        (
            STUB,
            SOLVED.replace("return w * h", 'return "### BEGIN SOLUTION"'),
            "nbgrader reads as its own marker",
        ),
        (STUB, "def area(w, h:\n    pass", "is not valid Python"),
        ("x = 1", "x = 2", "function definitions only"),
        (STUB, STUB, "has no solution body"),
        ("", "", "defines no function"),
    ],
)
def test_merge_names_what_breaks_the_convention(stub, solved, says):
    with pytest.raises(ConventionError) as err:
        merge_exercise(stub, solved, "07_demo.ipynb", 10, 11)
    assert says in str(err.value)
    assert "07_demo.ipynb, cell 1" in str(err.value)  # names the notebook and the cell


def test_graded_check_keeps_the_feedback_visible_and_hides_the_assert():
    cell = graded_check("exercises.check_patchify(my_patchify)", ("my_patchify",), "nb, cell 3")
    lines = cell.split("\n")
    assert "passed = exercises.check_patchify(my_patchify)" in lines
    assert lines[-3:] == [
        BEGIN_HIDDEN,
        'assert passed, "`my_patchify`: no points yet; the checker\'s message above says why"',
        END_HIDDEN,
    ]
    visible = _nbgrader_clear(cell)
    assert "assert" not in visible and visible.strip().endswith(
        "passed = exercises.check_patchify(my_patchify)"
    )
    # the visible part is an assignment: no output value that nbgrader could read as a score
    assert isinstance(ast.parse(visible).body[-1], ast.Assign)
    with pytest.raises(ConventionError, match="must end with the checker's call"):
        graded_check("x = exercises.check_patchify(my_patchify)", ("my_patchify",), "nb, cell 3")


# --- whole notebooks ------------------------------------------------------------------------------


def _nb(*cells: tuple[str, str, str]) -> nbformat.NotebookNode:
    """A notebook from (cell type, tag, source) triples."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for kind, tag, source in cells:
        make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        cell = make(source)
        if tag:
            cell.metadata["tags"] = [tag]
        nb.cells.append(cell)
    return nb


EXERCISE = (
    ("code", "exercise", STUB),
    ("code", "solution", SOLVED),
    ("code", "check", "exercises.check_shapes(area, perimeter)"),
)
QUIZ = ("code", "", 'answers = {1: "", 2: ""}  # your letters\nexercises.check_quiz(answers)')


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _without_markers(source: str) -> str:
    """The teacher's version of a cell: nbgrader's solution markers taken out, the code kept."""
    return "\n".join(
        ln for ln in source.split("\n") if ln.strip() not in (BEGIN_SOLUTION, END_SOLUTION)
    )


def test_notebook_becomes_answer_test_and_locked_cells():
    nb = _nb(("markdown", "", "# Title"), ("code", "", "import torch"), *EXERCISE, QUIZ)
    ids = [c.id for c in nb.cells]
    graded = to_nbgrader(nb, "05_demo.ipynb", points=2.5)
    assert [(g.grade_id, g.label, g.points, g.functions) for g in graded] == [
        ("test-area-perimeter", "area-perimeter", 2.5, ("area", "perimeter")),
        ("test-quiz", "quiz", 2.5, ()),
    ]
    kinds = [
        (
            c.cell_type,
            _meta(c).get("grade_id"),
            _meta(c).get("locked"),
            _meta(c).get("solution"),
            _meta(c).get("grade"),
            _meta(c).get("points"),
        )
        for c in nb.cells
    ]
    assert kinds == [
        ("markdown", f"cell-{ids[0]}", True, False, False, None),
        ("code", f"cell-{ids[1]}", True, False, False, None),
        ("code", "area-perimeter", False, True, False, None),  # the answer: editable
        ("code", "test-area-perimeter", True, False, True, 2.5),
        ("code", "quiz", False, True, False, None),  # the quiz's answers: an answer cell too
        ("code", "test-quiz", True, False, True, 2.5),
    ]
    assert [c.id for c in nb.cells][:5] == [ids[0], ids[1], ids[2], ids[4], ids[5]]
    assert nb.cells[2].metadata["tags"] == ["exercise"] and nb.cells[3].metadata["tags"] == [
        "check"
    ]
    # the quiz's answer cell: the students' dict, then the key in nbgrader's slot
    answer = nb.cells[4].source
    assert answer.startswith('answers = {1: "", 2: ""}  # your letters\n')
    teacher, student = {}, {}
    exec(_without_markers(answer), teacher)  # the teacher's copy sets the key
    assert teacher["answers"] == quiz_key()
    cleared = _nbgrader_clear(answer)
    assert "raise NotImplementedError()" in cleared and repr(quiz_key()) not in cleared
    exec(cleared, student)  # the students' copy runs through nbgrader's raise: Run All goes on
    assert student["answers"] == {1: "", 2: ""}
    quiz_test = nb.cells[5].source
    assert "passed = exercises.check_quiz(answers)" in quiz_test
    assert "2.5 * score_quiz(answers).fraction" in quiz_test
    assert "score_quiz" not in _nbgrader_clear(quiz_test)  # the credit is the hidden part
    nbformat.validate(nb)
    assert all(_meta(c)["schema_version"] == 3 for c in nb.cells if _meta(c))
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", _meta(c)["grade_id"]) for c in nb.cells if _meta(c))


def test_notebook_without_exercises_is_left_alone():
    nb = _nb(("markdown", "", "# Start here"), ("code", "", "x = 1"))
    before = nbformat.writes(nb)
    assert to_nbgrader(nb, "00_start.ipynb") == ()
    assert nbformat.writes(nb) == before


@pytest.mark.parametrize(
    "cells, says",
    [
        ((EXERCISE[0], EXERCISE[2]), "cell 0 (tagged exercise) must be followed by its solution"),
        ((EXERCISE[1],), "cell 0 is tagged solution but does not follow"),
        ((("code", "", "x = 1"), EXERCISE[2]), "cell 1 is tagged check but does not follow"),
        ((*EXERCISE, *EXERCISE), "two exercises define the same function names"),
        ((("code", "", "exercises.check_quiz(answers)"),), "must assign `answers`"),
        ((("markdown", "", "Write ### END SOLUTION here"),), "reads as its own marker"),
    ],
)
def test_notebook_errors_name_notebook_and_cell(cells, says):
    with pytest.raises(ConventionError) as err:
        to_nbgrader(_nb(*cells), "03_demo.ipynb")
    assert "03_demo.ipynb" in str(err.value) and says in str(err.value)


# --- the quiz: one scorer, for the feedback and for the credit ------------------------------------


def test_quiz_key_is_the_quiz_the_checker_uses(capsys):
    key = quiz_key()
    assert len(key) >= 5 and all(v in "abcd" for v in key.values())
    assert exercises.check_quiz(key) is True  # the key passes the course's own checker
    assert score_quiz(key).all_right
    capsys.readouterr()


def _run_cell(source: str, ns: dict):
    """Run a cell's code in ``ns`` as a kernel does; return its last expression's value."""
    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, "<cell>", "exec"), ns)
    return eval(compile(ast.Expression(last.value), "<cell>", "eval"), ns) if last else None


@pytest.fixture(scope="module")
def quiz_cells():
    """Notebook 08's quiz as the nbgrader edition has it: (answer cell, graded cell, points)."""
    (path,) = [p for p in COURSE if p.name.startswith("08_")]
    nb = nbformat.read(path, as_version=4)
    to_nbgrader(nb, path.name, points=2.0)
    answer = next(c for c in nb.cells if _meta(c).get("grade_id") == "quiz")
    test = next(c for c in nb.cells if _meta(c).get("grade_id") == "test-quiz")
    return answer.source, test.source, 2.0


def _wrong(n: int) -> str:
    return next(o for o in exercises.QUIZ[n].options if o != exercises.QUIZ[n].answer)


@pytest.mark.parametrize(
    "answers",
    [
        "key",
        "key but 3",
        {},
        {1: "", 2: None},
        "not a dict",
        None,
        {"1": " A) ", 2: "C", "x": "a", 99: "a", 4: "z"},
        {1: None, 2: 3},
    ],
)
def test_the_graded_cell_credits_what_score_quiz_scores(quiz_cells, answers, capsys, monkeypatch):
    """The hidden credit is ``points * score_quiz(answers).fraction``, read from vitlearn.exercises
    when nbgrader grades (the editions package is not even importable here), and check_quiz's
    count above it agrees."""
    answer, test, points = quiz_cells
    key = quiz_key()
    if answers == "key":
        answers = dict(key)
    elif answers == "key but 3":
        answers = {**key, 3: _wrong(3)}
    for name in [m for m in sys.modules if m.startswith("vitlearn.editions")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "vitlearn.editions", None)  # an import of it would fail
    ns = {"exercises": exercises}
    _run_cell(_nbgrader_clear(answer), ns)  # the students' copy of the answer cell, then theirs
    ns["my_answers"] = answers
    credit = _run_cell(test, ns)  # the graded cell as autograde runs it: hidden part back in
    score = score_quiz(answers)
    assert isinstance(credit, float) and credit == pytest.approx(points * score.fraction)
    assert ns["passed"] is score.all_right
    out = capsys.readouterr().out
    if score.started:
        assert f"{score.right} / {score.total} right." in out
    assert "from vitlearn.exercises import score_quiz" in test


# --- the command ----------------------------------------------------------------------------------


def _make_course(root: Path) -> Path:
    (root / "notebooks").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    badge = (
        "[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://x)"
    )
    one = _nb(
        ("markdown", "", f"# One\n\n{badge}\n\nText."), ("code", "", "import math"), *EXERCISE
    )
    none = _nb(("markdown", "", "# Zero"), ("code", "", "x = 1"))
    nbformat.write(one, root / "notebooks" / "01_one.ipynb")
    nbformat.write(none, root / "notebooks" / "00_zero.ipynb")
    return root / "notebooks"


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_command_writes_the_course_directory(tmp_path, capsys):
    src = _make_course(tmp_path / "repo")
    before = _digest(src)
    out = tmp_path / "grading"
    assert cli.main(["release-nbgrader", str(out), "--notebooks", str(src), "--points", "3"]) == 0
    printed = capsys.readouterr().out
    assert "wrote 1 assignments" in printed and "01_one: area-perimeter (3 pt)" in printed
    assert "no exercises, not an assignment: 00_zero" in printed
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "nbgrader_config.py",
        "source/01_one/01_one.ipynb",
    ]
    nb = nbformat.read(out / "source/01_one/01_one.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.cells[0].source == "# One\n\nText."  # the Colab badge is gone
    assert set(nb.metadata) == {"kernelspec"}
    assert [_meta(c)["points"] for c in nb.cells if _meta(c).get("grade")] == [3.0]
    assert _digest(src) == before  # the instructor notebooks are untouched

    config = (out / "nbgrader_config.py").read_text()
    assert config == CONFIG.format(course_id="vitlearn", warning_pattern=WARNING_PATTERN)
    ns = {"get_config": lambda: _Config()}
    exec(config, ns)  # it is valid Python with the settings it names
    c = ns["c"]
    assert (c.CourseDirectory.course_id, c.Execute.timeout) == ("vitlearn", 600)
    assert re.search(c.IgnorePattern.pattern, "/x/y.py:12: UserWarning: careful\n  y = 1\n")
    assert not re.search(c.IgnorePattern.pattern, "Traceback (most recent call last):")

    # a second release keeps the teacher's config and rewrites the notebooks
    (out / "nbgrader_config.py").write_text("c = get_config()\n# mine\n")
    assert cli.main(["release-nbgrader", str(out), "--notebooks", str(src)]) == 0
    assert "kept the existing" in capsys.readouterr().out
    assert (out / "nbgrader_config.py").read_text() == "c = get_config()\n# mine\n"


class _Config:
    """Enough of traitlets' Config for ``c.Section.option = value``."""

    def __getattr__(self, name):
        section = type("Section", (), {})()
        setattr(self, name, section)
        return section


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--points", "0"], "--points must be a positive number, got 0.0"),
        (["--points", "nan"], "--points must be a positive number"),
        (["--course-id", "my course"], "--course-id may hold letters"),
    ],
)
def test_command_refuses_bad_options(tmp_path, capsys, argv, says):
    src = _make_course(tmp_path / "repo")
    assert (
        cli.main(["release-nbgrader", str(tmp_path / "out"), "--notebooks", str(src), *argv]) == 1
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err
    assert not (tmp_path / "out").exists()


def test_command_refuses_the_notebooks_folder_and_a_broken_notebook(tmp_path, capsys):
    src = _make_course(tmp_path / "repo")
    assert cli.main(["release-nbgrader", str(src / "grading"), "--notebooks", str(src)]) == 1
    assert "refusing to write the nbgrader course into" in capsys.readouterr().err
    nb = nbformat.read(src / "01_one.ipynb", as_version=4)
    nb.cells[2].source = "import os\n" + nb.cells[2].source
    nbformat.write(nb, src / "02_broken.ipynb")
    out = tmp_path / "out"
    assert cli.main(["release-nbgrader", str(out), "--notebooks", str(src)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "02_broken.ipynb, cell 2: an exercise cell may hold function definitions only" in err
    assert not out.exists()  # nothing written: every notebook is converted first


def test_one_line_error_without_nbconvert(tmp_path, capsys, monkeypatch):
    src = _make_course(tmp_path / "repo")
    monkeypatch.setitem(sys.modules, "nbconvert.preprocessors", None)
    assert cli.main(["release-nbgrader", str(tmp_path / "out"), "--notebooks", str(src)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "release-nbgrader needs nbconvert" in err


# --- the real course ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    out = tmp_path_factory.mktemp("grading")
    assert cli.main(["release-nbgrader", str(out)]) == 0
    return out


def _tags(cell) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


@pytest.mark.parametrize("path", COURSE, ids=[p.stem for p in COURSE])
def test_course_notebook(released, path):
    original = nbformat.read(path, as_version=4)
    target = released / "source" / path.stem / path.name
    exercises_in = sum("exercise" in _tags(c) for c in original.cells)
    if not exercises_in:
        assert not target.exists(), f"{path.name} has no exercise but became an assignment"
        return
    nb = nbformat.read(target, as_version=4)
    nbformat.validate(nb)
    answers = [c for c in nb.cells if _meta(c).get("solution")]
    tests = [c for c in nb.cells if _meta(c).get("grade")]
    quiz = [c for c in tests if _meta(c)["grade_id"] == "test-quiz"]
    assert len(answers) == exercises_in + len(quiz) and len(tests) == exercises_in + len(quiz)
    assert all(_meta(c)["points"] == 1.0 for c in tests)
    # every other cell is locked: no cell is left untracked by nbgrader, the quiz's answers
    # included (an answer cell)
    assert all(_meta(c) for c in nb.cells)
    assert [_meta(c)["grade_id"] for c in answers if not _tags(c) & {"exercise"}] == [
        "quiz" for _ in quiz
    ]
    answers = [c for c in answers if _meta(c)["grade_id"] != "quiz"]
    # each answer cell runs as the notebook's solution and clears back to the notebook's stub
    stubs = [c.source for c in original.cells if "exercise" in _tags(c)]
    solutions = [c.source for c in original.cells if "solution" in _tags(c)]
    for answer, stub, solution in zip(answers, stubs, solutions, strict=True):
        assert BEGIN_SOLUTION in answer.source and END_SOLUTION in answer.source
        merged = ast.parse(answer.source)
        for fn, ref in zip(merged.body, ast.parse(solution).body, strict=True):
            skip = 1 if ast.get_docstring(ref) is not None else 0
            assert [ast.dump(s) for s in fn.body[1:]] == [ast.dump(s) for s in ref.body[skip:]]
        cleared = ast.parse(_nbgrader_clear(answer.source))
        for fn, ref in zip(cleared.body, ast.parse(stub).body, strict=True):
            assert (fn.name, ast.get_docstring(fn)) == (ref.name, ast.get_docstring(ref))
            assert ast.unparse(fn.args) == ast.unparse(ref.args)
    # each test cell runs the notebook's own check line
    checks = [c.source.strip() for c in original.cells if "check" in _tags(c)]
    for test, check in zip([t for t in tests if t not in quiz], checks, strict=True):
        assert f"passed = {check}" in test.source
    assert "colab.research.google.com" not in nb.cells[0].source
