"""Checker for notebook 01's exercise: fix a patchify that passed its test.

The notebook shows :data:`PATCHIFY_FAST`, a loop-free patchify that agrees with the loops on every
square image and scrambles every other one: it reads the image's last two sizes as
``(width, height)``, PIL's order, where a tensor holds ``(H, W)``. The student writes the fixed
``fn(images, patch_size)`` for a batch ``(B, C, H, W)`` and an int ``P``; it must return
``(B, N, P*P*C)`` tokens in raster order with features ordered (row in patch, column in patch,
channel), like :func:`vitlearn.patchify`. The checker tries non-square images first (where the bug
shows) and several patch sizes and, when the answer is wrong, says which typical mistake it looks
like: the bug itself, or the slips of a fix (column-major patches, ``(C, P, P)`` features, ...).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .._checks import shape_str
from ..patches import patchify
from ._feedback import Mistake, call_student, run_checks

__all__ = ["PATCHIFY_FAST", "check_patchify"]

PATCHIFY_FAST = '''def patchify_fast(images, p):
    """(B, C, H, W) -> (B, N, p*p*C) in raster order, without loops."""
    B, C = images.shape[:2]
    width, height = images.shape[-2:]
    rows, cols = height // p, width // p
    x = images.reshape(B, C, rows, p, cols, p)  # split each side into (grid, pixel in patch)
    x = x.permute(0, 2, 4, 3, 5, 1)  # (B, rows, cols, p, p, C): grid first, channel last
    return x.reshape(B, rows * cols, p * p * C)  # one token per patch, raster order
'''
"""The buggy function of notebook 01's exercise, exactly as the notebook shows it. Its second line
unpacks ``(H, W)`` as ``(width, height)``: right on a square image, scrambled on any other."""

# (B, C, H, W, P): non-square images first, so row/column mix-ups show; then other sizes.
_CASES = [(2, 3, 8, 12, 4), (1, 3, 6, 15, 3), (3, 1, 10, 4, 2), (2, 2, 14, 21, 7)]


def _image(b: int, c: int, h: int, w: int) -> torch.Tensor:
    """A batch whose values are all different, so any reordering is visible."""
    g = torch.Generator().manual_seed(b * 1000 + c * 100 + h * 10 + w)
    n = b * c * h * w
    return (torch.randperm(n, generator=g).float() / n).reshape(b, c, h, w)


def _look_alikes(x: torch.Tensor, p: int) -> dict[str, torch.Tensor]:
    """What typical wrong answers return for ``x``: name of the mistake -> its output."""
    b, c, h, w = x.shape
    rows, cols = h // p, w // p
    ref = patchify(x, p)  # (B, N, P*P*C)
    f = p * p * c
    grid = ref.reshape(b, rows, cols, p, p, c)  # (B, rows, cols, P, P, C)
    col_major = grid.transpose(1, 2)  # patches numbered down the columns first
    cpp = grid.permute(0, 1, 2, 5, 3, 4)  # features (C, P, P), as F.unfold gives them
    swapped = grid.transpose(3, 4)  # (column in patch, row in patch, channel)
    # PATCHIFY_FAST's bug: H split into (W // p, p) and W into (H // p, p), same element count
    sides = x.reshape(b, c, w // p, p, h // p, p).permute(0, 2, 4, 3, 5, 1).reshape(b, -1, f)
    return {
        "sides-swapped": sides,
        "column-major": col_major.reshape(b, -1, f),
        "cpp": cpp.reshape(b, -1, f),
        "column-major+cpp": col_major.permute(0, 1, 2, 5, 3, 4).reshape(b, -1, f),
        "swapped-pixels": swapped.reshape(b, -1, f),
    }


_MESSAGES = {
    "sides-swapped": (
        "this is patchify_fast's bug, still there: the height was split into W // P rows and the "
        "width into H // P columns. A tensor is (B, C, H, W): its last two sizes are (height, "
        "width), rows of pixels first. PIL's Image.size is (width, height), the other way round. "
        "On a square image the two orders agree, which is why patchify_fast passed its test."
    ),
    "column-major": (
        "your patches are in column-major order: you numbered them down each column first. "
        "Token n must be the patch at grid row n // cols, column n % cols (left to right along "
        "the top row, then the next row), which means the rows axis must come before the cols "
        "axis when you merge them into N."
    ),
    "cpp": (
        "the features of each token are ordered (channel, row in patch, column in patch), which "
        "is what F.unfold gives: the right pixels, in the wrong order. The course's order is "
        "(row in patch, column in patch, channel): put the channel axis last before you flatten "
        "each patch."
    ),
    "column-major+cpp": (
        "two things: the patches are in column-major order (number them along each row first: "
        "rows axis before cols axis), and the features are ordered (channel, row, column) "
        "instead of (row in patch, column in patch, channel) (put the channel axis last)."
    ),
    "swapped-pixels": (
        "inside each patch you put the columns before the rows: the features should be ordered "
        "(row in patch, column in patch, channel), so the axis of rows within a patch comes first."
    ),
}


def _diagnose_shape(got: torch.Tensor, x: torch.Tensor, p: int, call: str) -> None:
    """Raise a Mistake that explains a wrong output shape."""
    b, c, h, w = x.shape
    rows, cols = h // p, w // p
    n, f = rows * cols, p * p * c
    want = (b, n, f)
    s = tuple(got.shape)
    head = f"{call} returned shape {shape_str(s)}, expected (B, N, P*P*C) = {shape_str(want)}"
    if s in [(b, n, c, p, p), (b, n, p, p, c), (b, rows, cols, c, p, p), (b, rows, cols, p, p, c)]:
        raise Mistake(
            f"{head}.\n  Your patches are not flattened: each token must be one vector of "
            f"P*P*C = {f} numbers. Flatten the patch axes, e.g. with .reshape({b}, {n}, {f})."
        )
    if s[:3] == (b, rows, cols) and len(s) >= 3:
        raise Mistake(
            f"{head}.\n  You kept the patch grid as two axes (rows, cols) = ({rows}, {cols}); "
            f"merge them into one axis of N = rows * cols = {n} tokens, rows first (raster order)."
        )
    if s == (n, f) or s == (b * n, f):
        what = "dropped" if s == (n, f) else "merged into the token axis"
        raise Mistake(
            f"{head}.\n  The batch dimension is {what}: the input is a batch of B = {b} images, "
            f"and the output must keep B first, one row of N tokens per image."
        )
    if s == (b, f, n):
        raise Mistake(
            f"{head}.\n  The last two axes are swapped: tokens go along axis 1 and the features "
            "of each token along axis 2 (F.unfold returns (B, P*P*C, N); transpose it)."
        )
    if got.numel() != b * n * f:
        raise Mistake(f"{head}.")
    raise Mistake(f"{head}.\n  The number of values is right, but they are arranged differently.")


def check_patchify(fn: Callable[[torch.Tensor, int], torch.Tensor]) -> bool:
    """Check a student's ``fn(images, patch_size) -> tokens`` against :func:`vitlearn.patchify`.

    ``images`` is ``(B, C, H, W)``, ``patch_size`` an int ``P``; the answer must be
    ``(B, N, P*P*C)`` in raster order with features (row in patch, column in patch, channel).
    Prints feedback; returns ``True`` when every case passes. Never raises.
    """

    def checks() -> str:
        for b, c, h, w, p in _CASES:
            x = _image(b, c, h, w)
            before = x.clone()
            call = f"patchify(images of shape {shape_str(x.shape)}, {p})"
            got = call_student(fn, x, p, call=call)
            if not isinstance(got, torch.Tensor):
                raise Mistake(f"{call} returned a {type(got).__name__}; return a torch.Tensor.")
            if not torch.equal(x, before):
                raise Mistake(f"{call} changed the input images; patchify must not modify them.")
            want = patchify(x, p)
            if tuple(got.shape) != tuple(want.shape):
                _diagnose_shape(got, x, p, call)
            got = got.detach().to(want.dtype)  # an int or float64 answer is compared by value
            if torch.equal(got, want):
                continue
            for name, look in _look_alikes(x, p).items():
                if torch.equal(got, look):
                    raise Mistake(f"{call} has the right shape, but {_MESSAGES[name]}")
            rows, cols = h // p, w // p
            msg = f"{call} has the right shape {shape_str(want.shape)}, but the values differ."
            if torch.equal(got.sort(dim=-1).values, want.sort(dim=-1).values):
                msg += (
                    " Every token holds the right pixels, in a different order: check the "
                    "feature order (row in patch, column in patch, channel)."
                )
            elif torch.equal(got.flatten().sort().values, want.flatten().sort().values):
                msg += (
                    " All the pixel values are there but grouped into the wrong patches: check "
                    f"how you split H into (rows={rows}, P={p}) and W into (cols={cols}, P={p}) "
                    "(rows and P in that order)."
                )
            else:
                msg += " Some values are not pixels of the input: did you change them on the way?"
            bad = (got != want).any(dim=-1)[0].nonzero().flatten()
            if len(bad):
                n0 = int(bad[0])
                msg += (
                    f"\n  First wrong token in image 0: n = {n0} "
                    f"(grid row {n0 // cols}, column {n0 % cols})."
                )
            raise Mistake(msg)
        return (
            f"It matches vitlearn.patchify on {len(_CASES)} batches "
            "(non-square images, P = 2 to 7)."
        )

    return run_checks("patchify", checks)
