"""Every notebook opens with the same two cells, made from ``vitlearn.editions.course``.

Cell 0 carries the notebook's own "Open in Colab" badge, cell 1 is the setup cell. The setup cell
is also *run* here the way Colab runs it: with a ``google.colab`` module importable, in a fresh
virtual environment (so its ``pip install`` lands there, not in this one), cloning a local
snapshot of this checkout instead of GitHub. It must make ``import vitlearn`` work in the same
process, from the clone, with the sample photos found from any working directory.
"""

from __future__ import annotations

import json
import os
import re
import site
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from vitlearn.editions import course as _course

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(ROOT.glob("notebooks/[0-9][0-9]_*.ipynb"))

IDS = [p.name for p in NOTEBOOKS]


def _cells(path: Path) -> list:
    return nbformat.read(path, as_version=4).cells


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_cell0_has_this_notebooks_badge(path: Path) -> None:
    cell = _cells(path)[0]
    assert cell.cell_type == "markdown", f"{path.name}: cell 0 must be markdown"
    badge = _course.badge_markdown(f"notebooks/{path.name}")
    assert cell.source.count(badge) == 1, (
        f"{path.name}: cell 0 must contain exactly once the line\n{badge}\n"
        f"(vitlearn.editions.course.badge_markdown('notebooks/{path.name}')); "
        f"cell 0 is:\n{cell.source}"
    )
    colab_links = re.findall(r"https://colab\.research\.google\.com/github/[^\s)]+", cell.source)
    assert colab_links == [_course.colab_url(f"notebooks/{path.name}")], (
        f"{path.name}: cell 0 links to Colab pages other than its own: {colab_links}"
    )
    assert cell.source.lstrip().startswith("# "), f"{path.name}: cell 0 must start with a # title"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_cell1_is_the_setup_cell(path: Path) -> None:
    cell = _cells(path)[1]
    assert cell.cell_type == "code", f"{path.name}: cell 1 must be the setup code cell"
    assert cell.source.rstrip("\n") == _course.SETUP_CELL.rstrip("\n"), (
        f"{path.name}: cell 1 differs from vitlearn.editions.course.SETUP_CELL; paste that string"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_setup_imports_and_solutions_are_folded_away(path: Path) -> None:
    """The lesson comes first: the setup cell, the imports cell and every solution carry the
    metadata that folds their code away in Colab (a form showing the title line) and JupyterLab."""
    cells = _cells(path)
    folded = {1: "the setup cell", 2: "the imports cell"}
    folded |= {
        i: f"the solution in cell {i}"
        for i, c in enumerate(cells)
        if "solution" in c.metadata.get("tags", [])
    }
    for i, what in folded.items():
        meta = cells[i].metadata
        shown = {k: meta.get(k) for k in _course.COLLAPSED}
        assert shown == _course.COLLAPSED, (
            f"{path.name}: {what} must carry the metadata {_course.COLLAPSED}, has {shown}"
        )
    assert cells[2].source.startswith(_course.IMPORTS_TITLE + "\n"), (
        f"{path.name}: the imports cell must start with the line {_course.IMPORTS_TITLE!r}"
    )
    for i in folded.keys() - {1, 2}:
        assert cells[i].source.startswith(_course.SOLUTION_TITLE + "\n"), (
            f"{path.name}: cell {i} (a solution) must start with {_course.SOLUTION_TITLE!r}"
        )
    others = [
        i
        for i, c in enumerate(cells)
        if i not in folded and c.cell_type == "code" and c.metadata.get("jupyter")
    ]
    assert not others, (
        f"{path.name}: cells {others} are folded, but only setup, imports, solutions are"
    )


def test_repo_url_is_written_in_one_place() -> None:
    url = _course.REPO_URL
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url), url
    assert url in _course.SETUP_CELL
    owner_name = url.removeprefix("https://github.com/")
    assert f"/github/{owner_name}/blob/{_course.BRANCH}/" in _course.colab_url("notebooks/x.ipynb")
    # The literal appears once in the package: everything else derives from _course.REPO_URL.
    hits = [
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "vitlearn").rglob("*.py")
        for _ in range(p.read_text(encoding="utf-8").count(owner_name))
    ]
    assert hits == ["vitlearn/editions/course.py"], f"{owner_name!r} written in: {hits}"
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    homepage = re.search(r'^Homepage\s*=\s*"([^"]+)"', pyproject, re.M)
    assert homepage and homepage.group(1) == url, "pyproject.toml Homepage != REPO_URL"


