from __future__ import annotations

import numpy as np
import pytest

from components.data.sampling import ClipSampling, frame_indices


def test_all_keeps_every_frame():
    assert frame_indices(5, ClipSampling("all")) == [0, 1, 2, 3, 4]


def test_stride_is_centred_at_test_time_and_random_in_training():
    sampling = ClipSampling("stride", clip_len=3, stride=2)
    assert frame_indices(11, sampling) == [3, 5, 7]  # span 5, slack 6, start 3
    starts = {frame_indices(11, sampling, np.random.default_rng(s))[0] for s in range(50)}
    assert starts == set(range(7))


def test_stride_repeats_the_last_frame_of_short_videos():
    assert frame_indices(3, ClipSampling("stride", clip_len=5)) == [0, 1, 2, 2, 2]


def test_segments_take_middles_or_random_members():
    sampling = ClipSampling("segments", clip_len=4)
    assert frame_indices(8, sampling) == [1, 3, 5, 7]
    for seed in range(20):
        picks = frame_indices(8, sampling, np.random.default_rng(seed))
        assert all(2 * k <= p <= 2 * k + 1 for k, p in enumerate(picks))


def test_segments_on_short_video_reuse_frames():
    picks = frame_indices(2, ClipSampling("segments", clip_len=4))
    assert len(picks) == 4 and set(picks) <= {0, 1} and picks == sorted(picks)


def test_invalid_sampling_is_refused():
    with pytest.raises(ValueError):
        ClipSampling("stride", clip_len=0)
    assert frame_indices(0, ClipSampling("all")) == []
