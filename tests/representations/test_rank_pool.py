"""Approximate rank pooling (dynamic images)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from components.representations import (
    RepresentationError,
    rank_pool_coefficients,
    rank_pooled_images,
)


def _alpha_exact(t: int) -> list[Fraction]:
    """alpha_t = 2(T - t + 1) - (T + 1)(H_T - H_{t-1}) in exact arithmetic."""
    h = [Fraction(0)]
    for i in range(1, t + 1):
        h.append(h[-1] + Fraction(1, i))
    return [2 * (t - i + 1) - (t + 1) * (h[t] - h[i - 1]) for i in range(1, t + 1)]


def test_coefficients_hand_computed():
    np.testing.assert_allclose(rank_pool_coefficients(1), [0.0])
    np.testing.assert_allclose(rank_pool_coefficients(2), [-0.5, 0.5])
    np.testing.assert_allclose(rank_pool_coefficients(3), [-4 / 3, 2 / 3, 2 / 3])


@pytest.mark.parametrize("t", [4, 10, 25])
def test_coefficients_match_exact_formula_and_sum_to_zero(t):
    alpha = rank_pool_coefficients(t)
    np.testing.assert_allclose(alpha, [float(a) for a in _alpha_exact(t)], atol=1e-12)
    assert abs(alpha.sum()) < 1e-9
    assert alpha[-1] > 0 > alpha[0]  # later frames weigh positively


def test_dynamic_image_hand_computed():
    # three pixels over T = 3 frames; alpha = (-4/3, 2/3, 2/3)
    frames = np.zeros((3, 1, 3, 1), np.uint8)
    frames[:, 0, 0, 0] = [0, 0, 3]  # d = 2/3 * 3 = 2 (max)
    frames[:, 0, 1, 0] = [3, 0, 0]  # d = -4/3 * 3 = -4 (min)
    frames[:, 0, 2, 0] = [5, 5, 5]  # d = 0
    out = rank_pooled_images(frames, window=3, stride=3)
    assert out.shape == (1, 1, 3, 1) and out.dtype == np.uint8
    # min-max: (d + 4) / 6 * 255 -> 255, 0, 170
    assert out[0, 0, :, 0].tolist() == [255, 0, 170]


def test_direction_of_change_is_encoded():
    t = 8
    frames = np.zeros((t, 1, 2, 1), np.uint8)
    frames[:, 0, 0, 0] = np.linspace(0, 200, t).astype(np.uint8)  # brightening
    frames[:, 0, 1, 0] = np.linspace(200, 0, t).astype(np.uint8)  # darkening
    out = rank_pooled_images(frames, window=t, stride=t)
    assert out[0, 0, 0, 0] == 255 and out[0, 0, 1, 0] == 0
    reversed_out = rank_pooled_images(frames[::-1], window=t, stride=t)
    assert reversed_out[0, 0, 0, 0] == 0 and reversed_out[0, 0, 1, 0] == 255


def test_windows_and_short_clips():
    frames = np.random.default_rng(0).integers(0, 256, (10, 4, 5, 3), dtype=np.uint8)
    assert rank_pooled_images(frames, window=4, stride=3).shape == (3, 4, 5, 3)
    assert rank_pooled_images(frames, window=5, stride=5).shape == (2, 4, 5, 3)
    assert rank_pooled_images(frames, window=10, stride=1).shape == (1, 4, 5, 3)
    short = rank_pooled_images(frames[:3], window=10, stride=10)
    np.testing.assert_array_equal(short, rank_pooled_images(frames[:3], window=3, stride=3))
    second = rank_pooled_images(frames, window=4, stride=3)[1]
    np.testing.assert_array_equal(second, rank_pooled_images(frames[3:7], 4, 4)[0])


def test_min_max_rescaling_spans_full_range():
    frames = np.random.default_rng(1).integers(0, 256, (6, 8, 8, 3), dtype=np.uint8)
    out = rank_pooled_images(frames, window=6, stride=6)
    assert out.min() == 0 and out.max() == 255


@pytest.mark.parametrize("t", [1, 2, 10, 300])
def test_constant_image_gives_zeros(t):
    frame = np.random.default_rng(2).integers(0, 256, (1, 6, 6, 3), dtype=np.uint8)
    frames = np.repeat(frame, t, axis=0)  # static: the dynamic image is exactly 0
    out = rank_pooled_images(frames, window=t, stride=t)
    assert out.shape == (1, 6, 6, 3) and not out.any()


def test_errors():
    with pytest.raises(RepresentationError, match="empty clip"):
        rank_pooled_images(np.zeros((0, 2, 2, 3), np.uint8), 4, 4)
    with pytest.raises(RepresentationError, match="window"):
        rank_pooled_images(np.zeros((4, 2, 2, 3), np.uint8), 0, 4)
    with pytest.raises(RepresentationError, match="stride"):
        rank_pooled_images(np.zeros((4, 2, 2, 3), np.uint8), 2, 0)
    with pytest.raises(RepresentationError, match="uint8"):
        rank_pooled_images(np.zeros((4, 2, 2, 3), np.int16), 2, 2)
