"""Make tests/fixtures/posenc_sincos.npz: 2-D and 1-D sin-cos position tables from the references.

Regenerate, from the repository root, in the reference venv (see tests/reference/README.md):

    python tests/make_posenc_fixtures.py --sources tests/reference/_src

``--sources`` is the folder ``tests/reference/fetch_sources.py`` fills (its default too); ``--out``
is where the file goes (default: tests/fixtures/posenc_sincos.npz). timm, transformers and
vit-pytorch come from ``tests/requirements-reference.txt``; the tests only read the .npz. Where each
reference comes from:

- "mae": MAE's own ``util/pos_embed.py`` (facebookresearch/mae, fetched and checked by sha256, see
  ``tests/reference/fetch_sources.py``). Its ``get_2d_sincos_pos_embed`` takes a square int grid;
  for a non-square grid we build its grid the same way (``np.meshgrid(grid_w, grid_h)``) and call
  its ``get_2d_sincos_pos_embed_from_grid``. Every MAE array is cross-checked against Hugging Face
  transformers' ``build_2d_sinusoidal_position_embedding`` with its two halves swapped, which is
  what ``ViTMAEEmbeddings.initialize_weights`` stores.
- "big_vision": vit-pytorch's ``simple_vit.posemb_sincos_2d`` (big_vision itself is jax; its
  ``posemb_sincos_2d`` in ``big_vision/models/vit.py`` has the same formula: ``omega = arange(F) /
  (F - 1)``, ``concat[sin x, cos x, sin y, cos y]``).
- "timm": ``timm.layers.build_sincos2d_pos_embed(feat_shape=[rows, cols], dim=dim)`` with its
  defaults.
- "mae1d": MAE's ``get_1d_sincos_pos_embed_from_grid(dim, arange(P))`` for the 1-D code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "reference"))  # fetch_sources, cpu_kernels
DEFAULT_OUT = HERE / "fixtures" / "posenc_sincos.npz"
DEFAULT_SOURCES = HERE / "reference" / "_src"
GRIDS = [(4, 4), (7, 7), (14, 14), (3, 5), (6, 2), (1, 4)]
DIMS = [8, 16, 32]


def mae_hf(rows: int, cols: int, dim: int):
    """transformers' ViTMAE table in MAE's order: its two halves swapped."""
    import numpy as np
    from transformers.models.vit_mae.modeling_vit_mae import build_2d_sinusoidal_position_embedding

    pe = build_2d_sinusoidal_position_embedding(rows, cols, dim).numpy()
    return np.concatenate([pe[:, dim // 2 :], pe[:, : dim // 2]], axis=1)


def mae_original(mae, rows: int, cols: int, dim: int):
    """MAE's own table; for a non-square grid, its grid built the way it builds a square one."""
    import numpy as np

    if rows == cols:
        return mae.get_2d_sincos_pos_embed(dim, rows)
    grid = np.stack(
        np.meshgrid(np.arange(cols, dtype=np.float32), np.arange(rows, dtype=np.float32))
    )
    return mae.get_2d_sincos_pos_embed_from_grid(dim, grid.reshape(2, 1, rows, cols))


def build(sources: Path) -> dict:
    """Every array of the fixture, by name."""
    from importlib.metadata import version

    import numpy as np
    import torch
    from fetch_sources import MAE_POS_EMBED, load_mae_pos_embed
    from timm.layers import build_sincos2d_pos_embed
    from vit_pytorch.simple_vit import posemb_sincos_2d

    mae = load_mae_pos_embed(sources)
    arrays: dict[str, np.ndarray] = {}
    for rows, cols in GRIDS:
        for dim in DIMS:
            key = f"{rows}x{cols}_d{dim}"
            ref = mae_original(mae, rows, cols, dim)
            hf = mae_hf(rows, cols, dim)
            if not np.allclose(ref, hf, atol=1e-5):
                raise AssertionError(f"MAE and transformers disagree on {key}")
            arrays[f"mae_{key}"] = ref.astype(np.float32)
            arrays[f"big_vision_{key}"] = (
                posemb_sincos_2d(rows, cols, dim).numpy().astype(np.float32)
            )
            arrays[f"timm_{key}"] = (
                build_sincos2d_pos_embed([rows, cols], dim).numpy().astype(np.float32)
            )
    for n, dim in [(10, 8), (50, 32)]:
        pos = np.arange(n, dtype=np.float32)
        arrays[f"mae1d_{n}_d{dim}"] = mae.get_1d_sincos_pos_embed_from_grid(dim, pos).astype(
            np.float32
        )
    arrays["versions"] = np.array(
        [
            f"torch {torch.__version__}",
            f"timm {version('timm')}",
            f"transformers {version('transformers')}",
            f"vit-pytorch {version('vit-pytorch')}",
            f"mae util/pos_embed.py sha256:{MAE_POS_EMBED.sha256}",
        ]
    )
    return arrays


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"the .npz file to write (default: {DEFAULT_OUT.relative_to(HERE.parent)})",
    )
    parser.add_argument(
        "--sources",
        type=Path,
        default=DEFAULT_SOURCES,
        help="the folder tests/reference/fetch_sources.py filled "
        f"(default: {DEFAULT_SOURCES.relative_to(HERE.parent)})",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from cpu_kernels import pin_cpu_kernels

    pin_cpu_kernels()  # before torch loads: the same bits on any x86-64 machine
    import numpy as np
    from fetch_sources import SourceError

    try:
        arrays = build(args.sources)
    except SourceError as err:
        sys.exit(f"error: {err}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.1f} KB, {len(arrays)} arrays)")


if __name__ == "__main__":
    main()
