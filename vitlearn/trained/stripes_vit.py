"""The stripes ViT: a tiny ViT trained at 24 px, shipped to be fine-tuned at 48 px.

Why do the ViT paper, DeiT and FixRes fine-tune at a higher resolution than they pre-train at?
A higher resolution shows more detail and costs more tokens; a table resized from the low
resolution is a warm start that makes the fine-tune short. This module holds the model and the
experiment that show it on a task built for the purpose: :func:`vitlearn.make_scenes` ``"stripes"``
(the relation of a red and a blue shape, and whether both are plain or striped). At 24 px the
stripes are averaged away, exactly: a model trained there can read the relation but not the
stripes, so its best accuracy is 1/2. At 48 px the stripes show.

- :data:`STRIPES_VIT_RECIPE`: the pre-training at 24 px, 4 px patches (a 6 x 6 grid, 37 tokens),
  its table started as timm's (truncated normal, std 0.02). It differs from the course ViT
  (:mod:`vitlearn.trained.course_vit`: 56 px, 14 x 14 grid, width 64, 3000 steps of 64 scenes) in
  its task, its width (32; both have 2 blocks of 2 heads) and its training (1000 steps of 32).
- :func:`fine_tune_recipe`: the fine-tune at twice the resolution, the same patch size (a 12 x 12
  grid, 145 tokens), :data:`FINE_TUNE_STEPS` steps; the model trained from scratch at 48 px for the
  same number of steps uses the same recipe and the same scenes, only its start differs.
- :func:`load_stripes_vit` returns the shipped model (seed 0) with ``model.meta``;
  :func:`load_stripes_vit_record` the record of every seed the command ran.
- :func:`train_stripes_vit` runs the whole experiment for each seed (pre-training, the model at
  48 px with its table flattened or resized, the fine-tune, from scratch for the fine-tune's steps
  and for the full budget, seconds per step) and writes the first seed's weights and the record;
  ``python -m vitlearn train-stripes-vit`` is the same function on the command line.

How the task and the recipe were chosen, and the per-seed figures, are in
``vitlearn/trained/weights/stripes_vit.md``.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._checks import check_int
from .._state import one_thread
from .._state import threads as torch_threads
from ..models import TinyViT
from ..resample import flattened_resample, resample_pos_embed
from ..training import TrainRecipe, build_model, evaluate, render_task, scene_batches, train
from ._recipe_cli import add_recipe_options, recipe_command, recipe_from_options

__all__ = [
    "FINE_TUNE_STEPS",
    "STRIPES_VIT_RECIPE",
    "fine_tune_recipe",
    "load_stripes_vit",
    "load_stripes_vit_record",
    "resized_copy",
    "run_seed",
    "stripes_scores",
    "train_stripes_vit",
]

STRIPES_VIT_RECIPE = TrainRecipe(
    img_size=24,
    patch_size=4,
    embed_dim=32,
    depth=2,
    num_heads=2,
    mlp_ratio=2.0,
    pos_embed="learned",
    global_pool="token",
    pos_embed_std=0.02,
    input_mean=(0.5, 0.5, 0.5),
    input_std=(0.5, 0.5, 0.5),
    task="stripes",
    cells=3,
    n_train=None,
    n_test=1000,
    steps=1000,
    batch_size=32,
    lr=3e-3,
    weight_decay=0.05,
    decay_pos_embed=False,
    warmup=100,
    seed=0,
)
"""The pre-training at 24 px: new scenes at every step (``n_train=None``), pixels mapped to
``[-1, 1]`` and the table started as timm's, as for the course ViT. ``cells=3``: a 3 x 3 grid of
cells, each 2 x 2 patches at 24 px, so the shapes are large enough to carry stripes."""

FINE_TUNE_STEPS = 150
"""Steps of the fine-tune at 48 px (of 32 new scenes each): 15 % of the pre-training's steps."""
FINE_TUNE_LR = 3e-3
FINE_TUNE_WARMUP = 10


def fine_tune_recipe(
    recipe: TrainRecipe = STRIPES_VIT_RECIPE,
    *,
    steps: int = FINE_TUNE_STEPS,
    lr: float = FINE_TUNE_LR,
    warmup: int = FINE_TUNE_WARMUP,
) -> TrainRecipe:
    """The fine-tune of ``recipe``'s model at twice its resolution, with the same patch size
    (so the grid doubles): ``steps`` steps of a linear warm-up over ``warmup`` steps to ``lr``,
    then a cosine decay; the rest as in ``recipe``."""
    size = recipe.img_size
    double = 2 * size if isinstance(size, int) else (2 * size[0], 2 * size[1])
    return recipe.replace(img_size=double, steps=steps, lr=lr, warmup=warmup)


