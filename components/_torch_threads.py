"""torch's intra-op thread count for one block of work, restored after.

The count is the process's: code that sets it and leaves it changes every later
computation in the process (float sums differ by thread count), so callers that pick
a count for their own work (a local fit, an export runner) set it here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """``torch.set_num_threads(threads)`` (at least 1) for the block; the caller's count after."""
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, int(threads)))
    try:
        yield
    finally:
        torch.set_num_threads(before)
