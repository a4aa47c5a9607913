"""Exercise checkers: ``check_*(fn) -> bool`` prints friendly feedback and never raises."""

from ._feedback import Mistake, run_checks
from .patches import check_patchify

__all__ = ["Mistake", "check_patchify", "run_checks"]
