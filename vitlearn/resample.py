"""Changing the resolution of a ViT: resampling its table of learned position embeddings.

A ViT trained on 224 x 224 pixels with 16 x 16 patches has a 14 x 14 grid of patches, so its
position table ``pos_embed`` has shape ``(1, prefix + 14*14, D)``: ``prefix`` rows for the class
token (and register tokens, if any) followed by one row per patch in row-major order (rows = y
first, then cols = x). At 384 x 384 pixels the grid is 24 x 24 and the table no longer fits.

The standard fix treats the patch rows of the table as a ``D``-channel image of ``rows x cols``
pixels, resizes that image with ordinary image interpolation, and leaves the prefix rows as they
are. Libraries agree on that idea but not on the numbers: timm resizes with antialiased bicubic,
Hugging Face and MAE with plain bicubic, the original JAX ViT with bilinear corner-aligned
interpolation, DINOv2 (legacy) with a slightly enlarged scale factor; Qwen3-VL's vision tower
resizes its table (no class row) to every image's grid the JAX ViT's way. :func:`resample_pos_embed`
does all of them (``recipe=``) and :func:`interpolation_matrix` writes the resize of one axis as
a plain matrix, which is what every one of those interpolations is.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ._checks import (
    as_pair,
    check_choice,
    check_int,
    check_number,
    check_tensor,
    shape_str,
    token_grid,
)

__all__ = [
    "INTERPOLATIONS",
    "RECIPES",
    "flattened_resample",
    "interpolation_matrix",
    "resample_pos_embed",
]

INTERPOLATIONS = ("nearest", "nearest-exact", "bilinear", "bicubic", "area")
"""The ``interpolation`` modes :func:`resample_pos_embed` accepts (those of ``F.interpolate`` in
2-D)."""

RECIPES: dict[str, dict[str, object]] = {
    # timm.layers.resample_abs_pos_embed defaults
    "timm": {"interpolation": "bicubic", "antialias": True, "align_corners": False},
    # transformers ViTEmbeddings.interpolate_pos_encoding: size=(rows, cols), no antialias
    "hf": {"interpolation": "bicubic", "antialias": False, "align_corners": False},
    # MAE util/pos_embed.py interpolate_pos_embed (as DeiT): size=(n, n), no antialias
    "mae": {"interpolation": "bicubic", "antialias": False, "align_corners": False},
    # google-research/vision_transformer: scipy.ndimage.zoom(order=1) == bilinear, corners aligned
    "vit_jax": {"interpolation": "bilinear", "antialias": False, "align_corners": True},
    # facebookresearch/dinov2 (legacy): bicubic with scale_factor=(new + 0.1) / old
    "dinov2_legacy": {"interpolation": "bicubic", "antialias": False, "align_corners": False},
    # transformers Qwen3VLVisionModel: its 48 x 48 table (no prefix rows) gathered per patch with
    # get_vision_interpolation_indices_and_weights(mode="bilinear", align_corners=True); the same
    # arithmetic as vit_jax's, reached by another road (four weighted table rows per patch)
    "qwen3_vl": {"interpolation": "bilinear", "antialias": False, "align_corners": True},
}
"""What each ``recipe`` of :func:`resample_pos_embed` sets. ``dinov2_legacy`` also passes
``scale_factor = (new + 0.1) / old`` per axis to ``F.interpolate`` instead of ``size=new``.
``qwen3_vl`` is ``vit_jax``'s interpolation (the two names give the same numbers); Qwen3-VL's table
has no prefix rows, so pass ``num_prefix_tokens=0``, and it lists the result in merge-block order
(:func:`vitlearn.vlm.merge_order`)."""

_DINOV2_OFFSET = 0.1


def _resolve_method(
    recipe: str | None,
    interpolation: str | None,
    antialias: bool | None,
    align_corners: bool | None,
) -> tuple[str, bool, bool]:
    """The (interpolation, antialias, align_corners) to use; explicit values may not contradict a
    recipe."""
    if recipe is not None:
        check_choice(recipe, "recipe", tuple(RECIPES))
        spec = RECIPES[recipe]
        for name, value in (
            ("interpolation", interpolation),
            ("antialias", antialias),
            ("align_corners", align_corners),
        ):
            if value is not None and value != spec[name]:
                raise ValueError(
                    f"recipe={recipe!r} uses {name}={spec[name]!r}, but {name}={value!r} was also "
                    f"passed: drop one of them"
                )
        return str(spec["interpolation"]), bool(spec["antialias"]), bool(spec["align_corners"])
    mode = "bicubic" if interpolation is None else interpolation
    check_choice(mode, "interpolation", INTERPOLATIONS)
    smooth = mode in ("bilinear", "bicubic")
    if antialias is None:
        antialias = smooth  # timm's default for bilinear/bicubic; torch has no antialias otherwise
    if align_corners is None:
        align_corners = False
    if antialias and not smooth:
        raise ValueError(f"antialias=True works only with 'bilinear' or 'bicubic', not {mode!r}")
    if align_corners and not smooth:
        raise ValueError(
            f"align_corners=True works only with 'bilinear' or 'bicubic', not {mode!r}"
        )
    return mode, bool(antialias), bool(align_corners)


def resample_pos_embed(
    pos_embed: torch.Tensor,
    new_size: int | Sequence[int],
    *,
    old_size: int | Sequence[int] | None = None,
    num_prefix_tokens: int = 1,
    interpolation: str | None = None,
    antialias: bool | None = None,
    align_corners: bool | None = None,
    recipe: str | None = None,
) -> torch.Tensor:
    """Resize the grid part of a position table to a new grid; prefix rows pass through unchanged.

    ``(1, prefix + old_rows*old_cols, D) -> (1, prefix + new_rows*new_cols, D)``; a 2-D table
    ``(prefix + old_rows*old_cols, D)`` gives a 2-D result. Grid rows are stored row-major: token
    ``prefix + r * cols + c`` sits at row ``r`` (y), column ``c`` (x).

    The grid rows are reshaped to a ``(1, D, rows, cols)`` image, resized with
    ``torch.nn.functional.interpolate`` in float32 and flattened back; the result has the input's
    dtype (float16 and bfloat16 tables work). Defaults are timm's ``resample_abs_pos_embed``:
    bicubic with antialiasing.

    Args:
        pos_embed: the table, ``(1, N, D)`` or ``(N, D)`` with ``N = prefix + rows*cols``.
        new_size: the new grid, an int (square) or ``(rows, cols)``, each at least 1.
        old_size: the table's grid ``(rows, cols)``. Needed when ``N - prefix`` is not a square
            number; when given it must match ``N - prefix`` exactly. Nothing is ever guessed.
        num_prefix_tokens: rows at the front that are not on the grid (class token, registers,
            distillation token); copied unchanged.
        interpolation: one of :data:`INTERPOLATIONS`; default ``"bicubic"``.
        antialias: low-pass filter while shrinking (torch's antialiased kernels, which also use a
            different cubic, a = -0.5 instead of -0.75, even when enlarging); default ``True``
            for bilinear and bicubic, ``False`` otherwise (torch supports it for those two only).
        align_corners: as in ``F.interpolate``: ``True`` maps the centres of the corner cells
            onto each other; default ``False``.
        recipe: reproduce one library exactly: ``"timm"``, ``"hf"`` (transformers ViT
            ``interpolate_pos_encoding``), ``"mae"``, ``"vit_jax"``
            (``scipy.ndimage.zoom(order=1)``), ``"dinov2_legacy"`` or ``"qwen3_vl"`` (transformers
            ``Qwen3VLVisionModel``); see :data:`RECIPES`. It sets interpolation, antialias and
            align_corners: passing one of them too is allowed only with the recipe's own value,
            anything else is a ValueError. (The libraries themselves only handle a square old grid,
            HF and MAE a single class token; here the same arithmetic runs on each axis.)

    Returns:
        The new table. When the new grid equals the old one the input tensor itself is returned
        (no copy, no interpolation) for every method and recipe, as the libraries do.

    Raises:
        ValueError: a table that is not 2-D/3-D or has a leading dimension other than 1, a
            prefix count that leaves no grid, an old grid that does not match the token count
            (or that is not square and not given), a new size below 1, an unknown
            interpolation or recipe, or a recipe contradicted by an explicit argument.
        TypeError: not a floating-point tensor.

    >>> table = torch.randn(1, 1 + 14 * 14, 8)
    >>> resample_pos_embed(table, (24, 24)).shape
    torch.Size([1, 577, 8])
    """
    check_tensor(
        pos_embed,
        "pos_embed",
        (2, 3),
        "(1, prefix + rows*cols, D) or (prefix + rows*cols, D)",
        floating=True,
    )
    if pos_embed.dim() == 3 and pos_embed.shape[0] != 1:
        raise ValueError(
            f"pos_embed must have a leading dimension of 1, (1, prefix + rows*cols, D), got "
            f"{shape_str(pos_embed.shape)}"
        )
    new_rows, new_cols = as_pair(new_size, "new_size")
    old_rows, old_cols = token_grid(
        pos_embed.shape[-2],
        num_prefix_tokens,
        old_size,
        what=f"the table {shape_str(pos_embed.shape)}",
        hint="pass old_size=(rows, cols)",
    )
    mode, aa, corners = _resolve_method(recipe, interpolation, antialias, align_corners)
    if (new_rows, new_cols) == (old_rows, old_cols):
        return pos_embed

    table = pos_embed if pos_embed.dim() == 3 else pos_embed.unsqueeze(0)
    dim = table.shape[-1]
    prefix, grid = table[:, :num_prefix_tokens], table[:, num_prefix_tokens:]
    # (1, rows*cols, D) -> (1, rows, cols, D) -> (1, D, rows, cols): channels first, as
    # F.interpolate wants
    image = grid.float().reshape(1, old_rows, old_cols, dim).permute(0, 3, 1, 2)
    kwargs: dict[str, object] = {"mode": mode}
    if mode in ("bilinear", "bicubic"):
        kwargs.update(align_corners=corners, antialias=aa)
    if recipe == "dinov2_legacy":
        # DINOv2 asks for (new + 0.1) / old "to avoid floating point error": the output size is
        # floor(old * scale) = new, but the sampling positions use this scale, not new / old.
        scale = ((new_rows + _DINOV2_OFFSET) / old_rows, (new_cols + _DINOV2_OFFSET) / old_cols)
        image = F.interpolate(image, scale_factor=scale, **kwargs)
    else:
        image = F.interpolate(image, size=(new_rows, new_cols), **kwargs)
    if tuple(image.shape[-2:]) != (
        new_rows,
        new_cols,
    ):  # only reachable through scale_factor rounding
        raise ValueError(
            f"interpolation produced a {image.shape[-2]} x {image.shape[-1]} grid, expected "
            f"{new_rows} x {new_cols}"
        )
    # (1, D, rows, cols) -> (1, rows, cols, D) -> (1, rows*cols, D)
    grid = image.permute(0, 2, 3, 1).reshape(1, new_rows * new_cols, dim).to(pos_embed.dtype)
    out = torch.cat([prefix, grid], dim=1)
    return out if pos_embed.dim() == 3 else out[0]


def flattened_resample(
    pos_embed: torch.Tensor, new_size: int | Sequence[int], num_prefix_tokens: int = 1
) -> torch.Tensor:
    """The WRONG way, kept to show why: 1-D linear interpolation of the flattened token sequence.

    ``(1, prefix + N_old, D) -> (1, prefix + rows*cols, D)``; the prefix rows are kept. Tokens next
    to each other in the sequence are not always neighbours on the grid (the end of one row is
    followed by the start of the next), so this blends codes from opposite edges of the image.
    """
    check_tensor(pos_embed, "pos_embed", (3,), "(1, prefix + rows*cols, D)")
    rows, cols = as_pair(new_size, "new_size")
    prefix_count = check_int(num_prefix_tokens, "num_prefix_tokens", minimum=0)
    if prefix_count >= pos_embed.shape[1]:
        raise ValueError(
            f"num_prefix_tokens={prefix_count} leaves no grid tokens: pos_embed "
            f"{shape_str(pos_embed.shape)} has only {pos_embed.shape[1]} tokens"
        )
    prefix, grid = pos_embed[:, :num_prefix_tokens], pos_embed[:, num_prefix_tokens:]
    seq = F.interpolate(grid.float().transpose(1, 2), size=rows * cols, mode="linear")
    return torch.cat([prefix, seq.transpose(1, 2).to(pos_embed.dtype)], 1)


# --------------------------------------------------------------------------------------------
# Interpolation as a matrix, from scratch (numpy): what F.interpolate computes along one axis.
# --------------------------------------------------------------------------------------------


def _cubic(x: np.ndarray, a: float) -> np.ndarray:
    """Keys' cubic convolution kernel with parameter ``a``; zero for ``|x| >= 2``."""
    x = np.abs(x)
    near = ((a + 2) * x - (a + 3)) * x * x + 1  # |x| <= 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a  # 1 < |x| < 2
    return np.where(x <= 1, near, np.where(x < 2, far, 0.0))


