"""Checkers for the patch embedding and the embedding layer (notebooks 02 and 08).

* :func:`check_conv_to_linear`: the student writes ``conv_to_linear(weight)``:
  ``(D, C, P, P) -> (D, P*P*C)`` such that ``x @ result.T`` on :func:`vitlearn.patchify`'s tokens
  equals the convolution. The typical mistakes each get their own message: a plain ``reshape``
  (channel-first order), a transposed result, and rows and columns swapped inside the patch.
* :func:`check_embedding_forward`: the student writes the embedding layer's forward pass,
  ``fn(images, weight, bias, cls_token, pos_embed) -> (B, 1 + N, D)``.

Every checker prints friendly feedback, returns a bool and never raises.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .._checks import shape_str
from .._state import seeded
from ..embedding import ViTEmbedding
from ..patches import patchify
from ._feedback import Mistake, call_student, expect_tensor, run_checks

__all__ = ["check_conv_to_linear", "check_embedding_forward", "reference_tokens"]


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

# (D, C, P) of the weights the checker tries: D, C, P all different, so that a transposed or
# reshaped answer cannot land on the right shape by accident
_CASES = ((6, 3, 4), (5, 2, 3))


def _reference(weight: torch.Tensor) -> torch.Tensor:
    d = weight.shape[0]
    return weight.permute(0, 2, 3, 1).reshape(d, -1)  # (D, C, P, P) -> (D, P, P, C) -> (D, P*P*C)


def _check_one(fn: Callable[[torch.Tensor], object], d: int, c: int, p: int, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    weight = torch.randn(d, c, p, p, generator=gen)
    original = weight.clone()
    call = f"conv_to_linear(weight of shape {shape_str(weight.shape)})"
    result = call_student(fn, weight.clone(), call=call)
    want = _reference(original)
    f = p * p * c

    if not isinstance(result, torch.Tensor):
        raise Mistake(
            f"{call} returned a {type(result).__name__}; it should return a torch.Tensor of shape "
            f"(D, P*P*C) = {shape_str(want.shape)}."
        )
    if tuple(result.shape) == (f, d):
        raise Mistake(
            f"{call} returned shape {shape_str(result.shape)} = (P*P*C, D): that is transposed. "
            f"nn.Linear stores its weight as (out_features, in_features) = (D, P*P*C) = "
            f"{shape_str(want.shape)}, one row per output channel."
        )
    if tuple(result.shape) == (d, p, p, c) or tuple(result.shape) == (d, c, p, p):
        raise Mistake(
            f"{call} returned shape {shape_str(result.shape)}: the right numbers, but not flattened. "
            f"Each filter should be one row of P*P*C = {f} numbers: expected {shape_str(want.shape)}."
        )
    if tuple(result.shape) != tuple(want.shape):
        raise Mistake(
            f"{call} returned shape {shape_str(result.shape)}, expected (D, P*P*C) = "
            f"{shape_str(want.shape)}."
        )
    result = result.detach().to(torch.float32)
    if torch.allclose(result, want, atol=1e-6):
        return
    if torch.allclose(result, original.reshape(d, -1), atol=1e-6):
        raise Mistake(
            "the shape is right, but this is a plain weight.reshape(D, -1): it lists each filter in "
            "the convolution's (C, P, P) order, channel first. patchify lists a patch as (row in "
            "patch, col in patch, channel), channel last, so every weight would meet the wrong "
            "pixel. Move the channel axis to the end before flattening."
        )
    if torch.allclose(result, original.permute(0, 3, 2, 1).reshape(d, -1), atol=1e-6):
        raise Mistake(
            "almost: the channel is last, but rows and columns inside the patch are swapped, giving "
            "(col, row, channel) order. The conv weight is (D, C, rows, cols) = (D, C, P, P): keep "
            "rows before columns, i.e. (D, C, P, P) -> (D, P, P, C) with permute(0, 2, 3, 1)."
        )
    if torch.allclose(result.T.reshape(d, f), want, atol=1e-6) or torch.allclose(
        result.reshape(f, d).T, want, atol=1e-6
    ):
        raise Mistake(
            "the shape is right but the numbers are scrambled: it looks like a (P*P*C, D) result "
            "reshaped (not transposed) into (D, P*P*C). Build the (D, P, P, C) tensor first and "
            "flatten its last three axes."
        )
    same_values = torch.allclose(
        result.sort(dim=1).values, want.sort(dim=1).values, atol=1e-6
    )
    if same_values:
        raise Mistake(
            "each row holds the right numbers, but in the wrong order. Row d must list filter d "
            "as patchify lists a patch: row in patch (slowest), col in patch, channel (fastest)."
        )
    # say how far off the answer is on a real computation
    images = torch.rand(1, c, 2 * p, 2 * p, generator=gen)
    conv_out = F.conv2d(images, original, stride=p).flatten(2).transpose(1, 2)  # (1, N, D)
    linear_out = patchify(images, p) @ result.T
    err = (linear_out - conv_out).abs().max().item()
    raise Mistake(
        f"the values differ from the convolution's weights (the largest difference between "
        f"patchify(x) @ result.T and the convolution on a test image is {err:.3g}). Every output "
        "should be one of the input weights, only moved: use permute and reshape, no arithmetic."
    )


def check_conv_to_linear(fn: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """Check ``fn(weight (D, C, P, P)) -> (D, P*P*C)`` matching ``patchify``'s feature order.

    Prints friendly feedback (naming the typical mistakes) and returns whether ``fn`` is right;
    never raises.
    """

    def checks() -> str:
        for i, (d, c, p) in enumerate(_CASES):
            _check_one(fn, d, c, p, seed=i)
        return (
            "nn.Linear with this weight, applied to patchify(x, P), now computes exactly what the "
            "Conv2d computes on x."
        )

    return run_checks("conv_to_linear", checks)


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
