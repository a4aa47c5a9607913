"""Regenerate the FlexiViT kernel-resize fixtures from timm (the reference implementation).

Run from the repository root with the scratch reference environment (it has timm):

    /work/refvenv/bin/python tests/make_flexi_fixtures.py

It writes ``tests/fixtures/flexi_resample.npz``: small random kernels and what
``timm.layers.resample_patch_embed`` makes of them, for growing and shrinking kernels, square and
non-square, with bicubic + antialias (timm's default) and bilinear without antialias
(big_vision's FlexiViT resize). ``tests/test_flexi.py`` compares vitlearn against it without timm.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import timm
import torch
from timm.layers import resample_patch_embed

OUT = Path(__file__).parent / "fixtures" / "flexi_resample.npz"

# (name, old (rows, cols), new (rows, cols))
CASES = [
    ("up_square", (4, 4), (8, 8)),
    ("up_odd", (4, 4), (7, 7)),
    ("down_square", (8, 8), (4, 4)),
    ("down_odd", (8, 8), (5, 5)),
    ("up_nonsquare", (3, 5), (6, 8)),
    ("down_nonsquare", (6, 4), (3, 2)),
]
MODES = [("bicubic_aa", "bicubic", True), ("bilinear_noaa", "bilinear", False)]


def main() -> None:
    gen = torch.Generator().manual_seed(0)
    arrays: dict[str, np.ndarray] = {}
    for name, old, new in CASES:
        weight = torch.randn(6, 3, *old, generator=gen)  # (D, C, ph, pw)
        arrays[f"{name}__weight"] = weight.numpy()
        arrays[f"{name}__new_size"] = np.array(new)
        for mode_name, interpolation, antialias in MODES:
            out = resample_patch_embed(
                weight, list(new), interpolation=interpolation, antialias=antialias
            )
            arrays[f"{name}__{mode_name}"] = out.numpy()
    arrays["timm_version"] = np.array(timm.__version__)
    arrays["torch_version"] = np.array(torch.__version__)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **arrays)
    print(
        f"wrote {OUT} ({OUT.stat().st_size} bytes), timm {timm.__version__}, torch {torch.__version__}"
    )


if __name__ == "__main__":
    main()
