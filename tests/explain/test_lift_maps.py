"""LIFT-Net's per-frame maps: shapes, range, and that they come from the model."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from components.explain import lift_net_maps
from components.models.lift_net import LiftNet

TINY: dict[str, Any] = {
    "vit_name": "vit_tiny_patch16_224", "img_size": 32, "vit_blocks": 2, "depth": 2,
    "embed_dim": 32, "num_heads": 2, "luminous_width": 8,
    "vit_kwargs": {"embed_dim": 32, "num_heads": 2, "patch_size": 8},
}


@pytest.fixture(scope="module")
def model() -> LiftNet:
    torch.manual_seed(0)
    return LiftNet(num_classes=3, **TINY).eval()


def test_maps_are_finite_per_frame_and_in_unit_range(model: LiftNet) -> None:
    torch.manual_seed(1)
    raw, lum = torch.randn(5, 3, 32, 32), torch.randn(3, 5, 32, 32)
    maps = lift_net_maps(model, raw, lum)
    assert set(maps) == {"cross_attention", "fourier"}
    for name, m in maps.items():
        assert m.shape == (5, 32, 32), name
        assert torch.isfinite(m).all(), name
        assert float(m.min()) >= 0.0 and float(m.max()) == pytest.approx(1.0), name
        assert float(m.std()) > 0, name  # not a flat picture
    # the hooks are gone and the model still gives the same logits
    assert not any(mod._forward_hooks or mod._forward_pre_hooks for mod in model.modules())


def test_maps_follow_the_frames(model: LiftNet) -> None:
    torch.manual_seed(2)
    raw, lum = torch.randn(1, 4, 3, 32, 32), torch.randn(1, 3, 4, 32, 32)
    first = lift_net_maps(model, raw, lum)
    flipped = lift_net_maps(model, raw.flip(-1), lum.flip(-1))
    changed = lift_net_maps(model, torch.randn(1, 4, 3, 32, 32), lum)
    for name in first:
        assert not torch.allclose(first[name], changed[name]), name
        assert not torch.allclose(first[name], flipped[name]), name


def test_one_clip_only(model: LiftNet) -> None:
    with pytest.raises(ValueError, match="one clip"):
        lift_net_maps(model, torch.randn(2, 4, 3, 32, 32), torch.randn(2, 3, 4, 32, 32))
