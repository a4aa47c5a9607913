"""Every assignment's typical mistake loses its points, through the nbgrader edition's own cells.

Plain pytest, no nbgrader needed. For every assignment of the nbgrader edition the test takes the
cells that ``release-nbgrader`` writes (``to_nbgrader`` on the instructor notebook) and runs them
as ``nbgrader autograde`` does, in one namespace: the notebook's imports cell (cell 2, from the
notebooks folder, matplotlib's Agg backend), the answer cell, then the graded cell with its hidden
part. The reference answer (the answer cell as the teacher's copy has it) must earn the points;
the assignment's typical mistake (``submissions.MISTAKES``) must lose them: the hidden
``assert passed`` fails, with the checker's "not quite" above it, or, in the quiz, one question's
share of the points is lost. The real nbgrader grades a few of these in ``test_nbgrader.py``
(``pytest -m nbgrader``): this is the catalogue's check for the assignments it does not grade.
"""

from __future__ import annotations

import ast
import random
import re
import warnings
from pathlib import Path

import matplotlib
import nbformat
import numpy as np
import pytest
import torch
from submissions import MISTAKES, WARNING_ANSWER, quiz_with_one_mistake, without_markers

from vitlearn.editions.nbgrader import WARNING_PATTERN, quiz_key, to_nbgrader
from vitlearn.editions.student import NOTEBOOK_GLOB

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def _edition(path: Path):
    """(imports cell, graded items, cells by grade_id) of one notebook's nbgrader edition."""
    nb = nbformat.read(path, as_version=4)
    imports = nb.cells[2].source
    graded = to_nbgrader(nb, path.name)
    cells = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}
    return imports, graded, cells


ASSIGNMENTS = [p.stem for p in sorted(NOTEBOOKS.glob(NOTEBOOK_GLOB)) if _edition(p)[1]]


def test_every_assignment_has_a_typical_mistake():
    missing = sorted(set(ASSIGNMENTS) - set(MISTAKES))
    assert not missing, f"add a typical mistake to submissions.MISTAKES for {missing}"
    stale = sorted(set(MISTAKES) - set(ASSIGNMENTS))
    assert not stale, f"submissions.MISTAKES names notebooks that are no assignment: {stale}"
    assert len(ASSIGNMENTS) >= 8, ASSIGNMENTS


def _run_cell(source: str, ns: dict):
    """Run a cell's code in ``ns`` as a kernel does; return its last expression's value."""
    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, "<cell>", "exec"), ns)
    return eval(compile(ast.Expression(last.value), "<cell>", "eval"), ns) if last else None


@pytest.fixture
def notebook_state(monkeypatch):
    """Cells run as in the notebook (cwd notebooks/, Agg); the global RNG states come back."""
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


def _namespace(imports: str, answer: str) -> dict:
    ns: dict = {}
    _run_cell(imports, ns)
    _run_cell(without_markers(answer), ns)  # the teacher's copy: the reference answer
    return ns


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_reference_earns_the_points_and_the_typical_mistake_loses_them(
    name, notebook_state, capsys
):
    what, wrong = MISTAKES[name]
    imports, graded, cells = _edition(NOTEBOOKS / f"{name}.ipynb")
    if what == "quiz":
        item = next(g for g in graded if g.label == "quiz")
        answer, test = cells[item.answer_id].source, cells[item.grade_id].source
        ns = _namespace(imports, answer)
        assert _run_cell(test, ns) == item.points and ns["passed"] is True
        var = answer.split("=")[0].strip()
        ns[var] = quiz_with_one_mistake(quiz_key())
        questions = len(quiz_key())
        credit = _run_cell(test, ns)
        assert credit == pytest.approx(item.points * (questions - 1) / questions)
        assert f"{questions - 1} / {questions} right." in capsys.readouterr().out
        return
    item = next((g for g in graded if what in g.functions), None)
    assert item is not None, f"{name}: no exercise `{what}` ({[g.label for g in graded]})"
    answer, test = cells[item.answer_id].source, cells[item.grade_id].source
    ns = _namespace(imports, answer)
    assert _run_cell(test, ns) is None and ns["passed"] is True  # the hidden assert holds
    assert "✓" in capsys.readouterr().out

    ns = _namespace(imports, answer)
    exec(wrong, ns)  # the student's version of the function
    with pytest.raises(AssertionError, match="no points yet"):
        _run_cell(test, ns)
    out = capsys.readouterr().out
    assert ns["passed"] is False and "not quite" in out, out


def test_a_correct_answer_that_warns_passes_and_its_warning_is_what_nbgrader_ignores(
    notebook_state, capsys
):
    """04's WARNING_ANSWER (torch.meshgrid without ``indexing``) earns the point, and the warning
    it prints matches the IgnorePattern that release-nbgrader writes into nbgrader_config.py."""
    imports, graded, cells = _edition(NOTEBOOKS / "04_position_embeddings.ipynb")
    item = next(g for g in graded if "my_sincos_2d" in g.functions)
    ns = _namespace(imports, cells[item.answer_id].source)
    exec(WARNING_ANSWER, ns)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _run_cell(cells[item.grade_id].source, ns)
    assert ns["passed"] is True and "✓" in capsys.readouterr().out
    printed = [warnings.formatwarning(w.message, w.category, w.filename, w.lineno) for w in caught]
    assert any(issubclass(w.category, UserWarning) for w in caught), printed
    assert all(re.search(WARNING_PATTERN, line) for line in printed), printed
