"""Training a tiny ViT on a CPU: one recipe, one loop, and the accuracy.

- :class:`TrainRecipe`: everything that makes a trained model, in one frozen dataclass: the
  model's sizes and start, the scenes it learns, the optimiser's settings and the seed.
  :data:`DEFAULT_RECIPE` is the course's tiny ViT (notebook 05); every shipped model's recipe
  (``vitlearn.trained``) is an instance too. Change a field with ``dataclasses.replace``.
- :func:`build_model`: a fresh :class:`vitlearn.TinyViT` for a recipe; its start depends on the
  recipe's seed only.
- :func:`train`: the one training loop (AdamW, linear warm-up, cosine decay), fed one batch per
  step by a function: :func:`sample_batches` draws them from a fixed labelled set,
  :func:`scene_batches` renders new scenes for every step.
- :func:`evaluate`: accuracy on a labelled set.
- :func:`train_tiny_vit`: :func:`train` on a fixed set, for a model you built yourself.
- :func:`make_trained_tiny_vit`: data + model + training in one call, a few seconds on a CPU.

Nothing here touches the caller's random state or thread count: batches are drawn with
generators of their own, the model is built with the global generator forked, and the thread
count is put back afterwards.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import (
    as_pair,
    check_bool,
    check_both_or_neither,
    check_choice,
    check_int,
    check_number,
    check_tensor,
    shape_str,
)
from ._progress import ProgressBar
from ._state import one_thread, seeded
from ._state import threads as torch_threads
from .data import SCENE_MEAN, SCENE_STD, TASKS, Scenes, make_scenes, render_scenes, task_info
from .embedding import POS_EMBED_KINDS
from .models import POOL_KINDS, TinyViT

__all__ = [
    "DEFAULT_RECIPE",
    "Batches",
    "TrainRecipe",
    "TrainedTinyViT",
    "build_model",
    "evaluate",
    "make_trained_tiny_vit",
    "render_task",
    "sample_batches",
    "scene_batches",
    "train",
    "train_tiny_vit",
]

Batches = Callable[[int], tuple[torch.Tensor, torch.Tensor]]
"""What :func:`train` eats: ``batches(step) -> (images (B, C, H, W), labels (B,))``."""


# -- the recipe ------------------------------------------------------------------------------


def _floats(value: Any, name: str) -> tuple[float, ...] | None:
    if value is None:
        return None
    if isinstance(value, str) or not hasattr(value, "__len__"):
        raise TypeError(
            f"{name} must be a sequence of numbers (one per channel) or None, got {value!r}"
        )
    return tuple(check_number(v, f"{name}[{i}]") for i, v in enumerate(value))


@dataclass(frozen=True)
class TrainRecipe:
    """The sizes and settings of a tiny ViT and its training, checked when made.

    **The model** (:class:`vitlearn.TinyViT`'s arguments): ``img_size`` (``S``, or ``(H, W)``),
    ``patch_size``, ``embed_dim``, ``depth``, ``num_heads``, ``mlp_ratio``, ``pos_embed`` (one of
    :data:`vitlearn.embedding.POS_EMBED_KINDS`), ``global_pool``, ``pos_embed_std`` (the learned
    tables start as a normal of this std, truncated at +-2; timm uses 0.02, the tiny ViT 1),
    ``input_mean`` / ``input_std`` (the model standardises its input, ``(x - mean) / std``;
    default: the scenes' own statistics; ``(0.5,) * 3`` maps ``[0, 1]`` to ``[-1, 1]`` as
    timm's ViTs do).

    **The data** (:func:`vitlearn.make_scenes`): ``task``, ``cells`` (None: the task's default
    grid of cells), ``n_train`` training scenes drawn once (None: new scenes at every step, see
    :func:`scene_batches`), ``n_test`` test scenes.

    **The optimisation** (:func:`train`): ``steps``, ``batch_size``, ``lr`` (peak learning rate),
    ``weight_decay`` (AdamW's, on matrices only; the position tables and the class/register
    tokens too when ``decay_pos_embed``), ``warmup`` (steps of linear warm-up before the cosine
    decay), and ``seed`` (the model's start, the data and the batches).

    Change one with ``dataclasses.replace(DEFAULT_RECIPE, steps=300)``, or pass it to
    :func:`make_trained_tiny_vit` as a keyword.
    """

    # the model
    img_size: int | tuple[int, int] = 32
    patch_size: int = 8
    embed_dim: int = 32
    depth: int = 2
    num_heads: int = 4
    mlp_ratio: float = 2.0
    pos_embed: str = "learned"
    global_pool: str = "token"
    pos_embed_std: float = 1.0
    input_mean: tuple[float, ...] | None = SCENE_MEAN
    input_std: tuple[float, ...] | None = SCENE_STD
    # the data
    task: str = "relation"
    cells: int | None = None
    n_train: int | None = 4000
    n_test: int = 1000
    # the optimisation
    steps: int = 600
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.05
    decay_pos_embed: bool = False
    warmup: int = 30
    seed: int = 0

    def __post_init__(self) -> None:
        set_ = functools.partial(object.__setattr__, self)  # frozen: normalise once, here
        size = self.img_size
        set_("img_size", size if isinstance(size, int) else as_pair(size, "img_size"))
        if isinstance(size, int):
            check_int(size, "img_size")
        for name in (
            "patch_size",
            "embed_dim",
            "depth",
            "num_heads",
            "n_test",
            "steps",
            "batch_size",
            "warmup",
        ):
            check_int(getattr(self, name), name)
        check_int(self.seed, "seed", minimum=0)
        for name in ("cells", "n_train"):
            if getattr(self, name) is not None:
                check_int(getattr(self, name), name)
        set_("mlp_ratio", check_number(self.mlp_ratio, "mlp_ratio", above=0.0))
        set_("pos_embed_std", check_number(self.pos_embed_std, "pos_embed_std", above=0.0))
        set_("lr", check_number(self.lr, "lr", above=0.0))
        set_("weight_decay", check_number(self.weight_decay, "weight_decay", minimum=0.0))
        check_bool(self.decay_pos_embed, "decay_pos_embed")
        check_choice(self.pos_embed, "pos_embed", POS_EMBED_KINDS)
        check_choice(self.global_pool, "global_pool", POOL_KINDS)
        check_choice(self.task, "task", tuple(TASKS))
        set_("input_mean", _floats(self.input_mean, "input_mean"))
        set_("input_std", _floats(self.input_std, "input_std"))
        check_both_or_neither(self.input_mean, self.input_std, "input_mean", "input_std")
        if self.n_train is not None and self.n_train < self.batch_size:
            raise ValueError(
                f"n_train must be None (new scenes every step) or at least "
                f"batch_size={self.batch_size}, got {self.n_train}"
            )

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON values (tuples become lists), for a training record."""
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_dict(cls, fields: Mapping[str, Any]) -> TrainRecipe:
        """The recipe a record's :meth:`to_dict` holds; an unknown field is a ``TypeError``."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(fields) - known)
        if unknown:
            raise TypeError(f"unknown TrainRecipe fields {unknown}; known: {sorted(known)}")
        return cls(**fields)

    def replace(self, **changes: Any) -> TrainRecipe:
        """``dataclasses.replace`` with the known fields named when one is misspelt."""
        try:
            return dataclasses.replace(self, **changes)
        except TypeError as e:
            unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
            if not unknown:
                raise
            known = ", ".join(f.name for f in dataclasses.fields(self))
            raise TypeError(f"unknown TrainRecipe fields {unknown}; known: {known}") from e


def _check_recipe(recipe: object) -> TrainRecipe:
    if not isinstance(recipe, TrainRecipe):
        hint = (
            " (a record's 'config' dict: TrainRecipe.from_dict(config))"
            if isinstance(recipe, Mapping)
            else ""
        )
        raise TypeError(f"recipe must be a vitlearn.TrainRecipe, got {type(recipe).__name__}{hint}")
    return recipe


DEFAULT_RECIPE = TrainRecipe()
"""The course's tiny ViT: a 2-block ViT, D=32, 4x4 patches of 8 px on 32 px scenes, 600 steps at
lr 1e-3, its learned table started at std 1 (notebook 05 says why)."""


def build_model(recipe: TrainRecipe, *, rope_kwargs: Mapping[str, Any] | None = None) -> TinyViT:
    """A fresh, untrained :class:`vitlearn.TinyViT` for ``recipe``:
    ``(B, 3, H, W) -> (B, classes)``.

    Its weights depend on ``recipe.seed`` only (drawn with the global generator forked, so the
    caller's random state is the same afterwards). ``rope_kwargs`` go to the rotary embedding
    (``pos_embed="rope"`` only), e.g. ``{"normalize_coords": "separate", "rescale_coords": 2.0}``.
    """
    _check_recipe(recipe)
    with seeded(recipe.seed):
        return TinyViT(
            img_size=recipe.img_size,
            patch_size=recipe.patch_size,
            num_classes=task_info(recipe.task).num_classes,
            embed_dim=recipe.embed_dim,
            depth=recipe.depth,
            num_heads=recipe.num_heads,
            mlp_ratio=recipe.mlp_ratio,
            pos_embed=recipe.pos_embed,
            global_pool=recipe.global_pool,
            pos_embed_std=recipe.pos_embed_std,
            input_mean=recipe.input_mean,
            input_std=recipe.input_std,
            rope_kwargs=rope_kwargs,
        )


# -- where the batches come from -------------------------------------------------------------


def _check_labelled(images: torch.Tensor, labels: torch.Tensor) -> None:
    check_tensor(images, "images", (4,), "(n, C, H, W)")
    check_tensor(labels, "labels", (1,), "(n,)")
    if labels.shape != (images.shape[0],):
        raise ValueError(
            f"labels must have shape ({images.shape[0]},), one per image, "
            f"got {shape_str(labels.shape)}"
        )


def sample_batches(
    images: torch.Tensor, labels: torch.Tensor, batch_size: int, seed: int = 0
) -> Batches:
    """Batches drawn at random (with replacement) from a fixed set ``(n, C, H, W)``, ``(n,)``.

    The draws come from a ``torch.Generator`` of its own, seeded with ``seed``: the same seed
    gives the same sequence of batches, and the global random state is never touched.
    """
    _check_labelled(images, labels)
    check_int(batch_size, "batch_size")
    gen = torch.Generator().manual_seed(check_int(seed, "seed", minimum=0))
    n = images.shape[0]

    def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.randint(0, n, (batch_size,), generator=gen)
        return images[idx], labels[idx]

    return batch


def _scene_kwargs(recipe: TrainRecipe) -> dict[str, Any]:
    return {"task": recipe.task} | ({} if recipe.cells is None else {"cells": recipe.cells})


def render_task(
    recipe: TrainRecipe, n: int, seed: int, size: int | tuple[int, int] | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` scenes of the recipe's task drawn with ``seed``: images ``(n, 3, H, W)`` in ``[0, 1]``
    at ``size`` (default: the recipe's ``img_size``) and labels ``(n,)``."""
    scenes = make_scenes(n, seed=seed, **_scene_kwargs(recipe))
    size = recipe.img_size if size is None else size
    return render_scenes(scenes, size), torch.from_numpy(scenes.labels)


def scene_batches(recipe: TrainRecipe, first_seed: int) -> Batches:
    """New scenes at every step: step ``k`` renders ``recipe.batch_size`` scenes drawn with seed
    ``first_seed + k``, so a model never sees the same example twice."""
    check_int(first_seed, "first_seed", minimum=0)
    return lambda step: render_task(recipe, recipe.batch_size, first_seed + step)


# -- the loop --------------------------------------------------------------------------------


def evaluate(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 500
) -> float:
    """Accuracy of ``model`` on ``images`` ``(n, C, H, W)`` with ``labels`` ``(n,)``, in
    ``[0, 1]``."""
    _check_labelled(images, labels)
    was_training = model.training
    model.eval()
    correct = 0
    with torch.no_grad(), one_thread():
        for i in range(0, images.shape[0], batch_size):
            pred = model(images[i : i + batch_size]).argmax(-1)
            correct += int((pred == labels[i : i + batch_size]).sum())
    model.train(was_training)
    return correct / images.shape[0]


def _lr_at(step: int, steps: int, lr: float, warmup: int) -> float:
    """Linear warm-up for ``warmup`` steps, then cosine decay to 0 at ``steps``."""
    if step < warmup:
        return lr * (step + 1) / warmup
    t = (step - warmup) / max(1, steps - warmup)
    return lr * 0.5 * (1.0 + math.cos(math.pi * t))


def _decays(name: str, p: torch.Tensor, decay_pos_embed: bool) -> bool:
    """Weight decay for matrices (as in timm); the position tables and the class/register tokens
    only when asked, since they are what the course studies."""
    if "pos_embed" in name or "token" in name:
        return decay_pos_embed
    return p.ndim >= 2


def _optimizer(model: nn.Module, recipe: TrainRecipe) -> torch.optim.AdamW:
    named = list(model.named_parameters())
    decay = [p for n, p in named if _decays(n, p, recipe.decay_pos_embed)]
    rest = [p for n, p in named if not _decays(n, p, recipe.decay_pos_embed)]
    groups = [
        {"params": decay, "weight_decay": recipe.weight_decay},
        {"params": rest, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=recipe.lr)


OnStep = Callable[[int, nn.Module, dict[str, Any]], Mapping[str, float] | None]
"""``on_step(step, model, history)``, called after each optimiser step (``step`` counts from 1);
what it returns is shown on the progress bar."""


def train(
    model: nn.Module,
    batches: Batches,
    recipe: TrainRecipe,
    *,
    on_step: OnStep | None = None,
    threads: int | None = 1,
    progress: bool = True,
    desc: str = "train",
) -> dict[str, Any]:
    """Train ``model`` in place for ``recipe.steps`` AdamW steps; return the history.

    Step ``k`` (from 0) takes ``images, labels = batches(k)``, sets the learning rate (a linear
    warm-up over ``recipe.warmup`` steps to ``recipe.lr``, then a cosine decay to 0), and takes
    one step on the cross-entropy. Weight decay (``recipe.weight_decay``) pulls the matrices, and
    the position tables and class/register tokens only with ``recipe.decay_pos_embed``. After
    each step ``on_step(k + 1, model, history)`` runs, if given (to evaluate, keep snapshots...;
    the model is put back in training mode after it). ``threads``: torch threads meanwhile
    (the count is restored; None keeps it). Same model start, same batches, same machine: same
    numbers.

    Returns ``{"loss": [per step], "acc": [batch accuracy per step], "seconds": float}``; the
    model is left in eval mode.
    """
    _check_recipe(recipe)
    if not callable(batches):
        raise TypeError(
            f"batches must be a function of the step returning (images, labels), "
            f"got {type(batches).__name__}"
        )
    opt = _optimizer(model, recipe)
    history: dict[str, Any] = {"loss": [], "acc": []}
    shown: dict[str, float] = {}
    bar = ProgressBar(recipe.steps, desc=desc, enabled=progress)
    start = time.perf_counter()
    with torch_threads(threads):
        model.train()
        for step in range(recipe.steps):
            images, labels = batches(step)
            for group in opt.param_groups:
                group["lr"] = _lr_at(step, recipe.steps, recipe.lr, recipe.warmup)
            logits = model(images)
            loss = F.cross_entropy(logits, labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            history["loss"].append(float(loss.detach()))
            history["acc"].append(float((logits.argmax(-1) == labels).float().mean()))
            if on_step is not None:
                shown.update(on_step(step + 1, model, history) or {})
                model.train()
            if bar.due(step + 1):
                window = len(history["acc"][-20:])
                bar.update(
                    step + 1,
                    loss=sum(history["loss"][-20:]) / window,
                    acc=sum(history["acc"][-20:]) / window,
                    **shown,
                )
        bar.close()
    model.eval()
    history["seconds"] = time.perf_counter() - start
    return history


def train_tiny_vit(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    steps: int = 600,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 0.05,
    warmup: int = 30,
    seed: int = 0,
    eval_images: torch.Tensor | None = None,
    eval_labels: torch.Tensor | None = None,
    eval_every: int = 100,
    progress: bool = True,
    desc: str = "train",
) -> dict[str, Any]:
    """:func:`train` on a fixed set: ``model`` in place, ``images`` ``(n, C, H, W)``, ``labels``
    ``(n,)``.

    Each step draws ``batch_size`` random examples (:func:`sample_batches`, seeded with
    ``seed``); the optimisation is :data:`DEFAULT_RECIPE`'s with these settings. With
    ``eval_images``/``eval_labels`` the accuracy on them is measured every ``eval_every`` steps
    and at the end.

    Returns the history: ``{"loss": [per step], "acc": [batch accuracy per step],
    "eval_step": [...], "eval_acc": [...], "seconds": float}``.
    """
    check_both_or_neither(eval_images, eval_labels, "eval_images", "eval_labels")
    if eval_images is not None:
        _check_labelled(eval_images, eval_labels)
    check_int(eval_every, "eval_every")
    recipe = DEFAULT_RECIPE.replace(
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        weight_decay=weight_decay,
        warmup=warmup,
        seed=seed,
        n_train=None,
    )
    evals: dict[str, list[Any]] = {"eval_step": [], "eval_acc": []}

    def on_step(step: int, m: nn.Module, history: dict[str, Any]) -> dict[str, float] | None:
        if eval_images is None or (step % eval_every and step != recipe.steps):
            return None
        evals["eval_step"].append(step)
        evals["eval_acc"].append(evaluate(m, eval_images, eval_labels))
        return {"eval": evals["eval_acc"][-1]}

    batches = sample_batches(images, labels, recipe.batch_size, recipe.seed)
    history = train(model, batches, recipe, on_step=on_step, progress=progress, desc=desc)
    return {**history, **evals}


# -- data + model + training in one call ------------------------------------------------------


@dataclass
class TrainedTinyViT:
    """What :func:`make_trained_tiny_vit` returns: the model, its data and how training went.

    ``train_scenes``/``test_scenes`` are the continuous scenes, so the same test set can be
    drawn at another resolution with :func:`vitlearn.render_scenes`.
    """

    model: TinyViT
    history: dict[str, Any]
    test_accuracy: float
    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    train_scenes: Scenes
    test_scenes: Scenes
    recipe: TrainRecipe

    @property
    def pos_embed(self) -> str:
        """The kind of position code (``recipe.pos_embed``)."""
        return self.recipe.pos_embed

    @property
    def task(self) -> str:
        """The scenes' task (``recipe.task``)."""
        return self.recipe.task

    @property
    def seed(self) -> int:
        """The seed of the model, the data and the batches (``recipe.seed``)."""
        return self.recipe.seed


@functools.lru_cache(maxsize=8)
def _rendered(
    n: int, seed: int, task: str, cells: int | None, img_size: int | tuple[int, int]
) -> tuple[Scenes, torch.Tensor, torch.Tensor]:
    """Scenes, images and labels, rendered once per session: the comparisons train on the same
    data."""
    scenes = make_scenes(n, seed=seed, task=task, **({} if cells is None else {"cells": cells}))
    return scenes, render_scenes(scenes, img_size), torch.from_numpy(scenes.labels)


def _dataset(recipe: TrainRecipe, n: int, seed: int) -> tuple[Scenes, torch.Tensor, torch.Tensor]:
    size = as_pair(recipe.img_size, "img_size")  # (H, W): a hashable key for the render cache
    scenes, images, labels = _rendered(n, seed, recipe.task, recipe.cells, size)
    return scenes, images.clone(), labels.clone()  # the caller may change them in place


def make_trained_tiny_vit(
    pos_embed: str | None = None,
    *,
    task: str | None = None,
    seed: int | None = None,
    progress: bool = True,
    recipe: TrainRecipe = DEFAULT_RECIPE,
    rope_kwargs: Mapping[str, Any] | None = None,
    **changes: Any,
) -> TrainedTinyViT:
    """Build the data and a :class:`TinyViT`, train it with ``recipe``; a few seconds on a CPU.

    ``pos_embed``, ``task``, ``seed`` and ``changes`` replace fields of ``recipe`` (see
    :class:`TrainRecipe`), e.g. ``make_trained_tiny_vit("sincos", steps=300)``; an unknown name is
    a ``TypeError``. Training scenes use ``seed``, test scenes ``seed + 1000``; the model starts
    from ``seed`` (:func:`build_model`). ``rope_kwargs`` go to :class:`TinyViT`
    (``pos_embed="rope"`` only), e.g. ``{"normalize_coords": "separate", "rescale_coords": 2.0}``.
    """
    given = {"pos_embed": pos_embed, "task": task, "seed": seed}
    recipe = recipe.replace(**{k: v for k, v in given.items() if v is not None}, **changes)
    if recipe.n_train is None:
        raise ValueError(
            "make_trained_tiny_vit trains on a fixed set: give n_train (an int); for new scenes "
            "at every step use vitlearn.training.train with scene_batches"
        )
    train_scenes, x_train, y_train = _dataset(recipe, recipe.n_train, recipe.seed)
    test_scenes, x_test, y_test = _dataset(recipe, recipe.n_test, recipe.seed + 1000)
    model = build_model(recipe, rope_kwargs=rope_kwargs)
    batches = sample_batches(x_train, y_train, recipe.batch_size, recipe.seed)
    history = train(model, batches, recipe, progress=progress, desc=f"{recipe.pos_embed:>7}")
    acc = evaluate(model, x_test, y_test)
    return TrainedTinyViT(
        model, history, acc, x_train, y_train, x_test, y_test, train_scenes, test_scenes, recipe
    )
