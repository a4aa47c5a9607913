"""``python -m vitlearn release-student OUTDIR``: the student edition of the course.

The instructor edition (the repository's ``notebooks/``) keeps each exercise's solution in a code
cell tagged ``solution``, right after the student's stub (tagged ``exercise``) and before the
checker (tagged ``check``). The student edition is the same notebooks with:

- every cell tagged ``solution`` removed, by nbconvert's ``TagRemovePreprocessor``;
- outputs and execution counts cleared (``ClearOutputPreprocessor``) and notebook-level metadata
  other than the kernel's dropped (``ClearMetadataPreprocessor``; cell tags are kept, so a student
  can still see which cell is the exercise and which the checker);
- the "Open in Colab" badge in the first cell pointing at the student edition's own path.

Layout written (OUTDIR is laid out like a course repository, so it can be committed as is)::

    OUTDIR/README.md                 how to open and work through the notebooks
    OUTDIR/notebooks/NN_topic.ipynb  one student notebook per course notebook

The badge path is ``OUTDIR/notebooks/NN_topic.ipynb`` relative to the repository root when OUTDIR is
inside the repository; otherwise ``student/notebooks/NN_topic.ipynb`` (where the course publishes
its student edition), or the folder given with ``--colab-path``.

nbconvert is needed by this command only and is imported when the command runs.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from .._command import CommandError
from .course import badge_markdown, colab_url

HELP = "write the student edition of every notebook (solution cells removed, outputs cleared)"

NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
"""The course's notebooks, numbered in reading order."""

SOLUTION_TAG = "solution"
DEFAULT_COLAB_DIR = "student/notebooks"
"""Where the badges point when OUTDIR is outside the repository and no ``--colab-path`` is given."""

_BADGE_RE = re.compile(r"\[!\[Open in Colab\]\([^)]*\)\]\([^)]*\)")
_KEEP_NB_METADATA = frozenset({"kernelspec", "language_info", "colab"})


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "outdir",
        metavar="OUTDIR",
        type=Path,
        help="folder to write into: OUTDIR/notebooks/NN_topic.ipynb and OUTDIR/README.md",
    )
    p.add_argument(
        "--notebooks",
        metavar="DIR",
        type=Path,
        default=None,
        help="the instructor notebooks (default: the repository's notebooks/ folder, found next to "
        "the vitlearn package, else ./notebooks)",
    )
    p.add_argument(
        "--colab-path",
        metavar="PATH",
        default=None,
        help="folder, relative to the repository root, that the Colab badges point into (default: "
        f"OUTDIR/notebooks if OUTDIR is inside the repository, else {DEFAULT_COLAB_DIR})",
    )


def run(args: argparse.Namespace) -> None:
    written = release_student(args.outdir, notebooks=args.notebooks, colab_path=args.colab_path)
    out_nb = Path(args.outdir) / "notebooks"
    print(
        f"wrote {len(written)} student notebooks to {out_nb}/ and {Path(args.outdir) / 'README.md'}"
    )
    for path, removed in written:
        print(f"  {path.name}: {removed} solution cell{'s' if removed != 1 else ''} removed")


def find_notebooks_dir(notebooks: Path | str | None = None) -> Path:
    """The instructor notebooks folder: ``notebooks`` if given, else the repository's
    ``notebooks/``.

    The repository's folder is looked for next to the installed package (an editable install or a
    checkout), then in the current working directory. Raises :class:`CommandError` naming every
    place it looked.
    """
    if notebooks is not None:
        folder = Path(notebooks)
        if not folder.is_dir():
            raise CommandError(f"the notebooks folder {folder} does not exist")
        return folder.resolve()
    candidates = [Path(__file__).resolve().parents[2] / "notebooks", Path.cwd() / "notebooks"]
    for folder in candidates:
        if folder.is_dir():
            return folder.resolve()
    looked = " and ".join(str(c) for c in dict.fromkeys(candidates))
    raise CommandError(f"no notebooks folder found (looked in {looked}); pass --notebooks DIR")


def course_notebooks(notebooks: Path | str | None = None) -> tuple[Path, list[Path]]:
    """The instructor notebooks folder and its ``NN_*.ipynb`` files, in reading order.

    Raises :class:`CommandError` when the folder cannot be found or holds no notebook.
    """
    source = find_notebooks_dir(notebooks)
    files = sorted(source.glob(NOTEBOOK_GLOB))
    if not files:
        raise CommandError(f"no notebooks named {NOTEBOOK_GLOB} in {source}")
    return source, files


def _repo_root(source: Path) -> Path:
    """The repository holding ``source``: the nearest folder above it with .git or
    pyproject.toml."""
    for folder in source.parents:
        if (folder / ".git").exists() or (folder / "pyproject.toml").is_file():
            return folder
    return source.parent


