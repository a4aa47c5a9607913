"""check_sincos_2d accepts MAE's codes and names each typical mistake."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vitlearn import exercises, sincos_2d_pos_embed


def _pair(grid):
    return (grid, grid) if isinstance(grid, int) else tuple(grid)


def make(*, denom="F", layout="mae", order="row", shape="flat", one_axis=False, numpy=False):
    """A student-like implementation with optional mistakes."""

    def fn(grid_size, dim):
        rows, cols = _pair(grid_size)
        if one_axis:
            cols = rows
        f = dim // 4
        d = {"F": f, "F-1": f - 1, "D/2": dim / 2, "D": dim}[denom]
        omega = 1.0 / 10000 ** (np.arange(f) / d)
        y, x = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        if order == "col":
            y, x = y.T, x.T
        ax, ay = np.outer(x.ravel(), omega), np.outer(y.ravel(), omega)
        blocks = {
            "mae": [np.sin(ax), np.cos(ax), np.sin(ay), np.cos(ay)],
            "sincos": [np.cos(ax), np.sin(ax), np.cos(ay), np.sin(ay)],
            "xy": [np.sin(ay), np.cos(ay), np.sin(ax), np.cos(ax)],
            "timm": [np.sin(ay), np.sin(ax), np.cos(ay), np.cos(ax)],
        }[layout]
        out = np.concatenate(blocks, axis=1).astype(np.float32)
        if shape == "grid":
            out = out.reshape(rows, cols, dim)
        elif shape == "transposed":
            out = out.T
        return out if numpy else torch.from_numpy(out)

    return fn


def test_accepts_solution(capsys):
    assert exercises.check_sincos_2d(make()) is True
    assert "✓" in capsys.readouterr().out


def test_accepts_numpy_and_the_package_function(capsys):
    assert exercises.check_sincos_2d(make(numpy=True))
    assert exercises.check_sincos_2d(lambda g, d: sincos_2d_pos_embed(g, d, convention="mae"))


def test_stub_is_not_done_yet(capsys):
    def stub(grid_size, dim):
        raise NotImplementedError

    assert exercises.check_sincos_2d(stub) is False
    assert "not done yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    "kwargs, phrase",
    [
        ({"layout": "sincos"}, "sin and cos are swapped"),
        ({"layout": "xy"}, "x and y are swapped"),
        ({"layout": "timm"}, "timm's layout"),
        ({"denom": "F-1"}, "big_vision's"),
        ({"denom": "D/2"}, "divide k by dim/2"),
        ({"denom": "D"}, "divide k by dim;"),
        ({"order": "col"}, "column-major order"),
        ({"shape": "grid"}, "(rows, cols, dim) grid"),
        ({"shape": "transposed"}, "It is transposed"),
        ({"one_axis": True}, "only one of rows/cols"),
    ],
)
def test_rejects_typical_mistakes(kwargs, phrase, capsys):
    assert exercises.check_sincos_2d(make(**kwargs)) is False
    out = capsys.readouterr().out
    assert "✗" in out and phrase in out, out


def test_rejects_other_errors_without_raising(capsys):
    assert exercises.check_sincos_2d(lambda g, d: [[0.0]]) is False
    assert "should be a torch.Tensor" in capsys.readouterr().out
    assert exercises.check_sincos_2d(lambda g, d: 1 / 0) is False
    assert "ZeroDivisionError" in capsys.readouterr().out

    def off_by_a_bit(g, d):
        out = sincos_2d_pos_embed(g, d).clone()
        out[3, 2] += 0.5
        return out

    assert exercises.check_sincos_2d(off_by_a_bit) is False
    assert "token 3 (row 0, column 3), channel 2" in capsys.readouterr().out


# --- check_jigsaw -------------------------------------------------------------------------------


def _grid(image, p):
    c, h, w = image.shape
    return h // p, w // p


def jigsaw_solution(image, patch_size, perm):
    from vitlearn import patchify, unpatchify

    return unpatchify(patchify(image, patch_size)[perm], patch_size, _grid(image, patch_size))


def jigsaw_inverse(image, patch_size, perm):
    from vitlearn import patchify, unpatchify

    tokens = patchify(image, patch_size)
    out = torch.empty_like(tokens)
    out[perm] = tokens  # scatter: patch i goes to position perm[i]
    return unpatchify(out, patch_size, _grid(image, patch_size))


def jigsaw_by_hand(image, p, perm):
    """Loops instead of patchify: an independent correct answer."""
    rows, cols = _grid(image, p)
    out = torch.empty_like(image)
    for i, j in enumerate(perm.tolist()):
        r, c = divmod(i, cols)
        rj, cj = divmod(j, cols)
        out[:, r * p : r * p + p, c * p : c * p + p] = image[:, rj * p : rj * p + p, cj * p : cj * p + p]
    return out


def jigsaw_column_major(image, p, perm):
    """Numbers the patches column by column: wrong on non-square grids."""
    rows, cols = _grid(image, p)
    out = torch.empty_like(image)
    for i, j in enumerate(perm.tolist()):
        c, r = divmod(i, rows)
        cj, rj = divmod(j, rows)
        out[:, r * p : r * p + p, c * p : c * p + p] = image[:, rj * p : rj * p + p, cj * p : cj * p + p]
    return out


def test_check_jigsaw_accepts(capsys):
    assert exercises.check_jigsaw(jigsaw_solution)
    assert exercises.check_jigsaw(jigsaw_by_hand)
    assert capsys.readouterr().out.count("✓") == 2


def test_check_jigsaw_stub(capsys):
    def stub(image, patch_size, perm):
        raise NotImplementedError

    assert not exercises.check_jigsaw(stub)
    assert "not done yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    "fn, phrase",
    [
        (lambda image, p, perm: image, "unchanged"),
        (jigsaw_inverse, "the other way round"),
        (lambda image, p, perm: __import__("vitlearn").patchify(image, p)[perm], "unpatchify"),
        (lambda image, p, perm: jigsaw_solution(image, p, perm).permute(1, 2, 0), "channels are last"),
        (jigsaw_column_major, "should be patch perm[0]"),
        (lambda image, p, perm: jigsaw_solution(image.flip(-1), p, perm), "not any patch of the image"),
        (lambda image, p, perm: jigsaw_solution(image, p, perm).numpy(), "should return a torch.Tensor"),
    ],
)
def test_check_jigsaw_rejects(fn, phrase, capsys):
    assert exercises.check_jigsaw(fn) is False
    out = capsys.readouterr().out
    assert "✗" in out and phrase in out, out
