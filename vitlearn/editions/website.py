"""``python -m vitlearn build-site [OUT]``: the course as a static website.

The notebooks are stored without outputs. This command executes every notebook and renders it,
with its text, code, figures and printed results, into a static HTML site (default
``_build/html``), built by Sphinx with MyST-NB and the book theme:

- the front page is the README (course map and syllabus), then one page per notebook in reading
  order, the teachers' guide (``docs/SYLLABUS.md``) and an API page generated from the
  docstrings of ``vitlearn``'s public names;
- every notebook page has a sidebar, search, and "launch in Colab" / "launch on Binder" links
  (the same links as the notebook's own badge and the README's Binder badge);
- exercise solutions (cells tagged ``solution``) are collapsed behind a click (default), left
  out, or shown: ``--solutions {collapsed,omit,shown}``;
- an explorer (a live ipywidget) cannot run on a static page: each shows its first figure as an
  image and one line saying where the live version runs (see ``vitlearn/widgets/_static.py``).

Everything is built from a staged copy in a temporary folder: ``notebooks/`` is only read, and
nothing is fetched from the network (MathJax comes from the ``sphinx-mathjax-offline`` wheel,
the theme's assets from its wheel, and MyST-NB's CDN scripts for live widgets are switched off).
Why Sphinx rather than Jupyter Book 2 (mystmd): mystmd downloads its site theme from
api.mystmd.org at build time, so it cannot build offline.

The site tools (sphinx, myst-nb, sphinx-book-theme, sphinx-mathjax-offline) are imported only
when the command runs, with a clear message if they are missing.
"""

from __future__ import annotations

import argparse
import inspect
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._command import CommandError
from .course import BRANCH, REPO_URL
from .static import NOTEBOOK_ENV, STATIC_ENV
from .student import NOTEBOOK_GLOB, SOLUTION_TAG, find_notebooks_dir

HELP = "build the course's website: every notebook executed and rendered, plus the API reference"

SOLUTIONS = ("collapsed", "omit", "shown")
"""What the site does with the cells tagged ``solution``: collapse behind a click, omit, show."""

DEFAULT_OUT = Path("_build") / "html"
SITE_SOURCES = Path("docs") / "site"
"""The site's configuration (conf.py, stylesheet), relative to the repository root."""

EXTRA_PAGES = (Path("docs") / "SYLLABUS.md", Path("docs") / "GLOSSARY.md")
"""Markdown pages of the repository that become pages of the site, at the same path."""

CELL_TIMEOUT_S = 600
"""Default limit for one cell; a notebook takes a minute at most on 2 cores."""

# The packages the build imports, with the distribution that provides each one.
_TOOLS = {
    "sphinx": "sphinx",
    "myst_nb": "myst-nb",
    "sphinx_book_theme": "sphinx-book-theme",
    "sphinx-mathjax-offline": "sphinx-mathjax-offline",
    "nbclient": "nbclient",
    "ipykernel": "ipykernel",
}

# The public API, section by section, in the order the README's module table teaches it.
_API_ORDER = (
    "patches",
    "images",
    "embedding",
    "posenc",
    "resample",
    "flexi",
    "models",
    "data",
    "plot",
    "widgets",
    "exercises",
)

_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_MD_LINK = re.compile(r"(!?\[[^\]]*\])\(([^)\s]+)\)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "out",
        metavar="OUT",
        type=Path,
        nargs="?",
        default=DEFAULT_OUT,
        help=f"folder to write the site into (default: {DEFAULT_OUT}); a previous site build there "
        "is replaced, any other non-empty folder is refused",
    )
    p.add_argument(
        "--solutions",
        choices=SOLUTIONS,
        default="collapsed",
        help="exercise solutions: collapsed behind a 'Show the solution' click (default), omit "
        "(the page is the student edition: solution cells removed before execution), or shown",
    )
    p.add_argument(
        "--timeout",
        type=int,
        default=CELL_TIMEOUT_S,
        metavar="SECONDS",
        help=f"limit for one notebook cell (default: {CELL_TIMEOUT_S})",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="fail if Sphinx prints any warning (CI builds this way)",
    )


def run(args: argparse.Namespace) -> None:
    t0 = time.monotonic()
    build = build_site(
        args.out, solutions=args.solutions, timeout=args.timeout, strict=args.strict, log=print
    )
    print(
        f"wrote {build.out} ({len(build.pages)} notebook pages, solutions {build.solutions}, "
        f"{len(build.warnings)} Sphinx warning{'s' if len(build.warnings) != 1 else ''}) "
        f"in {time.monotonic() - t0:.0f} s; open {build.out / 'index.html'}"
    )


