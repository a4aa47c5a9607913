"""The notebook-07 checkers (resize matrix, PI-resize) accept right answers and name mistakes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from vitlearn.exercises import check_pi_resize, check_resize_matrix

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
