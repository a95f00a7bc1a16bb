"""CutMix, per training batch: a box of each sample is replaced by the same box of
another sample of the batch, and the labels are mixed by area (:class:`MixedTargets`,
which the jobs' losses take)."""

from __future__ import annotations

import math

import numpy as np
import torch

from components.jobs.losses import MixedTargets


def cutmix_box(
    height: int, width: int, lam: float, gen: torch.Generator
) -> tuple[int, int, int, int]:
    """A box (y0, y1, x0, x1) of area about ``(1 - lam)`` of the frame, centred at random."""
    cut = math.sqrt(max(0.0, 1.0 - lam))
    ch, cw = int(round(height * cut)), int(round(width * cut))
    cy = int(torch.randint(0, height, (), generator=gen))
    cx = int(torch.randint(0, width, (), generator=gen))
    y0, y1 = max(cy - ch // 2, 0), min(cy + (ch - ch // 2), height)
    x0, x1 = max(cx - cw // 2, 0), min(cx + (cw - cw // 2), width)
    return y0, y1, x0, x1


def cutmix(
    inputs: tuple[torch.Tensor, ...], labels: torch.Tensor, alpha: float, gen: torch.Generator
) -> tuple[tuple[torch.Tensor, ...], MixedTargets]:
    """CutMix a batch: the same box and partner for every input of a sample.

    Args:
        inputs: batch-first tensors whose last two axes are (H, W), e.g. clips
            (B, C, T, H, W), frames (B, T, 3, H, W) and images (B, 3, H, W); all must
            share H and W.
        labels: (B,) class indices.
        alpha: Beta(alpha, alpha) parameter of the kept area.
        gen: the source of randomness (CPU generator).

    Returns:
        The mixed inputs (new tensors) and the targets with the exact area ratio.
    """
    batch = labels.shape[0]
    height, width = inputs[0].shape[-2:]
    if any(x.shape[-2:] != (height, width) for x in inputs):
        raise ValueError(f"cutmix needs one frame size, got {[tuple(x.shape) for x in inputs]}")
    # numpy's Beta sampler, seeded from ``gen`` (torch's Beta takes no generator).
    seed = int(torch.randint(0, 2**31 - 1, (), generator=gen))
    lam = float(np.random.default_rng(seed).beta(alpha, alpha))
    perm = torch.randperm(batch, generator=gen).to(labels.device)
    y0, y1, x0, x1 = cutmix_box(height, width, lam, gen)
    mixed = []
    for x in inputs:
        out = x.clone()
        out[..., y0:y1, x0:x1] = x[perm][..., y0:y1, x0:x1]
        mixed.append(out)
    area = (y1 - y0) * (x1 - x0) / float(height * width)
    return tuple(mixed), MixedTargets(y_a=labels, y_b=labels[perm], lam=1.0 - area)
