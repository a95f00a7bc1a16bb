from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from components.data.synthetic import (
    CLASS_MOTIONS,
    DEFAULT_CLASSES,
    Pose,
    SynthConfig,
    VideoSpec,
    _ranges,
    render_clip,
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


def test_motion_separates_the_classes():
    """Per-frame steps of the moving coordinate, taken on the torus (nearest image),
    point the class's way; bounded classes sweep monotonically."""
    cfg = SynthConfig()
    ranges = _ranges(cfg)
    period = {"x": cfg.width, "y": cfg.height}
    for label in cfg.classes:
        name, direction = CLASS_MOTIONS[label]
        for seed in range(20):
            pose = sample_pose((name, direction), cfg.num_frames, ranges,
                               np.random.default_rng(seed))
            steps = np.diff(getattr(pose, name))
            steps = (steps + period[name] / 2) % period[name] - period[name] / 2
            assert np.all(np.sign(steps) == direction), (label, seed, steps)
    for label in ("Approach", "Recede"):
        pose = sample_pose(CLASS_MOTIONS[label], 16, ranges, np.random.default_rng(0))
        assert np.all(np.sign(np.diff(pose.scale)) == CLASS_MOTIONS[label][1])


@pytest.mark.parametrize("label", DEFAULT_CLASSES)
def test_every_frame_index_carries_no_class_information(label: str):
    """The default classes' pose at the first and the last frame is uniform over the
    frame for every class (the moving coordinate wraps), so even a frame whose time
    is known, like the MEI normal stream's late base frames, cannot tell them apart."""
    cfg = SynthConfig()
    ranges = _ranges(cfg)
    rng = np.random.default_rng(1)
    poses = [sample_pose(CLASS_MOTIONS[label], cfg.num_frames, ranges, rng) for _ in range(4000)]
    for t in (0, cfg.num_frames - 1):
        for name, size in (("x", cfg.width), ("y", cfg.height)):
            values = np.array([getattr(p, name)[t] for p in poses])
            shares = np.histogram(values, bins=4, range=(0, size))[0] / len(values)
            assert np.all(np.abs(shares - 0.25) < 0.03), (label, name, t, shares)


def test_an_actor_crossing_an_edge_is_drawn_at_both_edges():
    cfg = SynthConfig(height=64, width=64)
    pose = Pose(x=np.array([32.0]), y=np.array([0.0]), scale=np.array([30.0]),
                angle=np.array([0.0]), gait=np.array([0.0]))
    bg = np.zeros((64, 64, 3), np.float32)
    _, alpha = render_clip(pose, bg, np.ones(3, np.float32))
    assert alpha[0, :8].sum() > 0 and alpha[0, -8:].sum() > 0  # top and bottom rows
    assert alpha[0, 24:40].sum() == 0  # nothing in the middle
    assert cfg.width == 64


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
