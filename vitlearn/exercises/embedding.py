"""Checkers for the patch embedding and the embedding layer (notebooks 02 and 08).

* :func:`check_conversions` (notebook 02): the student predicts which of five one-line conversions
  of a ``(D, C, P, P)`` convolution kernel into a ``(D, P*P*C)`` linear weight give the
  convolution's tokens on :func:`vitlearn.patchify`'s output. Every one-liner runs and has the right
  shape; each wrong prediction gets the reason that conversion is right or wrong.
* :func:`check_embedding_forward` (notebook 08): the student writes the embedding layer's forward pass,
  ``fn(images, weight, bias, cls_token, pos_embed) -> (B, 1 + N, D)``.

Every checker prints friendly feedback, returns a bool and never raises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .._checks import shape_str
from .._state import seeded
from ..embedding import ViTEmbedding
from ..patches import patchify
from ._feedback import Mistake, call_student, expect_tensor, run_checks

__all__ = ["CONVERSIONS", "check_conversions", "check_embedding_forward", "reference_tokens"]


def reference_tokens(
    images: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    cls_token: torch.Tensor,
    pos_embed: torch.Tensor,
) -> torch.Tensor:
    """What a :class:`vitlearn.ViTEmbedding` holding these tensors computes: the checkers' answer.

    ``(B, C, H, W)``, kernel ``(D, C, P, P)``, ``(D,)``, ``(1, 1, D)``, ``(1, 1 + N, D)`` ->
    ``(B, 1 + N, D)``.
    """
    d, c, p, _ = weight.shape
    with seeded(0), torch.no_grad():  # the layer's own initial values are drawn, then replaced
        layer = ViTEmbedding(tuple(images.shape[-2:]), p, c, d, bias=bias is not None).eval()
        layer.patch_embed.proj.weight.copy_(weight)
        if bias is not None:
            layer.patch_embed.proj.bias.copy_(bias)
        layer.cls_token.copy_(cls_token)
        layer.pos_embed.copy_(pos_embed)
        return layer(images)

# ---------------------------------------------------------------------------------------------
# Notebook 08: the embedding layer's forward pass by hand
# ---------------------------------------------------------------------------------------------

# (B, C, H, W, P, D): a non-square image, so row/column mix-ups show
_EMBED_CASES = [(2, 3, 8, 12, 4, 5), (1, 2, 6, 6, 3, 4)]


def _embed_inputs(b: int, c: int, h: int, w: int, p: int, d: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(b + 10 * c + 100 * h + 1000 * w)
    n = (h // p) * (w // p)
    return {
        "images": torch.rand(b, c, h, w, generator=g),
        "weight": torch.randn(d, c, p, p, generator=g),
        "bias": torch.randn(d, generator=g),
        "cls_token": torch.randn(1, 1, d, generator=g),
        "pos_embed": torch.randn(1, 1 + n, d, generator=g),
    }


def _embed_look_alikes(a: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    x, w, bias, cls, pos = a["images"], a["weight"], a["bias"], a["cls_token"], a["pos_embed"]
    p = w.shape[-1]
    conv = F.conv2d(x, w, bias, stride=p)  # (B, D, rows, cols)
    tokens = conv.flatten(2).transpose(1, 2)  # (B, N, D)
    cls_b = cls.expand(x.shape[0], -1, -1)
    col_major = conv.transpose(2, 3).flatten(2).transpose(1, 2)
    # the kernel reshaped plainly (C, P, P order) but applied to (P, P, C)-ordered patches
    rows, cols = x.shape[2] // p, x.shape[3] // p
    patches = x.reshape(x.shape[0], x.shape[1], rows, p, cols, p).permute(0, 2, 4, 3, 5, 1)
    patches = patches.reshape(x.shape[0], rows * cols, -1)  # (B, N, P*P*C)
    plain = patches @ w.reshape(w.shape[0], -1).T + bias
    return {
        "cls last": torch.cat([tokens, cls_b], 1) + pos,
        "no bias": torch.cat([cls_b, tokens - bias], 1) + pos,
        "no positions": torch.cat([cls_b, tokens], 1),
        "cls without position": torch.cat([cls_b, tokens + pos[:, 1:]], 1),
        "column-major": torch.cat([cls_b, col_major], 1) + pos,
        "plain kernel reshape": torch.cat([cls_b, plain], 1) + pos,
    }


_EMBED_MESSAGES = {
    "cls last": (
        "the class token is at the END of the sequence. It goes in front: torch.cat([cls, "
        "tokens], dim=1), so that it is token 0 and pos_embed[:, 0] is its code."
    ),
    "no bias": "the projection's bias is missing: each token is W @ patch + bias.",
    "no positions": "the position table was not added: tokens + pos_embed, after the class token is in.",
    "cls without position": (
        "you added pos_embed[:, 1:] to the patch tokens only. In ViT's layout (timm's default) "
        "the table has 1 + N rows and the class token gets row 0: concatenate first, then add "
        "the whole table."
    ),
    "column-major": (
        "your tokens are in column-major order. Token n is the patch at grid row n // cols, "
        "column n % cols: the conv output (B, D, rows, cols) flattens with .flatten(2), rows first."
    ),
    "plain kernel reshape": (
        "you reshaped the conv kernel (D, C, P, P) plainly to (D, C*P*P), but patchify's features "
        "are ordered (row, column, channel). Permute the kernel to (D, P, P, C) first "
        "(vitlearn.conv_to_linear_weight), or use F.conv2d with stride P."
    ),
}


def check_embedding_forward(fn: Callable[..., torch.Tensor]) -> bool:
    """Check ``fn(images, weight, bias, cls_token, pos_embed) -> tokens`` (ViT's embedding layer).

    ``images`` ``(B, C, H, W)``, ``weight`` ``(D, C, P, P)``, ``bias`` ``(D,)``, ``cls_token``
    ``(1, 1, D)``, ``pos_embed`` ``(1, 1 + N, D)``; the answer is ``(B, 1 + N, D)``: projected
    patches in raster order, class token in front, the whole table added (no dropout). Prints
    feedback; returns ``True`` when every case passes. Never raises.
    """

    def checks() -> str:
        for b, c, h, w, p, d in _EMBED_CASES:
            a = _embed_inputs(b, c, h, w, p, d)
            before = {k: v.clone() for k, v in a.items()}
            call = (
                f"fn(images {shape_str(a['images'].shape)}, weight {shape_str(a['weight'].shape)}, "
                f"bias, cls_token, pos_embed {shape_str(a['pos_embed'].shape)})"
            )
            got = call_student(
                fn, a["images"], a["weight"], a["bias"], a["cls_token"], a["pos_embed"], call=call
            )
            if any(not torch.equal(a[k], before[k]) for k in a):
                raise Mistake(f"{call} changed one of its inputs; leave them as they are.")
            n = (h // p) * (w // p)
            if isinstance(got, torch.Tensor) and tuple(got.shape) == (b, n, d):
                raise Mistake(
                    f"{call} returned shape {shape_str(got.shape)}, expected (B, 1 + N, D) = "
                    f"{shape_str((b, 1 + n, d))}: the class token is missing in front."
                )
            if isinstance(got, torch.Tensor) and tuple(got.shape) == (b, d, 1 + n):
                raise Mistake(
                    f"{call} returned shape {shape_str(got.shape)}, expected {shape_str((b, 1 + n, d))}: "
                    "tokens go along axis 1 and features along axis 2 (transpose the conv output)."
                )
            got = expect_tensor(got, (b, 1 + n, d), f"{call}'s result").detach()
            looks = _embed_look_alikes(a)
            want = reference_tokens(a["images"], a["weight"], a["bias"], a["cls_token"], a["pos_embed"])
            if torch.allclose(got, want, atol=1e-5):
                continue
            for name, look in looks.items():
                if torch.allclose(got, look, atol=1e-5):
                    raise Mistake(f"{call} has the right shape, but {_EMBED_MESSAGES[name]}")
            err = (got - want).abs().max().item()
            raise Mistake(
                f"{call} has the right shape, but the values differ (largest difference {err:.3g}). "
                "Steps: F.conv2d(images, weight, bias, stride=P) -> (B, D, rows, cols) -> "
                "(B, N, D); class token in front; + pos_embed."
            )
        return "That is all of a ViT's first layer (with dropout off)."

    return run_checks("embedding_forward", checks)


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
                    "All five run and return a (D, P*P*C) tensor, but the shape cannot tell a right "
                    "conversion from a wrong one: follow where each number goes."
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
