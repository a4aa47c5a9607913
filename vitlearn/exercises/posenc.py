"""Exercise checkers for chapter 2 (why position, and position codes).

- :func:`check_shuffle_prediction` (notebook 03): predict what shuffling the patches does to a
  ViT without and with position codes.
- :func:`check_sincos_2d` (notebook 04): the 2-D sine-cosine codes in MAE's convention.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .._checks import shape_str
from ..posenc import SINCOS_LAYOUTS
from ._feedback import Mistake, call_student, run_checks

__all__ = ["SHUFFLE_ANSWERS", "check_shuffle_prediction", "check_sincos_2d"]

# The grids and widths the checker tries: non-square first (on a square grid, tokens in
# column-major order look the same as x and y swapped), then a square int grid.
_CASES = [((3, 5), 16), ((5, 2), 8), (4, 16), ((2, 6), 32)]


def _codes(
    rows: int, cols: int, dim: int, *, denom: str = "F", layout: str = "mae", order: str = "row"
) -> torch.Tensor:
    """The MAE codes (``layout="mae"``, ``denom="F"``, row-major), or one typical mistake.

    ``denom`` is what the exponent ``k / denom`` divides by: ``"F"`` (dim/4, right), ``"F-1"``,
    ``"D/2"`` or ``"D"``; ``"-F"`` is the exponent's sign lost (``10000 ** (k / F)``). ``layout``
    names the channel blocks: a convention of :data:`vitlearn.posenc.SINCOS_LAYOUTS` (``"mae"``,
    ``"timm"``) or a mistake. ``order`` is the token order.
    """
    f = dim // 4
    d = {"F": f, "F-1": max(f - 1, 1), "D/2": dim / 2, "D": dim, "-F": -f}[denom]
    omega = 10000.0 ** (-torch.arange(f, dtype=torch.float64) / d)  # "-F": growing frequencies
    y, x = torch.meshgrid(
        torch.arange(rows, dtype=torch.float64),
        torch.arange(cols, dtype=torch.float64),
        indexing="ij",
    )
    if order == "col":  # tokens listed column by column
        y, x = y.T, x.T
    ax, ay = x.reshape(-1, 1) * omega, y.reshape(-1, 1) * omega
    if layout in SINCOS_LAYOUTS:
        angles = {"x": ax, "y": ay}
        return torch.cat([getattr(angles[a], f)() for f, a in SINCOS_LAYOUTS[layout].blocks], 1)
    blocks = {
        "sincos_swapped": [ax.cos(), ax.sin(), ay.cos(), ay.sin()],
        "xy_swapped": [ay.sin(), ay.cos(), ax.sin(), ax.cos()],
        "sines_first": [ax.sin(), ay.sin(), ax.cos(), ay.cos()],
    }[layout]
    return torch.cat(blocks, dim=1)


_MAE = SINCOS_LAYOUTS["mae"].channels  # "[sin x | cos x | sin y | cos y]"


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
        f"These are timm's layout, {SINCOS_LAYOUTS['timm'].channels}. This exercise uses MAE's: "
        f"{_MAE}.",
    ),
    (
        {"layout": "sines_first"},
        f"All the sines come before the cosines here. MAE's layout keeps each axis together: "
        f"{_MAE}.",
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
        {"denom": "-F"},
        "The frequencies grow with k (1, 10, 100, ...): the exponent lost its minus sign. "
        "w_k = 10000 ** (-k / (dim/4)) runs from 1 down towards 1/10000.",
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
        raise Mistake(
            f"{what} should be a torch.Tensor (or numpy array), but it is a "
            f"{type(result).__name__}."
        )
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
            hint = (
                " You returned the (rows, cols, dim) grid: flatten it row by row to "
                "(rows*cols, dim)."
            )
        elif tuple(got.shape) == (dim, n):
            hint = " It is transposed: one ROW per token, one column per channel."
        elif rows != cols and got.dim() == 2 and got.shape[0] in (rows * rows, cols * cols):
            hint = " It looks like only one of rows/cols was used for both axes of the grid."
        elif got.dim() == 2 and got.shape[0] == n:
            hint = " The number of channels is off: a quarter each for sin x, cos x, sin y, cos y."
        raise Mistake(
            f"{what} has shape {shape_str(got.shape)}, expected ({n}, {dim}) "
            f"for a {rows}x{cols} grid.{hint}"
        )
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
        f"column {token % cols}), channel {channel}: expected "
        f"{float(expected[token, channel]):.4f}, got {float(got[token, channel]):.4f}."
    )


def check_sincos_2d(fn: Callable[..., Any]) -> bool:
    """Check a student's 2-D sin-cos codes in MAE's convention; print feedback; return bool.

    ``fn(grid_size, dim)`` takes an int or ``(rows, cols)`` and returns ``(rows*cols, dim)``, token
    ``t`` = patch at row ``t // cols``, column ``t % cols``, channels laid out as MAE's entry of
    :data:`vitlearn.posenc.SINCOS_LAYOUTS` says (``[sin x | cos x | sin y | cos y]``,
    ``w_k = 10000 ** (-k / (dim/4))``, x = column, y = row). Tried on square and non-square grids.
    Never raises.
    """

    def checks() -> str:
        for grid, dim in _CASES:
            _check_one(fn, grid, dim)
        return (
            "Same as vitlearn.sincos_2d_pos_embed(grid_size, dim, convention='mae'), on square and "
            "non-square grids."
        )

    return run_checks("check_sincos_2d", checks)


# --- predict the shuffle (notebook 03) ----------------------------------------------------------

SHUFFLE_ANSWERS: dict[str, dict[str, str]] = {
    "none": {"attention": "permuted", "patch_outputs": "permuted", "class_output": "same"},
    "learned": {"attention": "changed", "patch_outputs": "changed", "class_output": "changed"},
}
"""What shuffling the patches of an image does, compared with the image itself, for a ViT with a
class token and no position codes (``"none"``) and for the same ViT with a learned table added to
its tokens (``"learned"``): the first block's attention weights, the patch tokens' outputs and the
class token's output are each the ``"same"`` numbers, the same numbers ``"permuted"`` like the
patches, or ``"changed"`` (other numbers). Notebook 03 measures each one."""

_MODELS = {"none": "without position codes", "learned": "with a learned table"}
_QUANTITIES = {
    "attention": "the first block's attention weights",
    "patch_outputs": "the patch tokens' outputs",
    "class_output": "the class token's output",
}
# Words a student may reasonably use for each of the three answers.
_SYNONYMS = {
    "same": ("same", "unchanged", "identical", "equal", "the same"),
    "permuted": ("permuted", "shuffled", "reordered", "moved", "permutation"),
    "changed": ("changed", "different", "new", "other"),
}

_NOT_A_REORDERING = (
    "With a learned table the shuffle is not a mere reordering of the tokens: the code of place i "
    "stays at place i while the patches move, so the token at place i is now (the patch that moved "
    "there) + (code i), a sum that did not exist before."
)
# (model, quantity, the student's wrong answer) -> why the right answer is right
_WHY: dict[tuple[str, str, str], str] = {
    ("none", "attention", "same"): (
        "It is not the same matrix. Row i of the weights belongs to the token at place i, and "
        "after the shuffle another patch sits there. Each weight depends only on the contents of "
        "its two tokens, which moved together, so you get the old matrix with its rows AND its "
        "columns reordered by the shuffle: 'permuted' (equivariance)."
    ),
    ("none", "attention", "changed"): (
        "No new numbers appear. The score of tokens i and j, q_i . k_j, depends only on what the "
        "two tokens contain; the shuffle moved contents and nothing else, and each softmax row "
        "sees the same scores in another order. The matrix is the old one with its rows and "
        "columns reordered: 'permuted' (equivariance)."
    ),
    ("none", "patch_outputs", "same"): (
        "The output at place i is not the one it was: place i now holds another patch, and each "
        "output follows its token. The same outputs come out, in the shuffled order: 'permuted' "
        "(equivariance)."
    ),
    ("none", "patch_outputs", "changed"): (
        "Every layer either acts on each token alone (layer norm, MLP) or mixes the tokens by "
        "content (attention, whose weights are only reordered). So a patch's output depends on its "
        "own content and on the SET of all tokens, and the shuffle changes neither: it comes out "
        "at another place, 'permuted' (equivariance)."
    ),
    ("none", "class_output", "permuted"): (
        "The class token stays in first place and is a single vector: there is nothing in it to "
        "reorder. Attention updates it with a weighted sum over all the tokens in which each "
        "weight travels with its token, and a sum does not depend on the order of its terms: it is "
        "the 'same' (invariance). That is why such a model cannot answer differently for a jigsaw."
    ),
    ("none", "class_output", "changed"): (
        "It does not change at all. The class token stays in first place, and attention updates it "
        "with a weighted sum over all the tokens in which each weight travels with its token; a "
        "sum does not depend on the order of its terms. So it is the 'same' (invariance): the "
        "model cannot answer differently for a jigsaw."
    ),
    ("learned", "attention", "same"): "New tokens give new scores: 'changed'.",
    ("learned", "attention", "permuted"): (
        "Without codes the matrix would only be reordered; with them the tokens, hence the scores, "
        "are new numbers: 'changed'."
    ),
    (
        "learned",
        "patch_outputs",
        "same",
    ): "The blocks read new tokens, so they give new outputs: 'changed'.",
    ("learned", "patch_outputs", "permuted"): (
        "The outputs are new numbers, not the old ones reordered: 'changed'."
    ),
    ("learned", "class_output", "same"): (
        "The class token reads those new tokens through attention, so its output changes: "
        "'changed'. This is what lets a model with position codes tell a scene from its jigsaw."
    ),
    ("learned", "class_output", "permuted"): (
        "The class token is a single vector, there is nothing in it to reorder; it reads those new "
        "tokens through attention, so its output changes: 'changed'."
    ),
}


def _word(answer: object, where: str) -> str:
    """The student's answer as one of 'same', 'permuted', 'changed' (or a Mistake)."""
    if isinstance(answer, str):
        said = " ".join(answer.strip().lower().replace("_", " ").split())
        for word, variants in _SYNONYMS.items():
            if said in variants:
                return word
    raise Mistake(
        f"{where}: the answer {answer!r} is not one of 'same', 'permuted' (the same numbers, "
        "reordered like the patches) or 'changed' (other numbers)."
    )


