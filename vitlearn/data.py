"""Synthetic scenes for training tiny ViTs on a CPU in seconds.

A scene is a handful of coloured shapes described by *continuous* parameters (centres, radii,
kinds, colours) in the unit square, not by pixels. :func:`render_scenes` draws the same scenes at
any resolution, so a model trained on 32 px images can be evaluated on the very same scenes at
48 or 64 px. Coordinates: ``centers[..., 0]`` is y (the row axis, growing downwards) and
``centers[..., 1]`` is x (the column axis, growing to the right), both in ``[0, 1]`` where 0 is the
top/left edge of the image and 1 the bottom/right edge.

Three tasks:

``"relation"`` (:func:`make_position_task`)
    A red and a blue shape, each inside its own cell of a ``4 x 4`` grid of cells (a cell is a
    quarter of the image side), jittered a little inside it. The label says where the red shape is
    relative to the blue one: left of, right of, above or below it -- along the axis on which
    their cells are further apart (never a tie). Patches that tile the cells (``S / P`` a multiple
    of 4: P = 8 or 4 at 32 px, P = 12 or 6 at 48 px, P = 16, 8 or 4 at 64 px) each lie inside one
    cell, and what a cell holds (kind, size, jitter of its shape) does not depend on the label. So
    the *set* of patch contents has the same distribution for every class: a ViT without position
    codes, which only sees that set, is at chance, 1/4. Swapping the red and the blue cells keeps
    the set and flips the label.

    ``cells=g`` (:func:`make_scenes`, :func:`make_position_task`) uses a ``g x g`` grid of cells
    instead, with the shapes, their jitter and the edge margin all scaled by ``4 / g`` so they
    keep their size *relative to a cell*. Patches still tile the cells when ``S / P`` is a
    multiple of ``g`` (``g = 7``: P = 4 at 56 px gives 14 x 14 patches, 2 x 2 to a cell;
    ``g = 14``: one patch to a cell). More cells mean finer differences of row and column to
    read: with ``g = 14`` at 56 px and P = 4, a difference of a single patch decides the label.
    The default, ``g = 4``, draws exactly the scenes it always drew.

``"quadrant"``
    The scenes of ``"relation"`` (a red and a blue shape in two cells of a ``cells x cells``
    grid, default 4 x 4), with another question: in which quadrant around the blue shape is the
    red one -- above-left, above-right, below-left or below-right? That is the sign of the row
    difference and the sign of the column difference, each read on its own; cells in the same row
    or the same column are never drawn (no tie). Every difference counts, down to one cell, but
    only its sign, not its size (``"relation"`` compares the sizes of the two). As in
    ``"relation"``, the set of patch contents does not depend on the label (swapping red and blue
    flips both signs): a ViT without position codes is at chance, 1/4.

``"shape"``
    One shape of a random colour at a random place; the label is its kind (disc, square,
    diamond). The content of the patches is enough here: position codes are not needed. Chance 1/3.

``"stripes"``
    The scenes of ``"relation"``, each with one more property: both shapes are *plain* or both
    are *striped*. A striped shape is filled with horizontal stripes fixed to the image
    (:data:`STRIPE_PAIRS` dark and as many light ones down the image side): dark stripes of the
    shape's colour, light ones of the background's. A plain shape is filled with the average of
    the two, a paler red or blue. Eight classes: the relation's four, plain (0-3) or striped
    (4-7); chance 1/8. At 24 px every pixel row covers one dark and one light stripe, so the
    camera averages them into the plain colour: a striped scene is drawn *exactly* as its plain
    twin (:func:`stripe_contrast` is 0), no model can tell the two halves apart, and the best
    accuracy is 1/2. At 48 px every row covers a single stripe, and the stripes show at full
    contrast. The detail that decides half the answer is there only at the higher resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ._checks import as_pair, check_choice, check_int

KINDS: tuple[str, ...] = ("disc", "square", "diamond")
"""Shape kinds, indexed by ``Scenes.kinds``."""

RED = (0.90, 0.15, 0.10)
BLUE = (0.10, 0.30, 0.95)
BACKGROUND = (0.97, 0.97, 0.95)

SCENE_MEAN: tuple[float, float, float] = (0.94, 0.93, 0.93)
"""Per-channel mean of the rendered scenes (R, G, B): mostly the light background."""
SCENE_STD: tuple[float, float, float] = (0.15, 0.15, 0.15)
"""Per-channel standard deviation of the rendered scenes; :class:`vitlearn.TinyViT` standardises
its input with these two, as ImageNet models do with ImageNet's mean and std."""

