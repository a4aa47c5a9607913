"""The quiz of notebook 08: the one scorer, the feedback it words, every kind of bad answer, and
its widget."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vitlearn import exercises
from vitlearn.exercises import QUIZ, QuizScore, check_quiz, score_quiz
from vitlearn.exercises.quiz import quiz_feedback

KEY = {n: q.answer for n, q in QUIZ.items()}


def _wrong(n: int) -> str:
    return next(k for k in QUIZ[n].options if k != QUIZ[n].answer)


def test_quiz_all_right(capsys):
    assert check_quiz({n: q.answer for n, q in QUIZ.items()}) is True
    out = capsys.readouterr().out
    assert f"{len(QUIZ)} / {len(QUIZ)} right." in out


def test_quiz_partly_wrong_points_to_the_notebook(capsys):
    answers = {n: q.answer for n, q in QUIZ.items()}
    wrong = next(k for k in QUIZ[6].options if k != QUIZ[6].answer)
    answers[6] = wrong.upper() + ")"  # case and a trailing parenthesis are tolerated
    answers.pop(5)
    assert check_quiz(answers) is False
    out = capsys.readouterr().out
    assert f"✗ 6: not {wrong})" in out and QUIZ[6].where in out and "notebook 08" in out
    assert QUIZ[6].why not in out  # a wrong answer gets where to look, not the explanation
    assert "… 5: not answered yet." in out
    assert f"{len(QUIZ) - 2} / {len(QUIZ)} right." in out


@pytest.mark.parametrize(
    "answers, message",
    [
        ({}, "not done yet"),
        ({1: "", 2: None}, "not done yet"),
        ("abcab", "pass a dict"),
        ({1: "z"}, "'z' is not an option"),
        ({99: "a"}, "there is no question 99"),
        ({"one": "a"}, "'one' is not a question number"),
    ],
)
def test_quiz_never_raises_on_bad_input(answers, message, capsys):
    assert check_quiz(answers) is False
    assert message in capsys.readouterr().out


# --- the one scorer -------------------------------------------------------------------------------


def test_score_quiz_gives_a_verdict_per_question():
    answers = {**KEY, 2: _wrong(2), 5: "z", 4: ""}
    del answers[6]
    score = score_quiz(answers)
    assert isinstance(score, QuizScore)
    assert list(score.verdicts) == list(QUIZ) == list(score.choices)
    expected = {n: "right" for n in QUIZ} | {
        2: "wrong",
        5: "not an option",
        4: "unanswered",
        6: "unanswered",
    }
    assert score.verdicts == expected
    assert (score.choices[2], score.choices[5], score.choices[4], score.choices[6]) == (
        _wrong(2),
        "z",
        "",
        "",
    )
    n = len(QUIZ)
    assert (score.right, score.total) == (n - 4, n)
    assert score.fraction == pytest.approx((n - 4) / n)
    assert score.started and not score.all_right and score.ignored == ()


def test_score_quiz_reads_answers_as_a_student_writes_them():
    # keys as ints or strings of ints; letters in any case, padded, with a closing parenthesis
    score = score_quiz({"1": f" {KEY[1].upper()}) ", 2: KEY[2].upper(), "x": "a", 99: "a"})
    assert score.verdicts[1] == score.verdicts[2] == "right" and score.right == 2
    assert score.ignored == (("x", "not a question number"), (99, "no such question"))
    assert score_quiz(KEY).all_right and score_quiz(KEY).fraction == 1.0


@pytest.mark.parametrize(
    "answers, unreadable",
    [
        ("abcab", "got a str"),
        (None, "got a NoneType"),
        ([("1", "a")], "got a list"),
    ],
)
def test_score_quiz_scores_what_it_cannot_read_as_zero(answers, unreadable):
    score = score_quiz(answers)
    assert score.unreadable == unreadable
    assert score.right == 0 and score.fraction == 0.0 and not score.started
    assert set(score.verdicts.values()) == {"unanswered"}


def test_score_quiz_never_raises_on_a_dict_that_cannot_be_read(capsys):
    class Broken(dict):
        def items(self):
            raise RuntimeError("no items today")

    score = score_quiz(Broken({1: "a"}))
    assert score.unreadable == "RuntimeError: no items today" and score.fraction == 0.0
    assert check_quiz(Broken({1: "a"})) is False
    assert "could not read your answers (RuntimeError: no items today)" in capsys.readouterr().out


def test_no_answers_scores_zero_and_is_not_started():
    for answers in ({}, {1: "", 2: None}, {"x": "a"}):
        score = score_quiz(answers)
        assert score.fraction == 0.0 and not score.started


_letters = st.sampled_from(["a", "b", "c", "d", "A)", " c ", "", "z", None, 3])
_keys = st.one_of(st.integers(0, 12), st.sampled_from(["1", "10", "x", " 2"]))


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_keys, _letters, max_size=14))
def test_the_feedback_says_what_the_score_says(answers):
    """check_quiz's words are the scorer's verdicts: its count, its ticks, its "all right"."""
    score = score_quiz(answers)
    lines, ok = quiz_feedback(answers)
    assert ok is score.all_right
    if score.started:
        assert lines[-1] == f"{score.right} / {score.total} right."
        ticks = {int(line[2:].split(":")[0]) for line in lines if line.startswith("✓ ")}
        assert ticks == {n for n, v in score.verdicts.items() if v == "right"}
    else:
        assert any("not done yet" in line for line in lines) and score.right == 0


def test_quiz_widget_and_show(capsys):
    exercises.show_quiz()
    out = capsys.readouterr().out
    assert all(f"{n}. " in out for n in QUIZ)
    box = exercises.quiz_widget()
    assert len(box.children) == 2 * len(QUIZ) + 2


def test_quiz_widget_writes_its_feedback_into_an_html_widget():
    import ipywidgets as W

    box = exercises.quiz_widget()
    radios = [c for c in box.children if isinstance(c, W.RadioButtons)]
    button, feedback = box.children[-2], box.children[-1]
    assert isinstance(feedback, W.HTML) and not isinstance(feedback, W.Output)
    for n, radio in zip(QUIZ, radios, strict=True):
        radio.value = QUIZ[n].answer
    radios[0].value = next(k for k in QUIZ[1].options if k != QUIZ[1].answer)
    button.click()
    lines, ok = quiz_feedback({n: r.value for n, r in zip(QUIZ, radios, strict=True)})
    assert not ok and feedback.value.count("<br>") == len(lines) - 1
    assert (
        "✗ 1: not" in feedback.value and f"{len(QUIZ) - 1} / {len(QUIZ)} right." in feedback.value
    )


def test_every_answer_is_an_option():
    for q in QUIZ.values():
        assert q.answer in q.options and q.why and q.where


# --- the quiz's content: fair choices, true explanations, sections that exist ---------------------

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
# a reference to a section: notebook NN, section K ("its title, as in the heading")
REFERENCE = re.compile(r'notebook (\d\d), section (\d+) \("([^"]+)"\)')
# the course map of notebook 08 cites whole notebooks: notebook NN, or notebooks NN, MM
MAP_REFERENCE = re.compile(r"notebooks? (\d\d(?:, \d\d)*)")


def _headings(number: str) -> dict[int, str]:
    """Section number -> title of notebook NN's "## K. Title" headings (" (optional)" dropped)."""
    (path,) = NOTEBOOKS.glob(f"{number}_*.ipynb")
    out = {}
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        for line in "".join(cell["source"]).splitlines():
            m = re.match(r"## (\d+)\. (.+)", line)
            if m:
                out[int(m.group(1))] = m.group(2).strip().removesuffix(" (optional)")
    return out