WEIGHTS_FILE = "stripes_vit.pt"
RECORD_FILE = "stripes_vit.json"
COMMAND = "python -m vitlearn train-stripes-vit"
_DEFAULT_OUT = Path("stripes_vit")
RECORD_FORMAT = 1
DEFAULT_SEEDS = (0, 1, 2, 3, 4)
N_VAL = 500
"""Scenes at 48 px measured every :data:`CURVE_EVERY` steps of the fine-tune and of the short run
from scratch."""
CURVE_EVERY = 25

# Scene seeds, per run seed s: validation s*10**6 + 1, test s*10**6 + 2, pre-training batch k
# s*10**6 + 100_000 + k (the full run from scratch at 48 px draws the same scenes), fine-tune batch
# k s*10**6 + 200_000 + k (the short run from scratch draws the same scenes).
_SEED_STRIDE = 1_000_000
_TRAIN_OFFSET = 100_000
_FINE_TUNE_OFFSET = 200_000


def _seeds(seed: int) -> dict[str, int]:
    base = seed * _SEED_STRIDE
    return {
        "model": seed,
        "val": base + 1,
        "test": base + 2,
        "train": base + _TRAIN_OFFSET,
        "fine_tune": base + _FINE_TUNE_OFFSET,
    }


# -- the model at another resolution -------------------------------------------------------------


