"""Interactive explorers (core ipywidgets, 7.7 and 8.x). See ``_base.Explorer`` for the pattern."""

from ._base import Explorer

__all__ = ["Explorer"]
