"""The chapter-4 checkers (resize matrix, PI-resize, quiz) accept right answers and name mistakes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from vitlearn import exercises
from vitlearn.exercises import check_pi_resize, check_quiz, check_resize_matrix
from vitlearn.exercises.flexi import QUIZ

# ---- resize matrix --------------------------------------------------------------------------


def matrix(old, new, *, mode="bicubic", aa=True, align_corners=False, f_in=False, f_out=False):
    n = old[0] * old[1]
    basis = torch.eye(n).reshape(n, 1, *old)
    if f_in:  # basis patch i has its 1 at column-major position i
        basis = torch.eye(n).reshape(n, 1, old[1], old[0]).transpose(2, 3)
    out = F.interpolate(basis, size=new, mode=mode, antialias=aa, align_corners=align_corners)
    if f_out:
        out = out.transpose(2, 3)
    return out.reshape(n, -1).T


def test_resize_matrix_accepts_solution(capsys):
    assert check_resize_matrix(matrix) is True
    assert capsys.readouterr().out.startswith("✓ resize_matrix: correct.")


def _stub(*args):
    raise NotImplementedError


MATRIX_MISTAKES = {
    "stub": (_stub, "not done yet"),
    "transposed": (lambda o, n: matrix(o, n).T, "That is B transposed"),
    "no_antialias": (lambda o, n: matrix(o, n, aa=False), "WITHOUT antialias"),
    "bilinear": (lambda o, n: matrix(o, n, mode="bilinear"), "mode='bilinear'; this exercise"),
    "bilinear_noaa": (
        lambda o, n: matrix(o, n, mode="bilinear", aa=False),
        "without antialias (big_vision's choice)",
    ),
    "align_corners": (
        lambda o, n: matrix(o, n, aa=False, align_corners=True),
        "align_corners=True",
    ),
    "col_major_in": (
        lambda o, n: matrix(o, n, f_in=True),
        "basis patches are numbered column by column",
    ),
    "col_major_out": (lambda o, n: matrix(o, n, f_out=True), "flattened column by column"),
    "col_major_both": (lambda o, n: matrix(o, n, f_in=True, f_out=True), "both the basis patches"),
    "swapped_size": (lambda o, n: matrix(o, (n[1], n[0])), "rows and cols of new_size are swapped"),
    "unflattened": (
        lambda o, n: F.interpolate(
            torch.eye(o[0] * o[1]).reshape(-1, 1, *o), size=n, mode="bicubic", antialias=True
        ),
        "flatten each resized basis patch",
    ),
    "numpy": (lambda o, n: matrix(o, n).numpy(), "return a torch.Tensor"),
    "raises": (lambda o, n: 1 / 0, "ZeroDivisionError"),
    "garbage": (lambda o, n: torch.zeros(n[0] * n[1], o[0] * o[1]), "the values differ"),
}


@pytest.mark.parametrize("name", sorted(MATRIX_MISTAKES))
def test_resize_matrix_names_mistake(name, capsys):
    fn, message = MATRIX_MISTAKES[name]
    assert check_resize_matrix(fn) is False
    out = capsys.readouterr().out
    assert message in out, out


# ---- PI-resize --------------------------------------------------------------------------------


def pi_resize(weight, resize_mat, new_size):
    d, c = weight.shape[:2]
    pinv = torch.linalg.pinv(resize_mat.T)  # (new, old)
    return (weight.reshape(d * c, -1) @ pinv.T).reshape(d, c, *new_size)


def test_pi_resize_accepts_solution_and_timm_spelling(capsys):
    assert check_pi_resize(pi_resize) is True
    assert capsys.readouterr().out.startswith("✓ pi_resize: correct.")
    timm_like = lambda w, b, n: (w.flatten(2) @ torch.linalg.pinv(b)).reshape(*w.shape[:2], *n)  # noqa: E731
    assert check_pi_resize(timm_like) is True


def _naive(w, b, n):
    return (w.flatten(2) @ b.T).reshape(*w.shape[:2], *n)


PI_MISTAKES = {
    "stub": (_stub, "not done yet"),
    "naive": (_naive, "you RESIZED the kernel like an image"),
    "naive_area": (
        lambda w, b, n: _naive(w, b, n) * (w.shape[2] * w.shape[3]) / (n[0] * n[1]),
        "scaled by the area ratio",
    ),
    "flat": (lambda w, b, n: pi_resize(w, b, n).flatten(2), "reshape the flat kernels back"),
    "swapped": (lambda w, b, n: pi_resize(w, b, n).transpose(2, 3), "rows and cols are swapped"),
    "float64": (lambda w, b, n: pi_resize(w.double(), b.double(), n), "dtype torch.float64"),
    "inplace": (lambda w, b, n: pi_resize(w.mul_(2) / 2, b, n), "changed the input kernel"),
    "wrong_side": (lambda w, b, n: torch.linalg.pinv(b) @ w.flatten(2), "RuntimeError"),
    "garbage": (lambda w, b, n: torch.ones(*w.shape[:2], *n), "the values differ"),
}


@pytest.mark.parametrize("name", sorted(PI_MISTAKES))
def test_pi_resize_names_mistake(name, capsys):
    fn, message = PI_MISTAKES[name]
    assert check_pi_resize(fn) is False
    out = capsys.readouterr().out
    assert message in out, out


# ---- quiz ---------------------------------------------------------------------------------------


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


def test_every_answer_is_an_option():
    for q in QUIZ.values():
        assert q.answer in q.options and q.why and q.where


# ---- embedding forward (notebook 08) -----------------------------------------------------------


def embed(images, weight, bias, cls_token, pos_embed):
    t = F.conv2d(images, weight, bias, stride=weight.shape[-1]).flatten(2).transpose(1, 2)
    return torch.cat([cls_token.expand(len(images), -1, -1), t], 1) + pos_embed


def _conv(images, weight, bias):
    return F.conv2d(images, weight, bias, stride=weight.shape[-1])


def _cls(images, cls_token):
    return cls_token.expand(len(images), -1, -1)


def _plain(images, weight, bias, cls_token, pos_embed):
    from vitlearn import patchify

    t = patchify(images, weight.shape[-1]) @ weight.reshape(len(weight), -1).T + bias
    return torch.cat([_cls(images, cls_token), t], 1) + pos_embed


EMBED_MISTAKES = {
    "stub": (_stub, "not done yet"),
    "cls_last": (
        lambda x, w, b, c, p: (
            torch.cat([_conv(x, w, b).flatten(2).transpose(1, 2), _cls(x, c)], 1) + p
        ),
        "class token is at the END",
    ),
    "no_bias": (lambda x, w, b, c, p: embed(x, w, None, c, p), "bias is missing"),
    "no_pos": (lambda x, w, b, c, p: embed(x, w, b, c, 0 * p), "position table was not added"),
    "cls_no_pos": (
        lambda x, w, b, c, p: torch.cat(
            [_cls(x, c), _conv(x, w, b).flatten(2).transpose(1, 2) + p[:, 1:]], 1
        ),
        "pos_embed[:, 1:] to the patch tokens only",
    ),
    "col_major": (
        lambda x, w, b, c, p: (
            torch.cat([_cls(x, c), _conv(x, w, b).transpose(2, 3).flatten(2).transpose(1, 2)], 1)
            + p
        ),
        "column-major order",
    ),
    "plain_reshape": (_plain, "reshaped the conv kernel (D, C, P, P) plainly"),
    "no_cls": (
        lambda x, w, b, c, p: _conv(x, w, b).flatten(2).transpose(1, 2),
        "class token is missing",
    ),
    "channels_first": (
        lambda x, w, b, c, p: embed(x, w, b, c, p).transpose(1, 2),
        "tokens go along axis 1",
    ),
    "inplace": (
        lambda x, w, b, c, p: embed(x, w, b, c, p.mul_(1.0).add_(0.0).add_(1.0) - 1.0),
        "changed one of its inputs",
    ),
}


def test_embedding_forward_accepts_solution(capsys):
    assert exercises.check_embedding_forward(embed) is True
    assert capsys.readouterr().out.startswith("✓ embedding_forward: correct.")


@pytest.mark.parametrize("name", sorted(EMBED_MISTAKES))
def test_embedding_forward_names_mistake(name, capsys):
    fn, message = EMBED_MISTAKES[name]
    assert exercises.check_embedding_forward(fn) is False
    out = capsys.readouterr().out
    assert message in out, out
