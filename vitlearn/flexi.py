"""Changing the patch size of a trained ViT: resizing the patch-embedding kernel (FlexiViT).

A patch embedding is a convolution whose kernel ``w`` has the size of a patch, so a token is the
inner product ``<x, w>`` of a patch ``x`` with each of the D filters. To run the model with another
patch size the kernel must change size too. Two ways:

* **naive**: interpolate the kernel like a small image (:func:`naive_resize_patch_embed`). The
  tokens change: a kernel twice as wide sums four times as many pixels.
* **pseudo-inverse (PI) resize** (FlexiViT, Beyer et al. 2023; :func:`resample_patch_embed`).
  Resizing a patch is linear, ``resize(x) = B x`` with ``B`` the resize matrix
  (:func:`resize_matrix`). We want a kernel ``w_new`` with ``<B x, w_new> = <x, w>`` for every
  patch ``x``, that is ``B^T w_new = w``. Its least-squares solution is
  ``w_new = pinv(B^T) w``. When the kernel grows, ``B^T`` has full row rank and the equation holds
  exactly: the tokens of an upsampled patch equal the original tokens. When it shrinks, no kernel
  can do that for every patch and ``pinv`` gives the least-squares best one.

The numbers agree with ``timm.layers.resample_patch_embed`` called with the same arguments (to
float32 precision); ``interpolation="bilinear", antialias=False`` is big_vision's FlexiViT resize.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ._checks import as_pair, check_choice, check_tensor, patch_grid, shape_str

__all__ = [
    "INTERPOLATIONS",
    "naive_resize_patch_embed",
    "patch_tokens",
    "pi_resize_matrix",
    "resample_patch_embed",
    "resize_matrix",
    "resize_patchwise",
]

INTERPOLATIONS = ("bilinear", "bicubic")
"""The interpolation modes the kernel resizers accept (those of ``F.interpolate`` with
antialias)."""


def _check_kernel(weight: object) -> torch.Tensor:
    return check_tensor(weight, "weight", (4,), "a 4-D conv kernel (D, C, ph, pw)", floating=True)


def resize_matrix(
    old_size: int | Sequence[int],
    new_size: int | Sequence[int],
    *,
    interpolation: str = "bicubic",
    antialias: bool = True,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """The matrix ``B`` of resizing one patch: ``resize(x).flatten() == B @ x.flatten()``.

    ``old_size`` and ``new_size`` are ``(rows, cols)`` (an int means square). Patches are
    flattened row-major (row by row, as ``Tensor.flatten`` does). Column ``i`` of ``B`` is the
    resized basis patch that has a 1 at flat position ``i`` and 0 elsewhere; resizing is
    ``F.interpolate(..., mode=interpolation, antialias=antialias, align_corners=False)``.

    Shapes: ``(old_h, old_w), (new_h, new_w) -> (new_h * new_w, old_h * old_w)``.
    """
    old_h, old_w = as_pair(old_size, "old_size")
    new_h, new_w = as_pair(new_size, "new_size")
    check_choice(interpolation, "interpolation", INTERPOLATIONS)
    n_old = old_h * old_w
    basis = torch.eye(n_old, dtype=dtype).reshape(n_old, 1, old_h, old_w)  # one basis patch per row
    resized = F.interpolate(
        basis, size=(new_h, new_w), mode=interpolation, antialias=antialias, align_corners=False
    )  # (n_old, 1, new_h, new_w)
    return resized.reshape(n_old, new_h * new_w).T.contiguous()  # (new_h*new_w, n_old)


def pi_resize_matrix(
    old_size: int | Sequence[int],
    new_size: int | Sequence[int],
    *,
    interpolation: str = "bicubic",
    antialias: bool = True,
) -> torch.Tensor:
    """``pinv(B^T)``: the matrix that maps a flattened old kernel to its PI-resized kernel.

    Computed in float64 (the pseudo-inverse of a rank-deficient ``B`` is sensitive to rounding),
    returned in float64. Shapes: ``-> (new_h * new_w, old_h * old_w)``.
    """
    b = resize_matrix(
        old_size, new_size, interpolation=interpolation, antialias=antialias, dtype=torch.float64
    )
    return torch.linalg.pinv(b.T)  # (new, old)


def resample_patch_embed(
    weight: torch.Tensor,
    new_size: int | Sequence[int],
    *,
    interpolation: str = "bicubic",
    antialias: bool = True,
) -> torch.Tensor:
    """PI-resize a patch-embedding kernel so that tokens survive a change of patch size.

    ``w_new = pinv(B^T) w`` for each of the ``D * C`` filter slices, with ``B`` the
    :func:`resize_matrix` from ``(ph, pw)`` to ``new_size``. Then for any patch ``x`` of the old
    size, ``<resize(x), w_new> == <x, w>`` when the kernel grows (exactly, up to rounding), and is
    the least-squares closest possible when it shrinks.

    Computed in float64 internally (pinv and product), returned in ``weight``'s dtype. Matches
    ``timm.layers.resample_patch_embed`` with the same arguments to float32 precision.
    (Caveat from torch, not from the method: antialiased ``F.interpolate`` mishandles a kernel
    one pixel wide, e.g. ``(2, 1) -> (3, 1)`` copies the first row, so there the identity fails.)

    Shapes: ``(D, C, ph, pw) -> (D, C, new_h, new_w)``.
    """
    w = _check_kernel(weight)
    new_h, new_w = as_pair(new_size, "new_size")
    check_choice(interpolation, "interpolation", INTERPOLATIONS)
    d, c, ph, pw = w.shape
    pinv = pi_resize_matrix(
        (ph, pw), (new_h, new_w), interpolation=interpolation, antialias=antialias
    )
    flat = w.detach().to(dtype=torch.float64, device="cpu").reshape(d * c, ph * pw)  # (D*C, old)
    out = flat @ pinv.T  # (D*C, new) = each row w -> pinv(B^T) w
    return out.reshape(d, c, new_h, new_w).to(dtype=w.dtype, device=w.device)


def naive_resize_patch_embed(
    weight: torch.Tensor,
    new_size: int | Sequence[int],
    *,
    interpolation: str = "bicubic",
    antialias: bool = True,
) -> torch.Tensor:
    """Resize the kernel as if it were an image (``F.interpolate``): what NOT to do.

    Each filter keeps its look, but its inner product with a resized patch changes (roughly by
    the area ratio ``new_h*new_w / (ph*pw)`` and more for fine detail).

    Shapes: ``(D, C, ph, pw) -> (D, C, new_h, new_w)``.
    """
    w = _check_kernel(weight)
    new_h, new_w = as_pair(new_size, "new_size")
    check_choice(interpolation, "interpolation", INTERPOLATIONS)
    return F.interpolate(
        w.detach(),
        size=(new_h, new_w),
        mode=interpolation,
        antialias=antialias,
        align_corners=False,
    )


def patch_tokens(
    images: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None
) -> torch.Tensor:
    """Tokens of non-overlapping patches: a convolution with stride = kernel size, flattened.

    The grid is ``rows = H // ph``, ``cols = W // pw`` (pixels past the last full patch are
    dropped, as ``nn.Conv2d`` does); tokens are ordered row by row.

    Shapes: ``(B, C, H, W), (D, C, ph, pw) -> (B, rows * cols, D)``.
    """
    x = check_tensor(images, "images", (4,), "(B, C, H, W)")
    w = _check_kernel(weight)
    if x.shape[1] != w.shape[1]:
        raise ValueError(
            f"images have C={x.shape[1]} but the kernel {shape_str(w.shape)} expects {w.shape[1]} "
            "channels"
        )
    ph, pw = w.shape[-2:]
    if x.shape[2] < ph or x.shape[3] < pw:
        raise ValueError(
            f"images of size {x.shape[2]}x{x.shape[3]} are smaller than one patch {ph}x{pw}"
        )
    out = F.conv2d(x, w.to(x.dtype), None if bias is None else bias.to(x.dtype), stride=(ph, pw))
    return out.flatten(2).transpose(1, 2)  # (B, D, rows, cols) -> (B, rows*cols, D)


def resize_patchwise(
    images: torch.Tensor,
    patch_size: int | Sequence[int],
    new_patch_size: int | Sequence[int],
    *,
    interpolation: str = "bicubic",
    antialias: bool = True,
) -> torch.Tensor:
    """Resize every patch on its own (no pixel of a neighbour leaks in) and reassemble the image.

    This is the resize the PI identity is about: resizing the whole image with ``F.interpolate``
    also blends pixels across patch borders, so its tokens differ slightly.

    Shapes: ``(B, C, rows*ph, cols*pw) -> (B, C, rows*new_h, cols*new_w)``.
    """
    x = check_tensor(images, "images", (4,), "(B, C, H, W)")
    ph, pw = as_pair(patch_size, "patch_size")
    nh, nw = as_pair(new_patch_size, "new_patch_size")
    check_choice(interpolation, "interpolation", INTERPOLATIONS)
    b, c, h, w = x.shape
    rows, cols = patch_grid((h, w), (ph, pw))
    patches = x.reshape(b, c, rows, ph, cols, pw).permute(
        0, 2, 4, 1, 3, 5
    )  # (B, rows, cols, C, ph, pw)
    patches = patches.reshape(b * rows * cols, c, ph, pw)
    resized = F.interpolate(
        patches, size=(nh, nw), mode=interpolation, antialias=antialias, align_corners=False
    )  # (B*rows*cols, C, nh, nw)
    resized = resized.reshape(b, rows, cols, c, nh, nw).permute(0, 3, 1, 4, 2, 5)
    return resized.reshape(b, c, rows * nh, cols * nw)
