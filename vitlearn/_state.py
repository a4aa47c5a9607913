"""Context managers that leave the student's torch state as they found it."""

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


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread for a while, then put the thread count back.

    The matrices of the course's tiny models are so small that a second thread only adds
    overhead, and on a busy 2-core machine two threads can be ten times slower than one. One
    thread also makes the numbers independent of how many cores the machine has.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
