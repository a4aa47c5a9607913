"""Any resolution, any aspect ratio: NaFlex sizing, and the position codes a model uses on a grid.

Two ways a ViT can meet an image of another shape than it was trained on:

- **Resize the image to the model's habits, keeping its aspect ratio.** NaFlex (SigLIP 2,
  Tschannen et al. 2025, after NaViT and FlexiViT) resizes every image, aspect ratio kept, to the
  largest size whose patch grid fits a budget of ``max_patches`` tokens, each side rounded *up* to
  a whole number of patches; the learned position table is then resized to that image's own grid.
  :func:`naflex_size` computes the size, :func:`naflex_resize` resizes an image to it, and
  :data:`NAFLEX_POS_EMBED_RESIZE` holds the settings SigLIP 2 resizes its table with.
- **Let the codes follow the grid.** :func:`position_codes` returns the codes a
  :class:`vitlearn.TinyViT` uses on any grid (its learned table resampled, its sin-cos table
  recomputed, its rotary angles as ``[cos | sin]``), so that their similarity maps can be compared
  at every test size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F

from ._checks import as_pair, check_int, check_tensor, shape_str
from .resample import resample_pos_embed

__all__ = [
    "NAFLEX_POS_EMBED_RESIZE",
    "POSITION_SCHEMES",
    "TEST_SIZES",
    "NaflexSize",
    "naflex_resize",
    "naflex_size",
    "position_codes",
]

NAFLEX_POS_EMBED_RESIZE: dict[str, object] = {
    "interpolation": "bilinear",
    "antialias": True,
    "align_corners": False,
}
"""How SigLIP 2 (NaFlex) resizes its learned ``16 x 16`` table to each image's grid, as keyword
arguments of :func:`vitlearn.resample_pos_embed`: bilinear, antialiased, corners not aligned.
Checked in Hugging Face transformers (``Siglip2VisionEmbeddings.resize_positional_embeddings``:
``F.interpolate(..., mode="bilinear", align_corners=False, antialias=True)``) and in big_vision
(``naflex_vit._pos_emb_resize``: ``jax.image.scale_and_translate(..., method="bilinear",
antialias=True)``, no translation, i.e. half-pixel centres)."""


TEST_SIZES: tuple[tuple[int, int], ...] = (
    (32, 32),
    (40, 40),
    (48, 48),
    (56, 56),
    (64, 64),
    (48, 64),
    (40, 72),
)
"""The any-resolution test sizes ``(H, W)`` in pixels, for models trained at 32 x 32 with 8 px
patches: the training size, four larger squares up to 2x (grids 5x5 to 8x8), a 3:4 image (6x8)
and a nearly 16:9 one (5x9). The one list notebook 09, :mod:`vitlearn.trained.anyres_vits` and
the :class:`vitlearn.widgets.AnyResolutionExplorer` use."""

_DINOV3_BOX = {"temperature": 100.0, "normalize_coords": "separate"}

POSITION_SCHEMES: dict[str, tuple[str, dict[str, object] | None]] = {
    "learned + interpolation": ("learned", None),
    "sin-cos, recomputed": ("sincos", None),
    "RoPE, patch indices": ("rope", None),
    "RoPE, DINOv3 box": ("rope", _DINOV3_BOX),
    "RoPE, box + rescale": ("rope", {**_DINOV3_BOX, "rescale_coords": 2.0}),
}
"""Notebook 09's five position schemes: name -> ``(pos_embed, rope_kwargs)`` of a
:class:`vitlearn.TinyViT` (see :func:`vitlearn.make_trained_tiny_vit`). At another grid the
learned table is resized (timm's recipe), the sin-cos table is recomputed on the new grid's patch
indices, and rotary codes are computed for the grid they receive: on patch indices (RoPE-ViT's
axial RoPE, with the course's temperature 10000), or on patch centres mapped into ``(-1, 1)`` on
each axis with DINOv3's base 100 (``normalize_coords="separate"``); the last one also stretches
that box by a random factor in ``[1/2, 2]`` in training (DINOv3's ``rescale_coords: 2``)."""


class NaflexSize(NamedTuple):
    """What :func:`naflex_size` returns: the new image size in pixels and its patch grid."""

    height: int
    width: int
    rows: int
    cols: int

    @property
    def size(self) -> tuple[int, int]:
        """``(height, width)`` in pixels."""
        return self.height, self.width

    @property
    def grid(self) -> tuple[int, int]:
        """``(rows, cols)`` of patches."""
        return self.rows, self.cols

    @property
    def num_patches(self) -> int:
        """``rows * cols``, at most the budget."""
        return self.rows * self.cols


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def naflex_size(height: int, width: int, patch_size: int, max_patches: int) -> NaflexSize:
    """The NaFlex size of a ``height x width`` image: aspect ratio kept, at most ``max_patches``.

    The image is scaled by the largest factor ``s`` for which
    ``ceil(height * s / P) * ceil(width * s / P) <= max_patches``; each side becomes
    ``ceil(side * s / P) * P`` pixels (rounded *up* to whole patches, so no pixel is cropped, and
    at least one patch). Rounding up distorts the aspect ratio by less than one patch per side.
    The image may grow (a small image is enlarged to use the budget) or shrink.

    This is the rule of SigLIP 2's NaFlex preprocessing: big_vision's ``resize_to_sequence`` and
    Hugging Face's ``get_image_size_for_max_num_patches`` find ``s`` by a binary search to within
    ``1e-5``; here it is found exactly, with integers (the largest ``s`` is one where a side lands
    exactly on a whole number of patches, so it is enough to try ``s = r * P / height`` and
    ``s = c * P / width`` for every whole number of rows ``r`` and columns ``c``). The two agree
    except when two such candidates are within ``1e-5`` of each other, where the search can stop
    one step short, and when the image would have to grow more than 100 times (the top of their
    search range: Hugging Face then returns the size at scale 100, big_vision fails an assertion).

    Args:
        height, width: the image's size in pixels, positive ints.
        patch_size: ``P``, a positive int (square patches).
        max_patches: the budget of tokens, a positive int.

    Returns:
        :class:`NaflexSize` ``(height, width, rows, cols)``: the new size in pixels (multiples of
        ``P``) and the grid ``(height // P, width // P)``.

    >>> naflex_size(256, 384, 16, 64)  # a 2:3 photo, 16 px patches, at most 64 tokens
    NaflexSize(height=96, width=144, rows=6, cols=9)
    """
    h, w = check_int(height, "height"), check_int(width, "width")
    p = check_int(patch_size, "patch_size")
    budget = check_int(max_patches, "max_patches")
    # Candidates: the scale at which the rows (columns) are exactly r (c) patches, i.e.
    # s = r * P / h; there the other side needs ceil(w * r / h) patches. Compare scales exactly
    # as fractions: r / h against c / w is r * w against c * h.
    best: tuple[int, int] | None = None  # (rows, cols)
    best_scale: tuple[int, int] = (0, 1)  # s / P as a fraction (numerator, denominator)
    for r in range(1, budget + 1):
        c = _ceil_div(w * r, h)
        if r * c <= budget and r * best_scale[1] > best_scale[0] * h:
            best, best_scale = (r, c), (r, h)
    for c in range(1, budget + 1):
        r = _ceil_div(h * c, w)
        if r * c <= budget and c * best_scale[1] > best_scale[0] * w:
            best, best_scale = (r, c), (c, w)
    assert best is not None  # r = c = 1 always fits a budget of at least 1
    rows, cols = best
    return NaflexSize(rows * p, cols * p, rows, cols)


def naflex_resize(
    image: torch.Tensor, patch_size: int, max_patches: int
) -> tuple[torch.Tensor, NaflexSize]:
    """Resize ``image`` ``(C, H, W)`` or ``(B, C, H, W)`` to its :func:`naflex_size`.

    Bilinear with antialiasing, corners not aligned (what big_vision's ``tf.image.resize(...,
    antialias=True)`` does; Hugging Face's processor uses PIL's bilinear filter). Returns the
    resized image, same layout and dtype (float), and the :class:`NaflexSize`.
    """
    check_tensor(image, "image", (3, 4), "(C, H, W) or (B, C, H, W)", floating=True)
    h, w = int(image.shape[-2]), int(image.shape[-1])
    size = naflex_size(h, w, patch_size, max_patches)
    batch = image if image.dim() == 4 else image[None]
    out = F.interpolate(batch, size=size.size, mode="bilinear", align_corners=False, antialias=True)
    return (out if image.dim() == 4 else out[0]), size


def position_codes(model: torch.nn.Module, grid_size: int | Sequence[int]) -> torch.Tensor | None:
    """The position codes a :class:`vitlearn.TinyViT` uses on a ``(rows, cols)`` grid: ``(N, D')``.

    One row per patch, row-major, ready for :func:`vitlearn.position_similarity`:

    - ``"learned"``: the table's patch rows, resampled to the grid with timm's recipe (bicubic,
      antialiased) when the grid differs from the model's, ``(N, D)``;
    - ``"sincos"``: the 2-D sin-cos table computed for the grid, ``(N, D)``;
    - ``"rope"``: ``[cos | sin]`` of the rotary angles in eval mode (no augmentation),
      ``(N, head_dim)``: the cosine similarity of two rows is the mean over the rotated pairs of
      ``cos(angle difference)``, i.e. how alike a query looks to the model at the two places;
    - ``"factorized"``: row code + column code, only on the model's own grid;
    - ``"none"``: ``None`` (no codes).

    The model is not changed (its mode is restored).
    """
    from .embedding import ViTEmbedding
    from .posenc import sincos_2d_pos_embed

    if not isinstance(model, ViTEmbedding):
        raise TypeError(
            f"model must be a vitlearn.TinyViT (a ViTEmbedding), got {type(model).__name__}"
        )
    rows, cols = as_pair(grid_size, "grid_size")
    kind = model.pos_embed_kind
    with torch.no_grad():
        if kind == "none":
            return None
        if kind == "learned":
            table = model.pos_embed.detach()  # (1, prefix + n, D)
            prefix = 0 if model.no_embed_class else model.num_prefix_tokens
            if (rows, cols) != model.grid_size:
                table = resample_pos_embed(
                    table,
                    (rows, cols),
                    old_size=model.grid_size,
                    num_prefix_tokens=prefix,
                    recipe="timm",
                )
            return table[0, prefix:].clone()
        if kind == "sincos":
            return sincos_2d_pos_embed((rows, cols), model.embed_dim)
        if kind == "factorized":
            if (rows, cols) != model.grid_size:
                raise ValueError(
                    "the factorized table is made for a "
                    f"{model.grid_size[0]}x{model.grid_size[1]} grid, "
                    f"not {rows}x{cols}"
                )
            return model.pos_embed_factorized.table().detach().clone()
        rope = getattr(model, "rope", None)
        if kind != "rope" or rope is None:
            raise ValueError(f"no position codes known for pos_embed={kind!r}")
        was_training = rope.training
        rope.eval()
        try:
            angles = rope.angles((rows, cols))  # (N, head_dim/2)
        finally:
            rope.train(was_training)
        codes = torch.cat([angles.cos(), angles.sin()], dim=1)  # (N, head_dim)
        if codes.shape[0] != rows * cols:  # pragma: no cover - angles() guarantees it
            raise AssertionError(
                f"rotary codes of shape {shape_str(codes.shape)} for {rows}x{cols}"
            )
        return codes
