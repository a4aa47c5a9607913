"""The multiple-choice quiz at the end of the course (notebook 08).

:data:`QUIZ` holds the questions; :func:`show_quiz` prints them, :func:`check_quiz` marks a dict of
answers, and :func:`quiz_widget` is the same quiz as core ipywidgets (radio buttons, a Check
button and the feedback in an ``HTML`` widget, which both ipywidgets 7.7's and 8's front ends
render; an ``Output`` widget does not build on every ipywidgets 7 front end). Marking never raises.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "QUIZ",
    "QuizQuestion",
    "StaticQuiz",
    "check_quiz",
    "quiz_feedback",
    "quiz_widget",
    "show_quiz",
]

@dataclass(frozen=True)
class QuizQuestion:
    """One multiple-choice question: ``options`` maps a letter to a text; ``answer`` is a letter."""

    question: str
    options: dict[str, str]
    answer: str
    why: str
    where: str


QUIZ: dict[int, QuizQuestion] = {
    1: QuizQuestion(
        "A ViT-B/16 reads a 224 x 224 RGB image. How many tokens enter the first block, and how "
        "long is each flattened patch before the projection?",
        {
            "a": "196 tokens, 768 numbers",
            "b": "197 tokens, 768 numbers",
            "c": "197 tokens, 256 numbers",
            "d": "224 tokens, 672 numbers",
        },
        "b",
        "(224/16)^2 = 196 patches plus the class token = 197; a patch holds 16*16*3 = 768 numbers.",
        "notebook 01, section 7 (patch size sets the sequence length), and notebook 08, section 2",
    ),
    2: QuizQuestion(
        "Without position codes, what happens to a ViT's class-token output when you shuffle the "
        "patches of the image?",
        {
            "a": "It changes a lot",
            "b": "It changes a little",
            "c": "It stays the same: attention treats the tokens as a set",
            "d": "The model refuses the input",
        },
        "c",
        "Attention and the MLP are permutation-equivariant, the class token reads a weighted sum: "
        "without position codes the output is invariant to the order of the patches.",
        "notebook 03, section 2 (an image and its jigsaw look the same to a ViT without position codes)",
    ),
    3: QuizQuestion(
        "A ViT trained at 224 x 224 with patch 16 and a learned position table must run at "
        "384 x 384 with the same patch size. What do you do with pos_embed?",
        {
            "a": "Nothing, it works for any size",
            "b": "Interpolate the 14 x 14 grid of codes to 24 x 24 and keep the class token's code",
            "c": "Interpolate all 197 codes as one 1-D sequence to 577",
            "d": "Retrain the model from scratch",
        },
        "b",
        "The table is a 2-D grid of codes (plus the class token's): resample the grid in 2-D "
        "(vitlearn.resample_pos_embed) and leave the prefix token alone.",
        "notebook 06, section 4 (2-D interpolation, prefix tokens set aside)",
    ),
    4: QuizQuestion(
        "You change the patch size from 8 to 16 and feed a 2x upsampled image. Which kernel keeps "
        "every token exactly the same?",
        {
            "a": "The old kernel interpolated like an image",
            "b": "The interpolated kernel divided by 4",
            "c": "pinv(B^T) w, with B the resize matrix (the PI-resize)",
            "d": "No kernel can",
        },
        "c",
        "The PI-resize solves B^T w_new = w, i.e. <B x, w_new> = <x, w> for every patch x; when "
        "the kernel grows the solution is exact.",
        "notebook 07, section 4 (the PI-resize)",
    ),
    5: QuizQuestion(
        "Why does ViT cut the image into patches instead of using every pixel as a token?",
        {
            "a": "Attention cost grows with the square of the number of tokens",
            "b": "Pixels carry no information",
            "c": "Transformers cannot read numbers below 1",
            "d": "Patches make the model translation-invariant",
        },
        "a",
        "224 x 224 pixels would be 50,176 tokens and 2.5e9 attention pairs per head; 16 x 16 "
        "patches give 196 tokens.",
        "notebook 01, section 7 (attention pays for the sequence length squared)",
    ),
}
"""The quiz at the end of the course: question number -> :class:`QuizQuestion`."""


def show_quiz() -> None:
    """Print the quiz questions and their options."""
    for n, q in QUIZ.items():
        print(f"{n}. {q.question}")
        for letter, text in q.options.items():
            print(f"   {letter}) {text}")
        print()


def quiz_feedback(answers: Any) -> tuple[list[str], bool]:
    """Mark ``answers`` (``{question number: letter}``): the feedback lines, and whether all are right.

    Never raises: answers it cannot read are reported in the lines.
    """
    try:
        return _mark(answers)
    except Exception as e:  # never stop "Run All"
        return [f"✗ quiz: the checker could not read your answers ({type(e).__name__}: {e})."], False


def check_quiz(answers: Any) -> bool:
    """Check ``answers`` (``{question number: letter}``); print a verdict per question.

    Unanswered questions are listed; returns ``True`` when all questions are answered right.
    Never raises.
    """
    lines, ok = quiz_feedback(answers)
    print("\n".join(lines))
    return ok


def _mark(answers: Any) -> tuple[list[str], bool]:
    if not isinstance(answers, Mapping):
        return [
            f"✗ quiz: pass a dict {{question number: letter}}, e.g. {{1: 'a', 2: 'c'}}; "
            f"got a {type(answers).__name__}."
        ], False
    lines: list[str] = []
    given: dict[int, str] = {}
    for key, value in answers.items():
        try:
            n = int(key)
        except (TypeError, ValueError):
            lines.append(f"? quiz: {key!r} is not a question number (the questions are {sorted(QUIZ)}).")
            continue
        if n not in QUIZ:
            lines.append(f"? quiz: there is no question {n} (the questions are {sorted(QUIZ)}).")
            continue
        given[n] = str(value).strip().lower().rstrip(")") if value is not None else ""
    if not any(given.values()):
        lines.append("… quiz: not done yet. Fill in the dict with your letters, then run this cell again.")
        return lines, False
    right = 0
    for n, q in QUIZ.items():
        choice = given.get(n, "")
        if not choice:
            lines.append(f"… {n}: not answered yet.")
        elif choice not in q.options:
            lines.append(f"? {n}: {choice!r} is not an option; choose one of {', '.join(q.options)}.")
        elif choice == q.answer:
            right += 1
            lines.append(f"✓ {n}: right. {q.why}")
        else:
            lines.append(f"✗ {n}: not {choice}) — have another look at {q.where}.")
    lines.append(f"{right} / {len(QUIZ)} right.")
    return lines, right == len(QUIZ)


def quiz_widget() -> Any:
    """The quiz as core ipywidgets: one RadioButtons per question, a Check button, the feedback.

    The feedback goes into an ``HTML`` widget (not an ``Output``), so the quiz works on ipywidgets
    7.7 (Colab) and 8.x alike. On the course's website (the notebooks executed by
    ``python -m vitlearn build-site``) there is no kernel to click through: the quiz is shown as
    text instead, without its answers (:class:`StaticQuiz`).
    """
    from .._static import static_widgets

    if static_widgets():
        return StaticQuiz()
    import ipywidgets as W

    radios: dict[int, Any] = {}
    rows = []
    for n, q in QUIZ.items():
        radios[n] = W.RadioButtons(
            options=[(f"{k}) {t}", k) for k, t in q.options.items()],
            value=None,
            layout=W.Layout(width="auto"),
        )
        rows += [W.HTML(f"<b>{n}.</b> {html.escape(q.question)}"), radios[n]]
    feedback = W.HTML(value="")
    button = W.Button(description="Check")

    def on_click(_b: Any) -> None:
        lines, _ = quiz_feedback({n: r.value or "" for n, r in radios.items()})
        feedback.value = "<br>".join(html.escape(line) for line in lines)

    button.on_click(on_click)
    box = W.VBox([*rows, button, feedback])
    box.add_class("vitlearn-quiz")
    return box


class StaticQuiz:
    """:func:`quiz_widget` on a static page: the questions and choices as text, no answers."""

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from .._static import live_note

        items = []
        for n, q in QUIZ.items():
            options = "".join(
                f"<li>{letter}) {html.escape(text)}</li>" for letter, text in q.options.items()
            )
            items.append(f'<li value="{n}">{html.escape(q.question)}<ul>{options}</ul></li>')
        note = live_note("The quiz as text: the clickable version")
        rich = f'<ol class="vitlearn-static-quiz">{"".join(items)}</ol>{note["text/html"]}'
        plain = "\n".join(
            f"{n}. {q.question}\n" + "\n".join(f"   {k}) {t}" for k, t in q.options.items())
            for n, q in QUIZ.items()
        )
        return {"text/html": rich, "text/plain": f"{plain}\n\n{note['text/plain']}"}