def _fma(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``a * b + c`` rounded once to float32 (a fused multiply-add, as compiled torch kernels
    use)."""
    return (a.astype(np.float64) * b.astype(np.float64) + np.float64(c)).astype(np.float32)


def _cubic_f32(x: np.ndarray, a: float = -0.75) -> np.ndarray:
    """:func:`_cubic` (for ``0 <= x < 2``) evaluated in float32 the way torch's bicubic kernel
    does."""
    f32 = np.float32
    a = f32(a)
    near = _fma(_fma(a + f32(2), x, -(a + f32(3))) * x, x, f32(1))
    far = _fma(_fma(_fma(a, x, -f32(5) * a), x, f32(8) * a), x, -f32(4) * a)
    return np.where(x <= 1, near, far).astype(np.float64)


def _triangle(x: np.ndarray) -> np.ndarray:
    return np.clip(1.0 - np.abs(x), 0.0, None)


def interpolation_matrix(
    old: int,
    new: int,
    interpolation: str = "bicubic",
    antialias: bool = False,
    align_corners: bool = False,
    scale_factor: float | None = None,
) -> np.ndarray:
    """The ``(new, old)`` matrix ``M`` with ``F.interpolate`` along one axis equal to ``M @ x``.

    Resizing is linear, and the 2-D modes are separable, so a grid ``G`` of shape
    ``(old_rows, old_cols)`` resizes to ``M_rows @ G @ M_cols.T``. Each row of ``M`` holds the
    weights one output cell gives to the input cells:

    - ``"nearest"``: a single 1 at ``floor(i * old / new)`` (torch's legacy rule);
      ``"nearest-exact"`` at ``floor((i + 0.5) * old / new)``.
    - ``"bilinear"``: the two input cells around the source position ``(i + 0.5) * old/new - 0.5``
      (or ``i * (old-1)/(new-1)`` with ``align_corners``), weights ``1 - t`` and ``t``.
    - ``"bicubic"``: the four cells around it, weighted by Keys' cubic with ``a = -0.75``;
      positions past the border reuse the border cell.
    - ``antialias=True`` (bilinear/bicubic): the kernel (triangle, or the cubic with
      ``a = -0.5``) is stretched by ``old/new`` when shrinking, so every input cell is averaged in;
      weights beyond the border are dropped and each row is renormalised to sum to 1.

    ``scale_factor`` (non-antialiased modes, ``align_corners=False``) replaces ``new/old`` in the
    source position, as ``F.interpolate(..., scale_factor=...)`` does. Matches torch to ~1e-7.
    """
    check_choice(
        interpolation, "interpolation", ("nearest", "nearest-exact", "bilinear", "bicubic")
    )
    old, new = check_int(old, "old"), check_int(new, "new")
    if scale_factor is not None:
        scale_factor = check_number(scale_factor, "scale_factor", above=0.0)
    if antialias and interpolation not in ("bilinear", "bicubic"):
        raise ValueError(
            f"antialias=True works only with 'bilinear' or 'bicubic', not {interpolation!r}"
        )
    if antialias and align_corners:
        raise ValueError(
            "antialias=True with align_corners=True is not supported: pass one of them"
        )
    if scale_factor is not None and (antialias or align_corners):
        raise ValueError("scale_factor is supported only without antialias and align_corners")
    f32 = np.float32  # torch does the index arithmetic in float32 for float32 tensors
    m = np.zeros((new, old))
    out = np.arange(new)
    if interpolation in ("nearest", "nearest-exact"):
        scale = f32(old) / f32(new)
        shift = f32(0.5) if interpolation == "nearest-exact" else f32(0.0)
        src = np.floor((out.astype(f32) + shift) * scale).astype(int)
        m[out, np.minimum(src, old - 1)] = 1.0
        return m
    if align_corners:
        scale = f32(old - 1) / f32(new - 1) if new > 1 else f32(0.0)
    else:
        scale = f32(old) / f32(new) if scale_factor is None else f32(1.0 / scale_factor)
    if antialias:
        radius = 1.0 if interpolation == "bilinear" else 2.0  # the kernel's support radius
        stretch = max(scale, f32(1.0))  # widen the kernel by old/new when shrinking
        support = f32(radius * stretch)
        for i in range(new):
            center = f32(scale * f32(i + 0.5))
            lo = max(int(center - support + f32(0.5)), 0)
            hi = min(int(center + support + f32(0.5)), old)
            x = ((np.arange(lo, hi, dtype=f32) - center + f32(0.5)) * f32(1.0 / stretch)).astype(
                np.float64
            )
            w = _triangle(x) if interpolation == "bilinear" else _cubic(x, -0.5)
            if w.sum() != 0:
                m[i, lo:hi] = w / w.sum()
        return m
    # the source position of each output cell, rounded once to float32 as torch's compiled kernel
    # does
    dst = out.astype(np.float64)
    src = (dst * scale if align_corners else (dst + 0.5) * scale - 0.5).astype(f32)
    if interpolation == "bilinear":
        src = np.maximum(src, f32(0.0))  # torch clamps bilinear (not bicubic) source positions at 0
        i0 = np.floor(src).astype(int)
        t = (src - i0.astype(f32)).astype(np.float64)
        i1 = np.minimum(i0 + 1, old - 1)
        np.add.at(m, (out, i0), 1 - t)
        np.add.at(m, (out, i1), t)
        return m
    i0 = np.floor(src).astype(int)
    t = src - i0.astype(f32)  # float32 in [0, 1)
    # the four taps at distances 1 + t, t, 1 - t, 2 - t; evaluated in float32 as torch does
    weights = [_cubic_f32(d) for d in (t + f32(1), t, f32(1) - t, (f32(1) - t) + f32(1))]
    for k, w in zip(range(-1, 3), weights, strict=True):
        np.add.at(m, (out, np.clip(i0 + k, 0, old - 1)), w)
    return m