@dataclass
class SiteBuild:
    """What :func:`build_site` wrote."""

    out: Path
    """The site's folder; ``out / "index.html"`` is the front page."""
    solutions: str
    pages: list[Path] = field(default_factory=list)
    """One HTML page per notebook, in reading order."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Execution time of each notebook."""
    warnings: list[str] = field(default_factory=list)
    """Sphinx's warnings, one per item (empty on a clean build)."""


def build_site(
    out: Path | str = DEFAULT_OUT,
    *,
    solutions: str = "collapsed",
    timeout: int = CELL_TIMEOUT_S,
    strict: bool = False,
    notebooks: Path | str | None = None,
    log: Callable[[str], None] | None = None,
) -> SiteBuild:
    """Execute every notebook and build the course's website into ``out``.

    ``solutions`` is one of :data:`SOLUTIONS`; ``timeout`` limits each cell (seconds); ``strict``
    turns Sphinx warnings into a failure; ``notebooks`` is the course folder (default: the
    repository's ``notebooks/``); ``log`` receives one line per step.

    Raises :class:`~vitlearn.editions.cli.CommandError` when a tool is missing, when ``out`` is not
    a folder it may write, or when a notebook fails (naming the notebook, the cell and the error).
    """
    if solutions not in SOLUTIONS:
        raise ValueError(f"solutions must be one of {', '.join(SOLUTIONS)}, got {solutions!r}")
    if not isinstance(timeout, int) or timeout < 1:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    say = log or (lambda _line: None)
    _require_tools()
    source = find_notebooks_dir(notebooks)
    files = sorted(source.glob(NOTEBOOK_GLOB))
    if not files:
        raise CommandError(f"no notebooks named {NOTEBOOK_GLOB} in {source}")
    root = source.parent
    conf_dir = root / SITE_SOURCES
    if not (conf_dir / "conf.py").is_file():
        raise CommandError(
            f"no site configuration at {conf_dir / 'conf.py'}: build-site runs from a clone of the "
            "course repository"
        )
    target = _check_out(Path(out), root, source)

    build = SiteBuild(out=target, solutions=solutions)
    with tempfile.TemporaryDirectory(prefix="vitlearn-site-") as tmp:
        src = Path(tmp) / "src"
        docs = stage_sources(root, files, src)
        for path in files:
            t0 = time.monotonic()
            execute_notebook(
                path,
                src / "notebooks" / path.name,
                solutions=solutions,
                timeout=timeout,
                repo_path=f"notebooks/{path.name}",
            )
            build.seconds[path.name] = time.monotonic() - t0
            say(f"executed {path.name} in {build.seconds[path.name]:.1f} s")
        say(f"rendering {len(docs)} pages with Sphinx")
        built = Path(tmp) / "html"
        build.warnings = _sphinx(src, Path(tmp) / "doctrees", built, strict=strict)
        # Only a complete build replaces the previous one: a failure above leaves it as it was.
        _replace(target, built)
    for line in build.warnings:
        say(f"warning: {line}")
    build.pages = [target / "notebooks" / f"{p.stem}.html" for p in files]
    missing = [p.name for p in build.pages if not p.is_file()]
    if missing:
        raise CommandError(f"Sphinx wrote no page for {', '.join(missing)} in {target}")
    return build


# ---- checks before anything is written ---------------------------------------------------------


def _require_tools() -> None:
    import importlib.util

    missing = sorted(
        {dist for mod, dist in _TOOLS.items() if importlib.util.find_spec(mod) is None}
    )
    if missing:
        raise CommandError(
            f"build-site needs {', '.join(missing)} (not installed); install the course's "
            "requirements: pip install -r requirements.txt"
        )


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _check_out(out: Path, root: Path, notebooks: Path) -> Path:
    """``out`` resolved, if the site may go there: an empty or new folder, or a previous build."""
    target = out.resolve()
    if (
        _is_within(target, notebooks)
        or _is_within(root, target)
        or _is_within(target, root / SITE_SOURCES)
    ):
        raise CommandError(
            f"refusing to write the site into {target}: it would mix with the course's sources; "
            f"choose a folder of its own (default: {DEFAULT_OUT})"
        )
    if target.exists():
        if not target.is_dir():
            raise CommandError(f"{target} exists and is not a folder")
        if any(target.iterdir()) and not (target / ".buildinfo").is_file():  # in every Sphinx build
            raise CommandError(
                f"{target} is not empty and holds no previous site build: choose an empty or new "
                "folder"
            )
    return target


