"""The notebooks are committed clean and follow the course's layout.

Clean: valid nbformat 4, no outputs, no execution counts, a python3 kernel. Layout: numbered
``NN_topic.ipynb`` without gaps, cell 2 is the imports code cell, every exercise is the triple
stub (``exercise``) -> solution (``solution``) -> one-line check (``check``), and the README's
syllabus names every notebook. Paired: every notebook has its MyST Markdown twin
``notebooks/text/NN_topic.md`` (see ``jupytext.toml``) with the same cells, so that a change to a
notebook can be reviewed as a text diff.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(ROOT.glob("notebooks/[0-9][0-9]_*.ipynb"))
IDS = [p.name for p in NOTEBOOKS]
TEXT_DIR = ROOT / "notebooks" / "text"
CHECK_LINE = re.compile(r"exercises\.check_\w+\(.*\)")


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=nbformat.NO_CONVERT)


def _tags(cell: nbformat.NotebookNode) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_valid_and_committed_clean(path: Path) -> None:
    nb = _read(path)
    assert nb.nbformat == 4, f"{path.name}: nbformat {nb.nbformat}, expected 4"
    nbformat.validate(nb)
    dirty = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} were committed with outputs/execution counts"
    kernel = nb.metadata.get("kernelspec", {})
    assert kernel.get("name") == "python3", f"{path.name}: kernelspec {kernel!r}, want python3"
    assert kernel.get("language", "python") == "python"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_layout_and_exercise_triples(path: Path) -> None:
    cells = _read(path).cells
    assert len(cells) > 3, f"{path.name}: only {len(cells)} cells"
    assert cells[2].cell_type == "code", f"{path.name}: cell 2 must be the imports code cell"
    for i, cell in enumerate(cells):
        tags = _tags(cell)
        where = f"{path.name} cell {i}"
        if "solution" in tags:
            assert cell.cell_type == "code", f"{where}: a solution must be a code cell"
            assert i > 0 and "exercise" in _tags(cells[i - 1]), (
                f"{where}: solution not preceded by an `exercise`-tagged stub"
            )
            assert i + 1 < len(cells) and "check" in _tags(cells[i + 1]), (
                f"{where}: solution not followed by a `check`-tagged cell"
            )
        if "exercise" in tags:
            assert cell.cell_type == "code", f"{where}: an exercise stub must be a code cell"
            assert "NotImplementedError" in cell.source, (
                f"{where}: stub should raise NotImplementedError"
            )
            assert i + 1 < len(cells) and "solution" in _tags(cells[i + 1]), (
                f"{where}: exercise not followed by its `solution` cell"
            )
            stub_defs = {
                n.name for n in ast.parse(cell.source).body if isinstance(n, ast.FunctionDef)
            }
            sol_defs = {
                n.name
                for n in ast.parse(cells[i + 1].source).body
                if isinstance(n, ast.FunctionDef | ast.ClassDef)
            }
            assert stub_defs and stub_defs <= sol_defs, (
                f"{where}: stub defines {sorted(stub_defs)}, solution defines {sorted(sol_defs)}"
            )
        if "check" in tags:
            lines = [ln for ln in cell.source.strip().splitlines() if ln.strip()]
            assert len(lines) == 1 and CHECK_LINE.fullmatch(lines[0].strip()), (
                f"{where}: a check cell is exactly one `exercises.check_xxx(...)` line, "
                f"got {cell.source!r}"
            )
            assert i > 0 and "solution" in _tags(cells[i - 1]), (
                f"{where}: check not preceded by a `solution` cell"
            )


def test_numbering_has_no_gaps() -> None:
    every = sorted(p.name for p in ROOT.glob("notebooks/*.ipynb"))
    strays = [n for n in every if not re.fullmatch(r"\d\d_[a-z0-9]+(_[a-z0-9]+)*\.ipynb", n)]
    assert not strays, f"notebooks not named NN_topic.ipynb (lowercase, underscores): {strays}"
    numbers = [int(n[:2]) for n in every]
    assert numbers == list(range(len(numbers))), f"numbering has gaps or repeats: {every}"


def test_readme_syllabus_lists_every_notebook() -> None:
    readme = ROOT / "README.md"
    assert readme.is_file(), "README.md is missing"
    text = readme.read_text(encoding="utf-8")
    missing = [p.name for p in NOTEBOOKS if p.name not in text]
    assert not missing, f"README.md does not mention: {missing}"


# --- the MyST Markdown twins: jupytext.toml pairs NN_topic.ipynb with text/NN_topic.md --------


def _twin(path: Path) -> Path:
    return TEXT_DIR / f"{path.stem}.md"


def _sync_hint(path: Path) -> str:
    return (
        f"edit either file, then run `jupytext --sync notebooks/{path.name}` "
        "(or `jupytext --sync notebooks/[0-9][0-9]_*.ipynb` for all of them), which copies the "
        "one modified last onto the other"
    )


def _first_difference(a: str, b: str) -> int:
    """The index of the first line where ``a`` and ``b`` differ (0 when they are equal)."""
    la, lb = a.splitlines(), b.splitlines()
    if la == lb:
        return 0
    pairs = zip(la, lb, strict=False)
    return next((j for j, (x, y) in enumerate(pairs) if x != y), min(len(la), len(lb)))


def _shown(source: str, line: int) -> str:
    """Lines ``line - 2 .. line + 3`` of ``source``, numbered from 1, indented."""
    lines = source.splitlines()
    start = max(line - 2, 0)
    return "\n".join(
        f"    {k + 1:4d} | {text}" for k, text in enumerate(lines) if start <= k < line + 4
    )


def test_every_notebook_has_its_text_twin() -> None:
    missing = [p for p in NOTEBOOKS if not _twin(p).is_file()]
    assert not missing, (
        "notebooks without their MyST Markdown twin in notebooks/text/: "
        + "; ".join(f"{p.name} (make it: `jupytext --sync notebooks/{p.name}`)" for p in missing)
    )


def test_no_text_twin_without_its_notebook() -> None:
    names = {p.stem for p in NOTEBOOKS}
    strays = sorted(p.name for p in TEXT_DIR.glob("*.md") if p.stem not in names)
    assert not strays, (
        f"notebooks/text/ holds {strays} but notebooks/ has no notebook of that name: remove the "
        "file, or rename it along with its notebook"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_text_twin_has_the_notebooks_cells(path: Path) -> None:
    twin = _twin(path)
    assert twin.is_file(), (
        f"{path.name}: no notebooks/text/{twin.name}; "
        f"make it: `jupytext --sync notebooks/{path.name}`"
    )
    cells = _read(path).cells
    text_cells = jupytext.read(twin).cells
    where = f"notebooks/{path.name} and notebooks/text/{twin.name} differ"
    for i, (a, b) in enumerate(zip(cells, text_cells, strict=False)):
        what = [
            name
            for name, x, y in (
                ("cell type", a.cell_type, b.cell_type),
                ("source", a.source, b.source),
                ("tags", _tags(a), _tags(b)),
            )
            if x != y
        ]
        line = _first_difference(a.source, b.source)
        assert not what, (
            f"{where}, first at cell {i} ({', '.join(what)}); {_sync_hint(path)}.\n"
            f"  in the notebook ({a.cell_type}, tags {sorted(_tags(a))}):\n"
            f"{_shown(a.source, line)}\n"
            f"  in the text ({b.cell_type}, tags {sorted(_tags(b))}):\n"
            f"{_shown(b.source, line)}"
        )
    assert len(cells) == len(text_cells), (
        f"{where}: the notebook has {len(cells)} cells, the text {len(text_cells)} (the first "
        f"{min(len(cells), len(text_cells))} agree); {_sync_hint(path)}"
    )
