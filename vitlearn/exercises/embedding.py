"""Checkers for the patch embedding and the embedding layer (notebooks 02 and 08).

* :func:`check_conv_to_linear`: the student writes ``conv_to_linear(weight)``:
  ``(D, C, P, P) -> (D, P*P*C)`` such that ``x @ result.T`` on :func:`vitlearn.patchify`'s tokens
  equals the convolution. The typical mistakes each get their own message: a plain ``reshape``
  (channel-first order), a transposed result, and rows and columns swapped inside the patch.
* :func:`check_layer_shapes` (notebook 08): a predict-then-check exercise on the whole layer. The
  student predicts, before running the cell that shows it, what ViT-B/16's embedding layer becomes
  at another image size and patch size (:data:`LAYER_CASES`): the number of tokens, the shape of
  the position table and of the patch kernel. Each wrong number is matched to the misconception
  it comes from.

Every checker prints friendly feedback, returns a bool and never raises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F

from .._checks import shape_str
from .._state import seeded
from ..embedding import ViTEmbedding
from ..patches import grid_shape, patchify
from ._feedback import Mistake, call_student, run_checks

__all__ = [
    "LAYER_BASE",
    "LAYER_CASES",
    "check_conv_to_linear",
    "check_layer_shapes",
    "layer_shapes",
    "reference_tokens",
]


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
            f"{got} counts the patches ({rows} x {cols}) but not the class token: the first block reads "
            f"1 + N = {n + 1} tokens."
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
            f"{got} is the grid of the OLD image size {base_h} x {base_w}. At a fixed patch size the grid "
            f"grows with the image: {h}/{p} x {w}/{p} = {rows} x {cols} patches, plus the class token."
        )
    if h != w and got in (1 + (h // p) ** 2, 1 + (w // p) ** 2, (h // p) ** 2, (w // p) ** 2):
        return (
            f"{got} treats the image as square. It is {h} x {w} (H x W): rows = H/P = {rows}, "
            f"cols = W/P = {cols}, so N = {n}, plus the class token."
        )
    if got in (rows, cols, rows + 1, cols + 1, rows + cols, rows + cols + 1):
        return (
            f"{got} counts one side of the grid (or the two sides added). N is the number of cells: "
            f"rows * cols = {rows} * {cols} = {n}, plus the class token."
        )
    if got in (h * w, h * w + 1):
        return f"{got} counts pixels; tokens are patches: ({h}/{p}) * ({w}/{p}) = {n}, plus the class token."
    return f"the grid is {h}/{p} x {w}/{p} = {rows} x {cols} = {n} patches, plus the class token: {n + 1} tokens."


def _table_mistake(got: tuple[int, ...], img_size: tuple[int, int], p: int) -> str:
    (h, w), d = img_size, LAYER_BASE["embed_dim"]
    rows, cols = h // p, w // p
    n = rows * cols
    base_tokens = layer_shapes(LAYER_BASE["img_size"], LAYER_BASE["patch_size"])[0]
    if len(got) in (3, 4) and got[-1] != d:
        return (
            f"the last axis is {got[-1]}, but a position code has the width of a token, D = {d}: "
            f"D belongs to the whole model (every block is built for it) and does not change with P."
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
            f"{got} is the table as trained (14 x 14 + 1). It has one row per token, and this image has "
            f"{rows} x {cols} patches: the grid part must be resampled to {rows} x {cols} (notebook 06)."
        )
    return f"one row per token, class token first: (1, 1 + {rows}*{cols}, {d}) = {(1, n + 1, d)}."


def _kernel_mistake(got: tuple[int, ...], p: int) -> str:
    p0, d, c = LAYER_BASE["patch_size"], LAYER_BASE["embed_dim"], LAYER_BASE["in_chans"]
    if got in ((p * p * c, c, p, p), (p * p * c,)) or (len(got) == 4 and got[0] != d):
        return (
            f"{got} changes the width D. The kernel maps P*P*C numbers to the SAME D = {d}: every block "
            f"after the embedding is built for width {d} (that P*P*C = D for ViT-B/16 is a coincidence)."
        )
    if got in ((d, p, p, c), (d, p * p * c), (d, c * p * p)):
        return (
            f"{got} is not the convolution's layout. nn.Conv2d stores its kernel as (out, in, kh, kw) = "
            f"(D, C, P, P) = {(d, c, p, p)}; (D, P*P*C) is its Linear form."
        )
    if len(got) == 4 and got[:2] == (d, c) and got[2:] == (p0, p0) and p != p0:
        return (
            f"{got} is the kernel as trained. A {p} x {p} patch needs a {p} x {p} kernel: resize it with "
            f"the PI-resize (notebook 07), w_new = pinv(B^T) w."
        )
    if len(got) == 4 and got[:2] == (d, c) and p == p0:
        return (
            f"{got}: the patch size did not change, so neither does the kernel. It has the size of a "
            f"PATCH ({p} x {p}), not of the image: only the grid grows."
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
                f"no prediction for case(s) {', '.join(repr(k) for k in missing)}: the dict needs the keys "
                f"{', '.join(repr(k) for k in LAYER_CASES)}."
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
                    f"{title}: the pos_embed shape should be a tuple of whole numbers, got {value[1]!r}."
                )
            elif got_table != table:
                problems.append(f"{title}, pos_embed: {_table_mistake(got_table, img_size, p)}")
            if got_kernel is None:
                problems.append(
                    f"{title}: the kernel shape should be a tuple of whole numbers, got {value[2]!r}."
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
