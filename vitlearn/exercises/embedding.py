"""Checkers for the patch embedding and the embedding layer (notebooks 02 and 08).

* :func:`check_conversions` (notebook 02): the student predicts which of five one-line conversions
  of a ``(D, C, P, P)`` convolution kernel into a ``(D, P*P*C)`` linear weight give the
  convolution's tokens on :func:`vitlearn.patchify`'s output. Every one-liner runs and has the right
  shape; each wrong prediction gets the reason that conversion is right or wrong.
* :func:`check_layer_shapes` (notebook 08): a predict-then-check exercise on the whole layer. The
  student predicts, before running the cell that shows it, what ViT-B/16's embedding layer becomes
  at another image size and patch size (:data:`LAYER_CASES`): the number of tokens, the shape of
  the position table and of the patch kernel. Each wrong number is matched to the misconception
  it comes from.

Every checker prints friendly feedback, returns a bool and never raises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from ..patches import grid_shape, patchify
from ._feedback import Mistake, call_student, run_checks

__all__ = [
    "CONVERSIONS",
    "LAYER_BASE",
    "LAYER_CASES",
    "check_conversions",
    "check_layer_shapes",
    "layer_shapes",
]


# ---------------------------------------------------------------------------------------------
# Notebook 02: predict which one-line conversion of a conv kernel gives the convolution's tokens
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conversion:
    """One candidate ``(D, C, P, P) -> (D, P*P*C)`` conversion, as the notebook prints it."""

    source: str  # the one-liner, in terms of ``w`` (the kernel) and ``D`` (its first size)
    convert: Callable[[torch.Tensor, int], torch.Tensor]
    why: str  # why it is right or wrong: shown when the student's prediction is wrong


CONVERSIONS: dict[str, Conversion] = {
    "a": Conversion(
        "w.reshape(D, -1)",
        lambda w, D: w.reshape(D, -1),
        "It flattens the kernel in the convolution's own order, (channel, row, "
        "column): all the red weights of a filter, then all the green, then all the blue (the "
        "order F.unfold uses, notebook 01). patchify lists a patch as (row, column, channel), the "
        "three colours of one pixel side by side. The numbers are the right ones, but almost every "
        "weight meets the wrong pixel.",
    ),
    "b": Conversion(
        "w.movedim(1, -1).reshape(D, -1)",
        lambda w, D: w.movedim(1, -1).reshape(D, -1),
        "movedim(1, -1) moves the channel axis to the end and keeps the other axes in their "
        "order: (D, C, P, P) -> (D, P, P, C), the same as permute(0, 2, 3, 1). Flattened, each row "
        "lists its filter as (row, column, channel), patchify's order: it is right.",
    ),
    "c": Conversion(
        "w.transpose(1, 3).reshape(D, -1)",
        lambda w, D: w.transpose(1, 3).reshape(D, -1),
        "transpose(1, 3) swaps axes 1 and 3: (D, C, rows, cols) -> (D, cols, rows, C). The "
        "channel does end last, but rows and columns trade places, so the weight for pixel "
        "(i, j) meets pixel (j, i). It would only pass on filters that are symmetric about their "
        "diagonal.",
    ),
    "d": Conversion(
        "w.permute(2, 3, 1, 0).reshape(-1, D).T",
        lambda w, D: w.permute(2, 3, 1, 0).reshape(-1, D).T,
        "It goes through (P, P, C, D), the layout in which the JAX ViT stores its kernel: "
        "reshape(-1, D) gives a (P*P*C, D) matrix whose row k is feature k of a patch in (row, "
        "column, channel) order, for every filter, and .T turns it into (D, P*P*C). It is right.",
    ),
    "e": Conversion(
        "w.permute(2, 3, 1, 0).reshape(D, -1)",
        lambda w, D: w.permute(2, 3, 1, 0).reshape(D, -1),
        "It starts like d, then reshapes the (P, P, C, D) tensor straight to (D, P*P*C). A reshape "
        "never moves numbers: it reads them in memory order and cuts the line into rows of "
        "P*P*C. In (P, P, C, D) order the D filters' weights for the same pixel and channel sit "
        "next to each other, so each row of the result mixes all the filters. To bring D to the "
        "front you must transpose (or permute), not reshape.",
    ),
}
"""The five one-liners of notebook 02's exercise, by letter."""