def _replace(target: Path, built: Path) -> None:
    """Put the finished site ``built`` at ``target``, removing a previous build there (so no page of
    a renamed notebook is left behind)."""
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(built), str(target))


# ---- staging: the site's sources in a temporary folder ------------------------------------------


def stage_sources(root: Path, notebooks: list[Path], src: Path) -> list[str]:
    """Write the site's sources into ``src``; return their document names (without suffix).

    Copies ``docs/site`` (conf.py, stylesheet) and :data:`EXTRA_PAGES`, writes ``index.md`` from the
    README (course map and syllabus, links to files outside the site pointed at GitHub, and the
    sidebar's table of contents) and ``api.rst`` from the package's public names. The notebooks
    themselves are written by :func:`execute_notebook`.
    """
    shutil.copytree(root / SITE_SOURCES, src, ignore=shutil.ignore_patterns("__pycache__"))
    (src / "notebooks").mkdir()
    course = [f"notebooks/{p.stem}" for p in notebooks]
    extra = [page for page in EXTRA_PAGES if (root / page).is_file()]
    docs = {f"{d}.ipynb" for d in course} | {p.as_posix() for p in extra}
    for page in extra:
        (src / page).parent.mkdir(parents=True, exist_ok=True)
        text = (root / page).read_text(encoding="utf-8")
        (src / page).write_text(rewrite_links(text, docs, page.parent.as_posix()), encoding="utf-8")
    readme = (root / "README.md").read_text(encoding="utf-8")
    reference = [p.with_suffix("").as_posix() for p in extra] + ["api"]
    (src / "index.md").write_text(index_page(readme, docs, course, reference), encoding="utf-8")
    (src / "api.rst").write_text(api_page(), encoding="utf-8")
    return ["index", *course, *reference]


def index_page(readme: str, docs: Iterable[str], course: list[str], reference: list[str]) -> str:
    """The front page: the README, with links to files that are not pages of the site sent to
    GitHub, then the (hidden) tables of contents that make the sidebar."""
    return f"""{rewrite_links(readme, set(docs))}

```{{toctree}}
:caption: Course
:hidden:

{chr(10).join(course)}
```

```{{toctree}}
:caption: For teachers and the package
:hidden:

{chr(10).join(reference)}
```
"""


def rewrite_links(markdown: str, docs: set[str], base: str = "") -> str:
    """Point relative links of ``markdown`` that are not in ``docs`` at the repository on GitHub.

    ``docs`` holds the repository paths that are pages of the site (``notebooks/01_patches.ipynb``):
    links to them stay relative, so Sphinx turns them into links between pages. Every other
    relative link (``LICENSE``, ``images/SOURCES.md``, a folder) would be broken on the site.
    ``base`` is the folder of the page the links are in (``docs`` for ``docs/SYLLABUS.md``), so
    that ``../classroom/README.md`` there means ``classroom/README.md``.
    """

    def fix(m: re.Match[str]) -> str:
        text, target = m.group(1), m.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:|^#|^/", target, re.I):  # absolute URL, anchor, site root
            return m.group(0)
        relative, _, anchor = target.partition("#")
        path = posixpath.normpath(posixpath.join(base, relative)) + (
            "/" if relative.endswith("/") else ""
        )
        if path in docs:
            return m.group(0)
        kind = "tree" if path.endswith("/") else "blob"
        url = f"{REPO_URL}/{kind}/{BRANCH}/{path.strip('/')}" + (f"#{anchor}" if anchor else "")
        return f"{text}({url})"

    return _MD_LINK.sub(fix, markdown)