def is_within(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies inside it."""
    return path == folder or folder in path.parents


def import_nbconvert(command: str, remove_tags: frozenset[str] = frozenset()) -> Any:
    """``(nbformat, preprocessors)``: the cleaning every released notebook goes through.

    The preprocessors drop the cells tagged with any of ``remove_tags``, clear outputs and
    execution counts, and drop notebook metadata other than the kernel's (cell metadata, tags
    included, is kept). ``command`` names the command in the error raised when nbconvert is
    missing.
    """
    try:
        import nbformat
        from nbconvert.preprocessors import (
            ClearMetadataPreprocessor,
            ClearOutputPreprocessor,
            TagRemovePreprocessor,
        )
    except ImportError as e:
        raise CommandError(
            f"{command} needs nbconvert ({e}); install it with `pip install nbconvert`"
        ) from None
    preprocessors = [
        ClearOutputPreprocessor(enabled=True),
        ClearMetadataPreprocessor(
            enabled=True,
            clear_cell_metadata=False,
            clear_notebook_metadata=True,
            preserve_nb_metadata_mask=set(_KEEP_NB_METADATA),
        ),
    ]
    if remove_tags:
        preprocessors.insert(
            0, TagRemovePreprocessor(remove_cell_tags=set(remove_tags), enabled=True)
        )
    return nbformat, tuple(preprocessors)


def clean_notebook(nb: Any, preprocessors: tuple[Any, ...]) -> Any:
    """``nb`` run through ``preprocessors`` (from :func:`import_nbconvert`)."""
    resources: dict[str, Any] = {}
    for pre in preprocessors:
        nb, resources = pre.preprocess(nb, resources)
    return nb


def remove_badge(nb: Any) -> bool:
    """Take the Colab badge(s) out of the first cell; return whether there was one."""
    first = nb.cells[0] if nb.cells else None
    if first is None or first.cell_type != "markdown" or not _BADGE_RE.search(first.source):
        return False
    first.source = re.sub(r"\n{3,}", "\n\n", _BADGE_RE.sub("", first.source)).strip()
    return True


def _rewrite_badge(nb: Any, colab_file: str, name: str) -> None:
    """Point the Colab badge(s) in the first cell at ``colab_file``; add one if there is none."""
    badge = badge_markdown(colab_file)
    first = nb.cells[0] if nb.cells else None
    if first is not None and first.cell_type == "markdown" and _BADGE_RE.search(first.source):
        first.source = _BADGE_RE.sub(lambda _: badge, first.source)
        return
    print(
        f"warning: {name}: the first cell has no Colab badge; added one pointing at {colab_file}",
        file=sys.stderr,
    )
    if first is not None and first.cell_type == "markdown":
        head, _, rest = first.source.partition("\n")
        if head.startswith("#"):  # keep the title first
            first.source = f"{head}\n\n{badge}\n\n{rest.lstrip()}".rstrip()
        else:
            first.source = f"{badge}\n\n{first.source}"
    else:
        import nbformat

        nb.cells.insert(0, nbformat.v4.new_markdown_cell(badge))


def release_student(
    outdir: Path | str,
    notebooks: Path | str | None = None,
    colab_path: str | None = None,
) -> list[tuple[Path, int]]:
    """Write the student edition of every ``NN_*.ipynb`` in ``notebooks`` into ``outdir``.

    Returns ``(written path, number of solution cells removed)`` per notebook, in reading order.
    Raises :class:`CommandError` if there are no notebooks, if ``outdir`` would write into the
    instructor notebooks folder, or if nbconvert is missing.
    """
    source, files = course_notebooks(notebooks)
    out = Path(outdir).resolve()
    out_nb = out / "notebooks"
    if is_within(out, source) or out_nb == source:
        raise CommandError(
            f"refusing to write the student edition into the instructor notebooks folder {source}: "
            "choose another OUTDIR (e.g. student/)"
        )
    if colab_path is None:
        root = _repo_root(source)
        colab_path = (
            out_nb.relative_to(root).as_posix() if is_within(out, root) else DEFAULT_COLAB_DIR
        )
    colab_path = colab_path.strip("/")

    nbformat, preprocessors = import_nbconvert("release-student", frozenset({SOLUTION_TAG}))
    out_nb.mkdir(parents=True, exist_ok=True)
    written: list[tuple[Path, int]] = []
    for path in files:
        nb = nbformat.read(path, as_version=4)
        before = len(nb.cells)
        nb = clean_notebook(nb, preprocessors)
        _rewrite_badge(nb, f"{colab_path}/{path.name}", path.name)
        nbformat.validate(nb)
        target = out_nb / path.name
        nbformat.write(nb, target)
        written.append((target, before - len(nb.cells)))

    names = {p.name for p in files}
    stale = sorted(p.name for p in out_nb.glob(NOTEBOOK_GLOB) if p.name not in names)
    if stale:
        print(
            f"warning: {out_nb} also holds notebooks that are not in {source} (left as they are): "
            + ", ".join(stale),
            file=sys.stderr,
        )
    (out / "README.md").write_text(
        _student_readme([p.name for p in files], colab_path), encoding="utf-8"
    )
    return written


def _student_readme(names: list[str], colab_path: str) -> str:
    rows = "\n".join(f"| {n} | [Open in Colab]({colab_url(f'{colab_path}/{n}')}) |" for n in names)
    return f"""\
# From image to tokens: how a Vision Transformer sees (student edition)

These are the course's notebooks with the exercise solutions taken out. Work through them in order.

| Notebook | Colab |
|---|---|
{rows}

## Running the notebooks

- **Colab**: use the links above. The first code cell installs the course's helper package
  `vitlearn`; run the notebook from the top.
- **Your own computer or a class server**: in a clone of the course repository, run
  `pip install -r requirements.txt` (it installs `vitlearn` too), then `jupyter lab`, and open
  the notebooks of this edition (the `notebooks/` folder next to this README), starting with 00.

## Exercises

Each exercise is a function to write. The cell tagged `exercise` holds its stub: replace
`raise NotImplementedError` with your code and run the cell. The cell after it (tagged `check`)
runs a checker on your function and says what it expected and what it got. It never stops the
notebook: an untouched stub is reported as "not done yet", and the rest of the notebook uses the
course's own implementation, so "Run All" always reaches the end.
"""
