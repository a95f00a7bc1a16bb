"""Clip augmentations: consistent across a clip's frames, flow-aware."""

from __future__ import annotations

import pytest
import torch

from components.jobs.augment import (
    ClipAugParams,
    affine,
    apply_clip_params,
    colour_jitter,
    hflip,
    sample_clip_params,
)
from components.jobs.config import AugmentConfig


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


def test_config_rejects_bad_probabilities() -> None:
    with pytest.raises(ValueError, match="flip"):
        AugmentConfig(flip=1.5)
    with pytest.raises(ValueError, match="affine_scale"):
        AugmentConfig(affine_scale=(1.2, 0.9))


DISTORTIONS = AugmentConfig(flip=0.0, optical_distortion=1.0, elastic=1.0, rain=1.0)


def _static_clip(frames: int = 4, size: int = 24) -> torch.Tensor:
    frame = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(2))
    return frame.expand(frames, 3, size, size).contiguous()


def test_the_papers_distortions_draw_once_per_clip() -> None:
    params = sample_clip_params(DISTORTIONS, 4, torch.Generator().manual_seed(0))
    assert params.optical is not None and abs(params.optical) <= 0.2
    assert params.elastic_seed is not None and params.rain_seed is not None
    clip = _static_clip()
    out = apply_clip_params(clip, params)
    assert not torch.allclose(out, clip)
    for t in range(1, 4):  # a still clip stays still: every frame warped and rained alike
        torch.testing.assert_close(out[t], out[0])
    again = apply_clip_params(clip, sample_clip_params(DISTORTIONS, 4,
                                                       torch.Generator().manual_seed(0)))
    torch.testing.assert_close(out, again)  # reproducible from the clip's draw


def test_raw_and_luminous_clips_warp_alike_and_only_the_raw_clip_rains() -> None:
    params = sample_clip_params(DISTORTIONS, 4, torch.Generator().manual_seed(3))
    raw = _static_clip()
    lum = raw * 0.5  # another picture of the same scene, pixel for pixel
    warped_raw = apply_clip_params(raw, ClipAugParams(
        optical=params.optical, elastic_seed=params.elastic_seed, strengths=params.strengths))
    warped_lum = apply_clip_params(lum, params, colour=False)  # luminous: no rain
    torch.testing.assert_close(warped_lum, warped_raw * 0.5, rtol=1e-4, atol=1e-5)
    rained = apply_clip_params(raw, params)
    assert not torch.allclose(rained, warped_raw)


def test_flow_is_never_distorted() -> None:
    params = sample_clip_params(DISTORTIONS, 4, torch.Generator().manual_seed(4))
    flow = _clip(channels=2, size=24)
    torch.testing.assert_close(apply_clip_params(flow, params, is_flow=True), flow)


def test_the_distortions_are_drawn_after_the_other_choices() -> None:
    # Turning them on changes no other draw, and a config without them draws nothing
    # more than it did before they existed: demo runs stay bit-identical.
    base = AugmentConfig(flip=0.5, colour_jitter=0.2, affine=0.5, frame_shuffle=0.5)
    with_them = AugmentConfig(flip=0.5, colour_jitter=0.2, affine=0.5, frame_shuffle=0.5,
                              optical_distortion=1.0, elastic=1.0, rain=1.0)
    for seed in range(5):
        a = sample_clip_params(base, 4, torch.Generator().manual_seed(seed))
        b = sample_clip_params(with_them, 4, torch.Generator().manual_seed(seed))
        assert (a.flip, a.jitter, a.affine, a.permutation) == \
            (b.flip, b.jitter, b.affine, b.permutation)
        assert a.optical is a.elastic_seed is a.rain_seed is None
    with pytest.raises(ValueError, match="rain_density"):
        AugmentConfig(rain=0.5, rain_density=(0.5, 0.1))
