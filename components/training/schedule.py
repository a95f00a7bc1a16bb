"""The learning-rate schedule: linear warm-up, then cosine annealing, stepped per batch.

Stepping per optimiser step (not per epoch) matters on small datasets: with a
dozen steps an epoch, a per-epoch cosine holds the peak rate for a whole epoch
and a warm-up of "one epoch" would be one jump.
"""

from __future__ import annotations

import math

import torch

#: The warm-up starts at this fraction of the peak rate.
WARMUP_START = 0.01


def steps_per_epoch(samples: int, batch_size: int, world: int = 1) -> int:
    """Optimiser steps of one epoch: ``samples`` split over ``world`` ranks (the
    distributed sampler pads to equal shares), batches of ``batch_size // world``
    per rank, the last incomplete batch dropped; at least 1."""
    per_rank_batch = max(1, batch_size // world)
    per_rank_samples = math.ceil(samples / max(1, world))
    return max(1, per_rank_samples // per_rank_batch)


def lr_factor(step: int, *, total_steps: int, warmup_steps: int, min_ratio: float) -> float:
    """The multiple of the peak rate at optimiser step ``step`` (0-based).

    Linear from :data:`WARMUP_START` to 1 over ``warmup_steps``, then a cosine
    from 1 to ``min_ratio`` at ``total_steps``; flat at ``min_ratio`` afterwards.
    """
    if warmup_steps > 0 and step < warmup_steps:
        return WARMUP_START + (1.0 - WARMUP_START) * step / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def warmup_cosine(optimizer: torch.optim.Optimizer, *, total_steps: int, warmup_steps: int,
                  min_ratio: float) -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` following :func:`lr_factor`; call ``step()`` after every
    optimiser step. Its state (the step count) goes into checkpoints."""
    def factor(step: int) -> float:
        return lr_factor(step, total_steps=total_steps, warmup_steps=warmup_steps,
                         min_ratio=min_ratio)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
