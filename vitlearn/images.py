"""The course's sample photos, loaded as ``(3, H, W)`` float tensors in ``[0, 1]``.

The photos live in the repository's ``images/`` folder (their sources and licences are in
``images/SOURCES.md``). The folder is found next to the installed package, so the loaders work from
any working directory and in Colab (where the repository is cloned and installed in editable mode).
Set the environment variable ``VITLEARN_IMAGES`` to use another folder.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ._checks import as_pair

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["images_dir", "list_images", "load_image"]

_SUFFIXES = (".jpg", ".jpeg", ".png")
ENV_VAR = "VITLEARN_IMAGES"
# Found once, at import, from the package's own location: later changes of the working
# directory (os.chdir in a notebook) cannot move it.
_DEFAULT_DIR = Path(__file__).resolve().parents[1] / "images"


def images_dir() -> Path:
    """The folder the photos are read from: ``$VITLEARN_IMAGES`` if set, else ``<repo>/images``."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser().resolve()
    return _DEFAULT_DIR


def _files() -> dict[str, Path]:
    folder = images_dir()
    if not folder.is_dir():
        how = (
            f"${ENV_VAR}"
            if os.environ.get(ENV_VAR)
            else f"the package (set ${ENV_VAR} to override)"
        )
        raise FileNotFoundError(
            f"the sample images folder {folder} does not exist (located from {how}); "
            "it ships with the course repository: clone the repository and install it with "
            "`pip install -e .` rather than installing the package alone"
        )
    return {
        p.stem: p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() in _SUFFIXES
    }


def list_images() -> list[str]:
    """The names of the sample photos, sorted, e.g. ``["astronaut", "cat", "coffee", "rocket"]``."""
    return sorted(_files())


def load_image(name: str, size: int | Sequence[int] | None = None) -> torch.Tensor:
    """Load a sample photo as a float32 tensor of shape ``(3, H, W)`` with values in ``[0, 1]``.

    ``name`` is one of :func:`list_images` (a file extension is accepted and ignored).
    ``size`` is ``None`` (the stored size), an int ``S`` (a square ``S x S`` image) or ``(H, W)``.
    Resizing never distorts: the photo is first centre-cropped to the aspect ratio of ``size``,
    then resized with PIL's Lanczos filter (high quality, anti-aliased).

    >>> load_image("astronaut", 64).shape
    torch.Size([3, 64, 64])
    """
    from PIL import Image  # imported here: only this function needs it

    if not isinstance(name, str):
        raise TypeError(f"name must be a str such as 'astronaut', got {type(name).__name__}")
    files = _files()
    key = Path(name).stem if Path(name).suffix.lower() in _SUFFIXES else name
    if key not in files:
        known = ", ".join(repr(k) for k in sorted(files)) or "(none)"
        raise ValueError(f"unknown image {name!r}; known: {known} (in {images_dir()})")
    with Image.open(files[key]) as im:
        im = im.convert("RGB")
        if size is not None:
            h, w = as_pair(size, "size")
            im = _cover_resize(im, h, w)
        arr = np.asarray(im, dtype=np.float32) / 255.0  # (H, W, 3)
    return torch.from_numpy(arr).permute(2, 0, 1).contiguous()  # (3, H, W)


def _cover_resize(im: Image.Image, h: int, w: int) -> Image.Image:
    """Centre-crop ``im`` to the aspect ratio ``h : w``, then resize it to ``w x h`` pixels."""
    from PIL import Image

    iw, ih = im.size
    if ih * w > iw * h:  # too tall: crop rows
        ch, cw = round(iw * h / w), iw
    else:  # too wide (or exact): crop columns
        ch, cw = ih, round(ih * w / h)
    top, left = (ih - ch) // 2, (iw - cw) // 2
    return im.resize((w, h), Image.Resampling.LANCZOS, box=(left, top, left + cw, top + ch))
