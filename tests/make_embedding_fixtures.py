"""Make tests/fixtures/embedding_timm_vit.npz: timm's ViT embedding, for ``vitlearn.ViTEmbedding``.

Regenerate, from the repository root, in the reference venv (see tests/reference/README.md):

    python tests/make_embedding_fixtures.py

``--out`` is where the file goes (default: tests/fixtures/embedding_timm_vit.npz). It needs timm
(from ``tests/requirements-reference.txt``); the tests never import it.

For a few small configurations it builds timm's ``VisionTransformer`` (depth 1), fills every
embedding parameter with random values (timm starts the class and register tokens at ~1e-6, too
small to catch a misplaced token), runs an input through ``patch_embed`` and ``_pos_embed`` (the
tokens just before the first block) and saves, per configuration, the embedding's state dict
entries, the input and those tokens.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "reference"))  # fetch_sources, cpu_kernels
DEFAULT_OUT = HERE / "fixtures" / "embedding_timm_vit.npz"

# name -> VisionTransformer keyword arguments (all tiny: the fixture must stay small)
CASES: dict[str, dict] = {
    "cls_learned": dict(img_size=16, patch_size=4, embed_dim=16),
    "nonsquare_grid": dict(img_size=(8, 12), patch_size=4, embed_dim=8, in_chans=2),
    "cls_reg": dict(img_size=16, patch_size=8, embed_dim=12, reg_tokens=2),
    "cls_reg_no_embed_class": dict(
        img_size=16, patch_size=8, embed_dim=12, reg_tokens=3, no_embed_class=True
    ),
    "no_class_token": dict(
        img_size=12, patch_size=4, embed_dim=8, class_token=False, global_pool="avg"
    ),
    "no_pos_embed": dict(img_size=8, patch_size=4, embed_dim=8, pos_embed="none"),
}

EMBED_KEYS = (
    "cls_token",
    "reg_token",
    "pos_embed",
    "patch_embed.proj.weight",
    "patch_embed.proj.bias",
)


def build() -> dict:
    """Every array of the fixture, by name."""
    import numpy as np
    import timm
    import torch
    from timm.models.vision_transformer import VisionTransformer

    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, dict] = {}
    for i, (name, kwargs) in enumerate(CASES.items()):
        torch.manual_seed(i)
        model = VisionTransformer(depth=1, num_heads=2, num_classes=0, **kwargs).eval()
        with torch.no_grad():
            for key, p in model.named_parameters():
                if key in EMBED_KEYS:
                    p.copy_(torch.randn_like(p) * 0.5)
        state = {k: v for k, v in model.state_dict().items() if k in EMBED_KEYS}
        img = kwargs["img_size"]
        h, w = (img, img) if isinstance(img, int) else img
        x = torch.rand(2, kwargs.get("in_chans", 3), h, w)
        with torch.no_grad():
            tokens = model._pos_embed(model.patch_embed(x))
        for key, value in state.items():
            arrays[f"{name}/state/{key}"] = value.numpy()
        arrays[f"{name}/input"] = x.numpy()
        arrays[f"{name}/tokens"] = tokens.numpy()
        meta[name] = {
            "timm_kwargs": {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()},
            "state_keys": list(state),
            "num_prefix_tokens": model.num_prefix_tokens,
        }
    arrays["meta"] = np.array(json.dumps({"timm_version": timm.__version__, "cases": meta}))
    return arrays


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"the .npz file to write (default: {DEFAULT_OUT.relative_to(HERE.parent)})",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from cpu_kernels import pin_cpu_kernels

    pin_cpu_kernels()  # before torch loads: the same bits on any x86-64 machine
    import numpy as np

    arrays = build()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.1f} KB, {len(CASES)} cases)")


if __name__ == "__main__":
    main()
