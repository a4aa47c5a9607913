"""PatchSizeExplorer: resize a patch-embedding kernel to another patch size, naively or by
PI-resize.

A slider picks the new patch size ``P'``. The explorer shows one filter of the kernel at its
original size, interpolated like an image (naive) and PI-resized
(:func:`vitlearn.resample_patch_embed`), and plots for every ``P'`` how much the tokens change when
each patch of the images is resized to ``P'`` and embedded with the resized kernel. Everything is
computed once, up front, so a slider move only swaps arrays in existing artists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .._checks import check_choice, check_int, check_tensor, patch_grid, shape_str
from ..flexi import (
    INTERPOLATIONS,
    naive_resize_patch_embed,
    patch_tokens,
    resample_patch_embed,
    resize_patchwise,
)
from ._base import Explorer

__all__ = ["PatchSizeExplorer", "token_errors"]


def token_errors(
    weight: torch.Tensor,
    images: torch.Tensor,
    sizes: Sequence[int],
    *,
    interpolation: str = "bicubic",
    antialias: bool = True,
) -> dict[str, np.ndarray]:
    """Relative token error of the naive and the PI-resized kernel at each new patch size.

    For each ``P'`` in ``sizes``, every patch of ``images`` is resized to ``P' x P'`` on its own
    (:func:`vitlearn.flexi.resize_patchwise`) and embedded with the resized kernel; the error is
    ``||tokens' - tokens|| / ||tokens||`` over all tokens, with ``tokens`` those of the original
    images and kernel.

    Shapes:
    ``(D, C, P, P), (B, C, rows*P, cols*P) -> {"naive": (len(sizes),), "pi": (len(sizes),)}``.
    """
    w = weight.detach().double()
    x = images.detach().double()
    p = tuple(w.shape[-2:])
    ref = patch_tokens(x, w)  # (B, N, D)
    scale = ref.norm().item()
    out: dict[str, list[float]] = {"naive": [], "pi": []}
    for s in sizes:
        xs = resize_patchwise(x, p, s, interpolation=interpolation, antialias=antialias)
        for name, fn in (("naive", naive_resize_patch_embed), ("pi", resample_patch_embed)):
            ws = fn(w, s, interpolation=interpolation, antialias=antialias)
            out[name].append((patch_tokens(xs, ws) - ref).norm().item() / scale)
    return {k: np.asarray(v) for k, v in out.items()}


def _default_kernel(patch_size: int = 8, dim: int = 16, seed: int = 0) -> torch.Tensor:
    """Smooth random filters (blurred noise) that look like trained ones: ``(dim, 3, P, P)``."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(dim * 3, 1, patch_size + 4, patch_size + 4, generator=g)
    blur = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
    blur = (blur[:, None] * blur[None, :] / 256.0)[None, None]
    w = torch.nn.functional.conv2d(noise, blur)  # (dim*3, 1, P, P)
    return (w / w.flatten(1).norm(dim=1)[:, None, None, None]).reshape(
        dim, 3, patch_size, patch_size
    )


def _show(kernel: torch.Tensor) -> np.ndarray:
    """One filter ``(C, h, w)`` as a grey image: the mean over channels."""
    return kernel.mean(0).numpy()


