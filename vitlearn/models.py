"""A tiny Vision Transformer assembled from vitlearn's parts, and a recipe to train it on a CPU.

:class:`TinyViT` is the ViT of Dosovitskiy et al. (2021) at toy size: patch embedding
(:class:`vitlearn.PatchEmbed`), a class token, a position code of your choice, ``depth``
pre-norm transformer blocks, a final norm and a linear head. Its parameter names follow timm's
``VisionTransformer``, so ``model.state_dict()`` can be saved and read by anyone who knows timm's
layout (``patch_embed.proj.weight``, ``cls_token``, ``pos_embed``, ``blocks.0.attn.qkv.weight``,
..., ``head.weight``).

Position codes (``pos_embed=``):

- ``"none"``: nothing; the model sees a *set* of patches (permutation invariant).
- ``"learned"``: a table ``pos_embed`` ``(1, 1 + rows*cols, D)`` added to the tokens (class token
  included), as in ViT. Fixed to one grid; resample it for another
  (:func:`vitlearn.resample_pos_embed`, then :meth:`TinyViT.set_pos_embed`).
- ``"sincos"``: the fixed 2-D sine-cosine table (:func:`vitlearn.sincos_2d_pos_embed`), recomputed
  for whatever grid comes in; the class token gets none.
- ``"rope"``: 2-D rotary embedding of queries and keys inside attention
  (:class:`vitlearn.RotaryEmbedding2D`); works for any grid; no table is added.
- ``"factorized"``: a learned code per row plus one per column (:class:`vitlearn.FactorizedPosEmbed`,
  parameters ``pos_embed_factorized.row_embed``/``col_embed``; not a timm name); fixed to one
  grid, like ``"learned"``.

To train and evaluate: :func:`train_tiny_vit`, :func:`evaluate`; for a trained model in a few
seconds with the course's default recipe: :func:`make_trained_tiny_vit`.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import as_pair, check_choice, check_tensor, shape_str
from ._progress import ProgressBar
from .data import SCENE_MEAN, SCENE_STD, Scenes, make_scenes, render_scenes, task_info
from .embedding import PatchEmbed
from .posenc import FactorizedPosEmbed, RotaryEmbedding2D, sincos_2d_pos_embed

POS_EMBED_KINDS: tuple[str, ...] = ("none", "learned", "sincos", "rope", "factorized")
POOL_KINDS: tuple[str, ...] = ("cls", "mean")


class Attention(nn.Module):
    """Multi-head self-attention, timm's layout: one ``qkv`` Linear, one output ``proj``.

    ``(B, T, D) -> (B, T, D)``. With ``rope`` given, queries and keys are rotated by their
    2-D patch position (the first ``num_prefix_tokens`` tokens, e.g. the class token, are not).
    Set ``keep_attention = True`` to keep the last attention weights in ``self.attention``
    ``(B, heads, T, T)`` (rows: queries, columns: keys; each row sums to 1).
    """

    def __init__(self, dim: int, num_heads: int = 4, qkv_bias: bool = True) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"embed_dim {dim} must be divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim**-0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.keep_attention = False
        self.attention: torch.Tensor | None = None

    def forward(
        self,
        x: torch.Tensor,
        rope: nn.Module | None = None,
        grid_size: tuple[int, int] | None = None,
        num_prefix_tokens: int = 1,
    ) -> torch.Tensor:
        b, t, d = x.shape
        # (B, T, 3D) -> (3, B, heads, T, head_dim): timm's split order q | k | v, then heads
        qkv = self.qkv(x).reshape(b, t, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # each (B, heads, T, head_dim)
        if rope is not None:  # rotate queries and keys in one call: (2, B, heads, T, head_dim)
            q, k = rope(torch.stack([q, k]), grid_size, num_prefix_tokens=num_prefix_tokens).unbind(0)
        attn = (q * self.scale) @ k.transpose(-2, -1)  # (B, heads, T, T) scores
        attn = attn.softmax(dim=-1)  # each row (one query) sums to 1 over the keys
        if self.keep_attention:
            self.attention = attn.detach()
        out = attn @ v  # (B, heads, T, head_dim)
        out = out.transpose(1, 2).reshape(b, t, d)  # heads side by side again: (B, T, D)
        return self.proj(out)


class Mlp(nn.Module):
    """``fc1 -> GELU -> fc2``: ``(B, T, D) -> (B, T, D)`` through a hidden width ``mlp_ratio * D``."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """A pre-norm transformer block: ``x + attn(norm1(x))``, then ``x + mlp(norm2(x))``.

    ``(B, T, D) -> (B, T, D)``. Names as in timm: ``norm1``, ``attn``, ``norm2``, ``mlp``.
    """

    def __init__(self, dim: int, num_heads: int = 4, mlp_ratio: float = 2.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(
        self,
        x: torch.Tensor,
        rope: nn.Module | None = None,
        grid_size: tuple[int, int] | None = None,
        num_prefix_tokens: int = 1,
    ) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), rope, grid_size, num_prefix_tokens)
        return x + self.mlp(self.norm2(x))


class TinyViT(nn.Module):
    """A small ViT: ``(B, C, H, W) -> (B, num_classes)``.

    Args:
        image_size: ``S`` or ``(H, W)`` the model is built for (it sizes the learned table).
        patch_size: ``P`` or ``(P_rows, P_cols)``; the grid is ``(H // P, W // P)`` = (rows, cols).
        in_chans: ``C``.
        num_classes: outputs of the head (4 for the course's position task).
        embed_dim, depth, num_heads, mlp_ratio: width ``D``, number of blocks, heads, MLP width / D.
        pos_embed: ``"none"``, ``"learned"``, ``"sincos"``, ``"rope"`` or ``"factorized"``
            (see the module doc).
        pool: ``"cls"`` (read the class token, then ``norm``) or ``"mean"`` (average the patch
            tokens, then ``fc_norm``, as timm names it for ``global_pool="avg"``).
        input_mean, input_std: per-channel constants; the model first standardises its input,
            ``(x - mean) / std``, so it takes images in ``[0, 1]`` as :func:`vitlearn.render_scenes`
            draws them (defaults: the scenes' statistics, :data:`vitlearn.data.SCENE_MEAN`/``STD``).
            Without this step the light background swamps the signal and training stalls for
            hundreds of steps. ``None`` for both: no standardisation, as in a timm model (timm
            standardises in its data pipeline). They are buffers, not saved in the state dict.

    The class token is always there (``num_prefix_tokens == 1``), so tokens are ``T = 1 + N``.
    Parameters are named as in timm's ``VisionTransformer``; ``pos_embed`` exists only for
    ``"learned"``.

    Changing the grid (another resolution or patch size):

    * input of another size: ``"none"``, ``"sincos"`` and ``"rope"`` accept it directly;
      ``"learned"`` raises a ``ValueError`` until you give it a table for the new grid with
      :meth:`set_pos_embed` (resample the old one with :func:`vitlearn.resample_pos_embed`);
    * another patch size: :meth:`set_patch_embed` with a resized kernel
      (:func:`vitlearn.resample_patch_embed`), plus a new table for ``"learned"``.
    """

    def __init__(
        self,
        image_size: int | tuple[int, int] = 32,
        patch_size: int | tuple[int, int] = 8,
        in_chans: int = 3,
        num_classes: int = 4,
        embed_dim: int = 64,
        depth: int = 2,
        num_heads: int = 4,
        mlp_ratio: float = 2.0,
        pos_embed: str = "learned",
        pool: str = "cls",
        input_mean: Sequence[float] | None = SCENE_MEAN,
        input_std: Sequence[float] | None = SCENE_STD,
    ) -> None:
        super().__init__()
        check_choice(pos_embed, "pos_embed", POS_EMBED_KINDS)
        check_choice(pool, "pool", POOL_KINDS)
        h, w = as_pair(image_size, "image_size")
        ph, pw = as_pair(patch_size, "patch_size")
        if h % ph or w % pw:
            raise ValueError(
                f"image_size {(h, w)} must be a multiple of patch_size {(ph, pw)} in each direction"
            )
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim {embed_dim} must be divisible by num_heads {num_heads}")
        if (input_mean is None) != (input_std is None):
            raise ValueError("give both input_mean and input_std, or neither")
        if input_mean is not None:
            if len(input_mean) != in_chans or len(input_std) != in_chans:
                raise ValueError(
                    f"input_mean and input_std need one value per channel (in_chans={in_chans}), "
                    f"got {len(input_mean)} and {len(input_std)}"
                )
            self.register_buffer(
                "input_mean", torch.tensor(input_mean, dtype=torch.float32).view(1, -1, 1, 1), persistent=False
            )
            self.register_buffer(
                "input_std", torch.tensor(input_std, dtype=torch.float32).view(1, -1, 1, 1), persistent=False
            )
        else:
            self.input_mean = None
            self.input_std = None
        self.pos_embed_kind = pos_embed
        self.pool = pool
        self.num_classes = num_classes
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.num_prefix_tokens = 1
        self.grid_size: tuple[int, int] = (h // ph, w // pw)  # (rows, cols) the model was built for

        self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        if pos_embed == "learned":
            n = self.grid_size[0] * self.grid_size[1]
            self.pos_embed = nn.Parameter(torch.zeros(1, 1 + n, embed_dim))
        else:
            self.register_parameter("pos_embed", None)
        # no parameters and no state-dict entries: built for whatever grid comes in
        self.pos_embed_factorized = (
            FactorizedPosEmbed(self.grid_size, embed_dim) if pos_embed == "factorized" else None
        )
        self.rope = RotaryEmbedding2D(embed_dim // num_heads) if pos_embed == "rope" else None
        self._sincos_cache: dict[tuple[int, int], torch.Tensor] = {}

        self.blocks = nn.ModuleList(Block(embed_dim, num_heads, mlp_ratio) for _ in range(depth))
        final = nn.LayerNorm(embed_dim, eps=1e-6)
        self.norm = final if pool == "cls" else nn.Identity()
        self.fc_norm = final if pool == "mean" else nn.Identity()
        self.head = nn.Linear(embed_dim, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        # timm starts the learned table at std 0.02. Next to the patch tokens that is almost
        # nothing, and a tiny model trained for a few hundred steps then never finds out where its
        # patches are (it sits at chance for 400+ steps). Starting at std 1, the scale of the
        # sin-cos codes, it learns them within the course's budget.
        if self.pos_embed is not None:
            nn.init.normal_(self.pos_embed, std=1.0)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    # -- the grid ------------------------------------------------------------------------------
    @property
    def patch_size(self) -> tuple[int, int]:
        """``(P_rows, P_cols)``, read from the patch-embedding kernel."""
        return tuple(self.patch_embed.patch_size)

    def grid_for(self, image_size: int | tuple[int, int]) -> tuple[int, int]:
        """The ``(rows, cols)`` token grid for an input of ``image_size`` ``(H, W)``."""
        h, w = as_pair(image_size, "image_size")
        ph, pw = self.patch_size
        if h % ph or w % pw:
            raise ValueError(
                f"input of {h}x{w} pixels does not split into {ph}x{pw} patches: "
                f"H and W must be multiples of the patch size (crop or pad it, see vitlearn.crop_to_multiple)"
            )
        return (h // ph, w // pw)

    def set_pos_embed(self, pos_embed: torch.Tensor, grid_size: int | tuple[int, int]) -> None:
        """Replace the learned table by ``pos_embed`` ``(1, 1 + rows*cols, D)`` for ``grid_size``.

        Typical use, to run at 48 px a model trained at 32 px with P=8 (grid 4x4 -> 6x6)::

            new = vitlearn.resample_pos_embed(model.pos_embed, (6, 6), ...)  # see its doc
            model.set_pos_embed(new, (6, 6))
        """
        if self.pos_embed is None:
            raise ValueError(f"this model has pos_embed={self.pos_embed_kind!r}: it has no table to set")
        rows, cols = as_pair(grid_size, "grid_size")
        want = (1, 1 + rows * cols, self.embed_dim)
        if not isinstance(pos_embed, torch.Tensor) or tuple(pos_embed.shape) != want:
            got = shape_str(pos_embed.shape) if isinstance(pos_embed, torch.Tensor) else type(pos_embed).__name__
            raise ValueError(
                f"pos_embed for a {rows}x{cols} grid must have shape {shape_str(want)} "
                f"(class token + {rows}*{cols} patches, width {self.embed_dim}), got {got}"
            )
        self.pos_embed = nn.Parameter(pos_embed.detach().clone().to(self.cls_token))
        self.grid_size = (rows, cols)

    def set_patch_embed(self, weight: torch.Tensor, bias: torch.Tensor | None = None) -> None:
        """Use the kernel ``weight`` ``(D, C, P', P')`` (and ``bias`` ``(D,)``) as the patch embedding.

        The patch size becomes ``P'``; keep the old bias when ``bias`` is None. For ``"learned"``,
        set a table for the new grid too (:meth:`set_pos_embed`).
        """
        check_tensor(weight, "weight", (4,), "(D, C, P, P)")
        d, c, ph, pw = weight.shape
        old = self.patch_embed.proj
        if d != self.embed_dim or c != old.in_channels:
            raise ValueError(
                f"weight must have shape (D={self.embed_dim}, C={old.in_channels}, P, P), got {shape_str(weight.shape)}"
            )
        new_bias = old.bias.detach() if bias is None else bias.detach()
        self.patch_embed = PatchEmbed((int(ph), int(pw)), int(c), int(d)).to(self.cls_token)
        with torch.no_grad():
            self.patch_embed.proj.weight.copy_(weight)
            self.patch_embed.proj.bias.copy_(new_bias)

    def _sincos(self, grid: tuple[int, int]) -> torch.Tensor:
        if grid not in self._sincos_cache:
            table = sincos_2d_pos_embed(grid, self.embed_dim)  # (rows*cols, D)
            self._sincos_cache[grid] = torch.as_tensor(table, dtype=torch.float32)
        return self._sincos_cache[grid]

    # -- forward -------------------------------------------------------------------------------
    def embed(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """The embedding stage: standardise, patches -> tokens, class token in front, position code.

        ``(B, C, H, W) -> (B, 1 + N, D)``, with the grid ``(rows, cols)`` it used.
        """
        check_tensor(x, "x", (4,), "(B, C, H, W)")
        grid = self.grid_for((x.shape[-2], x.shape[-1]))
        if self.input_mean is not None:
            x = (x - self.input_mean) / self.input_std  # pixels standardised per channel
        tokens = self.patch_embed(x)  # (B, N, D), N = rows*cols in row-major order
        cls = self.cls_token.expand(x.shape[0], -1, -1)  # (B, 1, D)
        tokens = torch.cat([cls, tokens], dim=1)  # (B, 1 + N, D)
        if self.pos_embed_kind in ("learned", "factorized"):
            if grid != self.grid_size:
                r, c = self.grid_size
                fix = (
                    "Resample the table with vitlearn.resample_pos_embed and install it with "
                    f"model.set_pos_embed(new, {grid})."
                    if self.pos_embed is not None
                    else f"Build a TinyViT for that grid (image_size={tuple(x.shape[-2:])})."
                )
                raise ValueError(
                    f"the {self.pos_embed_kind} position table was made for a {r}x{c} grid of patches "
                    f"(1 + {r}*{c} tokens), but this {x.shape[-2]}x{x.shape[-1]} input "
                    f"gives a {grid[0]}x{grid[1]} grid. " + fix
                )
            if self.pos_embed is not None:
                tokens = tokens + self.pos_embed
            else:
                tokens = self.pos_embed_factorized(tokens, num_prefix_tokens=1)
        elif self.pos_embed_kind == "sincos":
            table = self._sincos(grid).to(tokens)  # (N, D); the class token gets no code
            tokens = torch.cat([tokens[:, :1], tokens[:, 1:] + table], dim=1)
        return tokens, grid

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, 1 + N, D)``: all tokens after the blocks (and ``norm``)."""
        tokens, grid = self.embed(x)
        for block in self.blocks:
            tokens = block(tokens, self.rope, grid, self.num_prefix_tokens)
        return self.norm(tokens)

    def forward_head(self, tokens: torch.Tensor) -> torch.Tensor:
        """``(B, 1 + N, D) -> (B, num_classes)``: pool (class token or mean of patches), head."""
        pooled = tokens[:, 0] if self.pool == "cls" else tokens[:, self.num_prefix_tokens :].mean(1)
        return self.head(self.fc_norm(pooled))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, num_classes)`` logits."""
        return self.forward_head(self.forward_features(x))

    def num_parameters(self) -> int:
        """How many numbers training adjusts."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def save_timm_state_dict(model: TinyViT, path: str | os.PathLike[str]) -> list[str]:
    """Save ``model``'s weights with ``torch.save`` under timm's names; return the keys.

    The file is a plain ``{name: tensor}`` dict, loadable into a timm
    ``VisionTransformer(img_size, patch_size, embed_dim, depth, num_heads, mlp_ratio,
    num_classes, class_token=True, global_pool="token")`` of the same sizes (for ``"learned"``).
    """
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    torch.save(state, os.fspath(path))
    return list(state)


# -- training --------------------------------------------------------------------------------


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch on one thread for a while.

    The matrices of a tiny ViT are so small that a second thread only adds overhead, and on a
    busy 2-core machine two threads can be ten times slower than one. One thread also makes the
    numbers independent of how many cores the machine has.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 500) -> float:
    """Accuracy of ``model`` on ``images`` ``(n, C, H, W)`` with ``labels`` ``(n,)``, in ``[0, 1]``."""
    check_tensor(images, "images", (4,), "(n, C, H, W)")
    if labels.shape != (images.shape[0],):
        raise ValueError(f"labels must have shape ({images.shape[0]},), got {shape_str(labels.shape)}")
    was_training = model.training
    model.eval()
    correct = 0
    with torch.no_grad(), _one_thread():
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

    Each step draws ``batch_size`` random examples (a generator seeded with ``seed``); the learning
    rate warms up linearly over ``warmup`` steps, then decays along a cosine to 0. Same seed, same
    machine: same numbers. With ``eval_images``/``eval_labels`` the accuracy on them is measured
    every ``eval_every`` steps and at the end.

    Returns the history: ``{"loss": [per step], "acc": [batch accuracy per step],
    "eval_step": [...], "eval_acc": [...], "seconds": float}``.
    """
    check_tensor(images, "images", (4,), "(n, C, H, W)")
    if labels.shape != (images.shape[0],):
        raise ValueError(f"labels must have shape ({images.shape[0]},), got {shape_str(labels.shape)}")
    if (eval_images is None) != (eval_labels is None):
        raise ValueError("give both eval_images and eval_labels, or neither")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "pos_embed" not in n and "token" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "pos_embed" not in n and "token" not in n)]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=lr
    )
    history: dict[str, Any] = {"loss": [], "acc": [], "eval_step": [], "eval_acc": []}
    bar = ProgressBar(steps, desc=desc, enabled=progress)
    start = time.perf_counter()
    model.train()
    with _one_thread():
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
                metrics = {"loss": sum(history["loss"][-20:]) / len(window), "acc": sum(window) / len(window)}
                if history["eval_acc"]:
                    metrics["eval"] = history["eval_acc"][-1]
                bar.update(step + 1, **metrics)
    bar.close()
    model.eval()
    history["seconds"] = time.perf_counter() - start
    return history


DEFAULT_RECIPE: dict[str, Any] = {
    "image_size": 32,
    "patch_size": 8,
    "embed_dim": 32,
    "depth": 2,
    "num_heads": 4,
    "mlp_ratio": 2.0,
    "n_train": 4000,
    "n_test": 1000,
    "steps": 600,
    "batch_size": 64,
    "lr": 1e-3,
    "weight_decay": 0.05,
    "warmup": 30,
}
"""The course's default: a 2-block ViT, D=32, 4x4 patches of 8 px on 32 px scenes, 600 steps at lr 1e-3."""


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
    config: dict[str, Any] = field(default_factory=dict)


_DATA_CACHE: dict[tuple[int, int, str, Any], tuple[Scenes, torch.Tensor, torch.Tensor]] = {}


def _dataset(n: int, seed: int, task: str, image_size: Any) -> tuple[Scenes, torch.Tensor, torch.Tensor]:
    """Scenes, images and labels, rendered once per session (the comparisons reuse them)."""
    key = (n, seed, task, image_size)
    if key not in _DATA_CACHE:
        if len(_DATA_CACHE) >= 8:
            _DATA_CACHE.pop(next(iter(_DATA_CACHE)))
        scenes = make_scenes(n, seed=seed, task=task)
        _DATA_CACHE[key] = (scenes, render_scenes(scenes, image_size), torch.from_numpy(scenes.labels))
    scenes, images, labels = _DATA_CACHE[key]
    return scenes, images.clone(), labels.clone()


def make_trained_tiny_vit(
    pos_embed: str = "learned",
    *,
    task: str = "relation",
    seed: int = 0,
    progress: bool = True,
    **overrides: Any,
) -> TrainedTinyViT:
    """Build the data and a :class:`TinyViT`, train it with :data:`DEFAULT_RECIPE`; a few seconds.

    ``overrides`` replace entries of :data:`DEFAULT_RECIPE` (``image_size``, ``patch_size``,
    ``embed_dim``, ``depth``, ``num_heads``, ``mlp_ratio``, ``n_train``, ``n_test``, ``steps``,
    ``batch_size``, ``lr``, ``weight_decay``, ``warmup``) or pass ``pool`` to the model.
    Training scenes use ``seed``, test scenes ``seed + 1000``; the model starts from ``seed``.
    """
    unknown = set(overrides) - set(DEFAULT_RECIPE) - {"pool"}
    if unknown:
        raise TypeError(f"unknown settings {sorted(unknown)}; known: {sorted(DEFAULT_RECIPE) + ['pool']}")
    cfg = {**DEFAULT_RECIPE, **overrides, "pos_embed": pos_embed, "task": task, "seed": seed}
    info = task_info(task)
    train_scenes, x_train, y_train = _dataset(cfg["n_train"], seed, task, cfg["image_size"])
    test_scenes, x_test, y_test = _dataset(cfg["n_test"], seed + 1000, task, cfg["image_size"])
    torch.manual_seed(seed)
    model = TinyViT(
        image_size=cfg["image_size"],
        patch_size=cfg["patch_size"],
        num_classes=info.num_classes,
        embed_dim=cfg["embed_dim"],
        depth=cfg["depth"],
        num_heads=cfg["num_heads"],
        mlp_ratio=cfg["mlp_ratio"],
        pos_embed=pos_embed,
        pool=cfg.get("pool", "cls"),
    )
    history = train_tiny_vit(
        model, x_train, y_train,
        steps=cfg["steps"], batch_size=cfg["batch_size"], lr=cfg["lr"],
        weight_decay=cfg["weight_decay"], warmup=cfg["warmup"], seed=seed,
        progress=progress, desc=f"{pos_embed:>7}",
    )
    acc = evaluate(model, x_test, y_test)
    return TrainedTinyViT(model, history, acc, x_train, y_train, x_test, y_test, train_scenes, test_scenes, cfg)
