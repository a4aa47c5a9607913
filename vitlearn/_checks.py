"""Input checks shared by the package: each one raises an error that names what was expected
and what came, so a student sees their own numbers instead of a deep torch traceback."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def shape_str(shape: Sequence[int]) -> str:
    """``(2, 3, 32, 32)`` for any shape-like sequence."""
    return "(" + ", ".join(str(int(s)) for s in shape) + ")"


def as_pair(value: int | Sequence[int], name: str, *, minimum: int = 1) -> tuple[int, int]:
    """Read an int or a pair ``(rows, cols)`` as a pair of ints, each at least ``minimum``.

    >>> as_pair(16, "patch_size")
    (16, 16)
    """
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int or a pair of ints, got the bool {value!r}")
    if isinstance(value, int):
        pair = (value, value)
    elif isinstance(value, torch.Size) or (
        isinstance(value, Sequence) and not isinstance(value, str)
    ):
        if len(value) != 2 or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise TypeError(f"{name} must be an int or a pair of ints (rows, cols), got {value!r}")
        pair = (int(value[0]), int(value[1]))
    else:
        raise TypeError(
            f"{name} must be an int or a pair of ints (rows, cols), got {type(value).__name__} {value!r}"
        )
    if min(pair) < minimum:
        raise ValueError(f"{name} must be at least {minimum} in each direction, got {value!r}")
    return pair


def check_tensor(x: object, name: str, ndims: Sequence[int], layout: str = "") -> torch.Tensor:
    """Check that ``x`` is a tensor with one of the allowed numbers of dimensions.

    ``layout`` describes the expected shape for the message, e.g. ``"(B, C, H, W) or (C, H, W)"``.
    """
    if not isinstance(x, torch.Tensor):
        hint = " (convert it with torch.as_tensor or torch.from_numpy)" if hasattr(x, "shape") else ""
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}{hint}")
    if x.dim() not in ndims:
        want = layout or " or ".join(f"{n}-D" for n in ndims)
        raise ValueError(f"{name} must be {want}, got a {x.dim()}-D tensor of shape {shape_str(x.shape)}")
    return x


def check_choice(value: str, name: str, choices: Sequence[str]) -> str:
    """Check that ``value`` is one of ``choices``; the error lists them."""
    if value not in choices:
        known = ", ".join(repr(c) for c in choices)
        raise ValueError(f"unknown {name} {value!r}; known: {known}")
    return value
