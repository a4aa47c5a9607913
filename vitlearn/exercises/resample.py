"""Checker for notebook 06's exercise: resample a position table to a new grid yourself.

The student writes ``fn(pos_embed, new_size, num_prefix_tokens=1)`` for a table
``(1, prefix + n*n, D)`` on a square ``n x n`` grid and a new grid ``new_size = (rows, cols)``,
returning ``(1, prefix + rows*cols, D)``: the prefix rows unchanged, the grid resized as a 2-D
image. Any 2-D bilinear or bicubic interpolation is accepted (with or without antialiasing or
corner alignment); the checker names the typical mistakes: interpolating the flattened sequence,
interpolating or dropping the class token, swapping height and width, a reshape that scrambles the
channels, the wrong output shape.

``check_which_recipe(fn)`` (notebook 06, optional): given a table and the same table resized by
one of the libraries' recipes, ``fn(pos_embed, resized, new_size)`` names the recipe. The checker
names the slips: a tolerance so wide that a neighbouring recipe passes, a name that is not a
recipe, a comparison that never matches.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .._checks import shape_str
from ..resample import resample_pos_embed
from ._feedback import Mistake, call_student, run_checks

__all__ = ["check_resample_pos_embed", "check_which_recipe"]

# (prefix tokens, old side n, new (rows, cols)): square first, then non-square targets so that
# swapping rows and columns shows, then no prefix and two prefix tokens (class + distillation).
_CASES = [(1, 4, (6, 6)), (1, 4, (3, 6)), (0, 5, (7, 2)), (2, 6, (4, 5))]

# every 2-D method we accept: (name, keyword arguments of resample_pos_embed)
_ACCEPTED = [
    ("bicubic", {"interpolation": "bicubic", "antialias": False}),
    ("bicubic with antialiasing (timm)", {"interpolation": "bicubic", "antialias": True}),
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


def _table(prefix: int, side: int, dim: int = 6) -> torch.Tensor:
    g = torch.Generator().manual_seed(100 * prefix + side)
    return torch.randn(1, prefix + side * side, dim, generator=g)


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a.float(), b.float(), atol=_TOL, rtol=0))


def _flattened_1d(table: torch.Tensor, prefix: int, n_new: int) -> list[torch.Tensor]:
    """1-D interpolation of the token sequence: grid part only, or the whole table."""
    outs = []
    for mode, corners in (("linear", False), ("linear", True), ("nearest", None)):
        kw = {} if corners is None else {"align_corners": corners}
        seq = table[:, prefix:].transpose(1, 2)  # (1, D, N)
        grid = F.interpolate(seq, size=n_new, mode=mode, **kw).transpose(1, 2)
        outs.append(torch.cat([table[:, :prefix], grid], 1))
        whole = F.interpolate(table.transpose(1, 2), size=prefix + n_new, mode=mode, **kw)
        outs.append(whole.transpose(1, 2))
    return outs


def _scrambled(
    table: torch.Tensor, prefix: int, side: int, new: tuple[int, int], kw: dict
) -> torch.Tensor:
    """(1, N, D) reshaped straight to (1, D, n, n) and back without permute: channels scrambled."""
    dim = table.shape[-1]
    image = table[:, prefix:].reshape(1, dim, side, side)
    mode = kw.get("interpolation", "bicubic")
    out = F.interpolate(
        image,
        size=new,
        mode=mode,
        align_corners=kw.get("align_corners", False),
        antialias=kw.get("antialias", False),
    )
    return torch.cat([table[:, :prefix], out.reshape(1, new[0] * new[1], dim)], 1)


def _shape_mistake(
    got: torch.Tensor, want: tuple[int, ...], prefix: int, new: tuple[int, int], dim: int, call: str
) -> Mistake:
    rows, cols = new
    hint = ""
    if tuple(got.shape) == (1, rows * cols, dim) and prefix:
        hint = (
            f" That is the grid alone: the {prefix} prefix row(s) (the class token) are missing. "
            "Set them aside before interpolating and put them back in front with torch.cat."
        )
    elif tuple(got.shape) in ((1, dim, rows, cols), (1, rows, cols, dim)):
        hint = (
            " That is still an image: flatten it back to a sequence of rows*cols tokens "
            "(permute to (1, rows, cols, D), then reshape to (1, rows*cols, D)) and add the "
            "prefix rows."
        )
    elif got.dim() == 3 and got.shape[1] == prefix + rows * cols + prefix:
        hint = " The prefix rows appear twice: concatenate them once, in front of the grid."
    elif got.dim() == 2:
        hint = " The leading batch dimension of 1 is missing."
    return Mistake(
        f"{call} returned shape {shape_str(got.shape)}, expected {shape_str(want)}.{hint}"
    )


def _check_case(fn: Callable, prefix: int, side: int, new: tuple[int, int]) -> list[str]:
    """Raise a Mistake, or return the names of the accepted methods the answer matches."""
    table = _table(prefix, side)
    dim = table.shape[-1]
    keep = table.clone()
    call = (
        f"fn(table of shape {shape_str(table.shape)}, new_size={new}, num_prefix_tokens={prefix})"
    )
    got = call_student(fn, table, new, num_prefix_tokens=prefix, call=call)
    if not torch.equal(table, keep):
        raise Mistake(f"{call} changed its input table in place; build a new tensor instead.")
    if not isinstance(got, torch.Tensor):
        raise Mistake(f"{call} returned a {type(got).__name__}, expected a torch.Tensor.")
    want = (1, prefix + new[0] * new[1], dim)
    if tuple(got.shape) != want:
        raise _shape_mistake(got, want, prefix, new, dim, call)
    got = got.detach()

    if prefix and not torch.equal(got[:, :prefix], table[:, :prefix]):
        if torch.equal(got[:, -prefix:], table[:, :prefix]):
            raise Mistake(
                f"{call}: the class token's row is at the end; it must stay in front "
                "(torch.cat([prefix_rows, grid_rows], dim=1))."
            )
        if any(_close(got, c) for c in _flattened_1d(table, prefix, new[0] * new[1])):
            raise Mistake(_FLATTENED)
        raise Mistake(
            f"{call}: the first {prefix} row(s) (class token) changed. They have no position on "
            "the grid, so they must not be interpolated: copy them unchanged and interpolate only "
            "the rows after them."
        )

    matches = [
        name
        for name, kw in _ACCEPTED
        if _close(got, resample_pos_embed(table, new, num_prefix_tokens=prefix, **kw))
    ]
    if matches:
        return matches
    if any(_close(got, c) for c in _flattened_1d(table, prefix, new[0] * new[1])):
        raise Mistake(_FLATTENED)
    for _name, kw in _ACCEPTED:
        grid = resample_pos_embed(table, new, num_prefix_tokens=prefix, **kw)[:, prefix:]
        # flattened column by column: token prefix + c * rows + r holds (r, c)
        transposed = grid.reshape(1, new[0], new[1], dim).transpose(1, 2).reshape(1, -1, dim)
        wrongs = [torch.cat([table[:, :prefix], transposed], 1)]
        if new[0] != new[1]:
            wrongs.append(
                resample_pos_embed(table, (new[1], new[0]), num_prefix_tokens=prefix, **kw)
            )
        for wrong in wrongs:
            if _close(got, wrong):
                raise Mistake(
                    f"{call}: height and width are swapped. new_size is (rows, cols) = {new}: "
                    f"the grid must have {new[0]} rows of {new[1]} tokens, token "
                    f"prefix + r * {new[1]} + c at row r, column c. Pass size=(rows, cols) to "
                    "F.interpolate and keep the axes in that order when you flatten."
                )
        if "recipe" not in kw and _close(got, _scrambled(table, prefix, side, new, kw)):
            raise Mistake(
                f"{call}: you reshaped the (1, N, D) tokens straight into a (1, D, rows, cols) "
                "image. reshape keeps the memory order, so that mixes channels and positions; "
                "reshape to (1, rows, cols, D) first and move the channels with "
                "permute(0, 3, 1, 2)."
            )
    ref = resample_pos_embed(
        table, new, num_prefix_tokens=prefix, interpolation="bicubic", antialias=False
    )
    diff = (got - ref).abs().amax(-1)[0]
    worst = int(diff.argmax())
    r, c = divmod(worst - prefix, new[1])
    raise Mistake(
        f"{call} has the right shape and keeps the prefix rows, but its grid differs from a 2-D "
        f"bicubic (or bilinear) interpolation by up to {float(diff.max()):.3g}, worst at token "
        f"{worst} (row {r}, column {c}). Reshape the grid rows to (1, n, n, D), permute to "
        "(1, D, n, n), call F.interpolate(..., size=new_size, mode='bicubic'), then undo the "
        "permute and reshape."
    )


_FLATTENED = (
    "your result matches interpolating the flattened token sequence in 1-D. Neighbours in the "
    "sequence are not neighbours in the image: the last token of one row sits next to the first "
    "token of the next, so 1-D interpolation blends positions from opposite edges. Reshape the "
    "grid rows to (rows, cols) and interpolate in 2-D."
)


def check_resample_pos_embed(fn: Callable[..., torch.Tensor]) -> bool:
    """Check ``fn(pos_embed, new_size, num_prefix_tokens=1)`` against 2-D interpolation.

    Prints friendly feedback (which typical mistake a wrong answer looks like) and returns whether
    it is right; never raises.
    """

    def checks() -> str | None:
        used = [_check_case(fn, prefix, side, new) for prefix, side, new in _CASES]
        common = [name for name in used[0] if all(name in u for u in used)] or used[-1]
        method = common[0]
        note = "" if method.startswith("bicubic") else " (timm, Hugging Face and MAE use bicubic.)"
        return (
            f"Square and non-square grids, 0, 1 and 2 prefix tokens all work; your method "
            f"matches {method}.{note}"
        )

    return run_checks("resample_pos_embed", checks)


# -- which library resized this table? ----------------------------------------------------------
#
# The student writes ``fn(pos_embed, resized, new_size) -> str``: the name of the recipe of
# :data:`vitlearn.resample.RECIPES` whose output is ``resized``. Hugging Face and MAE make the same
# call, so either name is right for both; so are vit_jax and qwen3_vl (the same interpolation).
# The table is smooth with some fast detail, and the targets enlarge, shrink and change the aspect
# ratio: on each, the recipes differ by a little, which is the point (a tolerance wider than those
# differences picks the wrong one).

_RECIPE_TARGETS = ((12, 12), (5, 5), (6, 11))
_SAME_NUMBERS = ({"hf", "mae"}, {"vit_jax", "qwen3_vl"})


def _recipe_table() -> torch.Tensor:
    """``(1, 1 + 8*8, 16)``: a smooth 8 x 8 table with some fast detail, and a class-token row."""
    from ..posenc import sincos_2d_pos_embed

    g = torch.Generator().manual_seed(6)
    grid = sincos_2d_pos_embed((8, 8), 16) + 0.1 * torch.randn(64, 16, generator=g)
    return torch.cat([0.02 * torch.randn(1, 16, generator=g), grid])[None]


def _which_recipe_checks(fn: Callable[..., object]) -> str:
    from ..resample import RECIPES

    names = list(RECIPES)
    table = _recipe_table()
    for target in _RECIPE_TARGETS:
        for recipe in names:
            resized = resample_pos_embed(table, target, recipe=recipe)
            keep = (table.clone(), resized.clone())
            call = (
                f"fn(table of shape {shape_str(table.shape)}, the table {recipe!r} resized to "
                f"{target}, new_size={target})"
            )
            got = call_student(fn, table, resized, target, call=call)
            if not (torch.equal(table, keep[0]) and torch.equal(resized, keep[1])):
                raise Mistake(
                    f"{call} changed a table it was given; compare without changing them."
                )
            if got is None:
                raise Mistake(
                    f"{call} returned None: none of your comparisons matched. Resize with each "
                    f"recipe to new_size = (rows, cols) = {target} and compare the whole table, "
                    "class row included."
                )
            if not isinstance(got, str):
                raise Mistake(
                    f"{call} returned a {type(got).__name__}; return the recipe's name, a str."
                )
            if got not in RECIPES:
                raise Mistake(
                    f"{call} returned {got!r}, which is not a recipe; the names are {names}."
                )
            if got == recipe or any({got, recipe} <= same for same in _SAME_NUMBERS):
                continue
            theirs = resample_pos_embed(table, target, recipe=got)
            gap = float((theirs - resized).abs().max())
            spread = float(table[0, 1:].std())
            if gap < 0.25 * spread:
                raise Mistake(
                    f"{call} returned {got!r}, but that table came from {recipe!r}. The two differ "
                    f"by up to {gap:.3g} here (the codes' spread is {spread:.2f}): close, not "
                    "equal. A tolerance that wide lets the wrong recipe through; the same call on "
                    "the same table gives exactly the same numbers, so compare with torch.equal "
                    "(or torch.allclose with its default tolerance)."
                )
            raise Mistake(
                f"{call} returned {got!r}, but {got!r} gives other numbers (up to {gap:.3g} "
                f"apart): that table came from {recipe!r}. Resize the table with each recipe and "
                "keep the one whose output equals the table you were given."
            )
    return (
        "Every recipe recognised, enlarging, shrinking and non-square; 'hf' and 'mae' are the "
        "same call, and 'vit_jax' and 'qwen3_vl' the same interpolation, so either name of a pair "
        "fits both."
    )


def check_which_recipe(fn: Callable[..., object]) -> bool:
    """Check ``fn(pos_embed, resized, new_size) -> str`` (a name of ``RECIPES``); print feedback."""
    return run_checks("which_recipe", lambda: _which_recipe_checks(fn))