def api_names() -> dict[str, list[str]]:
    """The public names the API page documents, by module.

    E.g. ``{"vitlearn.patches": ["vitlearn.grid_shape", "vitlearn.patchify", ...], ...}``.

    The names of ``vitlearn.__all__`` (grouped by the module that defines them), then the public
    names of the modules ``__all__`` exports (``widgets``, ``exercises``, ``plot``).
    """
    import vitlearn

    sections: dict[str, list[str]] = {f"vitlearn.{m}": [] for m in _API_ORDER}
    for name in vitlearn.__all__:
        obj = getattr(vitlearn, name)
        if inspect.ismodule(obj):
            module = obj.__name__
            inner = getattr(obj, "__all__", None) or [
                n
                for n, o in vars(obj).items()
                if not n.startswith("_")
                and getattr(o, "__module__", None) == module
                and (inspect.isfunction(o) or inspect.isclass(o))
            ]
            sections.setdefault(module, []).extend(_documented_as(module, n) for n in inner)
        else:
            module = (
                obj.__module__
                if callable(obj)
                else _documented_as("vitlearn", name).rpartition(".")[0]
            )
            sections.setdefault(module, []).append(_documented_as("vitlearn", name))
    return {m: sorted(names, key=_source_line) for m, names in sections.items() if names}


def _source_line(name: str) -> int:
    """Where ``name`` is defined in its module: the API page keeps the modules' reading order."""
    import importlib

    owner, _, attr = name.rpartition(".")
    try:
        return inspect.getsourcelines(getattr(importlib.import_module(owner), attr))[1]
    except (TypeError, OSError):  # a constant has no source lines of its own
        return sys.maxsize


def api_page() -> str:
    """reST source of the API page: each module's docstring, then autodoc of its public names."""
    import importlib

    lines = [
        "API reference",
        "=============",
        "",
        "Every public name of ``vitlearn``, generated from its docstring. Shapes use the course's",
        "notation: ``B`` batch, ``C`` channels, ``H x W`` pixels, ``P`` patch size, ``N`` tokens,",
        "``D`` embedding width.",
        "",
    ]
    for module, names in api_names().items():
        title = f"``{module}``"
        lines += [title, "-" * len(title), "", f".. automodule:: {module}", "   :no-members:", ""]
        for name in names:
            owner, _, attr = name.rpartition(".")
            obj = getattr(importlib.import_module(owner), attr)
            if inspect.isclass(obj):
                lines += [f".. autoclass:: {name}", "   :members:", ""]
            elif callable(obj):
                lines += [f".. autofunction:: {name}", ""]
            else:
                lines += [f".. autodata:: {name}", "   :no-value:", ""]
    return "\n".join(lines)


def _documented_as(owner: str, attr: str) -> str:
    """The full name a public name is documented under: ``owner.attr``, except for a constant,
    which is documented where it is assigned (``QUIZ`` re-exported by ``vitlearn.exercises`` is
    ``vitlearn.exercises.quiz.QUIZ``): autodoc finds a constant's docstring, the string after the
    assignment, only in the module that assigns it."""
    import importlib

    obj = getattr(importlib.import_module(owner), attr)
    if callable(obj) or inspect.ismodule(obj):
        return f"{owner}.{attr}"
    assigned = re.compile(rf"^{re.escape(attr)}\s*[:=]", re.M)
    for name, module in sorted(sys.modules.items()):
        if (name == owner or name.startswith(owner + ".")) and getattr(module, attr, None) is obj:
            try:
                if assigned.search(inspect.getsource(module)):
                    return f"{name}.{attr}"
            except (OSError, TypeError):
                continue
    return f"{owner}.{attr}"


# ---- executing one notebook ---------------------------------------------------------------------


