"""Reading and writing checkpoint files: a state dict, however it is wrapped and stored.

A checkpoint is a state dict (a ``torch.save`` file, read with ``weights_only=True``, or a
``.safetensors`` file), possibly wrapped under ``model`` / ``state_dict`` / ... with other entries
beside it (an epoch count, the training arguments).

- :func:`read_state_dict`: a file to ``(object, state dict, wrapper key, safetensors metadata)``;
- :func:`write_state_dict`: back to a file, in the format its suffix names.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from .find import _table_keys

__all__ = ["WRAPPERS", "read_state_dict", "write_state_dict"]

WRAPPERS = ("state_dict", "model", "model_state_dict", "module")
"""Keys under which checkpoints commonly nest their state dict."""


def _is_safetensors(path: Path) -> bool:
    return path.suffix == ".safetensors"


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def read_state_dict(
    path: str | os.PathLike[str],
) -> tuple[dict[str, Any], dict[str, Any], str | None, dict[str, str] | None]:
    """Read a checkpoint file: ``(loaded object, state dict, wrapper key, safetensors metadata)``.

    The state dict is the dict holding the position table: the loaded object itself, or the
    entry under a wrapper key (:data:`WRAPPERS`), which is returned too (``None`` at top level).
    ``.safetensors`` files need the ``safetensors`` package; everything else is read with
    ``torch.load(..., weights_only=True)``, which refuses pickled code. Raises
    ``FileNotFoundError`` or ``ValueError`` with one line saying what is wrong with the file.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if not path.is_file():
        raise ValueError(f"{path}: not a file")
    metadata = None
    if _is_safetensors(path):
        try:
            from safetensors import safe_open
        except ImportError:
            raise ImportError(
                "reading .safetensors needs the safetensors package (pip install safetensors)"
            ) from None
        try:
            with safe_open(str(path), framework="pt") as f:
                metadata = f.metadata()
                obj: Any = {k: f.get_tensor(k) for k in f.keys()}
        except Exception as e:  # safetensors raises its own error types for a corrupt header
            raise ValueError(
                f"{path}: not a readable safetensors file ({_first_line(e)})"
            ) from None
    else:
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except (
            Exception
        ) as e:  # UnpicklingError, RuntimeError (bad zip), EOFError, ...: all one line
            raise ValueError(
                f"{path}: not a readable torch checkpoint (loaded with weights_only=True): "
                f"{_first_line(e)}"
            ) from None
    if not isinstance(obj, dict):
        raise ValueError(
            f"{path}: expected a state dict (a dict of tensors), got {type(obj).__name__}"
        )
    sd, wrapper = _unwrap(obj)
    return obj, sd, wrapper, metadata


def _unwrap(obj: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The dict holding the tensors, and the wrapper key it sits under (None: top level)."""
    if _table_keys(obj):
        return obj, None
    for key in WRAPPERS:
        inner = obj.get(key)
        if isinstance(inner, dict) and _table_keys(inner):
            return inner, key
    return obj, None


def write_state_dict(
    obj: dict[str, Any],
    path: str | os.PathLike[str],
    metadata: dict[str, str] | None = None,
) -> None:
    """Write ``obj`` in the format ``path``'s suffix names (``.safetensors`` or a torch file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if _is_safetensors(path):
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in obj.items()}, str(path), metadata=metadata)
    else:
        torch.save(obj, path)
