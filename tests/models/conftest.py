"""Shared fixtures for the model tests: tiny sizes, a fixed seed, restored RNG state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

#: A LIFT-Net small enough for a CPU unit test: ViT-Ti/16 narrowed to width 64 at
#: 32x32 (a 2x2 patch grid), 2 ViT blocks, 2 LIFT blocks of width 32.
TINY_LIFT: dict[str, Any] = {
    "num_classes": 3,
    "vit_name": "vit_tiny_patch16_224",
    "img_size": 32,
    "vit_blocks": 2,
    "trainable_vit_blocks": 1,
    "depth": 2,
    "embed_dim": 32,
    "num_heads": 2,
    "vit_kwargs": {"embed_dim": 64, "num_heads": 2},
}


@pytest.fixture(autouse=True)
def _restore_rng_state():
    """Seed torch for each test and restore the global RNG state afterwards."""
    state = torch.get_rng_state()
    torch.manual_seed(0)
    yield
    torch.set_rng_state(state)


@pytest.fixture
def tiny_lift_kwargs() -> dict[str, Any]:
    """A fresh copy of :data:`TINY_LIFT` (tests may change it)."""
    return {**TINY_LIFT, "vit_kwargs": dict(TINY_LIFT["vit_kwargs"])}


def _lift_inputs(
    batch: int = 2,
    frames: int = 4,
    size: int = 32,
    lum_channels: int = 3,
    lum_frames: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    main = torch.randn(batch, frames, 3, size, size)
    lum = torch.randn(batch, lum_channels, lum_frames or frames, size, size)
    return main, lum


@pytest.fixture
def lift_inputs() -> Callable[..., tuple[torch.Tensor, torch.Tensor]]:
    """Factory: ``lift_inputs(batch=2, frames=4, size=32, lum_channels=3, lum_frames=None)``
    -> (main (B, T, 3, H, W), luminous (B, C, T_l, H, W)) random float32."""
    return _lift_inputs
