"""``python -m vitlearn resample-checkpoint IN OUT --new-size ROWS COLS``: give a saved ViT a new grid.

Reads a state dict (``torch.save`` file, loaded with ``weights_only=True``, or ``.safetensors``)
in timm layout (``pos_embed``, ``cls_token``, ``reg_token``, ``patch_embed.proj.weight``; possibly
inside a ``model`` / ``state_dict`` wrapper) or Hugging Face layout
(``[vit.]embeddings.position_embeddings`` with the class token's row included,
``embeddings.patch_embeddings.projection.weight``), finds the position table, the prefix tokens
and the old grid, resamples the table with :func:`vitlearn.resample_pos_embed` and writes every
other tensor back untouched, in the input's format.

The old grid is never guessed beyond arithmetic: the table length minus the prefix tokens must be
a square number, or ``--old-size`` must say what it is.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
from typing import Any

import torch

from .cli import CommandError
from .resample import INTERPOLATIONS, RECIPES, resample_pos_embed

HELP = "resample the position table of a ViT checkpoint (timm or Hugging Face) to a new grid"

_WRAPPERS = ("state_dict", "model", "model_state_dict", "module")
_TABLE_NAMES = ("pos_embed", "embeddings.position_embeddings")
_PATCH_KERNELS = ("patch_embed.proj.weight", "embeddings.patch_embeddings.projection.weight")
# sibling parameters that are prefix tokens (rows of the table before the grid), with how many rows
_TOKEN_NAMES = ("cls_token", "dist_token", "reg_token", "distillation_token")


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


# ---- reading and writing --------------------------------------------------------------------


def _is_safetensors(path: Path) -> bool:
    return path.suffix == ".safetensors"


def _load(path: Path) -> tuple[dict[str, Any], dict[str, str] | None]:
    """The loaded object and, for safetensors, its metadata."""
    if not path.exists():
        raise CommandError(f"{path}: no such file")
    if not path.is_file():
        raise CommandError(f"{path}: not a file")
    if _is_safetensors(path):
        try:
            from safetensors import safe_open
        except ImportError as e:
            raise CommandError("reading .safetensors needs the safetensors package (pip install safetensors)") from e
        try:
            with safe_open(str(path), framework="pt") as f:
                metadata = f.metadata()
                return {k: f.get_tensor(k) for k in f.keys()}, metadata
        except Exception as e:  # safetensors raises its own error types for a corrupt header
            raise CommandError(f"{path}: not a readable safetensors file ({_first_line(e)})") from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # UnpicklingError, RuntimeError (bad zip), EOFError, ...: all one line
        raise CommandError(
            f"{path}: not a readable torch checkpoint (loaded with weights_only=True): {_first_line(e)}"
        ) from None
    if not isinstance(obj, dict):
        raise CommandError(f"{path}: expected a state dict (a dict of tensors), got {type(obj).__name__}")
    return obj, None


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def _state_dict(obj: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The dict holding the tensors, and the wrapper key it sits under (None: top level)."""
    if any(_table_keys(obj)):
        return obj, None
    for key in _WRAPPERS:
        inner = obj.get(key)
        if isinstance(inner, dict) and any(_table_keys(inner)):
            return inner, key
    return obj, None


def _table_keys(sd: dict[str, Any]) -> list[str]:
    return [
        k for k, v in sd.items()
        if isinstance(k, str) and isinstance(v, torch.Tensor)
        and any(k == name or k.endswith("." + name) for name in _TABLE_NAMES)
    ]


def _sibling(key: str, name: str) -> str:
    """``vit.embeddings.position_embeddings`` -> ``vit.embeddings.<name>``; ``pos_embed`` -> ``<name>``."""
    head = key.rsplit(".", 1)[0] + "." if "." in key else ""
    return head + name


