"""Finding a checkpoint's position table, and reading its layout.

Two layouts are understood:

- timm (and MAE, DINOv2, DeiT, which use its names): ``pos_embed`` with the sibling tokens
  ``cls_token``, ``reg_token``, ``dist_token`` and the kernel ``patch_embed.proj.weight``;
- Hugging Face: ``[vit.]embeddings.position_embeddings`` (the class token's row included) with
  ``embeddings.cls_token`` and ``embeddings.patch_embeddings.projection.weight``.

Within the first layout, MAE's and DINOv2's own files are told apart from timm's by the entries
beside the table (:data:`FORMATS`, :attr:`PosEmbedInfo.format`): that says which library's code
the table was made for, and so which resampling recipe goes with it. The old grid is never
guessed beyond arithmetic: the table length minus the prefix tokens must be a square number, or
``old_size`` must say what it is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from .._checks import as_pair, check_int, shape_str, token_grid

__all__ = ["FORMATS", "PosEmbedInfo", "find_pos_embed"]

TABLE_NAMES = ("pos_embed", "embeddings.position_embeddings")
PATCH_KERNELS = ("patch_embed.proj.weight", "embeddings.patch_embeddings.projection.weight")
TOKEN_NAMES = ("cls_token", "dist_token", "reg_token", "distillation_token")
"""Sibling parameters that are prefix tokens (rows of the table before the grid)."""
FORMATS = ("timm", "hf", "mae", "dinov2", "unknown")
"""Whose naming a checkpoint uses (:attr:`PosEmbedInfo.format`); the rules are in ``_naming``."""


def _table_keys(sd: Mapping[str, Any]) -> list[str]:
    return [
        k
        for k, v in sd.items()
        if isinstance(k, str)
        and isinstance(v, torch.Tensor)
        and any(k == name or k.endswith("." + name) for name in TABLE_NAMES)
    ]


def _sibling(key: str, name: str) -> str:
    """``vit.embeddings.position_embeddings`` -> ``vit.embeddings.<name>``; ``pos_embed`` ->
    ``<name>``."""
    head = key.rsplit(".", 1)[0] + "." if "." in key else ""
    return head + name


@dataclass(frozen=True)
class PosEmbedInfo:
    """Where a checkpoint keeps its position table and how it is laid out.

    ``key``: the state-dict key; ``shape``: the table's shape; ``num_prefix_tokens``: rows before
    the grid; ``prefix_names``: the token parameters those rows belong to (empty when given by
    hand); ``grid_size``: ``(rows, cols)``; ``patch_size``: ``(ph, pw)`` from the patch kernel, or
    None when the checkpoint has none; ``format``: whose naming the checkpoint uses, one of
    :data:`FORMATS` (``"timm"``, ``"hf"``, ``"mae"``, ``"dinov2"``, or ``"unknown"`` for a table
    found only through ``key=``).
    """

    key: str
    shape: tuple[int, ...]
    num_prefix_tokens: int
    prefix_names: tuple[str, ...]
    grid_size: tuple[int, int]
    patch_size: tuple[int, int] | None
    format: str


def find_pos_embed(
    state_dict: Mapping[str, Any],
    *,
    key: str | None = None,
    old_size: int | Sequence[int] | None = None,
    num_prefix_tokens: int | None = None,
) -> PosEmbedInfo:
    """Find the position table of ``state_dict`` and read its layout (see :class:`PosEmbedInfo`).

    ``key`` picks the table when the names are unusual or there are several; ``old_size`` and
    ``num_prefix_tokens`` say what arithmetic cannot: a non-square grid, or prefix rows that no
    sibling token parameter accounts for. The prefix count is the number of rows of the sibling
    tokens (:data:`TOKEN_NAMES`); if those leave a non-square grid while the whole table is square,
    the tokens have no rows in it (timm's ``no_embed_class``). Raises ``ValueError`` naming the
    keys and numbers when the table cannot be found or its grid cannot be read.
    """
    if key is not None:
        if not isinstance(state_dict.get(key), torch.Tensor):
            raise ValueError(f"no tensor under key {key!r}")
    else:
        keys = _table_keys(state_dict)
        if not keys:
            sample = ", ".join(list(map(str, state_dict))[:6])
            raise ValueError(
                f"no position table found (looked for keys ending in {' or '.join(TABLE_NAMES)}; "
                f"keys start with: {sample}); name it with key="
            )
        if len(keys) > 1:
            raise ValueError(f"several position tables ({', '.join(keys)}); pick one with key=")
        key = keys[0]
    table = state_dict[key]
    if table.dim() not in (2, 3) or (table.dim() == 3 and table.shape[0] != 1):
        raise ValueError(f"{key} has shape {shape_str(table.shape)}, expected (1, tokens, dim)")
    length, dim = int(table.shape[-2]), int(table.shape[-1])
    if num_prefix_tokens is not None:
        prefix, names = check_int(num_prefix_tokens, "num_prefix_tokens", minimum=0), ()
    else:
        prefix, names = _prefix_tokens(state_dict, key, length, old_size)
    what = f"{key} {shape_str(table.shape)}" + (f" (prefix: {', '.join(names)})" if names else "")
    grid = token_grid(
        length,
        prefix,
        old_size,
        what=what,
        hint="give the grid as old_size=(rows, cols) (--old-size ROWS COLS on the command line)",
    )
    return PosEmbedInfo(
        key,
        tuple(table.shape),
        prefix,
        names,
        grid,
        _patch_size(state_dict, key, dim),
        _naming(state_dict, key, prefix),
    )


def _prefix_tokens(
    sd: Mapping[str, Any], key: str, length: int, old_size: int | Sequence[int] | None
) -> tuple[int, tuple[str, ...]]:
    found: list[str] = []
    count = 0
    for name in TOKEN_NAMES:
        k = _sibling(key, name)
        t = sd.get(k)
        if isinstance(t, torch.Tensor):
            n = int(t.shape[-2]) if t.dim() >= 2 else 1  # (1, n, D): a register token has n rows
            count += n
            found.append(k if n == 1 else f"{k} x{n}")
    if old_size is not None:
        rows, cols = as_pair(old_size, "old_size")
        return (0, ()) if length == rows * cols else (count, tuple(found))
    grid = length - count
    if grid >= 1 and math.isqrt(grid) ** 2 == grid:
        return count, tuple(found)
    if count and math.isqrt(length) ** 2 == length:
        return 0, ()  # the tokens exist but have no row in the table (timm's no_embed_class)
    return count, tuple(found)


def _naming(sd: Mapping[str, Any], key: str, num_prefix_tokens: int) -> str:
    """Whose naming the checkpoint uses: ``"hf"``, ``"dinov2"``, ``"mae"``, ``"timm"`` or
    ``"unknown"``.

    Decided by the table's key and the entries beside it, in this order (the first match wins).
    """
    # Hugging Face transformers: every ViT-like embeddings module keeps its table as
    # `position_embeddings` (class row included) in an `embeddings` module, under the model's
    # prefix (`vit.`, `deit.`, `dinov2.`, or none for a bare model). That holds for HF's DINOv2
    # too (transformers models/dinov2/modeling_dinov2.py, Dinov2Embeddings: `position_embeddings`
    # of shape (1, num_patches + 1, D) beside a `mask_token` of shape (1, D)), so the key decides
    # before the DINOv2 rule below can see that mask token.
    if key == "embeddings.position_embeddings" or key.endswith(".embeddings.position_embeddings"):
        return "hf"
    if not key.rsplit(".", 1)[-1].endswith("pos_embed"):
        return "unknown"  # a table found only through key=, in none of the namings below
    mask = sd.get(_sibling(key, "mask_token"))
    # DINOv2's own files (facebookresearch/dinov2, dinov2/models/vision_transformer.py): the mask
    # token is `nn.Parameter(torch.zeros(1, embed_dim))`, 2-D where MAE's is 3-D; the `_reg`
    # variants add `register_tokens` (1, R, D), inserted after the position code is added
    # (prepare_tokens_with_masks), so they have no row in `pos_embed`. The torch-hub loader
    # (dinov2/hub/backbones.py) reads these files with strict=True, so both entries are in them.
    # timm recognises the same files by `mask_token` (timm vision_transformer.py,
    # checkpoint_filter_fn -> _convert_dinov2, which drops it and renames `register_tokens` to
    # `reg_token`); timm's converted copies on the Hub are therefore timm naming.
    # LayerScale's `blocks.N.ls1.gamma` is no evidence: timm's Block names its LayerScale the same.
    if _sibling(key, "register_tokens") in sd or (
        isinstance(mask, torch.Tensor) and mask.dim() == 2
    ):
        return "dinov2"
    # MAE (facebookresearch/mae, models_mae.py): a pre-training checkpoint has the decoder's
    # `decoder_pos_embed` and `mask_token = nn.Parameter(torch.zeros(1, 1, decoder_embed_dim))`
    # beside `pos_embed` (the `*_full.pth` files, mae issue #8). The released encoder-only files
    # (`mae_pretrain_vit_*.pth`) have neither, but their table is MAE's fixed sin-cos code
    # (`requires_grad=False`), built by util/pos_embed.py get_2d_sincos_pos_embed(...,
    # cls_token=True), which puts a row of exact zeros in front; a learned table (timm's
    # trunc_normal init) does not have an exactly zero class row.
    if _sibling(key, "decoder_pos_embed") in sd or (
        isinstance(mask, torch.Tensor) and mask.dim() == 3
    ):
        return "mae"
    table = sd[key]
    if num_prefix_tokens and table.device.type != "meta" and not table[..., 0, :].any():
        return "mae"
    # timm (and the DeiT and ViT files in its naming): `pos_embed` with `cls_token` / `reg_token` /
    # `dist_token` beside it and `patch_embed.proj.weight` (timm VisionTransformer).
    return "timm"


def _patch_size(sd: Mapping[str, Any], key: str, dim: int) -> tuple[int, int] | None:
    """(P_rows, P_cols) from the patch-embedding kernel (D, C, P_rows, P_cols), if there is one."""
    model = key[: -len("pos_embed")] if key.endswith("pos_embed") else key.split("embeddings.")[0]
    kernels = [
        k
        for k, w in sd.items()
        if isinstance(k, str)
        and k.startswith(model)
        and isinstance(w, torch.Tensor)
        and w.dim() == 4
        and any(k.endswith(name) for name in PATCH_KERNELS)
    ]
    if not kernels:
        return None
    w = sd[kernels[0]]
    if w.shape[0] != dim:
        raise ValueError(
            f"{kernels[0]} has {w.shape[0]} output channels but the position table has width {dim}"
        )
    return int(w.shape[2]), int(w.shape[3])
