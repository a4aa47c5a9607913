"""Position codes: how a Vision Transformer learns *where* each patch token came from.

Self-attention treats its input as a set: shuffle the tokens and the outputs shuffle the same way.
A ViT therefore needs to be told the position of every patch. This module holds the kinds of codes
the course compares, all for a grid of ``rows x cols`` patches (rows = y = H direction, cols = x = W
direction) whose tokens are in row-major order (token ``r * cols + c`` is the patch at row ``r``,
column ``c``), optionally after ``num_prefix_tokens`` extra tokens such as a class token.

Codes that are *added* to the tokens (shape ``(N, D)``):

- :func:`sincos_1d_pos_embed` -- the Transformer's fixed sinusoids of one index.
- :func:`sincos_2d_pos_embed` -- fixed sinusoids of the column and of the row, in the channel
  layouts of MAE, big_vision / vit-pytorch and timm.
- :class:`LearnedPosEmbed` -- one learned vector per token (the original ViT).
- :class:`FactorizedPosEmbed` -- a learned row vector plus a learned column vector.

Codes that act inside attention instead:

- :class:`RelativePositionBias` -- a learned bias per head and per (dy, dx) offset (Swin).
- :class:`RotaryEmbedding2D` -- queries and keys rotated by angles proportional to the column and
  to the row (axial 2-D RoPE), so that ``q . k`` depends only on the offset between them.

And two ways to look at any table of codes: :func:`position_similarity` (the similarity maps)
and :func:`grid_structure` (two numbers that say whether the table has learned the grid).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from ._checks import (
    as_pair,
    check_choice,
    check_int,
    check_multiple,
    check_number,
    check_tensor,
    shape_str,
    token_grid,
)

__all__ = [
    "NORMALIZE_COORDS",
    "SINCOS_CONVENTIONS",
    "SINCOS_LAYOUTS",
    "SincosLayout",
    "FactorizedPosEmbed",
    "LearnedPosEmbed",
    "RelativePositionBias",
    "RotaryEmbedding2D",
    "describe_sincos_channel",
    "grid_structure",
    "position_similarity",
    "sincos_1d_pos_embed",
    "sincos_2d_pos_embed",
]


class SincosLayout(NamedTuple):
    """How one published 2-D sin-cos code lays out its ``dim`` channels (``F = dim/4``).

    ``blocks``: the four blocks of ``F`` channels in order, each ``(func, axis)`` with ``func``
    ``"sin"`` or ``"cos"`` and ``axis`` ``"x"`` (the column) or ``"y"`` (the row). ``offset``: the
    frequencies are ``w_k = temperature ** (-k / (F - offset))``, ``k = 0 .. F-1``.
    """

    blocks: tuple[tuple[str, str], ...]
    offset: int

    @property
    def channels(self) -> str:
        """The blocks as the course writes them: ``"[sin x | cos x | sin y | cos y]"``."""
        return "[" + " | ".join(f"{func} {axis}" for func, axis in self.blocks) + "]"

    @property
    def exponent(self) -> str:
        """The exponent's denominator: ``"F"`` or ``"F - 1"``."""
        return "F" if self.offset == 0 else f"F - {self.offset}"


_AXIS_TOGETHER = (("sin", "x"), ("cos", "x"), ("sin", "y"), ("cos", "y"))
SINCOS_LAYOUTS: dict[str, SincosLayout] = {
    "mae": SincosLayout(_AXIS_TOGETHER, 0),  # MAE util/pos_embed.py: x half first
    "big_vision": SincosLayout(_AXIS_TOGETHER, 1),  # big_vision, vit-pytorch posemb_sincos_2d
    "timm": SincosLayout((("sin", "y"), ("sin", "x"), ("cos", "y"), ("cos", "x")), 0),
}
"""The one description of the 2-D sin-cos conventions: the channel layout and frequencies of each
(see :func:`sincos_2d_pos_embed`). :func:`sincos_2d_pos_embed` builds its tables from it,
:func:`describe_sincos_channel` reads a channel from it, and the explorer and the exercise's
feedback quote it."""

SINCOS_CONVENTIONS: tuple[str, ...] = tuple(SINCOS_LAYOUTS)
"""The channel layouts :func:`sincos_2d_pos_embed` reproduces: ``("mae", "big_vision", "timm")``."""


def _frequencies(n: int, denominator: float, temperature: float) -> torch.Tensor:
    """``temperature ** (-k / denominator)`` for ``k = 0 .. n-1``, float64, shape ``(n,)``."""
    k = torch.arange(n, dtype=torch.float64)
    return temperature ** (-k / denominator)


