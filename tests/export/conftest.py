"""Tiny models of every family the export covers, from the demo preset's networks with
sizes small enough for a CPU test, and a fixed seed per test."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from inference._support import Shards, synthetic_shards, write_untrained
from torch import nn

#: Tiny overrides of the demo preset's networks (conf/models.yaml, preset demo).
TINY: dict[str, dict[str, Any]] = {
    "r2plus1d_18": {"width": 4},
    "lift_net": {"img_size": 32, "vit_blocks": 2, "depth": 1, "embed_dim": 32, "num_heads": 2,
                 "vit_kwargs": {"embed_dim": 32, "num_heads": 2}, "luminous_width": 4},
    "small_cnn": {"width": 8, "depth": 1},
}


@dataclass
class Case:
    """A model and named example inputs (batch 1) with the shapes its family takes."""

    name: str
    model: nn.Module
    inputs: dict[str, torch.Tensor]


def build_case(family: str) -> Case:
    """``teacher``, ``lift``, ``stream`` or ``fused``: a demo-preset model, tiny, eval mode."""
    from components.models import create_model
    from components.models.presets import load_models_config
    from components.models.two_stream import TwoStreamNet

    preset = load_models_config().preset("demo")

    def build(model: str) -> nn.Module:
        return create_model(model, num_classes=3, **preset.kwargs_of(model, TINY[model]))

    if family == "teacher":
        return Case("r2plus1d_18", build("r2plus1d_18").eval(),
                    {"x": torch.randn(1, 3, 8, 32, 32)})
    if family == "lift":
        return Case("lift_net", build("lift_net").eval(),
                    {"main": torch.randn(1, 8, 3, 32, 32), "lum": torch.randn(1, 3, 8, 32, 32)})
    if family == "stream":
        return Case("small_cnn", build("small_cnn").eval(), {"x": torch.randn(1, 3, 32, 32)})
    if family == "fused":
        fused = TwoStreamNet(build("small_cnn"), build("small_cnn"), weights=(1.0, 2.0))
        return Case("two_stream", fused.eval(),
                    {"normal": torch.randn(1, 3, 32, 32), "motion": torch.randn(1, 3, 32, 32)})
    raise ValueError(family)


@pytest.fixture(autouse=True)
def _seed():
    state = torch.get_rng_state()
    torch.manual_seed(0)
    yield
    torch.set_rng_state(state)


#: Dark videos, 4 classes, 2 groups (1 test group): 8 videos of 12 frames.
DATASET = {"groups": 2, "clips_per_group": 1, "test_groups": 1, "num_frames": 12,
           "height": 48, "width": 64, "lighting": "dark", "seed": 5}


@pytest.fixture(scope="package")
def shards(tmp_path_factory: pytest.TempPathFactory) -> Shards:
    return synthetic_shards(tmp_path_factory.mktemp("export-data"), **DATASET)


@pytest.fixture(scope="package")
def folders(shards: Shards, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("export-models")
    return {job: write_untrained(root / job, job, shards, seed=i)
            for i, job in enumerate(("normal", "motion", "student"))}
