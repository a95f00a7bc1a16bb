"""Explain fixtures: a represented synthetic dataset and untrained model folders."""

from __future__ import annotations

import pytest
from inference._support import Shards, synthetic_shards

#: Dark videos, 4 classes, 2 groups: 8 short videos (one is explained).
DATASET = {"groups": 2, "clips_per_group": 1, "test_groups": 1, "num_frames": 10,
           "height": 48, "width": 64, "lighting": "dark", "seed": 5}


@pytest.fixture(scope="package")
def shards(tmp_path_factory: pytest.TempPathFactory) -> Shards:
    """frames, gamma and mei shards (32x32) of a small synthetic dataset."""
    return synthetic_shards(tmp_path_factory.mktemp("explain-data"), **DATASET)
