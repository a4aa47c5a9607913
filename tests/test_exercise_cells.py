"""The exercises as they sit in the notebooks: structure, and each checker against its own cells.

Every exercise is three consecutive code cells: the stub (tagged ``exercise``) that defines a
function and raises ``NotImplementedError``; the solution (tagged ``solution``) that defines the
same function, solved; the check (tagged ``check``), exactly one line ``exercises.check_xxx(name)``.
Notebooks 01 onwards have one to three exercises each (00 may have none).

For each exercise the test runs, in one fresh namespace, the notebook's imports cell (cell 2, run
with the notebooks folder as working directory and matplotlib's Agg backend), then the solution
and the check: the checker must return True and print its tick. Then the same with the stub: the
checker must return False and say "not done yet". The solution may therefore only use names from
cell 2 and what it defines itself, as the brief requires. The checkers' catalogues of wrong answers
are tested by each chapter's own tests.
"""

from __future__ import annotations

import ast
import random
import re
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import nbformat
import numpy as np
import pytest
import torch

from vitlearn import exercises

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
COURSE = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
TAGS = ("exercise", "solution", "check")
CHECK_LINE = re.compile(r"exercises\.(check_\w+)\((\w+)\)")


@dataclass(frozen=True)
class Exercise:
    notebook: Path
    cell: int  # index of the stub cell
    name: str  # the function the student writes
    checker: str  # the ``check_*`` function of vitlearn.exercises
    imports: str  # cell 2
    stub: str
    solution: str
    check: str

    @property
    def id(self) -> str:
        return f"{self.notebook.stem}:{self.name}"


def _tags(cell) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", [])) & set(TAGS)


def _defined_functions(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


def _raises_not_implemented(source: str, name: str) -> bool:
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Raise) and sub.exc is not None:
                    exc = sub.exc.func if isinstance(sub.exc, ast.Call) else sub.exc
                    if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                        return True
    return False


def _read(path: Path):
    try:
        return nbformat.read(path, as_version=4), None
    except Exception as e:  # a notebook being written right now, or broken: reported by a test
        return None, f"{type(e).__name__}: {e}"


def structure_problems(nb) -> list[str]:
    """Everything wrong with the exercise cells of ``nb``, as readable lines (empty: all good)."""
    problems: list[str] = []
    cells = nb.cells
    for i, cell in enumerate(cells):
        tags = _tags(cell)
        if not tags:
            continue
        where = f"cell {i} (tagged {', '.join(sorted(tags))})"
        if len(tags) > 1:
            problems.append(f"{where}: one cell carries several of the tags {TAGS}")
            continue
        if cell.cell_type != "code":
            problems.append(f"{where} is a {cell.cell_type} cell, expected a code cell")
        tag = tags.pop()
        offset = TAGS.index(tag)
        start = i - offset
        for k, expected in enumerate(TAGS):
            j = start + k
            if j == i:
                continue
            if not 0 <= j < len(cells) or _tags(cells[j]) != {expected}:
                problems.append(
                    f"{where}: cell {j} should be the {expected} cell of the same exercise "
                    f"(exercise, solution, check must be consecutive)"
                )
        if tag != "exercise" or problems and problems[-1].startswith(where):
            continue
        if start + 2 >= len(cells):
            continue
        stub, solution, check = (cells[start + k].source for k in range(3))
        lines = [ln for ln in check.strip().splitlines() if ln.strip()]
        match = CHECK_LINE.fullmatch(lines[0].strip()) if len(lines) == 1 else None
        if match is None:
            problems.append(
                f"cell {start + 2} (check): expected exactly one line `exercises.check_xxx(name)`, "
                f"got {check!r}"
            )
            continue
        checker, name = match.groups()
        if not callable(getattr(exercises, checker, None)):
            problems.append(f"cell {start + 2} (check): vitlearn.exercises has no {checker}")
        if name not in _defined_functions(stub):
            problems.append(f"cell {start} (exercise): the stub does not define `def {name}(`")
        elif not _raises_not_implemented(stub, name):
            problems.append(f"cell {start} (exercise): `{name}` does not raise NotImplementedError")
        elif (
            ast.get_docstring(
                next(n for n in ast.parse(stub).body if getattr(n, "name", None) == name)
            )
            is None
        ):
            problems.append(f"cell {start} (exercise): `{name}` has no docstring for the student")
        if name not in _defined_functions(solution):
            problems.append(f"cell {start + 1} (solution): does not define `def {name}(`")
        elif _raises_not_implemented(solution, name):
            problems.append(
                f"cell {start + 1} (solution): `{name}` still raises NotImplementedError"
            )
    return problems


def find_exercises(path: Path) -> list[Exercise]:
    """The well-formed exercise triples of one notebook (the malformed ones fail the structure
    test)."""
    nb, _ = _read(path)
    if nb is None or len(nb.cells) < 3:
        return []
    found = []
    for i in range(len(nb.cells) - 2):
        if [_tags(nb.cells[i + k]) for k in range(3)] != [{t} for t in TAGS]:
            continue
        stub, solution, check = (nb.cells[i + k].source for k in range(3))
        match = CHECK_LINE.fullmatch(check.strip())
        if match is None:
            continue
        checker, name = match.groups()
        found.append(Exercise(path, i, name, checker, nb.cells[2].source, stub, solution, check))
    return found