def test_readme_colab_links_point_at_existing_notebooks() -> None:
    readme = ROOT / "README.md"
    if not readme.exists():
        pytest.skip("README.md not written yet")
    text = readme.read_text(encoding="utf-8")
    for link in re.findall(r"https://colab\.research\.google\.com/github/[^\s)\"']+", text):
        prefix = _course.colab_url("")
        assert link.startswith(prefix), f"README Colab link {link} does not start with {prefix}"
        target = ROOT / link.removeprefix(prefix)
        assert target.is_file(), f"README links to {link}, but {target} does not exist"


# --- the setup cell, executed as Colab would ---------------------------------------------------

_PROBE = textwrap.dedent(
    """
    import json, os, sys
    import google.colab  # noqa: F401  (Colab has it imported before any cell runs)
    path_before = list(sys.path)
    exec(compile(os.environ["SETUP_SOURCE"], "<setup cell>", "exec"))
    import subprocess
    calls = []
    real_run, subprocess.run = subprocess.run, lambda *a, **k: calls.append(a) or real_run(*a, **k)
    exec(compile(os.environ["SETUP_SOURCE"], "<setup cell>", "exec"))  # "Run all" a second time
    subprocess.run = real_run
    import vitlearn
    os.chdir(os.environ["OTHER_CWD"])
    image = vitlearn.load_image(vitlearn.list_images()[0], 32)
    print(json.dumps({
        "vitlearn": vitlearn.__file__,
        "images": vitlearn.list_images(),
        "shape": list(image.shape),
        "prefix": sys.prefix,
        "added_to_path": [p for p in sys.path if p not in path_before],
        "second_run_calls": len(calls),
    }))
    """
)


