"""``python -m vitlearn release-nbgrader OUTDIR``: the course as an nbgrader course, for grading.

A teacher who collects and grades the students' notebooks uses nbgrader. This command writes an
nbgrader course directory from the instructor notebooks::

    OUTDIR/nbgrader_config.py                course id, cell timeout, warnings filter (an
                                             existing file is left as it is)
    OUTDIR/source/NN_topic/NN_topic.ipynb    one assignment per notebook that has exercises

Each notebook is written as nbgrader's *source* version (the teacher's copy, solutions in), from
which ``nbgrader generate_assignment`` makes the students' copy. The course's exercise convention
maps onto nbgrader's cell types like this:

- **exercise** (a stub cell tagged ``exercise``, then its solution tagged ``solution``): one
  "autograded answer" cell. It is the stub, with each function's ``raise NotImplementedError``
  replaced by that function's solution body between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION``. nbgrader swaps the marked region for ``raise NotImplementedError()``, so
  the students get the stub back: the ``def`` line and docstring stay outside the markers.
- **check** (the cell tagged ``check`` that calls ``exercises.check_xxx(fn)``): an "autograder
  tests" cell worth ``points``. Its visible part runs the checker as in the course (friendly
  feedback, never raises), keeping the verdict in ``passed``; its hidden part, which the students'
  copy does not show and ``nbgrader autograde`` puts back, asserts ``passed``. The feedback a
  student gets therefore holds the checker's own message (what was expected, what came, which
  mistake it looks like), then the failed assertion.
- **quiz** (a cell that fills a dict and calls ``exercises.check_quiz`` on it): the dict becomes an
  "autograded answer" cell, as an exercise's stub does, so nbgrader tracks it. The students' dict
  of empty letters stays as it is; after it comes nbgrader's answer slot, ``try:``, the answer key
  between the solution markers, ``except NotImplementedError: pass`` (:func:`quiz_answer_cell`).
  The teacher's copy thus sets the key; the students' copy gets nbgrader's ``raise`` in the slot,
  which the ``except`` catches, so "Run All" goes on. The check becomes a test cell whose hidden
  part outputs the partial credit, ``points`` times the fraction of questions answered right,
  from :func:`vitlearn.exercises.score_quiz`: the scorer that ``check_quiz`` uses too.
- **every other cell** (text, demos, explorers): read-only ("locked"), so editing it cannot
  break the grading (``nbgrader autograde`` restores locked cells from its database anyway).

The Colab badge is taken out of the first cell: a graded copy is fetched and submitted through
nbgrader, not opened from the public repository.

nbconvert is needed by this command only and is imported when it runs; nbgrader itself is not
needed to write the course directory (only to use it).
"""

from __future__ import annotations

import argparse
import ast
import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._command import CommandError
from .student import (
    SOLUTION_TAG,
    clean_notebook,
    course_notebooks,
    import_nbconvert,
    is_within,
    remove_badge,
)

HELP = "write an nbgrader course directory: one autograded assignment per notebook with exercises"

EXERCISE_TAG, CHECK_TAG = "exercise", "check"
DEFAULT_POINTS = 1.0
"""Points per exercise (and for the whole quiz), unless ``--points`` says otherwise."""
DEFAULT_COURSE_ID = "vitlearn"
QUIZ_CHECKER = "check_quiz"
QUIZ_LABEL = "quiz"
"""The ``grade_id`` of the quiz's answer cell (its test cell's is ``test-quiz``)."""

# nbgrader's delimiters (its defaults: ClearSolutions and ClearHiddenTests match them anywhere in
# a line, so they must not appear in the course's own code).
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
_DELIMITERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
NBGRADER_SCHEMA = 3
_GRADE_ID = re.compile(r"[A-Za-z0-9_-]+")  # nbgrader's schema v3 pattern for grade_id

