"""The any-resolution ViTs: notebook 09's five tiny ViTs, one per position scheme, shipped.

Notebook 09 asks what each way of giving a patch its position does on a grid the model never
trained on, with no fine-tuning. Its five models are notebook 05's tiny ViT
(:data:`vitlearn.DEFAULT_RECIPE`: the relation scenes at 32 px, 8 px patches, a 4 x 4 grid, 600
steps) with the five position schemes of :data:`vitlearn.anyres.POSITION_SCHEMES`, each trained by
the same seeded call, :func:`vitlearn.make_trained_tiny_vit`. Training all five takes about half a
minute of CPU, more than the notebook's budget and no part of its lesson, so the models of one seed
ship here and the notebook only measures them. The experiment was run for several seeds; the
record keeps the accuracy of every seed, scheme and test size, so that the notebook can say which
of its findings hold for every seed and which for its one seed only.

- :func:`load_anyres_vits`: the shipped models, ``{scheme: TinyViT}``, in eval mode.
- :func:`load_anyres_record`: the record: recipe, schemes, test sizes, and per seed and scheme the
  accuracy at each test size and the training time.
- :func:`for_size`: a model ready for images of another size (a learned table resized with timm's
  recipe; every other scheme computes its codes for the grid it receives).
- :func:`test_split` and :func:`accuracy_at_sizes`: the scenes every model is measured on, and the
  measurement.
- :func:`train_anyres_vits`: the experiment again; ``python -m vitlearn train-anyres-vits`` is the
  same function on the command line.

The per-seed figures are in ``vitlearn/trained/weights/anyres_vits.md``.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import platform
import sys
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._checks import as_pair, check_int
from .._state import threads as torch_threads
from ..anyres import POSITION_SCHEMES, TEST_SIZES
from ..data import Scenes, make_scenes, render_scenes
from ..models import TinyViT
from ..patches import grid_shape
from ..resample import resample_pos_embed
from ..training import DEFAULT_RECIPE, TrainRecipe, build_model, evaluate, make_trained_tiny_vit

__all__ = [
    "DEFAULT_SEEDS",
    "accuracy_at_sizes",
    "for_size",
    "load_anyres_record",
    "load_anyres_vits",
    "test_split",
    "train_anyres_vits",
]

WEIGHTS_FILE = "anyres_vits.pt"
RECORD_FILE = "anyres_vits.json"
COMMAND = "python -m vitlearn train-anyres-vits"
_DEFAULT_OUT = Path("anyres_vits")
RECORD_FORMAT = 1
DEFAULT_SEEDS = (0, 1, 2, 3, 4)
"""The seeds the shipped record covers; the first one's models are the shipped weights."""


# -- measuring a model at another size -----------------------------------------------------------


def for_size(model: TinyViT, size: int | Sequence[int]) -> TinyViT:
    """``model`` ready for ``(B, 3, H, W)`` images of ``size`` = ``H`` or ``(H, W)``.

    A learned table is resized to the new grid with timm's recipe (:func:`vitlearn.resample_pos_
    embed`, bicubic, antialiased) in a copy of the model; every other scheme computes its codes for
    the grid it receives, so the model itself is returned. ``model`` is never changed.
    """
    grid = grid_shape(size, model.patch_size)
    if model.pos_embed_kind != "learned" or grid == tuple(model.grid_size):
        return model
    resized = copy.deepcopy(model)
    resized.set_pos_embed(resample_pos_embed(model.pos_embed.detach(), grid, recipe="timm"), grid)
    return resized.eval()


def test_split(recipe: TrainRecipe = DEFAULT_RECIPE, seed: int = 0) -> Scenes:
    """The test scenes of :func:`vitlearn.make_trained_tiny_vit` for ``seed``: ``recipe.n_test``
    scenes of ``recipe.task`` drawn with ``seed + 1000``, at no size yet (draw them with
    :func:`vitlearn.render_scenes`); their labels are ``scenes.labels``."""
    seed = check_int(seed, "seed", minimum=0)
    cells = {} if recipe.cells is None else {"cells": recipe.cells}
    return make_scenes(recipe.n_test, seed=seed + 1000, task=recipe.task, **cells)


def accuracy_at_sizes(
    models: Mapping[str, TinyViT],
    scenes: Scenes,
    sizes: Sequence[tuple[int, int]] = TEST_SIZES,
) -> dict[str, dict[tuple[int, int], float]]:
    """``{name: {(H, W): accuracy}}``: each model (through :func:`for_size`) on ``scenes`` drawn at
    each size ``(H, W)``; each size is drawn once for all the models."""
    labels = torch.from_numpy(scenes.labels)
    acc: dict[str, dict[tuple[int, int], float]] = {name: {} for name in models}
    for size in sizes:
        size = (int(size[0]), int(size[1]))
        images = render_scenes(scenes, size)  # (n, 3, H, W)
        for name, model in models.items():
            acc[name][size] = evaluate(for_size(model, size), images, labels)
    return acc


