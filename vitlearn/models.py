"""A tiny Vision Transformer assembled from vitlearn's parts.

:class:`TinyViT` is the ViT of Dosovitskiy et al. (2021) at toy size: the embedding layer
(:class:`vitlearn.ViTEmbedding`: patch embedding, a class token, a position code of your choice),
``depth`` pre-norm transformer blocks, a final norm and a linear head. Its parameter names follow
timm's ``VisionTransformer``, so ``model.state_dict()`` can be saved and read by anyone who knows
timm's layout (``patch_embed.proj.weight``, ``cls_token``, ``pos_embed``,
``blocks.0.attn.qkv.weight``, ..., ``head.weight``).

Position codes (``pos_embed=``):

- ``"none"``: nothing; the model sees a *set* of patches (permutation invariant).
- ``"learned"``: a table ``pos_embed`` ``(1, 1 + rows*cols, D)`` added to the tokens (class token
  included), as in ViT. Fixed to one grid; resample it for another
  (:func:`vitlearn.resample_pos_embed`, then :meth:`TinyViT.set_pos_embed`).
- ``"sincos"``: the fixed 2-D sine-cosine code (:func:`vitlearn.sincos_2d_pos_embed`), computed
  for whatever grid comes in; the class token gets none.
- ``"rope"``: 2-D rotary embedding of queries and keys inside attention
  (:class:`vitlearn.RotaryEmbedding2D`, configured by ``rope_kwargs``); works for any grid;
  nothing is added.
- ``"factorized"``: a learned code per row plus one per column
  (:class:`vitlearn.FactorizedPosEmbed`, parameters
  ``pos_embed_factorized.row_embed``/``col_embed``; not a timm name); fixed to one grid, like
  ``"learned"``.

The training recipe lives in :mod:`vitlearn.training`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ._checks import (
    check_both_or_neither,
    check_choice,
    check_int,
    check_multiple,
    check_number,
)
from .data import SCENE_MEAN, SCENE_STD
from .embedding import POS_EMBED_KINDS, ViTEmbedding
from .posenc import RotaryEmbedding2D

__all__ = [
    "POOL_KINDS",
    "Attention",
    "Block",
    "Mlp",
    "TinyViT",
    "save_timm_state_dict",
]

POOL_KINDS: tuple[str, ...] = ("token", "avg")
"""``global_pool`` as timm names it: read the class token, or average the patch tokens."""


def _check_heads(embed_dim: int, num_heads: int) -> None:
    """Both positive ints, ``embed_dim`` a multiple of ``num_heads``: every head gets
    ``embed_dim / num_heads`` channels."""
    check_int(num_heads, "num_heads")
    check_multiple(
        embed_dim,
        "embed_dim",
        num_heads,
        f"each of the num_heads={num_heads} heads gets an equal share",
    )


class Attention(nn.Module):
    """Multi-head self-attention, timm's layout: one ``qkv`` Linear, one output ``proj``.

    ``(B, T, D) -> (B, T, D)``. With ``rope`` given (a :class:`vitlearn.RotaryEmbedding2D`, or
    any callable ``rope(x, grid_size, num_prefix_tokens=...)`` that rotates ``x``), queries and keys
    are rotated by their 2-D patch position (the first ``num_prefix_tokens`` tokens, e.g. the class
    token, are not).
    """

    def __init__(self, dim: int, num_heads: int = 4, qkv_bias: bool = True) -> None:
        super().__init__()
        _check_heads(dim, num_heads)
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim**-0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def attention_weights(
        self,
        x: torch.Tensor,
        rope: Callable[..., torch.Tensor] | None = None,
        grid_size: tuple[int, int] | None = None,
        num_prefix_tokens: int = 1,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, T, D) -> (weights (B, heads, T, T), values (B, heads, T, head_dim))``.

        Row ``i`` of ``weights`` is how much query token ``i`` takes from each key token; it
        sums to 1.
        """
        b, t, _ = x.shape
        # (B, T, 3D) -> (3, B, heads, T, head_dim): timm's split order q | k | v, then heads
        qkv = self.qkv(x).reshape(b, t, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # each (B, heads, T, head_dim)
        if rope is not None:  # rotate queries and keys in one call: (2, B, heads, T, head_dim)
            q, k = rope(torch.stack([q, k]), grid_size, num_prefix_tokens=num_prefix_tokens).unbind(
                0
            )
        scores = (q * self.scale) @ k.transpose(-2, -1)  # (B, heads, T, T)
        return scores.softmax(dim=-1), v

    def forward(
        self,
        x: torch.Tensor,
        rope: Callable[..., torch.Tensor] | None = None,
        grid_size: tuple[int, int] | None = None,
        num_prefix_tokens: int = 1,
    ) -> torch.Tensor:
        b, t, d = x.shape
        weights, v = self.attention_weights(x, rope, grid_size, num_prefix_tokens)
        out = weights @ v  # (B, heads, T, head_dim)
        out = out.transpose(1, 2).reshape(b, t, d)  # heads side by side again: (B, T, D)
        return self.proj(out)


class Mlp(nn.Module):
    """``fc1 -> GELU -> fc2``: ``(B, T, D) -> (B, T, D)`` through a hidden width
    ``mlp_ratio * D``."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """A pre-norm transformer block: ``x + attn(norm1(x))``, then ``x + mlp(norm2(x))``.

    ``(B, T, D) -> (B, T, D)``. Names as in timm: ``norm1``, ``attn``, ``norm2``, ``mlp``.
    """

    def __init__(self, dim: int, num_heads: int = 4, mlp_ratio: float = 2.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * check_number(mlp_ratio, "mlp_ratio", above=0.0)))

    def forward(
        self,
        x: torch.Tensor,
        rope: Callable[..., torch.Tensor] | None = None,
        grid_size: tuple[int, int] | None = None,
        num_prefix_tokens: int = 1,
    ) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), rope, grid_size, num_prefix_tokens)
        return x + self.mlp(self.norm2(x))


class TinyViT(ViTEmbedding):
    """A small ViT: ``(B, C, H, W) -> (B, num_classes)``.

    It is a :class:`vitlearn.ViTEmbedding` (patch embedding, class token, position code: the same
    parameters, names and methods, ``set_pos_embed`` and ``set_patch_embed`` included) followed by
    ``depth`` transformer blocks, a final norm and a head.

    Args:
        img_size: ``S`` or ``(H, W)`` the model is built for (it sizes the learned table).
        patch_size: ``P`` or ``(P_rows, P_cols)``; the grid is ``(H // P, W // P)`` = (rows, cols).
        in_chans: ``C``.
        num_classes: outputs of the head (4 for the course's position task).
        embed_dim, depth, num_heads, mlp_ratio: width ``D``, number of blocks, heads, MLP width / D.
        pos_embed: ``"none"``, ``"learned"``, ``"sincos"``, ``"rope"`` or ``"factorized"``
            (see the module doc).
        rope_kwargs: keyword arguments of :class:`vitlearn.RotaryEmbedding2D` for
            ``pos_embed="rope"`` (its ``head_dim`` is ``embed_dim // num_heads``), e.g.
            ``{"temperature": 100, "normalize_coords": "separate", "rescale_coords": 2.0}`` for
            DINOv3's coordinates and its training-time rescaling (in training mode each block
            draws its own factor, as DINOv3's blocks do). Default: none (patch indices,
            temperature 10000). Any other ``pos_embed`` with ``rope_kwargs`` is a ``ValueError``.
        global_pool: ``"token"`` (read the class token, then ``norm``) or ``"avg"`` (average the
            patch tokens, then ``fc_norm``), as timm names them.
        pos_embed_std: the learned tables start as a normal of this std, truncated at +-2.
            The default, 1, departs from timm's 0.02 on purpose: next to the patch tokens a table
            at 0.02 is almost nothing, and the course's small models, trained for a few hundred
            steps, then never find out where their patches are (they sit at chance for 400+
            steps); at 1, the scale of the sin-cos codes, they learn within the course's budget.
            ``vitlearn.load_course_vit`` is trained from timm's 0.02.
        input_mean, input_std: per-channel constants; the model first standardises its input,
            ``(x - mean) / std``, so it takes images in ``[0, 1]`` as :func:`vitlearn.render_scenes`
            draws them (defaults: the scenes' statistics, :data:`vitlearn.data.SCENE_MEAN`/``STD``).
            Without this step the light background swamps the signal and training stalls for
            hundreds of steps. ``None`` for both: no standardisation, as in a timm model (timm
            standardises in its data pipeline). They are buffers, not saved in the state dict.

    The class token is always there (``num_prefix_tokens == 1``), so tokens are ``T = 1 + N``.

    Changing the grid (another resolution or patch size):

    * input of another size: ``"none"``, ``"sincos"`` and ``"rope"`` accept it directly;
      ``"learned"`` raises a ``ValueError`` until you give it a table for the new grid with
      :meth:`set_pos_embed` (resample the old one with :func:`vitlearn.resample_pos_embed`);
    * another patch size: :meth:`set_patch_embed` with a resized kernel
      (:func:`vitlearn.resample_patch_embed`), plus a new table for ``"learned"``.
    """

    def __init__(
        self,
        img_size: int | Sequence[int] = 32,
        patch_size: int | Sequence[int] = 8,
        in_chans: int = 3,
        num_classes: int = 4,
        embed_dim: int = 64,
        depth: int = 2,
        num_heads: int = 4,
        mlp_ratio: float = 2.0,
        pos_embed: str = "learned",
        global_pool: str = "token",
        pos_embed_std: float = 1.0,
        input_mean: Sequence[float] | None = SCENE_MEAN,
        input_std: Sequence[float] | None = SCENE_STD,
        rope_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        check_choice(pos_embed, "pos_embed", POS_EMBED_KINDS)
        if rope_kwargs is not None:
            if pos_embed != "rope":
                raise ValueError(
                    f"rope_kwargs configure the rotary embedding of pos_embed='rope', but "
                    f"pos_embed={pos_embed!r}: drop rope_kwargs or use pos_embed='rope'"
                )
            if not isinstance(rope_kwargs, Mapping):
                raise TypeError(
                    f"rope_kwargs must be a mapping of RotaryEmbedding2D's keyword arguments, "
                    f"got {type(rope_kwargs).__name__}"
                )
            if "head_dim" in rope_kwargs:
                raise ValueError(
                    "rope_kwargs may not set head_dim: it is embed_dim // num_heads "
                    f"= {embed_dim} // {num_heads}"
                )
        check_choice(global_pool, "global_pool", POOL_KINDS)
        check_int(num_classes, "num_classes")
        check_int(embed_dim, "embed_dim")
        check_int(depth, "depth")
        check_number(mlp_ratio, "mlp_ratio", above=0.0)
        _check_heads(embed_dim, num_heads)
        super().__init__(
            img_size,
            patch_size,
            in_chans,
            embed_dim,
            pos_embed=pos_embed,
            pos_embed_std=pos_embed_std,
        )
        check_both_or_neither(input_mean, input_std, "input_mean", "input_std")
        if input_mean is not None:
            if len(input_mean) != in_chans or len(input_std) != in_chans:
                raise ValueError(
                    f"input_mean and input_std need one value per channel (in_chans={in_chans}), "
                    f"got {len(input_mean)} and {len(input_std)}"
                )
            as_image = {"dtype": torch.float32}
            self.register_buffer(
                "input_mean",
                torch.tensor(input_mean, **as_image).view(1, -1, 1, 1),
                persistent=False,
            )
            self.register_buffer(
                "input_std", torch.tensor(input_std, **as_image).view(1, -1, 1, 1), persistent=False
            )
        else:
            self.input_mean = None
            self.input_std = None
        self.global_pool = global_pool
        self.num_classes = num_classes
        self.num_heads = num_heads
        # no parameters and no state-dict entries: built for whatever grid comes in
        self.rope = (
            RotaryEmbedding2D(embed_dim // num_heads, **(rope_kwargs or {}))
            if pos_embed == "rope"
            else None
        )
        self.blocks = nn.ModuleList(Block(embed_dim, num_heads, mlp_ratio) for _ in range(depth))
        final = nn.LayerNorm(embed_dim, eps=1e-6)
        self.norm = final if global_pool == "token" else nn.Identity()
        self.fc_norm = final if global_pool == "avg" else nn.Identity()
        self.head = nn.Linear(embed_dim, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        self.reset_parameters()  # the embedding's class token and tables
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    # -- forward -------------------------------------------------------------------------------
    def embed(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """Standardise the pixels, then :meth:`ViTEmbedding.embed`:
        ``(B, C, H, W) -> ((B, 1 + N, D), grid)``."""
        x = self.patch_embed._check_images(x)  # the one check of the input, at the boundary
        if self.input_mean is not None:
            x = (x - self.input_mean) / self.input_std  # pixels standardised per channel
        return self._embed(x)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, 1 + N, D)``: all tokens after the blocks (and ``norm``)."""
        tokens, grid = self.embed(x)
        for block in self.blocks:
            # each block calls the rotary embedding itself: with a training-time augmentation of
            # its coordinates, every block draws its own factor, as in DINOv3 (whose
            # forward_features calls rope_embed(H=H, W=W) once per block)
            tokens = block(tokens, self.rope, grid, self.num_prefix_tokens)
        return self.norm(tokens)

    def forward_head(self, tokens: torch.Tensor) -> torch.Tensor:
        """``(B, 1 + N, D) -> (B, num_classes)``: pool (class token or mean of patches), head."""
        if self.global_pool == "token":
            pooled = tokens[:, 0]
        else:
            pooled = tokens[:, self.num_prefix_tokens :].mean(1)
        return self.head(self.fc_norm(pooled))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, num_classes)`` logits."""
        return self.forward_head(self.forward_features(x))

    def num_parameters(self) -> int:
        """How many numbers training adjusts."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, global_pool={self.global_pool!r}"


def save_timm_state_dict(model: TinyViT, path: str | os.PathLike[str]) -> list[str]:
    """Save ``model``'s weights with ``torch.save`` under timm's names; return the keys.

    The file is a plain ``{name: tensor}`` dict, loadable into a timm
    ``VisionTransformer(img_size, patch_size, embed_dim, depth, num_heads, mlp_ratio,
    num_classes, class_token=True, global_pool="token")`` of the same sizes (for ``"learned"``).
    """
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    torch.save(state, os.fspath(path))
    return list(state)
