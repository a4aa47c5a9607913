"""Checker for notebook 09's exercise: the NaFlex size of an image under a patch budget.

The student writes ``fn(height, width, patch_size, max_patches) -> (new_height, new_width)``: the
image resized with its aspect ratio kept, each side rounded *up* to whole patches, as large as the
budget of ``max_patches`` patches allows (SigLIP 2's NaFlex rule,
:func:`vitlearn.anyres.naflex_size`). The checker names the typical mistakes: a side that is not a
multiple of the patch size, an answer over budget, height and width swapped, the patch grid returned
instead of pixels, a side of zero patches, a square answer that ignores the aspect ratio, rounding
down (under budget, but smaller than the budget allows).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..anyres import naflex_size
from ._feedback import Mistake, call_student, run_checks

__all__ = ["check_naflex_size"]

# (height, width, patch_size, max_patches): a landscape photo, the same photo in portrait (height
# and width swapped show), a small image that must grow, a tall strip whose short side needs the
# "at least one patch" rule, sizes where rounding down and rounding up differ, a non-square patch
# budget. On each, a bisection on the scale (SigLIP 2's way) finds the same answer.
_CASES = [
    (256, 384, 16, 64),
    (384, 256, 16, 64),
    (40, 30, 8, 48),
    (300, 451, 14, 100),
    (1000, 40, 16, 20),
    (224, 224, 16, 196),
    (97, 211, 8, 37),
]


def _one_shot(
    h: int, w: int, p: int, budget: int, rounding: Callable[[float], int]
) -> tuple[int, int]:
    """Scale so that h * w * s**2 = budget * p**2, then round each side with ``rounding``."""
    s = math.sqrt(budget * p * p / (h * w))
    return rounding(h * s / p) * p, rounding(w * s / p) * p


def _searched_rounding_down(h: int, w: int, p: int, budget: int) -> tuple[int, int]:
    """The largest scale whose sides rounded *down* to whole patches (at least one) fit the budget,
    found by bisection: the answer of a search that floors instead of ceiling."""

    def grid(s: float) -> tuple[int, int]:
        return max(1, math.floor(h * s / p)), max(1, math.floor(w * s / p))

    lo, hi = 1e-6, 100.0
    while hi - lo >= 1e-7:
        mid = (lo + hi) / 2
        r, c = grid(mid)
        lo, hi = (mid, hi) if r * c <= budget else (lo, mid)
    r, c = grid(lo)
    return r * p, c * p


def _as_pair(got: Any, call: str) -> tuple[int, int]:
    if not isinstance(got, tuple | list) or len(got) != 2:
        what = type(got).__name__ + (
            f" of length {len(got)}" if isinstance(got, tuple | list) else ""
        )
        raise Mistake(f"{call} returned a {what}; return a pair (new_height, new_width) of ints.")
    values = []
    for v in got:
        if hasattr(v, "item") and getattr(v, "ndim", 1) == 0:
            v = v.item()  # a 0-d tensor or numpy number
        if isinstance(v, float) and v.is_integer():
            raise Mistake(
                f"{call} returned {tuple(got)}: sizes in pixels are whole numbers, return ints "
                f"(int(...)), not floats."
            )
        if isinstance(v, bool) or not isinstance(v, int):
            raise Mistake(f"{call} returned {tuple(got)}; both sizes must be ints (pixels).")
        values.append(int(v))
    return values[0], values[1]


def _check_case(fn: Callable[..., Any], h: int, w: int, p: int, budget: int) -> None:
    call = f"fn(height={h}, width={w}, patch_size={p}, max_patches={budget})"
    got = _as_pair(call_student(fn, h, w, p, budget, call=call), call)
    want = naflex_size(h, w, p, budget)
    if got == want.size:
        return
    gh, gw = got
    expected = (
        f"expected {want.size} (a {want.rows} x {want.cols} grid, {want.num_patches} patches)"
    )
    if got == want.grid:
        raise Mistake(
            f"{call} returned {got}, which is the patch grid (rows, cols). Return the size in "
            f"pixels: rows * patch_size, cols * patch_size; {expected}."
        )
    if got == (want.width, want.height):
        raise Mistake(
            f"{call} returned {got}: height and width are swapped; {expected}. The first value is "
            f"the new height (for the {h}-pixel side), the second the new width."
        )
    if gh % p or gw % p:
        side = "height" if gh % p else "width"
        value = gh if gh % p else gw
        raise Mistake(
            f"{call} returned {got}: the {side} {value} is not a multiple of the patch size {p} "
            f"({value} = {value // p} * {p} + {value % p}), so the image would not split into "
            f"whole patches. Round each side up to a whole number of patches; {expected}."
        )
    if gh <= 0 or gw <= 0:
        raise Mistake(
            f"{call} returned {got}: a side of {min(gh, gw)} pixels has no patch at all. A very "
            f"thin image still gets at least one patch per side; {expected}."
        )
    n = (gh // p) * (gw // p)
    if n > budget:
        hint = ""
        if got == _one_shot(h, w, p, budget, math.ceil):
            hint = (
                " That is the scale sqrt(budget * P^2 / (height * width)) with both sides rounded "
                "up: rounding up adds patches, so that scale can overshoot. Look for the largest "
                "scale whose rounded-up sides still fit (a bisection on the scale, as SigLIP 2 "
                "does)."
            )
        raise Mistake(
            f"{call} returned {got}: {gh // p} x {gw // p} = {n} patches, over the budget of "
            f"{budget}; {expected}.{hint}"
        )
    if h != w and gh == gw:
        raise Mistake(
            f"{call} returned {got}, a square-ish image for a {h} x {w} one: the aspect ratio is "
            f"lost (the image would be squashed). Scale both sides by the same factor; {expected}."
        )
    if got in (_one_shot(h, w, p, budget, math.floor), _searched_rounding_down(h, w, p, budget)):
        raise Mistake(
            f"{call} returned {got}: it looks like each side was rounded down to whole patches. "
            f"That crops up to a patch of pixels off each side and changes the aspect ratio more "
            f"than it must; NaFlex rounds each side up (no pixel is lost) and takes the largest "
            f"scale that still fits; {expected}."
        )
    if gh <= want.height and gw <= want.width:
        raise Mistake(
            f"{call} returned {got} ({gh // p} x {gw // p} = {n} patches): within the budget, but "
            f"a larger image with the same aspect ratio fits; {expected}. Take the largest scale s "
            f"for which ceil(height * s / P) * ceil(width * s / P) <= max_patches."
        )
    raise Mistake(
        f"{call} returned {got} ({gh // p} x {gw // p} = {n} patches), {expected}. Scale both "
        f"sides by the same factor s, round each up to whole patches, and take the largest s "
        f"whose grid fits the budget."
    )


def check_naflex_size(fn: Callable[..., Any]) -> bool:
    """Check ``fn(height, width, patch_size, max_patches) -> (new_height, new_width)`` against
    :func:`vitlearn.anyres.naflex_size`. Prints friendly feedback and returns whether it is
    right; never raises."""

    def checks() -> str | None:
        for case in _CASES:
            _check_case(fn, *case)
        return (
            "Landscape, portrait, tiny and thin images all land on the largest size with whole "
            "patches within the budget."
        )

    return run_checks("naflex_size", checks)
