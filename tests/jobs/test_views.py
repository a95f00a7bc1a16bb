"""Test-time crops: where they are, what they do to frames and to flow."""

from __future__ import annotations

import pytest
import torch

from components.jobs.views import crop_boxes, crop_view


def test_three_crops_of_a_square_frame_run_left_to_right_at_seven_eighths() -> None:
    assert crop_boxes(32, 32, 3) == [(2, 0, 28), (2, 2, 28), (2, 4, 28)]
    assert crop_boxes(32, 32, 1) == [(0, 0, 32)]


def test_crops_run_along_the_longer_side() -> None:
    assert crop_boxes(240, 320, 3) == [(15, 0, 210), (15, 55, 210), (15, 110, 210)]
    assert crop_boxes(320, 240, 3) == [(0, 15, 210), (55, 15, 210), (110, 15, 210)]
    assert crop_boxes(240, 320, 1) == [(0, 40, 240)]  # the centred square


def test_bad_counts_and_scales_are_refused() -> None:
    with pytest.raises(ValueError, match="crops must be >= 1"):
        crop_boxes(32, 32, 0)
    with pytest.raises(ValueError, match="crop scale"):
        crop_boxes(32, 32, 3, scale=1.5)


def test_one_crop_of_a_square_clip_is_the_clip() -> None:
    clip = torch.rand(2, 3, 16, 16)
    assert crop_view(clip, 0, 1) is clip


def test_a_crop_keeps_the_size_and_zooms_into_its_side_of_the_frame() -> None:
    # Left half 0, right half 1: the left crop is darker than the right one.
    clip = torch.zeros(1, 3, 32, 32)
    clip[..., 16:] = 1.0
    left, centre, right = (crop_view(clip, i, 3) for i in range(3))
    assert left.shape == right.shape == clip.shape
    assert left.mean() < centre.mean() < right.mean()
    assert torch.equal(left[..., :8], torch.zeros_like(left[..., :8]))


def test_flow_vectors_grow_with_the_zoom_and_stay_in_range() -> None:
    flow = torch.full((1, 2, 32, 32), 0.5)
    flow[:, 0] = 0.6  # a uniform motion to the right, 0.1 from still
    flow[:, 1] = 0.99
    out = crop_view(flow, 1, 3, is_flow=True)
    assert torch.allclose(out[:, 0], torch.full_like(out[:, 0], 0.5 + 0.1 * 32 / 28))
    assert out.max() <= 1.0
    still = crop_view(torch.full((1, 2, 32, 32), 0.5), 0, 3, is_flow=True)
    assert torch.allclose(still, torch.full_like(still, 0.5))
