"""Exercise checkers: ``check_*(fn) -> bool`` prints friendly feedback and never raises.

One module per idea, as in the package: ``patches``, ``embedding``, ``posenc``, ``models``,
``resample``, ``flexi``, ``anyres``, and the final ``quiz``.
"""

from ._feedback import Mistake, run_checks
from .anyres import check_naflex_size
from .embedding import check_conv_to_linear, check_embedding_forward
from .flexi import check_pi_resize, check_resize_matrix
from .models import check_parameter_count
from .patches import check_patchify
from .posenc import check_jigsaw, check_sincos_2d
from .quiz import QUIZ, check_quiz, quiz_widget, show_quiz
from .resample import check_resample_pos_embed

__all__ = [
    "QUIZ",
    "Mistake",
    "check_conv_to_linear",
    "check_embedding_forward",
    "check_jigsaw",
    "check_naflex_size",
    "check_parameter_count",
    "check_patchify",
    "check_pi_resize",
    "check_quiz",
    "check_resample_pos_embed",
    "check_resize_matrix",
    "check_sincos_2d",
    "quiz_widget",
    "run_checks",
    "show_quiz",
]

# Added by the teaching pass: notebook 05's exercise on the structure of a learned table (it
# replaces check_vit_tokens, whose exercise copied the cell above it) and notebook 06's optional
# exercise on which library's recipe resized a table.
from .models import check_most_similar_patch  # noqa: E402
from .resample import check_which_recipe  # noqa: E402

__all__ += ["check_most_similar_patch", "check_which_recipe"]