def _run(cmd: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (
        f"{cmd[:3]} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done.stdout


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VITLEARN_", "PYTHON"))}
    env.update(extra)
    return env


def _colab_like(
    tmp_path: Path, course_clone: Path, **extra: str
) -> tuple[str, dict[str, str], Path]:
    """A fresh venv, a ``google.colab`` stand-in and the environment the setup cell runs in."""
    stub = tmp_path / "stub"
    (stub / "google" / "colab").mkdir(parents=True)  # no google/__init__.py: stays a namespace
    (stub / "google" / "colab" / "__init__.py").write_text('"""Stand-in for Colab."""\n')
    venv = tmp_path / "venv"
    # --without-pip: the cell's `python -m pip` is this environment's pip, installing into the
    # new venv's own site-packages. torch & co. come from this environment too: a .pth file puts
    # its site-packages on the new venv's path. (--system-site-packages would not do: from inside
    # a venv it reaches the base interpreter's packages, not this environment's.) Folders named in
    # a .pth file are not scanned for .pth files themselves, so this environment's editable
    # install of vitlearn stays out of the new venv.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    new_site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(new_site) / "outer-environment.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    home = tmp_path / "content" / "vitlearn"
    other = tmp_path / "elsewhere"
    other.mkdir()
    env = _clean_env(
        PYTHONPATH=str(stub),
        VITLEARN_REPO=course_clone.as_uri(),
        VITLEARN_HOME=str(home),
        SETUP_SOURCE=_course.SETUP_CELL,
        OTHER_CWD=str(other),
        PIP_NO_INPUT="1",
        **extra,
    )
    return python, env, home


def test_setup_cell_in_colab_installs_the_clone(course_clone: Path, tmp_path: Path) -> None:
    python, env, home = _colab_like(tmp_path, course_clone)
    out = json.loads(_run([python, "-c", _PROBE], env, cwd=tmp_path).splitlines()[-1])

    assert (home / ".git").is_dir(), "the setup cell did not clone the repository"
    assert Path(out["vitlearn"]).resolve() == (home / "vitlearn" / "__init__.py").resolve()
    assert out["images"] and out["shape"] == [3, 32, 32]
    assert Path(out["prefix"]) == Path(python).parents[1]
    assert out["added_to_path"] == [str(home)]
    assert out["second_run_calls"] == 0, "running the cell again cloned or installed again"
    assert (home / _course.INSTALLED_MARKER).read_text() == _course.BRANCH

    # The editable install went into the venv: a new process there finds the clone without the
    # cell's sys.path insert, while this environment still imports its own checkout.
    other = env["OTHER_CWD"]
    where = "import importlib.util as u; print(u.find_spec('vitlearn').origin)"
    fresh = _run([python, "-c", where], env, cwd=Path(other))
    assert Path(fresh.strip()).resolve().is_relative_to(home.resolve())
    new_site = next(Path(python).parents[1].glob("lib/python3*/site-packages"))
    assert list(new_site.glob("*vitlearn*")), "pip installed vitlearn outside the venv"
    mine = _run([sys.executable, "-c", where], _clean_env(), cwd=Path(other))
    assert not Path(mine.strip()).resolve().is_relative_to(home.resolve())


def test_setup_cell_recovers_from_an_interrupted_setup(course_clone: Path, tmp_path: Path) -> None:
    """A runtime stopped during the clone leaves a folder without the marker: the cell starts
    over."""
    python, env, home = _colab_like(tmp_path, course_clone)
    (home / ".git").mkdir(parents=True)
    (home / "half-copied.txt").write_text("the clone was interrupted here")
    out = json.loads(_run([python, "-c", _PROBE], env, cwd=tmp_path).splitlines()[-1])
    assert Path(out["vitlearn"]).resolve() == (home / "vitlearn" / "__init__.py").resolve()
    assert not (home / "half-copied.txt").exists()
    assert (home / _course.INSTALLED_MARKER).read_text() == _course.BRANCH


def test_setup_cell_installs_the_version_it_names(course_clone: Path, tmp_path: Path) -> None:
    """The cell clones its own branch or tag, and replaces a clone of another version."""
    tag = "v-setup-test"
    tags = _git_out("tag", "--list", tag, cwd=course_clone)
    if not tags.strip():
        _git_out("checkout", "--quiet", "-b", "setup-test", cwd=course_clone)
        (course_clone / "VERSION-SETUP-TEST").write_text(tag)
        _git_out("add", "VERSION-SETUP-TEST", cwd=course_clone)
        _git_out(
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t.invalid",
            "commit",
            "--quiet",
            "-m",
            tag,
            cwd=course_clone,
        )
        _git_out("tag", tag, cwd=course_clone)
        _git_out("checkout", "--quiet", "main", cwd=course_clone)
    python, env, home = _colab_like(tmp_path, course_clone, VITLEARN_BRANCH=tag)
    run_cell = "import os; exec(compile(os.environ['SETUP_SOURCE'], '<setup cell>', 'exec'))"
    _run([python, "-c", "import google.colab; " + run_cell], env, cwd=tmp_path)
    assert (home / "VERSION-SETUP-TEST").read_text() == tag
    assert (home / _course.INSTALLED_MARKER).read_text() == tag
    env["VITLEARN_BRANCH"] = "main"
    _run([python, "-c", "import google.colab; " + run_cell], env, cwd=tmp_path)
    assert not (home / "VERSION-SETUP-TEST").exists()
    assert (home / _course.INSTALLED_MARKER).read_text() == "main"


def _git_out(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def test_setup_cell_outside_colab_does_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    probe = (
        "import json, os, sys\n"
        "before = (list(sys.path), set(sys.modules))\n"
        "exec(compile(os.environ['SETUP_SOURCE'], '<setup cell>', 'exec'))\n"
        "print(json.dumps({'path_same': sys.path == before[0],"
        " 'new_modules': sorted(set(sys.modules) - before[1])}))\n"
    )
    env = _clean_env(
        VITLEARN_REPO=str(tmp_path / "nowhere"),
        VITLEARN_HOME=str(home),
        SETUP_SOURCE=_course.SETUP_CELL,
    )
    out = json.loads(_run([sys.executable, "-c", probe], env, cwd=tmp_path))
    assert out["path_same"]
    assert "subprocess" not in out["new_modules"] and "google.colab" not in out["new_modules"]
    assert not home.exists()


def _requirements(path: Path) -> dict[str, str]:
    """``{name: specifier}`` of a requirements file (options and ``-e .`` left out)."""
    reqs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name = re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0]
            reqs[name.lower()] = line[len(name) :].strip()
    return reqs


def test_binder_installs_the_course_runtime() -> None:
    """Binder gets what requirements.txt lists, with the same ranges, plus vitlearn itself; only
    torch differs: a CPU build from PyTorch's index, pinned inside requirements.txt's range."""
    from packaging.specifiers import SpecifierSet

    binder = ROOT / "binder"
    course = _requirements(ROOT / "requirements.txt")
    theirs = _requirements(binder / "requirements.txt")
    assert set(course) == set(theirs)
    for name, spec in course.items():
        if name != "torch":
            assert theirs[name] == spec, (
                f"binder has {name}{theirs[name]}, requirements.txt {name}{spec}"
            )
    pinned = theirs["torch"].removeprefix("==").replace("*", "0")
    assert pinned in SpecifierSet(course["torch"]), (theirs["torch"], course["torch"])
    assert "download.pytorch.org/whl/cpu" in (binder / "requirements.txt").read_text()
    assert "pip install --no-cache-dir --no-deps -e ." in (binder / "postBuild").read_text()
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for name in ("numpy", "matplotlib", "torch", "pillow", "ipywidgets"):
        assert f'"{name}{course[name]}"' in pyproject, f"pyproject.toml disagrees on {name}"