def _conversion_truth() -> dict[str, bool]:
    """Which conversions give the convolution's tokens, found by running them on a test image."""
    gen = torch.Generator().manual_seed(0)
    d, c, p = 5, 3, 4  # all different, and a kernel with no symmetry: a lucky pass is impossible
    w = torch.randn(d, c, p, p, generator=gen)
    bias = torch.randn(d, generator=gen)
    image = torch.rand(1, c, 3 * p, 2 * p, generator=gen)
    conv_tokens = F.conv2d(image, w, bias, stride=p).flatten(2).transpose(1, 2)  # (1, N, D)
    patches = patchify(image, p)  # (1, N, P*P*C)
    return {
        letter: bool(torch.allclose(patches @ conv.convert(w, d).T + bias, conv_tokens, atol=1e-5))
        for letter, conv in CONVERSIONS.items()
    }


def check_conversions(fn: Callable[[], object]) -> bool:
    """Check ``fn() -> {letter: bool}``: which of :data:`CONVERSIONS` give the convolution's tokens.

    The student predicts, for each one-liner, whether ``patchify(x, P) @ result.T + bias`` equals
    the convolution. Every wrong prediction is answered with the reason that one-liner is right
    or wrong. Prints the feedback; returns ``True`` when all five are right. Never raises.
    """
    letters = sorted(CONVERSIONS)

    def checks() -> str:
        got = call_student(fn, call="predict_conversions()")
        if not isinstance(got, Mapping):
            raise Mistake(
                f"predict_conversions() returned a {type(got).__name__}; return a dict with one "
                "entry per one-liner, {'a': ..., 'b': ..., 'c': ..., 'd': ..., 'e': ...}: True "
                "where you predict it gives the convolution's tokens, False where it does not."
            )
        answers = {str(k).strip().lower(): v for k, v in got.items()}
        missing = [k for k in letters if k not in answers]
        extra = sorted(set(answers) - set(letters))
        if missing or extra:
            raise Mistake(
                f"the dict should have exactly the keys {', '.join(letters)}"
                + (f"; missing: {', '.join(missing)}" if missing else "")
                + (f"; unknown: {', '.join(extra)}" if extra else "")
                + "."
            )
        not_bool = [k for k in letters if not isinstance(answers[k], bool)]
        if not_bool:
            raise Mistake(
                "each value should be True or False; got "
                + ", ".join(f"{answers[k]!r} for {k}" for k in not_bool)
                + "."
            )
        truth = _conversion_truth()
        wrong = [k for k in letters if answers[k] != truth[k]]
        if wrong:
            n_right = len(letters) - len(wrong)
            lines = [f"{n_right} of {len(letters)} predictions right. Where you went wrong:"]
            for k in wrong:
                verdict = "right" if truth[k] else "wrong"
                lines.append(f"- {k} ({CONVERSIONS[k].source}) is {verdict}. {CONVERSIONS[k].why}")
            if all(answers[k] for k in letters):
                lines.append(
                    "All five run and return a (D, P*P*C) tensor, but the shape cannot tell a "
                    "right conversion from a wrong one: follow where each number goes."
                )
            elif not any(answers[k] for k in letters):
                lines.append(
                    "None right? The linear layer of section 2 exists, so some one-liner must "
                    "reach patchify's (row, column, channel) order."
                )
            lines.append("The cell after this one runs all five on the convolution above.")
            raise Mistake("\n  ".join(lines))
        return (
            f"{' and '.join(k for k in letters if truth[k])} give the convolution's tokens; the "
            "others run, have the right shape and are wrong: the kind of bug a shape check "
            "cannot catch."
        )

    return run_checks("predict_conversions", checks)


