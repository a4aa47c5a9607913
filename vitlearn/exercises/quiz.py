"""The multiple-choice quiz at the end of the core path (notebook 08; it covers notebooks 01 to 06
and 08, the core path; the deep dives 07, 09 and 10 have exercises of their own).

:data:`QUIZ` holds the questions; :func:`show_quiz` prints them. :func:`score_quiz` is the one
scorer: it reads a dict of answers and gives a verdict per question (a :class:`QuizScore`). Both
:func:`check_quiz` (the feedback a student reads) and the graded cell of the nbgrader edition
(the partial credit, ``points * score_quiz(answers).fraction``) use it, so the two cannot differ
on what counts as right. :func:`quiz_widget` is the same quiz as core ipywidgets (radio buttons, a
Check button and the feedback in an ``HTML`` widget, which both ipywidgets 7.7's and 8's front
ends render; an ``Output`` widget does not build on every ipywidgets 7 front end). Neither scoring
nor marking ever raises.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "QUIZ",
    "QuizQuestion",
    "QuizScore",
    "StaticQuiz",
    "check_quiz",
    "quiz_feedback",
    "quiz_widget",
    "score_quiz",
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
        "Why does ViT cut the image into patches instead of using every pixel as a token?",
        {
            "a": "Attention scores every pair of tokens, so its cost grows with the square of "
            "their number",
            "b": "A pixel has only 3 numbers, too few for a linear layer to map to D dimensions",
            "c": "Patches keep more detail than the pixels they are made of, so the model sees "
            "more",
            "d": "Cutting the image into patches makes the model invariant to where objects are",
        },
        "a",
        "224 x 224 pixels would be 50,176 tokens; 16 x 16 patches give 196, and 65,536 times fewer "
        "pairs for attention to score. Patching itself only rearranges the pixels (nothing gained, "
        "nothing lost), and a linear layer can map 3 numbers to any D.",
        'notebook 01, section 7 ("Patch size sets the sequence length, and attention pays for it '
        'squared")',
    ),
    2: QuizQuestion(
        "A ViT-B/16 reads a 224 x 224 RGB image. How many tokens enter the first block, and how "
        "many numbers does a flattened patch hold before the projection?",
        {
            "a": "196 tokens; 768 numbers",
            "b": "197 tokens; 256 numbers",
            "c": "197 tokens; 768 numbers",
            "d": "198 tokens (a class token and a distillation token); 768 numbers",
        },
        "c",
        "(224/16)^2 = 196 patches plus the class token = 197 tokens; a patch holds 16*16*3 = 768 "
        "numbers. A distillation token is DeiT's addition, not ViT-B/16's.",
        'notebook 08, section 1 ("One module, timm\'s names, step by step")',
    ),
    3: QuizQuestion(
        "A ViT has no position codes. You shuffle the patches of an image. What happens to the "
        "class token's output?",
        {
            "a": "It changes a lot: the shuffled patches no longer form the picture",
            "b": "It changes a little: each token attends mostly to its neighbours, and the "
            "shuffle gives it new ones",
            "c": "It stays the same with mean pooling only; the class token, always first, sees "
            "the order",
            "d": "It stays the same: attention and the MLP treat the tokens as a set",
        },
        "d",
        "Attention and the MLP are permutation-equivariant, and the class token reads a weighted "
        "sum of all tokens, whatever their order: its output does not change (nor does the mean "
        "of the outputs). Without codes nothing tells a token who its neighbours are.",
        'notebook 03, section 2 ("An image and its jigsaw look the same to a ViT without position '
        'codes")',
    ),
    4: QuizQuestion(
        "How does the original ViT give each token its position code?",
        {
            "a": "It concatenates the code to the token, which makes every token wider",
            "b": "It adds the code to the token, on every feature",
            "c": "It adds a code to the class token only, which passes it on through attention",
            "d": "It multiplies each feature of the token by its code",
        },
        "b",
        "z0 = [class; patch tokens] + E_pos (the ViT paper's Equation 1): one code per token, "
        "added, so the width stays D. Concatenating would widen every token instead; the two match "
        "only before a single linear layer, and a ViT block starts with LayerNorm.",
        'notebook 04, section 1 ("Where the code goes: added to every token")',
    ),
    5: QuizQuestion(
        "A ViT trained at 224 x 224 with 16 px patches and a learned position table must run at "
        "384 x 384 with the same patch size. What do you do with pos_embed?",
        {
            "a": "Interpolate the 14 x 14 grid of patch codes to 24 x 24 in 2-D; keep the class "
            "token's code as it is",
            "b": "Interpolate all 197 codes as one sequence to 577, the new number of tokens",
            "c": "Nothing: each code belongs to a patch, and a patch is still 16 x 16 pixels",
            "d": "Interpolate the grid to 24 x 24 in 2-D; set the class token's code to the mean "
            "of the new codes",
        },
        "a",
        "The table is a 2-D grid of codes plus the class token's code, which has no place on the "
        "grid: resample the grid in 2-D (vitlearn.resample_pos_embed) and copy the prefix row. The "
        "flattened sequence is not the grid: 1-D interpolation slides codes into the next row.",
        'notebook 06, section 4 ("The right way: 2-D interpolation, prefix tokens set aside")',
    ),
    6: QuizQuestion(
        "A ViT-B/16 trained at 224 x 224 px must read 448 x 448 px images cut into 32 x 32 px "
        "patches. Which of its parameters must change?",
        {
            "a": "Only pos_embed: a larger image needs a larger table, resampled to the new "
            "28 x 28 grid",
            "b": "Only the kernel, resized to 32 x 32: the grid stays 14 x 14 and the table fits",
            "c": "Both: the kernel resized to 32 x 32 and the table resampled to 28 x 28",
            "d": "The kernel, pos_embed and the width D, which becomes 32*32*3 = 3072",
        },
        "b",
        "448 / 32 = 224 / 16 = 14: the grid, hence the table, is unchanged, and each patch shows "
        "what a 16 px patch showed at 224 px. Only the kernel has the size of a patch. D belongs "
        "to the whole model and never follows P.",
        'notebook 08, section 2 ("The layer at other sizes: predict it")',
    ),
}
"""The quiz at the end of the core path: question number -> :class:`QuizQuestion`."""


def show_quiz() -> None:
    """Print the quiz questions and their options."""
    for n, q in QUIZ.items():
        print(f"{n}. {q.question}")
        for letter, text in q.options.items():
            print(f"   {letter}) {text}")
        print()


RIGHT, WRONG, UNANSWERED, NOT_AN_OPTION = "right", "wrong", "unanswered", "not an option"
"""The verdicts :func:`score_quiz` gives a question."""


@dataclass(frozen=True)
class QuizScore:
    """What :func:`score_quiz` read from a dict of answers, and its verdict on each question.

    ``choices`` and ``verdicts`` hold every question of :data:`QUIZ`, in order: the letter read
    (``""`` when none) and one of ``"right"``, ``"wrong"``, ``"unanswered"``, ``"not an option"``.
    ``ignored`` lists the keys that name no question, in the order given, each with why:
    ``"not a question number"`` or ``"no such question"``. ``unreadable`` says why nothing could be
    read (``answers`` not a dict, or reading it failed); then every question is unanswered.
    """

    choices: dict[int, str]
    verdicts: dict[int, str]
    ignored: tuple[tuple[Any, str], ...] = ()
    unreadable: str | None = None

    @property
    def right(self) -> int:
        """How many questions are answered right."""
        return sum(v == RIGHT for v in self.verdicts.values())

    @property
    def total(self) -> int:
        """How many questions the quiz has."""
        return len(self.verdicts)

    @property
    def fraction(self) -> float:
        """The share of questions answered right, in [0, 1]: the quiz's partial credit."""
        return self.right / self.total if self.total else 0.0

    @property
    def all_right(self) -> bool:
        """Whether every question is answered right."""
        return self.total > 0 and self.right == self.total

    @property
    def started(self) -> bool:
        """Whether at least one question has a letter (right, wrong or not an option)."""
        return any(self.choices.values())


