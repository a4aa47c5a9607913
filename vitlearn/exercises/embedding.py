"""Checker for the exercise of notebook 02: turn a patch convolution's weight into a Linear weight.

The student writes ``conv_to_linear(weight)``: ``(D, C, P, P) -> (D, P*P*C)`` such that
``x @ result.T`` on :func:`vitlearn.patchify`'s tokens equals the convolution. The typical mistakes
each get their own message: a plain ``reshape`` (channel-first order), a transposed result, and
rows and columns swapped inside the patch.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .._checks import shape_str
from ..patches import patchify
from ._feedback import Mistake, call_student, run_checks

__all__ = ["check_conv_to_linear"]

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