_PALETTE = np.array(
    [RED, BLUE, (0.10, 0.65, 0.20), (0.95, 0.70, 0.05), (0.55, 0.20, 0.75), (0.05, 0.70, 0.75)],
    dtype=np.float64,
)

RELATION_CELLS = 4
"""The relation task places each shape in one cell of a ``4 x 4`` grid of cells."""

STRIPE_PAIRS = 24
"""How many dark (and as many light) stripes fill the image side behind a striped shape (task
``"stripes"``): each stripe is ``1 / 48`` of the side high. At 24 px a pixel row covers one stripe
of each and shows their average; at 48 px (and at every multiple of 48) it covers exactly one."""

_AA_PAD = 1.0 / 32  # soft edges reach half a pixel out; at 32 px and above that is <= 1/64 a side
_RADIUS = (0.085, 0.105)  # relation-task shape radius, as a fraction of the image side


@dataclass(frozen=True)
class TaskInfo:
    """What a task asks: its classes and chance level (the accuracy of guessing)."""

    name: str
    class_names: tuple[str, ...]
    description: str

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def chance(self) -> float:
        """Accuracy of guessing; classes are balanced, so this is ``1 / num_classes``."""
        return 1.0 / self.num_classes


TASKS: dict[str, TaskInfo] = {
    "relation": TaskInfo(
        "relation",
        ("red left of blue", "red right of blue", "red above blue", "red below blue"),
        "where is the red shape relative to the blue one? (needs positions)",
    ),
    "shape": TaskInfo(
        "shape",
        KINDS,
        "which kind of shape is it? (content alone is enough)",
    ),
    "quadrant": TaskInfo(
        "quadrant",
        (
            "red above-left of blue",
            "red above-right of blue",
            "red below-left of blue",
            "red below-right of blue",
        ),
        "in which quadrant around the blue shape is the red one? (needs positions)",
    ),
    "stripes": TaskInfo(
        "stripes",
        tuple(
            f"red {where} blue, {fill}"
            for fill in ("plain", "striped")
            for where in ("left of", "right of", "above", "below")
        ),
        "where is the red shape relative to the blue one, and are the two plain or striped? "
        "(needs positions; the stripes show at 48 px, not at 24)",
    ),
}


def task_info(task: str = "relation") -> TaskInfo:
    """The classes of ``task`` (a name of :data:`TASKS`): names, ``num_classes``, ``chance``.

    >>> task_info("relation").num_classes
    4
    """
    check_choice(task, "task", tuple(TASKS))
    return TASKS[task]


@dataclass(frozen=True)
class Scenes:
    """``n`` scenes of ``K`` shapes each, in continuous coordinates (resolution-free).

    Attributes:
        centers: ``(n, K, 2)`` float, ``(y, x)`` in ``[0, 1]``; y = row (down), x = column (right).
        radii: ``(n, K)`` float, fraction of the image side.
        kinds: ``(n, K)`` int, index into :data:`KINDS`.
        colors: ``(n, K, 3)`` float RGB in ``[0, 1]``; shapes are drawn in order, later on top.
        labels: ``(n,)`` int64 class indices (see :func:`task_info`).
        task: the task's name.
        striped: ``(n, K)`` bool, which shapes are filled with stripes (task ``"stripes"``): dark
            stripes of the shape's colour in ``colors``, light ones of :data:`BACKGROUND`,
            :data:`STRIPE_PAIRS` of each down the image; ``None`` (the other tasks): none is.
    """

    centers: np.ndarray
    radii: np.ndarray
    kinds: np.ndarray
    colors: np.ndarray
    labels: np.ndarray
    task: str
    striped: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def info(self) -> TaskInfo:
        return TASKS[self.task]

    def subset(self, index: slice | np.ndarray | list[int]) -> Scenes:
        """The scenes at ``index`` (a slice, a list or an array of indices)."""
        return Scenes(
            self.centers[index],
            self.radii[index],
            self.kinds[index],
            self.colors[index],
            self.labels[index],
            self.task,
            None if self.striped is None else self.striped[index],
        )


