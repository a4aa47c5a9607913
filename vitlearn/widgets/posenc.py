"""Explorers for chapter 2: why a ViT needs position codes, and what the codes look like.

- :class:`JigsawExplorer`: shuffle an image's patches (a seed slider) and compare the outputs of
  models with and without position codes on the image and on its jigsaw.
- :class:`SimilarityExplorer`: pick a kind of code and a patch; see how similar its code is to
  every other patch's code.
- :class:`FrequencyExplorer`: any channel of the 2-D sin-cos codes drawn over the patch grid, in
  each published convention.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from .._checks import as_pair, check_cell, check_choice, check_int, check_tensor
from .._state import seeded
from ..patches import grid_shape, shuffle_patches
from ..posenc import (
    SINCOS_CONVENTIONS,
    FactorizedPosEmbed,
    LearnedPosEmbed,
    describe_sincos_channel,
    position_similarity,
    sincos_1d_pos_embed,
    sincos_2d_pos_embed,
)
from ._base import Explorer

__all__ = ["FrequencyExplorer", "JigsawExplorer", "SimilarityExplorer", "default_tables"]


def _clean_axes(ax: Any) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


# --- jigsaw ----------------------------------------------------------------------------------


def _default_scene() -> torch.Tensor:
    """One scene of the position task, 32 px: (3, 32, 32)."""
    from ..data import make_position_task

    images, _ = make_position_task(1, 32, seed=0)
    return images[0]


def _default_models() -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    """Two untrained tiny ViTs with the same seed: no position code, and learned codes."""
    from ..models import TinyViT

    models = {}
    for kind in ("none", "learned"):
        with seeded(0):
            models[f"pos_embed={kind!r}"] = TinyViT(pos_embed=kind).eval()
    return models


class JigsawExplorer(Explorer):
    """A seed slider shuffles the patches of ``image``; compare models on the image and its jigsaw.

    ``models`` maps a name to a function (e.g. an ``nn.Module`` in eval mode) taking images
    ``(B, C, H, W)`` and returning outputs ``(B, K)`` (logits, or any vector). Left: the image and
    the jigsaw. Right: one bar chart per model, its ``K`` outputs for the image (grey) and for the
    jigsaw (colour), with the largest difference in the title. A model without position codes,
    pooling by class token or mean, gives the same outputs for both (up to float rounding).
    ``seed = 0`` is the unshuffled image.

    With no arguments it shows one synthetic scene (32 px, ``P = 8``) and two untrained tiny ViTs,
    seeded alike, one without position codes and one with learned codes. Untrained, the second
    one's outputs move only a little (about 1e-4), but they move; the first one's do not move at
    all. Notebook 03 passes trained models, where the difference is large.
    """

    def __init__(
        self,
        image: torch.Tensor | None = None,
        patch_size: int | Sequence[int] = 8,
        models: Mapping[str, Callable[[torch.Tensor], torch.Tensor]] | None = None,
        *,
        seed: int = 1,
        max_seed: int = 30,
        output_names: Sequence[str] | None = None,
    ) -> None:
        if image is None:
            image = _default_scene()
        if models is None:
            models = _default_models()
        check_tensor(image, "image", (3,), "(C, H, W)")
        if not models:
            raise ValueError("models must name at least one model")
        self.image = image.detach().float()
        self.patch_size = as_pair(patch_size, "patch_size")
        self.grid = grid_shape(tuple(image.shape[-2:]), self.patch_size)
        self.models = dict(models)
        self.max_seed = check_int(max_seed, "max_seed", minimum=0)
        with torch.no_grad():
            self._base = {k: m(self.image[None])[0].float() for k, m in self.models.items()}
        k_out = {v.shape[-1] for v in self._base.values()}
        if len(k_out) != 1:
            raise ValueError(
                f"every model must return (B, K) with the same K, got K in {sorted(k_out)}"
            )
        self.k = k_out.pop()
        self.output_names = (
            list(output_names) if output_names is not None else [str(i) for i in range(self.k)]
        )
        self.state: dict[str, Any] = {"seed": check_int(seed, "seed", minimum=0)}

        m = len(self.models)
        h, w = self.image.shape[-2:]
        img_w = 2.0 * min(1.6, w / h)  # inches per image panel
        fig_w = 0.1 + 2 * (img_w + 0.1) + m * 2.4
        self.fig = Figure(figsize=(fig_w, 2.6), dpi=self.dpi)

        def box(left_in: float, width_in: float, bottom: float, height: float) -> tuple:
            return (left_in / fig_w, bottom, width_in / fig_w, height)

        self.ax_img = self.fig.add_axes(box(0.1, img_w, 0.08, 0.76))
        self.ax_jig = self.fig.add_axes(box(0.2 + img_w, img_w, 0.08, 0.76))
        show = self.image.permute(1, 2, 0).clamp(0, 1).numpy()
        if show.shape[-1] == 1:
            show = show[..., 0]
        gray = "gray" if show.ndim == 2 else None
        self.ax_img.imshow(show, cmap=gray, interpolation="nearest")
        self.ax_img.set_title("image", fontsize=9)
        self._jig = self.ax_jig.imshow(show, cmap=gray, interpolation="nearest")
        for ax in (self.ax_img, self.ax_jig):
            _clean_axes(ax)
        x = np.arange(self.k)
        self._bars: dict[str, Any] = {}
        self._bar_axes: dict[str, Any] = {}
        for i, (name, base) in enumerate(self._base.items()):
            ax = self.fig.add_axes(box(0.2 + 2 * (img_w + 0.1) + 0.35 + 2.4 * i, 1.9, 0.14, 0.68))
            ax.bar(x - 0.2, base.numpy(), width=0.4, color="0.7", label="image")
            self._bars[name] = ax.bar(
                x + 0.2, base.numpy(), width=0.4, color=f"C{i}", label="jigsaw"
            )
            ax.set_xticks(x, self.output_names, fontsize=7)
            ax.tick_params(axis="y", labelsize=7)
            ax.axhline(0, color="k", linewidth=0.5)
            lo = min(float(base.min()), 0.0)
            hi = max(float(base.max()), 0.0)
            pad = 0.6 * (hi - lo) + 1e-3
            ax.set_ylim(lo - pad, hi + pad)
            self._bar_axes[name] = ax
        self._bar_axes[next(iter(self._bar_axes))].legend(fontsize=7, loc="upper left")
        self._jig_title = self.ax_jig.set_title(" ", fontsize=9)
        self._bar_titles = {
            name: ax.set_title(" ", fontsize=8) for name, ax in self._bar_axes.items()
        }
        self._animate(
            self._jig,
            self._jig_title,
            *self._bar_titles.values(),
            *(bar for bars in self._bars.values() for bar in bars),
        )
        self.update()

    def controls(self) -> dict[str, Any]:
        import ipywidgets as W

        return {
            "seed": W.IntSlider(
                value=self.state["seed"], min=0, max=self.max_seed, description="shuffle seed"
            )
        }

    def _validate(self, state: dict[str, Any]) -> dict[str, Any]:
        return {"seed": check_int(state["seed"], "seed", minimum=0, maximum=self.max_seed)}

    def _draw(self, state: dict[str, Any]) -> dict[str, Any]:
        """Draw the jigsaw for ``seed``. Returns ``perm`` (N,), the ``jigsaw`` (C, H, W) array,
        the ``outputs`` {name: (image outputs (K,), jigsaw outputs (K,))} and ``max_diff``
        {name: largest absolute difference}."""
        seed = state["seed"]
        jigsaw, perm = shuffle_patches(self.image, self.patch_size, seed)
        show = jigsaw.permute(1, 2, 0).clamp(0, 1).numpy()
        self._jig.set_data(show[..., 0] if show.shape[-1] == 1 else show)
        moved = int((perm != torch.arange(perm.numel())).sum())
        self._jig_title.set_text(f"jigsaw (seed {seed}): {moved} of {perm.numel()} moved")
        outputs, diffs = {}, {}
        with torch.no_grad():
            for name, model in self.models.items():
                out = model(jigsaw[None])[0].float()
                base = self._base[name]
                for bar, v in zip(self._bars[name], out.tolist(), strict=True):
                    bar.set_height(v)
                diffs[name] = float((out - base).abs().max())
                outputs[name] = (base.numpy(), out.numpy())
                self._bar_titles[name].set_text(f"{name}\nmax |change| = {diffs[name]:.2g}")
        return {
            "seed": seed,
            "perm": perm.numpy(),
            "jigsaw": jigsaw.numpy(),
            "outputs": outputs,
            "max_diff": diffs,
        }


# --- similarity ------------------------------------------------------------------------------


def default_tables(
    grid_size: int | Sequence[int], dim: int, seed: int = 0
) -> dict[str, torch.Tensor]:
    """A code of each kind for a ``(rows, cols)`` grid: ``{name: (rows*cols, dim)}``.

    The learned kinds are shown at initialisation (before any training), drawn with ``seed``.
    """
    rows, cols = as_pair(grid_size, "grid_size")
    with seeded(seed), torch.no_grad():
        return {
            "sin-cos 2-D": sincos_2d_pos_embed((rows, cols), dim),
            "sin-cos 1-D (raster index)": sincos_1d_pos_embed(rows * cols, dim),
            "factorized (random init)": FactorizedPosEmbed((rows, cols), dim).table().detach(),
            "learned 1-D (random init)": LearnedPosEmbed(rows * cols, dim).table().detach().clone(),
        }


class SimilarityExplorer(Explorer):
    """Choose a kind of position code and a patch (row, col); see the similarity of its code to all.

    ``tables`` maps a name to a table of codes ``(num_prefix_tokens + rows*cols, D)`` (default:
    :func:`default_tables`). Left: the ``(rows, cols)`` map of cosine similarities between the
    chosen patch's code and every patch's code (one tile of the ViT paper's Figure 7, centre), the
    chosen patch outlined. Right: the chosen code itself, channel by channel.
    """

    def __init__(
        self,
        tables: Mapping[str, torch.Tensor] | None = None,
        grid_size: int | Sequence[int] = (8, 8),
        *,
        dim: int = 64,
        num_prefix_tokens: int = 0,
        kind: str | None = None,
        row: int = 3,
        col: int = 3,
    ) -> None:
        self.grid = as_pair(grid_size, "grid_size")
        rows, cols = self.grid
        raw = dict(tables) if tables is not None else default_tables(self.grid, dim)
        self.kinds = list(raw)
        self._sim = {
            k: position_similarity(t, self.grid, num_prefix_tokens).numpy() for k, t in raw.items()
        }
        self._codes = {
            k: (t[0] if t.dim() == 3 else t)[num_prefix_tokens:].detach().float().numpy()
            for k, t in raw.items()
        }
        kind = kind if kind is not None else self.kinds[0]
        self.state: dict[str, Any] = {"kind": kind, "row": row, "col": col}
        self.state = self._validate(self.state)

        self.fig = Figure(figsize=(6.4, 2.8), dpi=self.dpi)
        self.ax_map = self.fig.add_axes((0.02, 0.04, 0.42, 0.78))
        self.ax_code = self.fig.add_axes((0.52, 0.18, 0.45, 0.64))
        self._map = self.ax_map.imshow(
            np.zeros((rows, cols)), cmap="viridis", vmin=-1, vmax=1, interpolation="nearest"
        )
        from matplotlib.patches import Rectangle

        self._box = Rectangle((-0.5, -0.5), 1, 1, fill=False, edgecolor="red", linewidth=2)
        self.ax_map.add_patch(self._box)
        _clean_axes(self.ax_map)
        self._map_title = self.ax_map.set_title(" ", fontsize=8)
        self._code_title = self.ax_code.set_title(" ", fontsize=8)
        (self._line,) = self.ax_code.plot([], [], lw=1)
        self._line_kind: str | None = None  # the kind whose scale the code axes show
        self.ax_code.set_xlabel("channel", fontsize=8)
        self.ax_code.tick_params(labelsize=7)
        self._animate(self._map, self._box, self._map_title, self._line, self._code_title)
        self.update()

    def controls(self) -> dict[str, Any]:
        import ipywidgets as W

        rows, cols = self.grid
        return {
            "kind": W.Dropdown(options=self.kinds, value=self.state["kind"], description="code"),
            "row": W.IntSlider(value=self.state["row"], min=0, max=rows - 1, description="row"),
            "col": W.IntSlider(value=self.state["col"], min=0, max=cols - 1, description="col"),
        }

    def _validate(self, state: dict[str, Any]) -> dict[str, Any]:
        kind = check_choice(state["kind"], "kind", self.kinds)
        r, c = check_cell(state["row"], state["col"], self.grid)
        return {"kind": kind, "row": r, "col": c}

    def _draw(self, state: dict[str, Any]) -> dict[str, Any]:
        """Draw ``kind``, ``row``, ``col``. Returns ``sim`` (rows, cols) and ``code`` (D,)."""
        kind, r, c = state["kind"], state["row"], state["col"]
        cols = self.grid[1]
        sim = self._sim[kind][r, c]
        code = self._codes[kind][r * cols + c]
        self._map.set_data(sim)
        low = min(float(self._sim[kind].min()), 0.99)
        self._map.set_clim(low, 1.0)
        self._box.set_xy((c - 0.5, r - 0.5))
        self._map_title.set_text(
            f"{kind}: patch ({r}, {c}) vs all\ncos: dark {low:.2f} .. yellow 1"
        )
        self._line.set_data(np.arange(code.shape[0]), code)
        if kind != self._line_kind:  # the code axes' scale belongs to the cached background
            self._line_kind = kind
            d = code.shape[0]
            lim = max(1e-6, float(np.abs(self._codes[kind]).max()))
            self.ax_code.set_xlim(-0.5, d - 0.5)
            self.ax_code.set_xticks([0, d // 2, d - 1])
            self.ax_code.set_ylim(-1.1 * lim, 1.1 * lim)
            self.ax_code.set_yticks([-lim, 0, lim], labels=[f"{-lim:.2g}", "0", f"{lim:.2g}"])
            self._invalidate()
        self._code_title.set_text(f"its code: {code.shape[0]} numbers")
        return {"kind": kind, "patch": (r, c), "sim": sim, "code": code}


# --- frequencies -----------------------------------------------------------------------------


class FrequencyExplorer(Explorer):
    """Any channel of the 2-D sin-cos codes drawn over the patch grid; a channel slider and a
    convention menu (``"mae"``, ``"big_vision"``, ``"timm"``, laid out as
    :data:`vitlearn.posenc.SINCOS_LAYOUTS` says).

    Left: the channel's value at every patch (rows down, columns across), with its formula in the
    title. Right: the whole table ``(rows*cols, dim)`` with the chosen channel marked, so the
    layout of the convention (which quarter is sin/cos of x/y) is visible at a glance.
    """

    def __init__(
        self,
        grid_size: int | Sequence[int] = (14, 14),
        dim: int = 64,
        *,
        convention: str = "mae",
        channel: int = 1,
    ) -> None:
        self.grid = as_pair(grid_size, "grid_size")
        self.dim = dim
        self._tables = {
            c: sincos_2d_pos_embed(self.grid, dim, convention=c).numpy() for c in SINCOS_CONVENTIONS
        }
        self.state: dict[str, Any] = {"convention": convention, "channel": channel}
        self.state = self._validate(self.state)
        rows, cols = self.grid
        self.fig = Figure(figsize=(6.4, 2.8), dpi=self.dpi)
        self.ax_map = self.fig.add_axes((0.02, 0.06, 0.38, 0.76))
        self.ax_tab = self.fig.add_axes((0.50, 0.14, 0.47, 0.68))
        self._map = self.ax_map.imshow(
            np.zeros((rows, cols)), cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest"
        )
        self.ax_map.set_xlabel("column x", fontsize=8)
        self.ax_map.set_ylabel("row y", fontsize=8)
        self.ax_map.set_xticks([])
        self.ax_map.set_yticks([])
        self._tab = self.ax_tab.imshow(
            self._tables[convention],
            cmap="RdBu_r",
            vmin=-1,
            vmax=1,
            aspect="auto",
            interpolation="nearest",
        )
        self._mark = self.ax_tab.axvline(channel, color="k", linewidth=1.5)
        self.ax_tab.set_xlabel("channel", fontsize=8)
        self.ax_tab.set_ylabel("token (row-major)", fontsize=8)
        self.ax_tab.tick_params(labelsize=7)
        self.ax_tab.set_xticks([i * dim // 4 for i in range(4)] + [dim - 1])
        self.ax_tab.set_yticks([0, rows * cols - 1])
        self._map_title = self.ax_map.set_title(" ", fontsize=8)
        self._tab_title = self.ax_tab.set_title(" ", fontsize=8)
        self._animate(self._map, self._map_title, self._tab, self._mark, self._tab_title)
        self.update()

    def controls(self) -> dict[str, Any]:
        import ipywidgets as W

        return {
            "convention": W.Dropdown(
                options=list(SINCOS_CONVENTIONS),
                value=self.state["convention"],
                description="convention",
            ),
            "channel": W.IntSlider(
                value=self.state["channel"], min=0, max=self.dim - 1, description="channel"
            ),
        }

    def _validate(self, state: dict[str, Any]) -> dict[str, Any]:
        conv = check_choice(state["convention"], "convention", SINCOS_CONVENTIONS)
        ch = check_int(state["channel"], "channel", minimum=0, maximum=self.dim - 1)
        return {"convention": conv, "channel": ch}

    def _draw(self, state: dict[str, Any]) -> dict[str, Any]:
        """Draw ``convention`` and ``channel``. Returns ``values`` (rows, cols) and the channel's
        description (``func``, ``axis``, ``k``, ``omega``, see
        :func:`vitlearn.posenc.describe_sincos_channel`)."""
        conv, ch = state["convention"], state["channel"]
        info = describe_sincos_channel(ch, self.dim, conv)
        rows, cols = self.grid
        table = self._tables[conv]
        vals = table[:, ch].reshape(rows, cols)
        self._map.set_data(vals)
        period = 2 * np.pi / info["omega"]
        self._map_title.set_text(
            f"channel {ch} = {info['func']}({info['axis']} * w_{info['k']})\n"
            f"w = {info['omega']:.3g}, period {period:.3g} patches"
        )
        self._tab.set_data(table)
        self._mark.set_xdata([ch, ch])
        self._tab_title.set_text(f"{conv}: the whole table ({rows * cols}, {self.dim})")
        return {"convention": conv, "channel": ch, "values": vals, **info}