# -- training ------------------------------------------------------------------------------------


def _build(recipe: TrainRecipe, scheme: str, seed: int) -> TinyViT:
    kind, rope_kwargs = POSITION_SCHEMES[scheme]
    return build_model(recipe.replace(pos_embed=kind, seed=seed), rope_kwargs=rope_kwargs)


def _vitlearn_version() -> str:
    from .. import __version__

    return __version__


def train_anyres_vits(
    out: str | os.PathLike[str] | None = None,
    *,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    steps: int | None = None,
    threads: int | None = 1,
    progress: bool = False,
) -> dict[str, Any]:
    """Train the five schemes of :data:`vitlearn.anyres.POSITION_SCHEMES` once per seed, measure
    each at every size of :data:`vitlearn.anyres.TEST_SIZES`, and return the record.

    Each model is ``make_trained_tiny_vit(kind, rope_kwargs=..., seed=seed)``, the call notebook
    05 makes (:data:`vitlearn.DEFAULT_RECIPE`; ``steps`` replaces its 600 steps). Each is
    measured on its seed's :func:`test_split`. ``threads``: torch threads meanwhile (restored
    afterwards; None keeps the count). With ``out`` given, writes ``out/anyres_vits.pt`` (the state
    dicts of the first seed's models, ``{scheme: state_dict}``) and ``out/anyres_vits.json`` (the
    record); :func:`load_anyres_vits` ``(out)`` loads them. The returned record also holds
    ``"models"``: the first seed's models, in eval mode.
    """
    seeds = [check_int(s, "seed", minimum=0) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds: give one or more different seeds, got {list(seeds)}")
    if threads is not None:
        check_int(threads, "threads")
    recipe = DEFAULT_RECIPE if steps is None else DEFAULT_RECIPE.replace(steps=steps)
    per_seed: dict[str, dict[str, Any]] = {}
    shipped: dict[str, TinyViT] = {}
    with torch_threads(threads):
        used_threads = torch.get_num_threads()
        for seed in seeds:
            models, seconds = {}, {}
            for scheme, (kind, rope_kwargs) in POSITION_SCHEMES.items():
                run = make_trained_tiny_vit(
                    kind, rope_kwargs=rope_kwargs, recipe=recipe, seed=seed, progress=progress
                )
                models[scheme], seconds[scheme] = run.model.eval(), run.history["seconds"]
            acc = accuracy_at_sizes(models, test_split(recipe, seed))
            per_seed[str(seed)] = {
                scheme: {
                    "accuracy": [round(acc[scheme][s], 6) for s in TEST_SIZES],
                    "train_seconds": round(seconds[scheme], 2),
                }
                for scheme in POSITION_SCHEMES
            }
            if not shipped:
                shipped = models
    command = COMMAND
    if recipe.steps != DEFAULT_RECIPE.steps:
        command += f" --steps {recipe.steps}"
    if list(seeds) != list(DEFAULT_SEEDS):
        command += " --seeds " + " ".join(map(str, seeds))
    if out is not None and Path(out) != _DEFAULT_OUT:
        command += f" --out {out}"
    record: dict[str, Any] = {
        "format": RECORD_FORMAT,
        "command": command,
        "created": datetime.date.today().isoformat(),
        "config": recipe.to_dict(),
        "schemes": {
            name: {"pos_embed": kind, "rope_kwargs": kw}
            for name, (kind, kw) in POSITION_SCHEMES.items()
        },
        "test_sizes": [list(s) for s in TEST_SIZES],
        "n_test": recipe.n_test,
        "shipped_seed": seeds[0],
        "seeds": per_seed,
        "threads": used_threads,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "vitlearn": _vitlearn_version(),
        },
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
    }
    if out is not None:
        path = Path(out)
        path.mkdir(parents=True, exist_ok=True)
        states = {
            name: {k: v.detach().cpu().clone() for k, v in m.state_dict().items()}
            for name, m in shipped.items()
        }
        torch.save(states, path / WEIGHTS_FILE)
        (path / RECORD_FILE).write_text(json.dumps(record, indent=1) + "\n")
    return {**record, "models": shipped}


# -- loading -------------------------------------------------------------------------------------


def _file(directory: str | os.PathLike[str] | None, name: str) -> Path:
    if directory is None:
        path = Path(str(resources.files("vitlearn.trained") / "weights" / name))
    else:
        path = Path(directory) / name
    if not path.is_file():
        where = "the installed vitlearn package" if directory is None else f"folder {directory}"
        fix = (
            "reinstall vitlearn"
            if directory is None
            else f"train them there with `{COMMAND} --out {directory}`"
        )
        raise FileNotFoundError(f"{name} not found in {where} ({path}); {fix}")
    return path


