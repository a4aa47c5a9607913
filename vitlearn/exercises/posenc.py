"""Exercise checkers for chapter 2 (position codes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .._checks import shape_str
from ..patches import patchify, unpatchify
from ._feedback import Mistake, call_student, run_checks

__all__ = ["check_jigsaw", "check_sincos_2d"]

# The grids and widths the checker tries: non-square first (on a square grid, tokens in
# column-major order look the same as x and y swapped), then a square int grid.
_CASES = [((3, 5), 16), ((5, 2), 8), (4, 16), ((2, 6), 32)]


def _codes(rows: int, cols: int, dim: int, *, denom: str = "F", layout: str = "mae",
           order: str = "row") -> torch.Tensor:
    """The MAE codes (``layout="mae"``, ``denom="F"``, row-major), or one typical mistake.

    ``denom`` is what the exponent ``k / denom`` divides by: ``"F"`` (dim/4, right), ``"F-1"``,
    ``"D/2"`` or ``"D"``. ``layout`` names the channel blocks. ``order`` is the token order.
    """
    f = dim // 4
    d = {"F": f, "F-1": max(f - 1, 1), "D/2": dim / 2, "D": dim}[denom]
    omega = 10000.0 ** (-torch.arange(f, dtype=torch.float64) / d)
    y, x = torch.meshgrid(
        torch.arange(rows, dtype=torch.float64), torch.arange(cols, dtype=torch.float64), indexing="ij"
    )
    if order == "col":  # tokens listed column by column
        y, x = y.T, x.T
    ax, ay = x.reshape(-1, 1) * omega, y.reshape(-1, 1) * omega
    blocks = {
        "mae": [ax.sin(), ax.cos(), ay.sin(), ay.cos()],
        "sincos_swapped": [ax.cos(), ax.sin(), ay.cos(), ay.sin()],
        "xy_swapped": [ay.sin(), ay.cos(), ax.sin(), ax.cos()],
        "timm": [ay.sin(), ax.sin(), ay.cos(), ax.cos()],
        "sines_first": [ax.sin(), ay.sin(), ax.cos(), ay.cos()],
    }[layout]
    return torch.cat(blocks, dim=1)


_TYPICAL: list[tuple[dict[str, str], str]] = [
    (
        {"layout": "sincos_swapped"},
        "It looks like sin and cos are swapped: within each half the sines come first, "
        "[sin x | cos x], then the cosines.",
    ),
    (
        {"layout": "xy_swapped"},
        "It looks like x and y are swapped: the FIRST half must encode the column index x "
        "(MAE calls that half emb_h, but it is built from the column), the second half the row y.",
    ),
    (
        {"layout": "timm"},
        "These are timm's layout, [sin y | sin x | cos y | cos x]. This exercise uses MAE's: "
        "[sin x | cos x | sin y | cos y].",
    ),
    (
        {"layout": "sines_first"},
        "All the sines come before the cosines here. MAE's layout keeps each axis together: "
        "[sin x | cos x | sin y | cos y].",
    ),
    (
        {"denom": "F-1"},
        "The frequencies are big_vision's: exponent k / (dim/4 - 1). MAE's is k / (dim/4), "
        "k = 0 .. dim/4 - 1.",
    ),
    (
        {"denom": "D/2"},
        "Wrong frequency exponent: you divide k by dim/2; each axis has dim/2 channels, i.e. dim/4 "
        "frequencies, so use k / (dim/4).",
    ),
    (
        {"denom": "D"},
        "Wrong frequency exponent: you divide k by dim; each axis has dim/4 frequencies, so use "
        "k / (dim/4).",
    ),
    (
        {"order": "col"},
        "The right codes, but the tokens are in column-major order. Token t is the patch at row "
        "t // cols, column t % cols (row by row, like reading).",
    ),
]


def _as_tensor(result: Any, what: str) -> torch.Tensor:
    if isinstance(result, np.ndarray):
        result = torch.from_numpy(result)
    if not isinstance(result, torch.Tensor):
        raise Mistake(f"{what} should be a torch.Tensor (or numpy array), but it is a "
                      f"{type(result).__name__}.")
    if not (result.is_floating_point()):
        raise Mistake(f"{what} has dtype {result.dtype}; sines and cosines need a float dtype.")
    return result.detach().double()


def _check_one(fn: Callable[..., Any], grid: int | tuple[int, int], dim: int) -> None:
    rows, cols = (grid, grid) if isinstance(grid, int) else grid
    call = f"fn({grid!r}, {dim})"
    what = f"{call}"
    got = _as_tensor(call_student(fn, grid, dim, call=call), what)
    n = rows * cols
    if tuple(got.shape) != (n, dim):
        hint = ""
        if tuple(got.shape) == (rows, cols, dim):
            hint = " You returned the (rows, cols, dim) grid: flatten it row by row to (rows*cols, dim)."
        elif tuple(got.shape) == (dim, n):
            hint = " It is transposed: one ROW per token, one column per channel."
        elif rows != cols and got.dim() == 2 and got.shape[0] in (rows * rows, cols * cols):
            hint = " It looks like only one of rows/cols was used for both axes of the grid."
        elif got.dim() == 2 and got.shape[0] == n:
            hint = " The number of channels is off: a quarter each for sin x, cos x, sin y, cos y."
        raise Mistake(f"{what} has shape {shape_str(got.shape)}, expected ({n}, {dim}) "
                      f"for a {rows}x{cols} grid.{hint}")
    if torch.isnan(got).any():
        raise Mistake(f"{what} contains NaN (a division by zero in the exponent?).")
    expected = _codes(rows, cols, dim)
    if torch.allclose(got, expected, atol=1e-4, rtol=0):
        return
    if n == dim and torch.allclose(got.T, expected, atol=1e-4, rtol=0):
        raise Mistake(f"{what}: It is transposed: one ROW per token, one column per channel.")
    for kwargs, message in _TYPICAL:
        if torch.allclose(got, _codes(rows, cols, dim, **kwargs), atol=1e-4, rtol=0):
            raise Mistake(f"{what}: {message}")
    err = (got - expected).abs()
    token, channel = divmod(int(err.argmax()), dim)
    raise Mistake(
        f"{what} has the right shape but wrong values: e.g. token {token} (row {token // cols}, "
        f"column {token % cols}), channel {channel}: expected {float(expected[token, channel]):.4f}, "
        f"got {float(got[token, channel]):.4f}."
    )


def check_sincos_2d(fn: Callable[..., Any]) -> bool:
    """Check a student's 2-D sin-cos codes in MAE's convention; print feedback; return bool.

    ``fn(grid_size, dim)`` takes an int or ``(rows, cols)`` and returns ``(rows*cols, dim)``, token
    ``t`` = patch at row ``t // cols``, column ``t % cols``, channels
    ``[sin x | cos x | sin y | cos y]`` with ``w_k = 10000 ** (-k / (dim/4))``, x = column, y = row.
    Tried on square and non-square grids. Never raises.
    """

    def checks() -> str:
        for grid, dim in _CASES:
            _check_one(fn, grid, dim)
        return "Same as vitlearn.sincos_2d_pos_embed(grid_size, dim, convention='mae'), on square and non-square grids."

    return run_checks("check_sincos_2d", checks)


# --- the jigsaw (notebook 03) -------------------------------------------------------------------

_JIGSAW_CASES = [((3, 8, 12), 4, 11), ((1, 6, 6), 2, 12), ((3, 12, 8), 4, 13)]  # (C, H, W), P, seed


def _jigsaw_case(shape: tuple[int, int, int], p: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(shape, generator=g)
    n = (shape[1] // p) * (shape[2] // p)
    perm = torch.randperm(n, generator=g)
    while n >= 3 and (torch.equal(perm, torch.arange(n)) or torch.equal(perm, perm.argsort())):
        perm = torch.randperm(n, generator=g)  # neither the identity nor its own inverse
    return image, perm


def _check_jigsaw_one(fn: Callable[..., Any], shape: tuple[int, int, int], p: int, seed: int) -> None:
    image, perm = _jigsaw_case(shape, p, seed)
    c, h, w = shape
    rows, cols = h // p, w // p
    call = f"fn(image of shape {shape_str(shape)}, {p}, perm={perm.tolist()})"
    got = call_student(fn, image.clone(), p, perm.clone(), call=call)
    if not isinstance(got, torch.Tensor):
        raise Mistake(f"{call} should return a torch.Tensor, but it returned a {type(got).__name__}.")
    n, f = rows * cols, p * p * c
    if tuple(got.shape) != shape:
        hint = ""
        if tuple(got.shape) == (n, f):
            hint = " These are the shuffled tokens: put them back into an image with unpatchify."
        elif tuple(got.shape) == (h, w, c):
            hint = " The channels are last: keep the course's (C, H, W) layout."
        raise Mistake(f"{call} has shape {shape_str(got.shape)}, expected the image's shape "
                      f"{shape_str(shape)}.{hint}")
    got = got.detach().to(image.dtype)
    tokens = patchify(image, p)  # (N, F)
    expected = unpatchify(tokens[perm], p, (rows, cols))
    if torch.allclose(got, expected):
        return
    if torch.allclose(got, image):
        raise Mistake(f"{call} returned the image unchanged: the patches were not moved.")
    if torch.allclose(got, unpatchify(tokens[perm.argsort()], p, (rows, cols))):
        raise Mistake(
            f"{call}: the permutation is applied the other way round. Position i of the jigsaw "
            "must show patch perm[i] of the image (gather: tokens[perm]), not send patch i to "
            "position perm[i]."
        )
    got_tokens = patchify(got, p)
    for i in range(n):
        if not torch.allclose(got_tokens[i], tokens[perm[i]]):
            same = [j for j in range(n) if torch.allclose(got_tokens[i], tokens[j])]
            where = (f"it is patch {same[0]} (row {same[0] // cols}, col {same[0] % cols})" if same
                     else "it is not any patch of the image (were pixels moved inside a patch?)")
            j = int(perm[i])
            raise Mistake(
                f"{call}: the jigsaw's patch at row {i // cols}, col {i % cols} should be patch "
                f"perm[{i}] = {j} of the image (row {j // cols}, col {j % cols}), but {where}."
            )
    raise Mistake(f"{call} has the right patches but differs in value somewhere.")


def check_jigsaw(fn: Callable[..., Any]) -> bool:
    """Check ``fn(image (C, H, W), patch_size, perm (N,)) -> (C, H, W)``: the patch at raster
    position ``i`` of the result is patch ``perm[i]`` of ``image`` (patches in row-major order).
    Tried on non-square and square grids. Prints feedback, returns bool, never raises."""

    def checks() -> str:
        for shape, p, seed in _JIGSAW_CASES:
            _check_jigsaw_one(fn, shape, p, seed)
        return "Every patch is where perm says, on square and non-square grids."

    return run_checks("check_jigsaw", checks)
