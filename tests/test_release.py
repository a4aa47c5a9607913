"""``python -m vitlearn release-student``: the student edition of the course.

Two halves. First the command itself, on a small made-up course in a temporary folder (so every
behaviour is tested whatever notebooks exist): layout, solution cells removed, outputs cleared,
badges rewritten, sources untouched, refusals and one-line errors. Then the real course: every
notebook in ``notebooks/`` is released once, checked, and each student notebook is executed top to
bottom in a fresh kernel, where every checker must say "not done yet" (the stub is still there) and
nothing may raise. That execution doubles the notebooks' time, once per notebook; it is marked
``slow`` but runs in the default ``pytest``.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import nbformat
import pytest

from vitlearn.editions import cli
from vitlearn.editions import student as release
from vitlearn.editions.course import SETUP_CELL, badge_markdown

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
COURSE = sorted(NOTEBOOKS.glob(release.NOTEBOOK_GLOB))


def _tags(cell) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def _digest(paths) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


# --- the command, on a made-up course -------------------------------------------------------------


def _make_course(root: Path, names=("01_alpha.ipynb", "02_beta.ipynb")) -> Path:
    """A tiny repository at ``root``: pyproject.toml and notebooks/ with one exercise each."""
    (root / "notebooks").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    for name in names:
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
        shown = nbformat.v4.new_code_cell("x = 41\nx + 1", execution_count=7)
        shown.outputs = [
            nbformat.v4.new_output("execute_result", {"text/plain": "42"}, execution_count=7)
        ]
        nb.cells = [
            nbformat.v4.new_markdown_cell(
                f"# {name}\n\n{badge_markdown('notebooks/' + name)}\n\n## What you will learn"
            ),
            nbformat.v4.new_code_cell(SETUP_CELL),
            shown,
            nbformat.v4.new_code_cell(
                'def double(x):\n    """Twice x."""\n    raise NotImplementedError',
                metadata={"tags": ["exercise"]},
            ),
            nbformat.v4.new_code_cell(
                "def double(x):\n    return 2 * x  # THE SOLUTION", metadata={"tags": ["solution"]}
            ),
            nbformat.v4.new_code_cell("check_double(double)", metadata={"tags": ["check"]}),
            nbformat.v4.new_markdown_cell("## Summary"),
        ]
        nbformat.write(nb, root / "notebooks" / name)
    return root / "notebooks"


def _release(*argv: str) -> int:
    return cli.main(["release-student", *map(str, argv)])


def test_release_writes_every_notebook_and_a_readme(tmp_path, capsys):
    src = _make_course(tmp_path / "repo")
    out = tmp_path / "out"
    assert _release(out, "--notebooks", src) == 0
    printed = capsys.readouterr().out
    assert f"wrote 2 student notebooks to {out / 'notebooks'}/" in printed
    assert "01_alpha.ipynb: 1 solution cell removed" in printed
    assert sorted(p.name for p in (out / "notebooks").iterdir()) == [
        "01_alpha.ipynb",
        "02_beta.ipynb",
    ]
    readme = (out / "README.md").read_text()
    assert "not done yet" in readme
    assert "student/notebooks/01_alpha.ipynb" in readme and "02_beta.ipynb" in readme


def test_release_removes_solutions_keeps_stub_and_check(tmp_path):
    src = _make_course(tmp_path / "repo")
    assert _release(tmp_path / "out", "--notebooks", src) == 0
    released = sorted((tmp_path / "out" / "notebooks").iterdir())
    assert [p.name for p in released] == ["01_alpha.ipynb", "02_beta.ipynb"]
    for path in released:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert not any("solution" in _tags(c) for c in nb.cells)
        assert not any("THE SOLUTION" in c.source for c in nb.cells)
        kinds = [sorted(_tags(c)) for c in nb.cells]
        assert kinds == [[], [], [], ["exercise"], ["check"], []]
        assert "raise NotImplementedError" in nb.cells[3].source
        assert nb.cells[4].source == "check_double(double)"


def test_release_clears_outputs_and_metadata(tmp_path):
    src = _make_course(tmp_path / "repo")
    assert _release(tmp_path / "out", "--notebooks", src) == 0
    nb = nbformat.read(tmp_path / "out" / "notebooks" / "01_alpha.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert set(nb.metadata) == {"kernelspec"}  # the saved widget state is gone


def test_badge_points_at_outdir_inside_the_repository(tmp_path):
    src = _make_course(tmp_path / "repo")
    assert _release(tmp_path / "repo" / "handout" / "week1", "--notebooks", src) == 0
    nb = nbformat.read(tmp_path / "repo/handout/week1/notebooks/02_beta.ipynb", as_version=4)
    expected = badge_markdown("handout/week1/notebooks/02_beta.ipynb")
    assert nb.cells[0].source == f"# 02_beta.ipynb\n\n{expected}\n\n## What you will learn"


def test_badge_outside_the_repository_uses_default_or_colab_path(tmp_path):
    src = _make_course(tmp_path / "repo")
    assert _release(tmp_path / "elsewhere", "--notebooks", src) == 0
    nb = nbformat.read(tmp_path / "elsewhere/notebooks/01_alpha.ipynb", as_version=4)
    assert badge_markdown(f"{release.DEFAULT_COLAB_DIR}/01_alpha.ipynb") in nb.cells[0].source
    assert release.DEFAULT_COLAB_DIR == "student/notebooks"

    assert _release(tmp_path / "other", "--notebooks", src, "--colab-path", "class/2026/") == 0
    nb = nbformat.read(tmp_path / "other/notebooks/01_alpha.ipynb", as_version=4)
    assert badge_markdown("class/2026/01_alpha.ipynb") in nb.cells[0].source
    assert "blob/main/notebooks/" not in nb.cells[0].source


def test_missing_badge_is_added_with_a_warning(tmp_path, capsys):
    src = _make_course(tmp_path / "repo", names=("03_gamma.ipynb",))
    nb = nbformat.read(src / "03_gamma.ipynb", as_version=4)
    nb.cells[0].source = "# Gamma\nNo badge here."
    nbformat.write(nb, src / "03_gamma.ipynb")
    assert _release(tmp_path / "out", "--notebooks", src) == 0
    assert "03_gamma.ipynb: the first cell has no Colab badge" in capsys.readouterr().err
    first = nbformat.read(tmp_path / "out/notebooks/03_gamma.ipynb", as_version=4).cells[0].source
    assert (
        first
        == f"# Gamma\n\n{badge_markdown('student/notebooks/03_gamma.ipynb')}\n\nNo badge here."
    )


def test_release_leaves_the_sources_unchanged(tmp_path):
    src = _make_course(tmp_path / "repo")
    before = _digest(src.iterdir())
    assert _release(tmp_path / "repo" / "student", "--notebooks", src) == 0
    assert _digest(src.iterdir()) == before


@pytest.mark.parametrize("outdir", ["repo/notebooks", "repo/notebooks/student", "repo"])
def test_refuses_to_write_into_the_notebooks_folder(tmp_path, capsys, outdir):
    src = _make_course(tmp_path / "repo")
    before = _digest(src.iterdir())
    assert _release(tmp_path / outdir, "--notebooks", src) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "refusing to write" in err and str(src) in err
    assert _digest(src.iterdir()) == before
    assert sorted(p.name for p in src.iterdir()) == ["01_alpha.ipynb", "02_beta.ipynb"]


def test_one_line_error_without_nbconvert(tmp_path, capsys, monkeypatch):
    src = _make_course(tmp_path / "repo")
    monkeypatch.setitem(sys.modules, "nbconvert.preprocessors", None)  # makes the import fail
    assert _release(tmp_path / "out", "--notebooks", src) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "`pip install nbconvert`" in err
    assert not (tmp_path / "out").exists()


def test_says_where_it_looked_for_notebooks(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        release, "__file__", str(tmp_path / "site" / "vitlearn" / "editions" / "student.py")
    )
    assert _release(tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert str(tmp_path / "site" / "notebooks") in err and str(tmp_path / "notebooks") in err
    assert "--notebooks DIR" in err

    assert _release(tmp_path / "out", "--notebooks", tmp_path / "nope") == 1
    assert f"the notebooks folder {tmp_path / 'nope'} does not exist" in capsys.readouterr().err

    (tmp_path / "notebooks").mkdir()
    assert _release(tmp_path / "out") == 1  # found ./notebooks, but it holds no notebook
    assert f"no notebooks named [0-9][0-9]_*.ipynb in {tmp_path / 'notebooks'}" in (
        capsys.readouterr().err
    )


# --- the real course ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """The student edition of the repository's notebooks, released once (outside the repo)."""
    assert COURSE, f"no notebooks in {NOTEBOOKS}"
    before = _digest(COURSE)
    out = tmp_path_factory.mktemp("student")
    assert cli.main(["release-student", str(out)]) == 0  # the default source: the repo's notebooks/
    return out / "notebooks", before


