"""Seeding without side effects: library code leaves the student's random state as it found it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run a block with torch's global generator seeded with ``seed``, then restore it.

    For code that draws from the global generator (``nn.Linear``'s default initialisation, say)
    and must give the same numbers every time without changing what the caller's next
    ``torch.randn`` returns.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