def _letter(value: Any) -> str:
    """An answer as the quiz reads it: ``" B) "`` -> ``"b"``; ``None`` -> ``""`` (unanswered)."""
    return "" if value is None else str(value).strip().lower().rstrip(")")


def score_quiz(answers: Any) -> QuizScore:
    """Score ``answers`` (``{question number: letter}``) against :data:`QUIZ`, question by question.

    Keys are read as ints (``1`` or ``"1"``), letters without case, spaces or a closing
    parenthesis (``"B)"`` is ``"b"``); a missing question, ``""`` or ``None`` is unanswered. Keys
    that name no question are listed in :attr:`QuizScore.ignored` and cost nothing. Never raises:
    what cannot be read scores 0. The one scorer of the quiz, used by :func:`check_quiz` and by the
    graded cell of the nbgrader edition.
    """
    given: dict[int, str] = {}
    ignored: list[tuple[Any, str]] = []
    unreadable: str | None = None
    if not isinstance(answers, Mapping):
        unreadable = f"got a {type(answers).__name__}"
    else:
        try:
            for key, value in answers.items():
                try:
                    n = int(key)
                except (TypeError, ValueError):
                    ignored.append((key, "not a question number"))
                    continue
                if n not in QUIZ:
                    ignored.append((n, "no such question"))
                    continue
                given[n] = _letter(value)
        except Exception as e:  # a Mapping that cannot be read: nothing counts
            given, ignored, unreadable = {}, [], f"{type(e).__name__}: {e}"
    choices = {n: given.get(n, "") for n in QUIZ}
    verdicts = {}
    for n, q in QUIZ.items():
        choice = choices[n]
        if not choice:
            verdicts[n] = UNANSWERED
        elif choice not in q.options:
            verdicts[n] = NOT_AN_OPTION
        else:
            verdicts[n] = RIGHT if choice == q.answer else WRONG
    return QuizScore(choices, verdicts, tuple(ignored), unreadable)


