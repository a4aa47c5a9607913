"""Exercise checkers: ``check_*(fn) -> bool`` prints friendly feedback and never raises.

One module per idea, as in the package: ``patches``, ``embedding``, ``posenc``, ``models``,
``resample``, ``flexi``, ``anyres``, and the final ``quiz``.
"""

from ._feedback import Mistake, run_checks
from .anyres import check_naflex_size
from .embedding import check_conv_to_linear
from .flexi import check_pi_resize, check_resize_matrix
from .models import check_parameter_count, check_vit_tokens
from .patches import check_patchify
from .posenc import check_jigsaw, check_sincos_2d
from .quiz import QUIZ, check_quiz, quiz_widget, show_quiz
from .resample import check_resample_pos_embed

# isort: split
# Notebook 08: predict the embedding layer at another image size and patch size
from .embedding import check_layer_shapes

__all__ = [
    "QUIZ",
    "Mistake",
    "check_conv_to_linear",
    "check_jigsaw",
    "check_layer_shapes",
    "check_naflex_size",
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
