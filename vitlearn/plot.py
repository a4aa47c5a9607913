"""Plotting helpers the notebooks share. Each returns the matplotlib objects it made.

Sections are owned by the chapter that needs them; keep each function self-contained.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

# --- Chapter 1: images, patch grids, token strips ---------------------------------------------


def to_numpy_image(image: torch.Tensor | np.ndarray) -> np.ndarray:
    """An image as an ``(H, W, C)`` (or ``(H, W)``) numpy array ready for ``imshow``.

    Accepts a ``(C, H, W)`` or ``(H, W)`` torch tensor (the course's layout) or an ``(H, W, C)`` /
    ``(H, W)`` numpy array. Float images are clipped to ``[0, 1]``; one channel becomes ``(H, W)``.
    """
    if isinstance(image, torch.Tensor):
        from ._checks import check_tensor

        t = check_tensor(image, "image", (2, 3), "(C, H, W) or (H, W)").detach().cpu()
        if t.dim() == 3:
            t = t.permute(1, 2, 0)  # (C, H, W) -> (H, W, C)
        arr = t.numpy()
    else:
        arr = np.asarray(image)
        if arr.ndim not in (2, 3):
            raise ValueError(f"image must be (H, W, C) or (H, W), got shape {arr.shape}")
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim == 3 and arr.shape[-1] not in (3, 4):
        raise ValueError(
            f"cannot show an image with {arr.shape[-1]} channels (shape {arr.shape}); "
            "expected 1, 3 or 4 channels"
        )
    if np.issubdtype(arr.dtype, np.floating):
        arr = np.clip(arr, 0.0, 1.0)
    return arr


def show_image(
    image: torch.Tensor | np.ndarray,
    ax: Any = None,
    title: str | None = None,
    *,
    size: float = 3.0,
    axis: bool = False,
) -> Any:
    """Show one image; ``(C, H, W)`` tensor or ``(H, W, C)`` array. Returns the ``Axes``.

    With ``ax=None`` a new pyplot figure ``size`` inches tall is made. ``axis=True`` keeps the
    pixel ticks (rows down, columns across).
    """
    arr = to_numpy_image(image)
    if ax is None:
        import matplotlib.pyplot as plt

        h, w = arr.shape[:2]
        _, ax = plt.subplots(figsize=(size * w / h, size), layout="constrained")
    if arr.ndim == 2:  # one channel: grey levels on the image's own scale, not stretched
        vmax = 1.0 if np.issubdtype(arr.dtype, np.floating) else 255
        ax.imshow(arr, cmap="gray", vmin=0, vmax=vmax, interpolation="nearest")
    else:
        ax.imshow(arr, interpolation="nearest")
    if title:
        ax.set_title(title)
    if not axis:
        ax.set_xticks([])
        ax.set_yticks([])
    return ax


def draw_patch_grid(
    ax: Any,
    image_size: int | Sequence[int],
    patch_size: int | Sequence[int],
    *,
    color: str = "white",
    linewidth: float = 1.0,
    numbers: bool = False,
    fontsize: float | None = None,
) -> tuple[Any, list[Any]]:
    """Draw the patch grid of an ``(H, W)`` image over ``ax`` (drawn with ``imshow``).

    Lines fall on patch borders (pixel edges, so at ``k * P - 0.5`` in ``imshow`` coordinates).
    Whole patches only: leftover rows/columns (``H % ph``, ``W % pw``) get no border, as they would
    be cropped. With ``numbers=True`` each patch shows its raster index ``n = row * cols + col``.
    Returns ``(lines, texts)``: a ``LineCollection`` and the list of ``Text`` artists.
    """
    from matplotlib import patheffects
    from matplotlib.collections import LineCollection

    from ._checks import as_pair

    h, w = as_pair(image_size, "image_size")
    ph, pw = as_pair(patch_size, "patch_size")
    rows, cols = h // ph, w // pw
    segs = [[(-0.5, r * ph - 0.5), (cols * pw - 0.5, r * ph - 0.5)] for r in range(rows + 1)]
    segs += [[(c * pw - 0.5, -0.5), (c * pw - 0.5, rows * ph - 0.5)] for c in range(cols + 1)]
    lines = LineCollection(segs, colors=color, linewidths=linewidth)
    ax.add_collection(lines)
    texts = []
    if numbers:
        fs = fontsize or max(5.0, min(10.0, 0.5 * min(ph, pw) * 72 / 80))
        for r in range(rows):
            for c in range(cols):
                texts.append(
                    ax.text(
                        c * pw + pw / 2 - 0.5,
                        r * ph + ph / 2 - 0.5,
                        str(r * cols + c),
                        ha="center",
                        va="center",
                        color=color,
                        fontsize=fs,
                        fontweight="bold",
                        path_effects=[patheffects.withStroke(linewidth=2, foreground="black")],
                    )
                )
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    return lines, texts


def token_strip(
    tokens: torch.Tensor, patch_size: int | Sequence[int], k: int | None = None, *, gap: int = 1
) -> np.ndarray:
    """The first ``k`` tokens as patches side by side: ``(N, ph*pw*C) -> (ph, k*(pw+gap)-gap, C)``.

    Each token is reshaped back to its ``(ph, pw, C)`` patch (features are ordered row in patch,
    column in patch, channel, as :func:`vitlearn.patchify` makes them); the gaps are white. A
    leading batch dimension of 1 is dropped. Values are clipped to ``[0, 1]``.
    """
    from ._checks import as_pair, check_tensor

    layout = "(N, ph*pw*C) or (1, N, ph*pw*C)"
    t = check_tensor(tokens, "tokens", (2, 3), layout).detach().cpu()
    if t.dim() == 3 and t.shape[0] == 1:
        t = t[0]
    if t.dim() != 2:
        raise ValueError(f"tokens must be {layout}, got {tuple(tokens.shape)}")
    ph, pw = as_pair(patch_size, "patch_size")
    n, f = t.shape
    if f % (ph * pw):
        raise ValueError(f"{f} features per token is not a multiple of ph * pw = {ph * pw}")
    c = f // (ph * pw)
    k = n if k is None else max(1, min(int(k), n))
    patches = np.clip(t[:k].float().numpy().reshape(k, ph, pw, c), 0.0, 1.0)  # (k, ph, pw, C)
    strip = np.ones((ph, k * (pw + gap) - gap, c), dtype=np.float32)
    for i in range(k):
        x0 = i * (pw + gap)
        strip[:, x0 : x0 + pw] = patches[i]
    return strip


def show_token_strip(
    tokens: torch.Tensor,
    patch_size: int | Sequence[int],
    k: int | None = 16,
    ax: Any = None,
    *,
    gap: int | None = None,
    labels: bool = True,
    title: str | None = None,
) -> Any:
    """Show the first ``k`` tokens as a row of little images, in raster order. Returns the ``Axes``.

    ``tokens`` is ``(N, ph*pw*C)`` (or ``(1, N, ph*pw*C)``) from :func:`vitlearn.patchify`. With
    ``labels=True`` each patch is labelled with its token index underneath.
    """
    from ._checks import as_pair

    ph, pw = as_pair(patch_size, "patch_size")
    gap = max(1, pw // 4) if gap is None else gap
    strip = token_strip(tokens, (ph, pw), k, gap=gap)
    kk = (strip.shape[1] + gap) // (pw + gap)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(min(10.0, 0.45 * kk + 0.5), 1.0), layout="constrained")
    arr = strip[..., 0] if strip.shape[-1] == 1 else strip
    ax.imshow(arr, cmap="gray" if arr.ndim == 2 else None, interpolation="nearest")
    ax.set_yticks([])
    if labels:
        ax.set_xticks(
            [i * (pw + gap) + (pw - 1) / 2 for i in range(kk)], [str(i) for i in range(kk)]
        )
        ax.tick_params(axis="x", length=0, labelsize=7)
    else:
        ax.set_xticks([])
    ax.set_frame_on(False)  # no box around the pictures
    if title:
        ax.set_title(title, fontsize=9)
    return ax


# --- Chapter 1: patch embedding filters -------------------------------------------------------


def filter_mosaic(
    weight: torch.Tensor,
    patch_size: int | Sequence[int] | None = None,
    *,
    ncols: int = 8,
    gap: int = 1,
) -> np.ndarray:
    """The rows of a patch projection as a grid of little images, for ``imshow``.

    ``weight`` is the convolution form ``(D, C, ph, pw)`` or the linear form ``(D, ph*pw*C)``
    (features in :func:`vitlearn.patchify`'s order; then ``patch_size`` is required). Each filter
    is scaled on its own so that 0 is mid-grey and its largest ``|value|`` is black or white (or
    the full colour range): only the pattern shows, not the size. Filters are laid out row by row,
    ``ncols`` per row, separated by ``gap`` white pixels.
    Returns ``(rows*(ph+gap)-gap, ncols*(pw+gap)-gap, C)`` (``C`` dropped when 1).
    """
    from ._checks import as_pair, check_tensor, shape_str

    layout = "(D, C, ph, pw) or (D, ph*pw*C)"
    w = check_tensor(weight, "weight", (2, 4), layout).detach().cpu().float()
    if w.dim() == 4:
        d, c, ph, pw = w.shape
        w = w.permute(0, 2, 3, 1)  # (D, ph, pw, C)
    elif w.dim() == 2:
        if patch_size is None:
            raise ValueError("a linear weight (D, ph*pw*C) needs patch_size to be shown as images")
        ph, pw = as_pair(patch_size, "patch_size")
        d, f = w.shape
        if f % (ph * pw):
            raise ValueError(
                f"weight of shape {shape_str(w.shape)} has {f} features, not a multiple of "
                f"ph * pw = {ph * pw}"
            )
        c = f // (ph * pw)
        w = w.reshape(d, ph, pw, c)
    if c not in (1, 3):
        raise ValueError(f"can only show filters with 1 or 3 channels, got {c}")
    scale = w.abs().amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)
    w = (0.5 + 0.5 * w / scale).numpy()  # (D, ph, pw, C) in [0, 1], 0 -> grey
    ncols = max(1, min(int(ncols), d))
    nrows = -(-d // ncols)
    out = np.ones((nrows * (ph + gap) - gap, ncols * (pw + gap) - gap, c), dtype=np.float32)
    for i in range(d):
        r, q = divmod(i, ncols)
        out[r * (ph + gap) : r * (ph + gap) + ph, q * (pw + gap) : q * (pw + gap) + pw] = w[i]
    return out[..., 0] if c == 1 else out


def show_filters(
    weight: torch.Tensor,
    patch_size: int | Sequence[int] | None = None,
    k: int | None = 32,
    ax: Any = None,
    *,
    ncols: int = 8,
    title: str | None = None,
    size: float = 0.5,
) -> Any:
    """Show the first ``k`` filters of a patch projection as images. Returns the ``Axes``.

    ``weight`` is ``(D, C, ph, pw)`` (e.g. ``PatchEmbed.proj.weight``) or ``(D, ph*pw*C)`` with
    ``patch_size`` (e.g. an ``nn.Linear`` weight applied after :func:`vitlearn.patchify`). Each
    filter is scaled on its own, 0 = mid-grey (see :func:`filter_mosaic`). With ``ax=None`` a new
    pyplot figure is made, about ``size`` inches per filter.
    """
    w = weight if k is None else weight[: int(k)]
    mosaic = filter_mosaic(w, patch_size, ncols=ncols)
    if ax is None:
        import matplotlib.pyplot as plt

        nrows = -(-w.shape[0] // max(1, min(ncols, w.shape[0])))
        ncol = min(ncols, w.shape[0])
        _, ax = plt.subplots(figsize=(size * ncol + 0.2, size * nrows + 0.4), layout="constrained")
    ax.imshow(
        mosaic, cmap="gray" if mosaic.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest"
    )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_frame_on(False)  # no box around the pictures
    if title:
        ax.set_title(title, fontsize=9)
    return ax


# --- Chapter 2: position codes ------------------------------------------------------------------


def similarity_mosaic(sim: torch.Tensor | np.ndarray) -> np.ndarray:
    """``(rows, cols, rows, cols) -> (rows*(rows+1) - 1, cols*(cols+1) - 1)``: the similarity maps
    of all patches as one image, tile ``(r, c)`` = ``sim[r, c]``, tiles separated by one NaN
    pixel."""
    s = (
        sim.detach().cpu().double().numpy()
        if isinstance(sim, torch.Tensor)
        else np.asarray(sim, dtype=np.float64)
    )
    rows, cols = int(s.shape[0]), int(s.shape[1])
    if s.shape != (rows, cols, rows, cols):
        raise ValueError(f"similarity must be (rows, cols, rows, cols), got {tuple(s.shape)}")
    mosaic = np.full((rows * (rows + 1) - 1, cols * (cols + 1) - 1), np.nan)
    for r in range(rows):
        for c in range(cols):
            mosaic[
                r * (rows + 1) : r * (rows + 1) + rows, c * (cols + 1) : c * (cols + 1) + cols
            ] = s[r, c]
    return mosaic


def plot_position_similarity(
    sim_or_table: torch.Tensor | np.ndarray,
    grid_size: int | Sequence[int] | None = None,
    *,
    num_prefix_tokens: int = 0,
    ax: Any = None,
    title: str | None = None,
    cmap: str = "viridis",
    size: float = 3.5,
    colorbar: bool = True,
    vmin: float | None = None,
) -> Any:
    """The ViT paper's Figure 7 (centre): one small map per patch of its code's similarity to all.

    ``sim_or_table`` is either a ``(rows, cols, rows, cols)`` similarity (from
    :func:`vitlearn.position_similarity`) or a table of codes ``(P + rows*cols, D)`` /
    ``(1, P + rows*cols, D)`` with ``grid_size`` and ``num_prefix_tokens`` given. Tile ``(r, c)``
    of the mosaic (row r from the top, column c from the left) is the ``(rows, cols)`` map of
    cosine similarities between patch ``(r, c)``'s code and every patch's code. The colour scale
    runs from ``vmin`` (default: the smallest similarity shown; pass -1 for the paper's fixed
    scale) to 1. Drawn as one image (fast even for 14 x 14 tiles). Returns the ``Figure``.
    """
    from .posenc import position_similarity

    sim = sim_or_table
    if isinstance(sim, np.ndarray):
        sim = torch.from_numpy(sim)
    if not (isinstance(sim, torch.Tensor) and sim.dim() == 4):
        if grid_size is None:
            raise ValueError(
                "pass grid_size=(rows, cols) with a table of codes, or a (rows, cols, rows, cols) "
                f"similarity; got shape {tuple(getattr(sim, 'shape', ()))} and no grid_size"
            )
        sim = position_similarity(sim, grid_size, num_prefix_tokens)
    rows, cols = int(sim.shape[0]), int(sim.shape[1])
    if tuple(sim.shape) != (rows, cols, rows, cols):
        raise ValueError(f"similarity must be (rows, cols, rows, cols), got {tuple(sim.shape)}")
    mosaic = similarity_mosaic(sim)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(
            figsize=(size * cols / rows + (0.8 if colorbar else 0.2), size + 0.3),
            layout="constrained",
        )
    import matplotlib as mpl

    cm = mpl.colormaps[cmap].with_extremes(bad="white")
    low = float(np.nanmin(mosaic)) if vmin is None else vmin
    im = ax.imshow(mosaic, cmap=cm, vmin=min(low, 0.999), vmax=1, interpolation="nearest")
    ax.set_xticks(
        [c * (cols + 1) + (cols - 1) / 2 for c in range(cols)], [str(c + 1) for c in range(cols)]
    )
    ax.set_yticks(
        [r * (rows + 1) + (rows - 1) / 2 for r in range(rows)], [str(r + 1) for r in range(rows)]
    )
    ax.tick_params(length=0, labelsize=7)
    ax.set_xlabel("input patch column")
    ax.set_ylabel("input patch row")
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title)
    fig = ax.figure
    if colorbar:
        fig.colorbar(im, ax=ax, shrink=0.8, label="cosine similarity")
    return fig


def plot_similarity_at(
    tables: dict[str, tuple[torch.Tensor, int | Sequence[int]]],
    place: Sequence[float] = (0.3, 0.65),
    *,
    num_prefix_tokens: int = 1,
    size: float = 2.3,
) -> Any:
    """One patch's similarity map in each of several tables, side by side. Returns the Figure.

    ``tables`` maps a title to ``(table, grid)``: a table ``(1, prefix + rows*cols, D)`` or
    ``(prefix + rows*cols, D)`` and its grid ``(rows, cols)`` (an int for a square one). In each
    panel, the patch at the same relative place of the image, ``place = (y, x)`` as fractions of
    the height and the width in ``[0, 1)``, is compared with every patch (cosine similarity of
    their codes, :func:`vitlearn.position_similarity`) and marked with a red cross: tables for
    different grids are compared at the same place of the image.
    """
    from ._checks import as_pair, check_number
    from .posenc import position_similarity

    if not isinstance(tables, dict) or not tables:
        raise ValueError(
            "tables must be a non-empty dict {title: (table, (rows, cols))}, got "
            f"{type(tables).__name__}"
        )
    if not (isinstance(place, Sequence) and len(place) == 2):
        raise ValueError(f"place must be (y, x), fractions of the image in [0, 1), got {place!r}")
    y, x = (check_number(v, "place", minimum=0.0) for v in place)
    if max(y, x) >= 1:
        raise ValueError(f"place must be (y, x), fractions of the image in [0, 1), got {place!r}")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        1, len(tables), figsize=(size * len(tables), size * 1.1), squeeze=False
    )
    for ax, (title, (table, grid)) in zip(axes[0], tables.items(), strict=True):
        rows, cols = as_pair(grid, f"the grid of {title!r}")
        r, c = int(y * rows), int(x * cols)
        sim = position_similarity(table.detach(), (rows, cols), num_prefix_tokens)
        ax.imshow(sim[r, c].numpy(), cmap="viridis")
        ax.plot(c, r, "r+", ms=8)
        ax.set_title(f"{title}\npatch ({r}, {c}) vs all", fontsize=8)
        ax.axis("off")
    return fig


# --- Diagrams: the pipeline, resampling, RoPE, attention under a shuffle -----------------------


def _heat(
    ax: Any, data: np.ndarray, title: str, *, cmap: str = "RdBu_r", symmetric: bool = True
) -> Any:
    """One matrix as an image, with its title; no ticks."""
    lim = float(np.abs(data).max()) or 1.0
    kw = {"vmin": -lim, "vmax": lim} if symmetric else {}
    im = ax.imshow(data, cmap=cmap, aspect="auto", interpolation="nearest", **kw)
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    return im


def _arrow_between(fig: Any, ax_from: Any, ax_to: Any, label: str) -> None:
    """An arrow from the right edge of one panel to the left edge of the next, labelled."""
    from matplotlib.patches import ConnectionPatch

    fig.add_artist(
        ConnectionPatch(
            xyA=(1.02, 0.5),
            coordsA=ax_from.transAxes,
            xyB=(-0.02, 0.5),
            coordsB=ax_to.transAxes,
            arrowstyle="-|>",
            mutation_scale=10,
            color="0.3",
            lw=1.0,
        )
    )
    fig.text(
        (ax_from.get_position().x1 + ax_to.get_position().x0) / 2,
        ax_from.get_position().y0 - 0.04,
        label,
        ha="center",
        va="top",
        fontsize=7,
        color="0.2",
    )


def plot_embedding_pipeline(embedding: Any, image: torch.Tensor, *, size: float = 2.0) -> Any:
    """The embedding layer step by step, each panel the real tensor with its shape. Returns the
    Figure.

    ``embedding`` is a :class:`vitlearn.ViTEmbedding` with a class token and a learned table;
    ``image`` is one ``(C, H, W)`` image of the size the layer is made for. Panels: the image with
    its patch grid; the patches ``(N, P*P*C)`` (rows: tokens in raster order); the tokens after
    the projection ``(N, D)``; with the class token in front ``(1 + N, D)``; the position table
    ``(1 + N, D)``; their sum, what the first block reads. Every shape in a title is read from the
    tensor drawn, and the last panel is checked against ``embedding(image)``.
    """
    import matplotlib.pyplot as plt

    from ._checks import check_tensor, shape_str
    from .patches import patchify

    x = check_tensor(image, "image", (3,), "(C, H, W)").detach().float()
    if embedding.cls_token is None or embedding.pos_embed is None or embedding.no_embed_class:
        raise ValueError(
            "plot_embedding_pipeline draws the original ViT layout: it needs a class token and a "
            "learned table with a row for it (class_token=True, pos_embed='learned', "
            "no_embed_class=False)"
        )
    ph, pw = embedding.patch_size
    with torch.no_grad():
        patches = patchify(x, (ph, pw))  # (N, P*P*C)
        tokens = embedding.patch_embed(x[None])[0]  # (N, D)
        with_cls = torch.cat([embedding.cls_token[0], tokens], 0)  # (1 + N, D)
        table = embedding.pos_embed[0].detach()  # (1 + N, D)
        out = with_cls + table
        full = embedding.eval()(x[None])[0]
    if not torch.allclose(out, full, atol=1e-5):
        raise RuntimeError(
            "the steps drawn do not add up to embedding(image)"
        )  # a bug, not a user error
    fig, axes = plt.subplots(
        1, 6, figsize=(6 * size, size * 1.1), width_ratios=[1.1, 1, 1, 1, 1, 1]
    )
    show_image(x, ax=axes[0], title=f"image {shape_str(x.shape)}")
    draw_patch_grid(axes[0], tuple(x.shape[-2:]), (ph, pw), linewidth=0.6)
    _heat(
        axes[1],
        patches.numpy(),
        f"patches {shape_str(patches.shape)}",
        cmap="gray",
        symmetric=False,
    )
    _heat(axes[2], tokens.numpy(), f"tokens {shape_str(tokens.shape)}")
    _heat(axes[3], with_cls.numpy(), f"[CLS] + tokens {shape_str(with_cls.shape)}")
    _heat(axes[4], table.numpy(), f"pos_embed {shape_str(table.shape)}")
    _heat(axes[5], out.numpy(), f"sum {shape_str(out.shape)}")
    for ax in axes[3:]:
        ax.axhline(0.5, color="k", lw=0.8)  # below: the patch tokens; above: the class token
    fig.subplots_adjust(left=0.01, right=0.99, top=0.85, bottom=0.2, wspace=0.35)
    for a, b, label in zip(
        axes[:-1],
        axes[1:],
        ("patchify", "x W^T + b", "class token\nin front", "+", "="),
        strict=True,
    ):
        _arrow_between(fig, a, b, label)
    return fig


def plot_resample_steps(
    pos_embed: torch.Tensor,
    new_size: int | Sequence[int],
    *,
    num_prefix_tokens: int = 1,
    channel: int = 0,
    size: float = 2.0,
    **method: Any,
) -> Any:
    """Resampling a position table, one step per panel. Returns the Figure.

    ``pos_embed`` is ``(1, prefix + rows*cols, D)`` on a square grid. Panels: the table (the
    prefix rows above the line); channel ``channel`` of its grid rows as a ``(rows, cols)`` image
    (the prefix set aside); that image resized to ``new_size`` by
    :func:`vitlearn.resample_pos_embed` (``method`` is passed on: ``recipe=``, ``interpolation=``,
    ...); the new table, flattened back row by row with the prefix rows in front again. The new
    grid and table are read from the function's own output.
    """
    import matplotlib.pyplot as plt

    from ._checks import as_pair, check_int, check_tensor, shape_str, token_grid
    from .resample import resample_pos_embed

    check_tensor(pos_embed, "pos_embed", (3,), "(1, prefix + rows*cols, D)")
    table = pos_embed.detach().float()
    rows, cols = token_grid(
        table.shape[1], num_prefix_tokens, None, what=f"pos_embed {shape_str(table.shape)}"
    )
    new_rows, new_cols = as_pair(new_size, "new_size")
    check_int(channel, "channel", minimum=0, maximum=table.shape[-1] - 1)
    new = resample_pos_embed(
        table, (new_rows, new_cols), num_prefix_tokens=num_prefix_tokens, **method
    )
    p = num_prefix_tokens
    old_img = table[0, p:, channel].reshape(rows, cols).numpy()
    new_img = new[0, p:, channel].reshape(new_rows, new_cols).numpy()
    lim = float(max(np.abs(old_img).max(), np.abs(new_img).max())) or 1.0
    fig, axes = plt.subplots(1, 4, figsize=(4 * size, size * 1.1), width_ratios=[0.8, 1, 1, 0.8])
    _heat(axes[0], table[0].numpy(), f"table {shape_str(table.shape)}")
    axes[0].axhline(p - 0.5, color="k", lw=1)
    for ax, img, title in (
        (axes[1], old_img, f"channel {channel} on the {rows}x{cols} grid"),
        (axes[2], new_img, f"interpolated to {new_rows}x{new_cols}"),
    ):
        ax.imshow(img, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
        ax.set_title(title, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    _heat(axes[3], new[0].numpy(), f"new table {shape_str(new.shape)}")
    axes[3].axhline(p - 0.5, color="k", lw=1)
    fig.subplots_adjust(left=0.01, right=0.99, top=0.85, bottom=0.22, wspace=0.4)
    labels = (
        f"set {p} prefix row(s) aside,\nreshape to (D, {rows}, {cols})",
        "interpolate",
        "flatten row by row,\nprefix rows in front",
    )
    for a, b, label in zip(axes[:-1], axes[1:], labels, strict=True):
        _arrow_between(fig, a, b, label)
    return fig


def plot_rope_rotation(
    q: torch.Tensor,
    k: torch.Tensor,
    pairs: Sequence[tuple[int, int]],
    *,
    rope: Any = None,
    size: float = 2.4,
) -> Any:
    """How rotary codes see two tokens: a query at column ``m``, a key at column ``n``. Returns the
    Figure.

    ``q`` and ``k`` are 2-vectors. Each ``(m, n)`` in ``pairs`` gets a panel: ``q`` rotated as
    :class:`vitlearn.RotaryEmbedding2D` rotates a token at grid position ``(0, m)``, ``k`` as one
    at ``(0, n)`` (its first pair of channels: the column pair with the highest frequency), the
    original vectors dashed. The title gives the angle between the two rotated vectors and their
    dot product: pairs with the same offset ``n - m`` give the same numbers. ``rope`` defaults to
    ``RotaryEmbedding2D(head_dim=4)``, whose first pair turns one radian per column.
    """
    import matplotlib.pyplot as plt

    from .posenc import RotaryEmbedding2D

    rope = rope if rope is not None else RotaryEmbedding2D(head_dim=4)
    q2, k2 = (torch.as_tensor(v, dtype=torch.float32).reshape(2) for v in (q, k))
    hd = rope.head_dim

    def rotated(v: torch.Tensor, col: int) -> torch.Tensor:
        full = torch.zeros(1 + col, hd)  # tokens at (0, 0) .. (0, col) of a 1 x (col + 1) grid
        full[col, :2] = v
        return rope(full, (1, col + 1))[col, :2]

    fig, axes = plt.subplots(1, len(pairs), figsize=(size * len(pairs), size * 1.05), squeeze=False)
    for ax, (m, n) in zip(axes[0], pairs, strict=True):
        qm, kn = rotated(q2, m), rotated(k2, n)
        angle = float(torch.rad2deg(torch.atan2(kn[1], kn[0]) - torch.atan2(qm[1], qm[0]))) % 360
        for vec, color, style, label in (
            (q2, "C0", ":", None),
            (k2, "C3", ":", None),
            (qm, "C0", "-", f"q at col {m}"),
            (kn, "C3", "-", f"k at col {n}"),
        ):
            ax.annotate(
                "",
                xy=vec.tolist(),
                xytext=(0, 0),
                arrowprops={"arrowstyle": "-|>", "color": color, "ls": style, "lw": 1.5},
            )
            if label:
                ax.text(
                    *(1.12 * vec).tolist(), label, color=color, fontsize=7, ha="center", va="center"
                )
        r = 1.35 * float(max(q2.norm(), k2.norm()))
        ax.add_patch(plt.Circle((0, 0), float(q2.norm()), fill=False, color="0.85", lw=0.8))
        ax.set_xlim(-r, r)
        ax.set_ylim(-r, r)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"offset {n - m}: angle {angle:.0f}°, q·k = {float(qm @ kn):.3f}", fontsize=8)
    fig.tight_layout()
    return fig


def plot_attention_shuffle(
    weights: torch.Tensor, weights_shuffled: torch.Tensor, perm: torch.Tensor, *, size: float = 2.6
) -> Any:
    """Attention before and after shuffling the tokens, and the shuffled one put back. Returns the
    Figure.

    ``weights`` is ``(T, T)`` (rows: queries, columns: keys) for the tokens in their order,
    ``weights_shuffled`` the same for the tokens in the order ``perm`` (token ``i`` of the
    shuffled input is token ``perm[i]`` of the original). The third panel undoes the shuffle,
    ``out[perm[i], perm[j]] = weights_shuffled[i, j]``; the title gives its largest difference
    from the first panel (zero, up to rounding, for attention without position codes).
    """
    import matplotlib.pyplot as plt

    from ._checks import check_tensor, shape_str

    a = check_tensor(weights, "weights", (2,), "(T, T)").detach().float()
    b = check_tensor(weights_shuffled, "weights_shuffled", (2,), "(T, T)").detach().float()
    check_tensor(perm, "perm", (1,), "(T,)")
    if a.shape != b.shape or a.shape[0] != a.shape[1] or perm.shape != (a.shape[0],):
        raise ValueError(
            f"weights and weights_shuffled must be the same (T, T) and perm (T,), got "
            f"{shape_str(a.shape)}, {shape_str(b.shape)} and {shape_str(perm.shape)}"
        )
    back = torch.empty_like(b)
    back[perm[:, None], perm[None, :]] = b
    diff = float((back - a).abs().max())
    fig, axes = plt.subplots(1, 3, figsize=(3 * size, size * 1.15))
    vmin, vmax = float(min(a.min(), b.min())), float(max(a.max(), b.max()))
    for ax, data, title in (
        (axes[0], a, "attention, tokens in order"),
        (axes[1], b, "the same tokens shuffled"),
        (axes[2], back, f"shuffled, rows and columns put back\nmax |difference| = {diff:.1e}"),
    ):
        ax.imshow(data.numpy(), cmap="viridis", vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("key", fontsize=7)
        ax.set_ylabel("query", fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def plot_jigsaw_answers(
    image: torch.Tensor,
    jigsaw: torch.Tensor,
    answers: Mapping[str, tuple[torch.Tensor, torch.Tensor]],
    class_names: Sequence[str],
    *,
    size: float = 2.2,
) -> Any:
    """An image, a jigsaw of its patches, and what each model answers for both. Returns the Figure.

    ``image`` and ``jigsaw`` are ``(C, H, W)``. ``answers`` maps a model's name (the title of its
    panel) to its outputs for the image and for the jigsaw, two ``(K,)`` tensors (e.g. class
    probabilities), drawn as bars: grey for the image, in colour for the jigsaw. ``class_names``
    labels the ``K`` bars. The static version of :class:`vitlearn.widgets.JigsawExplorer`.
    """
    import matplotlib.pyplot as plt

    from ._checks import check_tensor, shape_str

    check_tensor(image, "image", (3,), "(C, H, W)")
    check_tensor(jigsaw, "jigsaw", (3,), "(C, H, W)")
    if image.shape != jigsaw.shape:
        raise ValueError(
            f"image and jigsaw must have the same (C, H, W), got {shape_str(image.shape)} and "
            f"{shape_str(jigsaw.shape)}"
        )
    if not answers:
        raise ValueError("answers must name at least one model")
    k = len(class_names)
    bars = {}
    for name, pair in answers.items():
        a, b = (check_tensor(t, f"answers[{name!r}]", (1,), "(K,)").detach().float() for t in pair)
        if a.shape != (k,) or b.shape != (k,):
            raise ValueError(
                f"answers[{name!r}] must be two (K,) tensors with K = {k} (one per class name), "
                f"got {shape_str(a.shape)} and {shape_str(b.shape)}"
            )
        bars[name] = (a.numpy(), b.numpy())
    m = len(bars)
    fig, axes = plt.subplots(
        1,
        2 + m,
        figsize=(size * (2 + 1.3 * m), size * 1.1),
        gridspec_kw={"width_ratios": [1, 1] + [1.3] * m},
        layout="constrained",
    )
    for ax, img, title in ((axes[0], image, "a test scene"), (axes[1], jigsaw, "its jigsaw")):
        show_image(img, ax=ax)
        ax.set_title(title, fontsize=8)
    x = np.arange(k)
    top = max(max(float(a.max()), float(b.max())) for a, b in bars.values())
    for i, (ax, (name, (a, b))) in enumerate(zip(axes[2:], bars.items(), strict=True)):
        ax.bar(x - 0.2, a, width=0.4, color="0.7", label="scene")
        ax.bar(x + 0.2, b, width=0.4, color=f"C{i}", label="jigsaw")
        ax.set_xticks(x, list(class_names), fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_ylim(0, 1.15 * top)
        ax.set_title(name, fontsize=8)
    axes[2].legend(fontsize=7, loc="upper left")
    return fig