class PatchSizeExplorer(Explorer):
    """Slide the new patch size; compare the naive and the PI-resized kernel and their token error.

    Args:
        weight: the kernel ``(D, C, P, P)`` (e.g. ``model.patch_embed.proj.weight``); default:
            16 smooth random RGB filters of 8 x 8.
        images: ``(B, C, rows*P, cols*P)`` whose tokens are compared; default: the sample photo
            "astronaut" at ``4 * P`` pixels.
        sizes: the new patch sizes the slider offers (default ``P//2 .. 2*P``).
        interpolation, antialias: how patches and (naive) kernels are resized.

    Panels: the filter at ``P``; naive at ``P'``; PI at ``P'`` (each with its own symmetric colour
    scale, the largest absolute weight in the title: watch it shrink for the PI kernel as ``P'``
    grows, since the same token must come from more pixels); the token error against ``P'``.

    :meth:`update` returns ``patch_size``, ``filter``, ``naive_error``, ``pi_error`` and the three
    filter images.
    """

    def __init__(
        self,
        weight: torch.Tensor | None = None,
        images: torch.Tensor | None = None,
        *,
        sizes: Sequence[int] | None = None,
        patch_size: int | None = None,
        filter: int = 0,
        interpolation: str = "bicubic",
        antialias: bool = True,
    ) -> None:
        check_choice(interpolation, "interpolation", INTERPOLATIONS)
        if weight is None:
            weight = _default_kernel()
        w = check_tensor(weight, "weight", (4,), "a 4-D kernel (D, C, P, P)").detach().float().cpu()
        d, c, ph, pw = w.shape
        if ph != pw:
            raise ValueError(
                f"the explorer shows square patches; weight has {ph}x{pw} filters "
                f"{shape_str(w.shape)}"
            )
        p = ph
        if images is None:
            from ..images import load_image

            images = load_image("astronaut", 4 * p)[None]
        x = check_tensor(images, "images", (4,), "(B, C, H, W)").detach().float().cpu()
        if x.shape[1] != c:
            raise ValueError(f"images {shape_str(x.shape)} must have C={c} channels, as the kernel")
        patch_grid(tuple(x.shape[-2:]), p)  # the images must split into whole patches
        self.sizes = [
            check_int(s, "each of sizes")
            for s in (sizes if sizes is not None else range(max(2, p // 2), 2 * p + 1))
        ]
        if not self.sizes:
            raise ValueError(f"sizes must name at least one patch size, got {sizes!r}")
        self.base = p
        self.weight = w
        self.interpolation, self.antialias = interpolation, antialias
        kw = {"interpolation": interpolation, "antialias": antialias}
        self._naive = {s: naive_resize_patch_embed(w, s, **kw) for s in self.sizes}
        self._pi = {s: resample_patch_embed(w, s, **kw) for s in self.sizes}
        self.errors = token_errors(w, x, self.sizes, **kw)

        self.fig = Figure(figsize=(9.6, 2.8), dpi=self.dpi)
        axes = self.fig.subplots(1, 4, gridspec_kw={"width_ratios": [1, 1, 1, 1.6]})
        self._axes = axes
        init = self.sizes[0]
        self._im = []
        self._titles = []
        for ax, arr in zip(
            axes[:3],
            [_show(w[0]), _show(self._naive[init][0]), _show(self._pi[init][0])],
            strict=True,
        ):
            self._im.append(ax.imshow(arr, cmap="RdBu_r", interpolation="nearest"))
            ax.set_xticks([])
            ax.set_yticks([])
            # a title as tall as the real ones, so that the layout below leaves room for them
            self._titles.append(ax.set_title(f"PI-resize, {init}x{init}: |w|≤0.00", fontsize=8))
        err_ax = axes[3]
        err_ax.plot(self.sizes, self.errors["naive"], "o-", ms=3, label="naive")
        err_ax.plot(self.sizes, self.errors["pi"], "s-", ms=3, label="PI-resize")
        err_ax.axvline(p, color="0.6", lw=0.8, ls=":")
        self._marker = err_ax.axvline(init, color="k", lw=1)
        err_ax.set_xticks(sorted({self.sizes[0], p, self.sizes[-1]}))
        err_ax.yaxis.set_major_locator(MaxNLocator(3))
        err_ax.set_xlabel("new patch size P'")
        err_ax.set_ylabel("relative token error")
        err_ax.set_ylim(0, 1.05 * max(float(self.errors["naive"].max()), 1e-3))
        err_ax.legend(fontsize=7, loc="upper left")
        self._title = err_ax.set_title("naive 0.00, PI 0.00", fontsize=9)
        # Lay the figure out once, with every title present, then keep that layout: a layout
        # computed with empty titles cuts them off, and one recomputed at every move is slow.
        self.fig.tight_layout()
        self.state = self._validate(
            {"patch_size": p if p in self.sizes else init, "filter": filter}
        )
        self._animate(*self._im, *self._titles, self._marker, self._title)
        self.update()

    def controls(self) -> dict[str, Any]:
        import ipywidgets as W

        return {
            "patch_size": W.SelectionSlider(
                options=self.sizes, value=self.state["patch_size"], description="new P'"
            ),
            "filter": W.IntSlider(
                value=self.state["filter"],
                min=0,
                max=self.weight.shape[0] - 1,
                description="filter",
            ),
        }

    def _validate(self, state: dict[str, Any]) -> dict[str, Any]:
        s = check_int(state["patch_size"], "patch_size")
        if s not in self._pi:
            raise ValueError(f"patch_size {s} is not one of the precomputed sizes {self.sizes}")
        f = check_int(state["filter"], "filter", minimum=0, maximum=self.weight.shape[0] - 1)
        return {"patch_size": s, "filter": f}

    def _draw(self, state: dict[str, Any]) -> dict[str, Any]:
        """Show filter ``filter`` resized to ``patch_size``; return what was drawn."""
        s, f = state["patch_size"], state["filter"]
        arrays = [_show(self.weight[f]), _show(self._naive[s][f]), _show(self._pi[s][f])]
        names = [f"original, {self.base}x{self.base}", f"naive, {s}x{s}", f"PI-resize, {s}x{s}"]
        for im, title, arr, name in zip(self._im, self._titles, arrays, names, strict=True):
            lim = float(np.abs(arr).max()) or 1.0
            im.set_data(arr)
            im.set_extent((-0.5, arr.shape[1] - 0.5, arr.shape[0] - 0.5, -0.5))
            im.set_clim(-lim, lim)
            title.set_text(f"{name}: |w|≤{lim:.2f}")
        i = self.sizes.index(s)
        naive, pi = float(self.errors["naive"][i]), float(self.errors["pi"][i])
        self._marker.set_xdata([s, s])
        self._title.set_text(f"naive {naive:.2f}, PI {pi:.2f}")
        return {
            "patch_size": s,
            "filter": f,
            "naive_error": naive,
            "pi_error": pi,
            "original": arrays[0],
            "naive": arrays[1],
            "pi": arrays[2],
        }
