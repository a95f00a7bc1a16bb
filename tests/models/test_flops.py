"""Parameter and FLOP counts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from components.models import count_flops, count_parameters, create_model, measure


def test_count_parameters_splits_trainable() -> None:
    model = nn.Sequential(nn.Linear(10, 20), nn.Linear(20, 5))
    model[0].requires_grad_(False)
    assert count_parameters(model) == (10 * 20 + 20 + 20 * 5 + 5, 20 * 5 + 5)


def test_count_flops_of_a_linear_layer_and_training_mode_is_restored() -> None:
    model = nn.Linear(10, 20).train()
    assert count_flops(model, [torch.zeros(1, 10)]) == 2 * 10 * 20
    assert model.training


def test_meta_device_counts_the_r2plus1d_reference_clip() -> None:
    cost = measure(lambda: create_model("r2plus1d_18", num_classes=400), [[3, 16, 112, 112]])
    assert cost.params_total == cost.params_trainable == 31_505_325
    # torchvision lists 40.52 G multiply-adds per 16x112x112 clip; 2 FLOPs each.
    assert cost.flops == pytest.approx(2 * 40.52e9, rel=0.01)


def test_meta_and_cpu_counts_agree(tiny_lift_kwargs) -> None:
    shapes = [[4, 3, 32, 32], [3, 4, 32, 32]]
    on_meta = measure(lambda: create_model("lift_net", **tiny_lift_kwargs), shapes)
    on_cpu = measure(lambda: create_model("lift_net", **tiny_lift_kwargs), shapes, device="cpu")
    assert on_meta.params_total == on_cpu.params_total
    assert on_meta.params_trainable == on_cpu.params_trainable < on_meta.params_total
    assert on_meta.flops == pytest.approx(on_cpu.flops, rel=0.02)
