"""Precise BatchNorm: recompute the running statistics with the final weights.

During training, BatchNorm keeps an exponential moving average of the batch
statistics, each taken with the weights *of its step*. On a small dataset with a
fast-moving optimiser those weights change more between steps than the average
forgets, so the running statistics describe none of the networks the optimiser
passed through: in eval mode every input is normalised wrongly and predictions
collapse (measured here: 100 % train-mode and 49 % eval-mode accuracy on the
model's own training inputs). Recomputing the statistics over training batches
with the weights frozen (Wu and Johnson, "Rethinking 'Batch' in BatchNorm",
2021; PySlowFast's ``precise_bn``) makes eval mode describe the model that was
trained.

The population mean is the mean of the batch means; the population variance is
the mean of the (unbiased) batch variances, as PyTorch's cumulative average
(``momentum=None``) computes them. Only BatchNorm layers that train are
recomputed: a frozen sub-network kept in eval mode (LIFT-Net's luminous trunk,
which is the teacher's) keeps the statistics it was trained with. Dropout is off
while the statistics are gathered, as it is in eval mode.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def training_batchnorms(model: nn.Module) -> list[_BatchNorm]:
    """BatchNorm layers that track running statistics and are in training mode after
    ``model.train()`` (so a model's own ``train`` override decides what stays frozen)."""
    was_training = model.training
    model.train()
    layers = [m for m in model.modules()
              if isinstance(m, _BatchNorm) and m.track_running_stats and m.training]
    model.train(was_training)
    return layers


@torch.no_grad()
def recompute_batchnorm_statistics(
    model: nn.Module,
    batches: Iterable[Any],
    forward: Callable[[nn.Module, Any], object],
    max_batches: int,
) -> int:
    """Replace the running statistics of ``model``'s training BatchNorm layers by their
    average over up to ``max_batches`` batches, computed with the current weights.

    Args:
        model: the unwrapped model (not DDP: statistics are combined explicitly).
        batches: training batches (the loader; augmented batches are fine, as in
            PySlowFast: flips and crops do not move the statistics much).
        forward: ``forward(model, batch)`` runs the model on one batch.
        max_batches: at most this many batches (0: nothing is done).

    Returns:
        The number of batches used (0 when the model has no BatchNorm that trains;
        with no batch at all the old statistics are kept).

    When ``torch.distributed`` is initialised, every rank must call this; the
    ranks' statistics are averaged so that all ranks hold the same buffers.
    """
    layers = training_batchnorms(model)
    if not layers or max_batches <= 0:
        return 0
    was_training = model.training
    momenta = [layer.momentum for layer in layers]
    saved = [(layer.running_mean.clone(), layer.running_var.clone(),  # type: ignore[union-attr]
              layer.num_batches_tracked.clone()) for layer in layers]  # type: ignore[union-attr]
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None  # cumulative average over the batches seen
    model.eval()
    for layer in layers:
        layer.train()
    used = 0
    try:
        for batch in batches:
            if used >= max_batches:
                break
            forward(model, batch)
            used += 1
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
        model.train(was_training)
    if _average_across_ranks(layers, used) == 0:
        for layer, (mean, var, count) in zip(layers, saved, strict=True):
            layer.running_mean.copy_(mean)  # type: ignore[union-attr]
            layer.running_var.copy_(var)  # type: ignore[union-attr]
            layer.num_batches_tracked.copy_(count)  # type: ignore[union-attr]
    return used


def _average_across_ranks(layers: list[_BatchNorm], used: int) -> int:
    """Average the recomputed statistics over DDP ranks, weighted by their batch
    counts; returns the batches used on all ranks together."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return used
    device = layers[0].running_mean.device  # type: ignore[union-attr]
    weight = torch.tensor([float(used)], device=device)
    total = weight.clone()
    dist.all_reduce(total)
    if total.item() == 0:
        return 0
    share = (weight / total).item()
    for layer in layers:
        for buffer in (layer.running_mean, layer.running_var):
            assert buffer is not None
            buffer.mul_(share)
            dist.all_reduce(buffer)
    return int(total.item())
