"""The patch embedding: from an image to a sequence of D-dimensional tokens.

A ViT cuts the image into P x P patches, flattens each one into a vector of ``P*P*C`` numbers and
multiplies it by one shared matrix of shape ``(D, P*P*C)``. A ``Conv2d`` whose kernel and stride
are both P computes exactly that map, one output position per patch, which is how ViT code
(timm, big_vision) writes it. This module gives:

- :class:`PatchEmbed`: the convolution form, ``(B, C, H, W) -> (B, N, D)``, tokens in raster order
  (row by row, left to right), parameter names as in timm (``proj.weight``, ``proj.bias``);
- :func:`conv_to_linear_weight` / :func:`linear_to_conv_weight`: move the weights between the two
  forms. The only subtlety is the order of the numbers inside a patch: the convolution stores its
  weight as ``(D, C, P, P)`` (channel first), while :func:`vitlearn.patchify` lays a patch out as
  ``(row in patch, col in patch, channel)``, i.e. channel last;
- :class:`ViTEmbedding`: the whole embedding layer of a ViT (patch embedding, class token, optional
  register tokens, position table, dropout) with the parameter names of timm's
  ``VisionTransformer``, so its state dict entries load in either direction.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._checks import (
    as_pair,
    check_choice,
    check_int,
    check_multiple,
    check_number,
    check_tensor,
    patch_grid,
    shape_str,
)
from .posenc import FactorizedPosEmbed, sincos_2d_pos_embed

__all__ = [
    "POS_EMBED_KINDS",
    "PatchEmbed",
    "ViTEmbedding",
    "conv_to_linear_weight",
    "linear_to_conv_weight",
]


# --------------------------------------------------------------------------------------------
# Weight conversions between the Conv2d form and the Linear-on-patchify form
# --------------------------------------------------------------------------------------------


def conv_to_linear_weight(weight: torch.Tensor) -> torch.Tensor:
    """Reorder a patch convolution's weight for a ``nn.Linear`` applied after :func:`patchify`.

    ``(D, C, ph, pw) -> (D, ph*pw*C)``. Row ``d`` of the result lists filter ``d`` in the order
    ``patchify`` lists a patch's pixels: row in patch (slowest), col in patch, channel (fastest).
    A plain ``weight.reshape(D, -1)`` would list channel first and pair each weight with the
    wrong pixel.
    """
    weight = check_tensor(weight, "weight", (4,), "a 4-D conv weight (D, C, ph, pw)")
    d = weight.shape[0]
    # (D, C, ph, pw) -> (D, ph, pw, C): channel becomes the fastest index, as in patchify
    return weight.permute(0, 2, 3, 1).reshape(d, -1)


def linear_to_conv_weight(
    weight: torch.Tensor, patch_size: int | Sequence[int], in_chans: int
) -> torch.Tensor:
    """The inverse of :func:`conv_to_linear_weight`: ``(D, ph*pw*C) -> (D, C, ph, pw)``.

    ``patch_size`` is P or ``(ph, pw)`` = (rows, cols); ``in_chans`` is C.
    """
    ph, pw = as_pair(patch_size, "patch_size")
    check_int(in_chans, "in_chans")
    weight = check_tensor(weight, "weight", (2,), "a 2-D linear weight (D, ph*pw*C)")
    d, features = weight.shape
    if features != ph * pw * in_chans:
        raise ValueError(
            f"weight has {features} input features, but patch_size {(ph, pw)} and in_chans "
            f"{in_chans} need ph*pw*C = {ph}*{pw}*{in_chans} = {ph * pw * in_chans}; "
            f"got weight of shape {shape_str(weight.shape)}"
        )
    # (D, ph*pw*C) -> (D, ph, pw, C) -> (D, C, ph, pw)
    return weight.reshape(d, ph, pw, in_chans).permute(0, 3, 1, 2).contiguous()


# --------------------------------------------------------------------------------------------
# PatchEmbed
# --------------------------------------------------------------------------------------------


class PatchEmbed(nn.Module):
    """Cut images into patches and project each patch to D numbers.

    ``(B, C, H, W) -> (B, N, D)`` with ``N = (H / ph) * (W / pw)`` tokens in raster order: token
    ``n`` is the patch at grid row ``n // cols`` and grid column ``n % cols``.

    Args:
        patch_size: P, or ``(ph, pw)`` = (rows, cols) of pixels per patch.
        in_chans: C, the number of image channels.
        embed_dim: D, the width of each token.
        bias: whether the projection adds a learned bias.

    The projection is ``self.proj``, a ``nn.Conv2d(C, D, kernel_size=P, stride=P)``; in a timm
    ``VisionTransformer`` its weight is the entry ``patch_embed.proj.weight``.
    """

    def __init__(
        self,
        patch_size: int | Sequence[int] = 16,
        in_chans: int = 3,
        embed_dim: int = 768,
        bias: bool = True,
    ) -> None:
        super().__init__()
        pair = as_pair(patch_size, "patch_size")
        check_int(in_chans, "in_chans")
        check_int(embed_dim, "embed_dim")
        self._patch_size = pair
        self.in_chans = in_chans
        self.embed_dim = embed_dim
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=pair, stride=pair, bias=bias)

    @property
    def patch_size(self) -> tuple[int, int]:
        """``(ph, pw)``: pixel rows and columns per patch."""
        return self._patch_size

    @property
    def patch_dim(self) -> int:
        """``ph*pw*C``: the number of values in one flattened patch."""
        ph, pw = self._patch_size
        return ph * pw * self.in_chans

    def grid_shape(self, image_size: int | Sequence[int]) -> tuple[int, int]:
        """``(rows, cols)`` of the patch grid for an image of ``(H, W)`` (or ``H = W``) pixels.

        Same as :func:`vitlearn.grid_shape`; raises ``ValueError`` when H or W is not a multiple
        of the patch size.
        """
        return patch_grid(image_size, self._patch_size)

    def num_patches(self, image_size: int | Sequence[int]) -> int:
        """N, the number of tokens for an image of ``(H, W)`` pixels."""
        rows, cols = self.grid_shape(image_size)
        return rows * cols

    def _check_images(self, x: object) -> torch.Tensor:
        x = check_tensor(x, "images", (4,), "a 4-D batch (B, C, H, W)")
        if x.shape[1] != self.in_chans:
            raise ValueError(
                f"images must have in_chans = {self.in_chans} channels (B, C, H, W), got shape "
                f"{shape_str(x.shape)} with {x.shape[1]} channels"
            )
        patch_grid(
            tuple(x.shape[-2:]), self._patch_size
        )  # raises if H, W do not split into patches
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, N, D)``, N = rows * cols of the patch grid, raster order."""
        return self._project(self._check_images(x))

    def _project(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`forward` for images already checked by :meth:`_check_images`."""
        x = self.proj(x)  # (B, D, rows, cols): one output position per patch
        return x.flatten(2).transpose(1, 2)  # (B, rows*cols, D), row by row

    def to_linear(self) -> nn.Linear:
        """An ``nn.Linear(ph*pw*C, D)`` with the same weights, for use after :func:`patchify`.

        ``embed.to_linear()(patchify(x, P))`` equals ``embed(x)``.
        """
        w = self.proj.weight
        linear = nn.Linear(
            self.patch_dim,
            self.embed_dim,
            bias=self.proj.bias is not None,
            device=w.device,
            dtype=w.dtype,
        )
        with torch.no_grad():
            linear.weight.copy_(conv_to_linear_weight(w))
            if self.proj.bias is not None:
                linear.bias.copy_(self.proj.bias)
        return linear

    @classmethod
    def from_linear(
        cls, linear: nn.Linear, patch_size: int | Sequence[int], in_chans: int
    ) -> PatchEmbed:
        """A :class:`PatchEmbed` computing the same map as ``linear`` applied after ``patchify``.

        ``linear`` is an ``nn.Linear(ph*pw*C, D)`` whose inputs are ordered as ``patchify``
        orders a patch: (row in patch, col in patch, channel).
        """
        if not isinstance(linear, nn.Linear):
            raise TypeError(f"linear must be an nn.Linear, got {type(linear).__name__}")
        weight = linear_to_conv_weight(linear.weight.detach(), patch_size, in_chans)
        embed = cls(patch_size, in_chans, linear.out_features, bias=linear.bias is not None)
        embed = embed.to(device=weight.device, dtype=weight.dtype)
        with torch.no_grad():
            embed.proj.weight.copy_(weight)
            if linear.bias is not None:
                embed.proj.bias.copy_(linear.bias)
        return embed

    def extra_repr(self) -> str:
        return (
            f"patch_size={self._patch_size}, in_chans={self.in_chans}, embed_dim={self.embed_dim}"
        )


# --------------------------------------------------------------------------------------------
# The complete embedding layer of a ViT
# --------------------------------------------------------------------------------------------

POS_EMBED_KINDS: tuple[str, ...] = ("none", "learned", "sincos", "rope", "factorized")
"""The kinds of position code of :class:`ViTEmbedding` and :class:`vitlearn.TinyViT` (see the
``pos_embed`` argument): ``"rope"`` adds nothing here, positions enter attention instead."""


class ViTEmbedding(nn.Module):
    """Everything a ViT does before its first transformer block.

    ``(B, C, H, W) -> (B, prefix + N, D)`` where ``prefix = class_token + reg_tokens``:

    1. ``patch_embed`` (a :class:`PatchEmbed`) turns the image into N patch tokens;
    2. the learned class token ``cls_token`` (1, 1, D) and then the register tokens ``reg_token``
       (1, R, D) are put in front of them, the same vectors for every image;
    3. a position code is added (``pos_embed=``):

       - ``"learned"``: the table ``pos_embed``. With ``no_embed_class=False`` (the original ViT
         layout and timm's default) it has shape ``(1, prefix + N, D)`` and gives the prefix tokens
         a position too; with ``no_embed_class=True`` (DeiT III, newer big_vision) it has shape
         ``(1, N, D)`` and only the patch tokens get one. Made for one grid: for another one,
         resample it (:func:`vitlearn.resample_pos_embed`) and install it with
         :meth:`set_pos_embed`;
       - ``"sincos"``: the fixed 2-D sine-cosine code (:func:`vitlearn.sincos_2d_pos_embed`, MAE's
         layout), computed for whatever grid comes in, prefix tokens left without a code (MAE
         gives them a zero row); nothing is learned or stored;
       - ``"factorized"``: a learned code per row plus one per column
         (:class:`vitlearn.FactorizedPosEmbed`, parameters ``pos_embed_factorized.row_embed`` and
         ``.col_embed``; not a timm name); made for one grid, like ``"learned"``;
       - ``"rope"``: nothing here either: the positions enter attention as rotations of queries
         and keys (:class:`vitlearn.RotaryEmbedding2D`; :class:`vitlearn.TinyViT` applies them in
         every block);
       - ``"none"``: nothing; a model on top sees a *set* of patches;
    4. ``pos_drop`` (dropout) is applied.

    Parameter names and layout follow timm's ``VisionTransformer``, so the entries
    ``cls_token``, ``reg_token``, ``pos_embed``, ``patch_embed.proj.weight`` and
    ``patch_embed.proj.bias`` of its state dict load into this module and back.

    Args:
        img_size: H, or ``(H, W)``, the image size the layer is built for: the patch grid
            ``grid_size = (H // ph, W // pw)`` sizes the learned and factorized tables.
        patch_size: P or ``(ph, pw)``.
        in_chans: C.
        embed_dim: D.
        class_token: whether to prepend a class token.
        reg_tokens: R, the number of register tokens (after the class token).
        pos_embed: one of :data:`POS_EMBED_KINDS`, see above.
        no_embed_class: if True the learned table covers only the patch tokens (see above).
        pos_embed_std: the learned tables start as a normal of this standard deviation, truncated
            at +-2 like timm's ``trunc_normal_``; timm uses 0.02.
        pos_drop_rate: dropout probability after adding positions.
        bias: whether the patch projection has a bias.
    """

    def __init__(
        self,
        img_size: int | Sequence[int] = 224,
        patch_size: int | Sequence[int] = 16,
        in_chans: int = 3,
        embed_dim: int = 768,
        *,
        class_token: bool = True,
        reg_tokens: int = 0,
        pos_embed: str = "learned",
        no_embed_class: bool = False,
        pos_embed_std: float = 0.02,
        pos_drop_rate: float = 0.0,
        bias: bool = True,
    ) -> None:
        super().__init__()
        check_choice(pos_embed, "pos_embed", POS_EMBED_KINDS)
        self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim, bias=bias)
        self.grid_size: tuple[int, int] = patch_grid(img_size, self.patch_embed.patch_size)
        self.embed_dim = embed_dim
        self.num_reg_tokens = check_int(reg_tokens, "reg_tokens", minimum=0)
        self.num_prefix_tokens = int(bool(class_token)) + self.num_reg_tokens
        self.no_embed_class = no_embed_class
        self.pos_embed_kind = pos_embed
        self.pos_embed_std = check_number(pos_embed_std, "pos_embed_std", minimum=0.0)

        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim)) if class_token else None
        self.reg_token = (
            nn.Parameter(torch.zeros(1, self.num_reg_tokens, embed_dim))
            if self.num_reg_tokens
            else None
        )
        if pos_embed == "learned":
            self.pos_embed = nn.Parameter(
                torch.zeros(1, self._table_len(self.grid_size), embed_dim)
            )
        else:
            self.register_parameter("pos_embed", None)
        self.pos_embed_factorized = (
            FactorizedPosEmbed(self.grid_size, embed_dim) if pos_embed == "factorized" else None
        )
        if pos_embed == "sincos":
            check_multiple(
                embed_dim, "embed_dim", 4, "pos_embed='sincos': sin and cos of each axis"
            )
        self._sincos_cache: dict[tuple[int, int], torch.Tensor] = {}
        self.pos_drop = nn.Dropout(p=pos_drop_rate)
        self.reset_parameters()

    def _table_len(self, grid: tuple[int, int]) -> int:
        return grid[0] * grid[1] + (0 if self.no_embed_class else self.num_prefix_tokens)

    def reset_parameters(self) -> None:
        """Initialise as timm does: tiny class/register tokens (std 1e-6), learned tables a
        normal of std ``pos_embed_std`` truncated at +-2."""
        with torch.no_grad():
            if self.cls_token is not None:
                nn.init.normal_(self.cls_token, std=1e-6)
            if self.reg_token is not None:
                nn.init.normal_(self.reg_token, std=1e-6)
            if self.pos_embed is not None:
                nn.init.trunc_normal_(self.pos_embed, std=self.pos_embed_std, a=-2.0, b=2.0)
            if self.pos_embed_factorized is not None:
                for table in (
                    self.pos_embed_factorized.row_embed,
                    self.pos_embed_factorized.col_embed,
                ):
                    nn.init.trunc_normal_(table, std=self.pos_embed_std, a=-2.0, b=2.0)

    @property
    def patch_size(self) -> tuple[int, int]:
        """``(ph, pw)``."""
        return self.patch_embed.patch_size

    @property
    def img_size(self) -> tuple[int, int]:
        """``(H, W)`` of the images the layer's grid is made for: ``grid_size * patch_size``."""
        (rows, cols), (ph, pw) = self.grid_size, self.patch_size
        return rows * ph, cols * pw

    @property
    def num_patches(self) -> int:
        """N for ``img_size``: ``rows * cols``."""
        return self.grid_size[0] * self.grid_size[1]

    # -- changing the grid ----------------------------------------------------------------------

    def set_pos_embed(self, pos_embed: torch.Tensor, grid_size: int | Sequence[int]) -> None:
        """Replace the learned table by ``pos_embed`` for a ``grid_size = (rows, cols)`` grid.

        ``pos_embed`` is ``(1, prefix + rows*cols, D)`` (``(1, rows*cols, D)`` with
        ``no_embed_class``). Typical use, to run at 48 px a model trained at 32 px with P = 8
        (grid 4x4 -> 6x6)::

            new = vitlearn.resample_pos_embed(model.pos_embed, (6, 6), num_prefix_tokens=1)
            model.set_pos_embed(new, (6, 6))
        """
        if self.pos_embed is None:
            raise ValueError(
                f"this model has pos_embed={self.pos_embed_kind!r}: it has no learned table to set"
            )
        rows, cols = as_pair(grid_size, "grid_size")
        want = (1, self._table_len((rows, cols)), self.embed_dim)
        check_tensor(pos_embed, "pos_embed", (3,), shape_str(want))
        if tuple(pos_embed.shape) != want:
            prefix = 0 if self.no_embed_class else self.num_prefix_tokens
            raise ValueError(
                f"pos_embed for a {rows}x{cols} grid must have shape {shape_str(want)} "
                f"({prefix} prefix + {rows}*{cols} patches, width {self.embed_dim}), got "
                f"{shape_str(pos_embed.shape)}"
            )
        self.pos_embed = nn.Parameter(pos_embed.detach().clone().to(self.patch_embed.proj.weight))
        self.grid_size = (rows, cols)

    def set_patch_embed(self, weight: torch.Tensor, bias: torch.Tensor | None = None) -> None:
        """Use the kernel ``weight`` ``(D, C, ph', pw')`` (and ``bias`` ``(D,)``) as the patch
        embedding.

        The patch size becomes ``(ph', pw')``; the old bias is kept when ``bias`` is None. A learned
        or factorized table stays as it is: give it the new grid too (:meth:`set_pos_embed`).
        """
        check_tensor(weight, "weight", (4,), "(D, C, ph, pw)")
        d, c, ph, pw = weight.shape
        old = self.patch_embed.proj
        if d != self.embed_dim or c != old.in_channels:
            raise ValueError(
                f"weight must have shape (D={self.embed_dim}, C={old.in_channels}, ph, pw), "
                f"got {shape_str(weight.shape)}"
            )
        if bias is None and old.bias is not None:
            bias = old.bias
        embed = PatchEmbed((int(ph), int(pw)), int(c), int(d), bias=bias is not None)
        embed = embed.to(old.weight)
        with torch.no_grad():
            embed.proj.weight.copy_(weight)
            if bias is not None:
                embed.proj.bias.copy_(bias)
        self.patch_embed = embed

    # -- forward --------------------------------------------------------------------------------

    def _sincos(self, grid: tuple[int, int]) -> torch.Tensor:
        if grid not in self._sincos_cache:
            self._sincos_cache[grid] = sincos_2d_pos_embed(grid, self.embed_dim)  # (rows*cols, D)
        return self._sincos_cache[grid]

    def embed(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """The embedding and the grid it used:
        ``(B, C, H, W) -> ((B, prefix + N, D), (rows, cols))``."""
        return self._embed(self.patch_embed._check_images(x))

    def _embed(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """:meth:`embed` for images already checked by ``patch_embed._check_images``."""
        (ph, pw), (h, w) = self.patch_size, x.shape[-2:]
        grid = (h // ph, w // pw)
        tokens = self.patch_embed._project(x)  # (B, N, D), row by row
        kind = self.pos_embed_kind
        if kind in ("learned", "factorized") and grid != self.grid_size:
            (r, c), (h, w) = self.grid_size, self.img_size
            fix = (
                "resample the table with vitlearn.resample_pos_embed and install it with "
                f".set_pos_embed(new_table, {grid})"
                if kind == "learned"
                else f"build the model for that size (img_size={tuple(x.shape[-2:])})"
            )
            raise ValueError(
                f"the {kind} position table is made for a {r}x{c} grid of patches (images of "
                f"(H, W) = ({h}, {w})), but images of shape {shape_str(x.shape)} give a "
                f"{grid[0]}x{grid[1]} grid: {fix}"
            )
        if kind == "sincos":
            tokens = tokens + self._sincos(grid).to(tokens)
        elif kind == "factorized":
            tokens = tokens + self.pos_embed_factorized.table()
        elif kind == "learned" and self.no_embed_class:
            tokens = tokens + self.pos_embed
        b = tokens.shape[0]
        prefix = []
        if self.cls_token is not None:
            prefix.append(self.cls_token.expand(b, -1, -1))  # (B, 1, D)
        if self.reg_token is not None:
            prefix.append(self.reg_token.expand(b, -1, -1))  # (B, R, D)
        tokens = torch.cat([*prefix, tokens], dim=1) if prefix else tokens
        if kind == "learned" and not self.no_embed_class:
            tokens = tokens + self.pos_embed  # the prefix tokens get rows of the table too
        return self.pos_drop(tokens), grid  # (B, prefix + N, D)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, prefix + N, D)``: [class], [registers], patch tokens."""
        return self.embed(x)[0]

    def extra_repr(self) -> str:
        return (
            f"grid_size={self.grid_size}, num_prefix_tokens={self.num_prefix_tokens}, "
            f"pos_embed={self.pos_embed_kind!r}, no_embed_class={self.no_embed_class}"
        )