def quiz_feedback(answers: Any) -> tuple[list[str], bool]:
    """Mark ``answers`` (``{question number: letter}``): the feedback lines, and whether all are
    right.

    The verdicts are :func:`score_quiz`'s; this only words them. Never raises: answers it cannot
    read are reported in the lines.
    """
    score = score_quiz(answers)
    if score.unreadable is not None:
        if not isinstance(answers, Mapping):
            hint = "pass a dict {question number: letter}, e.g. {1: 'a', 2: 'c'}"
            return [f"✗ quiz: {hint}; {score.unreadable}."], False
        return [f"✗ quiz: the checker could not read your answers ({score.unreadable})."], False
    numbers = sorted(QUIZ)
    lines = [
        f"? quiz: {key!r} is not a question number (the questions are {numbers})."
        if why == "not a question number"
        else f"? quiz: there is no question {key} (the questions are {numbers})."
        for key, why in score.ignored
    ]
    if not score.started:
        lines.append(
            "… quiz: not done yet. Fill in the dict with your letters, then run this cell again."
        )
        return lines, False
    for n, q in QUIZ.items():
        choice, verdict = score.choices[n], score.verdicts[n]
        if verdict == UNANSWERED:
            lines.append(f"… {n}: not answered yet.")
        elif verdict == NOT_AN_OPTION:
            lines.append(
                f"? {n}: {choice!r} is not an option; choose one of {', '.join(q.options)}."
            )
        elif verdict == RIGHT:
            lines.append(f"✓ {n}: right. {q.why}")
        else:
            lines.append(f"✗ {n}: not {choice}) — have another look at {q.where}.")
    lines.append(f"{score.right} / {score.total} right.")
    return lines, score.all_right


def check_quiz(answers: Any) -> bool:
    """Check ``answers`` (``{question number: letter}``); print a verdict per question.

    Unanswered questions are listed; returns ``True`` when all questions are answered right.
    Never raises.
    """
    lines, ok = quiz_feedback(answers)
    print("\n".join(lines))
    return ok


def quiz_widget() -> Any:
    """The quiz as core ipywidgets: one RadioButtons per question, a Check button, the feedback.

    The feedback goes into an ``HTML`` widget (not an ``Output``), so the quiz works on ipywidgets
    7.7 (Colab) and 8.x alike. On the course's website (the notebooks executed by
    ``python -m vitlearn build-site``) there is no kernel to click through: the quiz is shown as
    text instead, without its answers (:class:`StaticQuiz`).
    """
    from ..editions.static import static_widgets

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
        from ..editions.static import live_note

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