EXERCISES = [ex for path in COURSE for ex in find_exercises(path)]


@pytest.mark.parametrize("path", COURSE, ids=[p.stem for p in COURSE])
def test_exercise_cells_are_well_formed(path):
    nb, error = _read(path)
    assert nb is not None, f"{path.name} cannot be read: {error}"
    assert nb.cells[2].cell_type == "code", f"{path.name}: cell 2 should be the imports cell"
    problems = structure_problems(nb)
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("path", COURSE, ids=[p.stem for p in COURSE])
def test_one_to_three_exercises_from_notebook_01_on(path):
    count = len(find_exercises(path))
    number = int(path.name[:2])
    low = 1 if number >= 1 else 0
    assert low <= count <= 3, (
        f"{path.name} has {count} exercise(s); every notebook from 01 on needs one to three "
        "(stub tagged `exercise`, solution tagged `solution`, check tagged `check`)"
    )


@pytest.fixture
def notebook_namespace(monkeypatch):
    """Run cells as the notebook would: cwd notebooks/, Agg backend; restore global RNG states."""
    monkeypatch.chdir(NOTEBOOKS)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    backend = matplotlib.get_backend()
    matplotlib.use("Agg")
    states = torch.random.get_rng_state(), np.random.get_state(), random.getstate()
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
    matplotlib.use(backend)
    torch.random.set_rng_state(states[0])
    np.random.set_state(states[1])
    random.setstate(states[2])


def _run(ex: Exercise, answer: str, which: str, capsys) -> tuple[object, str]:
    """Exec cell 2 and ``answer`` in a fresh namespace, then evaluate the check: (result,
    printed)."""
    ns: dict = {"__name__": "__main__"}
    exec(compile(ex.imports, f"<{ex.notebook.name} cell 2>", "exec"), ns)
    exec(compile(answer, f"<{ex.notebook.name} cell {ex.cell} {which}>", "exec"), ns)
    capsys.readouterr()
    result = eval(compile(ex.check.strip(), f"<{ex.notebook.name} check>", "eval"), ns)
    return result, capsys.readouterr().out


@pytest.mark.parametrize("ex", EXERCISES, ids=[ex.id for ex in EXERCISES])
def test_checker_accepts_the_notebooks_solution(ex, capsys, notebook_namespace):
    result, printed = _run(ex, ex.solution, "solution", capsys)
    assert result is True, (
        f"{ex.checker} rejected the solution cell of {ex.notebook.name}:\n{printed}"
    )
    assert "✓" in printed and "correct" in printed


@pytest.mark.parametrize("ex", EXERCISES, ids=[ex.id for ex in EXERCISES])
def test_checker_says_not_done_yet_for_the_stub(ex, capsys, notebook_namespace):
    result, printed = _run(ex, ex.stub, "exercise", capsys)
    assert result is False, f"{ex.checker} accepted the untouched stub of {ex.notebook.name}"
    assert "not done yet" in printed, printed
    assert "✓" not in printed


# --- the structure checker itself, on made-up cells -----------------------------------------------


def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), nbformat.v4.new_code_cell("")]
    nb.cells.append(nbformat.v4.new_code_cell("import torch"))
    for tag, source in cells:
        meta = {"tags": [tag]} if tag else {}
        nb.cells.append(nbformat.v4.new_code_cell(source, metadata=meta))
    return nb


STUB = 'def f(x):\n    """Doc."""\n    raise NotImplementedError'
SOLVED = "def f(x):\n    return x"
CHECK = "exercises.check_patchify(f)"


def test_structure_accepts_a_good_triple():
    assert structure_problems(_nb(("exercise", STUB), ("solution", SOLVED), ("check", CHECK))) == []


@pytest.mark.parametrize(
    "cells, says",
    [
        ([("exercise", STUB), ("check", CHECK)], "should be the solution cell"),
        (
            [("exercise", STUB), ("solution", SOLVED), ("", "x = 1"), ("check", CHECK)],
            "consecutive",
        ),
        ([("solution", SOLVED)], "should be the exercise cell"),
        (
            [("exercise", STUB), ("solution", SOLVED), ("check", "exercises.check_patchify(g)")],
            "does not define `def g(",
        ),
        (
            [("exercise", STUB), ("solution", SOLVED), ("check", CHECK + "\nprint(1)")],
            "exactly one line",
        ),
        (
            [("exercise", STUB), ("solution", SOLVED), ("check", "exercises.check_nothing(f)")],
            "no check_nothing",
        ),
        ([("exercise", SOLVED), ("solution", SOLVED), ("check", CHECK)], "NotImplementedError"),
        (
            [
                ("exercise", "def f(x):\n    raise NotImplementedError"),
                ("solution", SOLVED),
                ("check", CHECK),
            ],
            "no docstring",
        ),
        ([("exercise", STUB), ("solution", STUB), ("check", CHECK)], "still raises"),
        (
            [("exercise", STUB), ("solution", "def g(x):\n    return x"), ("check", CHECK)],
            "(solution): does not define `def f(",
        ),
    ],
)
def test_structure_names_each_problem(cells, says):
    problems = structure_problems(_nb(*cells))
    assert any(says in p for p in problems), problems
