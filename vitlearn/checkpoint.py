"""Reading a ViT checkpoint's position table, and resampling it to a new grid.

A checkpoint is a state dict (a ``torch.save`` file, read with ``weights_only=True``, or a
``.safetensors`` file), possibly wrapped under ``model`` / ``state_dict`` / ... with other entries
beside it (an epoch count, the training arguments). Two layouts are understood:

- timm (and MAE, DINOv2, DeiT, which use its names): ``pos_embed`` with the sibling tokens
  ``cls_token``, ``reg_token``, ``dist_token`` and the kernel ``patch_embed.proj.weight``;
- Hugging Face: ``[vit.]embeddings.position_embeddings`` (the class token's row included) with
  ``embeddings.cls_token`` and ``embeddings.patch_embeddings.projection.weight``.

Within the first layout, MAE's and DINOv2's own files are told apart from timm's by the entries
beside the table (:data:`FORMATS`, :attr:`PosEmbedInfo.format`): that says which library's code
the table was made for, and so which resampling recipe goes with it.

The plain functions, for a notebook or a script:

- :func:`read_state_dict` / :func:`write_state_dict`: a file to ``(object, state dict, ...)`` and back;
- :func:`find_pos_embed`: where the table is, how many prefix rows it has, its grid, the patch size;
- :func:`resample_checkpoint`: a new state dict with the table resampled to a new grid
  (:func:`vitlearn.resample_pos_embed`), every other entry untouched.

``python -m vitlearn resample-checkpoint IN OUT --new-size ROWS COLS`` is the command-line layer
over them (bottom of this module). The old grid is never guessed beyond arithmetic: the table
length minus the prefix tokens must be a square number, or ``old_size`` must say what it is.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ._checks import as_pair, check_int, shape_str, token_grid
from ._command import CommandError
from .resample import INTERPOLATIONS, RECIPES, resample_pos_embed

__all__ = [
    "FORMATS",
    "PosEmbedInfo",
    "find_pos_embed",
    "read_state_dict",
    "resample_checkpoint",
    "write_state_dict",
]

WRAPPERS = ("state_dict", "model", "model_state_dict", "module")
"""Keys under which checkpoints commonly nest their state dict."""
TABLE_NAMES = ("pos_embed", "embeddings.position_embeddings")
PATCH_KERNELS = ("patch_embed.proj.weight", "embeddings.patch_embeddings.projection.weight")
TOKEN_NAMES = ("cls_token", "dist_token", "reg_token", "distillation_token")
"""Sibling parameters that are prefix tokens (rows of the table before the grid)."""
FORMATS = ("timm", "hf", "mae", "dinov2", "unknown")
"""Whose naming a checkpoint uses (:attr:`PosEmbedInfo.format`); the rules are in ``_naming``."""


# ---- reading and writing files ---------------------------------------------------------------


def _is_safetensors(path: Path) -> bool:
    return path.suffix == ".safetensors"


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def read_state_dict(
    path: str | os.PathLike[str],
) -> tuple[dict[str, Any], dict[str, Any], str | None, dict[str, str] | None]:
    """Read a checkpoint file: ``(loaded object, state dict, wrapper key, safetensors metadata)``.

    The state dict is the dict holding the position table: the loaded object itself, or the
    entry under a wrapper key (:data:`WRAPPERS`), which is returned too (``None`` at top level).
    ``.safetensors`` files need the ``safetensors`` package; everything else is read with
    ``torch.load(..., weights_only=True)``, which refuses pickled code. Raises
    ``FileNotFoundError`` or ``ValueError`` with one line saying what is wrong with the file.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if not path.is_file():
        raise ValueError(f"{path}: not a file")
    metadata = None
    if _is_safetensors(path):
        try:
            from safetensors import safe_open
        except ImportError:
            raise ImportError(
                "reading .safetensors needs the safetensors package (pip install safetensors)"
            ) from None
        try:
            with safe_open(str(path), framework="pt") as f:
                metadata = f.metadata()
                obj: Any = {k: f.get_tensor(k) for k in f.keys()}
        except Exception as e:  # safetensors raises its own error types for a corrupt header
            raise ValueError(f"{path}: not a readable safetensors file ({_first_line(e)})") from None
    else:
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # UnpicklingError, RuntimeError (bad zip), EOFError, ...: all one line
            raise ValueError(
                f"{path}: not a readable torch checkpoint (loaded with weights_only=True): {_first_line(e)}"
            ) from None
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a state dict (a dict of tensors), got {type(obj).__name__}")
    sd, wrapper = _unwrap(obj)
    return obj, sd, wrapper, metadata


