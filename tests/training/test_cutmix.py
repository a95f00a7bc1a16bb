"""CutMix: the same box and partner for every input of a sample, labels mixed by area."""

from __future__ import annotations

import pytest
import torch

from components.training.cutmix import cutmix


def test_cutmix_mixes_inputs_consistently_and_weights_labels_by_area() -> None:
    main = torch.zeros(4, 3, 2, 8, 8)
    for b in range(4):
        main[b] = b
    images = main[:, 0].clone()
    labels = torch.tensor([0, 1, 2, 3])
    (mixed_main, mixed_images), targets = cutmix(
        (main, images), labels, alpha=1.0, gen=torch.Generator().manual_seed(3))
    pasted = (mixed_main != main).any(dim=(1, 2))  # (B, H, W) where a partner was pasted
    torch.testing.assert_close(mixed_images, mixed_main[:, 0])
    area = 1.0 - targets.lam
    for b in range(4):
        if targets.y_b[b] != labels[b]:
            assert pasted[b].float().mean().item() == pytest.approx(area)
    assert 0.0 <= targets.lam <= 1.0
    assert sorted(targets.y_b.tolist()) == [0, 1, 2, 3]