# ---------------------------------------------------------------------------------------------
# Notebook 08: predict what the whole layer becomes at another image size and patch size
# ---------------------------------------------------------------------------------------------

# The layer of notebook 08, section 1: ViT-B/16 at 224 x 224 px, RGB, width 768, one class token.
LAYER_BASE = {"img_size": (224, 224), "patch_size": 16, "in_chans": 3, "embed_dim": 768}
"""The embedding layer the prediction starts from (timm's ``vit_base_patch16_224``)."""

LAYER_CASES: dict[str, tuple[tuple[int, int], int]] = {
    "a": ((384, 384), 16),  # a new resolution, the same patch size
    "b": ((448, 448), 32),  # a new patch size that grows with the image: the grid stays 14 x 14
    "c": ((224, 320), 8),  # a non-square image and a smaller patch: both change
}
"""What :func:`check_layer_shapes` asks about: case letter -> ((H, W) in pixels, patch size)."""


def layer_shapes(
    img_size: tuple[int, int], patch_size: int
) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    """The truth for one case: (tokens into the first block, ``pos_embed`` shape, kernel shape).

    For :data:`LAYER_BASE` adapted to ``img_size`` ``(H, W)`` and ``patch_size`` ``P``: the grid
    is ``(H // P, W // P)``, the class token comes first and has a row in the table, and the width
    ``D`` and the channels ``C`` do not change.
    """
    rows, cols = grid_shape(img_size, patch_size)
    d, c = LAYER_BASE["embed_dim"], LAYER_BASE["in_chans"]
    tokens = 1 + rows * cols
    return tokens, (1, tokens, d), (d, c, patch_size, patch_size)


