"""PatchExplorer: pick a photo and a patch size; see the patch grid and the tokens it makes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from .._checks import as_pair, check_choice, check_int
from ..images import list_images, load_image
from ..patches import grid_shape, patchify
from ..plot import token_strip
from ._base import Explorer

__all__ = ["PatchExplorer"]

_MAX_NUMBERS = 16  # at most this many patch numbers on the photo (the first tokens)
_MAX_TOKENS = 32  # at most this many tokens in the strip


class PatchExplorer(Explorer):
    """Patch-size slider and image chooser over a photo cut into patches.

    Top: the photo with its patch grid; the first tokens (up to 16) are numbered in raster order.
    Bottom: the first ``k`` tokens, each drawn as the little ``P x P`` image it came from, in the
    order the transformer receives them. ``size = (H, W)`` is the size the photos are loaded at;
    the slider offers the patch sizes that divide both ``H`` and ``W`` and leave at least two
    tokens.

    >>> ex = PatchExplorer(size=(96, 128))
    >>> ex.update(patch_size=32)["grid"]
    (3, 4)
    """

    def __init__(
        self,
        image: str = "astronaut",
        patch_size: int = 32,
        *,
        size: int | Sequence[int] = (192, 256),
        k: int = 16,
        images: Sequence[str] | None = None,
    ) -> None:
        self.size = as_pair(size, "size")
        h, w = self.size
        self.images = list(images) if images is not None else list_images()
        # every size that divides both sides and leaves at least two tokens: with one token (a
        # patch as big as a square image) the "tokens shown" slider would have nothing to move
        self.patch_sizes = [
            p
            for p in range(2, min(h, w) + 1)
            if h % p == 0 and w % p == 0 and (h // p) * (w // p) >= 2
        ]
        if not self.patch_sizes:
            raise ValueError(
                f"no patch size >= 2 divides both H={h} and W={w} and leaves two tokens or more; "
                "choose another size"
            )
        self._cache: dict[str, torch.Tensor] = {}
        self._hwc: dict[str, np.ndarray] = {}
        self._drawn: dict[str, Any] = {}  # what the artists show now, to skip unchanged work
        self.state = self._validate({"image": image, "patch_size": patch_size, "k": k})

        # Fixed axes positions (no layout engine): a slider move only redraws, never re-lays out.
        self.fig = Figure(figsize=(5.0, 4.4), dpi=self.dpi)
        self.ax_img = self.fig.add_axes((0.02, 0.27, 0.96, 0.66))
        self.ax_tok = self.fig.add_axes((0.02, 0.04, 0.96, 0.15))
        self._im = self.ax_img.imshow(np.zeros((h, w, 3)), interpolation="nearest")
        self.ax_img.set_xticks([])
        self.ax_img.set_yticks([])
        from matplotlib import patheffects
        from matplotlib.collections import LineCollection

        self._lines = LineCollection([], colors="white", linewidths=1.0)
        self.ax_img.add_collection(self._lines)
        halo = [patheffects.withStroke(linewidth=2, foreground="black")]
        self._numbers = [
            self.ax_img.text(
                0,
                0,
                "",
                ha="center",
                va="center",
                color="white",
                fontsize=8,
                fontweight="bold",
                path_effects=halo,
                visible=False,
            )
            for _ in range(_MAX_NUMBERS)
        ]
        # screen pixels per image pixel, to know when a patch is big enough for its number
        self._scale = 0.96 * self.fig.get_figwidth() * self.dpi / w
        self._strip = self.ax_tok.imshow(
            np.ones((2, 2, 3)), interpolation="nearest", aspect="equal"
        )
        self.ax_tok.set_yticks([])
        self.ax_tok.tick_params(axis="x", length=0, labelsize=7)
        for side in self.ax_tok.spines.values():
            side.set_visible(False)
        self._img_title = self.ax_img.set_title(" ", fontsize=9)
        self._animate(self._im, self._lines, *self._numbers, self._strip, self._img_title)
        self.update()

    def _photo(self, name: str) -> torch.Tensor:
        if name not in self._cache:
            img = load_image(name, self.size)  # (3, H, W)
            self._cache[name] = img
            self._hwc[name] = np.ascontiguousarray(img.permute(1, 2, 0).numpy())  # (H, W, 3)
        return self._cache[name]

    def controls(self) -> dict[str, Any]:
        import ipywidgets as W

        return {
            "image": W.Dropdown(
                options=self.images, value=self.state["image"], description="image"
            ),
            "patch_size": W.SelectionSlider(
                options=self.patch_sizes, value=self.state["patch_size"], description="patch P"
            ),
            "k": W.IntSlider(
                value=self.state["k"],
                min=1,
                max=self._k_max(self.state["patch_size"]),
                description="tokens shown",
            ),
        }

    def _k_max(self, p: int) -> int:
        """The most tokens the strip shows: 32, or all N when there are fewer."""
        h, w = self.size
        return min(_MAX_TOKENS, (h // p) * (w // p))

    def _control_bounds(self) -> dict[str, dict[str, Any]]:
        return {"k": {"max": self._k_max(self.state["patch_size"])}}

    def _validate(self, state: dict[str, Any]) -> dict[str, Any]:
        name = check_choice(state["image"], "image", self.images)
        p = check_int(state["patch_size"], "patch_size")
        if p not in self.patch_sizes:
            h, w = self.size
            raise ValueError(
                f"patch_size {p} does not divide the image (H, W) = ({h}, {w}); "
                f"choose one of {self.patch_sizes}"
            )
        k = check_int(state["k"], "k")
        return {"image": name, "patch_size": p, "k": min(k, self._k_max(p))}

    def _draw(self, state: dict[str, Any]) -> dict[str, Any]:
        """Draw ``image``, ``patch_size`` and ``k`` (``k`` is capped at the number of tokens).

        Returns the image shape ``(3, H, W)``, ``grid`` ``(rows, cols)``, ``num_tokens`` N,
        ``token_dim`` P*P*3, ``tokens_shape`` (N, P*P*3), the ``strip`` array drawn and ``k``
        (how many tokens it shows).
        """
        name, p, k = state["image"], state["patch_size"], state["k"]
        h, w = self.size
        rows, cols = grid_shape((h, w), p)
        img = self._photo(name)
        n, f = rows * cols, p * p * img.shape[0]
        band = img[:, : -(-k // cols) * p]  # only the patch rows the strip needs
        first = patchify(band, p)[:k]  # (k, P*P*3), the first k tokens of patchify(img, p)

        if self._drawn.get("image") != name:
            self._im.set_data(self._hwc[name])
        if self._drawn.get("patch_size") != p:
            segs = [[(-0.5, r * p - 0.5), (w - 0.5, r * p - 0.5)] for r in range(1, rows)]
            segs += [[(c * p - 0.5, -0.5), (c * p - 0.5, h - 0.5)] for c in range(1, cols)]
            self._lines.set_segments(segs)
            self._lines.set_linewidth(1.0 if n <= 256 else 0.5)
        if (self._drawn.get("patch_size"), self._drawn.get("k")) != (p, k):
            # Number the tokens that the strip shows (text is the slowest thing to draw, so
            # only those, and only when a patch is big enough to hold its number).
            n_numbers = min(k, _MAX_NUMBERS) if p * self._scale >= 14 else 0
            for i, t in enumerate(self._numbers):
                if i < n_numbers:
                    r, c = divmod(i, cols)
                    t.set_position((c * p + p / 2 - 0.5, r * p + p / 2 - 0.5))
                    t.set_text(str(i))
                    t.set_visible(True)
                else:
                    t.set_visible(False)
        self._img_title.set_text(f"P = {p}: {rows} x {cols} = {n} tokens of {f} numbers")

        gap = max(1, p // 4)
        strip = token_strip(first, p, k, gap=gap)  # (P, k*(P+gap)-gap, 3)
        self._strip.set_data(strip)
        if (self._drawn.get("patch_size"), self._drawn.get("k")) != (p, k):
            self._strip.set_extent((-0.5, strip.shape[1] - 0.5, strip.shape[0] - 0.5, -0.5))
            self.ax_tok.set_xlim(-0.5, strip.shape[1] - 0.5)
            self.ax_tok.set_ylim(strip.shape[0] - 0.5, -0.5)
            idx = list(range(0, k, 1 if k <= 4 else 4))
            self.ax_tok.set_xticks(
                [i * (p + gap) + (p - 1) / 2 for i in idx], [str(i) for i in idx]
            )
            self.ax_tok.set_title(f"first {k} tokens, raster order", fontsize=9)
            self._invalidate()  # the strip's ticks and title are part of the cached background
        self._drawn = {"image": name, "patch_size": p, "k": k}
        return {
            "image": name,
            "image_shape": tuple(img.shape),
            "patch_size": p,
            "grid": (rows, cols),
            "num_tokens": n,
            "token_dim": f,
            "tokens_shape": (n, f),
            "k": k,
            "strip": strip,
        }
