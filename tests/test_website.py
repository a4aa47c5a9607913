"""``python -m vitlearn build-site``: the pieces that need no browser and no full build.

Staging (solutions collapsed / omitted / shown, links of the front page, the API page's names),
the refusals of the output folder, the static form of the explorers and of the quiz, and
executing one made-up notebook in a kernel started the way the build starts it (each of those
three tests starts a kernel: a few seconds). The full build, opened in Chromium, is
``pytest -m site tests/site``.
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import nbformat
import pytest

import vitlearn
from vitlearn import exercises
from vitlearn.editions import cli, website
from vitlearn.editions import course as _course
from vitlearn.editions.cli import CommandError
from vitlearn.editions.static import NOTE_CLASS, NOTEBOOK_ENV, STATIC_ENV
from vitlearn.exercises.quiz import QUIZ, StaticQuiz
from vitlearn.widgets import PatchExplorer

ROOT = Path(__file__).resolve().parents[1]


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _exercise_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    done = nbformat.v4.new_code_cell("x = 41\nx + 1", execution_count=3)
    done.outputs = [
        nbformat.v4.new_output("execute_result", {"text/plain": "42"}, execution_count=3)
    ]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A notebook"),
        done,
        nbformat.v4.new_code_cell(
            "def f(x):\n    raise NotImplementedError", metadata={"tags": ["exercise"]}
        ),
        nbformat.v4.new_code_cell(
            "def f(x):\n    return 2 * x  # THE SOLUTION", metadata={"tags": ["solution"]}
        ),
        nbformat.v4.new_code_cell("check(f)", metadata={"tags": ["check"]}),
    ]
    return nb


# --- staging --------------------------------------------------------------------------------------


def test_prepare_notebook_clears_outputs_and_collapses_solutions():
    nb = website.prepare_notebook(_exercise_notebook(), "collapsed")
    assert len(nb.cells) == 5
    assert all(
        c.outputs == [] and c.execution_count is None for c in nb.cells if c.cell_type == "code"
    )
    solution = nb.cells[3]
    assert _tags(solution) == ["solution", "hide-input"]
    assert solution.metadata["mystnb"]["code_prompt_show"] == "Show the solution"
    # the other cells keep their tags and are not hidden
    assert [_tags(c) for c in nb.cells[:3] + nb.cells[4:]] == [[], [], ["exercise"], ["check"]]


def test_prepare_notebook_omits_or_shows_solutions():
    omitted = website.prepare_notebook(_exercise_notebook(), "omit")
    assert [_tags(c) for c in omitted.cells] == [[], [], ["exercise"], ["check"]]
    assert "THE SOLUTION" not in "".join(c.source for c in omitted.cells)
    shown = website.prepare_notebook(_exercise_notebook(), "shown")
    assert _tags(shown.cells[3]) == ["solution"] and "mystnb" not in shown.cells[3].metadata


def test_rewrite_links_keeps_site_pages_and_sends_the_rest_to_github():
    docs = {"notebooks/01_patches.ipynb", "docs/SYLLABUS.md"}
    text = (
        "[nb](notebooks/01_patches.ipynb) [guide](docs/SYLLABUS.md) [lic](LICENSE) "
        "[src](images/SOURCES.md#photos) [dir](tests/fixtures/) [web](https://example.org/x) "
        "[here](#syllabus) ![badge](https://mybinder.org/badge_logo.svg)"
    )
    out = website.rewrite_links(text, docs)
    blob, tree = (
        f"{_course.REPO_URL}/blob/{_course.BRANCH}",
        f"{_course.REPO_URL}/tree/{_course.BRANCH}",
    )
    assert out == (
        f"[nb](notebooks/01_patches.ipynb) [guide](docs/SYLLABUS.md) [lic]({blob}/LICENSE) "
        f"[src]({blob}/images/SOURCES.md#photos) [dir]({tree}/tests/fixtures) "
        "[web](https://example.org/x) "
        "[here](#syllabus) ![badge](https://mybinder.org/badge_logo.svg)"
    )


def test_stage_sources_writes_front_page_api_page_and_config(tmp_path):
    files = sorted((ROOT / "notebooks").glob(website.NOTEBOOK_GLOB))
    docs = website.stage_sources(ROOT, files, tmp_path / "src")
    course = [f"notebooks/{p.stem}" for p in files]
    assert docs == ["index", *course, "docs/SYLLABUS", "docs/GLOSSARY", "api"]
    src = tmp_path / "src"
    assert (src / "conf.py").is_file() and (src / "docs" / "SYLLABUS.md").is_file()
    index = (src / "index.md").read_text(encoding="utf-8")
    assert index.startswith((ROOT / "README.md").read_text(encoding="utf-8").splitlines()[0])
    toctree = index[index.index("```{toctree}") :]
    assert [ln for ln in toctree.splitlines() if ln.startswith("notebooks/")] == course
    # every relative link of the front page is a page of the site; the rest point at GitHub
    for target in re.findall(r"\]\(([^)\s]+)\)", index):
        pages = {f"{c}.ipynb" for c in course} | {p.as_posix() for p in website.EXTRA_PAGES}
        assert target.startswith(("https://", "#")) or target in pages, target


def test_api_page_documents_every_public_name():
    import importlib

    def resolve(name: str) -> object:
        owner, _, attr = name.rpartition(".")
        return getattr(importlib.import_module(owner), attr)

    names = {n for group in website.api_names().values() for n in group}
    public = {
        f"vitlearn.{n}"
        for n in vitlearn.__all__
        if not isinstance(getattr(vitlearn, n), type(vitlearn))
    }
    public |= {f"vitlearn.widgets.{n}" for n in vitlearn.widgets.__all__}
    public |= {f"vitlearn.exercises.{n}" for n in vitlearn.exercises.__all__}
    documented = {id(resolve(n)) for n in names}
    missing = sorted(n for n in public if id(resolve(n)) not in documented)
    assert not missing, f"not on the API page: {missing}"
    assert "vitlearn.plot.show_image" in names
    # a constant is documented where it is assigned (autodoc reads its docstring there)
    assert "vitlearn.exercises.quiz.QUIZ" in names and "vitlearn.training.DEFAULT_RECIPE" in names
    page = website.api_page()
    directives = set(re.findall(r"^\.\. auto(?:function|class|data):: (\S+)$", page, re.M))
    assert directives == names


# --- the output folder ----------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["notebooks/site", ".", "docs/site/out"])
def test_refuses_to_write_into_the_sources(where):
    with pytest.raises(CommandError, match="refusing to write the site into"):
        website._check_out(ROOT / where, ROOT, ROOT / "notebooks")


def test_replaces_a_previous_build_and_refuses_other_folders(tmp_path):
    old = tmp_path / "html"
    old.mkdir()
    (old / ".buildinfo").write_text("# Sphinx build info\n")
    (old / "stale.html").write_text("a page of a renamed notebook")
    assert website._check_out(old, ROOT, ROOT / "notebooks") == old.resolve()
    assert (old / "stale.html").is_file()  # kept until a new build has succeeded
    new = tmp_path / "tmp" / "html"
    new.mkdir(parents=True)
    (new / "index.html").write_text("the new site")
    website._replace(old, new)
    assert sorted(p.name for p in old.iterdir()) == ["index.html"] and not new.exists()
    other = tmp_path / "mine"
    other.mkdir()
    (other / "thesis.tex").write_text("keep me")
    with pytest.raises(CommandError, match="not empty and holds no previous site build"):
        website._check_out(other, ROOT, ROOT / "notebooks")
    assert (other / "thesis.tex").read_text() == "keep me"


def test_bad_arguments_and_missing_tools(monkeypatch, tmp_path, capsys):
    with pytest.raises(
        ValueError, match="solutions must be one of collapsed, omit, shown, got 'hidden'"
    ):
        website.build_site(tmp_path / "out", solutions="hidden")
    with pytest.raises(SystemExit):
        cli.main(["build-site", str(tmp_path / "out"), "--solutions", "hidden"])
    assert "invalid choice: 'hidden'" in capsys.readouterr().err

    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "myst_nb" else real(name, *a)
    )
    assert cli.main(["build-site", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert (
        "build-site needs myst-nb (not installed)" in err
        and "pip install -r requirements.txt" in err
    )
    assert not (tmp_path / "out").exists()


# --- widgets on a static page ---------------------------------------------------------------------


class _Displayed(list):
    def __call__(self, *objs, raw=False, **kwargs):
        self.extend((obj, raw) for obj in objs)


@pytest.fixture
def displayed(monkeypatch) -> _Displayed:
    import IPython.display

    shown = _Displayed()
    monkeypatch.setattr(IPython.display, "display", shown)
    return shown


@pytest.fixture(scope="module")
def explorer() -> PatchExplorer:
    return PatchExplorer("astronaut", patch_size=32, size=(64, 96), k=4)


def test_explorer_in_static_mode_shows_its_first_figure_and_where_to_run_it(
    explorer, displayed, monkeypatch
):
    from PIL import Image

    monkeypatch.setenv(STATIC_ENV, "1")
    monkeypatch.setenv(NOTEBOOK_ENV, "notebooks/01_patches.ipynb")
    explorer.update(patch_size=8, k=2)
    explorer._ipython_display_()
    (picture, raw1), (note, raw2) = displayed
    assert raw1 and raw2 and set(picture) == {"image/png", "text/plain"}
    png = base64.b64decode(picture["image/png"])
    # the very picture the live widget would start with
    first_frame = explorer.widget().children[1]
    assert first_frame.format == "png" and png == first_frame.value
    w, h = explorer.fig.get_size_inches() * explorer.dpi
    assert Image.open(io.BytesIO(png)).size == (round(w), round(h))
    colab = _course.colab_url("notebooks/01_patches.ipynb")
    binder = _course.binder_url("notebooks/01_patches.ipynb")
    assert f'class="{NOTE_CLASS}"' in note["text/html"]
    assert f'href="{colab}"' in note["text/html"] and f'href="{binder}"' in note["text/html"]
    assert note["text/plain"].endswith("runs in Colab, on Binder or in JupyterLab.")


def test_live_frontends_still_get_the_widget(explorer, displayed, monkeypatch):
    import ipywidgets

    for unset in (None, "", "0"):
        if unset is None:
            monkeypatch.delenv(STATIC_ENV, raising=False)
        else:
            monkeypatch.setenv(STATIC_ENV, unset)
        displayed.clear()
        explorer._ipython_display_()
        [(box, raw)] = displayed
        assert isinstance(box, ipywidgets.VBox) and not raw


def test_quiz_static_form_has_questions_and_choices_but_no_answers(monkeypatch):
    import ipywidgets

    monkeypatch.delenv(STATIC_ENV, raising=False)
    assert isinstance(exercises.quiz_widget(), ipywidgets.VBox)
    monkeypatch.setenv(STATIC_ENV, "1")
    quiz = exercises.quiz_widget()
    assert isinstance(quiz, StaticQuiz)
    bundle = quiz._repr_mimebundle_()
    for text in (bundle["text/html"], bundle["text/plain"]):
        for q in QUIZ.values():
            assert q.question.split(",")[0] in text.replace("&#x27;", "'")
            for letter, option in q.options.items():
                assert f"{letter}) " in text and option.split(",")[0] in text.replace("&#x27;", "'")
            assert q.why.split(":")[0] not in text  # the explanation would give the answer away
    assert NOTE_CLASS in bundle["text/html"]


# --- executing a notebook as the build does (each test starts a kernel) ---------------------------


def _notebook(tmp_path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    path = tmp_path / "in" / "01_made_up.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    (tmp_path / "out").mkdir()
    return path


def test_execute_notebook_runs_in_static_mode_and_writes_outputs(tmp_path):
    path = _notebook(
        tmp_path,
        "import os, sys\n"
        "print(os.environ['VITLEARN_STATIC_WIDGETS'], os.environ['VITLEARN_NOTEBOOK'])",
        "print(sys.executable)",
        "open('written.txt', 'w').write('x')",
    )
    before = path.read_bytes()
    website.execute_notebook(
        path, tmp_path / "out" / path.name, repo_path="notebooks/01_made_up.ipynb"
    )
    done = nbformat.read(tmp_path / "out" / path.name, as_version=4)
    assert done.cells[0].outputs[0]["text"] == "1 notebooks/01_made_up.ipynb\n"
    import sys

    assert done.cells[1].outputs[0]["text"].strip() == sys.executable  # this Python's kernel
    assert (tmp_path / "out" / "written.txt").is_file()  # ran in the staged folder ...
    assert path.read_bytes() == before and sorted(p.name for p in path.parent.iterdir()) == [
        path.name
    ]


def test_execute_notebook_names_the_failing_cell(tmp_path):
    path = _notebook(tmp_path, "x = 1", "y = x + 1\nassert y == 3, f'y is {y}'", "print('never')")
    with pytest.raises(CommandError) as e:
        website.execute_notebook(path, tmp_path / "out" / path.name)
    message = str(e.value)
    assert message.startswith(
        "01_made_up.ipynb: cell 1 (y = x + 1) failed:\nAssertionError: y is 2"
    )
    assert "\x1b[" not in message  # no terminal colour codes in the build's error
    assert not (tmp_path / "out" / path.name).exists()


def test_execute_notebook_refuses_a_live_widget(tmp_path):
    path = _notebook(tmp_path, "import ipywidgets\nipywidgets.IntSlider()")
    with pytest.raises(CommandError, match=r"cell 0 \(import ipywidgets\) displays a live widget"):
        website.execute_notebook(path, tmp_path / "out" / path.name)


# --- where it is published ------------------------------------------------------------------------


def test_readme_and_workflow_say_how_the_site_is_built_and_where_it_is():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"[{_course.site_url()}]({_course.site_url()})" in readme
    assert "python -m vitlearn build-site" in readme
    workflow = (ROOT / ".github" / "workflows" / "site.yml").read_text(encoding="utf-8")
    assert "branches: [main]" in workflow and _course.BRANCH == "main"
    assert "pip install -r requirements.txt" in workflow
    assert "python -m vitlearn build-site _build/html --strict" in workflow
    assert "actions/upload-pages-artifact" in workflow and "actions/deploy-pages" in workflow
    conf = (ROOT / "docs" / "site" / "conf.py").read_text(encoding="utf-8")
    assert "html_baseurl = _course.site_url()" in conf


# --- build_site end to end, on a made-up one-notebook course (a kernel and a Sphinx run) ----------


@pytest.mark.slow
def test_build_site_on_a_tiny_course_and_a_failing_rebuild_keeps_the_old_site(tmp_path):
    import shutil

    root = tmp_path / "course"
    shutil.copytree(ROOT / "docs" / "site", root / "docs" / "site")
    (root / "README.md").write_text(
        "# Tiny course\n\n[the notebook](notebooks/01_tiny.ipynb), [licence](LICENSE)\n"
    )
    (root / "notebooks").mkdir()
    nb = _exercise_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells[0].source = "# 01 · Tiny"
    nb.cells[4].source = "print('checked', f(2))"
    nb.cells.append(
        nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nplt.plot([0, 1])\nplt.show()")
    )
    path = root / "notebooks" / "01_tiny.ipynb"
    nbformat.write(nb, path)
    before = path.read_bytes()
    out = tmp_path / "site"

    lines: list[str] = []
    build = website.build_site(out, notebooks=root / "notebooks", strict=True, log=lines.append)
    assert build.pages == [out.resolve() / "notebooks" / "01_tiny.html"] and build.warnings == []
    assert lines[0].startswith("executed 01_tiny.ipynb in ")
    page = build.pages[0].read_text(encoding="utf-8")
    assert "Show the solution" in page and "THE SOLUTION" in page  # collapsed, not left out
    assert "checked 4" in page and re.search(r'<img [^>]*src="\.\./_images/[^"]+\.png"', page)
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="notebooks/01_tiny.html"' in index
    assert f'href="{_course.REPO_URL}/blob/{_course.BRANCH}/LICENSE"' in index
    assert path.read_bytes() == before

    nb.cells.append(nbformat.v4.new_code_cell("1 / 0"))
    nbformat.write(nb, path)
    with pytest.raises(
        CommandError, match=r"01_tiny.ipynb: cell 6 \(1 / 0\) failed:\nZeroDivisionError"
    ):
        website.build_site(out, notebooks=root / "notebooks")
    assert (out / "notebooks" / "01_tiny.html").read_text(
        encoding="utf-8"
    ) == page  # old site intact
