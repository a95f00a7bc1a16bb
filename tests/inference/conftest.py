"""Inference fixtures: one represented synthetic dataset and one (untrained) model
of every job over it, built once for the package."""

from __future__ import annotations

from pathlib import Path

import pytest
from training._fixtures import mlflow_store, mlflow_template  # noqa: F401 - fixtures

from inference._support import Shards, synthetic_shards, write_untrained

#: Dark videos, 4 classes, 3 groups (1 test group): 12 videos of 12 frames.
DATASET = {"groups": 3, "clips_per_group": 1, "test_groups": 1, "num_frames": 12,
           "height": 48, "width": 64, "lighting": "dark", "seed": 3}


@pytest.fixture(scope="package")
def shards(tmp_path_factory: pytest.TempPathFactory) -> Shards:
    """frames, gamma and mei shards (32x32) of a small synthetic dataset."""
    return synthetic_shards(tmp_path_factory.mktemp("inference-data"), **DATASET)


class Models(dict):
    """job -> model folder, each written on first use (the teacher and LIFT-Net are
    large: tests that need neither never pay for them)."""

    def __init__(self, shards: Shards, folder: Path) -> None:
        super().__init__()
        self.shards, self.folder = shards, folder

    def __missing__(self, job: str) -> Path:
        seed = ("teacher", "student", "normal", "motion").index(job)
        self[job] = write_untrained(self.folder / job, job, self.shards, seed=seed)
        return self[job]


@pytest.fixture(scope="package")
def trained(shards: Shards, tmp_path_factory: pytest.TempPathFactory) -> Models:
    """job -> a model folder as ``har train`` writes it (random weights)."""
    return Models(shards, tmp_path_factory.mktemp("inference-models"))
