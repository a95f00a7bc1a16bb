"""The non-finite loss guard: the error that stops training at a NaN or infinite loss,
and the check behind it."""

from __future__ import annotations

import torch

from components.errors import HarError


class NonFiniteLossError(HarError):
    """The loss became NaN or infinite: training stops, the last good checkpoint stays.

    Attributes:
        epoch: 1-based epoch.
        step: global optimiser step (1-based) at which the loss was not finite.
        batch: 0-based batch index within the epoch.
        value: the loss value (nan, inf or -inf).
        videos: keys of the videos in the batch (when known).
        rank: the DDP rank that raised it (None when not distributed).
        local: whether this rank's own loss was not finite (False: another rank's).
    """

    def __init__(
        self, *, epoch: int, step: int, batch: int, value: float,
        videos: tuple[str, ...] = (), rank: int | None = None, local: bool = True,
        detail: str = "",
    ) -> None:
        self.epoch, self.step, self.batch, self.value = epoch, step, batch, value
        self.videos, self.rank, self.local = videos, rank, local
        where = f" on rank {rank}" if rank is not None else ""
        shown = ", ".join(videos[:8]) + (" ..." if len(videos) > 8 else "")
        message = (
            f"non-finite training loss ({value}) at epoch {epoch}, step {step} "
            f"(batch {batch} of the epoch){where}"
            + (f"; videos in the batch: {shown}" if videos else "")
            + (f"; {detail}" if detail else "")
        )
        super().__init__(message)


def is_finite(loss: torch.Tensor) -> bool:
    """Whether a scalar loss is finite (not NaN, not +-inf)."""
    return bool(torch.isfinite(loss.detach()).all())
