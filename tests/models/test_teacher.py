"""The R(2+1)D / R3D teacher: shapes, h1, input channels, trunk weights."""

from __future__ import annotations

import pytest
import torch

from components.models import VideoTeacher, VideoTrunk, create_model


@pytest.mark.parametrize("arch", ["r2plus1d_18", "r3d_18"])
@pytest.mark.parametrize("channels", [3, 2])
@pytest.mark.parametrize("frames", [4, 5])
def test_teacher_returns_logits_and_h1(arch: str, channels: int, frames: int) -> None:
    model = create_model(arch, num_classes=5, in_channels=channels).eval()
    clip = torch.randn(2, channels, frames, 32, 32)
    with torch.no_grad():
        logits, h1 = model(clip)
    assert logits.shape == (2, 5)
    assert h1.shape == (2, 512)
    assert torch.isfinite(logits).all() and torch.isfinite(h1).all()


def test_h1_is_the_pooled_vector_the_classifier_reads() -> None:
    model = VideoTeacher(num_classes=4).eval()
    clip = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        logits, h1 = model(clip)
        pooled = model.features(clip).mean(dim=(2, 3, 4))
    torch.testing.assert_close(h1, pooled)
    torch.testing.assert_close(logits, model.fc(h1))


def test_trunk_shapes_follow_torchvision_downsampling() -> None:
    trunk = VideoTrunk("r2plus1d_18").eval()
    with torch.no_grad():
        out = trunk(torch.randn(1, 3, 16, 64, 64))
    assert out.shape == (1, 512, 2, 4, 4)  # T/8, H/16, W/16


def test_wrong_channel_count_is_refused() -> None:
    model = VideoTeacher(num_classes=3, in_channels=2)
    with pytest.raises(ValueError, match=r"\(B, 2, T, H, W\)"):
        model(torch.randn(1, 3, 4, 32, 32))


def test_two_channel_stem_and_torchvision_keys() -> None:
    model = VideoTeacher(num_classes=3, in_channels=2)
    state = model.state_dict()
    assert state["stem.0.weight"].shape[1] == 2
    assert {"fc.weight", "fc.bias", "layer4.1.conv2.0.0.weight"} <= set(state)
    trunk = model.trunk_state_dict()
    assert not any(k.startswith("fc.") for k in trunk)
    assert set(trunk) == set(VideoTrunk("r2plus1d_18", 2).state_dict())


def test_eval_forward_is_deterministic() -> None:
    model = create_model("r3d_18", num_classes=3).eval()
    clip = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        first = model(clip)
        second = model(clip)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
