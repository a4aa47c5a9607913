"""Resampling a checkpoint's position table to a new grid, in a function and on the command line.

- :func:`resample_checkpoint`: a new state dict with the table resampled to a new grid
  (:func:`vitlearn.resample_pos_embed`), every other entry untouched;
- ``python -m vitlearn resample-checkpoint IN OUT --new-size ROWS COLS`` is the command-line layer
  over it and :func:`vitlearn.checkpoints.read_state_dict` / ``write_state_dict`` (bottom of this
  module).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .._checks import as_pair, patch_grid
from .._command import CommandError
from ..resample import INTERPOLATIONS, RECIPES, resample_pos_embed
from .find import PosEmbedInfo, find_pos_embed
from .state_dict import _is_safetensors, read_state_dict, write_state_dict

__all__ = ["resample_checkpoint"]


def _new_grid(
    info: PosEmbedInfo,
    new_size: int | Sequence[int] | None,
    image_size: int | Sequence[int] | None,
) -> tuple[int, int]:
    """The new grid: ``new_size``, or ``image_size`` over the checkpoint's patch size."""
    if (new_size is None) == (image_size is None):
        raise ValueError(
            "give the new grid as new_size=(rows, cols) or the new image as image_size=(H, W)"
        )
    if new_size is not None:
        return as_pair(new_size, "new_size")
    if info.patch_size is None:
        raise ValueError(
            "image_size needs a patch-embedding kernel in the checkpoint to read the patch size "
            "from; give new_size=(rows, cols) instead"
        )
    return patch_grid(image_size, info.patch_size)


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
    info = find_pos_embed(
        state_dict, key=key, old_size=old_size, num_prefix_tokens=num_prefix_tokens
    )
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
    p.add_argument(
        "output", type=Path, help="where to write the resampled checkpoint (same format)"
    )
    size = p.add_mutually_exclusive_group(required=True)
    size.add_argument(
        "--new-size",
        nargs=2,
        type=int,
        metavar=("ROWS", "COLS"),
        help="the new patch grid, e.g. 24 24",
    )
    size.add_argument(
        "--image-size",
        nargs=2,
        type=int,
        metavar=("HEIGHT", "WIDTH"),
        help="the new image size in pixels; the grid is image / patch size, the patch "
        "size read from the patch-embedding kernel",
    )
    p.add_argument(
        "--old-size",
        nargs=2,
        type=int,
        metavar=("ROWS", "COLS"),
        help="the table's grid, needed when it is not square",
    )
    p.add_argument(
        "--num-prefix-tokens",
        type=int,
        default=None,
        help="rows before the grid (default: counted from cls/dist/reg tokens)",
    )
    p.add_argument("--key", default=None, help="the position table's key, if it cannot be found")
    p.add_argument(
        "--recipe",
        choices=tuple(RECIPES),
        default=None,
        help="reproduce one library exactly (default: timm's antialiased bicubic)",
    )
    p.add_argument("--interpolation", choices=INTERPOLATIONS, default=None)
    p.add_argument("--antialias", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--align-corners", action=argparse.BooleanOptionalAction, default=None)


def run(args: argparse.Namespace) -> None:
    src: Path = args.input
    dst: Path = args.output
    if dst.exists() and src.exists() and os.path.samefile(src, dst):
        raise CommandError(f"refusing to overwrite the input {src}: choose another output path")
    if _is_safetensors(dst) != _is_safetensors(src):
        raise CommandError(
            f"the output {dst} must have the input's format ({src.suffix or 'no suffix'})"
        )
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
