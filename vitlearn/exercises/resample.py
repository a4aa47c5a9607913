"""Checker for notebook 06's exercise: debug a resize that is skipped when it should not be.

A helper that resizes a position table only when it must is easy to get wrong: judged by the token
count, a table for a 16 x 8 grid "already fits" an 8 x 16 grid (128 tokens both), and is handed
over unchanged. timm's ``resample_abs_pos_embed`` had such a shortcut (when the new grid was also
square) until its pull request 2737.

The student writes ``fn(pos_embed, old_size, new_size, num_prefix_tokens=1)`` for a table
``(1, prefix + old_rows*old_cols, D)`` on the grid ``old_size = (old_rows, old_cols)``, returning
``(1, prefix + new_rows*new_cols, D)``: the table itself (or an equal copy) when the grids are
equal, else the grid resized in 2-D with the prefix rows unchanged. Any 2-D bilinear or bicubic
interpolation is accepted. The checker names the typical mistakes: the shortcut judged by the token
count, timm's old shortcut (token count and a square new grid), ``old_size`` read as
``(cols, rows)``, a table changed in place, the prefix rows changed or dropped, the wrong shape.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .._checks import shape_str
from ..resample import resample_pos_embed
from ._feedback import Mistake, call_student, run_checks

__all__ = ["check_resize_if_needed"]

# (prefix tokens, old grid, new grid). First a plain resize (a non-square old grid, so that
# old_size read as (cols, rows) shows) and an unchanged grid; then the two
# traps with the same token count: a non-square grid turned on its side (a guard on the count
# alone skips it) and a non-square grid to a square one (timm's old guard, count and a square new
# grid, skips it too); then no prefix and two prefix tokens (class and distillation).
_CASES = [
    (1, (3, 4), (6, 6)),
    (1, (6, 6), (6, 6)),
    (1, (16, 8), (8, 16)),
    (1, (8, 18), (12, 12)),
    (0, (3, 5), (5, 3)),
    (2, (2, 8), (4, 4)),
]

# every 2-D method accepted: (name, keyword arguments of resample_pos_embed)
_ACCEPTED = [
    ("bicubic with antialiasing (timm's default)", {"interpolation": "bicubic", "antialias": True}),
    ("bicubic", {"interpolation": "bicubic", "antialias": False}),
    (
        "bicubic with align_corners=True",
        {"interpolation": "bicubic", "antialias": False, "align_corners": True},
    ),
    ("bilinear", {"interpolation": "bilinear", "antialias": False}),
    ("bilinear with antialiasing", {"interpolation": "bilinear", "antialias": True}),
    (
        "bilinear with align_corners=True",
        {"interpolation": "bilinear", "antialias": False, "align_corners": True},
    ),
    ("bicubic with DINOv2's +0.1 offset", {"recipe": "dinov2_legacy"}),
]

_TOL = 1e-5


def _table(prefix: int, old: tuple[int, int], dim: int = 6) -> torch.Tensor:
    g = torch.Generator().manual_seed(100 * prefix + 10 * old[0] + old[1])
    return torch.randn(1, prefix + old[0] * old[1], dim, generator=g)


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a.float(), b.float(), atol=_TOL, rtol=0))


def _grid(size: tuple[int, int]) -> str:
    return f"{size[0]} x {size[1]}"


def _a(size: tuple[int, int]) -> str:
    """ "a 6 x 6" or "an 8 x 16" grid."""
    return ("an " if str(size[0]).startswith("8") or size[0] in (11, 18) else "a ") + _grid(size)


def _skipped(old: tuple[int, int], new: tuple[int, int], call: str) -> Mistake:
    """The message for a table handed over unchanged to another grid of the same token count."""
    n = old[0] * old[1]
    if new[0] == new[1]:
        return Mistake(
            f"{call} returned the {_grid(old)} table unchanged for {_a(new)} grid. Both have "
            f"{n} tokens and the new grid is square, but the old one is not. A guard on the token "
            "count and a square new grid assumes the old grid was square too: timm's helper had "
            "that shortcut until a fix. Skip the resize only when old_size equals new_size."
        )
    t = 8 if new[1] > 8 else new[1] - 1  # a patch of the new first row past the old row's length
    r, c = divmod(t, old[1])
    return Mistake(
        f"{call} returned the {_grid(old)} table unchanged for {_a(new)} grid. Both have {n} "
        f"tokens, so the shapes fit and nothing complains, but the grids differ: new patch "
        f"(0, {t}) would get the code of old patch ({r}, {c}). The same token count is not the "
        "same grid: "
        "skip the resize only when old_size equals new_size."
    )


def _check_case(
    fn: Callable, prefix: int, old: tuple[int, int], new: tuple[int, int]
) -> list[str] | None:
    """Raise a Mistake; or return the accepted methods the answer matches (None: grid unchanged)."""
    table = _table(prefix, old)
    dim = table.shape[-1]
    keep = table.clone()
    call = (
        f"fn(table of shape {shape_str(table.shape)}, old_size={old}, new_size={new}, "
        f"num_prefix_tokens={prefix})"
    )
    got = call_student(fn, table, old, new, num_prefix_tokens=prefix, call=call)
    if not torch.equal(table, keep):
        raise Mistake(f"{call} changed its input table in place; build a new tensor instead.")
    if not isinstance(got, torch.Tensor):
        raise Mistake(f"{call} returned a {type(got).__name__}, expected a torch.Tensor.")
    got = got.detach()
    want = (1, prefix + new[0] * new[1], dim)
    if tuple(got.shape) != want:
        hint = ""
        if prefix and tuple(got.shape) == (1, new[0] * new[1], dim):
            hint = f" The {prefix} prefix row(s) are missing: keep them in front, unchanged."
        raise Mistake(
            f"{call} returned shape {shape_str(got.shape)}, expected {shape_str(want)}.{hint}"
        )
    if old == new:
        if not _close(got, table):
            raise Mistake(
                f"{call}: the grid does not change, so the table must come back as it was; yours "
                f"differs by up to {float((got - table).abs().max()):.3g}."
            )
        return None
    if _close(got, table):
        raise _skipped(old, new, call)
    if prefix and not _close(got[:, :prefix], table[:, :prefix]):
        raise Mistake(
            f"{call}: the first {prefix} row(s) changed. Prefix rows (the class token) have no "
            "place on the grid: copy them unchanged and resize only the rows after them."
        )
    matches = [
        name
        for name, kw in _ACCEPTED
        if _close(got, resample_pos_embed(table, new, old_size=old, num_prefix_tokens=prefix, **kw))
    ]
    if matches:
        return matches
    if old[0] != old[1]:
        for _name, kw in _ACCEPTED:
            flipped = (old[1], old[0])
            wrong = resample_pos_embed(table, new, old_size=flipped, num_prefix_tokens=prefix, **kw)
            if _close(got, wrong):
                raise Mistake(
                    f"{call}: you read the table as {_a(flipped)} grid. old_size is (rows, "
                    f"cols) = {old}: {old[0]} rows of {old[1]} codes, token prefix + r * {old[1]} "
                    "+ c at row r, column c. Pass old_size as it is."
                )
    ref = resample_pos_embed(table, new, old_size=old, num_prefix_tokens=prefix)
    gap = float((got - ref).abs().max())
    raise Mistake(
        f"{call} has the right shape, but its table differs from the {_grid(old)} grid resized "
        f"to {_grid(new)} in 2-D by up to {gap:.3g}. Resize with "
        "resample_pos_embed(pos_embed, new_size, old_size=old_size, "
        "num_prefix_tokens=num_prefix_tokens)."
    )


def check_resize_if_needed(fn: Callable[..., torch.Tensor]) -> bool:
    """Check ``fn(pos_embed, old_size, new_size, num_prefix_tokens=1)``: the table itself when the
    grid is unchanged, else resized in 2-D, also when the token count stays the same.

    Prints friendly feedback (which typical mistake a wrong answer looks like) and returns whether
    it is right; never raises.
    """

    def checks() -> str:
        used = [_check_case(fn, prefix, old, new) for prefix, old, new in _CASES]
        resized = [u for u in used if u is not None]
        common = [name for name in resized[0] if all(name in u for u in resized)] or resized[-1]
        return (
            "A 16 x 8 table for an 8 x 16 grid and an 8 x 18 one for 12 x 12 are resized, though "
            "the token counts match; an unchanged grid keeps its table. Your method matches "
            f"{common[0]}."
        )

    return run_checks("resize_if_needed", checks)