def load_anyres_record(directory: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The record of :func:`train_anyres_vits` (default: the one shipped in the package).

    Keys: ``command``, ``config`` (the recipe's fields), ``schemes``, ``test_sizes`` (``[H, W]``
    each), ``n_test``, ``shipped_seed``, ``seeds`` (``{seed: {scheme: {"accuracy": [one per test
    size], "train_seconds": s}}}``, seeds as strings), ``versions``, ...; and ``recipe``, the
    :class:`vitlearn.TrainRecipe`, and ``accuracy``, ``{seed: {scheme: {(H, W): accuracy}}}`` with
    int seeds and tuple sizes, the same numbers easier to index.
    """
    record = json.loads(_file(directory, RECORD_FILE).read_text())
    if record.get("format") != RECORD_FORMAT:
        raise ValueError(
            f"{RECORD_FILE}: record format {record.get('format')!r}, this vitlearn reads format "
            f"{RECORD_FORMAT}; make it again with `{COMMAND}`"
        )
    record["recipe"] = TrainRecipe.from_dict(record["config"])
    sizes = [tuple(s) for s in record["test_sizes"]]
    record["accuracy"] = {
        int(seed): {
            scheme: dict(zip(sizes, row["accuracy"], strict=True)) for scheme, row in runs.items()
        }
        for seed, runs in record["seeds"].items()
    }
    return record


def load_anyres_vits(directory: str | os.PathLike[str] | None = None) -> dict[str, TinyViT]:
    """The five trained models, ``{scheme: TinyViT}`` in :data:`~vitlearn.anyres.POSITION_SCHEMES`'s
    order, each in eval mode: ``(B, 3, 32, 32) -> (B, 4)`` logits at the training size.

    ``directory``: where :func:`train_anyres_vits` wrote them (default: the ones shipped in the
    package, seed 0). Nothing is downloaded; the weights are read with
    ``torch.load(weights_only=True)``. Each model carries ``model.recipe`` and ``model.meta``
    (``scheme``, ``seed``, ``test_accuracy`` at 32 px, ``command``).
    """
    record = load_anyres_record(directory)
    states = torch.load(_file(directory, WEIGHTS_FILE), map_location="cpu", weights_only=True)
    if list(states) != list(POSITION_SCHEMES):
        raise ValueError(
            f"{WEIGHTS_FILE} holds the schemes {list(states)}, expected {list(POSITION_SCHEMES)}"
        )
    seed = record["shipped_seed"]
    models = {}
    for scheme, state in states.items():
        model = _build(record["recipe"], scheme, seed)
        model.load_state_dict(state)
        model.eval()
        model.recipe = record["recipe"].replace(pos_embed=POSITION_SCHEMES[scheme][0], seed=seed)
        model.meta = {
            "scheme": scheme,
            "seed": seed,
            "test_accuracy": record["seeds"][str(seed)][scheme]["accuracy"][0],
            "command": record["command"],
        }
        models[scheme] = model
    return models


# -- the command line ----------------------------------------------------------------------------

HELP = "train notebook 09's five tiny ViTs (one per position scheme) and measure them at every size"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out",
        type=Path,
        default=_DEFAULT_OUT,
        help="folder to write anyres_vits.pt/.json into (default: ./anyres_vits; the shipped "
        "models live in vitlearn/trained/weights)",
    )
    p.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=list(DEFAULT_SEEDS),
        help="seeds to run; the first one's models are written (default: 0 1 2 3 4)",
    )
    p.add_argument("--steps", type=int, default=DEFAULT_RECIPE.steps, help="training steps")
    p.add_argument(
        "--threads", type=int, default=1, help="torch threads while training (default 1)"
    )


def run(args: argparse.Namespace) -> None:
    record = train_anyres_vits(args.out, seeds=args.seeds, steps=args.steps, threads=args.threads)
    sizes = [tuple(s) for s in record["test_sizes"]]
    train_size = as_pair(record["config"]["img_size"], "img_size")
    away = [i for i, s in enumerate(sizes) if s != train_size]
    for seed, runs in record["seeds"].items():
        print(
            f"{f'seed {seed}':>26}" + "".join(f"{f'{h}x{w}':>7}" for h, w in sizes) + "   mean away"
        )
        for scheme, row in runs.items():
            mean = float(np.mean([row["accuracy"][i] for i in away]))
            print(
                f"  {scheme:>24}"
                + "".join(f"{a:>7.3f}" for a in row["accuracy"])
                + f"{mean:>12.3f}"
            )
    print(f"wrote {args.out}", file=sys.stdout)