CONFIG = """\
# nbgrader configuration of the course directory written by `python -m vitlearn release-nbgrader`.
# Run nbgrader's commands from this folder. This file is not overwritten by a later release.
c = get_config()  # noqa: F821 (nbgrader provides get_config)

# The exchange (release, fetch, submit, collect) files assignments under this course id.
c.CourseDirectory.course_id = {course_id!r}

# Autograding runs every notebook from the top. nbgrader stops a cell after 30 s by default;
# notebook 05's comparison cell trains three small models (35 s measured on a busy 2-core CPU).
c.Execute.timeout = 600

# nbgrader gives 0 points to a test cell that wrote anything to stderr. A Python warning raised
# by a correct answer (torch.meshgrid without `indexing`, say) must not cost the points: drop
# stderr output that is a warning before the grades are read.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = {warning_pattern!r}
"""

WARNING_PATTERN = r":\d+: \w*Warning: "
"""Matches Python's warning lines (``file.py:12: UserWarning: ...``), for nbgrader's
IgnorePattern."""

_TEST_HEADER = (
    "# Graded cell: when you submit, nbgrader runs it and gives its points if the checker says ✓."
)
_QUIZ_HEADER = (
    "# Graded cell: nbgrader grades the letters in `{var}` (each right answer earns an equal\n"
    "# share of the points). Answers clicked in the quiz widget are not graded."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "outdir",
        metavar="OUTDIR",
        type=Path,
        help="the nbgrader course directory to write: OUTDIR/nbgrader_config.py and "
        "OUTDIR/source/NN_topic/NN_topic.ipynb",
    )
    p.add_argument(
        "--notebooks",
        metavar="DIR",
        type=Path,
        default=None,
        help="the instructor notebooks (default: the repository's notebooks/ folder)",
    )
    p.add_argument(
        "--points",
        type=float,
        default=DEFAULT_POINTS,
        help=f"points for each exercise, and for the whole quiz (default: {DEFAULT_POINTS:g})",
    )
    p.add_argument(
        "--course-id",
        default=DEFAULT_COURSE_ID,
        help=f"course id written into a new nbgrader_config.py (default: {DEFAULT_COURSE_ID})",
    )


def run(args: argparse.Namespace) -> None:
    written = release_nbgrader(
        args.outdir, notebooks=args.notebooks, points=args.points, course_id=args.course_id
    )
    out = Path(args.outdir)
    print(f"wrote {len(written.assignments)} assignments to {out / 'source'}/")
    for a in written.assignments:
        items = ", ".join(f"{g.label} ({g.points:g} pt)" for g in a.graded)
        print(f"  {a.name}: {items}")
    if written.skipped:
        print(f"  no exercises, not an assignment: {', '.join(written.skipped)}")
    verb = "wrote" if written.config_written else "kept the existing"
    print(f"{verb} {out / 'nbgrader_config.py'}")


# --- what a release produces ----------------------------------------------------------------------


@dataclass(frozen=True)
class Graded:
    """One graded item of an assignment: its test cell's ``grade_id``, what it grades, its
    points."""

    grade_id: str
    label: str  # e.g. "fixed_patchify" or "quiz"
    points: float
    functions: tuple[str, ...] = ()  # the functions the student writes (empty for the quiz)
    answer_id: str | None = None  # grade_id of the answer cell: the functions' label, or "quiz"


@dataclass(frozen=True)
class Assignment:
    """One notebook as an nbgrader assignment."""

    name: str  # the notebook's stem: assignment id and notebook id in nbgrader
    path: Path  # OUTDIR/source/<name>/<name>.ipynb
    graded: tuple[Graded, ...]


@dataclass
class Release:
    """What :func:`release_nbgrader` wrote."""

    assignments: list[Assignment] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # notebooks without exercises
    config_written: bool = False


# --- the command ----------------------------------------------------------------------------------