def prepare_notebook(nb: Any, solutions: str) -> Any:
    """Outputs cleared (the site shows what runs now, never what was committed), then the solution
    cells collapsed behind a "Show the solution" click, removed, or left as they are."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    solution_cells = [c for c in nb.cells if SOLUTION_TAG in c.get("metadata", {}).get("tags", [])]
    if solutions == "omit":
        nb.cells = [c for c in nb.cells if c not in solution_cells]
    elif solutions == "collapsed":
        for cell in solution_cells:
            cell.metadata["tags"] = [*cell.metadata["tags"], "hide-input"]  # MyST-NB: a <details>
            cell.metadata["mystnb"] = {
                "code_prompt_show": "Show the solution",
                "code_prompt_hide": "Hide the solution",
            }
    return nb


def execute_notebook(
    path: Path,
    dest: Path,
    *,
    solutions: str = "collapsed",
    timeout: int = CELL_TIMEOUT_S,
    repo_path: str | None = None,
) -> None:
    """Run ``path`` top to bottom in a fresh kernel of this Python, in ``dest``'s folder, and write
    the executed notebook to ``dest``.

    The kernel runs with ``$VITLEARN_STATIC_WIDGETS`` set (widgets show their static form) and
    ``$VITLEARN_NOTEBOOK`` = ``repo_path``. Raises :class:`CommandError` naming the notebook and the
    cell if a cell fails or times out, or if a cell displays a live widget (a static page would
    show an empty box or an error there).
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellControlSignal, CellExecutionError, DeadKernelError

    nb = prepare_notebook(nbformat.read(path, as_version=4), solutions)
    env = dict(os.environ)
    env[STATIC_ENV] = "1"
    env[NOTEBOOK_ENV] = repo_path or f"notebooks/{path.name}"
    env.pop("MPLBACKEND", None)  # the kernel's own inline backend draws the figures
    current: dict[str, int] = {}

    def on_cell_execute(cell: Any, cell_index: int) -> None:
        current["index"] = cell_index

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        kernel_manager_class=_current_env_manager(),
        resources={"metadata": {"path": str(dest.parent)}},
        store_widget_state=False,
        on_cell_execute=on_cell_execute,
    )
    # The kernel's own output (startup notices, a crash report) goes to a file, not the build's
    # terminal; it is shown only if the kernel dies.
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as kernel_log:
        try:
            client.execute(env=env, stdout=kernel_log, stderr=kernel_log)
        except (
            CellExecutionError,
            CellControlSignal,
            DeadKernelError,
            TimeoutError,
            RuntimeError,
        ) as e:
            index = current.get("index")
            where = (
                f"cell {index} ({_first_line(nb.cells[index].source)})"
                if index is not None
                else "the kernel's start"
            )
            if isinstance(e, CellExecutionError):
                tb = _ANSI.sub("", e.traceback or "").strip().splitlines()
                detail = f"{e.ename}: {_ANSI.sub('', e.evalue)}\n" + "\n".join(tb[-12:])
            else:
                kernel_log.seek(0)
                said = kernel_log.read().strip().splitlines()
                detail = f"{type(e).__name__}: {_ANSI.sub('', str(e)).strip()}"
                if said:
                    detail += "\nthe kernel said:\n" + "\n".join(said[-12:])
            raise CommandError(f"{path.name}: {where} failed:\n{detail}") from None
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if _WIDGET_VIEW in output.get("data", {}):
                raise CommandError(
                    f"{path.name}: cell {index} ({_first_line(cell.source)}) displays a live "
                    "widget, which a static page cannot show; give it a static form for the site "
                    f"build (see vitlearn/widgets/_static.py, ${STATIC_ENV})"
                )
    nbformat.write(nb, dest)


def _first_line(source: str) -> str:
    line = next((ln.strip() for ln in source.splitlines() if ln.strip()), "")
    return line if len(line) <= 60 else line[:57] + "..."


def _current_env_manager() -> type:
    """A kernel manager whose "python3" kernel is this interpreter (whatever kernelspecs the
    machine has installed), like ``nbval --nbval-current-env``."""
    import ipykernel.kernelspec
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import KernelManager
    from traitlets import default

    class CurrentEnvSpecs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            return KernelSpec(
                resource_dir=ipykernel.kernelspec.RESOURCES,
                **ipykernel.kernelspec.get_kernel_dict(),
            )

    class CurrentEnvManager(KernelManager):
        @default("kernel_spec_manager")
        def _default_specs(self) -> KernelSpecManager:
            return CurrentEnvSpecs(parent=self)

    return CurrentEnvManager


# ---- rendering --------------------------------------------------------------------------------


def _sphinx(src: Path, doctrees: Path, out: Path, *, strict: bool) -> list[str]:
    """Run Sphinx's HTML builder in a child process (its global state stays out of the caller's);
    return its warnings."""
    warnings_file = doctrees.parent / "warnings.txt"
    strictness = ["-W", "--keep-going"] if strict else []  # every warning fails, all reported
    cmd = [
        sys.executable,
        "-m",
        "sphinx",
        "-b",
        "html",
        "-q",
        "-d",
        str(doctrees),
        "-w",
        str(warnings_file),
        *strictness,
        str(src),
        str(out),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    warnings = (
        [
            line
            for line in warnings_file.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith(" ")
        ]
        if warnings_file.is_file()
        else []
    )
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-20:])
        what = f"{len(warnings)} warning(s) in --strict mode" if strict and warnings else "an error"
        raise CommandError(f"Sphinx stopped with {what}:\n{tail}")
    return warnings
