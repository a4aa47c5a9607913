"""Image tokens inside a vision-language model: the Qwen-VL family's position arithmetic.

A vision-language model (VLM) puts an image's tokens into a language model's sequence, between
text tokens. Four pieces of index arithmetic decide where those tokens sit and what they cost,
each written here as in the Qwen2-VL, Qwen2.5-VL and Qwen3-VL code of Hugging Face transformers
and the ``qwen-vl-utils`` package:

- **the token count**: :func:`smart_resize` rounds each side of the image to a multiple of
  ``patch_size * merge_size`` (28 px for Qwen2/2.5-VL, 32 px for Qwen3-VL) and keeps the pixel
  count within ``[min_pixels, max_pixels]``; every ``merge_size x merge_size`` block of patches
  becomes one token for the language model;
- **the merger**: :class:`PatchMerger` (Qwen2-VL's ``PatchMerger``) concatenates each 2 x 2 block
  of the vision tower's outputs and maps it through an MLP. It needs the four tokens of a block
  next to each other: the vision tower therefore works in **merge-block order**
  (:func:`merge_order`), and its 2-D RoPE ids follow that order (:func:`vision_rope_ids`);
  :func:`merge_patches` does the same grouping from raster order;
- **the position ids the language model sees**: :func:`mrope_position_ids` gives every token a
  ``(t, h, w)`` triple (M-RoPE, Qwen2-VL's ``get_rope_index``): text tokens the same number on all
  three axes, image tokens their place on the merged grid;
- **which frequencies each axis gets**: :func:`mrope_axes` and :func:`mrope_angles`, contiguous
  chunks (Qwen2-VL) or interleaved (Qwen3-VL).

Grids are ``(t, h, w)``: time steps, rows, columns of *patches* (before merging), as the Qwen code
writes ``grid_thw``. Row-major everywhere: rows run down the image, columns across it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn

from ._checks import as_pair, check_int, check_tensor, shape_str

__all__ = [
    "PATCHING",
    "PatchMerger",
    "SmartSize",
    "merge_order",
    "merge_patches",
    "mrope_angles",
    "mrope_axes",
    "mrope_position_ids",
    "smart_resize",
    "vision_rope_ids",
]

PATCHING: dict[str, dict[str, int]] = {
    # transformers' Qwen2VLVisionConfig and Qwen2_5_VLVisionConfig: 14 px patches, 2 x 2 merge
    "qwen2_vl": {"patch_size": 14, "merge_size": 2},
    "qwen2_5_vl": {"patch_size": 14, "merge_size": 2},
    # Qwen3VLVisionConfig: 16 px patches, 2 x 2 merge (qwen-vl-utils takes image_patch_size=16)
    "qwen3_vl": {"patch_size": 16, "merge_size": 2},
}
"""Patch and merge sizes of the vision towers: ``patch_size * merge_size`` pixels per token side."""

_MAX_RATIO = 200  # both reference implementations refuse a longer side over 200 times the shorter


class SmartSize(NamedTuple):
    """The size :func:`smart_resize` chose, and what it costs in patches and tokens."""

    height: int
    width: int
    patch_size: int
    merge_size: int

    @property
    def size(self) -> tuple[int, int]:
        """``(height, width)`` in pixels."""
        return self.height, self.width

    @property
    def grid(self) -> tuple[int, int]:
        """``(rows, cols)`` of patches, the ``(h, w)`` of ``grid_thw``."""
        return self.height // self.patch_size, self.width // self.patch_size

    @property
    def num_patches(self) -> int:
        """Patches the vision tower sees (one image, one time step)."""
        rows, cols = self.grid
        return rows * cols

    @property
    def num_tokens(self) -> int:
        """Tokens the language model receives: one per ``merge_size x merge_size`` block."""
        return self.num_patches // self.merge_size**2


def smart_resize(
    height: int,
    width: int,
    *,
    patch_size: int = 14,
    merge_size: int = 2,
    min_pixels: int = 56 * 56,
    max_pixels: int = 28 * 28 * 1280,
) -> SmartSize:
    """The size a Qwen-VL processor resizes an image to, and its token count.

    With ``factor = patch_size * merge_size`` (28 for Qwen2/2.5-VL, 32 for Qwen3-VL): round each
    side to the nearest multiple of ``factor`` (Python's ``round``, halves to even). If that has
    more than ``max_pixels`` pixels, scale both sides by ``sqrt(max_pixels / (height * width))``
    and round each *down* to a multiple of ``factor`` (at least one); if fewer than
    ``min_pixels``, scale up by ``sqrt(min_pixels / (height * width))`` and round *up*. The
    aspect ratio is kept as far as the rounding allows. One token then stands for a
    ``factor x factor`` square of pixels: ``num_tokens = (height / factor) * (width / factor)``.

    This is transformers' ``smart_resize`` (``models/qwen2_vl/image_processing_qwen2_vl.py``),
    whose defaults these are (``min_pixels = 56 * 56``, ``max_pixels = 28 * 28 * 1280``, at most
    1280 tokens for Qwen2-VL). ``qwen-vl-utils`` (``vision_process.py``) differs at two edges: it
    keeps the first rounding at one ``factor`` at least, and it lets a side round down to zero in
    the ``max_pixels`` branch; its defaults are 4 to 16384 tokens (``min_pixels = 4 * factor**2``,
    ``max_pixels = 16384 * factor**2``).

    >>> smart_resize(768, 1024).num_tokens  # 27 x 37 merged blocks of 28 px
    999
    >>> smart_resize(768, 1024, patch_size=16).num_tokens  # 24 x 32 blocks of 32 px
    768
    """
    h = check_int(height, "height")
    w = check_int(width, "width")
    p = check_int(patch_size, "patch_size")
    m = check_int(merge_size, "merge_size")
    low = check_int(min_pixels, "min_pixels")
    high = check_int(max_pixels, "max_pixels")
    if low > high:
        raise ValueError(f"min_pixels={low} is larger than max_pixels={high}")
    if max(h, w) / min(h, w) > _MAX_RATIO:
        raise ValueError(
            f"an image of {h} x {w} pixels has an aspect ratio of {max(h, w) / min(h, w):.1f}; "
            f"the Qwen-VL processors accept at most {_MAX_RATIO}"
        )
    factor = p * m
    new_h, new_w = round(h / factor) * factor, round(w / factor) * factor
    if new_h * new_w > high:
        shrink = math.sqrt(h * w / high)
        new_h = max(factor, math.floor(h / shrink / factor) * factor)
        new_w = max(factor, math.floor(w / shrink / factor) * factor)
    elif new_h * new_w < low:
        grow = math.sqrt(low / (h * w))
        new_h = math.ceil(h * grow / factor) * factor
        new_w = math.ceil(w * grow / factor) * factor
    return SmartSize(new_h, new_w, p, m)


# --------------------------------------------------------------------------------------------
# Merge-block order and the 2 x 2 patch merger
# --------------------------------------------------------------------------------------------


def _merged_grid(rows: int, cols: int, m: int) -> tuple[int, int]:
    if rows % m or cols % m:
        raise ValueError(
            f"a {rows} x {cols} grid of patches does not split into {m} x {m} merge blocks "
            f"(rows and cols must be multiples of spatial_merge_size={m}); smart_resize sizes "
            f"images so that it does"
        )
    return rows // m, cols // m


def merge_order(rows: int, cols: int, spatial_merge_size: int = 2) -> torch.Tensor:
    """The raster index of each patch in merge-block order: ``-> (rows*cols,)`` LongTensor.

    Merge-block order lists the ``m x m`` blocks row by row, and inside each block its patches
    row by row, so the ``m*m`` patches of a block are neighbours in the sequence. For a 4 x 4 grid
    and ``m = 2``: ``[0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15]``.
    ``raster_tokens[:, merge_order(rows, cols)]`` puts raster tokens in that order.
    """
    r, c = check_int(rows, "rows"), check_int(cols, "cols")
    m = check_int(spatial_merge_size, "spatial_merge_size")
    br, bc = _merged_grid(r, c, m)
    # (block row, row in block, block col, col in block)
    raster = torch.arange(r * c).reshape(br, m, bc, m)
    return raster.permute(0, 2, 1, 3).reshape(-1)  # blocks first, then the patches inside each


def vision_rope_ids(grid_thw: Sequence[int], spatial_merge_size: int = 2) -> torch.Tensor:
    """The ``(row, col)`` of every patch, in the vision tower's order: ``-> (t*h*w, 2)``.

    Qwen's vision towers (Qwen2-VL to Qwen3-VL) give their 2-D RoPE these ids: each patch's own
    row and column on the *unmerged* grid, listed in merge-block order (:func:`merge_order`) and
    repeated for each of the ``t`` time steps. As transformers' ``get_vision_position_ids``
    (``vision_utils.py``).
    """
    t, h, w = _grid_thw(grid_thw, "grid_thw")
    order = merge_order(h, w, spatial_merge_size)
    ids = torch.stack([order // w, order % w], dim=-1)  # (h*w, 2): row, col
    return ids.repeat(t, 1)


def merge_patches(
    tokens: torch.Tensor, grid_size: int | Sequence[int], spatial_merge_size: int = 2
) -> torch.Tensor:
    """Concatenate each ``m x m`` block of raster-ordered tokens: ``(B, rows*cols, C) ->
    (B, (rows/m)*(cols/m), m*m*C)``.

    The features of a merged token are its block's tokens, row by row (top-left, top-right,
    bottom-left, bottom-right for ``m = 2``), each ``C`` wide: what :class:`PatchMerger`'s
    ``view`` makes of tokens already in merge-block order.
    """
    x = check_tensor(tokens, "tokens", (3,), "(B, rows*cols, C)")
    rows, cols = as_pair(grid_size, "grid_size")
    m = check_int(spatial_merge_size, "spatial_merge_size")
    b, n, c = x.shape
    if n != rows * cols:
        raise ValueError(
            f"tokens of shape {shape_str(x.shape)} hold {n} tokens; grid_size {(rows, cols)} "
            f"needs {rows * cols}"
        )
    br, bc = _merged_grid(rows, cols, m)
    x = x.reshape(b, br, m, bc, m, c).permute(0, 1, 3, 2, 4, 5)  # (B, br, bc, m, m, C)
    return x.reshape(b, br * bc, m * m * c)


class PatchMerger(nn.Module):
    """Qwen2-VL's patch merger: LayerNorm, then ``m x m`` neighbours concatenated, then an MLP.

    ``(N, C) -> (N / m**2, out_dim)`` (or ``(B, N, C) -> (B, N / m**2, out_dim)``) for tokens in
    merge-block order. The MLP is ``Linear(m*m*C, m*m*C)``, GELU, ``Linear(m*m*C, out_dim)``.
    Parameter names are transformers' (``ln_q``, ``mlp.0``, ``mlp.2``), so a Qwen2-VL merger's
    state dict loads as is. Qwen3-VL's merger is the same computation under other names
    (``norm``, ``linear_fc1``, ``linear_fc2``).
    """

    def __init__(self, context_dim: int, out_dim: int, spatial_merge_size: int = 2) -> None:
        super().__init__()
        self.context_dim = check_int(context_dim, "context_dim")
        self.spatial_merge_size = check_int(spatial_merge_size, "spatial_merge_size")
        self.hidden_size = self.context_dim * self.spatial_merge_size**2
        self.ln_q = nn.LayerNorm(self.context_dim, eps=1e-6)
        self.mlp = nn.Sequential(
            nn.Linear(self.hidden_size, self.hidden_size),
            nn.GELU(),
            nn.Linear(self.hidden_size, check_int(out_dim, "out_dim")),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = check_tensor(x, "x", (2, 3), "(N, C) or (B, N, C), in merge-block order")
        group = self.spatial_merge_size**2
        if x.shape[-1] != self.context_dim or x.shape[-2] % group:
            raise ValueError(
                f"x must be (..., N, {self.context_dim}) with N a multiple of {group} (whole "
                f"{self.spatial_merge_size} x {self.spatial_merge_size} blocks), got "
                f"{shape_str(x.shape)}"
            )
        normed = self.ln_q(x)
        merged = normed.reshape(*x.shape[:-2], x.shape[-2] // group, self.hidden_size)
        return self.mlp(merged)


# --------------------------------------------------------------------------------------------
# M-RoPE: (t, h, w) position ids, and which frequencies each axis gets
# --------------------------------------------------------------------------------------------


def _grid_thw(value: object, name: str) -> tuple[int, int, int]:
    if isinstance(value, torch.Tensor):
        value = value.tolist()
    if (
        not isinstance(value, Sequence)
        or isinstance(value, str)
        or len(value) != 3
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise TypeError(f"{name} must be a triple of ints (t, h, w), got {value!r}")
    t, h, w = value
    if min(t, h, w) < 1:
        raise ValueError(f"{name} must be at least 1 on each axis, got {tuple(value)}")
    return t, h, w


SEGMENT_KINDS = ("text", "image")


def mrope_position_ids(
    segments: Sequence[tuple[str, object]], spatial_merge_size: int = 2
) -> torch.Tensor:
    """The ``(t, h, w)`` position ids of a text-and-image sequence: ``-> (3, L)`` LongTensor.

    ``segments`` lists the sequence in order: ``("text", n)`` for ``n`` text tokens and
    ``("image", (t, h, w))`` for an image (or a clip) whose patch grid is ``t x h x w`` before the
    ``m x m`` merge, ``m = spatial_merge_size``. It gives ``t * (h/m) * (w/m)`` tokens. With ``s``
    one past the largest id so far (0 at the start):

    - text token ``i`` of a segment gets ``s + i`` on all three axes (plain 1-D positions);
    - image token ``(k, r, c)`` (time step, merged row, merged column, row-major) gets
      ``(s + k, s + r, s + c)``.

    The text after an image thus resumes at ``s + max(t, h/m, w/m)``, not at ``s`` plus the number
    of image tokens. This is Qwen2-VL's ``get_rope_index`` (as written in transformers before
    5.0, and as its docstring describes). transformers 5.24 resumes at ``s + max(h/m, w/m)``
    after an image or clip, which is the same whenever ``t <= max(h/m, w/m)``, so always for a
    still image (``t = 1``).

    >>> mrope_position_ids([("text", 2), ("image", (1, 4, 6)), ("text", 1)])[:, -1]
    tensor([5, 5, 5])
    """
    m = check_int(spatial_merge_size, "spatial_merge_size")
    if isinstance(segments, str | bytes) or not isinstance(segments, Sequence) or not segments:
        raise TypeError(
            "segments must be a non-empty list of ('text', n) and ('image', (t, h, w)) pairs, "
            f"got {segments!r}"
        )
    parts, start = [], 0
    for i, segment in enumerate(segments):
        if not isinstance(segment, tuple | list) or len(segment) != 2:
            raise TypeError(
                f"segments[{i}] must be a pair ('text', n) or ('image', (t, h, w)), got {segment!r}"
            )
        kind, size = segment
        if kind not in SEGMENT_KINDS:
            raise ValueError(f"segments[{i}]: unknown kind {kind!r}; known: 'text', 'image'")
        if kind == "text":
            n = check_int(size, f"segments[{i}] (text) length")
            ids = (torch.arange(n) + start).expand(3, n)  # (3, n): the same id on every axis
        else:
            t, h, w = _grid_thw(size, f"segments[{i}] (image) grid")
            gh, gw = _merged_grid(h, w, m)
            steps, rows, cols = torch.meshgrid(
                torch.arange(t), torch.arange(gh), torch.arange(gw), indexing="ij"
            )
            ids = torch.stack([steps, rows, cols]).reshape(3, -1) + start  # (3, t*gh*gw)
        parts.append(ids)
        start = int(ids.max()) + 1
    return torch.cat(parts, dim=1)


def mrope_axes(
    mrope_section: Sequence[int] = (16, 24, 24), *, interleaved: bool = False
) -> torch.Tensor:
    """Which position axis drives each rotary frequency: ``-> (F,)`` of 0 (t), 1 (h) or 2 (w).

    ``F = sum(mrope_section)`` frequencies (half the head dimension), ordered from the fastest
    (index 0) to the slowest. ``mrope_section = (n_t, n_h, n_w)`` says how many each axis gets:

    - chunked (Qwen2-VL, Qwen2.5-VL; ``(16, 24, 24)`` by default): the first ``n_t`` frequencies
      follow t, the next ``n_h`` follow h, the last ``n_w`` follow w, so w only ever gets the
      slowest frequencies and t the fastest;
    - interleaved (Qwen3-VL, ``(24, 20, 20)``): frequency ``3j + 1`` follows h for ``j < n_h``,
      ``3j + 2`` follows w for ``j < n_w``, all others t, so each axis gets fast and slow ones.

    As transformers' ``recomposition_frequencies`` of ``Qwen2VLRotaryEmbedding`` and
    ``Qwen3VLTextRotaryEmbedding``.
    """
    if (
        not isinstance(mrope_section, Sequence)
        or len(mrope_section) != 3
        or not all(isinstance(n, int) and not isinstance(n, bool) for n in mrope_section)
    ):
        raise TypeError(f"mrope_section must be three ints (n_t, n_h, n_w), got {mrope_section!r}")
    n_t, n_h, n_w = (check_int(n, "mrope_section entry", minimum=0) for n in mrope_section)
    total = n_t + n_h + n_w
    if total < 1:
        raise ValueError("mrope_section must give at least one frequency")
    if not interleaved:
        return torch.tensor([0] * n_t + [1] * n_h + [2] * n_w)
    if (n_h and 3 * n_h - 2 >= total) or (n_w and 3 * n_w - 1 >= total):
        raise ValueError(
            f"interleaved mrope_section {tuple(mrope_section)}: h takes frequencies 1, 4, 7, ... "
            "and "
            f"w takes 2, 5, 8, ..., so neither can have more than a third of the {total}"
        )
    axes = torch.zeros(total, dtype=torch.long)
    axes[1 : 3 * n_h : 3] = 1
    axes[2 : 3 * n_w : 3] = 2
    return axes


def mrope_angles(
    position_ids: torch.Tensor,
    inv_freq: torch.Tensor,
    mrope_section: Sequence[int] = (16, 24, 24),
    *,
    interleaved: bool = False,
) -> torch.Tensor:
    """Rotation angles of M-RoPE: ``position_ids (3, L)`` and ``inv_freq (F,)`` -> ``(L, F)``.

    Angle ``[l, f] = position_ids[axis_f, l] * inv_freq[f]``, with ``axis_f`` from
    :func:`mrope_axes`. The rotary embedding's cos and sin are ``cat([angles, angles], -1)`` through
    ``cos`` and ``sin``, as in transformers. With 1-D ids (the same id on all three axes) this is
    plain RoPE, whatever the section.
    """
    check_tensor(position_ids, "position_ids", (2,), "(3, L)")
    check_tensor(inv_freq, "inv_freq", (1,), "(F,)")
    if position_ids.shape[0] != 3:
        raise ValueError(
            f"position_ids must be (3, L): t, h and w ids; got {shape_str(position_ids.shape)}"
        )
    axes = mrope_axes(mrope_section, interleaved=interleaved)
    if axes.numel() != inv_freq.numel():
        raise ValueError(
            f"mrope_section {tuple(mrope_section)} gives {axes.numel()} frequencies, inv_freq has "
            f"{inv_freq.numel()}"
        )
    chosen = position_ids.float()[axes]  # (F, L): each frequency's own axis
    return (chosen * inv_freq.float()[:, None]).T  # (L, F)
