"""The working-time estimate: what it counts, where the core path ends, how it rounds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vitlearn.editions import worktime
from vitlearn.editions.cli import main


def _nb(path: Path, cells: list[tuple[str, str, list[str]]]) -> Path:
    body = [
        {"cell_type": kind, "metadata": {"tags": tags}, "source": src}
        | ({"outputs": [], "execution_count": None} if kind == "code" else {})
        for kind, src, tags in cells
    ]
    path.write_text(json.dumps({"cells": body, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def words(n: int) -> str:
    return " ".join(["word"] * n)


WORDS_200 = words(200)  # one minute of prose
CODE_100 = words(100)  # one minute of code


def test_counts_prose_code_exercises_and_leaves_out_setup_solutions_and_reading(tmp_path):
    path = _nb(
        tmp_path / "01_x.ipynb",
        [
            ("markdown", "# 01 · X\n\n" + WORDS_200, []),
            ("code", words(900), []),  # the setup cell: not counted
            ("code", words(900), []),  # the imports cell: not counted
            ("markdown", "## 1. One\n\n" + WORDS_200 + " [a link](https://example.org/a/b)", []),
            ("code", CODE_100, ["exercise"]),
            ("code", words(900), ["solution"]),  # not counted
            ("code", "exercises.check_x(f)", ["check"]),
            ("code", "e = PatchExplorer(img)", []),
            ("markdown", "## Further reading\n\n" + words(1800), []),  # not counted
        ],
    )
    t = worktime.working_time(path)
    # prose: the title (4 + 200 words), the section (3 + 200 + 2: a link's target is no word);
    # code: the stub (100 words), the check (1), the explorer (3); one exercise, one explorer
    expected = (204 + 205) / 200 + (100 + 1 + 3) / 100
    expected += worktime.EXERCISE_MINUTES + worktime.EXPLORER_MINUTES
    assert t.core == pytest.approx(expected)
    assert t.optional == 0 and not t.deep_dive


def test_deep_dives_heading_and_deep_dive_notebooks(tmp_path):
    path = _nb(
        tmp_path / "02_y.ipynb",
        [
            ("markdown", "# 02 · Y\n\n**Deep dive.** Not on the core path.", []),
            ("code", "", []),
            ("code", "", []),
            ("markdown", "## 1. Core\n\n" + words(2400), []),
            ("markdown", "## Summary\n\n" + WORDS_200, []),
            ("markdown", "## Deep dives\n\n### A\n\n" + words(1400), []),
            ("code", CODE_100, []),
            ("markdown", "### B\n\n" + WORDS_200, []),
            ("markdown", "## Further reading\n\n" + WORDS_200, []),
        ],
    )
    t = worktime.working_time(path)
    assert t.deep_dive
    # core: the title (11 words), "## 1. Core" (3 + 2400), "## Summary" (2 + 200)
    assert t.core == pytest.approx((11 + 2403 + 202) / 200)
    # deep dives: "## Deep dives ### A" (5 + 1400), 100 words of code, "### B" (2 + 200)
    assert t.optional == pytest.approx((1405 + 202) / 200 + 1)
    assert (t.core_rounded, t.optional_rounded) == (15, 10)
    assert (
        worktime.notebook_time_line(t)
        == "**Time:** about 15 minutes (its deep dives: about 10 more)"
    )
    assert worktime.syllabus_cell(t) == "deep dive, 15 min (+10 deep dives)"
    core = worktime.WorkingTime("03_z", False, 21.0, 0.0)
    assert worktime.totals([t, core]) == {"core_path": 20, "deep_dives": 25}


@pytest.mark.parametrize(
    ("minutes", "rounded"), [(0, 0), (0.4, 5), (2.4, 5), (7.4, 5), (7.5, 10), (12.6, 15)]
)
def test_rounds_to_five_minutes_never_to_nothing(minutes, rounded):
    assert worktime.WorkingTime("n", False, minutes, 0).core_rounded == rounded


def test_command_prints_every_notebook_and_the_core_path(capsys):
    assert main(["working-time"]) == 0
    out = capsys.readouterr().out
    notebooks = sorted(Path(__file__).resolve().parents[1].glob("notebooks/[0-9][0-9]_*.ipynb"))
    assert all(p.stem in out for p in notebooks) and "core path" in out
