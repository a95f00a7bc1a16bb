from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from components.data.synthetic import (
    CLASS_MOTIONS,
    SynthConfig,
    VideoSpec,
    _ranges,
    render_video,
    sample_pose,
    split_lists,
    video_specs,
)


def _digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_dataset_is_byte_for_byte_deterministic(tmp_path, tiny_synth_config):
    from components.data.synthetic import write_dataset
    from components.data.video import write_video

    def writer(p, f, fps, crf):
        write_video(p, f, fps=fps, crf=crf)

    digests = []
    for name in ("a", "b"):
        root = tmp_path / name
        root.mkdir()
        write_dataset(tiny_synth_config, root, writer)
        digests.append(_digest(root))
    assert digests[0] == digests[1]
    assert sum(k.endswith(".mp4") for k in digests[0]) == len(video_specs(tiny_synth_config))
    other = tmp_path / "c"
    other.mkdir()
    write_dataset(replace(tiny_synth_config, seed=4), other, writer)
    assert _digest(other) != digests[0]


def test_ucf101_layout_and_lists(tiny_synth_config):
    class_ind, train, test = split_lists(tiny_synth_config)
    assert class_ind.splitlines()[0] == "1 Rise"
    first_train = train.splitlines()[0]
    assert first_train == "Rise/v_Rise_g02_c01.mp4 1"
    assert test.splitlines()[0] == "Rise/v_Rise_g01_c01.mp4"  # no label column, as in UCF101
    n_videos = len(video_specs(tiny_synth_config))
    assert len(train.splitlines()) + len(test.splitlines()) == n_videos


@pytest.mark.parametrize("moving", ["x", "y", "scale", "angle"])
def test_opposite_classes_sweep_the_same_values_in_reverse(moving):
    cfg = SynthConfig()
    forward = sample_pose((moving, +1), 20, _ranges(cfg), np.random.default_rng(1))
    backward = sample_pose((moving, -1), 20, _ranges(cfg), np.random.default_rng(1))
    np.testing.assert_allclose(getattr(forward, moving), getattr(backward, moving)[::-1])


def _video_stats(cfg: SynthConfig, label: str) -> np.ndarray:
    """Per video: the mean over frames of each frame's pixel mean and std, (videos, 2)."""
    stats = []
    for g in range(1, cfg.groups + 1):
        for c in range(1, cfg.clips_per_group + 1):
            frames = render_video(cfg, VideoSpec(label, g, c)).astype(np.float64)
            per_frame = np.stack([frames.mean(axis=(1, 2, 3)), frames.std(axis=(1, 2, 3))], 1)
            stats.append(per_frame.mean(axis=0))
    return np.stack(stats)


@pytest.mark.parametrize("lighting", ["daylight", "dark", "infrared"])
def test_classes_are_indistinguishable_frame_by_frame(lighting):
    """Same scene, camera and actor-pose distribution in every class: per-frame pixel
    mean and standard deviation agree across classes up to sampling noise (a z-test
    against the pooled mean; a class with, say, a bigger actor would fail it)."""
    cfg = SynthConfig(classes=tuple(CLASS_MOTIONS), groups=4, clips_per_group=4,
                      test_groups=1, num_frames=16, height=48, width=64, lighting=lighting)
    per_class = {label: _video_stats(cfg, label) for label in cfg.classes}
    pooled = np.concatenate(list(per_class.values()))
    for label, stats in per_class.items():
        standard_error = pooled.std(axis=0) / np.sqrt(len(stats))
        z = np.abs(stats.mean(axis=0) - pooled.mean(axis=0)) / standard_error
        assert np.all(z < 4.0), (label, z)


def _actor_track(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row centroid and area of the warm (bright) actor in infrared frames."""
    mask = frames[..., 0] > 150
    rows = np.arange(frames.shape[1])[None, :, None]
    area = mask.sum(axis=(1, 2))
    return (mask * rows).sum(axis=(1, 2)) / np.maximum(area, 1), area


def test_motion_separates_the_classes():
    cfg = SynthConfig(groups=3, clips_per_group=2, test_groups=1, lighting="infrared")
    for g in range(1, 4):
        for c in range(1, 3):
            rise_y, _ = _actor_track(render_video(cfg, VideoSpec("Rise", g, c)))
            fall_y, _ = _actor_track(render_video(cfg, VideoSpec("Fall", g, c)))
            _, approach_area = _actor_track(render_video(cfg, VideoSpec("Approach", g, c)))
            _, recede_area = _actor_track(render_video(cfg, VideoSpec("Recede", g, c)))
            assert rise_y[-1] < rise_y[0] and fall_y[-1] > fall_y[0]
            assert approach_area[-1] > approach_area[0] > 0
            assert recede_area[-1] < recede_area[0]


def test_dark_is_dark_and_infrared_is_single_channel():
    spec = VideoSpec("Rise", 1, 1)
    day = render_video(SynthConfig(lighting="daylight"), spec)
    dark = render_video(SynthConfig(lighting="dark"), spec)
    infrared = render_video(SynthConfig(lighting="infrared"), spec)
    assert dark.mean() < 0.1 * day.mean()
    assert dark.max() < 40
    assert np.array_equal(infrared[..., 0], infrared[..., 1])
    assert np.array_equal(infrared[..., 0], infrared[..., 2])


def test_config_refuses_nonsense():
    with pytest.raises(ValueError, match="unknown classes"):
        SynthConfig(classes=("Rise", "Dance"))
    with pytest.raises(ValueError, match="test_groups"):
        SynthConfig(groups=2, test_groups=2)
    with pytest.raises(ValueError, match="even"):
        SynthConfig(height=47)