def _unwrap(obj: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The dict holding the tensors, and the wrapper key it sits under (None: top level)."""
    if _table_keys(obj):
        return obj, None
    for key in WRAPPERS:
        inner = obj.get(key)
        if isinstance(inner, dict) and _table_keys(inner):
            return inner, key
    return obj, None


def write_state_dict(
    obj: dict[str, Any],
    path: str | os.PathLike[str],
    metadata: dict[str, str] | None = None,
) -> None:
    """Write ``obj`` in the format ``path``'s suffix names (``.safetensors`` or a torch file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if _is_safetensors(path):
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in obj.items()}, str(path), metadata=metadata)
    else:
        torch.save(obj, path)


# ---- finding the table -------------------------------------------------------------------------


def _table_keys(sd: Mapping[str, Any]) -> list[str]:
    return [
        k for k, v in sd.items()
        if isinstance(k, str) and isinstance(v, torch.Tensor)
        and any(k == name or k.endswith("." + name) for name in TABLE_NAMES)
    ]


def _sibling(key: str, name: str) -> str:
    """``vit.embeddings.position_embeddings`` -> ``vit.embeddings.<name>``; ``pos_embed`` -> ``<name>``."""
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
        length, prefix, old_size, what=what,
        hint="give the grid as old_size=(rows, cols) (--old-size ROWS COLS on the command line)",
    )
    return PosEmbedInfo(
        key, tuple(table.shape), prefix, names, grid, _patch_size(state_dict, key, dim),
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
    """Whose naming the checkpoint uses: ``"hf"``, ``"dinov2"``, ``"mae"``, ``"timm"`` or ``"unknown"``.

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
    if _sibling(key, "register_tokens") in sd or (isinstance(mask, torch.Tensor) and mask.dim() == 2):
        return "dinov2"
    # MAE (facebookresearch/mae, models_mae.py): a pre-training checkpoint has the decoder's
    # `decoder_pos_embed` and `mask_token = nn.Parameter(torch.zeros(1, 1, decoder_embed_dim))`
    # beside `pos_embed` (the `*_full.pth` files, mae issue #8). The released encoder-only files
    # (`mae_pretrain_vit_*.pth`) have neither, but their table is MAE's fixed sin-cos code
    # (`requires_grad=False`), built by util/pos_embed.py get_2d_sincos_pos_embed(...,
    # cls_token=True), which puts a row of exact zeros in front; a learned table (timm's
    # trunc_normal init) does not have an exactly zero class row.
    if _sibling(key, "decoder_pos_embed") in sd or (isinstance(mask, torch.Tensor) and mask.dim() == 3):
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
        k for k, w in sd.items()
        if isinstance(k, str) and k.startswith(model) and isinstance(w, torch.Tensor) and w.dim() == 4
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


# ---- resampling --------------------------------------------------------------------------------


def _new_grid(
    info: PosEmbedInfo,
    new_size: int | Sequence[int] | None,
    image_size: int | Sequence[int] | None,
) -> tuple[int, int]:
    """The new grid: ``new_size``, or ``image_size`` over the checkpoint's patch size."""
    if (new_size is None) == (image_size is None):
        raise ValueError("give the new grid as new_size=(rows, cols) or the new image as image_size=(H, W)")
    if new_size is not None:
        return as_pair(new_size, "new_size")
    if info.patch_size is None:
        raise ValueError(
            "image_size needs a patch-embedding kernel in the checkpoint to read the patch size "
            "from; give new_size=(rows, cols) instead"
        )
    h, w = as_pair(image_size, "image_size")
    ph, pw = info.patch_size
    if h % ph or w % pw:
        raise ValueError(f"image_size ({h}, {w}) is not a multiple of the patch size {ph}x{pw}")
    return h // ph, w // pw


def resample_checkpoint(
    state_dict: Mapping[str, Any],
    new_size: int | Sequence[int] | None = None,
    *,
    image_size: int | Sequence[int] | None = None,
    key: str | None = None,
    old_size: int | Sequence[int] | None = None,
    num_prefix_tokens: int | None = None,
    **method: Any,
) -> tuple[dict[str, Any], PosEmbedInfo]:
    """A copy of ``state_dict`` with its position table resampled to a new grid.

    Give the new grid as ``new_size = (rows, cols)``, or the new image as ``image_size = (H, W)``
    (then the grid is the image over the patch size read from the checkpoint's patch kernel).
    ``key``, ``old_size`` and ``num_prefix_tokens`` are as in :func:`find_pos_embed`; ``method``
    goes to :func:`vitlearn.resample_pos_embed` (``recipe=``, ``interpolation=``, ``antialias=``,
    ``align_corners=``; default: timm's antialiased bicubic). Every other entry is the same tensor
    object as in ``state_dict`` (nothing is copied). Returns the new state dict and the
    :class:`PosEmbedInfo` of the old table.

    >>> sd = {"cls_token": torch.zeros(1, 1, 8), "pos_embed": torch.zeros(1, 1 + 16, 8)}
    >>> new, info = resample_checkpoint(sd, (6, 6))
    >>> new["pos_embed"].shape, info.grid_size
    (torch.Size([1, 37, 8]), (4, 4))
    """
    info = find_pos_embed(state_dict, key=key, old_size=old_size, num_prefix_tokens=num_prefix_tokens)
    new_size = _new_grid(info, new_size, image_size)
    table = state_dict[info.key]
    new_table = resample_pos_embed(
        table, new_size, old_size=info.grid_size, num_prefix_tokens=info.num_prefix_tokens, **method
    )
    out = dict(state_dict)
    out[info.key] = new_table.contiguous()
    return out, info


# ---- the command: python -m vitlearn resample-checkpoint ---------------------------------------

HELP = "resample the position table of a ViT checkpoint (timm or Hugging Face) to a new grid"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", type=Path, help="checkpoint to read (.pt/.pth/.bin or .safetensors)")
    p.add_argument("output", type=Path, help="where to write the resampled checkpoint (same format)")
    size = p.add_mutually_exclusive_group(required=True)
    size.add_argument("--new-size", nargs=2, type=int, metavar=("ROWS", "COLS"),
                      help="the new patch grid, e.g. 24 24")
    size.add_argument("--image-size", nargs=2, type=int, metavar=("HEIGHT", "WIDTH"),
                      help="the new image size in pixels; the grid is image / patch size, the patch "
                           "size read from the patch-embedding kernel")
    p.add_argument("--old-size", nargs=2, type=int, metavar=("ROWS", "COLS"),
                   help="the table's grid, needed when it is not square")
    p.add_argument("--num-prefix-tokens", type=int, default=None,
                   help="rows before the grid (default: counted from cls/dist/reg tokens)")
    p.add_argument("--key", default=None, help="the position table's key, if it cannot be found")
    p.add_argument("--recipe", choices=tuple(RECIPES), default=None,
                   help="reproduce one library exactly (default: timm's antialiased bicubic)")
    p.add_argument("--interpolation", choices=INTERPOLATIONS, default=None)
    p.add_argument("--antialias", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--align-corners", action=argparse.BooleanOptionalAction, default=None)


def run(args: argparse.Namespace) -> None:
    src: Path = args.input
    dst: Path = args.output
    if dst.exists() and src.exists() and os.path.samefile(src, dst):
        raise CommandError(f"refusing to overwrite the input {src}: choose another output path")
    if _is_safetensors(dst) != _is_safetensors(src):
        raise CommandError(f"the output {dst} must have the input's format ({src.suffix or 'no suffix'})")
    obj, sd, wrapper, metadata = read_state_dict(src)
    new_sd, info = resample_checkpoint(
        sd,
        args.new_size,
        image_size=args.image_size,
        key=args.key,
        old_size=args.old_size,
        num_prefix_tokens=args.num_prefix_tokens,
        recipe=args.recipe,
        interpolation=args.interpolation,
        antialias=args.antialias,
        align_corners=args.align_corners,
    )
    write_state_dict({**obj, wrapper: new_sd} if wrapper is not None else new_sd, dst, metadata)
    new_grid = _new_grid(info, args.new_size, args.image_size)
    method = args.recipe or args.interpolation or "bicubic"
    names = f" ({', '.join(info.prefix_names)})" if info.prefix_names else ""
    print(
        f"{info.key}: {info.shape} -> {tuple(new_sd[info.key].shape)}, grid "
        f"{info.grid_size[0]}x{info.grid_size[1]} -> {new_grid[0]}x{new_grid[1]}, "
        f"{info.num_prefix_tokens} prefix token(s){names}, {method}; wrote {dst}"
    )
