"""Make tests/fixtures/resample_reference.npz: position tables resampled by the reference libraries.

Regenerate, from the repository root, in the reference venv (see tests/reference/README.md):

    python tests/make_resample_fixtures.py --sources tests/reference/_src

``--sources`` is the folder ``tests/reference/fetch_sources.py`` fills (its default too); ``--out``
is where the file goes (default: tests/fixtures/resample_reference.npz).

timm, transformers and scipy come from ``tests/requirements-reference.txt``. MAE and DINOv2 are not
on PyPI; their code is fetched at pinned commits, checked by sha256 and loaded from ``--sources``:

- MAE: ``interpolate_pos_embed`` from facebookresearch/mae ``util/pos_embed.py``;
- DINOv2: ``DinoVisionTransformer.interpolate_pos_encoding`` from facebookresearch/dinov2
  ``dinov2/models/vision_transformer.py`` (the version before its Feb 2024 fix: ``dinov2_legacy``),
  called as a plain function of a stand-in ``self``.

Each case stores ``<name>/in`` (1, prefix + rows*cols, D), ``<name>/out`` and, in ``cases``, a JSON
list of {name, recipe, old, new, prefix}. The tests read only the .npz file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "reference"))  # fetch_sources, cpu_kernels
DEFAULT_OUT = HERE / "fixtures" / "resample_reference.npz"
DEFAULT_SOURCES = HERE / "reference" / "_src"
DIM = 6


def table(gen, prefix: int, rows: int, cols: int, dtype=None):
    """A random (1, prefix + rows*cols, DIM) table, drawn from ``gen`` in float32, then cast."""
    import torch

    t = torch.randn(1, prefix + rows * cols, DIM, generator=gen) * 0.5
    return t if dtype is None else t.to(dtype)


def reference_recipes(sources: Path) -> dict:
    """recipe name -> f(table, old, new, prefix) -> resampled table, each calling its reference."""
    import numpy as np
    import scipy.ndimage
    import torch
    from fetch_sources import load_dinov2_interpolate_pos_encoding, load_mae_pos_embed
    from timm.layers import resample_abs_pos_embed
    from transformers import ViTConfig
    from transformers.models.vit.modeling_vit import ViTEmbeddings

    mae = load_mae_pos_embed(sources)
    dinov2_interpolate_pos_encoding = load_dinov2_interpolate_pos_encoding(sources)

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
        # google-research/vision_transformer vit_jax/checkpoint.py load_pretrained, on numpy; the
        # zoom factor is given per axis so that non-square grids use the same call.
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
        return dinov2_interpolate_pos_encoding(fake_self, x, new[0] * patch, new[1] * patch)

    return {
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


def build(sources: Path) -> dict:
    """Every array of the fixture, by name."""
    import numpy as np
    import scipy
    import timm
    import torch
    import transformers
    from timm.layers import resample_abs_pos_embed

    refs = reference_recipes(sources)
    gen = torch.Generator().manual_seed(0)
    arrays: dict[str, np.ndarray] = {}
    meta = []
    for i, (recipe, old, new, prefix) in enumerate(CASES):
        name = f"{i:02d}_{recipe}_{old[0]}x{old[1]}_to_{new[0]}x{new[1]}_p{prefix}"
        t = table(gen, prefix, *old)
        with torch.no_grad():
            out = refs[recipe](t, old, new, prefix)
        assert out.shape == (1, prefix + new[0] * new[1], DIM), (name, out.shape)
        arrays[f"{name}/in"] = t.numpy()
        arrays[f"{name}/out"] = out.detach().float().numpy()
        meta.append({"name": name, "recipe": recipe, "old": old, "new": new, "prefix": prefix})
    # a half-precision table through timm (which computes in float32 and casts back)
    t16 = table(gen, 1, 4, 4, torch.float16)
    out16 = resample_abs_pos_embed(t16, [6, 3], old_size=[4, 4], num_prefix_tokens=1)
    assert out16.dtype == torch.float16
    arrays["float16_timm/in"] = t16.numpy()
    arrays["float16_timm/out"] = out16.numpy()
    meta.append(
        {"name": "float16_timm", "recipe": "timm", "old": (4, 4), "new": (6, 3), "prefix": 1}
    )
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
    print(
        f"wrote {args.out} ({args.out.stat().st_size} bytes, "
        f"{len(json.loads(str(arrays['cases'])))} cases)"
    )


if __name__ == "__main__":
    main()