def _shuffle_checks(fn: Callable[[], Any]) -> str:
    got = call_student(fn, call="predict_shuffle()")
    if not isinstance(got, dict):
        raise Mistake(
            "predict_shuffle() should return a dict {'none': {...}, 'learned': {...}}, but it "
            f"returned a {type(got).__name__}."
        )
    wrong = []
    for model, answers in SHUFFLE_ANSWERS.items():
        part = got.get(model)
        if not isinstance(part, dict):
            raise Mistake(
                f"predict_shuffle()[{model!r}] should be a dict with the keys "
                f"{sorted(answers)} (the model {_MODELS[model]}), but it is "
                + ("missing." if part is None else f"a {type(part).__name__}.")
            )
        missing = [q for q in answers if q not in part]
        if missing:
            raise Mistake(
                f"predict_shuffle()[{model!r}] has no answer for {missing}: give one of 'same', "
                "'permuted' or 'changed' for each of "
                + ", ".join(f"{q!r} ({_QUANTITIES[q]})" for q in answers)
                + "."
            )
        for quantity, right in answers.items():
            said = _word(part[quantity], f"predict_shuffle()[{model!r}][{quantity!r}]")
            if said != right:
                why = _WHY[(model, quantity, said)]
                if model == "learned" and not any(_NOT_A_REORDERING in w for w in wrong):
                    why = f"{_NOT_A_REORDERING} {why}"  # the shared reason, said once
                wrong.append(
                    f"- {_QUANTITIES[quantity]}, model {_MODELS[model]}: you said {said!r}. {why}"
                )
    if wrong:
        total = sum(len(a) for a in SHUFFLE_ANSWERS.values())
        raise Mistake(
            f"{len(wrong)} of {total} answers are not right yet.\n  " + "\n  ".join(wrong)
        )
    return (
        "Without codes the shuffle only relabels the tokens: attention and patch outputs are "
        "permuted (equivariance), the class token's output is the same (invariance). With a "
        "learned table every number changes. The next cell measures it."
    )


def check_shuffle_prediction(fn: Callable[[], Any]) -> bool:
    """Check ``predict_shuffle() -> {"none": {...}, "learned": {...}}`` against
    :data:`SHUFFLE_ANSWERS`; each wrong answer gets the reasoning that leads to the right one.

    Each inner dict answers ``"attention"``, ``"patch_outputs"`` and ``"class_output"`` with
    ``"same"``, ``"permuted"`` or ``"changed"`` (a few synonyms are accepted, in any case). Prints
    feedback, returns bool, never raises.
    """
    return run_checks("check_shuffle_prediction", lambda: _shuffle_checks(fn))
