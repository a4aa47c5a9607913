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

from ._checks import as_pair, check_choice, check_tensor, shape_str
from .patches import grid_shape
from .posenc import sincos_2d_pos_embed

__all__ = ["PatchEmbed", "ViTEmbedding", "conv_to_linear_weight", "linear_to_conv_weight"]


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
    if isinstance(in_chans, bool) or not isinstance(in_chans, int) or in_chans < 1:
        raise ValueError(f"in_chans must be a positive int, got {in_chans!r}")
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
        for name, value in (("in_chans", in_chans), ("embed_dim", embed_dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
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
        return grid_shape(image_size, self._patch_size)

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
        grid_shape(tuple(x.shape[-2:]), self._patch_size)  # raises if H, W do not split into patches
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, N, D)``, N = rows * cols of the patch grid, raster order."""
        x = self._check_images(x)
        x = self.proj(x)  # (B, D, rows, cols): one output position per patch
        return x.flatten(2).transpose(1, 2)  # (B, rows*cols, D), row by row

    def to_linear(self) -> nn.Linear:
        """An ``nn.Linear(ph*pw*C, D)`` with the same weights, for use after :func:`patchify`.

        ``embed.to_linear()(patchify(x, P))`` equals ``embed(x)``.
        """
        w = self.proj.weight
        linear = nn.Linear(
            self.patch_dim, self.embed_dim, bias=self.proj.bias is not None,
            device=w.device, dtype=w.dtype,
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
        return f"patch_size={self._patch_size}, in_chans={self.in_chans}, embed_dim={self.embed_dim}"


# --------------------------------------------------------------------------------------------
# The complete embedding layer of a ViT
# --------------------------------------------------------------------------------------------

_POS_EMBED_CHOICES = ("learned", "sincos", "none")


class ViTEmbedding(nn.Module):
    """Everything a ViT does before its first transformer block.

    ``(B, C, H, W) -> (B, prefix + N, D)`` where ``prefix = class_token + num_reg_tokens``:

    1. ``patch_embed`` (a :class:`PatchEmbed`) turns the image into N patch tokens;
    2. the learned class token ``cls_token`` (1, 1, D) and then the register tokens ``reg_token``
       (1, R, D) are put in front of them, the same vectors for every image;
    3. the position table ``pos_embed`` is added. With ``no_embed_class=False`` (the original ViT
       layout and timm's default) it has shape ``(1, prefix + N, D)`` and gives the prefix tokens
       a position too; with ``no_embed_class=True`` (DeiT III, newer big_vision) it has shape
       ``(1, N, D)`` and only the patch tokens get one;
    4. ``pos_drop`` (dropout) is applied.

    Parameter names and layout follow timm's ``VisionTransformer``, so the entries
    ``cls_token``, ``reg_token``, ``pos_embed``, ``patch_embed.proj.weight`` and
    ``patch_embed.proj.bias`` of its state dict load into this module and back.

    Args:
        img_size: H, or ``(H, W)``; the position table is made for this size, and other sizes
            are refused (resample the table with :func:`vitlearn.resample_pos_embed` first).
        patch_size: P or ``(ph, pw)``.
        in_chans: C.
        embed_dim: D.
        class_token: whether to prepend a class token.
        num_reg_tokens: R, the number of register tokens (after the class token).
        pos_embed: ``"learned"`` (a trainable table), ``"sincos"`` (a fixed 2-D sine-cosine table,
            stored as a frozen parameter under the same name, prefix rows zero) or ``"none"``.
        no_embed_class: if True the position table covers only the patch tokens (see above).
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
        num_reg_tokens: int = 0,
        pos_embed: str = "learned",
        no_embed_class: bool = False,
        pos_drop_rate: float = 0.0,
        bias: bool = True,
    ) -> None:
        super().__init__()
        check_choice(pos_embed, "pos_embed", _POS_EMBED_CHOICES)
        if isinstance(num_reg_tokens, bool) or not isinstance(num_reg_tokens, int) or num_reg_tokens < 0:
            raise ValueError(f"num_reg_tokens must be an int >= 0, got {num_reg_tokens!r}")
        self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim, bias=bias)
        self.img_size = as_pair(img_size, "img_size")
        self.grid_size = self.patch_embed.grid_shape(self.img_size)  # (rows, cols)
        self.num_patches = self.grid_size[0] * self.grid_size[1]
        self.embed_dim = embed_dim
        self.num_reg_tokens = num_reg_tokens
        self.num_prefix_tokens = int(class_token) + num_reg_tokens
        self.no_embed_class = no_embed_class
        self.pos_embed_type = pos_embed

        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim)) if class_token else None
        self.reg_token = (
            nn.Parameter(torch.zeros(1, num_reg_tokens, embed_dim)) if num_reg_tokens else None
        )
        table_len = self.num_patches + (0 if no_embed_class else self.num_prefix_tokens)
        if pos_embed == "none":
            self.pos_embed = None
        else:
            self.pos_embed = nn.Parameter(
                torch.zeros(1, table_len, embed_dim), requires_grad=(pos_embed == "learned")
            )
        self.pos_drop = nn.Dropout(p=pos_drop_rate)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise as timm does: tiny class/register tokens, position table N(0, 0.02²)
        truncated at ±2 (or the fixed sine-cosine table)."""
        with torch.no_grad():
            if self.cls_token is not None:
                nn.init.normal_(self.cls_token, std=1e-6)
            if self.reg_token is not None:
                nn.init.normal_(self.reg_token, std=1e-6)
            if self.pos_embed is not None:
                if self.pos_embed_type == "learned":
                    nn.init.trunc_normal_(self.pos_embed, std=0.02)
                else:
                    self.pos_embed.copy_(self._sincos_table())

    def _sincos_table(self) -> torch.Tensor:
        """``(1, table_len, D)``: zeros for the prefix rows (as MAE does), then the fixed 2-D
        sine-cosine codes of :func:`vitlearn.sincos_2d_pos_embed` (MAE layout) for the grid."""
        if self.embed_dim % 4:
            raise ValueError(
                f"pos_embed='sincos' needs embed_dim divisible by 4, got {self.embed_dim}"
            )
        table = sincos_2d_pos_embed(self.grid_size, self.embed_dim, convention="mae")  # (N, D)
        prefix = 0 if self.no_embed_class else self.num_prefix_tokens
        table = torch.cat([table.new_zeros(prefix, self.embed_dim), table], dim=0)
        return table.unsqueeze(0)  # (1, prefix + N, D)

    @property
    def patch_size(self) -> tuple[int, int]:
        """``(ph, pw)``."""
        return self.patch_embed.patch_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, prefix + N, D)``: [class], [registers], patch tokens."""
        x = self.patch_embed._check_images(x)
        if tuple(x.shape[-2:]) != self.img_size and self.pos_embed is not None:
            raise ValueError(
                f"this embedding's position table is for images of (H, W) = {self.img_size}, "
                f"got images of shape {shape_str(x.shape)}; resize the images, or resample the "
                "table with vitlearn.resample_pos_embed"
            )
        tokens = self.patch_embed(x)  # (B, N, D)
        b = tokens.shape[0]
        prefix = []
        if self.cls_token is not None:
            prefix.append(self.cls_token.expand(b, -1, -1))  # (B, 1, D)
        if self.reg_token is not None:
            prefix.append(self.reg_token.expand(b, -1, -1))  # (B, R, D)
        if self.pos_embed is None:
            tokens = torch.cat([*prefix, tokens], dim=1)
        elif self.no_embed_class:
            tokens = torch.cat([*prefix, tokens + self.pos_embed], dim=1)
        else:
            tokens = torch.cat([*prefix, tokens], dim=1) + self.pos_embed
        return self.pos_drop(tokens)  # (B, prefix + N, D)

    def extra_repr(self) -> str:
        return (
            f"img_size={self.img_size}, grid_size={self.grid_size}, "
            f"num_prefix_tokens={self.num_prefix_tokens}, pos_embed={self.pos_embed_type!r}, "
            f"no_embed_class={self.no_embed_class}"
        )
