"""Regenerate tests/fixtures/posenc_sincos.npz from the reference implementations.

    /work/refvenv/bin/python tests/make_posenc_fixtures.py

Run it in an environment that has timm, transformers, vit-pytorch and numpy (never the course's own
environment: the tests only read the .npz). Where each reference comes from:

- "mae": MAE's own ``util/pos_embed.py`` (facebookresearch/mae, commit a9f5c70), saved as a scratch
  copy OUTSIDE this repository and imported by path: set ``MAE_POS_EMBED`` to that file (default
  ``/work/scratch/mae/pos_embed.py``). MAE's ``get_2d_sincos_pos_embed`` takes a square int grid;
  for a non-square grid we build its grid the same way (``np.meshgrid(grid_w, grid_h)``) and call its
  ``get_2d_sincos_pos_embed_from_grid``. Every MAE array is cross-checked against Hugging Face
  transformers' ``build_2d_sinusoidal_position_embedding`` with its two halves swapped, which is
  what ``ViTMAEEmbeddings.initialize_weights`` stores. If the scratch copy is missing, the
  transformers version is saved instead (the script says so).
- "big_vision": vit-pytorch's ``simple_vit.posemb_sincos_2d`` (big_vision itself is jax; its
  ``posemb_sincos_2d`` in ``big_vision/models/vit.py`` has the same formula: ``omega = arange(F) /
  (F - 1)``, ``concat[sin x, cos x, sin y, cos y]``).
- "timm": ``timm.layers.build_sincos2d_pos_embed(feat_shape=[rows, cols], dim=dim)`` with its
  defaults.
- "mae1d": MAE's ``get_1d_sincos_pos_embed_from_grid(dim, arange(P))`` for the 1-D code.
"""

from __future__ import annotations

import importlib.util
import os
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch
from timm.layers import build_sincos2d_pos_embed
from transformers.models.vit_mae.modeling_vit_mae import build_2d_sinusoidal_position_embedding
from vit_pytorch.simple_vit import posemb_sincos_2d

OUT = Path(__file__).parent / "fixtures" / "posenc_sincos.npz"
GRIDS = [(4, 4), (7, 7), (14, 14), (3, 5), (6, 2), (1, 4)]
DIMS = [8, 16, 32]


def _load_mae():
    path = Path(os.environ.get("MAE_POS_EMBED", "/work/scratch/mae/pos_embed.py"))
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("mae_pos_embed", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mae_hf(rows: int, cols: int, dim: int) -> np.ndarray:
    pe = build_2d_sinusoidal_position_embedding(rows, cols, dim).numpy()
    return np.concatenate([pe[:, dim // 2 :], pe[:, : dim // 2]], axis=1)


def mae_original(mae, rows: int, cols: int, dim: int) -> np.ndarray:
    if rows == cols:
        return mae.get_2d_sincos_pos_embed(dim, rows)
    grid = np.stack(np.meshgrid(np.arange(cols, dtype=np.float32), np.arange(rows, dtype=np.float32)))
    return mae.get_2d_sincos_pos_embed_from_grid(dim, grid.reshape(2, 1, rows, cols))


def main() -> None:
    mae = _load_mae()
    print("mae reference:", "MAE's util/pos_embed.py (scratch copy)" if mae else "transformers ViTMAE")
    arrays: dict[str, np.ndarray] = {}
    for rows, cols in GRIDS:
        for dim in DIMS:
            key = f"{rows}x{cols}_d{dim}"
            hf = mae_hf(rows, cols, dim)
            if mae is not None:
                ref = mae_original(mae, rows, cols, dim)
                assert np.allclose(ref, hf, atol=1e-5), f"MAE and transformers disagree on {key}"
            else:
                ref = hf
            arrays[f"mae_{key}"] = ref.astype(np.float32)
            arrays[f"big_vision_{key}"] = posemb_sincos_2d(rows, cols, dim).numpy().astype(np.float32)
            arrays[f"timm_{key}"] = build_sincos2d_pos_embed([rows, cols], dim).numpy().astype(np.float32)
    for n, dim in [(10, 8), (50, 32)]:
        pos = np.arange(n, dtype=np.float32)
        if mae is not None:
            ref = mae.get_1d_sincos_pos_embed_from_grid(dim, pos)
        else:  # the same formula, written out
            omega = 1.0 / 10000 ** (np.arange(dim // 2, dtype=np.float32) / (dim / 2))
            ref = np.concatenate([np.sin(pos[:, None] * omega), np.cos(pos[:, None] * omega)], 1)
        arrays[f"mae1d_{n}_d{dim}"] = ref.astype(np.float32)
    arrays["versions"] = np.array(
        [
            f"torch {torch.__version__}",
            f"timm {version('timm')}",
            f"transformers {version('transformers')}",
            f"vit-pytorch {version('vit-pytorch')}",
            f"mae {'scratch copy a9f5c70' if mae else 'transformers'}",
        ]
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.1f} KB, {len(arrays)} arrays)")


if __name__ == "__main__":
    main()
