"""Exercise checkers: ``check_*(fn) -> bool`` prints friendly feedback and never raises.

One module per idea, as in the package: ``patches``, ``embedding``, ``posenc``, ``models``,
``resample``, ``flexi``, ``anyres``, and the final ``quiz``.
"""

from ._feedback import Mistake, run_checks
from .anyres import check_naflex_size
from .flexi import check_pi_resize, check_resize_matrix
from .models import check_parameter_count, check_vit_tokens
from .patches import check_patchify
from .posenc import check_sincos_2d
from .quiz import QUIZ, check_quiz, quiz_widget, show_quiz
from .resample import check_resample_pos_embed

__all__ = [
    "QUIZ",
    "Mistake",
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

# Notebook 02's exercise: predict which one-line kernel conversion is right
from .embedding import CONVERSIONS, check_conversions  # noqa: E402

__all__ += ["CONVERSIONS", "check_conversions"]

# isort: split
# Notebook 03: predict what shuffling the patches does to a ViT without and with position codes.
from .posenc import SHUFFLE_ANSWERS, check_shuffle_prediction  # noqa: E402

__all__ += ["SHUFFLE_ANSWERS", "check_shuffle_prediction"]

# isort: split
# Notebook 08: predict the embedding layer at another image size and patch size
from .embedding import check_layer_shapes  # noqa: E402

__all__ += ["check_layer_shapes"]
