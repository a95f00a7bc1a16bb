"""Losses of the training jobs, and the non-finite loss guard.

* Teacher and 2D streams: cross-entropy (with CutMix: the area-weighted sum of
  the two labels' cross-entropies).
* LIFT-Net student (knowledge distillation, the paper's eq.):
  ``L = CE(logits, y) + lambda * L1(h1, h2)``, where h1 is the frozen teacher's
  pooled feature of the luminous clip and h2 the student's projected feature;
  lambda = 1 in the paper.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from components.errors import HarError
from components.training.augment import MixedTargets


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


def classification_loss(
    logits: torch.Tensor,
    targets: torch.Tensor | MixedTargets,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Mean cross-entropy; for CutMix targets ``lam * CE(y_a) + (1 - lam) * CE(y_b)``."""
    if isinstance(targets, MixedTargets):
        ce_a = F.cross_entropy(logits, targets.y_a, label_smoothing=label_smoothing)
        ce_b = F.cross_entropy(logits, targets.y_b, label_smoothing=label_smoothing)
        return targets.lam * ce_a + (1.0 - targets.lam) * ce_b
    return F.cross_entropy(logits, targets, label_smoothing=label_smoothing)


def distillation_loss(h2: torch.Tensor, h1: torch.Tensor) -> torch.Tensor:
    """L1 distance between the student's h2 and the (detached) teacher's h1, (B, D) each."""
    if h1.shape != h2.shape:
        raise ValueError(f"h1 {tuple(h1.shape)} and h2 {tuple(h2.shape)} differ: the student's "
                         "teacher_feature_dim must be the teacher's feature width")
    return F.l1_loss(h2.float(), h1.detach().float())


def is_finite(loss: torch.Tensor) -> bool:
    """Whether a scalar loss is finite (not NaN, not +-inf)."""
    return bool(torch.isfinite(loss.detach()).all())
