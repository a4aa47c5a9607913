"""Checkers for the exercises of notebook 05 (train a tiny ViT).

``check_vit_tokens(fn)``: the student writes the embedding stage of a ViT,
``vit_tokens(images, patch_embed, cls_token, pos_embed) -> (B, 1 + N, D)``: patch tokens, the class
token in front (one copy per image), then the learned position table added.

``check_parameter_count(fn)``: the student counts the parameters of a :class:`vitlearn.TinyViT`
(learned codes, class-token pooling) from its sizes,
``count(img_size, patch_size, in_chans, embed_dim, depth, mlp_ratio, num_classes) -> int``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .._checks import shape_str
from .._state import seeded
from ..embedding import PatchEmbed
from ..models import TinyViT
from ._feedback import Mistake, call_student, run_checks
from .embedding import reference_tokens

__all__ = ["check_parameter_count", "check_vit_tokens"]


# -- the embedding stage ----------------------------------------------------------------------


def _vit_tokens_checks(fn: Callable[..., object]) -> str:
    gen = torch.Generator().manual_seed(5)
    b, c, h, w, p, d = 3, 3, 8, 12, 4, 6  # 2 x 3 patches, every size different
    n = (h // p) * (w // p)
    with seeded(0):
        embed = PatchEmbed(p, c, d)
    images = torch.randn(b, c, h, w, generator=gen)
    cls_token = torch.randn(1, 1, d, generator=gen)
    pos_embed = torch.randn(1, 1 + n, d, generator=gen)
    call = (
        f"fn(images {shape_str(images.shape)}, patch_embed (P={p}, D={d}), cls_token "
        f"{shape_str(cls_token.shape)}, pos_embed {shape_str(pos_embed.shape)})"
    )
    with torch.no_grad():
        got = call_student(fn, images.clone(), embed, cls_token.clone(), pos_embed.clone(), call=call)
        want = reference_tokens(images, embed.proj.weight, embed.proj.bias, cls_token, pos_embed)
        patches = embed(images)
        cls = cls_token.expand(b, -1, -1)
    if not isinstance(got, torch.Tensor):
        raise Mistake(f"{call} returned a {type(got).__name__}; it should return a tensor of shape {shape_str(want.shape)}.")
    got = got.detach()
    if tuple(got.shape) == (b, n, d):
        raise Mistake(
            f"the result has shape {shape_str(got.shape)} = (B, N, D): the class token is missing. "
            f"Put one copy of cls_token in front of each image's {n} patch tokens: (B, 1 + N, D) = "
            f"{shape_str(want.shape)}."
        )
    if tuple(got.shape) == (1, 1 + n, d):
        raise Mistake(
            f"the result has shape {shape_str(got.shape)}: only one image's worth of tokens. "
            f"Expand cls_token to the batch (cls_token.expand(B, -1, -1)) before concatenating."
        )
    if tuple(got.shape) != tuple(want.shape):
        raise Mistake(f"the result has shape {shape_str(got.shape)}, expected (B, 1 + N, D) = {shape_str(want.shape)}.")
    if torch.allclose(got, want, atol=1e-5):
        return f"{b} images -> {n} patch tokens + 1 class token, each of width {d}, positions added."
    if torch.allclose(got, torch.cat([cls, patches], dim=1), atol=1e-5):
        raise Mistake("the tokens are in the right place, but the position table is not added: add pos_embed last.")
    if torch.allclose(got, torch.cat([patches, cls], dim=1) + pos_embed, atol=1e-5):
        raise Mistake(
            "the class token is at the end. ViT (and timm) put it first, at index 0, and the first "
            "row of pos_embed belongs to it: concatenate [cls, patches]."
        )
    if torch.allclose(got, torch.cat([cls, patches + pos_embed[:, 1:]], dim=1), atol=1e-5):
        raise Mistake(
            "the patches got their codes, but the class token did not: in this layout pos_embed has "
            "1 + N rows and row 0 is the class token's; add the whole table after concatenating."
        )
    raise Mistake(
        f"the shape {shape_str(got.shape)} is right but the values differ from "
        "cat([cls_token copies, patch_embed(images)], dim=1) + pos_embed "
        f"(largest difference {float((got - want).abs().max()):.3g})."
    )


def check_vit_tokens(fn: Callable[..., object]) -> bool:
    """Check ``fn(images, patch_embed, cls_token, pos_embed) -> (B, 1 + N, D)``; print feedback."""
    return run_checks("vit_tokens", lambda: _vit_tokens_checks(fn))


# -- counting parameters -----------------------------------------------------------------------

_COUNT_CASES = (
    dict(img_size=32, patch_size=8, in_chans=3, embed_dim=32, depth=2, mlp_ratio=2.0, num_classes=4),
    dict(img_size=48, patch_size=4, in_chans=1, embed_dim=24, depth=3, mlp_ratio=4.0, num_classes=10),
)


def _count_parts(img_size, patch_size, in_chans, embed_dim, depth, mlp_ratio, num_classes) -> dict[str, int]:
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
            model = TinyViT(**case, num_heads=2, pos_embed="learned", global_pool="token",
                            input_mean=None, input_std=None)
        want = sum(q.numel() for q in model.parameters())
        parts = _count_parts(**case)
        assert sum(v for k, v in parts.items() if k != "pos_cls_row") == want  # the checker's own sum
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
            (parts["pos_cls_row"], "the class token's row of the position table (it has 1 + N rows, not N)"),
            (parts["cls"], "the class token (D numbers)"),
            (parts["cls"] + parts["pos_cls_row"], "the class token and its row of the position table"),
            (parts["block_biases"] + parts["patch_bias"] + case["num_classes"],
             "the biases (every Linear and the patch convolution has one)"),
            (parts["block_biases"], "the biases of the Linear layers inside the blocks"),
            (parts["block_norms"] + parts["final_norm"],
             "the LayerNorms (a weight and a bias of D numbers each: 2 per block, 1 at the end)"),
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
                + " -- or of ".join(named[diff]) + "."
            )
        per_block = (parts["block_weights"] + parts["block_biases"] + parts["block_norms"]) // case["depth"]
        if diff == (case["depth"] - 1) * per_block:
            raise Mistake(f"{call} returned {got}, expected {want}: did you count one block but not multiply by depth={case['depth']}?")
        raise Mistake(
            f"{call} returned {got}, expected {want} ({'short by' if diff > 0 else 'over by'} {abs(diff)}). "
            "Count: patch embedding (D*C*P*P + D), class token (D), position table ((1 + N)*D), per block "
            "2 LayerNorms (2D each), qkv (3D*D + 3D), proj (D*D + D), fc1 (D*hidden + hidden), "
            "fc2 (hidden*D + D); the final LayerNorm (2D) and the head (D*classes + classes)."
        )
    return "every parameter of the tiny ViT accounted for."


def check_parameter_count(fn: Callable[..., object]) -> bool:
    """Check ``fn(img_size, patch_size, in_chans, embed_dim, depth, mlp_ratio, num_classes) -> int``."""
    return run_checks("parameter count", lambda: _parameter_count_checks(fn))
