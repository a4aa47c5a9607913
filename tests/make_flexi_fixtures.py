"""Make tests/fixtures/flexi_resample.npz: FlexiViT kernel resizes by timm (the reference).

Regenerate, from the repository root, in the reference venv (see tests/reference/README.md):

    python tests/make_flexi_fixtures.py

``--out`` is where the file goes (default: tests/fixtures/flexi_resample.npz). It needs timm (from
``tests/requirements-reference.txt``); ``tests/test_flexi.py`` compares vitlearn against the file
without it.

The file holds small random kernels and what ``timm.layers.resample_patch_embed`` makes of them,
for growing and shrinking kernels, square and non-square, with bicubic + antialias (timm's default)
and bilinear without antialias (big_vision's FlexiViT resize).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "reference"))  # fetch_sources, cpu_kernels
DEFAULT_OUT = HERE / "fixtures" / "flexi_resample.npz"

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


def build() -> dict:
    """Every array of the fixture, by name."""
    import numpy as np
    import timm
    import torch
    from timm.layers import resample_patch_embed

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
    print(
        f"wrote {args.out} ({args.out.stat().st_size} bytes), "
        f"timm {arrays['timm_version']}, torch {arrays['torch_version']}"
    )


if __name__ == "__main__":
    main()