def sincos_1d_pos_embed(num_positions: int, dim: int, temperature: float = 10000.0) -> torch.Tensor:
    """The Transformer's fixed sinusoidal code of a 1-D index: ``-> (num_positions, dim)`` float32.

    Position ``p`` (``p = 0 .. num_positions-1``) gets ``dim/2`` angles ``p * w_k`` with
    ``w_k = temperature ** (-k / (dim/2))``, ``k = 0 .. dim/2 - 1`` (Vaswani et al. 2017:
    wavelengths from ``2*pi`` up to ``2*pi*temperature``). Channel layout: **[sin | cos] halves**,
    i.e. channel ``k`` is ``sin(p w_k)`` and channel ``dim/2 + k`` is ``cos(p w_k)``, as in MAE's
    1-D helper. (The 2017 paper interleaves them, sin on even and cos on odd channels; that is a
    fixed permutation of the channels and changes nothing a linear layer can learn.)

    Raises ``ValueError`` if ``dim`` is not a positive even number.
    """
    check_multiple(dim, "dim", 2, "one sin and one cos per frequency")
    check_int(num_positions, "num_positions")
    temperature = check_number(temperature, "temperature", above=0.0)
    omega = _frequencies(dim // 2, dim / 2, temperature)  # (dim/2,)
    angles = torch.arange(num_positions, dtype=torch.float64)[:, None] * omega  # (P, dim/2)
    return torch.cat([angles.sin(), angles.cos()], dim=1).float()  # (P, dim)


def sincos_2d_pos_embed(
    grid_size: int | Sequence[int],
    dim: int,
    *,
    temperature: float = 10000.0,
    convention: str = "mae",
) -> torch.Tensor:
    """Fixed 2-D sin-cos position codes for a grid of patches: ``-> (rows*cols, dim)`` float32.

    ``grid_size`` is an int (square grid) or ``(rows, cols)``. Tokens are in row-major order: row
    ``r = token // cols`` (the y index), column ``c = token % cols`` (the x index). A quarter of the
    channels hold ``sin(c * w_k)``, a quarter ``cos(c * w_k)``, a quarter ``sin(r * w_k)`` and a
    quarter ``cos(r * w_k)``, for ``k = 0 .. dim/4 - 1``. The three published implementations agree
    on that and differ in two details, which ``convention`` selects (``F = dim/4``; the table is
    :data:`SINCOS_LAYOUTS`, which the code below reads):

    ==================  ===================================  ===================================
    convention          channel layout (blocks of F)         frequencies ``w_k``
    ==================  ===================================  ===================================
    ``"mae"``           ``[sin x | cos x | sin y | cos y]``  ``temperature ** (-k / F)``
    ``"big_vision"``    ``[sin x | cos x | sin y | cos y]``  ``temperature ** (-k / (F - 1))``
    ``"timm"``          ``[sin y | sin x | cos y | cos x]``  ``temperature ** (-k / F)``
    ==================  ===================================  ===================================

    - ``"mae"`` equals MAE's ``get_2d_sincos_pos_embed`` (facebookresearch/mae,
      ``util/pos_embed.py``) without its class-token row. Beware its naming: the half it calls
      ``emb_h`` is computed from ``np.meshgrid(grid_w, grid_h)[0]``, which is the *column* (x)
      index, so x comes first. MAE only takes a square ``int`` grid; for ``(rows, cols)`` we use the
      natural extension (the same formula with the column index in the first half and the row index
      in the second), which is what its ``get_2d_sincos_pos_embed_from_grid`` gives for a non-square
      grid built the same way, and what Hugging Face ``ViTMAE`` stores (its builder writes
      ``[sin y | cos y | sin x | cos x]`` and then swaps the two halves to match MAE's checkpoints).
    - ``"big_vision"`` equals big_vision's ``posemb_sincos_2d`` and vit-pytorch's
      ``simple_vit.posemb_sincos_2d``: MAE's layout, but the exponent is ``k / (F - 1)``, so the
      lowest frequency is exactly ``1 / temperature`` (MAE's stops one step short of it). It needs
      ``dim >= 8`` (with ``F = 1`` the reference divides by zero).
    - ``"timm"`` equals timm's ``build_sincos2d_pos_embed`` with its defaults
      (``reverse_coord=False``, ``interleave_sin_cos=False``, ``temperature=10000``): its grid is
      stacked (rows, cols), so y comes first, and all sines come before all cosines.

    The three are the same set of functions up to a permutation of channels (mae <-> timm) or a
    change of frequencies (mae <-> big_vision). Values are computed in float64 and returned as
    float32.

    Raises ``ValueError`` if ``dim`` is not a positive multiple of 4 (naming the nearest valid
    values) or ``convention`` is unknown (listing the known ones).
    """
    rows, cols = as_pair(grid_size, "grid_size")
    f, layout = _sincos_quarter(dim, convention)
    temperature = check_number(temperature, "temperature", above=0.0)
    omega = _frequencies(f, f - layout.offset, temperature)  # (F,)
    y, x = torch.meshgrid(
        torch.arange(rows, dtype=torch.float64),
        torch.arange(cols, dtype=torch.float64),
        indexing="ij",
    )  # (rows, cols) each: y = row index, x = column index
    angles = {
        "y": y.reshape(-1, 1) * omega,  # (N, F) angles from the row (y)
        "x": x.reshape(-1, 1) * omega,  # (N, F) angles from the column (x)
    }
    blocks = [getattr(angles[axis], func)() for func, axis in layout.blocks]  # 4 x (N, F)
    return torch.cat(blocks, dim=1).float()  # (N, dim)


def _sincos_quarter(dim: int, convention: str) -> tuple[int, SincosLayout]:
    """``F = dim/4`` and the layout of ``convention``, or the error that says why not."""
    check_multiple(dim, "dim", 4, "sin and cos for each of the two axes")
    check_choice(convention, "convention", SINCOS_CONVENTIONS)
    layout = SINCOS_LAYOUTS[convention]
    f = dim // 4
    if f <= layout.offset:
        raise ValueError(
            f"convention {convention!r} needs dim >= {4 * (layout.offset + 1)} (its exponent "
            f"k / (dim/4 - {layout.offset}) divides by zero for dim={dim}), got dim={dim}"
        )
    return f, layout


def describe_sincos_channel(
    channel: int, dim: int, convention: str = "mae", temperature: float = 10000.0
) -> dict[str, Any]:
    """What channel ``channel`` of :func:`sincos_2d_pos_embed` holds, in ``convention``.

    ``(channel, dim) -> {"func": "sin" | "cos", "axis": "x" | "y", "k": k, "omega": w_k}``, read
    from :data:`SINCOS_LAYOUTS`: the channel's value at the patch in column x, row y is
    ``func(axis * w_k)``. ``dim`` is checked as :func:`sincos_2d_pos_embed` checks it, and
    ``channel`` must be in ``0 .. dim-1``.

    >>> describe_sincos_channel(0, 16, "timm")["axis"]
    'y'
    """
    f, layout = _sincos_quarter(dim, convention)
    check_int(channel, "channel", minimum=0, maximum=dim - 1)
    temperature = check_number(temperature, "temperature", above=0.0)
    block, k = divmod(channel, f)
    func, axis = layout.blocks[block]
    return {
        "func": func,
        "axis": axis,
        "k": k,
        "omega": float(temperature ** (-k / (f - layout.offset))),
    }


def _trunc_normal(shape: Sequence[int], std: float = 0.02) -> torch.Tensor:
    """timm's ``trunc_normal_(std=.02)``: normal, cut at +-2 (absolute, i.e. at 100 std)."""
    t = torch.empty(*shape)
    nn.init.trunc_normal_(t, std=std, a=-2.0, b=2.0)
    return t


def _check_tokens(x: torch.Tensor, name: str, n: int, dim: int, what: str) -> None:
    if x.shape[-2] != n or x.shape[-1] != dim:
        raise ValueError(
            f"{name} must be (..., N, D) with N={n} ({what}) and D={dim}, got shape "
            f"{shape_str(x.shape)}"
        )


class LearnedPosEmbed(nn.Module):
    """One learned vector per token, added to it (the original ViT): ``(B, N, D) -> (B, N, D)``.

    ``weight`` has shape ``(num_tokens, dim)`` and starts like timm's (truncated normal, std 0.02).
    It knows nothing about the grid: whether it ends up 2-D is up to training.
    """

    def __init__(self, num_tokens: int, dim: int) -> None:
        super().__init__()
        check_int(num_tokens, "num_tokens")
        check_int(dim, "dim")
        self.num_tokens, self.dim = num_tokens, dim
        self.weight = nn.Parameter(_trunc_normal((num_tokens, dim)))

    def table(self) -> torch.Tensor:
        """The codes, ``(num_tokens, dim)``."""
        return self.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x + weight``: ``(..., num_tokens, dim) -> (..., num_tokens, dim)``."""
        check_tensor(x, "x", (2, 3, 4), "(B, N, D)")
        _check_tokens(x, "x", self.num_tokens, self.dim, "num_tokens")
        return x + self.weight

    def extra_repr(self) -> str:
        return f"num_tokens={self.num_tokens}, dim={self.dim}"


class FactorizedPosEmbed(nn.Module):
    """A learned code per row plus a learned code per column: ``(B, P+rows*cols, D) -> same``.

    ``row_embed`` is ``(rows, dim)`` (the y direction), ``col_embed`` is ``(cols, dim)`` (x). The
    code of the patch at (r, c) is ``row_embed[r] + col_embed[c]``: ``rows + cols`` vectors instead
    of ``rows * cols``, and the grid structure is built in. Prefix tokens (class token...) are left
    as they are.
    """

    def __init__(self, grid_size: int | Sequence[int], dim: int) -> None:
        super().__init__()
        self.grid_size = as_pair(grid_size, "grid_size")
        check_int(dim, "dim")
        self.dim = dim
        rows, cols = self.grid_size
        self.row_embed = nn.Parameter(_trunc_normal((rows, dim)))
        self.col_embed = nn.Parameter(_trunc_normal((cols, dim)))

    def table(self) -> torch.Tensor:
        """The codes of the patches in row-major order, ``(rows*cols, dim)``."""
        return (self.row_embed[:, None, :] + self.col_embed[None, :, :]).reshape(-1, self.dim)

    def forward(self, x: torch.Tensor, num_prefix_tokens: int = 0) -> torch.Tensor:
        """Add the codes to the last ``rows*cols`` tokens of ``x`` ``(..., P + rows*cols, D)``."""
        check_tensor(x, "x", (2, 3, 4), "(B, N, D)")
        num_prefix_tokens = check_int(num_prefix_tokens, "num_prefix_tokens", minimum=0)
        rows, cols = self.grid_size
        _check_tokens(
            x,
            "x",
            num_prefix_tokens + rows * cols,
            self.dim,
            f"{num_prefix_tokens} prefix + {rows}x{cols} patches",
        )
        table = self.table()
        if num_prefix_tokens:
            table = torch.cat([table.new_zeros(num_prefix_tokens, self.dim), table], dim=0)
        return x + table

    def extra_repr(self) -> str:
        return f"grid_size={self.grid_size}, dim={self.dim}"


NORMALIZE_COORDS = ("separate", "max", "min")
"""The ``normalize_coords`` modes of :class:`RotaryEmbedding2D` (DINOv3's names)."""


class RotaryEmbedding2D(nn.Module):
    """Axial 2-D rotary position embedding (RoPE) for queries and keys: ``(..., N, hd) -> same``.

    The ``head_dim`` channels are taken as ``head_dim/2`` adjacent pairs ``(2i, 2i+1)`` (RoFormer's
    and RoPE-ViT's layout), and each pair is rotated as a 2-D vector by an angle. With
    ``F = head_dim/4`` and ``w_k = temperature ** (-k / F)``, ``k = 0 .. F-1``:

    - pairs ``0 .. F-1`` (channels ``0 .. head_dim/2 - 1``) rotate by ``x * w_k`` -- the column (x);
    - pairs ``F .. 2F-1`` (channels ``head_dim/2 .. head_dim-1``) rotate by ``y * w_k`` -- the row
      (y).

    A rotation by ``a`` of the query and by ``b`` of the key changes their dot product exactly as a
    rotation of the key by ``b - a`` would, so after :meth:`forward` the score ``q . k`` between two
    patches depends on their positions only through the offset between their coordinates
    ``(y, x)``. The first ``num_prefix_tokens`` tokens (a class token...) are not rotated. Nothing
    is learned.

    **Coordinates.** What ``(y, x)`` is decides what a model meets on a grid it was not trained on:

    - ``normalize_coords=None`` (default): the patch indices, ``y = row``, ``x = col``, and the
      angle is ``y * w_k``. This is the axial RoPE of RoPE-ViT (Heo et al. 2024,
      ``compute_axial_cis``) and SAM 2: the same pairs, the same order (x pairs first) and the
      same frequencies ``theta ** (-4k / head_dim)``, with ``theta = temperature`` (RoPE-ViT
      defaults to 100, SAM 2 to 10000). On a grid twice as large, neighbours are still one step
      apart and the offsets reach twice as far as in training: the range *extends*.
    - ``normalize_coords="separate"``, ``"max"`` or ``"min"``: DINOv3's patch-centre coordinates
      in a box around 0, and the angle is ``2 * pi * y * w_k`` (DINOv3's ``periods`` are
      ``1 / w_k``: ``base ** (4k / head_dim)`` with ``base = temperature``; DINOv3 uses 100).
      Patch ``i`` of ``n`` sits at ``2 * (i + 0.5) / n - 1``, so with ``"separate"`` each axis
      spans ``(-1, 1)`` whatever its length; ``"max"`` (``"min"``) divides both axes by the longer
      (shorter) side instead, keeping the aspect ratio. On a grid twice as large the offsets stay
      within the same box and neighbours come twice as close: the sampling *refines*.

    **Training-time augmentation of the coordinates** (DINOv3's ``RopePositionEmbedding`` options,
    same names, same order, same distributions; all off by default). In training mode
    (``module.train()``) every call of :meth:`coordinates` (hence :meth:`angles` and
    :meth:`forward` without ``angles=``) draws new values; in eval mode they do nothing:

    - ``shift_coords=s``: add one uniform value in ``[-s, s]`` per axis;
    - ``jitter_coords=j``: multiply each axis by its own log-uniform factor in ``[1/j, j]``;
    - ``rescale_coords=r``: multiply both axes by one log-uniform factor in ``[1/r, r]``
      (DINOv3's released training configs set ``pos_embed_rope_rescale_coords: 2``).

    They act on whichever coordinates are used (patch units or the box). The draws come from the
    module's own ``torch.Generator``, seeded with ``seed``: the same seed gives the same sequence
    of draws, and the global random state is never touched (:meth:`manual_seed` restarts it).

    Args:
        head_dim: channels per head, a positive multiple of 4.
        temperature: ``theta`` (RoPE-ViT, SAM 2) or ``base`` (DINOv3).
        normalize_coords: ``None`` (patch indices) or one of :data:`NORMALIZE_COORDS`.
        shift_coords, jitter_coords, rescale_coords: ``None`` (off) or the amount, see above;
            ``jitter_coords`` and ``rescale_coords`` must be at least 1, ``shift_coords`` at least
            0.
        seed: seeds the generator of the augmentations.
    """

    def __init__(
        self,
        head_dim: int,
        temperature: float = 10000.0,
        *,
        normalize_coords: str | None = None,
        shift_coords: float | None = None,
        jitter_coords: float | None = None,
        rescale_coords: float | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        check_multiple(head_dim, "head_dim", 4, "a rotated pair for each of the two axes")
        if normalize_coords is not None:
            check_choice(normalize_coords, "normalize_coords", NORMALIZE_COORDS)
        self.head_dim = head_dim
        self.temperature = check_number(temperature, "temperature", above=0.0)
        self.normalize_coords = normalize_coords
        self.shift_coords = (
            None
            if shift_coords is None
            else check_number(shift_coords, "shift_coords", minimum=0.0)
        )
        self.jitter_coords = (
            None
            if jitter_coords is None
            else check_number(jitter_coords, "jitter_coords", minimum=1.0)
        )
        self.rescale_coords = (
            None
            if rescale_coords is None
            else check_number(rescale_coords, "rescale_coords", minimum=1.0)
        )
        self.seed = check_int(seed, "seed", minimum=0)
        self.generator = torch.Generator().manual_seed(self.seed)
        f = head_dim // 4
        self.register_buffer(
            "omega", _frequencies(f, f, self.temperature).float(), persistent=False
        )

    def manual_seed(self, seed: int | None = None) -> None:
        """Restart the augmentations' random stream (from ``seed``, default: the constructor's)."""
        self.seed = self.seed if seed is None else check_int(seed, "seed", minimum=0)
        self.generator.manual_seed(self.seed)

    @property
    def augments(self) -> bool:
        """Whether any coordinate augmentation is set (it acts in training mode only)."""
        return any(
            v is not None for v in (self.shift_coords, self.jitter_coords, self.rescale_coords)
        )

    def _uniform(self, n: int, low: float, high: float) -> torch.Tensor:
        u = torch.rand(n, generator=self.generator, dtype=torch.float64)  # (n,) in [0, 1)
        return low + (high - low) * u

    def coordinates(self, grid_size: int | Sequence[int]) -> torch.Tensor:
        """The ``(y, x)`` coordinate of every patch, row-major: ``-> (rows*cols, 2)`` float64.

        Patch indices, or DINOv3's normalised box (``normalize_coords``); in training mode with an
        augmentation set, shifted / jittered / rescaled by fresh draws (one draw per call).
        """
        rows, cols = as_pair(grid_size, "grid_size")
        dd = {"dtype": torch.float64, "device": self.omega.device}
        if self.normalize_coords is None:
            ys, xs = torch.arange(rows, **dd), torch.arange(cols, **dd)  # (rows,), (cols,)
        else:
            div_y, div_x = {
                "separate": (rows, cols),
                "max": (max(rows, cols),) * 2,
                "min": (min(rows, cols),) * 2,
            }[self.normalize_coords]
            # patch centres (i + 0.5) / div in [0, 1], then moved to the box around 0
            ys = 2.0 * (torch.arange(rows, **dd) + 0.5) / div_y - 1.0
            xs = 2.0 * (torch.arange(cols, **dd) + 0.5) / div_x - 1.0
        y, x = torch.meshgrid(ys, xs, indexing="ij")  # (rows, cols) each
        coords = torch.stack([y.reshape(-1), x.reshape(-1)], dim=1)  # (N, 2): (y, x)
        if self.training and self.augments:
            if self.shift_coords is not None:  # one shift per axis
                coords = coords + self._uniform(2, -self.shift_coords, self.shift_coords).to(coords)
            if self.jitter_coords is not None:  # one log-uniform factor per axis
                log_j = math.log(self.jitter_coords)
                coords = coords * self._uniform(2, -log_j, log_j).exp().to(coords)
            if self.rescale_coords is not None:  # one log-uniform factor for both axes
                log_r = math.log(self.rescale_coords)
                coords = coords * self._uniform(1, -log_r, log_r).exp().to(coords)
        return coords

    def angles(self, grid_size: int | Sequence[int]) -> torch.Tensor:
        """The rotation angle of every pair at every patch: ``(rows*cols, head_dim/2)`` float32.

        Columns ``0 .. F-1`` from x, ``F .. 2F-1`` from y. Random in training mode when an
        augmentation is set (see :meth:`coordinates`).
        """
        coords = self.coordinates(grid_size)  # (N, 2) float64
        omega = self.omega.double()
        if self.normalize_coords is not None:
            omega = 2 * math.pi * omega  # DINOv3: angle = 2 pi * coordinate / period
        ax = coords[:, 1:2] * omega  # (N, F) column angles
        ay = coords[:, 0:1] * omega  # (N, F) row angles
        return torch.cat([ax, ay], dim=1).float()  # (N, head_dim/2)

    def forward(
        self,
        x: torch.Tensor,
        grid_size: int | Sequence[int],
        num_prefix_tokens: int = 0,
        *,
        angles: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Rotate ``x`` of shape ``(..., num_prefix_tokens + rows*cols, head_dim)``; same shape out.

        ``angles`` ``(rows*cols, head_dim/2)``: use these (from :meth:`angles`) instead of computing
        them, e.g. to give every block of a model the same draw of the augmentations.
        """
        check_tensor(x, "x", (2, 3, 4, 5), "(..., N, head_dim)")
        rows, cols = as_pair(grid_size, "grid_size")
        num_prefix_tokens = check_int(num_prefix_tokens, "num_prefix_tokens", minimum=0)
        _check_tokens(
            x,
            "x",
            num_prefix_tokens + rows * cols,
            self.head_dim,
            f"{num_prefix_tokens} prefix + {rows}x{cols} patches",
        )
        if angles is None:
            theta = self.angles((rows, cols))
        else:
            theta = check_tensor(angles, "angles", (2,), "(rows*cols, head_dim/2)")
            if tuple(theta.shape) != (rows * cols, self.head_dim // 2):
                raise ValueError(
                    f"angles must have shape ({rows * cols}, {self.head_dim // 2}) for a "
                    f"{rows}x{cols} grid and head_dim={self.head_dim}, got {shape_str(theta.shape)}"
                )
        theta = theta.to(x.device)  # (N, hd/2)
        cos, sin = theta.cos().to(x.dtype), theta.sin().to(x.dtype)
        prefix, patches = x[..., :num_prefix_tokens, :], x[..., num_prefix_tokens:, :]
        pairs = patches.reshape(*patches.shape[:-1], self.head_dim // 2, 2)
        a, b = pairs[..., 0], pairs[..., 1]  # (..., N, hd/2) each
        rotated = torch.stack([a * cos - b * sin, a * sin + b * cos], dim=-1)
        rotated = rotated.reshape(patches.shape)
        return torch.cat([prefix, rotated], dim=-2) if num_prefix_tokens else rotated

    def extra_repr(self) -> str:
        text = f"head_dim={self.head_dim}, temperature={self.temperature:g}"
        for name in ("normalize_coords", "shift_coords", "jitter_coords", "rescale_coords"):
            value = getattr(self, name)
            if value is not None:
                text += f", {name}={value!r}"
        return text


class RelativePositionBias(nn.Module):
    """A learned attention bias per head for every (dy, dx) offset, as in Swin: ``() -> (h, N, N)``.

    The table ``bias_table`` has ``(2*rows - 1) * (2*cols - 1)`` rows (one per possible offset)
    and ``num_heads`` columns, initialised like Swin's (truncated normal, std 0.02). ``index[i, j]``
    says which row of the table holds the bias of query patch ``i`` attending to key patch ``j``: it
    is ``(dy + rows - 1) * (2*cols - 1) + (dx + cols - 1)`` with ``(dy, dx) = pos_i - pos_j``
    (Swin's sign). :meth:`forward` returns the ``(num_heads, N, N)`` bias to add to the attention
    logits, with zeros for ``num_prefix_tokens`` leading tokens.
    """

    index: torch.Tensor

    def __init__(self, grid_size: int | Sequence[int], num_heads: int) -> None:
        super().__init__()
        self.grid_size = as_pair(grid_size, "grid_size")
        check_int(num_heads, "num_heads")
        self.num_heads = num_heads
        rows, cols = self.grid_size
        self.bias_table = nn.Parameter(_trunc_normal(((2 * rows - 1) * (2 * cols - 1), num_heads)))
        y, x = torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing="ij")
        y, x = y.reshape(-1), x.reshape(-1)  # (N,) each
        dy = y[:, None] - y[None, :] + rows - 1  # (N, N) in 0 .. 2*rows-2
        dx = x[:, None] - x[None, :] + cols - 1  # (N, N) in 0 .. 2*cols-2
        self.register_buffer("index", dy * (2 * cols - 1) + dx, persistent=False)

    def forward(self, num_prefix_tokens: int = 0) -> torch.Tensor:
        """The bias ``(num_heads, P + N, P + N)`` for ``P = num_prefix_tokens`` leading tokens."""
        num_prefix_tokens = check_int(num_prefix_tokens, "num_prefix_tokens", minimum=0)
        n = self.index.shape[0]
        bias = (
            self.bias_table[self.index.reshape(-1)].reshape(n, n, self.num_heads).permute(2, 0, 1)
        )
        if num_prefix_tokens:
            bias = nn.functional.pad(bias, (num_prefix_tokens, 0, num_prefix_tokens, 0))
        return bias

    def extra_repr(self) -> str:
        return f"grid_size={self.grid_size}, num_heads={self.num_heads}"


def position_similarity(
    table: torch.Tensor | np.ndarray,
    grid_size: int | Sequence[int] | None = None,
    num_prefix_tokens: int = 0,
) -> torch.Tensor:
    """Cosine similarity of every patch's code with every other:
    ``(N, D) -> (rows, cols, rows, cols)``.

    ``table`` is ``(P + rows*cols, D)`` (or ``(1, P + rows*cols, D)`` as stored in a ViT), with the
    ``P = num_prefix_tokens`` prefix rows first; they are set aside. ``grid_size`` is
    ``(rows, cols)``; without it the grid must be square (``rows*cols`` a square number), and
    anything else is an error rather than a guess. ``out[r, c]`` is the
    ``(rows, cols)`` map of how similar the code of patch ``(r, c)`` is to every patch's code (the
    ViT paper's Figure 7, centre); ``out[r, c, r, c] == 1`` unless that code is all zeros.
    """
    if isinstance(table, np.ndarray):
        table = torch.from_numpy(table)
    check_tensor(table, "table", (2, 3), "(N, D) or (1, N, D)")
    if table.dim() == 3:
        if table.shape[0] != 1:
            raise ValueError(
                f"table must be (N, D) or (1, N, D), got shape {shape_str(table.shape)}"
            )
        table = table[0]
    rows, cols = token_grid(
        table.shape[0], num_prefix_tokens, grid_size, what=f"the table {shape_str(table.shape)}"
    )
    codes = table[num_prefix_tokens:].detach().double()  # (rows*cols, D)
    unit = codes / codes.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return (unit @ unit.T).float().reshape(rows, cols, rows, cols)


def _average_ranks(x: torch.Tensor) -> torch.Tensor:
    """Ranks ``1 .. n`` of the values of ``x`` ``(n,)``; tied values share the mean of their
    ranks."""
    order = torch.argsort(x, stable=True)
    sorted_x = x[order]
    # a run of equal values starts where the sorted value changes
    starts = torch.ones_like(sorted_x, dtype=torch.bool)
    starts[1:] = sorted_x[1:] != sorted_x[:-1]
    run = torch.cumsum(starts, 0) - 1  # (n,) which run each sorted value belongs to
    counts = torch.bincount(run).double()  # (runs,) length of each run
    first = torch.cumsum(counts, 0) - counts + 1  # (runs,) rank of the first value of each run
    ranks = torch.empty_like(x, dtype=torch.float64)
    ranks[order] = (first + (counts - 1) / 2)[run]  # a run of ranks a..b shares (a + b) / 2
    return ranks


def _spearman(a: torch.Tensor, b: torch.Tensor) -> float:
    """Spearman's rank correlation of two ``(n,)`` samples: Pearson's correlation of their ranks."""
    ra, rb = _average_ranks(a.double()), _average_ranks(b.double())
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = (ra.norm() * rb.norm()).item()
    if denom == 0.0:  # one sample is constant: no ordering to compare
        return float("nan")
    return float((ra @ rb).item() / denom)


def grid_structure(
    table: torch.Tensor | np.ndarray,
    grid_size: int | Sequence[int],
    num_prefix_tokens: int = 0,
) -> dict[str, object]:
    """Has a table of position codes learned the 2-D grid? Two measurements, ``(N, D) -> dict``.

    ``table`` is ``(P + rows*cols, D)`` or ``(1, P + rows*cols, D)``, laid out as for
    :func:`position_similarity` (which computes the cosine similarities used here). The grid
    distance between the patches at ``(r1, c1)`` and ``(r2, c2)`` is the Euclidean one,
    ``sqrt((r1 - r2)**2 + (c1 - c2)**2)``, in patches.

    1. ``spearman``: over all pairs of distinct patches, Spearman's rank correlation between the
       cosine similarity of their codes and their grid distance (Pearson's correlation of the
       ranks, ties sharing their average rank). ``-1``: the closer two patches, the more alike
       their codes, without exception; ``0``: no relation, as for a random table. ``nan`` when
       either is constant (a 1-patch or 1 x 2 grid has a single distance).
    2. The neighbour check: for every patch, the *least* similar of its direct neighbours (up,
       down, left, right; 2 to 4 of them) is more similar to it than the median of its
       similarities to all the other patches. ``neighbours_above_median`` ``(rows, cols)`` bool
       holds the verdict per patch, ``neighbour_fraction`` the fraction of patches that pass and
       ``all_neighbours_above_median`` whether all do.

    Returns ``{"spearman": float, "neighbours_above_median": (rows, cols) bool tensor,
    "neighbour_fraction": float, "all_neighbours_above_median": bool,
    "neighbour_min": (rows, cols), "median": (rows, cols)}``, the last two the similarities
    compared in check 2. A 2-D sin-cos table gives a strongly negative ``spearman`` and passes
    check 2; a random one gives ``spearman`` near 0 and fails it. Needs at least 2 patches.
    """
    sim = position_similarity(
        table, grid_size, num_prefix_tokens
    ).double()  # (rows, cols, rows, cols)
    rows, cols = sim.shape[:2]
    n = rows * cols
    if n < 2:
        raise ValueError(f"grid_size must hold at least 2 patches to compare, got {rows}x{cols}")
    sim = sim.reshape(n, n)  # (N, N) in row-major order
    y, x = torch.meshgrid(
        torch.arange(rows, dtype=torch.float64),
        torch.arange(cols, dtype=torch.float64),
        indexing="ij",
    )
    pos = torch.stack([y.reshape(-1), x.reshape(-1)], dim=1)  # (N, 2): (row, col) of each patch
    dist = torch.cdist(pos, pos)  # (N, N) Euclidean grid distance
    i, j = torch.triu_indices(n, n, offset=1)  # each unordered pair of distinct patches once
    rho = _spearman(sim[i, j], dist[i, j])

    others = ~torch.eye(n, dtype=torch.bool)
    # torch.median returns the lower of the two middle values; the mean of the two is the median
    median = sim[others].reshape(n, n - 1).quantile(0.5, dim=1)  # (N,)
    neighbour = (dist - 1.0).abs() < 1e-9  # (N, N): the 4-neighbourhood
    neighbour_min = torch.where(neighbour, sim, torch.full_like(sim, torch.inf)).amin(dim=1)  # (N,)
    passed = neighbour_min > median
    return {
        "spearman": rho,
        "neighbours_above_median": passed.reshape(rows, cols),
        "neighbour_fraction": float(passed.double().mean()),
        "all_neighbours_above_median": bool(passed.all()),
        "neighbour_min": neighbour_min.float().reshape(rows, cols),
        "median": median.float().reshape(rows, cols),
    }
