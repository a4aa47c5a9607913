"""Training a tiny ViT on a CPU: the loop, the accuracy, and the course's one-call recipe.

- :func:`train_tiny_vit`: AdamW with a linear warm-up and a cosine decay, batches drawn by a
  generator of its own (same seed, same numbers; the global random state is left alone);
- :func:`evaluate`: accuracy on a labelled set;
- :class:`TrainRecipe` and :data:`DEFAULT_RECIPE`: the sizes and settings the course uses;
- :func:`make_trained_tiny_vit`: data + model + training in one call, a few seconds on a CPU.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import as_pair, check_int, check_tensor, shape_str
from ._progress import ProgressBar
from ._state import one_thread, seeded
from .data import Scenes, make_scenes, render_scenes, task_info
from .models import TinyViT

__all__ = [
    "DEFAULT_RECIPE",
    "TrainRecipe",
    "TrainedTinyViT",
    "evaluate",
    "make_trained_tiny_vit",
    "train_tiny_vit",
]


def _check_labelled(images: torch.Tensor, labels: torch.Tensor) -> None:
    check_tensor(images, "images", (4,), "(n, C, H, W)")
    check_tensor(labels, "labels", (1,), "(n,)")
    if labels.shape != (images.shape[0],):
        raise ValueError(
            f"labels must have shape ({images.shape[0]},), one per image, got "
            f"{shape_str(labels.shape)}"
        )


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


def _decays(name: str, p: torch.Tensor) -> bool:
    """Weight decay for matrices only: not for biases, norms, tokens or position tables."""
    return p.ndim >= 2 and "pos_embed" not in name and "token" not in name


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
    """Train ``model`` in place with AdamW on ``images`` ``(n, C, H, W)``, ``labels`` ``(n,)``.

    Each step draws ``batch_size`` random examples with a generator of its own, seeded with
    ``seed`` (the global random state is not touched); the learning rate warms up linearly over
    ``warmup`` steps, then decays along a cosine to 0. Same model start, same seed, same machine:
    same numbers. With ``eval_images``/``eval_labels`` the accuracy on them is measured every
    ``eval_every`` steps and at the end.

    Returns the history: ``{"loss": [per step], "acc": [batch accuracy per step],
    "eval_step": [...], "eval_acc": [...], "seconds": float}``.
    """
    _check_labelled(images, labels)
    check_int(steps, "steps")
    check_int(batch_size, "batch_size")
    if (eval_images is None) != (eval_labels is None):
        raise ValueError("give both eval_images and eval_labels, or neither")
    if eval_images is not None:
        _check_labelled(eval_images, eval_labels)
    gen = torch.Generator().manual_seed(seed)
    named = list(model.named_parameters())
    opt = torch.optim.AdamW(
        [
            {"params": [p for n, p in named if _decays(n, p)], "weight_decay": weight_decay},
            {"params": [p for n, p in named if not _decays(n, p)], "weight_decay": 0.0},
        ],
        lr=lr,
    )
    history: dict[str, Any] = {"loss": [], "acc": [], "eval_step": [], "eval_acc": []}
    bar = ProgressBar(steps, desc=desc, enabled=progress)
    start = time.perf_counter()
    model.train()
    with one_thread():
        n = images.shape[0]
        for step in range(steps):
            for group in opt.param_groups:
                group["lr"] = _lr_at(step, steps, lr, warmup)
            idx = torch.randint(0, n, (batch_size,), generator=gen)
            logits = model(images[idx])
            loss = F.cross_entropy(logits, labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            history["loss"].append(float(loss.detach()))
            history["acc"].append(float((logits.argmax(-1) == labels[idx]).float().mean()))
            last = step == steps - 1
            if eval_images is not None and ((step + 1) % eval_every == 0 or last):
                history["eval_step"].append(step + 1)
                history["eval_acc"].append(evaluate(model, eval_images, eval_labels))
            if bar.due(step + 1):
                window = history["acc"][-20:]
                metrics = {
                    "loss": sum(history["loss"][-20:]) / len(window),
                    "acc": sum(window) / len(window),
                }
                if history["eval_acc"]:
                    metrics["eval"] = history["eval_acc"][-1]
                bar.update(step + 1, **metrics)
    bar.close()
    model.eval()
    history["seconds"] = time.perf_counter() - start
    return history


@dataclass(frozen=True)
class TrainRecipe:
    """The sizes and settings of the course's tiny ViT and its training.

    Model: ``img_size`` (``S``, or ``(H, W)`` to train on non-square images), ``patch_size``,
    ``embed_dim``, ``depth``, ``num_heads``, ``mlp_ratio``, ``global_pool``. Data: ``n_train`` and
    ``n_test`` scenes. Training (see :func:`train_tiny_vit`): ``steps``, ``batch_size``, ``lr``,
    ``weight_decay``, ``warmup``. Change one with ``dataclasses.replace(DEFAULT_RECIPE, steps=300)``
    or pass it to :func:`make_trained_tiny_vit` as a keyword.
    """

    img_size: int | tuple[int, int] = 32
    patch_size: int = 8
    embed_dim: int = 32
    depth: int = 2
    num_heads: int = 4
    mlp_ratio: float = 2.0
    global_pool: str = "token"
    n_train: int = 4000
    n_test: int = 1000
    steps: int = 600
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup: int = 30


DEFAULT_RECIPE = TrainRecipe()
"""The course's default: a 2-block ViT, D=32, 4x4 patches of 8 px on 32 px scenes, 600 steps at lr
1e-3."""


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
    pos_embed: str
    task: str
    seed: int


@functools.lru_cache(maxsize=8)
def _rendered(
    n: int, seed: int, task: str, img_size: int | tuple[int, int]
) -> tuple[Scenes, torch.Tensor, torch.Tensor]:
    """Scenes, images and labels, rendered once per session: the comparisons train on the same
    data."""
    scenes = make_scenes(n, seed=seed, task=task)
    return scenes, render_scenes(scenes, img_size), torch.from_numpy(scenes.labels)


def _dataset(
    n: int, seed: int, task: str, img_size: int | tuple[int, int]
) -> tuple[Scenes, torch.Tensor, torch.Tensor]:
    scenes, images, labels = _rendered(n, seed, task, img_size)
    return scenes, images.clone(), labels.clone()  # the caller may change them in place


def make_trained_tiny_vit(
    pos_embed: str = "learned",
    *,
    task: str = "relation",
    seed: int = 0,
    progress: bool = True,
    recipe: TrainRecipe = DEFAULT_RECIPE,
    rope_kwargs: Mapping[str, Any] | None = None,
    **changes: Any,
) -> TrainedTinyViT:
    """Build the data and a :class:`TinyViT`, train it with ``recipe``; a few seconds on a CPU.

    ``changes`` replace fields of ``recipe`` (see :class:`TrainRecipe`), e.g. ``steps=300``; an
    unknown name is a ``TypeError``. Training scenes use ``seed``, test scenes ``seed + 1000``;
    the model starts from ``seed`` (drawn with the global generator forked, so the caller's random
    state is the same afterwards). ``rope_kwargs`` go to :class:`TinyViT` (``pos_embed="rope"``
    only), e.g. ``{"normalize_coords": "separate", "rescale_coords": 2.0}``.
    """
    recipe = dataclasses.replace(recipe, **changes)
    info = task_info(task)
    size = as_pair(recipe.img_size, "img_size")  # (H, W): a hashable key for the render cache
    train_scenes, x_train, y_train = _dataset(recipe.n_train, seed, task, size)
    test_scenes, x_test, y_test = _dataset(recipe.n_test, seed + 1000, task, size)
    with seeded(seed):
        model = TinyViT(
            img_size=recipe.img_size,
            patch_size=recipe.patch_size,
            num_classes=info.num_classes,
            embed_dim=recipe.embed_dim,
            depth=recipe.depth,
            num_heads=recipe.num_heads,
            mlp_ratio=recipe.mlp_ratio,
            pos_embed=pos_embed,
            global_pool=recipe.global_pool,
            rope_kwargs=rope_kwargs,
        )
    history = train_tiny_vit(
        model,
        x_train,
        y_train,
        steps=recipe.steps,
        batch_size=recipe.batch_size,
        lr=recipe.lr,
        weight_decay=recipe.weight_decay,
        warmup=recipe.warmup,
        seed=seed,
        progress=progress,
        desc=f"{pos_embed:>7}",
    )
    acc = evaluate(model, x_test, y_test)
    return TrainedTinyViT(
        model,
        history,
        acc,
        x_train,
        y_train,
        x_test,
        y_test,
        train_scenes,
        test_scenes,
        recipe,
        pos_embed,
        task,
        seed,
    )
