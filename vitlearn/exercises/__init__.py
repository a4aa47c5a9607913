"""Exercise checkers: ``check_*(fn) -> bool`` prints friendly feedback and never raises."""

from ._feedback import Mistake, run_checks
from .embedding import check_conv_to_linear
from .patches import check_patchify
from .posenc import check_sincos_2d

__all__ = ["Mistake", "check_conv_to_linear", "check_patchify", "check_sincos_2d", "run_checks"]
