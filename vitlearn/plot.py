"""Plotting helpers the notebooks share. Each returns the matplotlib objects it made.

Sections are owned by the chapter that needs them; keep each function self-contained.
"""

from __future__ import annotations
