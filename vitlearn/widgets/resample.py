"""Explorer for chapter 3b: what resampling a position table to a new grid does to it.

:class:`ResampleExplorer` takes a table ``(1, prefix + rows*cols, D)`` (a trained ViT's, or a
default sin-cos table), resamples it to a new grid with a chosen method, and shows, before and
after: the cosine-similarity map of one patch's code to every other code, and one channel of the
table drawn over the grid.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from .._checks import (
    as_pair,
    check_cell,
    check_choice,
    check_int,
    check_tensor,
    shape_str,
    token_grid,
)
from ..resample import flattened_resample, resample_pos_embed
from ._base import Explorer

__all__ = ["METHODS", "ResampleExplorer"]


def _method(
    **kwargs: Any,
) -> Callable[[torch.Tensor, tuple[int, int], tuple[int, int], int], torch.Tensor]:
    def run(
        table: torch.Tensor, new: tuple[int, int], old: tuple[int, int], prefix: int
    ) -> torch.Tensor:
        return resample_pos_embed(table, new, old_size=old, num_prefix_tokens=prefix, **kwargs)

    return run


METHODS: dict[
    str, Callable[[torch.Tensor, tuple[int, int], tuple[int, int], int], torch.Tensor]
] = {
    "bicubic + antialias (timm)": _method(recipe="timm"),
    "bicubic (HF, MAE)": _method(recipe="hf"),
    "bilinear": _method(interpolation="bilinear", antialias=False),
    "bilinear, corners aligned (vit_jax)": _method(recipe="vit_jax"),
    "nearest": _method(interpolation="nearest"),
    "flattened 1-D (wrong)": lambda table, new, old, prefix: flattened_resample(table, new, prefix),
}
"""The methods of the explorer's menu: name ->
``f(table, new (rows, cols), old (rows, cols), prefix)``."""


def _default_table(grid: tuple[int, int], dim: int) -> torch.Tensor:
    from ..posenc import sincos_2d_pos_embed

    g = torch.Generator().manual_seed(0)
    codes = sincos_2d_pos_embed(grid, dim)  # (rows*cols, D)
    cls = torch.randn(1, dim, generator=g) * 0.02
    return torch.cat([cls, codes], 0)[None]


def _similarity(table: np.ndarray, index: int) -> np.ndarray:
    """Cosine similarity of code ``index`` to every code: ``(N, D) -> (N,)``."""
    unit = table / np.maximum(np.linalg.norm(table, axis=1, keepdims=True), 1e-12)
    return unit @ unit[index]


class ResampleExplorer(Explorer):
    """A new grid size (slider) and a resampling method (menu): see what happens to the codes.

    ``pos_embed`` is ``(1, prefix + rows*cols, D)`` or ``(prefix + rows*cols, D)`` on the grid
    ``grid_size`` (default: square from the token count; default table: 2-D sin-cos codes on a
    14 x 14 grid plus a class token). Panels, left to right: the similarity of patch
    ``(row, col)``'s code to every code on the old grid; the same for the matching patch on the new
    grid (the cell at the same relative position); channel ``channel`` of the old table; of the new
    table.
    """

    def __init__(
        self,
        pos_embed: torch.Tensor | None = None,
        grid_size: int | Sequence[int] | None = None,
        *,
        num_prefix_tokens: int = 1,
        size: int = 24,
        method: str = "bicubic + antialias (timm)",
        channel: int = 0,
        row: int | None = None,
        col: int | None = None,
        max_size: int = 32,
    ) -> None:
        if pos_embed is None:
            pos_embed = _default_table(as_pair(grid_size or 14, "grid_size"), 64)
        check_tensor(
            pos_embed, "pos_embed", (2, 3), "(1, prefix + rows*cols, D) or (prefix + rows*cols, D)"
        )
        table = (pos_embed if pos_embed.dim() == 3 else pos_embed[None]).detach().float()
        self.old = token_grid(
            table.shape[1],
            num_prefix_tokens,
            grid_size,
            what=f"pos_embed {shape_str(pos_embed.shape)}",
        )
        self.table = table
        self.prefix = num_prefix_tokens
        self.dim = table.shape[-1]
        self.max_size = max_size
        self._old_codes = table[0, num_prefix_tokens:].numpy()  # (rows*cols, D)
        rows, cols = self.old
        self.state: dict[str, Any] = {
            "size": size,
            "method": method,
            "channel": channel,
            "row": rows // 4 if row is None else row,
            "col": cols // 4 if col is None else col,
        }

        self.fig = Figure(figsize=(8.0, 2.4), dpi=self.dpi)
        axes = [self.fig.add_axes((0.01 + 0.25 * i, 0.04, 0.22, 0.72)) for i in range(4)]
        self.ax_sim_old, self.ax_sim_new, self.ax_ch_old, self.ax_ch_new = axes
        blank = np.zeros((2, 2))
        self._sim_old = self.ax_sim_old.imshow(
            blank, cmap="viridis", vmin=-1, vmax=1, interpolation="nearest"
        )
        self._sim_new = self.ax_sim_new.imshow(
            blank, cmap="viridis", vmin=-1, vmax=1, interpolation="nearest"
        )
        self._ch_old = self.ax_ch_old.imshow(blank, cmap="RdBu_r", interpolation="nearest")
        self._ch_new = self.ax_ch_new.imshow(blank, cmap="RdBu_r", interpolation="nearest")
        from matplotlib.patches import Rectangle

        self._suptitle = self.fig.text(0.5, 0.97, "", ha="center", va="top", fontsize=9)
        # panel titles as plain figure texts: Axes titles re-run a layout pass on every draw
        self._titles = [
            self.fig.text(0.01 + 0.25 * i + 0.11, 0.79, "", ha="center", va="bottom", fontsize=8)
            for i in range(4)
        ]
        self._box_old = Rectangle((-0.5, -0.5), 1, 1, fill=False, edgecolor="red", linewidth=1.5)
        self._box_new = Rectangle((-0.5, -0.5), 1, 1, fill=False, edgecolor="red", linewidth=1.5)
        self.ax_sim_old.add_patch(self._box_old)
        self.ax_sim_new.add_patch(self._box_new)
        for ax in axes:
            # no ticks or spines: the axes limits can change without a full redraw
            ax.set_axis_off()
        self.state = self._validate(self.state)
        self._animate(
            self._sim_old,
            self._sim_new,
            self._ch_old,
            self._ch_new,
            self._box_old,
            self._box_new,
            self._suptitle,
            *self._titles,
        )
        self.update()

    def controls(self) -> dict[str, Any]:
        import ipywidgets as W

        return {
            "size": W.IntSlider(
                value=self.state["size"], min=2, max=self.max_size, description="new grid"
            ),
            "method": W.Dropdown(
                options=list(METHODS), value=self.state["method"], description="method"
            ),
            "channel": W.IntSlider(
                value=self.state["channel"], min=0, max=self.dim - 1, description="channel"
            ),
        }

    @staticmethod
    def _show(image: Any, ax: Any, data: np.ndarray) -> None:
        rows, cols = data.shape
        image.set_data(data)
        image.set_extent((-0.5, cols - 0.5, rows - 0.5, -0.5))
        ax.set_xlim(-0.5, cols - 0.5)
        ax.set_ylim(rows - 0.5, -0.5)

    def _validate(self, state: dict[str, Any]) -> dict[str, Any]:
        method = check_choice(state["method"], "method", tuple(METHODS))
        as_pair(state["size"], "size")
        channel = check_int(state["channel"], "channel", minimum=0, maximum=self.dim - 1)
        r, c = check_cell(state["row"], state["col"], self.old)
        return {"size": state["size"], "method": method, "channel": channel, "row": r, "col": c}

    def _draw(self, state: dict[str, Any]) -> dict[str, Any]:
        """Draw for ``size`` (int or (rows, cols)), ``method``, ``channel``, ``row``, ``col`` (old
        grid).

        Returns the new grid ``size``, the patch on each grid, the similarity maps ``sim_old``
        (old rows, old cols) and ``sim_new`` (new rows, new cols), the channel images
        ``channel_old`` / ``channel_new`` and the resampled ``table`` (1, prefix + rows*cols, D).
        """
        method, new, channel = state["method"], as_pair(state["size"], "size"), state["channel"]
        r, c = state["row"], state["col"]
        rows, cols = self.old

        with torch.no_grad():
            table = METHODS[method](self.table, new, self.old, self.prefix)
        codes = table[0, self.prefix :].numpy()  # (new_rows*new_cols, D)
        # the new cell whose centre is at the same relative position as the chosen old cell
        nr = min(new[0] - 1, max(0, int(np.floor((r + 0.5) * new[0] / rows))))
        nc = min(new[1] - 1, max(0, int(np.floor((c + 0.5) * new[1] / cols))))
        sim_old = _similarity(self._old_codes, r * cols + c).reshape(rows, cols)
        sim_new = _similarity(codes, nr * new[1] + nc).reshape(new)
        ch_old = self._old_codes[:, channel].reshape(rows, cols)
        ch_new = codes[:, channel].reshape(new)

        self._show(self._sim_old, self.ax_sim_old, sim_old)
        self._show(self._sim_new, self.ax_sim_new, sim_new)
        low = min(
            float(sim_old.min()), float(sim_new.min()), 0.99
        )  # one colour scale for both maps
        self._sim_old.set_clim(low, 1.0)
        self._sim_new.set_clim(low, 1.0)
        lim = max(float(np.abs(ch_old).max()), 1e-6)
        for image, ax, data in (
            (self._ch_old, self.ax_ch_old, ch_old),
            (self._ch_new, self.ax_ch_new, ch_new),
        ):
            self._show(image, ax, data)
            image.set_clim(-lim, lim)
        self._box_old.set_xy((c - 0.5, r - 0.5))
        self._box_new.set_xy((nc - 0.5, nr - 0.5))
        titles = (
            f"{rows}x{cols}: patch ({r}, {c}) vs all",
            f"{new[0]}x{new[1]}: patch ({nr}, {nc}) vs all",
            f"channel {channel}, {rows}x{cols}",
            f"channel {channel}, {new[0]}x{new[1]}",
        )
        for text, title in zip(self._titles, titles, strict=True):
            text.set_text(title)
        self._suptitle.set_text(f"{rows}x{cols} -> {new[0]}x{new[1]} with {method}")
        return {
            "size": new,
            "method": method,
            "patch_old": (r, c),
            "patch_new": (nr, nc),
            "sim_old": sim_old,
            "sim_new": sim_new,
            "channel_old": ch_old,
            "channel_new": ch_new,
            "table": table.numpy(),
        }
