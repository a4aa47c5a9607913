"""Make tests/fixtures/resample_reference.npz: position tables resampled by the reference libraries.

Regenerate with the reference environment (timm, transformers, scipy):

    /work/refvenv/bin/python tests/make_resample_fixtures.py [SCRATCH_DIR]

MAE and DINOv2 are not on PyPI. Their functions are read from a scratch directory OUTSIDE this
repository (default /work/scratch/refsrc), imported by path:

- ``mae_pos_embed.py``: ``interpolate_pos_embed`` from facebookresearch/mae ``util/pos_embed.py``
  (commit a9f5c70165c6ec81ce4036d9c2296ab70b7042f9), copied verbatim;
- ``dinov2_interp.py``: ``DinoVisionTransformer.interpolate_pos_encoding`` from
  facebookresearch/dinov2 ``dinov2/models/vision_transformer.py`` (commit
  027a9ac3ac5ac2efcaeef5281519a37996a22af4), copied verbatim as a function of ``self``.

Each case stores ``<name>/in`` (1, prefix + rows*cols, D), ``<name>/out`` and, in ``cases``, a JSON
list of {name, recipe, old, new, prefix}. The tests read only the .npz file.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import scipy
import scipy.ndimage
import timm
import torch
import transformers
from timm.layers import resample_abs_pos_embed
from transformers import ViTConfig
from transformers.models.vit.modeling_vit import ViTEmbeddings

OUT = Path(__file__).parent / "fixtures" / "resample_reference.npz"
SCRATCH = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/scratch/refsrc")
DIM = 6


def load_by_path(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


mae = load_by_path("mae_pos_embed", SCRATCH / "mae_pos_embed.py")
dinov2 = load_by_path("dinov2_interp", SCRATCH / "dinov2_interp.py")

gen = torch.Generator().manual_seed(0)


def table(prefix: int, rows: int, cols: int, dtype=torch.float32) -> torch.Tensor:
    return (torch.randn(1, prefix + rows * cols, DIM, generator=gen) * 0.5).to(dtype)


def ref_timm(t, old, new, prefix):
    return resample_abs_pos_embed(t, list(new), old_size=list(old), num_prefix_tokens=prefix)


def ref_hf(t, old, new, prefix):
    assert prefix == 1 and old[0] == old[1]
    patch = 4
    emb = ViTEmbeddings(ViTConfig(image_size=old[0] * patch, patch_size=patch, hidden_size=DIM))
    with torch.no_grad():
        emb.position_embeddings.copy_(t)
        tokens = torch.zeros(1, 1 + new[0] * new[1], DIM)
        return emb.interpolate_pos_encoding(tokens, new[0] * patch, new[1] * patch)


def ref_mae(t, old, new, prefix):
    assert old[0] == old[1] and new[0] == new[1]
    model = SimpleNamespace(
        patch_embed=SimpleNamespace(num_patches=new[0] * new[1]),
        pos_embed=torch.zeros(1, prefix + new[0] * new[1], DIM),
    )
    ckpt = {"pos_embed": t.clone()}
    mae.interpolate_pos_embed(model, ckpt)
    return ckpt["pos_embed"]


def ref_vit_jax(t, old, new, prefix):
    # google-research/vision_transformer vit_jax/checkpoint.py load_pretrained, on numpy; the zoom
    # factor is given per axis so that non-square grids use the same call.
    posemb = t.numpy()
    posemb_tok, posemb_grid = posemb[:, :prefix], posemb[0, prefix:]
    posemb_grid = posemb_grid.reshape(old[0], old[1], -1)
    zoom = (new[0] / old[0], new[1] / old[1], 1)
    posemb_grid = scipy.ndimage.zoom(posemb_grid, zoom, order=1)
    assert posemb_grid.shape[:2] == tuple(new)
    posemb_grid = posemb_grid.reshape(1, new[0] * new[1], -1)
    return torch.from_numpy(np.concatenate([posemb_tok, posemb_grid], axis=1))


def ref_dinov2(t, old, new, prefix):
    assert prefix == 1 and old[0] == old[1]
    patch = 4
    fake_self = SimpleNamespace(pos_embed=t, patch_size=patch)
    x = torch.zeros(1, 1 + new[0] * new[1], DIM)
    # DINOv2 unpacks B, nc, w, h = x.shape: its "w" is the image's height (rows)
    return dinov2.interpolate_pos_encoding(fake_self, x, new[0] * patch, new[1] * patch)


REFS = {
    "timm": ref_timm,
    "hf": ref_hf,
    "mae": ref_mae,
    "vit_jax": ref_vit_jax,
    "dinov2_legacy": ref_dinov2,
}

CASES = [
    # recipe, old (rows, cols), new (rows, cols), prefix tokens
    ("timm", (4, 4), (6, 6), 1),
    ("timm", (6, 6), (4, 4), 1),
    ("timm", (3, 5), (6, 4), 1),
    ("timm", (5, 5), (7, 3), 0),
    ("timm", (4, 4), (5, 7), 5),  # class token + 4 registers
    ("timm", (7, 7), (3, 3), 0),
    ("timm", (14, 14), (24, 24), 1),
    ("hf", (4, 4), (6, 6), 1),
    ("hf", (6, 6), (4, 4), 1),
    ("hf", (4, 4), (3, 7), 1),
    ("hf", (5, 5), (8, 5), 1),
    ("hf", (14, 14), (24, 24), 1),
    ("mae", (4, 4), (6, 6), 1),
    ("mae", (6, 6), (4, 4), 2),  # class + distillation token (DeiT)
    ("mae", (5, 5), (7, 7), 0),
    ("vit_jax", (4, 4), (6, 6), 1),
    ("vit_jax", (6, 6), (4, 4), 0),
    ("vit_jax", (5, 5), (3, 3), 1),
    ("vit_jax", (4, 6), (7, 3), 1),
    ("vit_jax", (14, 14), (24, 24), 1),
    ("dinov2_legacy", (4, 4), (6, 6), 1),
    ("dinov2_legacy", (6, 6), (4, 4), 1),
    ("dinov2_legacy", (4, 4), (7, 5), 1),
    ("dinov2_legacy", (14, 14), (24, 24), 1),
    ("dinov2_legacy", (14, 14), (10, 10), 1),
]


def main() -> None:
    arrays: dict[str, np.ndarray] = {}
    meta = []
    for i, (recipe, old, new, prefix) in enumerate(CASES):
        name = f"{i:02d}_{recipe}_{old[0]}x{old[1]}_to_{new[0]}x{new[1]}_p{prefix}"
        t = table(prefix, *old)
        with torch.no_grad():
            out = REFS[recipe](t, old, new, prefix)
        assert out.shape == (1, prefix + new[0] * new[1], DIM), (name, out.shape)
        arrays[f"{name}/in"] = t.numpy()
        arrays[f"{name}/out"] = out.detach().float().numpy()
        meta.append({"name": name, "recipe": recipe, "old": old, "new": new, "prefix": prefix})
    # a half-precision table through timm (which computes in float32 and casts back)
    t16 = table(1, 4, 4, torch.float16)
    out16 = resample_abs_pos_embed(t16, [6, 3], old_size=[4, 4], num_prefix_tokens=1)
    assert out16.dtype == torch.float16
    arrays["float16_timm/in"] = t16.numpy()
    arrays["float16_timm/out"] = out16.numpy()
    meta.append({"name": "float16_timm", "recipe": "timm", "old": (4, 4), "new": (6, 3), "prefix": 1})
    arrays["cases"] = np.array(json.dumps(meta))
    arrays["versions"] = np.array(
        json.dumps(
            {
                "torch": torch.__version__,
                "timm": timm.__version__,
                "transformers": transformers.__version__,
                "scipy": scipy.__version__,
            }
        )
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(meta)} cases)")


if __name__ == "__main__":
    main()