def release_nbgrader(
    outdir: Path | str,
    notebooks: Path | str | None = None,
    points: float = DEFAULT_POINTS,
    course_id: str = DEFAULT_COURSE_ID,
) -> Release:
    """Write the nbgrader course directory of the notebooks in ``notebooks`` into ``outdir``.

    Every notebook is converted before anything is written, so a notebook that breaks the
    exercise convention stops the release with an error naming it and its cell, and leaves
    ``outdir`` untouched. Raises :class:`CommandError` for that, for ``points`` that are not a
    positive number, for an ``outdir`` inside the instructor notebooks folder, and when nbconvert
    is missing.
    """
    if not 0 < points < float("inf"):
        raise CommandError(f"--points must be a positive number, got {points!r}")
    if not _GRADE_ID.fullmatch(course_id):
        raise CommandError(
            f"--course-id may hold letters, digits, '_' and '-' only, got {course_id!r}"
        )
    source, files = course_notebooks(notebooks)
    out = Path(outdir).resolve()
    if is_within(out, source):
        raise CommandError(
            f"refusing to write the nbgrader course into the instructor notebooks folder {source}: "
            "choose another OUTDIR (e.g. grading/)"
        )
    nbformat, preprocessors = import_nbconvert("release-nbgrader")

    converted: list[tuple[str, Any, tuple[Graded, ...]]] = []
    release = Release()
    for path in files:
        nb = nbformat.read(path, as_version=4)
        graded = to_nbgrader(nb, path.name, points)
        if not graded:
            release.skipped.append(path.stem)
            continue
        nb = clean_notebook(nb, preprocessors)
        remove_badge(nb)
        nbformat.validate(nb)
        converted.append((path.stem, nb, graded))

    for name, nb, graded in converted:
        target = out / "source" / name / f"{name}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
        release.assignments.append(Assignment(name, target, graded))
    config = out / "nbgrader_config.py"
    if not config.exists():
        config.write_text(
            CONFIG.format(course_id=course_id, warning_pattern=WARNING_PATTERN), encoding="utf-8"
        )
        release.config_written = True
    return release


# --- one notebook ---------------------------------------------------------------------------------


class ConventionError(CommandError):
    """A notebook does not follow the exercise convention; the message names notebook and cell."""


def _tags(cell: Any) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def _nbgrader_meta(
    grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float | None = None
) -> dict[str, Any]:
    """A cell's nbgrader metadata (schema 3): autograded answer, autograder tests or read-only."""
    meta: dict[str, Any] = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": NBGRADER_SCHEMA,
        "solution": solution,
    }
    if grade:
        meta["points"] = points
    return meta


def to_nbgrader(nb: Any, name: str, points: float = DEFAULT_POINTS) -> tuple[Graded, ...]:
    """Turn ``nb`` (an instructor notebook, modified in place) into an nbgrader source notebook.

    Returns the graded items, in notebook order; an empty tuple (and ``nb`` left as it was) when
    the notebook has no exercise and no quiz. Raises :class:`ConventionError` naming ``name`` and
    the cell when an exercise does not follow the course's convention.
    """
    import nbformat

    cells = nb.cells
    out: list[Any] = []
    graded: list[Graded] = []
    i = 0
    while i < len(cells):
        cell = cells[i]
        tags = _tags(cell)
        where = f"{name}, cell {i}"
        if EXERCISE_TAG in tags:
            if (
                i + 2 >= len(cells)
                or SOLUTION_TAG not in _tags(cells[i + 1])
                or CHECK_TAG not in (_tags(cells[i + 2]))
            ):
                raise ConventionError(
                    f"{where} (tagged {EXERCISE_TAG}) must be followed by its solution cell "
                    f"(tagged {SOLUTION_TAG}) and its check cell (tagged {CHECK_TAG})"
                )
            stub, solution, check = cells[i], cells[i + 1], cells[i + 2]
            merged, functions = merge_exercise(stub.source, solution.source, name, i, i + 1)
            label = "-".join(functions)
            if not _GRADE_ID.fullmatch(label):
                raise ConventionError(
                    f"{where}: nbgrader ids allow letters, digits, '_' and '-' only; rename "
                    f"{label!r}"
                )
            answer = nbformat.v4.new_code_cell(merged)
            answer.id = stub.id
            answer.metadata = {k: v for k, v in stub.metadata.items() if k != "nbgrader"}
            answer.metadata["nbgrader"] = _nbgrader_meta(
                label, grade=False, solution=True, locked=False
            )
            test = nbformat.v4.new_code_cell(
                graded_check(check.source, functions, f"{name}, cell {i + 2}")
            )
            test.id = check.id
            test.metadata = {k: v for k, v in check.metadata.items() if k != "nbgrader"}
            test.metadata["nbgrader"] = _nbgrader_meta(
                f"test-{label}", grade=True, solution=False, locked=True, points=points
            )
            out += [answer, test]
            graded.append(Graded(f"test-{label}", label, points, functions, label))
            i += 3
            continue
        if tags & {SOLUTION_TAG, CHECK_TAG}:
            tag = SOLUTION_TAG if SOLUTION_TAG in tags else CHECK_TAG
            raise ConventionError(
                f"{where} is tagged {tag} but does not follow a cell tagged {EXERCISE_TAG}: "
                "an exercise is three consecutive cells, exercise, solution, check"
            )
        quiz = _quiz_parts(cell, where)
        if quiz is not None:
            answers_src, var, call_src = quiz
            _check_no_delimiters(cell.source, where)
            answer = nbformat.v4.new_code_cell(quiz_answer_cell(answers_src, var))
            answer.id = cell.id
            answer.metadata = {k: v for k, v in cell.metadata.items() if k != "nbgrader"}
            answer.metadata["nbgrader"] = _nbgrader_meta(
                QUIZ_LABEL, grade=False, solution=True, locked=False
            )
            test = nbformat.v4.new_code_cell(graded_quiz(var, call_src, points))
            test.id = _derived_id(cell.id, "grade")
            test.metadata = {
                "nbgrader": _nbgrader_meta(
                    f"test-{QUIZ_LABEL}", grade=True, solution=False, locked=True, points=points
                )
            }
            out += [answer, test]
            graded.append(Graded(f"test-{QUIZ_LABEL}", QUIZ_LABEL, points, (), QUIZ_LABEL))
            i += 1
            continue
        _check_no_delimiters(cell.source, where)
        locked = copy.deepcopy(cell)  # ``nb`` stays as it was if it turns out to have no exercise
        locked.metadata["nbgrader"] = _nbgrader_meta(
            f"cell-{cell.id}", grade=False, solution=False, locked=True
        )
        out.append(locked)
        i += 1
    if not graded:
        return ()
    if len({g.grade_id for g in graded}) != len(graded):
        raise ConventionError(f"{name}: two exercises define the same function names")
    nb.cells = out
    return tuple(graded)


