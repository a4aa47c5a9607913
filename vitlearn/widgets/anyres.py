"""Explorer for notebook 09: one model per position scheme, tested at other sizes and shapes.

:class:`AnyResolutionExplorer` shows results computed beforehand (nothing is trained or evaluated
while a control moves): choose a scheme and a test size; on the left, the accuracy of every
scheme at every test size, the chosen one highlighted; on the right, the chosen scheme's position
codes at that size as a similarity mosaic (tile ``(r, c)``: how alike patch ``(r, c)``'s code is to
every patch's code, the ViT paper's Figure 7), the picture of what the model is given to tell
places apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from .._checks import as_pair, check_choice, check_int, check_tensor, shape_str
from ..anyres import TEST_SIZES
from ..plot import similarity_mosaic
from ..posenc import RotaryEmbedding2D, position_similarity, sincos_2d_pos_embed
from ._base import Explorer

__all__ = ["DEFAULT_SIZES", "AnyResolutionExplorer", "default_codes"]

DEFAULT_SIZES: tuple[tuple[int, int], ...] = TEST_SIZES
"""The explorer's sizes: :data:`vitlearn.anyres.TEST_SIZES`, notebook 09's test sizes."""


def default_codes(
    sizes: Sequence[tuple[int, int]] = DEFAULT_SIZES,
    patch_size: int = 8,
    dim: int = 32,
    heads: int = 4,
) -> dict[str, dict[tuple[int, int], torch.Tensor]]:
    """Codes that need no trained model, at every size: 2-D sin-cos recomputed for the grid, and
    rotary codes ``[cos | sin]`` of the angles on patch indices (the course's default temperature,
    10000) and on DINOv3's box (its base, 100)."""
    patch_size = check_int(patch_size, "patch_size")
    index = RotaryEmbedding2D(dim // check_int(heads, "heads"))
    box = RotaryEmbedding2D(dim // heads, 100.0, normalize_coords="separate")
    out: dict[str, dict[tuple[int, int], torch.Tensor]] = {
        "sin-cos, recomputed": {},
        "RoPE, patch indices": {},
        "RoPE, DINOv3 box": {},
    }
    for size in sizes:
        h, w = as_pair(size, "size")
        grid = (h // patch_size, w // patch_size)
        out["sin-cos, recomputed"][(h, w)] = sincos_2d_pos_embed(grid, dim)
        for name, rope in (("RoPE, patch indices", index), ("RoPE, DINOv3 box", box)):
            angles = rope.angles(grid)
            out[name][(h, w)] = torch.cat([angles.cos(), angles.sin()], dim=1)
    return out


def _size_label(size: tuple[int, int], patch_size: int) -> str:
    (h, w), p = size, patch_size
    return f"{h}x{w} px ({h // p}x{w // p})"


class AnyResolutionExplorer(Explorer):
    """A position scheme (menu) and a test size (menu): its accuracy and its codes at that size.

    Args:
        codes: ``{scheme: {(H, W): codes}}`` with ``codes`` the ``(rows*cols, D')`` position codes
            the scheme's model uses on that size's grid (:func:`vitlearn.anyres.position_codes`),
            or ``None`` for a scheme without codes. Default: :func:`default_codes` (no model).
        accuracy: ``{scheme: {(H, W): accuracy}}``, measured beforehand; optional (without it the
            left panel says so).
        patch_size: ``P``; the grid of ``(H, W)`` is ``(H // P, W // P)``.
        train_size: ``(H, W)`` the models were trained at (marked on the plot).
        chance: the accuracy of guessing (dotted line).
        scheme, size: the starting values (default: the first scheme, the largest square size).
    """

    def __init__(
        self,
        codes: Mapping[str, Mapping[tuple[int, int], torch.Tensor | None]] | None = None,
        accuracy: Mapping[str, Mapping[tuple[int, int], float]] | None = None,
        *,
        patch_size: int = 8,
        train_size: int | Sequence[int] = (32, 32),
        chance: float | None = 0.25,
        scheme: str | None = None,
        size: int | Sequence[int] | None = None,
    ) -> None:
        self.patch_size = check_int(patch_size, "patch_size")
        self.train_size = as_pair(train_size, "train_size")
        raw = default_codes(patch_size=self.patch_size) if codes is None else codes
        if not raw:
            raise ValueError("codes must name at least one scheme")
        self.schemes = list(raw)
        self.sizes: list[tuple[int, int]] = []
        self._sim: dict[tuple[str, tuple[int, int]], np.ndarray | None] = {}
        self._mosaic: dict[tuple[str, tuple[int, int]], np.ndarray] = {}
        for name, per_size in raw.items():
            for key, table in per_size.items():
                hw = as_pair(key, f"size of scheme {name!r}")
                if hw not in self.sizes:
                    self.sizes.append(hw)
                grid = (hw[0] // self.patch_size, hw[1] // self.patch_size)
                if table is None:
                    self._sim[name, hw] = None
                    self._mosaic[name, hw] = np.full(
                        (grid[0] * (grid[0] + 1) - 1, grid[1] * (grid[1] + 1) - 1), np.nan
                    )
                    continue
                check_tensor(table, f"codes[{name!r}][{hw}]", (2,), "(rows*cols, D)")
                if table.shape[0] != grid[0] * grid[1]:
                    raise ValueError(
                        f"codes[{name!r}][{hw}] must have {grid[0]}*{grid[1]} = "
                        f"{grid[0] * grid[1]} rows (one per patch of the {grid[0]}x{grid[1]} "
                        f"grid), got shape {shape_str(table.shape)}"
                    )
                sim = position_similarity(table.detach().float(), grid).numpy()
                self._sim[name, hw] = sim
                self._mosaic[name, hw] = similarity_mosaic(sim)
        missing = [(n, s) for n in self.schemes for s in self.sizes if (n, s) not in self._sim]
        if missing:
            raise ValueError(
                f"codes must give every scheme at every size; missing (scheme, size): {missing}"
            )
        self.accuracy: dict[str, dict[tuple[int, int], float]] | None = None
        if accuracy is not None:
            self.accuracy = {}
            for name in self.schemes:
                if name not in accuracy:
                    raise ValueError(
                        f"accuracy has no entry for scheme {name!r}; schemes: {self.schemes}"
                    )
                per = {as_pair(k, "size"): float(v) for k, v in accuracy[name].items()}
                gaps = [s for s in self.sizes if s not in per]
                if gaps:
                    raise ValueError(f"accuracy[{name!r}] misses the sizes {gaps}")
                self.accuracy[name] = per
        squares = [s for s in self.sizes if s[0] == s[1]]
        default_size = max(squares or self.sizes, key=lambda s: s[0] * s[1])
        self.state: dict[str, Any] = {
            "scheme": self.schemes[0] if scheme is None else scheme,
            "size": default_size if size is None else size,
        }
        self.state = self._validate(self.state)
        self._build(chance)
        self.update()

    # -- figure ------------------------------------------------------------------------------

    def _build(self, chance: float | None) -> None:
        self.fig = Figure(figsize=(8.4, 3.0), dpi=self.dpi)
        self.ax_acc = self.fig.add_axes((0.07, 0.30, 0.42, 0.56))
        self.ax_map = self.fig.add_axes((0.56, 0.04, 0.42, 0.80))
        x = np.arange(len(self.sizes))
        ax = self.ax_acc
        ax.set_xlim(-0.5, len(self.sizes) - 0.5)
        ax.set_ylim(0.0, 1.02)
        ax.set_xticks(
            x,
            [_size_label(s, self.patch_size) for s in self.sizes],
            rotation=35,
            ha="right",
            fontsize=7,
        )
        ax.tick_params(axis="y", labelsize=7)
        ax.set_ylabel("test accuracy", fontsize=8)
        if chance is not None:
            ax.axhline(chance, color="gray", ls=":", lw=1)
        if self.train_size in self.sizes:
            ax.axvline(self.sizes.index(self.train_size), color="gray", lw=0.6)
        self._lines: dict[str, Any] = {}
        if self.accuracy is not None:
            for name in self.schemes:
                (line,) = ax.plot(
                    x,
                    [self.accuracy[name][s] for s in self.sizes],
                    "o-",
                    ms=3,
                    lw=1,
                    color="0.75",
                    zorder=1,
                )
                self._lines[name] = line
        else:
            ax.text(
                0.5,
                0.5,
                "no accuracies given\n(pass accuracy=...)",
                ha="center",
                va="center",
                transform=ax.transAxes,
                fontsize=8,
                color="0.4",
            )
        (self._marker,) = ax.plot([], [], "o", ms=9, mfc="none", mec="red", mew=1.5, zorder=3)
        self._acc_title = self.fig.text(0.28, 0.97, "", ha="center", va="top", fontsize=9)
        self._map = self.ax_map.imshow(
            np.zeros((2, 2)), cmap="viridis", vmin=-1, vmax=1, interpolation="nearest"
        )
        self.ax_map.set_axis_off()  # no ticks: the limits change with the grid, cheaply
        self._map_title = self.fig.text(0.77, 0.97, "", ha="center", va="top", fontsize=9)
        self._map_note = self.ax_map.text(
            0.5,
            0.5,
            "",
            ha="center",
            va="center",
            fontsize=9,
            transform=self.ax_map.transAxes,
            color="0.3",
        )
        self._animate(
            *self._lines.values(),
            self._marker,
            self._acc_title,
            self._map,
            self._map_title,
            self._map_note,
        )

    def controls(self) -> dict[str, Any]:
        import ipywidgets as W

        return {
            "scheme": W.Dropdown(
                options=self.schemes, value=self.state["scheme"], description="scheme"
            ),
            "size": W.Dropdown(
                options=[(_size_label(s, self.patch_size), s) for s in self.sizes],
                value=self.state["size"],
                description="test size",
            ),
        }

    def _validate(self, state: dict[str, Any]) -> dict[str, Any]:
        scheme = check_choice(state["scheme"], "scheme", self.schemes)
        size = as_pair(state["size"], "size")
        if size not in self.sizes:
            raise ValueError(f"size {size} was not measured; sizes: {self.sizes}")
        return {"scheme": scheme, "size": size}

    def _draw(self, state: dict[str, Any]) -> dict[str, Any]:
        """Draw ``scheme`` at ``size``. Returns the ``grid``, the ``accuracy`` there (``None`` when
        not given), the codes' ``similarity`` ``(rows, cols, rows, cols)`` (``None`` for a scheme
        without codes) and the ``mosaic`` image drawn."""
        scheme, size = state["scheme"], state["size"]
        grid = (size[0] // self.patch_size, size[1] // self.patch_size)
        i = self.sizes.index(size)
        acc = None if self.accuracy is None else self.accuracy[scheme][size]
        for name, line in self._lines.items():
            chosen = name == scheme
            line.set_color("C3" if chosen else "0.75")
            line.set_linewidth(2.2 if chosen else 1.0)
            line.set_zorder(2 if chosen else 1)
        if acc is None:
            self._marker.set_data([], [])
            self._acc_title.set_text(f"{scheme} at {_size_label(size, self.patch_size)}")
        else:
            self._marker.set_data([i], [acc])
            self._acc_title.set_text(
                f"{scheme}: accuracy {acc:.3f} at {_size_label(size, self.patch_size)}"
            )
        mosaic = self._mosaic[scheme, size]
        sim = self._sim[scheme, size]
        rows, cols = mosaic.shape
        self._map.set_data(mosaic)
        self._map.set_extent((-0.5, cols - 0.5, rows - 0.5, -0.5))
        self.ax_map.set_xlim(-0.5, cols - 0.5)
        self.ax_map.set_ylim(rows - 0.5, -0.5)
        if sim is None:
            self._map_title.set_text(f"{scheme}: no position codes")
            self._map_note.set_text("no codes:\nevery patch looks the same")
        else:
            low = min(float(np.nanmin(mosaic)), 0.99)
            self._map.set_clim(low, 1.0)
            self._map_title.set_text(
                f"its codes on the {grid[0]}x{grid[1]} grid (cos {low:.2f} .. 1)"
            )
            self._map_note.set_text("")
        return {
            "scheme": scheme,
            "size": size,
            "grid": grid,
            "accuracy": acc,
            "similarity": sim,
            "mosaic": mosaic,
        }
