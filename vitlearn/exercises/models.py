"""Checkers for the exercises of notebook 05 (train a tiny ViT).

``check_parameter_count(fn)``: the student counts the parameters of a :class:`vitlearn.TinyViT`
(learned codes, class-token pooling) from its sizes,
``count(img_size, patch_size, in_chans, embed_dim, depth, mlp_ratio, num_classes) -> int``.

``check_most_similar_patch(fn)``: the student looks for the structure in a learned position table,
``most_similar_patch(pos_embed, grid_size, num_prefix_tokens) -> (rows, cols, 2)``: for every patch,
the (row, col) of the other patch whose code is most similar by cosine similarity. The checker
names the usual slips: the patch itself not left out, prefix rows left in the table, (col, row)
pairs, a flat index divided by the number of rows, raw dot products or Euclidean distances instead
of cosines, the least similar patch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from .._checks import shape_str
from .._state import seeded
from ..models import TinyViT
from ._feedback import Mistake, call_student, run_checks

__all__ = ["check_most_similar_patch", "check_parameter_count"]


# -- counting parameters -----------------------------------------------------------------------

_COUNT_CASES = (
    dict(
        img_size=32, patch_size=8, in_chans=3, embed_dim=32, depth=2, mlp_ratio=2.0, num_classes=4
    ),
    dict(
        img_size=48, patch_size=4, in_chans=1, embed_dim=24, depth=3, mlp_ratio=4.0, num_classes=10
    ),
)


def _count_parts(
    img_size, patch_size, in_chans, embed_dim, depth, mlp_ratio, num_classes
) -> dict[str, int]:
    d, p = embed_dim, patch_size
    n = (img_size // p) ** 2
    hidden = int(d * mlp_ratio)
    block_weights = d * 3 * d + d * d + d * hidden + hidden * d
    block_biases = 3 * d + d + hidden + d
    return {
        "patch_weights": d * in_chans * p * p,
        "patch_bias": d,
        "cls": d,
        "pos": (1 + n) * d,
        "pos_cls_row": d,
        "block_weights": depth * block_weights,
        "block_biases": depth * block_biases,
        "block_norms": depth * 4 * d,
        "final_norm": 2 * d,
        "head": d * num_classes + num_classes,
    }


def _parameter_count_checks(fn: Callable[..., object]) -> str:
    for case in _COUNT_CASES:
        call = "fn(" + ", ".join(f"{k}={v}" for k, v in case.items()) + ")"
        got = call_student(fn, **case, call=call)
        with seeded(0):
            model = TinyViT(
                **case,
                num_heads=2,
                pos_embed="learned",
                global_pool="token",
                input_mean=None,
                input_std=None,
            )
        want = sum(q.numel() for q in model.parameters())
        parts = _count_parts(**case)
        assert (
            sum(v for k, v in parts.items() if k != "pos_cls_row") == want
        )  # the checker's own sum
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if isinstance(got, float) and got.is_integer():
            got = int(got)
        if isinstance(got, bool) or not isinstance(got, int):
            raise Mistake(f"{call} returned {got!r}; it should return an int.")
        if got == want:
            continue
        diff = want - got
        candidates = (
            (parts["pos"], "the learned position table ((1 + N) x D numbers)"),
            (
                parts["pos_cls_row"],
                "the class token's row of the position table (it has 1 + N rows, not N)",
            ),
            (parts["cls"], "the class token (D numbers)"),
            (
                parts["cls"] + parts["pos_cls_row"],
                "the class token and its row of the position table",
            ),
            (
                parts["block_biases"] + parts["patch_bias"] + case["num_classes"],
                "the biases (every Linear and the patch convolution has one)",
            ),
            (parts["block_biases"], "the biases of the Linear layers inside the blocks"),
            (
                parts["block_norms"] + parts["final_norm"],
                "the LayerNorms (a weight and a bias of D numbers each: 2 per block, 1 at the end)",
            ),
            (parts["block_norms"], "the two LayerNorms inside each block"),
            (parts["final_norm"], "the final LayerNorm (a weight and a bias, 2 x D)"),
            (parts["head"], "the classification head"),
            (parts["patch_weights"] + parts["patch_bias"], "the patch embedding"),
        )
        named: dict[int, list[str]] = {}
        for amount, what in candidates:
            named.setdefault(amount, []).append(what)
        if diff in named:
            raise Mistake(
                f"{call} returned {got}, expected {want}: {diff} short, exactly the size of "
                + " -- or of ".join(named[diff])
                + "."
            )
        per_block = (parts["block_weights"] + parts["block_biases"] + parts["block_norms"]) // case[
            "depth"
        ]
        if diff == (case["depth"] - 1) * per_block:
            raise Mistake(
                f"{call} returned {got}, expected {want}: did you count one block but not multiply "
                f"by depth={case['depth']}?"
            )
        raise Mistake(
            f"{call} returned {got}, expected {want} ({'short by' if diff > 0 else 'over by'} "
            f"{abs(diff)}). Count: patch embedding (D*C*P*P + D), class token (D), position table "
            "((1 + N)*D), per block 2 LayerNorms (2D each), qkv (3D*D + 3D), proj (D*D + D), fc1 "
            "(D*hidden + hidden), fc2 (hidden*D + D); the final LayerNorm (2D) and the head "
            "(D*classes + classes)."
        )
    return "every parameter of the tiny ViT accounted for."


def check_parameter_count(fn: Callable[..., object]) -> bool:
    """Check
    ``fn(img_size, patch_size, in_chans, embed_dim, depth, mlp_ratio, num_classes) -> int``."""
    return run_checks("parameter count", lambda: _parameter_count_checks(fn))


# -- the structure of a learned table: each patch's most similar other patch -------------------
#
# The student writes ``fn(pos_embed, grid_size, num_prefix_tokens) -> (rows, cols, 2)``: for each
# patch, the (row, col) of the OTHER patch whose code is most similar to its own by cosine
# similarity. The tables below are made so that every typical slip gives a different answer:
# codes that grow with the distance from the grid's centre (as in the course ViT) with a random
# length each (so raw dot products and Euclidean distances pick other patches than the cosine),
# non-square grids (so rows and columns cannot be confused unnoticed), and prefix rows much
# longer than the codes (so a prefix row left in the table is noticed).

# (rows, cols, prefix rows): no prefix first, so that a slip with the prefix rows can be told apart
_STRUCTURE_CASES = ((3, 5, 0), (4, 6, 1), (5, 3, 2))


def _structure_table(rows: int, cols: int, prefix: int, dim: int = 8) -> torch.Tensor:
    """``(1, prefix + rows*cols, dim)``: codes linear in the centred (row, col), plus noise."""
    g = torch.Generator().manual_seed(1000 * rows + 10 * cols + prefix)
    y, x = torch.meshgrid(
        torch.arange(rows, dtype=torch.float32),
        torch.arange(cols, dtype=torch.float32),
        indexing="ij",
    )
    centred = torch.stack(
        [y.reshape(-1) - (rows - 1) / 2, x.reshape(-1) - (cols - 1) / 2], 1
    )  # (N, 2)
    codes = centred @ torch.randn(2, dim, generator=g) + 0.6 * torch.randn(
        rows * cols, dim, generator=g
    )
    codes = codes * (
        0.5 + 1.5 * torch.rand(rows * cols, 1, generator=g)
    )  # every code its own length
    head = 4.0 * torch.randn(prefix, dim, generator=g)  # class token & co.: long, on no grid
    return torch.cat([head, codes], 0)[None]


def _pairs(flat: torch.Tensor, rows: int, cols: int, *, by: int | None = None) -> torch.Tensor:
    """Flat token indices ``(N,)`` -> ``(rows, cols, 2)`` (row, col) pairs, dividing by ``by``
    (cols)."""
    by = cols if by is None else by
    return torch.stack([flat // by, flat % by], -1).reshape(rows, cols, 2)


def _best(scores: torch.Tensor, *, largest: bool = True) -> torch.Tensor:
    """``(N, N)`` scores -> ``(N,)`` the best other index of each row (the diagonal is excluded)."""
    s = scores.clone().double()
    s.fill_diagonal_(-torch.inf if largest else torch.inf)
    return s.argmax(-1) if largest else s.argmin(-1)


def _most_similar_reference(
    pos_embed: torch.Tensor, grid_size: tuple[int, int], num_prefix_tokens: int
) -> torch.Tensor:
    """``(1, prefix + rows*cols, D) -> (rows, cols, 2)``: the checker's answer (cosine, self
    excluded)."""
    rows, cols = grid_size
    codes = pos_embed[0, num_prefix_tokens:].double()
    unit = codes / codes.norm(dim=-1, keepdim=True)
    return _pairs(_best(unit @ unit.T), rows, cols)


def _as_pairs(got: object, rows: int, cols: int, call: str) -> torch.Tensor:
    """The student's answer as a ``(rows, cols, 2)`` int64 tensor, or a Mistake that says what
    came."""
    if isinstance(got, torch.Tensor):
        t = got.detach()
    elif isinstance(got, np.ndarray):
        t = torch.from_numpy(got)
    else:
        raise Mistake(
            f"{call} returned a {type(got).__name__}; return a tensor of shape "
            f"({rows}, {cols}, 2): for each patch, the (row, col) of its most similar other patch."
        )
    shape = tuple(t.shape)
    n = rows * cols
    if shape != (rows, cols, 2):
        hint = ""
        if shape in ((n,), (rows, cols)):
            hint = (
                " That looks like one flat token index per patch: turn index t into "
                "(row, col) = (t // cols, t % cols) and stack the two on the last axis."
            )
        elif shape == (n, 2):
            hint = (
                " One (row, col) pair per patch, but in a flat list: reshape it to (rows, cols, 2)."
            )
        elif shape == (2, rows, cols):
            hint = (
                " The rows and the columns are stacked on the first axis: stack them on the last."
            )
        elif shape == (n, n) or shape == (rows, cols, rows, cols):
            hint = (
                " That is the whole similarity matrix: take, for each patch, the best other patch."
            )
        raise Mistake(
            f"{call} returned shape {shape_str(shape)}, expected ({rows}, {cols}, 2).{hint}"
        )
    if t.is_floating_point():
        if not bool(torch.isfinite(t).all()) or not torch.equal(t, t.round()):
            raise Mistake(
                f"{call} returned numbers that are not whole: rows and columns are integers."
            )
    elif t.dtype == torch.bool or t.is_complex():
        raise Mistake(f"{call} returned a {t.dtype} tensor; rows and columns are integers.")
    return t.long()


def _most_similar_case(
    fn: Callable[..., object], rows: int, cols: int, prefix: int, passed_without_prefix: bool
) -> None:
    table = _structure_table(rows, cols, prefix)
    keep = table.clone()
    call = (
        f"fn(table of shape {shape_str(table.shape)}, grid_size=({rows}, {cols}), "
        f"num_prefix_tokens={prefix})"
    )
    try:
        got = call_student(fn, table, (rows, cols), prefix, call=call)
    except Mistake as m:
        if (
            prefix and passed_without_prefix
        ):  # typically: a (1 + N)-row similarity reshaped to the grid
            raise Mistake(
                f"{m}\n  It worked on the table without prefix rows: {_prefix_words(prefix)}"
            ) from None
        raise
    if not torch.equal(table, keep):
        raise Mistake(f"{call} changed the table it was given; work on a copy (or on new tensors).")
    got = _as_pairs(got, rows, cols, call)
    want = _most_similar_reference(table, (rows, cols), prefix)
    if torch.equal(got, want):
        return

    n = rows * cols
    codes = table[0, prefix:].double()
    unit = codes / codes.norm(dim=-1, keepdim=True)
    cos = unit @ unit.T
    own = _pairs(torch.arange(n), rows, cols)
    flat_want = _best(cos)
    everything = table[0].double()  # the prefix rows left in
    every_unit = everything / everything.norm(dim=-1, keepdim=True)
    with_prefix = _best(every_unit @ every_unit.T)[prefix:]  # index into all 1 + N rows
    named = [
        (
            own,
            "every patch came back as its own most similar patch. Its cosine similarity with "
            "itself is 1, the largest there is: leave the patch itself out (for example set the "
            "diagonal of the similarity matrix to -inf before taking the argmax).",
        ),
        (
            want.flip(-1),
            "the right patches, but as (col, row) pairs. Give (row, col): the row first, "
            "as in a (rows, cols) grid and in timm's raster order.",
        ),
        (
            _pairs(flat_want, rows, cols, by=rows),
            f"the flat index was turned into (row, col) with the number of rows ({rows}). In "
            f"raster order token t sits at row t // cols and column t % cols, with cols = {cols}.",
        ),
        (
            _pairs(_best(cos, largest=False), rows, cols),
            "that is the LEAST similar patch of each (the argmin). Take the largest cosine "
            "similarity.",
        ),
        (
            _pairs(_best(codes @ codes.T), rows, cols),
            "that matches raw dot products. A dot product grows with the length of the codes, so "
            "long codes (here: far from the centre of the grid) win everywhere. Divide each code "
            "by its length first (cosine similarity), as the ViT paper's Figure 7 does.",
        ),
        (
            _pairs(_best(torch.cdist(codes, codes), largest=False), rows, cols),
            "that is the nearest code in Euclidean distance, which also counts the difference in "
            "length. The question is about cosine similarity: the direction of the codes.",
        ),
    ]
    if prefix:
        first_n = everything[:n]  # the prefix rows left in, the last rows cut off
        first_unit = first_n / first_n.norm(dim=-1, keepdim=True)
        prefix_words = _prefix_words(prefix)
        named += [
            (_pairs(_best(first_unit @ first_unit.T), rows, cols), prefix_words),
            (_pairs(with_prefix.clamp(max=n - 1), rows, cols), prefix_words),
            (_pairs((with_prefix - prefix).clamp(min=0), rows, cols), prefix_words),
        ]
    for wrong, message in named:
        if torch.equal(got, wrong):
            raise Mistake(f"{call}: {message}")
    if prefix and passed_without_prefix:
        raise Mistake(
            f"{call}: right on the table without prefix rows, wrong on this one, which has "
            f"{prefix}: {_prefix_words(prefix)}"
        )
    bad = (got != want).any(-1)
    r, c = (int(v) for v in bad.nonzero()[0])
    gr, gc = (int(v) for v in got[r, c])
    wr, wc = (int(v) for v in want[r, c])
    if not (0 <= gr < rows and 0 <= gc < cols):
        raise Mistake(
            f"{call}: for patch ({r}, {c}) you gave ({gr}, {gc}), which is not on the "
            f"{rows}x{cols} grid; the most similar patch is ({wr}, {wc})."
        )
    raise Mistake(
        f"{call}: {int(bad.sum())} of the {n} patches differ. Patch ({r}, {c}): you gave "
        f"({gr}, {gc}), cosine similarity {float(cos[r * cols + c, gr * cols + gc]):.3f}; the most "
        f"similar is ({wr}, {wc}), cosine similarity "
        f"{float(cos[r * cols + c, wr * cols + wc]):.3f}."
    )


def _prefix_words(prefix: int) -> str:
    return (
        f"the first {prefix} row(s) of the table belong to the class token (and any other prefix "
        "token), not to the grid. Set them aside (pos_embed[0, num_prefix_tokens:]) before "
        "comparing codes."
    )


def _most_similar_checks(fn: Callable[..., object]) -> str:
    passed_without_prefix = False
    for rows, cols, prefix in _STRUCTURE_CASES:
        _most_similar_case(fn, rows, cols, prefix, passed_without_prefix)
        passed_without_prefix = passed_without_prefix or prefix == 0
    return "Non-square grids, 0, 1 and 2 prefix rows, codes of many lengths: every patch right."


def check_most_similar_patch(fn: Callable[..., object]) -> bool:
    """Check ``fn(pos_embed, grid_size, num_prefix_tokens) -> (rows, cols, 2)``; print feedback."""
    return run_checks("most_similar_patch", lambda: _most_similar_checks(fn))
