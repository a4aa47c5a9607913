"""The quiz of notebook 08: marking, feedback for every kind of bad answer, and its widget."""

from __future__ import annotations

import pytest

from vitlearn import exercises
from vitlearn.exercises import QUIZ, check_quiz
from vitlearn.exercises.quiz import quiz_feedback


def test_quiz_all_right(capsys):
    assert check_quiz({n: q.answer for n, q in QUIZ.items()}) is True
    out = capsys.readouterr().out
    assert f"{len(QUIZ)} / {len(QUIZ)} right." in out


def test_quiz_partly_wrong_points_to_the_notebook(capsys):
    answers = {n: q.answer for n, q in QUIZ.items()}
    wrong = next(k for k in QUIZ[4].options if k != QUIZ[4].answer)
    answers[4] = wrong.upper() + ")"  # case and a trailing parenthesis are tolerated
    answers.pop(5)
    assert check_quiz(answers) is False
    out = capsys.readouterr().out
    assert f"✗ 4: not {wrong})" in out and "notebook 07" in out
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
    assert "✗ 1: not" in feedback.value and f"{len(QUIZ) - 1} / {len(QUIZ)} right." in feedback.value


def test_every_answer_is_an_option():
    for q in QUIZ.values():
        assert q.answer in q.options and q.why and q.where
