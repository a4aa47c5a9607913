"""A one-line text progress bar that works in a terminal and in a Jupyter notebook.

It rewrites its line with a carriage return, which both a terminal and Jupyter's output area
honour, so no extra dependency (tqdm, ipywidgets) is needed and nothing breaks in a plain log.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """``[#####.....]  120/400  loss 0.53  acc 0.81  1.2s``, redrawn every ``every`` steps."""

    def __init__(
        self,
        total: int,
        *,
        desc: str = "",
        every: int | None = None,
        width: int = 20,
        enabled: bool = True,
        file: TextIO | None = None,
    ) -> None:
        self.total = max(1, int(total))
        self.desc = desc
        self.every = every or max(1, self.total // 20)
        self.width = width
        self.enabled = enabled
        self.file = file
        self.start = time.perf_counter()
        self._drawn = False

    def due(self, step: int) -> bool:
        """Whether ``update`` would draw at ``step`` (1-based): every ``every`` steps and the
        last."""
        return self.enabled and (step % self.every == 0 or step >= self.total)

    def update(self, step: int, **metrics: float) -> None:
        if not self.enabled:
            return
        filled = round(self.width * step / self.total)
        bar = "#" * filled + "." * (self.width - filled)
        parts = [f"{self.desc} [{bar}] {step:>{len(str(self.total))}}/{self.total}"]
        parts += [f"{k} {v:.3f}" for k, v in metrics.items()]
        parts.append(f"{time.perf_counter() - self.start:.1f}s")
        out = self.file or sys.stdout
        out.write("\r" + "  ".join(parts))
        out.flush()
        self._drawn = True

    def close(self) -> None:
        """End the line (the last drawing stays visible)."""
        if self.enabled and self._drawn:
            out = self.file or sys.stdout
            out.write("\n")
            out.flush()
