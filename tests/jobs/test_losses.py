"""The jobs' losses: cross-entropy of CutMix targets."""

from __future__ import annotations

import torch

from components.jobs.losses import MixedTargets, classification_loss


def test_cutmix_targets_weight_the_two_labels() -> None:
    logits = torch.tensor([[3.0, 0.0]])
    mixed = MixedTargets(torch.tensor([0]), torch.tensor([1]), lam=0.25)
    expected = 0.25 * classification_loss(logits, torch.tensor([0])) + \
        0.75 * classification_loss(logits, torch.tensor([1]))
    torch.testing.assert_close(classification_loss(logits, mixed), expected)