def test_course_release_writes_every_notebook_and_leaves_sources_unchanged(released):
    out, before = released
    assert sorted(p.name for p in out.glob("*.ipynb")) == [p.name for p in COURSE]
    assert _digest(COURSE) == before


@pytest.mark.parametrize("source", COURSE, ids=[p.stem for p in COURSE])
def test_course_student_notebook(released, source):
    out, _ = released
    nb = nbformat.read(out / source.name, as_version=4)
    original = nbformat.read(source, as_version=4)
    assert not [i for i, c in enumerate(nb.cells) if "solution" in _tags(c)]
    for tag in ("exercise", "check"):
        assert [c.source for c in nb.cells if tag in _tags(c)] == [
            c.source for c in original.cells if tag in _tags(c)
        ], f"the {tag} cells of {source.name} did not all survive the release"
    kept = [c.source for c in original.cells if "solution" not in _tags(c)]
    assert [c.source for c in nb.cells[1:]] == kept[1:]  # only cell 0 (the badge) is rewritten
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    badge = badge_markdown(f"{release.DEFAULT_COLAB_DIR}/{source.name}")
    assert badge in nb.cells[0].source
    assert badge_markdown(f"notebooks/{source.name}") not in nb.cells[0].source


@pytest.mark.slow
@pytest.mark.parametrize("source", COURSE, ids=[p.stem for p in COURSE])
def test_course_student_notebook_runs_and_every_check_says_not_done_yet(released, source):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    out, _ = released
    nb = nbformat.read(out / source.name, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(out)}}
    )
    try:
        client.execute()
    except CellExecutionError as e:
        pytest.fail(f"the student edition of {source.name} stops with an error:\n{e}")
    checks = [c for c in nb.cells if "check" in _tags(c)]
    source_checks = [c for c in nbformat.read(source, as_version=4).cells if "check" in _tags(c)]
    assert len(checks) == len(source_checks), f"{source.name}: the release lost check cells"
    for cell in checks:
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        assert "not done yet" in text, (
            f"{source.name}: check cell `{cell.source}` printed {text!r}, expected 'not done yet'"
        )
        assert "✓" not in text
        assert not [o for o in cell.outputs if o.output_type == "error"]
