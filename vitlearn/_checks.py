"""The one home of every input check in the package.

Each check raises an error that names what was expected and what came, so a student sees their
own numbers instead of a deep torch traceback. One exception type per kind of mistake, the same
everywhere in the package:

- ``TypeError``: the value has the wrong type (a float where an int goes, a list instead of a
  tensor, a bool for a size);
- ``ValueError``: the type is right but the value is not (a size below 1, an image that does not
  split into whole patches, a token count that is not a square grid, an unknown option).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch


def shape_str(shape: Sequence[int]) -> str:
    """``(2, 3, 32, 32)`` for any shape-like sequence."""
    return "(" + ", ".join(str(int(s)) for s in shape) + ")"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_int(value: object, name: str, *, minimum: int = 1, maximum: int | None = None) -> int:
    """An int of at least ``minimum`` and, when given, at most ``maximum`` (``TypeError`` for any
    other type, bools included).

    >>> check_int(3, "depth")
    3
    >>> check_int(5, "channel", minimum=0, maximum=7)
    5
    """
    if not _is_int(value):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if maximum is not None and not minimum <= value <= maximum:
        raise ValueError(f"{name} must be in {minimum}..{maximum}, got {value!r}")
    if value < minimum:
        what = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return int(value)


def check_bool(value: object, name: str) -> bool:
    """A bool (``TypeError`` for anything else, 0 and 1 included).

    >>> check_bool(True, "decay_pos_embed")
    True
    """
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__} {value!r}")
    return value


def check_both_or_neither(a: object, b: object, name_a: str, name_b: str) -> None:
    """Two arguments that only make sense together: both given, or both None."""
    if (a is None) != (b is None):
        raise ValueError(f"give both {name_a} and {name_b}, or neither")


def check_number(
    value: object, name: str, *, minimum: float | None = None, above: float | None = None
) -> float:
    """A finite real number (an int or a float, not a bool), at least ``minimum`` or greater than
    ``above`` when given; returned as a float.

    >>> check_number(2, "rescale_coords", minimum=1.0)
    2.0
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be at least {minimum:g}, got {value!r}")
    if above is not None and number <= above:
        raise ValueError(f"{name} must be greater than {above:g}, got {value!r}")
    return number


def check_multiple(value: object, name: str, multiple: int, why: str) -> int:
    """A positive int divisible by ``multiple``; the error names the nearest valid values.

    ``why`` says what the multiple is for, e.g. ``"sin and cos for each of the two axes"``.
    """
    if not _is_int(value):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < multiple or value % multiple:
        lower = value // multiple * multiple
        near = [v for v in (lower, lower + multiple) if v >= multiple]
        raise ValueError(
            f"{name} must be a positive multiple of {multiple} ({why}), got {name}={value}; "
            f"nearest valid: {' or '.join(str(v) for v in near)}"
        )
    return int(value)


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
        if len(value) != 2 or not all(_is_int(v) for v in value):
            raise TypeError(f"{name} must be an int or a pair of ints (rows, cols), got {value!r}")
        pair = (int(value[0]), int(value[1]))
    else:
        raise TypeError(
            f"{name} must be an int or a pair of ints (rows, cols), "
            f"got {type(value).__name__} {value!r}"
        )
    if min(pair) < minimum:
        raise ValueError(f"{name} must be at least {minimum} in each direction, got {value!r}")
    return pair


def _split(size: int, patch: int) -> str:
    """``225 = 14 * 16 + 1`` for error messages."""
    return f"{size} = {size // patch} * {patch} + {size % patch}"


