"""Real ViT checkpoints: read and write them, find their position table, resample it, fetch one.

- :mod:`~vitlearn.checkpoints.state_dict`: :func:`read_state_dict` / :func:`write_state_dict`,
  a ``torch.save`` or ``.safetensors`` file to a state dict and back;
- :mod:`~vitlearn.checkpoints.find`: :func:`find_pos_embed`, where the table is and how it is laid
  out (:class:`PosEmbedInfo`: prefix rows, grid, patch size, whose naming);
- :mod:`~vitlearn.checkpoints.resample`: :func:`resample_checkpoint`, the same state dict with its
  table on a new grid (and ``python -m vitlearn resample-checkpoint``);
- :mod:`~vitlearn.checkpoints.remote`: :func:`load_pos_embed`, a published model's table from a
  file, a URL or a name in :data:`CATALOGUE`, fetching only the table when the server allows.

The remote part is imported on first use, so ``import vitlearn`` opens no network module.
"""

from __future__ import annotations

import importlib
from typing import Any

from .find import FORMATS, PosEmbedInfo, find_pos_embed
from .resample import resample_checkpoint
from .state_dict import read_state_dict, write_state_dict

_REMOTE = ("CATALOGUE", "Checkpoint", "OfflineError", "load_pos_embed", "online")


def __getattr__(name: str) -> Any:
    """The remote names (:func:`load_pos_embed`, ...) import :mod:`.remote` on first use."""
    if name in _REMOTE:
        return getattr(importlib.import_module(".remote", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_REMOTE))


__all__ = [
    "CATALOGUE",
    "FORMATS",
    "Checkpoint",
    "OfflineError",
    "PosEmbedInfo",
    "find_pos_embed",
    "load_pos_embed",
    "online",
    "read_state_dict",
    "resample_checkpoint",
    "write_state_dict",
]