def test_every_quiz_question_points_at_sections_that_exist():
    for n, q in QUIZ.items():
        refs = REFERENCE.findall(q.where)
        assert refs and len(refs) == q.where.count("notebook "), (n, q.where)
        for number, section, title in refs:
            headings = _headings(number)
            assert headings.get(int(section)) == title, (
                f"question {n} points at notebook {number}, section {section} ({title!r}); "
                f"that notebook's sections are {headings}"
            )


def test_the_course_map_of_notebook_08_points_at_every_notebook_it_sums_up():
    (path,) = NOTEBOOKS.glob("08_*.ipynb")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    table = next(
        "".join(c["source"])
        for c in cells
        if "| Question | Answer | Where |" in "".join(c["source"])
    )
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    cited = []
    for row in rows[1:]:  # one line per question, each citing the notebooks that show it
        where = row.rstrip(" |").rsplit("|", 1)[1]
        numbers = [n for group in MAP_REFERENCE.findall(where) for n in group.split(", ")]
        assert numbers, row
        cited += numbers
    for number in cited:
        assert len(list(NOTEBOOKS.glob(f"{number}_*.ipynb"))) == 1, number
    assert {"01", "02", "03", "04", "05", "06", "07", "09"} <= set(cited)


def test_the_quiz_covers_the_course_and_spreads_its_answers():
    cited = {number for q in QUIZ.values() for number, _, _ in REFERENCE.findall(q.where)}
    assert {"01", "03", "04", "06", "08"} <= cited  # the core path; the deep dives quiz themselves
    assert len({q.answer for q in QUIZ.values()}) == 4  # a, b, c and d are all right somewhere
    for n, q in QUIZ.items():
        assert len(q.options) == 4 and len(set(q.options.values())) == 4, n
    # the right answer is not given away by being the longest option
    longest = [
        n
        for n, q in QUIZ.items()
        if max(len(t) for k, t in q.options.items() if k != q.answer) < len(q.options[q.answer])
    ]
    assert len(longest) <= len(QUIZ) // 3, longest


def test_the_numbers_in_the_explanations():
    # 1 and 2: ViT-B/16 at 224 px
    pixels, patches = 224 * 224, (224 // 16) ** 2
    assert (pixels, patches, (pixels // patches) ** 2) == (50_176, 196, 65_536)
    assert (patches + 1, 16 * 16 * 3) == (197, 768)
    for n, text in ((1, "50,176"), (1, "65,536"), (2, "197"), (2, "768")):
        assert text in QUIZ[n].why
    # 6: 448 px in 32 px patches is the grid of 224 px in 16 px patches; D is not P*P*C
    assert 448 // 32 == 224 // 16 == 14 and 32 * 32 * 3 == 3072 and 448 // 16 == 28
    assert "28 x 28" in QUIZ[6].options["a"] and "3072" in QUIZ[6].options["d"]