def _derived_id(cell_id: str, suffix: str) -> str:
    """A cell id made from another (nbformat: at most 64 characters of [A-Za-z0-9_-])."""
    return f"{cell_id[: 63 - len(suffix)]}-{suffix}"


def _check_no_delimiters(source: str, where: str) -> None:
    for d in _DELIMITERS:
        if d in source:
            raise ConventionError(
                f"{where} contains {d!r}, which nbgrader reads as its own marker anywhere in a "
                "line: reword it"
            )


# --- exercises ------------------------------------------------------------------------------------


def _parse(source: str, where: str) -> ast.Module:
    try:
        return ast.parse(source)
    except SyntaxError as e:
        raise ConventionError(f"{where} is not valid Python (line {e.lineno}: {e.msg})") from None


def _functions(tree: ast.Module, where: str, what: str) -> dict[str, ast.FunctionDef]:
    """The top-level functions of a cell; anything else at the top level is an error."""
    found: dict[str, ast.FunctionDef] = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            raise ConventionError(
                f"{where}: {what} cell may hold function definitions only, found "
                f"`{ast.unparse(node).splitlines()[0]}` (line {node.lineno}); every exercise is a "
                "function to write"
            )
        if node.name in found:
            raise ConventionError(f"{where}: `{node.name}` is defined twice")
        found[node.name] = node
    if not found:
        raise ConventionError(f"{where}: the {what} cell defines no function")
    return found


def _docstring_node(fn: ast.FunctionDef) -> ast.Expr | None:
    first = fn.body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return first
    return None


def _is_raise_not_implemented(node: ast.stmt) -> bool:
    if not isinstance(node, ast.Raise) or node.exc is None:
        return False
    exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"