def resized_copy(model: TinyViT, image_size: int, *, recipe: str = "timm") -> TinyViT:
    """A copy of ``model`` for ``image_size`` px images with the same patch size:
    ``(B, 3, S', S') -> (B, classes)``; ``model`` itself is left as it was.

    Its learned table ``(1, 1 + rows*cols, D)`` is resized to the new grid by
    :func:`vitlearn.resample_pos_embed` with ``recipe`` (one of
    :data:`vitlearn.resample.RECIPES`), or ``recipe="flattened"``: the 1-D mistake,
    :func:`vitlearn.flattened_resample`.
    """
    check_int(image_size, "image_size")
    grid = (image_size // model.patch_size[0], image_size // model.patch_size[1])
    table = model.pos_embed.detach()
    if recipe == "flattened":
        new = flattened_resample(table, grid)
    else:
        new = resample_pos_embed(table, grid, old_size=model.grid_size, recipe=recipe)
    out = copy.deepcopy(model)
    out.set_pos_embed(new, grid)
    return out


# -- the experiment ------------------------------------------------------------------------------


def stripes_scores(
    model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 500
) -> dict[str, float]:
    """How often ``model`` is right on striped scenes ``(n, 3, H, W)`` with ``labels`` ``(n,)``:
    ``accuracy`` (the class), ``relation`` (its relation part, ``label % 4``) and ``fill`` (plain
    or striped, ``label // 4``), each in ``[0, 1]``. Knowing only the relation gives an accuracy of
    1/2; knowing only the fill, 1/4."""
    was_training = model.training
    model.eval()
    with torch.no_grad(), one_thread():
        guess = torch.cat(
            [
                model(images[i : i + batch_size]).argmax(-1)
                for i in range(0, len(images), batch_size)
            ]
        )
    model.train(was_training)
    n = len(labels)
    return {
        "accuracy": int((guess == labels).sum()) / n,
        "relation": int((guess % 4 == labels % 4).sum()) / n,
        "fill": int((guess // 4 == labels // 4).sum()) / n,
    }


def _curve(
    x: torch.Tensor, y: torch.Tensor, every: int, into: list[list[float]], clock: dict[str, float]
) -> Callable[..., dict[str, float] | None]:
    """An ``on_step`` for :func:`vitlearn.training.train`: accuracy on ``x, y`` every ``every``
    steps, appended to ``into`` as ``[step, accuracy]``; the seconds it takes are added to
    ``clock["eval"]``, so that a step's time can be told without them."""

    def on_step(step: int, model: torch.nn.Module, history: dict[str, Any]) -> dict[str, float]:
        if step % every:
            return {}
        start = time.perf_counter()
        into.append([step, evaluate(model, x, y)])
        clock["eval"] = clock.get("eval", 0.0) + time.perf_counter() - start
        return {"val": into[-1][1]}

    return on_step


def run_seed(
    seed: int,
    recipe: TrainRecipe = STRIPES_VIT_RECIPE,
    fine_tune: TrainRecipe | None = None,
    *,
    full_scratch: bool = True,
    n_val: int = N_VAL,
    curve_every: int = CURVE_EVERY,
    progress: bool = True,
) -> dict[str, Any]:
    """The whole experiment for one seed; returns its figures, with ``"model"`` (the model
    pre-trained at ``recipe.img_size``) added.

    Accuracy (and its relation and fill parts, :func:`stripes_scores`) on the same
    ``recipe.n_test`` test scenes, drawn at the low and at the high resolution: the pre-trained
    model at its own size; at the high one with its table flattened,
    resized in 2-D with timm's recipe, and resized then fine-tuned (``fine_tune``, default
    :func:`fine_tune_recipe`); a model trained from scratch at the high resolution with the
    fine-tune's recipe on the fine-tune's scenes; with ``full_scratch``, one trained from scratch
    there with the pre-training's recipe on its scenes. Seconds per step of the pre-training, the
    fine-tune and the full run from scratch (the rendering of each step's scenes included, the
    measurements of the curves not).
    """
    recipe = recipe.replace(seed=seed)
    fine_tune = (fine_tune_recipe(recipe) if fine_tune is None else fine_tune).replace(seed=seed)
    high = fine_tune.img_size
    seeds = _seeds(seed)
    x_low, y_test = render_task(recipe, recipe.n_test, seeds["test"])
    x_high, _ = render_task(recipe, recipe.n_test, seeds["test"], size=high)
    x_val, y_val = render_task(recipe, n_val, seeds["val"], size=high)
    figures: dict[str, Any] = {"seed": seed}

    model = build_model(recipe)
    trained = train(
        model,
        scene_batches(recipe, seeds["train"]),
        recipe,
        progress=progress,
        desc=f"seed {seed}: {recipe.img_size} px",
    )
    figures["seconds_per_step_low"] = trained["seconds"] / recipe.steps
    acc = {"low": stripes_scores(model, x_low, y_test)}
    acc["flattened"] = stripes_scores(resized_copy(model, high, recipe="flattened"), x_high, y_test)
    tuned = resized_copy(model, high, recipe="timm")
    acc["resized"] = stripes_scores(tuned, x_high, y_test)

    curves: dict[str, list[list[float]]] = {"fine_tune": [[0, evaluate(tuned, x_val, y_val)]]}
    clock: dict[str, float] = {}
    done = train(
        tuned,
        scene_batches(fine_tune, seeds["fine_tune"]),
        fine_tune,
        on_step=_curve(x_val, y_val, curve_every, curves["fine_tune"], clock),
        progress=progress,
        desc=f"seed {seed}: fine-tune",
    )
    figures["seconds_per_step_high"] = (done["seconds"] - clock.get("eval", 0.0)) / fine_tune.steps
    acc["fine_tuned"] = stripes_scores(tuned, x_high, y_test)

    scratch = build_model(fine_tune)
    curves["scratch"] = [[0, evaluate(scratch, x_val, y_val)]]
    train(
        scratch,
        scene_batches(fine_tune, seeds["fine_tune"]),
        fine_tune,
        on_step=_curve(x_val, y_val, curve_every, curves["scratch"], {}),
        progress=progress,
        desc=f"seed {seed}: scratch",
    )
    acc["scratch_short"] = stripes_scores(scratch, x_high, y_test)

    if full_scratch:
        full = recipe.replace(img_size=high)
        scratch = build_model(full)
        done = train(
            scratch,
            scene_batches(full, seeds["train"]),
            full,
            progress=progress,
            desc=f"seed {seed}: scratch, full",
        )
        acc["scratch_full"] = stripes_scores(scratch, x_high, y_test)
        figures["seconds_per_step_high_full"] = done["seconds"] / full.steps
    figures["accuracy"] = {name: score["accuracy"] for name, score in acc.items()}
    figures["relation"] = {name: score["relation"] for name, score in acc.items()}
    figures["fill"] = {name: score["fill"] for name, score in acc.items()}
    figures["curves"] = curves
    figures["model"] = model
    return figures


def train_stripes_vit(
    out: str | os.PathLike[str] | None = None,
    *,
    recipe: TrainRecipe = STRIPES_VIT_RECIPE,
    fine_tune: TrainRecipe | None = None,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    full_scratch: bool = True,
    threads: int | None = 1,
    progress: bool = True,
    command: str | None = None,
) -> dict[str, Any]:
    """Run :func:`run_seed` for each of ``seeds``; write the first seed's model and the record to
    ``out``; return the record, with ``"model"`` (the first seed's model) added.

    ``recipe``: the pre-training (default :data:`STRIPES_VIT_RECIPE`; its ``seed`` is replaced by
    each of ``seeds``); ``fine_tune``: the fine-tune (default :func:`fine_tune_recipe` of
    ``recipe``). ``threads``: torch threads meanwhile (restored afterwards). With ``out``, writes
    ``out/stripes_vit.pt`` (the state dict, timm names) and ``out/stripes_vit.json`` (the
    record); :func:`load_stripes_vit` ``(out)`` loads them.
    """
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    for s in seeds:
        check_int(s, "seed", minimum=0)
    fine_tune = fine_tune_recipe(recipe) if fine_tune is None else fine_tune
    runs = []
    with torch_threads(threads):
        for s in seeds:
            runs.append(
                run_seed(s, recipe, fine_tune, full_scratch=full_scratch, progress=progress)
            )
        used_threads = torch.get_num_threads()
    model = runs[0].pop("model")
    for run in runs[1:]:
        run.pop("model")
    shipped = recipe.replace(seed=seeds[0])
    extra = [f"--seeds {' '.join(str(s) for s in seeds)}"] if tuple(seeds) != DEFAULT_SEEDS else []
    if fine_tune != fine_tune_recipe(recipe):
        extra += [
            f"--fine-tune-steps {fine_tune.steps}",
            f"--fine-tune-lr {fine_tune.lr}",
            f"--fine-tune-warmup {fine_tune.warmup}",
        ]
    extra += [] if full_scratch else ["--no-full-scratch"]
    extra += [f"--threads {threads}"] if threads != 1 else []
    extra += [f"--out {out}"] if out is not None and Path(out) != _DEFAULT_OUT else []
    low, high = recipe.img_size, fine_tune.img_size
    grids = {size: (size // recipe.patch_size) ** 2 for size in (low, high)}
    record: dict[str, Any] = {
        "format": RECORD_FORMAT,
        "command": command
        or recipe_command(
            COMMAND, recipe.replace(seed=STRIPES_VIT_RECIPE.seed), STRIPES_VIT_RECIPE, extra
        ),
        "created": datetime.date.today().isoformat(),
        "config": shipped.to_dict(),
        "fine_tune": fine_tune.replace(seed=seeds[0]).to_dict(),
        "image_sizes": [low, high],
        "tokens": [1 + grids[low], 1 + grids[high]],
        "seeds": [_seeds(s) for s in seeds],
        "shipped_seed": seeds[0],
        "test_accuracy": runs[0]["accuracy"]["low"],
        "runs": runs,
        "num_parameters": model.num_parameters(),
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
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        torch.save(state, out / WEIGHTS_FILE)
        (out / RECORD_FILE).write_text(json.dumps(record, indent=1) + "\n")
    return {**record, "model": model}


def _vitlearn_version() -> str:
    from .. import __version__

    return __version__


# -- loading -------------------------------------------------------------------------------------


def _file(directory: str | os.PathLike[str] | None, name: str) -> Path:
    if directory is None:
        path = Path(str(resources.files("vitlearn.trained") / "weights" / name))
    else:
        path = Path(directory) / name
    if not path.is_file():
        where = "the installed vitlearn package" if directory is None else f"folder {directory}"
        hint = (
            "reinstall vitlearn"
            if directory is None
            else f"make one with `{COMMAND} --out {directory}`"
        )
        raise FileNotFoundError(f"{name} not found in {where} ({path}); {hint}")
    return path


def load_stripes_vit(directory: str | os.PathLike[str] | None = None) -> TinyViT:
    """The stripes ViT, pre-trained at 24 px, in eval mode: ``(B, 3, 24, 24) -> (B, 8)`` logits.

    ``directory``: where :func:`train_stripes_vit` wrote a model (default: the one shipped in the
    package, seed 0). Nothing is downloaded; the weights are read with
    ``torch.load(weights_only=True)``. The model carries ``model.recipe`` (its
    :class:`vitlearn.TrainRecipe`), ``model.fine_tune`` (the fine-tune's recipe) and
    ``model.meta``: the record (:func:`load_stripes_vit_record`).
    """
    record = load_stripes_vit_record(directory)
    state = torch.load(_file(directory, WEIGHTS_FILE), map_location="cpu", weights_only=True)
    model = build_model(record["recipe"])
    model.load_state_dict(state)
    model.eval()
    model.recipe = record["recipe"]
    model.fine_tune = record["fine_tune_recipe"]
    model.meta = record
    return model


def load_stripes_vit_record(directory: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The record of :func:`train_stripes_vit`: ``command``, ``config`` and ``fine_tune`` (the two
    recipes as dicts; ``recipe`` and ``fine_tune_recipe`` as :class:`vitlearn.TrainRecipe`),
    ``image_sizes``, ``tokens``, ``seeds``, ``shipped_seed``, ``test_accuracy`` (the shipped
    model's, at 24 px), ``versions``, ``machine``, and ``runs``: per seed, ``accuracy`` (``low``,
    ``flattened``, ``resized``, ``fine_tuned``, ``scratch_short``, ``scratch_full``) and the same
    for its two parts, ``relation`` and ``fill`` (:func:`stripes_scores`), ``curves``
    (``[step, accuracy]`` on the validation scenes during the fine-tune and the short run from
    scratch) and ``seconds_per_step_*``."""
    record = json.loads(_file(directory, RECORD_FILE).read_text())
    record["recipe"] = TrainRecipe.from_dict(record["config"])
    record["fine_tune_recipe"] = TrainRecipe.from_dict(record["fine_tune"])
    return record


# -- the command line ----------------------------------------------------------------------------

HELP = (
    "train the stripes ViT at 24 px and run the fine-tune experiment at 48 px for each seed "
    "(notebook 06, section 11)"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out",
        type=Path,
        default=_DEFAULT_OUT,
        help="folder to write stripes_vit.pt/.json into (default: ./stripes_vit; the shipped "
        "model lives in vitlearn/trained/weights)",
    )
    p.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=list(DEFAULT_SEEDS),
        help="run seeds; the first one's model is written (default 0 1 2 3 4)",
    )
    p.add_argument(
        "--fine-tune-steps",
        type=int,
        default=FINE_TUNE_STEPS,
        metavar="N",
        help=f"default {FINE_TUNE_STEPS}",
    )
    p.add_argument(
        "--fine-tune-lr",
        type=float,
        default=FINE_TUNE_LR,
        metavar="X",
        help=f"default {FINE_TUNE_LR}",
    )
    p.add_argument(
        "--fine-tune-warmup",
        type=int,
        default=FINE_TUNE_WARMUP,
        metavar="N",
        help=f"default {FINE_TUNE_WARMUP}",
    )
    p.add_argument(
        "--full-scratch",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also train from scratch at 48 px for the full budget (default: yes)",
    )
    p.add_argument(
        "--threads", type=int, default=1, help="torch threads while training (default 1)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_recipe_options(p, STRIPES_VIT_RECIPE)


def run(args: argparse.Namespace) -> None:
    if args.seed != STRIPES_VIT_RECIPE.seed:
        raise ValueError("give the run seeds with --seeds (the first one's model is written)")
    recipe = recipe_from_options(args, STRIPES_VIT_RECIPE)
    fine_tune = fine_tune_recipe(
        recipe, steps=args.fine_tune_steps, lr=args.fine_tune_lr, warmup=args.fine_tune_warmup
    )
    record = train_stripes_vit(
        args.out,
        recipe=recipe,
        fine_tune=fine_tune,
        seeds=args.seeds,
        full_scratch=args.full_scratch,
        threads=args.threads,
        progress=not args.quiet,
    )
    for r in record["runs"]:
        a = r["accuracy"]
        print(
            f"seed {r['seed']}: {record['image_sizes'][0]} px {a['low']:.3f}; at "
            f"{record['image_sizes'][1]} px: flattened {a['flattened']:.3f}, resized "
            f"{a['resized']:.3f}, fine-tuned {a['fine_tuned']:.3f}, from scratch "
            f"{a['scratch_short']:.3f}"
            + (f" ({a['scratch_full']:.3f} with the full budget)" if "scratch_full" in a else ""),
            file=sys.stdout,
        )
    print(f"wrote {args.out}", file=sys.stdout)