# ---- the command ------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> None:
    src: Path = args.input
    dst: Path = args.output
    if dst.exists() and src.exists() and os.path.samefile(src, dst):
        raise CommandError(f"refusing to overwrite the input {src}: choose another output path")
    if _is_safetensors(dst) != _is_safetensors(src):
        raise CommandError(f"the output {dst} must have the input's format ({src.suffix or 'no suffix'})")

    obj, metadata = _load(src)
    sd, wrapper = _state_dict(obj)
    if args.key is not None:
        if not isinstance(sd.get(args.key), torch.Tensor):
            raise CommandError(f"{src}: no tensor under --key {args.key!r}")
        key = args.key
    else:
        keys = _table_keys(sd)
        if not keys:
            sample = ", ".join(list(map(str, sd))[:6])
            raise CommandError(
                f"{src}: no position table found (looked for keys ending in "
                f"{' or '.join(_TABLE_NAMES)}; keys start with: {sample}); pass --key"
            )
        if len(keys) > 1:
            raise CommandError(f"{src}: several position tables ({', '.join(keys)}); pick one with --key")
        key = keys[0]
    table = sd[key]
    if table.dim() not in (2, 3) or (table.dim() == 3 and table.shape[0] != 1):
        raise CommandError(f"{key} has shape {tuple(table.shape)}, expected (1, tokens, dim)")
    length, dim = table.shape[-2], table.shape[-1]

    patch = _patch_size(sd, key, dim)
    new_size = _new_size(args, patch)
    prefix, prefix_names = _prefix(sd, key, length, args)
    old_size = _old_size(args, length, prefix, prefix_names)

    new_table = resample_pos_embed(
        table, new_size, old_size=old_size, num_prefix_tokens=prefix,
        interpolation=args.interpolation, antialias=args.antialias,
        align_corners=args.align_corners, recipe=args.recipe,
    )
    sd[key] = new_table.contiguous()
    if wrapper is not None:
        obj[wrapper] = sd
    else:
        obj = sd
    _save(obj, dst, metadata)
    method = args.recipe or args.interpolation or "bicubic"
    names = f" ({', '.join(prefix_names)})" if prefix_names else ""
    print(
        f"{key}: {tuple(table.shape)} -> {tuple(new_table.shape)}, grid {old_size[0]}x{old_size[1]} -> "
        f"{new_size[0]}x{new_size[1]}, {prefix} prefix token(s){names}, {method}; wrote {dst}"
    )


def _patch_size(sd: dict[str, Any], key: str, dim: int) -> tuple[int, int] | None:
    """(P_rows, P_cols) from the patch-embedding kernel (D, C, P_rows, P_cols), if there is one."""
    model = key[: -len("pos_embed")] if key.endswith("pos_embed") else key.split("embeddings.")[0]
    kernels = [
        k for k, w in sd.items()
        if isinstance(k, str) and k.startswith(model) and isinstance(w, torch.Tensor) and w.dim() == 4
        and any(k.endswith(name) for name in _PATCH_KERNELS)
    ]
    if not kernels:
        return None
    w = sd[kernels[0]]
    if w.shape[0] != dim:
        raise CommandError(
            f"{kernels[0]} has {w.shape[0]} output channels but the position table has width {dim}"
        )
    return int(w.shape[2]), int(w.shape[3])


def _new_size(args: argparse.Namespace, patch: tuple[int, int] | None) -> tuple[int, int]:
    if args.new_size is not None:
        rows, cols = args.new_size
    else:
        if patch is None:
            raise CommandError("--image-size needs a patch-embedding kernel in the checkpoint; use --new-size")
        h, w = args.image_size
        if h % patch[0] or w % patch[1]:
            raise CommandError(
                f"--image-size {h} {w} is not a multiple of the patch size {patch[0]}x{patch[1]}"
            )
        rows, cols = h // patch[0], w // patch[1]
    if rows < 1 or cols < 1:
        raise CommandError(f"the new grid must be at least 1x1, got {rows}x{cols}")
    return rows, cols


def _prefix(sd: dict[str, Any], key: str, length: int, args: argparse.Namespace) -> tuple[int, list[str]]:
    """How many rows of the table precede the grid, and the token parameters they belong to."""
    if args.num_prefix_tokens is not None:
        return args.num_prefix_tokens, []
    found: list[str] = []
    count = 0
    for name in _TOKEN_NAMES:
        k = _sibling(key, name)
        t = sd.get(k)
        if isinstance(t, torch.Tensor):
            n = int(t.shape[-2]) if t.dim() >= 2 else 1  # (1, n, D): a register token has n rows
            count += n
            found.append(k if n == 1 else f"{k} x{n}")
    if args.old_size is not None:
        rows, cols = args.old_size
        if length - rows * cols == 0:
            return 0, []
        return count, found
    grid = length - count
    if grid >= 1 and math.isqrt(grid) ** 2 == grid:
        return count, found
    if count and math.isqrt(length) ** 2 == length:
        return 0, []  # the tokens exist but have no row in the table (timm's no_embed_class)
    return count, found


def _old_size(args: argparse.Namespace, length: int, prefix: int, names: list[str]) -> tuple[int, int]:
    grid = length - prefix
    if args.old_size is not None:
        rows, cols = args.old_size
        if rows * cols != grid:
            raise CommandError(
                f"--old-size {rows} {cols} means {rows * cols} grid tokens, but the table has {length} "
                f"rows and {prefix} prefix token(s): {grid} grid tokens"
            )
        return rows, cols
    side = math.isqrt(max(grid, 0))
    if grid < 1 or side * side != grid:
        what = f" ({', '.join(names)})" if names else ""
        raise CommandError(
            f"the table has {length} rows; minus {prefix} prefix token(s){what} that leaves {grid}, "
            f"not a square grid: pass --old-size ROWS COLS (and --num-prefix-tokens if needed)"
        )
    return side, side


def _save(obj: dict[str, Any], dst: Path, metadata: dict[str, str] | None) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if _is_safetensors(dst):
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in obj.items()}, str(dst), metadata=metadata)
    else:
        torch.save(obj, dst)