def _as_shape(value: Any) -> tuple[int, ...] | None:
    """A shape given as a tuple, list or torch.Size of whole numbers; None if it is not one."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        return None
    try:
        items = list(value)
    except TypeError:
        return None
    out = []
    for item in items:
        if (
            isinstance(item, bool)
            or not isinstance(item, (int, float))
            and not hasattr(item, "__index__")
        ):
            return None
        if isinstance(item, float) and not item.is_integer():
            return None
        out.append(int(item))
    return tuple(out)


def _as_count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if hasattr(value, "__index__"):
        return int(value.__index__())
    return None


def _token_mistake(got: int, img_size: tuple[int, int], p: int) -> str:
    """Why ``got`` tokens is wrong for this case: the first misconception it matches."""
    (h, w), p0 = img_size, LAYER_BASE["patch_size"]
    rows, cols = h // p, w // p
    n = rows * cols
    if got == n:
        return (
            f"{got} counts the patches ({rows} x {cols}) but not the class token: the first block "
            f"reads 1 + N = {n + 1} tokens."
        )
    if p != p0 and got in (1 + (h // p0) * (w // p0), (h // p0) * (w // p0)):
        return (
            f"{got} is the grid of the OLD patch size {p0}. The grid comes from the new patch: "
            f"{h}/{p} x {w}/{p} = {rows} x {cols} patches, plus the class token."
        )
    base_h, base_w = LAYER_BASE["img_size"]
    if (h, w) != (base_h, base_w) and got in (
        1 + (base_h // p) * (base_w // p),
        (base_h // p) * (base_w // p),
    ):
        return (
            f"{got} is the grid of the OLD image size {base_h} x {base_w}. At a fixed patch size "
            f"the grid grows with the image: {h}/{p} x {w}/{p} = {rows} x {cols} patches, plus the "
            "class token."
        )
    if h != w and got in (1 + (h // p) ** 2, 1 + (w // p) ** 2, (h // p) ** 2, (w // p) ** 2):
        return (
            f"{got} treats the image as square. It is {h} x {w} (H x W): rows = H/P = {rows}, "
            f"cols = W/P = {cols}, so N = {n}, plus the class token."
        )
    if got in (rows, cols, rows + 1, cols + 1, rows + cols, rows + cols + 1):
        return (
            f"{got} counts one side of the grid (or the two sides added). N is the number of "
            f"cells: rows * cols = {rows} * {cols} = {n}, plus the class token."
        )
    if got in (h * w, h * w + 1):
        return (
            f"{got} counts pixels; tokens are patches: ({h}/{p}) * ({w}/{p}) = {n}, plus the class "
            "token."
        )
    return (
        f"the grid is {h}/{p} x {w}/{p} = {rows} x {cols} = {n} patches, plus the class token: "
        f"{n + 1} tokens."
    )


def _table_mistake(got: tuple[int, ...], img_size: tuple[int, int], p: int) -> str:
    (h, w), d = img_size, LAYER_BASE["embed_dim"]
    rows, cols = h // p, w // p
    n = rows * cols
    base_tokens = layer_shapes(LAYER_BASE["img_size"], LAYER_BASE["patch_size"])[0]
    if len(got) in (3, 4) and got[-1] != d:
        return (
            f"the last axis is {got[-1]}, but a position code has the width of a token, D = {d}: "
            "D belongs to the whole model (every block is built for it) and does not change with P."
        )
    if got == (1, n, d):
        return (
            f"{got} has no row for the class token. In ViT's layout the table is (1, 1 + N, D): "
            f"row 0 is the class token's code, then one row per patch."
        )
    if got in ((1, rows, cols, d), (rows, cols, d), (1, d, rows, cols)):
        return (
            f"{got} is the grid shape; the table is stored flat, one row per token, with the class "
            f"token's row first: (1, 1 + rows*cols, D)."
        )
    if got == (1, base_tokens, d) and base_tokens != n + 1:
        return (
            f"{got} is the table as trained (14 x 14 + 1). It has one row per token, and this "
            f"image has {rows} x {cols} patches: the grid part must be resampled to "
            f"{rows} x {cols} (notebook 06)."
        )
    return f"one row per token, class token first: (1, 1 + {rows}*{cols}, {d}) = {(1, n + 1, d)}."


def _kernel_mistake(got: tuple[int, ...], p: int) -> str:
    p0, d, c = LAYER_BASE["patch_size"], LAYER_BASE["embed_dim"], LAYER_BASE["in_chans"]
    if got in ((p * p * c, c, p, p), (p * p * c,)) or (len(got) == 4 and got[0] != d):
        return (
            f"{got} changes the width D. The kernel maps P*P*C numbers to the SAME D = {d}: every "
            f"block after the embedding is built for width {d} (that P*P*C = D for ViT-B/16 is a "
            "coincidence)."
        )
    if got in ((d, p, p, c), (d, p * p * c), (d, c * p * p)):
        return (
            f"{got} is not the convolution's layout. nn.Conv2d stores its kernel as "
            f"(out, in, kh, kw) = (D, C, P, P) = {(d, c, p, p)}; (D, P*P*C) is its Linear form."
        )
    if len(got) == 4 and got[:2] == (d, c) and got[2:] == (p0, p0) and p != p0:
        return (
            f"{got} is the kernel as trained. A {p} x {p} patch needs a {p} x {p} kernel: resize "
            "it with the PI-resize (notebook 07), w_new = pinv(B^T) w."
        )
    if len(got) == 4 and got[:2] == (d, c) and p == p0:
        return (
            f"{got}: the patch size did not change, so neither does the kernel. It has the size of "
            f"a PATCH ({p} x {p}), not of the image: only the grid grows."
        )
    return f"the kernel has the size of the new patch: (D, C, P, P) = {(d, c, p, p)}."


def _what_changes(img_size: tuple[int, int], p: int) -> str:
    base = layer_shapes(LAYER_BASE["img_size"], LAYER_BASE["patch_size"])
    new = layer_shapes(img_size, p)
    changed = [
        name
        for name, old, now in (("pos_embed", base[1], new[1]), ("the kernel", base[2], new[2]))
        if old != now
    ]
    return " and ".join(changed) if changed else "nothing"


def check_layer_shapes(fn: Callable[[], Any]) -> bool:
    """Check ``fn() -> {case: (tokens, pos_embed shape, kernel shape)}`` for :data:`LAYER_CASES`.

    The student predicts, for the ViT-B/16 layer of :data:`LAYER_BASE` adapted to each case's image
    size and patch size: the number of tokens the first block reads, the shape of the (resampled)
    position table and of the (resized) patch kernel. Every wrong number gets the misconception it
    matches (class token forgotten, the old patch size or image size, a square grid, the width D
    changed with P, the table as a grid, the kernel's layout...). Prints feedback; returns ``True``
    when every case is right. Never raises.
    """

    def checks() -> str:
        got = call_student(fn, call="predict_layer_shapes()")
        if not isinstance(got, Mapping):
            raise Mistake(
                f"predict_layer_shapes() returned a {type(got).__name__}; return a dict "
                f"{{case letter: (tokens, pos_embed shape, kernel shape)}} for the cases "
                f"{', '.join(repr(k) for k in LAYER_CASES)}, e.g. "
                f"{{'a': (197, (1, 197, 768), (768, 3, 16, 16)), ...}}."
            )
        answers = {str(k).strip().lower().rstrip(")"): v for k, v in got.items()}
        missing = [k for k in LAYER_CASES if k not in answers]
        if missing:
            raise Mistake(
                f"no prediction for case(s) {', '.join(repr(k) for k in missing)}: the dict needs "
                f"the keys {', '.join(repr(k) for k in LAYER_CASES)}."
            )
        problems = []
        for key, (img_size, p) in LAYER_CASES.items():
            title = f"{key}) {img_size[0]} x {img_size[1]} px, {p} px patches"
            value = answers[key]
            if not isinstance(value, (tuple, list)) or len(value) != 3:
                problems.append(
                    f"{title}: give three things, (tokens, pos_embed shape, kernel shape), e.g. "
                    f"(197, (1, 197, 768), (768, 3, 16, 16)); got {value!r}."
                )
                continue
            tokens, table, kernel = layer_shapes(img_size, p)
            got_tokens, got_table, got_kernel = (
                _as_count(value[0]),
                _as_shape(value[1]),
                _as_shape(value[2]),
            )
            if got_tokens is None:
                problems.append(
                    f"{title}: the token count should be a whole number, got {value[0]!r}."
                )
            elif got_tokens != tokens:
                problems.append(f"{title}, tokens: {_token_mistake(got_tokens, img_size, p)}")
            if got_table is None:
                problems.append(
                    f"{title}: the pos_embed shape should be a tuple of whole numbers, got "
                    f"{value[1]!r}."
                )
            elif got_table != table:
                problems.append(f"{title}, pos_embed: {_table_mistake(got_table, img_size, p)}")
            if got_kernel is None:
                problems.append(
                    f"{title}: the kernel shape should be a tuple of whole numbers, got "
                    f"{value[2]!r}."
                )
            elif got_kernel != kernel:
                problems.append(f"{title}, kernel: {_kernel_mistake(got_kernel, p)}")
        if problems:
            right = len(LAYER_CASES) - len({line.split(")")[0] for line in problems})
            raise Mistake(f"{right} of {len(LAYER_CASES)} cases right.\n  " + "\n  ".join(problems))
        summary = "; ".join(
            f"{key}) {_what_changes(img_size, p)}" for key, (img_size, p) in LAYER_CASES.items()
        )
        return f"What must change: {summary}. The class token and the bias never do."

    return run_checks("layer_shapes", checks)
