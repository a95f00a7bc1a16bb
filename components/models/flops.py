"""Parameter counts and FLOPs per clip.

FLOPs come from ``torch.utils.flop_counter.FlopCounterMode`` (one multiply-add
counts as 2 FLOPs; matmuls, convolutions and attention are counted, cheap
elementwise ops, normalisation and FFTs are not). By default the model and its
inputs live on the ``meta`` device: shapes propagate, nothing is computed or
allocated, so even the paper-size LIFT-Net is counted in seconds on a CPU.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


@dataclass(frozen=True)
class ModelCost:
    """Size and compute of one model at one input size.

    Attributes:
        params_total: Number of parameters (shared ones counted once).
        params_trainable: Those with ``requires_grad``.
        flops: FLOPs of one eval-mode forward pass on the given inputs (batch 1 = per clip).
    """

    params_total: int
    params_trainable: int
    flops: int


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(total, trainable) parameter counts."""
    params = list(model.parameters())
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


def count_flops(model: nn.Module, inputs: Sequence[torch.Tensor]) -> int:
    """FLOPs of ``model(*inputs)`` in eval mode without autograd (training mode is restored)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(*inputs)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops())


def measure(
    build: Callable[[], nn.Module],
    input_shapes: Sequence[Sequence[int]],
    *,
    device: str | torch.device = "meta",
) -> ModelCost:
    """Build a model on ``device`` and count its parameters and per-clip FLOPs.

    Args:
        build: Zero-argument model constructor (called under ``torch.device(device)``).
        input_shapes: One shape per forward argument, *without* the batch axis
            (batch 1 is prepended: FLOPs are per clip / per image).
        device: ``"meta"`` (default: no memory, no compute) or ``"cpu"``.
    """
    device = torch.device(device)
    with torch.device(device):
        model = build()
    total, trainable = count_parameters(model)
    inputs = [torch.zeros((1, *shape), device=device) for shape in input_shapes]
    return ModelCost(total, trainable, count_flops(model, inputs))