def patch_grid(
    image_size: int | Sequence[int], patch_size: int | Sequence[int], *, hint: str = ""
) -> tuple[int, int]:
    """The patch grid ``(rows, cols) = (H // ph, W // pw)``; a ``ValueError`` unless it is exact.

    The error names both sizes, how each splits, and the crop and pad that would fix it; ``hint``
    is a sentence added to it (how to apply the fix to a clip, say).
    """
    h, w = as_pair(image_size, "image_size")
    ph, pw = as_pair(patch_size, "patch_size")
    if ph > h or pw > w:
        raise ValueError(
            f"patch size (ph, pw) = ({ph}, {pw}) is larger than the image (H, W) = ({h}, {w}); "
            "use a smaller patch size or a larger image"
        )
    problems = []
    if h % ph:
        problems.append(f"height H={h} is not a multiple of patch height {ph} ({_split(h, ph)})")
    if w % pw:
        problems.append(f"width W={w} is not a multiple of patch width {pw} ({_split(w, pw)})")
    if problems:
        crop = ((h // ph) * ph, (w // pw) * pw)
        pad = (-(-h // ph) * ph, -(-w // pw) * pw)
        p = ph if ph == pw else (ph, pw)
        raise ValueError(
            "image "
            + " and ".join(problems)
            + f". Crop it with vitlearn.crop_to_multiple(images, {p}) (-> {crop[0]} x {crop[1]}) "
            f"or pad it with vitlearn.pad_to_multiple(images, {p}) (-> {pad[0]} x {pad[1]})"
            + (f". {hint}" if hint else "")
        )
    return h // ph, w // pw


def token_grid(
    num_tokens: int,
    num_prefix_tokens: int,
    grid_size: int | Sequence[int] | None,
    *,
    what: str,
    hint: str = "pass grid_size=(rows, cols)",
) -> tuple[int, int]:
    """The grid ``(rows, cols)`` of ``num_tokens - num_prefix_tokens`` grid tokens. Never guessed.

    With ``grid_size`` given, it must account for the grid tokens exactly. Without it, the grid
    tokens must be a square number, and the square grid is returned; otherwise the error says so
    and ``hint`` says how to pass the grid. ``what`` names the table in messages, e.g.
    ``"pos_embed (1, 197, 768)"``.
    """
    prefix = check_int(num_prefix_tokens, "num_prefix_tokens", minimum=0)
    if prefix >= num_tokens:
        raise ValueError(
            f"num_prefix_tokens={prefix} leaves no grid tokens: {what} has only {num_tokens} tokens"
        )
    n = num_tokens - prefix
    if grid_size is None:
        side = math.isqrt(n)
        if side * side != n:
            raise ValueError(
                f"{what} has {num_tokens} tokens; minus num_prefix_tokens={prefix} that is "
                f"{n} grid tokens, not a square number: {hint} (rows * cols must be {n})"
            )
        return side, side
    rows, cols = as_pair(grid_size, "grid_size")
    if rows * cols != n:
        raise ValueError(
            f"a {rows}x{cols} grid means {rows * cols} grid tokens, but {what} has {num_tokens} "
            f"tokens, minus num_prefix_tokens={prefix} = {n}"
        )
    return rows, cols


def check_tensor(
    x: object, name: str, ndims: Sequence[int], layout: str = "", *, floating: bool = False
) -> torch.Tensor:
    """Check that ``x`` is a tensor with one of the allowed numbers of dimensions.

    ``layout`` describes the expected shape for the message, e.g. ``"(B, C, H, W) or (C, H, W)"``.
    ``floating=True``: the dtype must be a floating-point one too (``TypeError`` otherwise).
    """
    if not isinstance(x, torch.Tensor):
        hint = (
            " (convert it with torch.as_tensor or torch.from_numpy)" if hasattr(x, "shape") else ""
        )
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}{hint}")
    if x.dim() not in ndims:
        want = layout or " or ".join(f"{n}-D" for n in ndims)
        raise ValueError(
            f"{name} must be {want}, got a {x.dim()}-D tensor of shape {shape_str(x.shape)}"
        )
    if floating and not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    return x


def check_choice(value: str, name: str, choices: Sequence[str]) -> str:
    """Check that ``value`` is one of ``choices``; the error lists them.

    When every choice is a str, a value of another type is a ``TypeError`` (``task=3``), an
    unknown str a ``ValueError``.
    """
    known = ", ".join(repr(c) for c in choices)
    if not isinstance(value, str) and choices and all(isinstance(c, str) for c in choices):
        raise TypeError(
            f"{name} must be a str, one of {known}; got {type(value).__name__} {value!r}"
        )
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; known: {known}")
    return value


def check_cell(row: object, col: object, grid: Sequence[int]) -> tuple[int, int]:
    """A patch ``(row, col)`` inside a ``(rows, cols)`` grid, both ints from 0; returned as a pair.

    >>> check_cell(1, 2, (3, 4))
    (1, 2)
    """
    r, c = check_int(row, "row", minimum=0), check_int(col, "col", minimum=0)
    rows, cols = grid
    if r >= rows or c >= cols:
        raise ValueError(f"patch (row, col) = ({r}, {c}) is outside the {rows}x{cols} grid")
    return r, c