def merge_exercise(
    stub: str, solution: str, name: str = "notebook", stub_cell: int = 0, solution_cell: int = 1
) -> tuple[str, tuple[str, ...]]:
    """The nbgrader answer cell of one exercise, and the functions it defines.

    ``stub`` defines one or more functions, each a docstring then ``raise NotImplementedError``;
    ``solution`` defines the same functions, with the same signatures, solved. The result is the
    stub's text with each ``raise`` line replaced by that function's solution body (everything
    after its docstring) between nbgrader's solution markers, indented as the stub's body.
    """
    stub_where, sol_where = f"{name}, cell {stub_cell}", f"{name}, cell {solution_cell}"
    for src, where in ((stub, stub_where), (solution, sol_where)):
        _check_no_delimiters(src, where)
    stubs = _functions(_parse(stub, stub_where), stub_where, "an exercise")
    solved = _functions(_parse(solution, sol_where), sol_where, "a solution")
    if list(stubs) != list(solved):
        raise ConventionError(
            f"{sol_where}: the solution defines {', '.join(solved)} but the exercise stub "
            f"(cell {stub_cell}) defines {', '.join(stubs)}: they must define the same functions, "
            "in the same order"
        )
    stub_lines = stub.split("\n")
    sol_lines = solution.split("\n")
    replacements: list[tuple[int, int, list[str]]] = []  # (first, last) 0-based lines, new lines
    for fname, fn in stubs.items():
        sol = solved[fname]
        signature = ast.unparse(fn.args)
        if signature != ast.unparse(sol.args) or [ast.dump(d) for d in fn.decorator_list] != [
            ast.dump(d) for d in sol.decorator_list
        ]:
            raise ConventionError(
                f"{sol_where}: `{fname}` takes ({ast.unparse(sol.args)}) in the solution but "
                f"({signature}) in the stub (cell {stub_cell}): the student writes the stub's "
                "signature, so both must agree"
            )
        doc = _docstring_node(fn)
        rest = fn.body[1:] if doc is not None else fn.body
        if len(rest) != 1 or not _is_raise_not_implemented(rest[0]):
            raise ConventionError(
                f"{stub_where}: the stub `{fname}` must be a docstring and then "
                "`raise NotImplementedError` and nothing else (nbgrader puts that raise back "
                "in the students' copy)"
            )
        raise_node = rest[0]
        if raise_node.lineno == fn.lineno or (
            doc is not None and doc.end_lineno == raise_node.lineno
        ):
            raise ConventionError(
                f"{stub_where}: put `raise NotImplementedError` of `{fname}` on a line of its own"
            )
        sol_doc = _docstring_node(sol)
        body = sol.body[1:] if sol_doc is not None else sol.body
        if not body or all(_is_raise_not_implemented(b) for b in body):
            raise ConventionError(f"{sol_where}: `{fname}` has no solution body")
        first = (sol_doc.end_lineno if sol_doc is not None else body[0].lineno - 1) + 1
        region = sol_lines[first - 1 : sol.end_lineno]
        while region and not region[-1].strip():
            region.pop()
        region = _reindent(region, body[0].col_offset, raise_node.col_offset)
        indent = " " * raise_node.col_offset
        new = [indent + BEGIN_SOLUTION, *region, indent + END_SOLUTION]
        replacements.append((raise_node.lineno - 1, raise_node.end_lineno - 1, new))
    for first, last, new in sorted(replacements, reverse=True):
        stub_lines[first : last + 1] = new
    merged = "\n".join(stub_lines)

    # Self-check: the merged cell defines each function with the solution's code, so the
    # reference answer graded by nbgrader is exactly the notebook's solution.
    merged_fns = _functions(_parse(merged, stub_where), stub_where, "an exercise")
    for fname, fn in merged_fns.items():
        got = [ast.dump(s) for s in fn.body[1 if _docstring_node(fn) else 0 :]]
        sol = solved[fname]
        want = [ast.dump(s) for s in sol.body[1 if _docstring_node(sol) else 0 :]]
        if got != want:  # pragma: no cover - a bug here, not in the notebook
            raise ConventionError(f"{stub_where}: could not merge the solution of `{fname}`")
    return merged, tuple(stubs)


def _reindent(lines: list[str], old: int, new: int) -> list[str]:
    """Move a block of code from indentation ``old`` to ``new`` (spaces)."""
    if old == new:
        return lines
    out = []
    for line in lines:
        head = len(line) - len(line.lstrip(" "))
        if line.strip() and head < old:
            raise ConventionError(
                "a solution body holds a line indented less than the body itself (a multi-line "
                f"string?); indent the solution like the stub: {line!r}"
            )
        out.append(" " * new + line[old:] if line.strip() else "")
    return out