def _balanced_labels(n: int, num_classes: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` labels, each class ``n // num_classes`` or one more times, in random order."""
    return rng.permutation(np.arange(n) % num_classes).astype(np.int64)


def _classify_offsets(task: str, dy: np.ndarray, dx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The class of each (red minus blue) cell offset, and whether it is allowed (no tie)."""
    if task == "relation":
        # 0 left (dx<0), 1 right, 2 above (dy<0), 3 below, along the axis of the larger offset
        cls = np.where(np.abs(dx) > np.abs(dy), np.where(dx < 0, 0, 1), np.where(dy < 0, 2, 3))
        return cls, np.abs(dx) != np.abs(dy)
    # quadrant: 0 above-left, 1 above-right, 2 below-left, 3 below-right
    return 2 * (dy > 0) + (dx > 0), (dx != 0) & (dy != 0)


def _pale(color: np.ndarray) -> np.ndarray:
    """The average of stripes of ``color`` and of the background, as a pixel row covering one of
    each shows it (the same arithmetic as :func:`_striped_rows` at a dark fraction of 1/2)."""
    return color * 0.5 + np.array(BACKGROUND) * 0.5


def _two_shape_scenes(n: int, rng: np.random.Generator, g: int, task: str) -> Scenes:
    """A red and a blue shape in two cells of a ``g x g`` grid, placed so that ``task``'s labels
    are balanced (``"relation"``, ``"quadrant"`` or ``"stripes"``)."""
    if task == "stripes":  # eight classes: the relation's four, plain or striped
        labels = _balanced_labels(n, 8, rng)
        targets, placed_as = labels % 4, "relation"
    else:
        labels = _balanced_labels(n, 4, rng)
        targets, placed_as = labels, task
    # shapes, jitter and margin shrink with the cell, so a scene of g x g cells looks like a
    # 4 x 4 one seen from further away; for g = 4 the factor is exactly 1.0 (same numbers)
    scale = RELATION_CELLS / g
    cells = np.zeros((n, 2, 2), dtype=np.int64)  # (n, shape, (row, col)) cell of red, of blue
    todo = np.arange(n)
    while todo.size:
        c = rng.integers(0, g, size=(todo.size, 2, 2))
        d = c[:, 0] - c[:, 1]  # red minus blue, in cells: (dy, dx)
        cls, allowed = _classify_offsets(placed_as, d[:, 0], d[:, 1])  # ties are redrawn
        ok = allowed & (cls == targets[todo])
        cells[todo[ok]] = c[ok]
        todo = todo[~ok]
    radii = rng.uniform(_RADIUS[0] * scale, _RADIUS[1] * scale, size=(n, 2))
    # jitter each shape inside its cell, independently of everything else, never over its border
    room = (
        0.5 / g - radii - _AA_PAD * scale / 2
    )  # (n, 2) how far the centre may move from the cell's centre
    jitter = rng.uniform(-1.0, 1.0, size=(n, 2, 2)) * room[:, :, None]
    centers = (cells + 0.5) / g + jitter
    kinds = rng.integers(0, len(KINDS), size=(n, 2))
    colors = np.broadcast_to(np.array([RED, BLUE]), (n, 2, 3)).copy()
    if task != "stripes":
        return Scenes(centers, radii, kinds, colors, labels, task)
    striped = np.repeat((labels >= 4)[:, None], 2, axis=1)  # (n, 2): both shapes, or neither
    colors = np.where(striped[:, :, None], colors, _pale(colors))
    return Scenes(centers, radii, kinds, colors, labels, task, striped)


def _shape_scenes(n: int, rng: np.random.Generator) -> Scenes:
    labels = _balanced_labels(n, len(KINDS), rng)
    radii = rng.uniform(0.12, 0.2, size=(n, 1))
    lo, hi = radii + 0.02, 1.0 - radii - 0.02
    centers = rng.uniform(lo[:, :, None], hi[:, :, None], size=(n, 1, 2))
    colors = _PALETTE[rng.integers(0, len(_PALETTE), size=(n, 1))]
    return Scenes(centers, radii, labels[:, None].copy(), colors, labels, "shape")


def make_scenes(
    n: int, *, seed: int = 0, task: str = "relation", cells: int = RELATION_CELLS
) -> Scenes:
    """``n`` random scenes for ``task``, with balanced labels; the same for the same ``seed``.

    ``task``: ``"relation"`` (red vs blue position, 4 classes), ``"quadrant"`` (the quadrant of
    red around blue, 4 classes), ``"shape"`` (3 kinds) or ``"stripes"`` (the relation, and
    whether both shapes are plain or striped: 8 classes). ``cells``: the grid of cells of the
    two-shape tasks, ``cells x cells`` (default 4; at least 2, since the two shapes need two
    cells); the shape task has no cells and accepts only the default.
    Draw them at any resolution with :func:`render_scenes`.
    """
    check_int(n, "n")
    check_int(seed, "seed", minimum=0)
    check_choice(task, "task", tuple(TASKS))
    check_int(cells, "cells", minimum=2)
    if task == "shape" and cells != RELATION_CELLS:
        raise ValueError(f"cells={cells} applies to the tasks with cells; 'shape' has none")
    rng = np.random.default_rng(seed)
    if task == "shape":
        return _shape_scenes(n, rng)
    return _two_shape_scenes(n, rng, cells, task)


def _coverage(
    kind: np.ndarray, dy: np.ndarray, dx: np.ndarray, r: np.ndarray, pixel: float
) -> np.ndarray:
    """Fraction of each pixel covered by a shape, from its signed distance (soft 1-pixel edge).

    ``dy, dx``: offsets of the pixel centres from the shape centre, broadcast to ``(n, S, S)``.
    """
    disc = np.sqrt(dy**2 + dx**2) - r
    square = np.maximum(np.abs(dy), np.abs(dx)) - 0.85 * r  # about the area of the disc
    diamond = (np.abs(dy) + np.abs(dx)) * np.float32(0.5**0.5) - 0.9 * r
    sdf = np.where(kind == 0, disc, np.where(kind == 1, square, diamond))
    # a ramp one pixel wide centred on the edge: a cheap analytic box filter
    return np.clip(0.5 - sdf / pixel, 0.0, 1.0)


def _dark_fraction(h: int) -> np.ndarray:
    """``(h,)``: the part of each of ``h`` pixel rows that the dark stripes cover.

    The stripes are fixed to the image: dark on ``[k, k + 1/2)`` and light on ``[k + 1/2, k + 1)``
    in units of one stripe pair (the image side is :data:`STRIPE_PAIRS` units). Row ``i`` covers
    ``[i, i + 1] * STRIPE_PAIRS / h``; the dark part of ``[0, u]`` is ``floor(u) / 2 +
    min(u - floor(u), 1/2)``, so a row's share is a difference of two of those, exactly.
    """
    u = np.arange(h + 1) * STRIPE_PAIRS / h  # row edges, in stripe pairs
    whole = np.floor(u)
    dark = whole * 0.5 + np.minimum(u - whole, 0.5)  # dark length in [0, u]
    return np.diff(dark) / np.diff(u)


def _striped_rows(color: np.ndarray, h: int) -> np.ndarray:
    """``(n, 3) -> (n, 3, h, 1)``: the colour each pixel row of a striped shape shows, an average
    of ``color`` and the background weighted by the row's dark fraction."""
    f = _dark_fraction(h)[None, None, :, None]  # (1, 1, h, 1)
    background = np.array(BACKGROUND)[None, :, None, None]
    return color[:, :, None, None] * f + background * (1.0 - f)


def render_scenes(scenes: Scenes, image_size: int | tuple[int, int] = 32) -> torch.Tensor:
    """Draw ``scenes`` on a pixel grid: ``(n, 3, H, W)`` float32 in ``[0, 1]``.

    ``image_size``: ``S`` or ``(H, W)``. Each pixel is sampled at its centre,
    ``((row + 0.5) / H, (col + 0.5) / W)``, with edges softened over one pixel, so the same scene
    at 64 px averaged down 2x2 is close to its 32 px rendering. The stripes of a striped shape
    (task ``"stripes"``) are averaged over each pixel row as a camera would (a box filter), so a
    row shows the share of dark and light stripes it covers.
    """
    if not isinstance(scenes, Scenes):
        raise TypeError(f"scenes must be a Scenes (from make_scenes), got {type(scenes).__name__}")
    h, w = as_pair(image_size, "image_size", minimum=2)
    ys = ((np.arange(h) + 0.5) / h).astype(np.float32)  # (H,) row centres
    xs = ((np.arange(w) + 0.5) / w).astype(np.float32)  # (W,) column centres
    pixel = 1.0 / min(h, w)
    n = len(scenes)
    img = np.empty((n, 3, h, w), dtype=np.float32)
    img[:] = np.array(BACKGROUND, dtype=np.float32)[None, :, None, None]
    for k in range(scenes.centers.shape[1]):
        cy = scenes.centers[:, k, 0].astype(np.float32)[:, None, None]  # (n, 1, 1)
        cx = scenes.centers[:, k, 1].astype(np.float32)[:, None, None]
        r = scenes.radii[:, k].astype(np.float32)[:, None, None]
        kind = scenes.kinds[:, k][:, None, None]
        a = _coverage(kind, ys[None, :, None] - cy, xs[None, None, :] - cx, r, pixel)  # (n, H, W)
        a = a[:, None]  # (n, 1, H, W)
        color = scenes.colors[:, k].astype(np.float32)[:, :, None, None]  # (n, 3, 1, 1)
        if scenes.striped is not None and scenes.striped[:, k].any():
            rows = _striped_rows(scenes.colors[:, k], h).astype(np.float32)  # (n, 3, H, 1)
            color = np.where(scenes.striped[:, k, None, None, None], rows, color)
        img = img * (1.0 - a) + color * a
    return torch.from_numpy(img)


def without_stripes(scenes: Scenes) -> Scenes:
    """The same scenes with every striped shape filled plain, with its stripes' average colour
    (what a pixel row covering one dark and one light stripe shows); labels unchanged."""
    if not isinstance(scenes, Scenes):
        raise TypeError(f"scenes must be a Scenes (from make_scenes), got {type(scenes).__name__}")
    if scenes.striped is None:
        return scenes
    colors = np.where(scenes.striped[:, :, None], _pale(scenes.colors), scenes.colors)
    return Scenes(
        scenes.centers,
        scenes.radii,
        scenes.kinds,
        colors,
        scenes.labels,
        scenes.task,
        np.zeros_like(scenes.striped),
    )


def stripe_contrast(scenes: Scenes, image_size: int | tuple[int, int] = 32) -> torch.Tensor:
    """How visible the stripes are at ``image_size``: ``(n,)``, for each scene the largest
    ``|difference|`` of a pixel between the scene drawn as it is and drawn
    :func:`without_stripes`, in ``[0, 1]``.

    0 means that the two drawings are identical, so no model can tell a striped scene from its
    plain twin; for the task ``"stripes"`` that is the case at 24 px, while at 48 px the striped
    scenes reach the full contrast between the shape's colour and its plain colour (about 0.43).
    Scenes without stripes give 0 at any size.
    """
    drawn = render_scenes(scenes, image_size)
    plain = render_scenes(without_stripes(scenes), image_size)
    return (drawn - plain).abs().amax(dim=(1, 2, 3))


def make_position_task(
    n: int, image_size: int | tuple[int, int] = 32, *, seed: int = 0, cells: int = RELATION_CELLS
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images and labels of the ``"relation"`` task, where only positions tell the classes apart.

    Returns ``images`` ``(n, 3, H, W)`` float32 in ``[0, 1]`` and ``labels`` ``(n,)`` int64 in
    ``0..3`` (balanced; names in ``task_info("relation").class_names``; chance 1/4). Each shape
    sits in its own cell of a 4x4 grid of cells; with patches that tile the cells (e.g. P=8 or 4
    at 32 px) a ViT without position codes is at
    chance. Same ``seed``, same data; use different seeds for training and test sets.
    ``cells=g``: a ``g x g`` grid of cells instead (see the module doc).
    """
    scenes = make_scenes(n, seed=seed, task="relation", cells=cells)
    return render_scenes(scenes, image_size), torch.from_numpy(scenes.labels)
