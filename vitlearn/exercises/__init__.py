"""Exercise checkers: ``check_*(fn) -> bool`` prints friendly feedback and never raises."""

from ._feedback import Mistake, run_checks
from .embedding import check_conv_to_linear
from .flexi import (
    check_embedding_forward,
    check_pi_resize,
    check_quiz,
    check_resize_matrix,
    quiz_widget,
    show_quiz,
)
from .models import check_parameter_count, check_vit_tokens
from .patches import check_patchify
from .posenc import check_jigsaw, check_sincos_2d
from .resample import check_resample_pos_embed

__all__ = [
    "Mistake",
    "check_conv_to_linear",
    "check_embedding_forward",
    "check_jigsaw",
    "check_parameter_count",
    "check_patchify",
    "check_pi_resize",
    "check_quiz",
    "check_resample_pos_embed",
    "check_resize_matrix",
    "check_sincos_2d",
    "check_vit_tokens",
    "quiz_widget",
    "run_checks",
    "show_quiz",
]
