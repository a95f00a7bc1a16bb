"""Augmentations: consistent across a clip's frames, flow-aware, CutMix label mixing."""

from __future__ import annotations

import pytest
import torch

from components.training.augment import (
    ClipAugParams,
    affine,
    apply_clip_params,
    colour_jitter,
    cutmix,
    hflip,
    sample_clip_params,
)
from components.training.config import AugmentConfig


def _clip(frames: int = 4, channels: int = 3, size: int = 8) -> torch.Tensor:
    return torch.rand(frames, channels, size, size, generator=torch.Generator().manual_seed(1))


def test_flip_mirrors_every_frame() -> None:
    clip = _clip()
    out = hflip(clip)
    torch.testing.assert_close(out, clip.flip(-1))


def test_flip_of_flow_negates_x_only() -> None:
    flow = _clip(channels=2)
    out = hflip(flow, is_flow=True)
    torch.testing.assert_close(out[:, 0], 1.0 - flow[:, 0].flip(-1))
    torch.testing.assert_close(out[:, 1], flow[:, 1].flip(-1))


def test_colour_jitter_uses_one_factor_for_all_frames() -> None:
    frame = torch.rand(1, 3, 8, 8) * 0.5
    clip = frame.repeat(4, 1, 1, 1)
    out = colour_jitter(clip, 1.3, 0.8, 1.2)
    for t in range(1, 4):
        torch.testing.assert_close(out[t], out[0])
    assert out.min() >= 0 and out.max() <= 1
    assert not torch.allclose(out, clip)


def test_identity_affine_keeps_the_clip() -> None:
    clip = _clip()
    torch.testing.assert_close(affine(clip, 0.0, 0.0, 0.0, 1.0), clip, atol=1e-5, rtol=0)


def test_affine_translation_moves_content() -> None:
    clip = torch.zeros(1, 1, 8, 8)
    clip[..., 2] = 1.0  # a vertical line at x = 2
    moved = affine(clip, 0.0, 0.25, 0.0, 1.0)  # a quarter of the width to the right
    assert int(moved[0, 0, 4].argmax()) == 4


def test_flow_affine_is_translation_only() -> None:
    flow = _clip(channels=2)
    params = ClipAugParams(affine=(30.0, 0.0, 0.0, 1.5))
    torch.testing.assert_close(apply_clip_params(flow, params, is_flow=True), flow,
                               atol=1e-5, rtol=0)


def test_frame_shuffle_permutes_frames() -> None:
    clip = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 3, 2, 2)
    out = apply_clip_params(clip, ClipAugParams(permutation=(2, 0, 3, 1)))
    assert out[:, 0, 0, 0].tolist() == [2.0, 0.0, 3.0, 1.0]


def test_sampled_params_are_deterministic_per_generator() -> None:
    cfg = AugmentConfig(flip=0.5, colour_jitter=0.3, affine=1.0, frame_shuffle=1.0)
    a = sample_clip_params(cfg, 6, torch.Generator().manual_seed(7))
    b = sample_clip_params(cfg, 6, torch.Generator().manual_seed(7))
    assert a == b
    assert a.affine is not None and a.jitter is not None
    assert sorted(a.permutation or ()) == list(range(6))


def test_all_off_changes_nothing() -> None:
    cfg = AugmentConfig(flip=0.0)
    params = sample_clip_params(cfg, 4, torch.Generator().manual_seed(0))
    clip = _clip()
    torch.testing.assert_close(apply_clip_params(clip, params), clip)


def test_cutmix_mixes_inputs_consistently_and_weights_labels_by_area() -> None:
    main = torch.zeros(4, 3, 2, 8, 8)
    for b in range(4):
        main[b] = b
    images = main[:, 0].clone()
    labels = torch.tensor([0, 1, 2, 3])
    (mixed_main, mixed_images), targets = cutmix(
        (main, images), labels, alpha=1.0, gen=torch.Generator().manual_seed(3))
    pasted = (mixed_main != main).any(dim=(1, 2))  # (B, H, W) where a partner was pasted
    torch.testing.assert_close(mixed_images, mixed_main[:, 0])
    area = 1.0 - targets.lam
    for b in range(4):
        if targets.y_b[b] != labels[b]:
            assert pasted[b].float().mean().item() == pytest.approx(area)
    assert 0.0 <= targets.lam <= 1.0
    assert sorted(targets.y_b.tolist()) == [0, 1, 2, 3]


def test_config_rejects_bad_probabilities() -> None:
    with pytest.raises(ValueError, match="flip"):
        AugmentConfig(flip=1.5)
    with pytest.raises(ValueError, match="affine_scale"):
        AugmentConfig(affine_scale=(1.2, 0.9))
