"""Notebook 09's experiment at several seeds: is the rescaling's gain more than seed noise?

    python benchmarks/anyres_seeds.py --seeds 0 1 2

trains notebook 09's six position schemes (same recipe, same test sizes, one thread) once per
seed and prints, per seed, the accuracy at every test size and the mean away from the training
size. Seed 0 reproduces the notebook's table. About a minute of CPU per seed.
"""

from __future__ import annotations

import argparse
import copy

import numpy as np
import torch

from vitlearn import (
    DEFAULT_RECIPE,
    evaluate,
    grid_shape,
    make_trained_tiny_vit,
    render_scenes,
    resample_pos_embed,
)
from vitlearn.anyres import TEST_SIZES as SIZES

P = 8
TRAIN_SIZE = (32, 32)
BOX = {"temperature": 100.0, "normalize_coords": "separate"}
SCHEMES = {  # as in notebooks/09_any_resolution.ipynb, section 2
    "none": ("none", None),
    "learned + interpolation": ("learned", None),
    "sin-cos, recomputed": ("sincos", None),
    "RoPE, patch indices": ("rope", None),
    "RoPE, DINOv3 box": ("rope", BOX),
    "RoPE, box + rescale": ("rope", {**BOX, "rescale_coords": 2.0}),
}


def at_size(model: torch.nn.Module, size: tuple[int, int]) -> torch.nn.Module:
    grid = grid_shape(size, P)
    if model.pos_embed_kind != "learned" or grid == model.grid_size:
        return model
    resized = copy.deepcopy(model)
    resized.set_pos_embed(resample_pos_embed(model.pos_embed.detach(), grid, recipe="timm"), grid)
    return resized


def run(seed: int) -> dict[str, dict[tuple[int, int], float]]:
    acc: dict[str, dict[tuple[int, int], float]] = {}
    images = None
    for name, (kind, kw) in SCHEMES.items():
        steps = 100 if kind == "none" else DEFAULT_RECIPE.steps
        trained = make_trained_tiny_vit(
            kind, rope_kwargs=kw, seed=seed, steps=steps, progress=False
        )
        if images is None:
            images = {s: render_scenes(trained.test_scenes, s) for s in SIZES}
        acc[name] = {
            s: evaluate(at_size(trained.model, s), images[s], trained.test_labels) for s in SIZES
        }
    return acc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    away = [s for s in SIZES if s != TRAIN_SIZE]
    for seed in args.seeds:
        acc = run(seed)
        print(
            f"{f'seed {seed}':>26}" + "".join(f"{f'{h}x{w}':>7}" for h, w in SIZES) + "   mean away"
        )
        for name, row in acc.items():
            mean = float(np.mean([row[s] for s in away]))
            print(f"  {name:>24}" + "".join(f"{row[s]:>7.3f}" for s in SIZES) + f"{mean:>12.3f}")


if __name__ == "__main__":
    main()
