from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from components.data.sampling import ClipSampling
from components.data.video import VideoError, decode_frames, probe
from tests.conftest import ramp_frames


def _truncate(path: Path, keep_fraction: float) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep_fraction)])
    return path


def test_decoded_frames_are_a_prefix_of_what_was_written(write_test_video):
    written = ramp_frames(12)
    result = decode_frames(write_test_video(num_frames=12))
    assert result.ok
    # Edge-frame counts vary with FFmpeg versions: assert a prefix, not an exact count.
    assert 1 <= len(result.frames) <= 12
    assert result.frames.dtype == np.uint8 and result.frames.shape[1:] == (32, 48, 3)
    means = result.frames.reshape(len(result.frames), -1).mean(axis=1)
    expected = written[: len(means)].reshape(len(means), -1).mean(axis=1)
    np.testing.assert_allclose(means, expected, atol=4.0)
    assert result.indices == list(range(len(means)))


def test_decode_resizes_and_converts_channels(write_test_video):
    path = write_test_video()
    rgb = decode_frames(path, size=(16, 24))
    gray = decode_frames(path, size=(16, 24), channels=1)
    assert rgb.frames.shape[1:] == (16, 24, 3)
    assert gray.frames.shape[1:] == (16, 24, 1)
    # Neutral grey frames: luminance equals each RGB channel (to rounding).
    np.testing.assert_allclose(gray.frames[..., 0].mean(), rgb.frames.mean(), atol=2.0)


@pytest.mark.parametrize(
    "sampling, expected",
    [
        (ClipSampling("stride", clip_len=4, stride=2), [2, 4, 6, 8]),
        (ClipSampling("segments", clip_len=3), [2, 6, 10]),
    ],
)
def test_decode_with_sampling_keeps_the_requested_frames(write_test_video, sampling, expected):
    result = decode_frames(write_test_video(num_frames=12), sampling=sampling, num_frames_hint=12)
    assert result.indices == expected
    means = result.frames.reshape(len(expected), -1).mean(axis=1)
    written = ramp_frames(12).reshape(12, -1).mean(axis=1)
    np.testing.assert_allclose(means, written[expected], atol=4.0)


@pytest.mark.parametrize("faststart", [True, False])
def test_truncated_file_is_reported_not_raised(write_test_video, faststart):
    path = _truncate(write_test_video(num_frames=40, faststart=faststart), 0.5)
    result = decode_frames(path)
    assert not result.ok
    assert len(result.frames) < 40
    with pytest.raises(VideoError, match="truncated|corrupt|not a readable"):
        probe(path)
