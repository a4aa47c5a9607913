"""``python -m vitlearn working-time``: how long each notebook takes a student, from its cells.

Every working time the course states (a notebook's ``**Time:**`` line, the README's syllabus, the
teachers' guide) comes from this one estimate, so none drifts when a section moves. The model
(:data:`PROSE_WPM`, ...) is a reader's, not a runner's: the notebooks compute in seconds, reading
and thinking take the minutes.

- Prose is read at :data:`PROSE_WPM` words a minute, code at :data:`CODE_WPM` (a student reads a
  code cell, runs it and reads what it printed); link targets and image paths are not words.
- An exercise (a cell tagged ``exercise``) adds :data:`EXERCISE_MINUTES`, an explorer (a cell that
  makes a ``...Explorer(``) :data:`EXPLORER_MINUTES`, the quiz :data:`QUIZ_MINUTES_PER_QUESTION` a
  question.
- Not counted: the setup and imports cells (folded away), the solutions (a student opens one after
  trying, already counted in the exercise) and the further reading (links to follow later).

**Core path and deep dives.** A notebook is a deep dive when its first cell has a line starting
with :data:`DEEP_DIVE_NOTEBOOK` (``**Deep dive.**``); every other notebook is on the core path. In
any notebook, the sections under the level-2 heading :data:`DEEP_DIVES_HEADING`
(``## Deep dives``, each deep dive a ``###`` section under it, up to the next level-2 heading) are
optional. Each part is rounded to the nearest :data:`ROUND_TO` minutes.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._command import CommandError

HELP = "print each notebook's working time (core path and deep dives), from its words and exercises"

PROSE_WPM = 200
"""Words of prose a minute."""
CODE_WPM = 100
"""Words of code a minute (reading the cell, running it, reading its output)."""
EXERCISE_MINUTES = 5
"""Minutes per exercise: think, fill the stub, run the checker, fix once."""
EXPLORER_MINUTES = 3
"""Minutes per explorer: move each control a few times."""
QUIZ_MINUTES_PER_QUESTION = 1
ROUND_TO = 5
"""Each part is rounded to the nearest this many minutes (at least this many when not empty)."""

DEEP_DIVE_NOTEBOOK = "**Deep dive.**"
"""A line of the first cell of a notebook that is not on the core path starts with this."""
DEEP_DIVES_HEADING = "## Deep dives"
"""The level-2 heading under which a notebook keeps its optional sections."""
UNCOUNTED_HEADINGS = ("## Further reading",)

_LINK = re.compile(r"\]\([^)]*\)")  # the target of a Markdown link or image
_HEADING2 = re.compile(r"^## ", re.M)


@dataclass(frozen=True)
class WorkingTime:
    """One notebook's estimate, in minutes (unrounded) and rounded."""

    name: str
    deep_dive: bool
    """The whole notebook is a deep dive (not on the core path)."""
    core: float
    """Minutes of its core sections (for a deep-dive notebook: of everything before its own
    ``## Deep dives``)."""
    optional: float
    """Minutes of its ``## Deep dives`` sections."""

    @property
    def core_rounded(self) -> int:
        return _round(self.core)

    @property
    def optional_rounded(self) -> int:
        return _round(self.optional)


def _round(minutes: float) -> int:
    if minutes <= 0:
        return 0
    return max(ROUND_TO, ROUND_TO * math.floor(minutes / ROUND_TO + 0.5))


def _tags(cell: dict[str, Any]) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _cell_minutes(cell: dict[str, Any]) -> float:
    src = _source(cell)
    if cell.get("cell_type") == "markdown":
        return len(_LINK.sub("]", src).split()) / PROSE_WPM
    if cell.get("cell_type") != "code" or "solution" in _tags(cell):
        return 0.0
    minutes = len(src.split()) / CODE_WPM
    if "exercise" in _tags(cell):
        minutes += EXERCISE_MINUTES
    if re.search(r"\b\w*Explorer\(", src):
        minutes += EXPLORER_MINUTES
    if "show_quiz(" in src:
        from ..exercises.quiz import QUIZ

        minutes += QUIZ_MINUTES_PER_QUESTION * len(QUIZ)
    return minutes


