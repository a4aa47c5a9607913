"""Exercise checkers: ``check_*(fn) -> bool`` prints friendly feedback and never raises.

One module per idea, as in the package: ``patches``, ``embedding``, ``posenc``, ``models``,
``resample``, ``flexi``, ``anyres``, ``vlm``, and the final ``quiz``. By notebook:

- 01 ``check_patchify``; 02 ``check_conversions`` (predict, then check; ``CONVERSIONS``);
- 03 ``check_shuffle_prediction`` (predict, then check; ``SHUFFLE_ANSWERS``);
  04 ``check_sincos_2d``;
- 05 ``check_parameter_count``, ``check_most_similar_patch``;
- 06 ``check_resample_pos_embed``, ``check_which_recipe`` (optional);
- 07 ``check_resize_matrix``, ``check_pi_resize``; 08 ``check_layer_shapes`` (predict, then check)
  and the quiz (``QUIZ``, ``check_quiz``, ``quiz_widget``, ``show_quiz``; ``score_quiz``, the one
  scorer that ``check_quiz`` and the nbgrader edition's graded cell share);
- 09 ``check_naflex_size``; 10 ``check_image_tokens``, ``check_mrope_ids``.
"""

from ._feedback import Mistake, run_checks
from .anyres import check_naflex_size
from .embedding import CONVERSIONS, check_conversions, check_layer_shapes
from .flexi import check_pi_resize, check_resize_matrix
from .models import check_most_similar_patch, check_parameter_count
from .patches import check_patchify
from .posenc import SHUFFLE_ANSWERS, check_shuffle_prediction, check_sincos_2d
from .quiz import QUIZ, QuizScore, check_quiz, quiz_widget, score_quiz, show_quiz
from .resample import check_resample_pos_embed, check_which_recipe
from .vlm import check_image_tokens, check_mrope_ids

__all__ = [
    "CONVERSIONS",
    "QUIZ",
    "SHUFFLE_ANSWERS",
    "Mistake",
    "QuizScore",
    "check_conversions",
    "check_image_tokens",
    "check_layer_shapes",
    "check_most_similar_patch",
    "check_mrope_ids",
    "check_naflex_size",
    "check_parameter_count",
    "check_patchify",
    "check_pi_resize",
    "check_quiz",
    "check_resample_pos_embed",
    "check_resize_matrix",
    "check_shuffle_prediction",
    "check_sincos_2d",
    "check_which_recipe",
    "quiz_widget",
    "run_checks",
    "score_quiz",
    "show_quiz",
]
