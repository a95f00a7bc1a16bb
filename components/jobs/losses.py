"""Losses of the jobs' tasks (:mod:`components.jobs.tasks`).

* Teacher and 2D streams: cross-entropy (with CutMix, :class:`MixedTargets`: the
  area-weighted sum of the two labels' cross-entropies).
* LIFT-Net student (knowledge distillation, the paper's Eq. 6):
  ``L = CE(logits, y) + lambda * sum_i |h1_i - h2_i|``. In the paper h1 and h2 are
  the pre-softmax outputs of the frozen teacher (on the luminous clip) and of the
  student, so the default target is the logits and the L1 term is a *sum* over the
  classes (averaged over the batch); lambda = 1 in the paper. ``kd_target:
  features`` keeps the project's earlier variant: the mean L1 distance between the
  teacher's pooled trunk feature and a learned projection of the student's.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class MixedTargets:
    """Labels after CutMix: loss = lam * CE(y_a) + (1 - lam) * CE(y_b)."""

    y_a: torch.Tensor
    y_b: torch.Tensor
    lam: float


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


def logit_distillation_loss(h2: torch.Tensor, h1: torch.Tensor) -> torch.Tensor:
    """Eq. 6's term: ``sum_i |h1_i - h2_i|`` over the K classes, mean over the batch.

    Args:
        h2: the student's logits (B, K).
        h1: the teacher's logits (B, K), detached here.
    """
    if h1.shape != h2.shape:
        raise ValueError(f"teacher logits {tuple(h1.shape)} and student logits "
                         f"{tuple(h2.shape)} differ: both must be trained on the same classes")
    return (h2.float() - h1.detach().float()).abs().sum(dim=1).mean()


def distillation_loss(h2: torch.Tensor, h1: torch.Tensor) -> torch.Tensor:
    """``kd_target: features``: mean L1 distance between the student's projected
    feature h2 and the (detached) teacher's pooled feature h1, (B, D) each."""
    if h1.shape != h2.shape:
        raise ValueError(f"h1 {tuple(h1.shape)} and h2 {tuple(h2.shape)} differ: the student's "
                         "teacher_feature_dim must be the teacher's feature width")
    return F.l1_loss(h2.float(), h1.detach().float())
