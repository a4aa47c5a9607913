"""ReconstructionExplorer: how much of a photo survives the patch projection to D numbers?

Each ``P x P`` patch (``F = P*P*C`` numbers) is multiplied by a ``(D, F)`` matrix ``W`` to give its
token. Undoing that with the pseudo-inverse, ``patch ≈ pinv(W) @ token``, recovers the patch
exactly when ``W`` has rank ``F`` (possible only if ``D >= F``), and otherwise keeps only the part
of the patch that lies in the ``D``-dimensional row space of ``W``. The explorer lets you slide D
and compare a random ``W`` with the principal components of the sample photos' patches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .._checks import as_pair, check_choice, check_int
from ..images import list_images, load_image
from ..patches import patchify, unpatchify
from ._base import Explorer

__all__ = ["ReconstructionExplorer"]

PROJECTIONS = ("random", "pca")


class ReconstructionExplorer(Explorer):
    """Slide the embedding width D; see the photo rebuilt from its tokens, and the error.

    Left: the photo (``size`` pixels, cut into ``patch_size`` patches). Middle: the photo rebuilt
    from its D-dimensional tokens with the pseudo-inverse of the projection. Right: the rebuilding
    error (root mean square over pixel values in ``[0, 1]``) against D for both projections, with
    the current D marked and a dashed line at ``D = P*P*C``.

    Projections (the first D rows of a fixed ``(max_dim, F)`` matrix):

    - ``"random"``: Gaussian entries, fixed by ``seed``, like a freshly initialised ``PatchEmbed``;
    - ``"pca"``: the principal directions of all patches of the sample photos (singular vectors
      of the uncentred patch matrix, most energy first), followed by random rows beyond ``F``.

    :meth:`update` returns ``dim``, ``error``, ``rank`` and the arrays it drew. The patches of
    each photo are computed once, up front.

    >>> ex = ReconstructionExplorer(size=32, patch_size=8)
    >>> ex.update(dim=192)["rank"]
    192
    """

    def __init__(
        self,
        image: str = "astronaut",
        dim: int = 64,
        projection: str = "random",
        *,
        size: int | Sequence[int] = 64,
        patch_size: int | Sequence[int] = 8,
        max_dim: int | None = None,
        images: Sequence[str] | None = None,
        seed: int = 0,
    ) -> None:
        self.size = as_pair(size, "size")
        self.patch_size = as_pair(patch_size, "patch_size")
        self.images = list(images) if images is not None else list_images()
        check_choice(image, "image", self.images)
        check_choice(projection, "projection", PROJECTIONS)
        ph, pw = self.patch_size
        self.patch_dim = ph * pw * 3  # F = P*P*C
        self.max_dim = check_int(max_dim, "max_dim") if max_dim is not None else 2 * self.patch_dim

        # the patches of every photo, once: (N, F) float64
        self._images: dict[str, torch.Tensor] = {}
        self._patches: dict[str, torch.Tensor] = {}
        for name in self.images:
            img = load_image(name, self.size)  # (3, H, W)
            self._images[name] = img
            self._patches[name] = patchify(img, self.patch_size).double()  # (N, F)
        self.grid = (self.size[0] // ph, self.size[1] // pw)

        f = self.patch_dim
        gen = torch.Generator().manual_seed(seed)
        random = torch.randn(self.max_dim, f, generator=gen, dtype=torch.float64) / f**0.5
        all_patches = torch.cat(list(self._patches.values()))  # (sum N, F)
        # rows of vh: the F principal directions, most energy first (full_matrices: all F of
        # them, even when the photos have fewer than F patches)
        _, _, vh = torch.linalg.svd(all_patches, full_matrices=True)  # (F, F)
        pca = torch.cat([vh, random[: max(0, self.max_dim - f)]])[: self.max_dim]
        self.projections: dict[str, torch.Tensor] = {"random": random, "pca": pca}  # (max_dim, F)
        # W.T = QR: the first k columns of Q span the first k rows of W, so pinv(W_D) @ W_D, the
        # orthogonal projector onto the row space of W_D (first D rows), is Q_k @ Q_k.T with
        # k = min(D, F). Computing it once here keeps every slider move down to two matmuls.
        self._q: dict[str, torch.Tensor] = {}
        self._ranks: dict[str, np.ndarray] = {}
        for proj, w in self.projections.items():
            q, r = torch.linalg.qr(w[: min(f, self.max_dim)].T)  # (F, k), (k, k)
            diag = r.diagonal().abs()
            independent = (diag > 1e-9 * diag.max()).numpy()  # row k adds a new direction?
            ranks = np.cumsum(independent)  # rank of the first D rows, D = 1 .. min(F, max_dim)
            self._q[proj] = q
            self._ranks[proj] = np.concatenate(
                [ranks, np.full(self.max_dim - ranks.size, ranks[-1])]
            )
        self._curves = {
            (name, proj): self._error_curve(self._patches[name], self._q[proj], self.max_dim)
            for name in self.images
            for proj in self.projections
        }
        # float32 numpy copies for the slider path
        self._patches_np = {name: x.float().numpy() for name, x in self._patches.items()}
        self._q_np = {proj: q.float().numpy() for proj, q in self._q.items()}
        self._w_np = {proj: w.float().numpy() for proj, w in self.projections.items()}
        self.state = self._validate({"image": image, "dim": dim, "projection": projection})
        self._build()
        self._err_image: str | None = None  # the photo whose curves set the error axes' scale
        self._animate(
            self._im_orig, self._im_rec, self._title_rec, *self._lines.values(), self._marker
        )
        self.update()
        # lay the figure out once, then keep that layout: re-running the layout engine on every
        # redraw would cost more than the drawing itself
        self.fig.draw_without_rendering()
        self.fig.set_layout_engine(None)

    # ---------------------------------------------------------------- computation

    @staticmethod
    def _error_curve(x: torch.Tensor, q: torch.Tensor, max_dim: int) -> np.ndarray:
        """RMS error of the pinv reconstruction of patches ``x`` (N, F) for D = 1 .. max_dim.

        Projecting onto the first k orthonormal columns of ``q`` keeps ``sum_j |x q_j|^2`` of the
        energy, so one matmul and a cumulative sum give the whole curve.
        """
        kept = torch.cumsum(((x @ q) ** 2).sum(dim=0), dim=0)  # (k,)
        lost = (x.pow(2).sum() - kept).clamp_min(0.0)
        curve = torch.full((max_dim,), float(lost[-1]), dtype=torch.float64)
        curve[: kept.numel()] = lost
        return (curve / x.numel()).sqrt().numpy()

    def reconstruct(self, image: str, dim: int, projection: str = "random") -> dict[str, Any]:
        """Embed ``image``'s patches with the first ``dim`` rows of the projection and undo it.

        ``patches_hat`` equals ``tokens @ torch.linalg.pinv(W).T`` (the tests check it); it is
        computed from the QR factors made once in ``__init__``, which is much faster.
        Returns ``tokens`` (N, D), ``patches_hat`` (N, F), ``image_hat`` (3, H, W) (not clipped),
        ``error`` (RMS over pixel values) and ``rank`` of the ``(D, F)`` projection.
        """
        dim = self._validate({"image": image, "dim": dim, "projection": projection})["dim"]
        x = self._patches_np[image]  # (N, F)
        w = self._w_np[projection][: int(dim)]  # (D, F)
        # np.einsum (without optimize) multiplies in plain loops: for matrices this small that is
        # far faster than BLAS, whose worker threads stall when the CPU is busy
        tokens = np.einsum("nf,df->nd", x, w)  # (N, D): what the embedding computes (no bias)
        # tokens @ pinv(W).T, computed as the projection onto W's row space (see __init__)
        q = self._q_np[projection][:, : min(int(dim), self.patch_dim)]  # (F, k)
        patches_hat = np.einsum("nk,fk->nf", np.einsum("nf,fk->nk", x, q), q)  # (N, F)
        error = float(np.sqrt(np.mean((patches_hat - x) ** 2, dtype=np.float64)))
        rank = int(self._ranks[projection][int(dim) - 1])
        tokens, patches_hat = torch.from_numpy(tokens), torch.from_numpy(patches_hat)
        image_hat = unpatchify(patches_hat, self.patch_size, self.grid)  # (3, H, W)
        return {
            "tokens": tokens,
            "patches_hat": patches_hat,
            "image_hat": image_hat,
            "error": error,
            "rank": rank,
        }

    def error_curve(self, image: str, projection: str = "random") -> np.ndarray:
        """``(max_dim,)``: the RMS reconstruction error for D = 1 .. max_dim (index D - 1)."""
        check_choice(image, "image", self.images)
        check_choice(projection, "projection", PROJECTIONS)
        return self._curves[(image, projection)].copy()

    # ---------------------------------------------------------------- drawing

    def _build(self) -> None:
        self.fig = Figure(figsize=(8.4, 2.7), dpi=self.dpi, layout="constrained")
        ax_img, ax_rec, ax_err = self.fig.subplots(1, 3, width_ratios=[1, 1, 1.5])
        blank = np.zeros((*self.size, 3))
        self._im_orig = ax_img.imshow(blank, interpolation="nearest")
        self._im_rec = ax_rec.imshow(blank, interpolation="nearest")
        for ax in (ax_img, ax_rec):
            ax.set_xticks([])
            ax.set_yticks([])
        ax_img.set_title(f"photo, P = {self.patch_size[0]}", fontsize=9)
        self._title_rec = ax_rec.set_title("", fontsize=9)
        d = np.arange(1, self.max_dim + 1)
        self._lines = {
            proj: ax_err.plot(d, np.zeros_like(d, dtype=float), label=f"{proj} W", lw=1.5)[0]
            for proj in PROJECTIONS
        }
        ax_err.axvline(self.patch_dim, color="0.4", ls="--", lw=1)
        ax_err.text(
            self.patch_dim,
            1.0,
            f" P·P·C = {self.patch_dim}",
            fontsize=8,
            color="0.3",
            va="top",
            transform=ax_err.get_xaxis_transform(),
        )
        (self._marker,) = ax_err.plot([], [], "o", color="k", ms=6, zorder=3)
        ax_err.set_xlim(0, self.max_dim + 1)
        ax_err.set_xlabel("D (token width)", fontsize=9)
        ax_err.set_ylabel("RMS error", fontsize=9)
        ax_err.tick_params(labelsize=8)
        ax_err.xaxis.set_major_locator(MaxNLocator(4, integer=True))
        ax_err.yaxis.set_major_locator(MaxNLocator(4))
        ax_err.legend(fontsize=8, loc="center right")
        self._ax_err = ax_err

    def controls(self) -> dict[str, Any]:
        import ipywidgets as W

        return {
            "dim": W.IntSlider(
                value=self.state["dim"],
                min=1,
                max=self.max_dim,
                step=1,
                description="D",
                continuous_update=False,
            ),
            "image": W.Dropdown(
                options=self.images, value=self.state["image"], description="photo"
            ),
            "projection": W.Dropdown(
                options=list(PROJECTIONS), value=self.state["projection"], description="W"
            ),
        }

    def _validate(self, state: dict[str, Any]) -> dict[str, Any]:
        image = check_choice(state["image"], "image", self.images)
        projection = check_choice(state["projection"], "projection", PROJECTIONS)
        dim = check_int(state["dim"], "dim", maximum=self.max_dim)
        return {"image": image, "dim": dim, "projection": projection}

    def _draw(self, state: dict[str, Any]) -> dict[str, Any]:
        """Draw ``dim``, ``image`` and ``projection``.

        Returns ``dim``, ``error`` (RMS over pixel values), ``rank``, ``image``, ``projection``,
        ``reconstruction`` ((H, W, 3) array, clipped to [0, 1] as drawn) and ``curve``.
        """
        dim, name, proj = state["dim"], state["image"], state["projection"]
        out = self.reconstruct(name, dim, proj)
        shown = out["image_hat"].clamp(0, 1).permute(1, 2, 0).numpy()
        self._im_orig.set_data(self._images[name].permute(1, 2, 0).numpy())
        self._im_rec.set_data(shown)
        self._title_rec.set_text(f"from tokens: D = {dim}, rank {out['rank']}")
        top = 0.0
        for p, line in self._lines.items():
            curve = self._curves[(name, p)]
            line.set_ydata(curve)
            line.set_linewidth(2.2 if p == proj else 1.0)
            top = max(top, float(curve.max()))
        if name != self._err_image:  # the error axes' scale is part of the cached background
            self._err_image = name
            self._ax_err.set_ylim(0, 1.05 * top + 1e-9)
            self._invalidate()
        self._marker.set_data([dim], [out["error"]])
        return {
            "dim": dim,
            "error": out["error"],
            "rank": out["rank"],
            "image": name,
            "projection": proj,
            "reconstruction": shown,
            "curve": self._curves[(name, proj)],
        }