def is_deep_dive_notebook(cells: list[dict[str, Any]]) -> bool:
    """Whether the notebook's first cell marks it as a deep dive (:data:`DEEP_DIVE_NOTEBOOK`)."""
    first = _source(cells[0]) if cells else ""
    return any(line.strip().startswith(DEEP_DIVE_NOTEBOOK) for line in first.splitlines())


def working_time(path: str | Path) -> WorkingTime:
    """The estimate for one notebook (see the module's docstring for the model)."""
    path = Path(path)
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    core = optional = 0.0
    part = "core"  # core, optional or uncounted: set by the level-2 headings
    for index, cell in enumerate(cells):
        if cell.get("cell_type") == "markdown":
            for line in _HEADING2.finditer(_source(cell)):
                heading = _source(cell)[line.start() :].splitlines()[0].strip()
                if heading == DEEP_DIVES_HEADING:
                    part = "optional"
                elif heading.startswith(UNCOUNTED_HEADINGS):
                    part = "uncounted"
                else:  # any other level-2 heading ends the deep dives
                    part = "core"
        if index in (1, 2) or part == "uncounted":  # the folded setup and imports cells
            continue
        minutes = _cell_minutes(cell)
        if part == "optional":
            optional += minutes
        else:
            core += minutes
    return WorkingTime(path.stem, is_deep_dive_notebook(cells), core, optional)


def course_times(notebooks: Iterable[str | Path]) -> list[WorkingTime]:
    """:func:`working_time` of each notebook, in the order given."""
    return [working_time(p) for p in notebooks]


# -- how the course states a time ----------------------------------------------------------------


def notebook_time_line(t: WorkingTime) -> str:
    """The ``**Time:**`` line of a notebook's first cell."""
    line = f"**Time:** about {t.core_rounded} minutes"
    if t.optional_rounded:
        line += f" (its deep dives: about {t.optional_rounded} more)"
    return line


def syllabus_cell(t: WorkingTime) -> str:
    """The README syllabus table's "Working time" cell."""
    text = f"{t.core_rounded} min"
    if t.optional_rounded:
        text += f" (+{t.optional_rounded} deep dives)"
    return f"deep dive, {text}" if t.deep_dive else text


def totals(times: Iterable[WorkingTime]) -> dict[str, int]:
    """Rounded minutes: ``core_path`` (the core sections of the core notebooks) and
    ``deep_dives`` (everything else), each the sum of the rounded parts the course states."""
    times = list(times)
    core = sum(t.core_rounded for t in times if not t.deep_dive)
    deep = sum(t.optional_rounded for t in times) + sum(
        t.core_rounded for t in times if t.deep_dive
    )
    return {"core_path": core, "deep_dives": deep}


def table(times: list[WorkingTime]) -> str:
    """The estimate as a plain-text table, one notebook a row, then the totals."""
    lines = [f"{'notebook':<34} {'path':<10} {'core':>6} {'deep dives':>11}"]
    for t in times:
        path = "deep dive" if t.deep_dive else "core"
        lines.append(
            f"{t.name:<34} {path:<10} {t.core_rounded:>4} m {t.optional_rounded:>9} m"
            f"   ({t.core:.1f} + {t.optional:.1f} unrounded)"
        )
    tot = totals(times)
    lines.append(
        f"core path {tot['core_path']} min ({tot['core_path'] / 60:.2f} h); deep dives "
        f"{tot['deep_dives']} min more"
    )
    return "\n".join(lines)


# -- the command line ----------------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--notebooks",
        metavar="DIR",
        type=Path,
        default=None,
        help="the course's notebooks (default: the repository's notebooks/ folder)",
    )


def run(args: argparse.Namespace) -> None:
    from .student import course_notebooks

    _, files = course_notebooks(args.notebooks)
    if not files:
        raise CommandError("no notebooks found")
    print(table(course_times(files)))
