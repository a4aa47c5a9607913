"""Cut images into patches and put them back: the first step of a Vision Transformer.

An image of ``H x W`` pixels cut into ``P x P`` patches gives a grid of ``rows = H // P`` by
``cols = W // P`` patches, that is ``N = rows * cols`` tokens. Each token is one patch flattened
into ``P * P * C`` numbers. Two orders are fixed here and used everywhere in the course:

* **patch order** is raster (row-major): token ``n`` is the patch at grid row ``n // cols``,
  grid column ``n % cols``, like reading a page left to right, top to bottom;
* **feature order** inside a token is (row in patch, column in patch, channel), i.e. the einops
  pattern ``b c (h p1) (w p2) -> b (h w) (p1 p2 c)``: the C channel values of the top-left pixel
  come first, then the next pixel to its right.

Sizes are ``(rows, cols)`` = ``(height, width)`` = ``(y, x)`` throughout. A patch size may be an int
``P`` or a pair ``(ph, pw)`` for patches that are ``ph`` pixels tall and ``pw`` pixels wide.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ._checks import as_pair, check_int, check_tensor, patch_grid, shape_str

__all__ = [
    "crop_to_multiple",
    "grid_shape",
    "pad_to_multiple",
    "patchify",
    "shuffle_patches",
    "unpatchify",
]

_LAYOUT = "(B, C, H, W) or (C, H, W)"


def _check_images(images: object, name: str = "images") -> torch.Tensor:
    """A (B, C, H, W) or (C, H, W) tensor, with a hint when it looks channels-last."""
    x = check_tensor(images, name, (3, 4), _LAYOUT)
    c, h, w = x.shape[-3:]
    # A photo straight from PIL/numpy is (H, W, C) with C = 1, 3 or 4 last. Real channels-first
    # images have few channels compared with their size, so many "channels" and a tiny last
    # dimension almost always means the axes are in the wrong order.
    if w in (1, 3, 4) and c > 4 and h > 4:
        fix = ".permute(2, 0, 1)" if x.dim() == 3 else ".permute(0, 3, 1, 2)"
        want = "(C, H, W)" if x.dim() == 3 else "(B, C, H, W)"
        got = "(H, W, C)" if x.dim() == 3 else "(B, H, W, C)"
        raise ValueError(
            f"{name} of shape {shape_str(x.shape)} looks channels-last {got}; "
            f"vitlearn expects channels first {want}: use {name}{fix}"
        )
    return x


def grid_shape(image_size: int | Sequence[int], patch_size: int | Sequence[int]) -> tuple[int, int]:
    """The patch grid ``(rows, cols)`` of an image of ``image_size`` = ``H`` or ``(H, W)``.

    ``rows = H // ph`` and ``cols = W // pw``. Raises ``ValueError`` naming the numbers (and the
    crop or pad that would fix them) when the image does not split into whole patches.

    >>> grid_shape(224, 16)
    (14, 14)
    >>> grid_shape((32, 48), (8, 16))
    (4, 3)
    """
    return patch_grid(image_size, patch_size)


def patchify(images: torch.Tensor, patch_size: int | Sequence[int]) -> torch.Tensor:
    """Cut images into non-overlapping patches and flatten each patch into a token.

    ``(B, C, H, W) -> (B, N, ph*pw*C)`` or ``(C, H, W) -> (N, ph*pw*C)``, with
    ``N = (H // ph) * (W // pw)`` tokens in raster order (row by row, each row left to right) and
    the features of a token ordered (row in patch, column in patch, channel). Same as einops
    ``rearrange(x, "b c (h p1) (w p2) -> b (h w) (p1 p2 c)")``.

    Differentiable; one reshape, one permute and one copy. ``H`` and ``W`` must be multiples of
    the patch size: see :func:`crop_to_multiple` and :func:`pad_to_multiple` otherwise. A tensor
    whose last axis has 1, 3 or 4 entries while its channel axis has more than 4 (and its height
    more than 4) is taken for a channels-last image and refused with a hint to permute it.

    >>> patchify(torch.zeros(2, 3, 32, 48), 16).shape
    torch.Size([2, 6, 768])
    """
    x = _check_images(images)
    ph, pw = as_pair(patch_size, "patch_size")
    *lead, c, h, w = x.shape
    rows, cols = grid_shape((h, w), (ph, pw))
    x = x.reshape(*lead, c, rows, ph, cols, pw)  # (B, C, rows, ph, cols, pw)
    if lead:
        x = x.permute(0, 2, 4, 3, 5, 1)  # (B, rows, cols, ph, pw, C)
    else:
        x = x.permute(1, 3, 2, 4, 0)  # (rows, cols, ph, pw, C)
    return x.reshape(*lead, rows * cols, ph * pw * c)  # (B, N, ph*pw*C)


def unpatchify(
    tokens: torch.Tensor, patch_size: int | Sequence[int], grid_size: int | Sequence[int]
) -> torch.Tensor:
    """Put flattened patches back into images: the exact inverse of :func:`patchify`.

    ``(B, N, ph*pw*C) -> (B, C, rows*ph, cols*pw)`` or ``(N, ph*pw*C) -> (C, rows*ph, cols*pw)``,
    where ``grid_size = (rows, cols)`` (an int means a square grid) and ``N = rows * cols``. The
    number of channels ``C`` is read from the feature size.

    >>> x = torch.rand(2, 3, 32, 48)
    >>> torch.equal(unpatchify(patchify(x, 16), 16, (2, 3)), x)
    True
    """
    t = check_tensor(tokens, "tokens", (2, 3), "(B, N, ph*pw*C) or (N, ph*pw*C)")
    ph, pw = as_pair(patch_size, "patch_size")
    rows, cols = as_pair(grid_size, "grid_size")
    *lead, n, f = t.shape
    if n != rows * cols:
        raise ValueError(
            f"tokens of shape {shape_str(t.shape)} hold N={n} tokens, but grid_size (rows, cols) = "
            f"({rows}, {cols}) needs rows * cols = {rows * cols}"
        )
    if f % (ph * pw):
        raise ValueError(
            f"tokens of shape {shape_str(t.shape)} have {f} features, which is not a multiple of "
            f"ph * pw = {ph} * {pw} = {ph * pw}, so they cannot be ({ph} x {pw}) patches"
        )
    c = f // (ph * pw)
    x = t.reshape(*lead, rows, cols, ph, pw, c)  # (B, rows, cols, ph, pw, C)
    if lead:
        x = x.permute(0, 5, 1, 3, 2, 4)  # (B, C, rows, ph, cols, pw)
    else:
        x = x.permute(4, 0, 2, 1, 3)  # (C, rows, ph, cols, pw)
    return x.reshape(*lead, c, rows * ph, cols * pw)


def crop_to_multiple(images: torch.Tensor, patch_size: int | Sequence[int]) -> torch.Tensor:
    """Centre-crop images so that ``H`` and ``W`` are multiples of the patch size.

    ``(B, C, H, W) -> (B, C, (H // ph) * ph, (W // pw) * pw)`` (or without ``B``). When the
    number of pixels to drop is odd, the extra one comes off the bottom / right. Returns a view.

    >>> crop_to_multiple(torch.zeros(3, 225, 230), 16).shape
    torch.Size([3, 224, 224])
    """
    x = _check_images(images)
    ph, pw = as_pair(patch_size, "patch_size")
    h, w = x.shape[-2:]
    if ph > h or pw > w:
        raise ValueError(
            f"cannot crop an image of (H, W) = ({h}, {w}) to a multiple of patch size "
            f"({ph}, {pw}): it is smaller than one patch; use pad_to_multiple instead"
        )
    new_h, new_w = (h // ph) * ph, (w // pw) * pw
    top, left = (h - new_h) // 2, (w - new_w) // 2
    return x[..., top : top + new_h, left : left + new_w]


def pad_to_multiple(
    images: torch.Tensor, patch_size: int | Sequence[int], value: float = 0.0
) -> torch.Tensor:
    """Pad images at the bottom and right with ``value`` up to a multiple of the patch size.

    ``(B, C, H, W) -> (B, C, ceil(H / ph) * ph, ceil(W / pw) * pw)`` (or without ``B``). Padding
    only the bottom and right keeps every original pixel at its original (row, column), so the
    patch grid still starts at the top-left corner of the photo.

    >>> pad_to_multiple(torch.zeros(3, 225, 230), 16).shape
    torch.Size([3, 240, 240])
    """
    x = _check_images(images)
    ph, pw = as_pair(patch_size, "patch_size")
    h, w = x.shape[-2:]
    pad_h, pad_w = (-h) % ph, (-w) % pw
    if pad_h == 0 and pad_w == 0:
        return x
    return F.pad(x, (0, pad_w, 0, pad_h), mode="constant", value=value)


def shuffle_patches(
    image: torch.Tensor, patch_size: int | Sequence[int], seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut ``image`` into patches and put them back in a random order: its jigsaw.

    ``(C, H, W) -> ((C, H, W), (N,))``: the patch at raster position ``i`` of the jigsaw is patch
    ``perm[i]`` of the image. ``seed = 0`` keeps the original order (``perm = arange(N)``); any
    other seed draws ``torch.randperm`` from its own generator seeded with it, so the global
    random state is left alone.
    """
    check_tensor(image, "image", (3,), "(C, H, W)")
    seed = check_int(seed, "seed", minimum=0)
    rows, cols = grid_shape(tuple(image.shape[-2:]), patch_size)
    n = rows * cols
    if seed == 0:
        perm = torch.arange(n)
    else:
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    tokens = patchify(image, patch_size)  # (N, P*P*C)
    return unpatchify(tokens[perm], patch_size, (rows, cols)), perm