def graded_check(check: str, functions: tuple[str, ...], where: str) -> str:
    """The autograder-tests cell made from a check cell (``exercises.check_xxx(fn)``)."""
    _check_no_delimiters(check, where)
    tree = _parse(check, where)
    last = tree.body[-1] if tree.body else None
    if not (isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)):
        raise ConventionError(
            f"{where} (tagged {CHECK_TAG}) must end with the checker's call, "
            f"e.g. `exercises.check_xxx({functions[0]})`; got {check!r}"
        )
    lines = check.rstrip().split("\n")
    lines[last.lineno - 1] = "passed = " + lines[last.lineno - 1]
    names = ", ".join(f"`{f}`" for f in functions)
    return "\n".join(
        [
            _TEST_HEADER,
            *lines,
            BEGIN_HIDDEN,
            f'assert passed, "{names}: no points yet; the checker\'s message above says why"',
            END_HIDDEN,
        ]
    )


# --- the quiz -------------------------------------------------------------------------------------


def _quiz_parts(cell: Any, where: str) -> tuple[str, str, str] | None:
    """``(answers source, answers variable, checker call)`` of a quiz cell, else None.

    A quiz cell is a code cell whose last statement is ``exercises.check_quiz(var)`` (or
    ``check_quiz(var)``) and whose earlier statements assign ``var``.
    """
    if cell.cell_type != "code" or QUIZ_CHECKER not in cell.source:
        return None
    tree = _parse(cell.source, where)
    last = tree.body[-1] if tree.body else None
    call = last.value if isinstance(last, ast.Expr) else None
    func = getattr(call, "func", None)
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if called != QUIZ_CHECKER:
        return None
    if len(call.args) != 1 or call.keywords or not isinstance(call.args[0], ast.Name):
        raise ConventionError(
            f"{where}: the quiz check must be `exercises.{QUIZ_CHECKER}(name)`, one variable"
        )
    var = call.args[0].id
    assigned = {
        t.id
        for node in tree.body[:-1]
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    if var not in assigned:
        raise ConventionError(
            f"{where}: the quiz cell must assign `{var}` (the student's answers) before checking it"
        )
    lines = cell.source.rstrip().split("\n")
    answers = "\n".join(lines[: last.lineno - 1]).rstrip()
    call_src = "\n".join(lines[last.lineno - 1 :])
    return answers, var, call_src


def quiz_key() -> dict[int, str]:
    """The quiz's answers, ``{question number: letter}``: what the teacher's copy of the quiz's
    answer cell holds, from the quiz that ``check_quiz`` and ``score_quiz`` mark."""
    from ..exercises import QUIZ

    return {int(n): str(q.answer) for n, q in QUIZ.items()}


_QUIZ_SLOT = (
    "# Fill in the dict above. Below is nbgrader's answer slot (the teacher's copy sets the key\n"
    "# there): leave it, or put your dict in place of the `raise`; either is graded."
)


def quiz_answer_cell(answers: str, var: str) -> str:
    """The quiz's autograded answer cell: the students' dict, then nbgrader's slot for the key.

    ``answers`` is the quiz cell's code up to the check (it assigns ``var``). The key sits between
    the solution markers inside ``try``: nbgrader replaces it with ``raise NotImplementedError()``
    in the students' copy, and the ``except`` lets the cell, and "Run All", go on with the
    students' own dict.
    """
    return "\n".join(
        [
            answers.rstrip(),
            _QUIZ_SLOT,
            "try:",
            f"    {BEGIN_SOLUTION}",
            f"    {var} = {quiz_key()!r}",
            f"    {END_SOLUTION}",
            "except NotImplementedError:",
            "    pass",
        ]
    )


def graded_quiz(var: str, call: str, points: float) -> str:
    """The autograder-tests cell of the quiz: the checker, then (hidden) the partial credit.

    The credit is ``points`` times :func:`vitlearn.exercises.score_quiz`'s fraction of right
    answers, the cell's last value (nbgrader reads a number there as partial credit). It is read
    from the library when nbgrader grades, as the checkers are.
    """
    return "\n".join(
        [
            _QUIZ_HEADER.format(var=var),
            f"passed = {call}",
            BEGIN_HIDDEN,
            "from vitlearn.exercises import score_quiz",
            "",
            f"{points!r} * score_quiz({var}).fraction",
            END_HIDDEN,
        ]
    )
