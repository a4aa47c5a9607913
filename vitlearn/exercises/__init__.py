"""Exercise checkers: ``check_*(fn) -> bool`` prints friendly feedback and never raises."""

from ._feedback import Mistake, run_checks

__all__ = ["Mistake", "run_checks"]
