"""vitlearn: the helper package of the course "From image to tokens: how a Vision Transformer sees".

The notebooks import it for everything that is not the lesson itself. Tensor shapes follow the
course's notation: B batch, C channels, H x W pixels, P patch size, N tokens, D embedding width.

Importing it is cheap: the submodules that need matplotlib or ipywidgets (``plot``, ``widgets``,
``exercises``) and the checkpoint loader that opens the network (``load_pos_embed``) are imported
the first time they are used (``vitlearn.widgets``), not before. The tools around the course
(its editions and command line, :mod:`vitlearn.editions`) are never imported by it.
"""

from __future__ import annotations

import importlib
from typing import Any

from .anyres import naflex_resize, naflex_size, position_codes
from .checkpoints import resample_checkpoint
from .data import Scenes, make_position_task, make_scenes, render_scenes, task_info
from .embedding import PatchEmbed, ViTEmbedding, conv_to_linear_weight, linear_to_conv_weight
from .flexi import resample_patch_embed, resize_matrix
from .images import list_images, load_image
from .models import Attention, Block, TinyViT, save_timm_state_dict
from .patches import (
    crop_to_multiple,
    grid_shape,
    pad_to_multiple,
    patchify,
    shuffle_patches,
    unpatchify,
)
from .posenc import (
    FactorizedPosEmbed,
    LearnedPosEmbed,
    RelativePositionBias,
    RotaryEmbedding2D,
    grid_structure,
    position_similarity,
    sincos_1d_pos_embed,
    sincos_2d_pos_embed,
)
from .resample import flattened_resample, resample_pos_embed
from .segmentation import add_decomposed_rel_pos, get_abs_pos, get_rel_pos, window_partition
from .trained import (
    load_anyres_record,
    load_anyres_vits,
    load_course_vit,
    load_course_vit_record,
    load_stripes_vit,
    load_stripes_vit_record,
    train_course_vit,
    train_stripes_vit,
)
from .training import (
    DEFAULT_RECIPE,
    TrainedTinyViT,
    TrainRecipe,
    build_model,
    evaluate,
    make_trained_tiny_vit,
    train,
    train_tiny_vit,
)
from .video import (
    TubeletEmbed,
    sincos_spacetime_pos_embed,
    spacetime_pos_embed,
    tubeletify,
    videomae_pos_embed,
)
from .vlm import PatchMerger, merge_order, mrope_position_ids, smart_resize, vision_rope_ids

__version__ = "0.1.0"

_LAZY_SUBMODULES = ("exercises", "plot", "widgets")
_REMOTE_NAMES = ("OfflineError", "load_pos_embed", "online")
"""Names from :mod:`vitlearn.checkpoints.remote`, which opens network modules: loaded on first
use."""


def __getattr__(name: str) -> Any:
    """Import ``vitlearn.plot``, ``.widgets``, ``.exercises`` and the remote loader on first use."""
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _REMOTE_NAMES:
        return getattr(importlib.import_module(".checkpoints.remote", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_SUBMODULES) | set(_REMOTE_NAMES))


__all__ = [
    "DEFAULT_RECIPE",
    "Attention",
    "Block",
    "FactorizedPosEmbed",
    "LearnedPosEmbed",
    "OfflineError",
    "PatchEmbed",
    "PatchMerger",
    "RelativePositionBias",
    "RotaryEmbedding2D",
    "Scenes",
    "TinyViT",
    "TrainRecipe",
    "TrainedTinyViT",
    "TubeletEmbed",
    "build_model",
    "ViTEmbedding",
    "add_decomposed_rel_pos",
    "conv_to_linear_weight",
    "crop_to_multiple",
    "evaluate",
    "exercises",
    "flattened_resample",
    "get_abs_pos",
    "get_rel_pos",
    "grid_shape",
    "grid_structure",
    "linear_to_conv_weight",
    "list_images",
    "load_anyres_record",
    "load_anyres_vits",
    "load_course_vit",
    "load_course_vit_record",
    "load_image",
    "load_pos_embed",
    "load_stripes_vit",
    "load_stripes_vit_record",
    "make_position_task",
    "make_scenes",
    "make_trained_tiny_vit",
    "merge_order",
    "mrope_position_ids",
    "naflex_resize",
    "naflex_size",
    "online",
    "pad_to_multiple",
    "patchify",
    "plot",
    "position_codes",
    "position_similarity",
    "render_scenes",
    "resample_checkpoint",
    "resample_patch_embed",
    "resample_pos_embed",
    "resize_matrix",
    "save_timm_state_dict",
    "shuffle_patches",
    "sincos_1d_pos_embed",
    "sincos_2d_pos_embed",
    "sincos_spacetime_pos_embed",
    "smart_resize",
    "spacetime_pos_embed",
    "task_info",
    "train",
    "train_course_vit",
    "train_stripes_vit",
    "train_tiny_vit",
    "tubeletify",
    "unpatchify",
    "videomae_pos_embed",
    "vision_rope_ids",
    "widgets",
    "window_partition",
]
