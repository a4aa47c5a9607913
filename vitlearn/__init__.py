"""vitlearn: the helper package of the course "From image to tokens: how a Vision Transformer sees".

The notebooks import it for everything that is not the lesson itself. Tensor shapes follow the
course's notation: B batch, C channels, H x W pixels, P patch size, N tokens, D embedding width.
"""

from . import exercises, plot, widgets
from .data import Scenes, make_position_task, make_scenes, render_scenes, task_info
from .embedding import PatchEmbed, ViTEmbedding, conv_to_linear_weight, linear_to_conv_weight
from .flexi import resample_patch_embed, resize_matrix
from .images import list_images, load_image
from .models import (
    Attention,
    Block,
    TinyViT,
    TrainedTinyViT,
    evaluate,
    make_trained_tiny_vit,
    save_timm_state_dict,
    train_tiny_vit,
)
from .patches import crop_to_multiple, grid_shape, pad_to_multiple, patchify, unpatchify
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
from .pretrained import load_course_vit, load_course_vit_record, train_course_vit
from .resample import resample_pos_embed

__version__ = "0.1.0"

__all__ = [
    "Attention",
    "Block",
    "FactorizedPosEmbed",
    "LearnedPosEmbed",
    "PatchEmbed",
    "RelativePositionBias",
    "RotaryEmbedding2D",
    "Scenes",
    "TinyViT",
    "TrainedTinyViT",
    "ViTEmbedding",
    "conv_to_linear_weight",
    "crop_to_multiple",
    "evaluate",
    "exercises",
    "grid_shape",
    "grid_structure",
    "linear_to_conv_weight",
    "list_images",
    "load_course_vit",
    "load_course_vit_record",
    "load_image",
    "make_position_task",
    "make_scenes",
    "make_trained_tiny_vit",
    "pad_to_multiple",
    "patchify",
    "plot",
    "position_similarity",
    "render_scenes",
    "resample_patch_embed",
    "resample_pos_embed",
    "resize_matrix",
    "save_timm_state_dict",
    "sincos_1d_pos_embed",
    "sincos_2d_pos_embed",
    "task_info",
    "train_course_vit",
    "train_tiny_vit",
    "unpatchify",
    "widgets",
]
