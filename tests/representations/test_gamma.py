"""Gamma intensity correction: lookup table, fixed and adaptive gamma."""

from __future__ import annotations

import math

import numpy as np
import pytest

from components.representations import (
    RepresentationError,
    adaptive_gamma,
    gamma_correct,
    gamma_lut,
    mean_luminance,
)


@pytest.fixture
def dark_clip() -> np.ndarray:
    """A dark RGB clip: values 0..59 (mean luminance about 0.12)."""
    return np.random.default_rng(0).integers(0, 60, (6, 12, 16, 3), dtype=np.uint8)


@pytest.mark.parametrize("gamma", [0.25, 0.5, 1.0, 1.7, 2.2, 4.0, 9.5])
def test_lut_matches_formula(gamma):
    lut = gamma_lut(gamma)
    assert lut.shape == (256,) and lut.dtype == np.uint8
    for i in range(256):
        expected = 255.0 * (i / 255.0) ** (1.0 / gamma)
        assert abs(int(lut[i]) - expected) <= 0.5 + 1e-9, i
    assert lut[0] == 0 and lut[255] == 255
    assert np.all(np.diff(lut.astype(int)) >= 0)


def test_lut_hand_computed():
    lut = gamma_lut(2.0)
    assert lut[64] == 128  # 255 * sqrt(64 / 255) = 127.75
    assert lut[1] == 16  # 255 * sqrt(1 / 255) = 15.97
    np.testing.assert_array_equal(gamma_lut(1.0), np.arange(256))


def test_gamma_above_one_brightens_below_one_darkens():
    levels = np.arange(256)
    assert np.all(gamma_lut(2.0).astype(int) >= levels)
    assert np.all(gamma_lut(0.5).astype(int) <= levels)


def test_gamma_correct_applies_lut(dark_clip):
    out = gamma_correct(dark_clip, 2.5)
    assert out.shape == dark_clip.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out, gamma_lut(2.5)[dark_clip])
    assert not np.shares_memory(out, dark_clip)


def test_gamma_correct_non_contiguous_and_grey():
    frames = np.random.default_rng(3).integers(0, 256, (3, 8, 9, 3), dtype=np.uint8)
    view = frames[:, :, ::2, :1]
    np.testing.assert_array_equal(gamma_correct(view, 3.0), gamma_lut(3.0)[view])


def test_mean_luminance_uses_bt601_weights():
    red = np.zeros((1, 2, 2, 3), np.uint8)
    red[..., 0] = 255
    assert mean_luminance(red) == pytest.approx(0.299)
    grey = np.full((2, 2, 2, 1), 51, np.uint8)
    assert mean_luminance(grey) == pytest.approx(0.2)


@pytest.mark.parametrize("target", [0.3, 0.5, 0.7])
def test_auto_gamma_reaches_target_mean(dark_clip, target):
    g = adaptive_gamma(dark_clip, target)
    assert g > 1.0
    out = gamma_correct(dark_clip, "auto", target_mean=target)
    np.testing.assert_array_equal(out, gamma_correct(dark_clip, g))
    # the lookup table rounds each value by at most half a grey level
    assert abs(mean_luminance(out) - target) <= 0.5 / 255 + 1e-6


def test_auto_gamma_matches_closed_form_on_single_level():
    # one grey level x: x ** (1 / g) = target  ->  g = log(x) / log(target)
    frames = np.full((2, 4, 4, 3), 40, np.uint8)
    g = adaptive_gamma(frames, 0.5)
    assert g == pytest.approx(math.log(40 / 255) / math.log(0.5), rel=1e-9)


def test_auto_gamma_darkens_bright_clips_and_is_deterministic():
    bright = np.random.default_rng(4).integers(180, 256, (4, 8, 8, 3), dtype=np.uint8)
    g = adaptive_gamma(bright, 0.5)
    assert g < 1.0
    assert adaptive_gamma(bright, 0.5) == g


def test_auto_gamma_falls_back_to_bounds():
    black = np.zeros((2, 4, 4, 3), np.uint8)
    assert adaptive_gamma(black, 0.5, gamma_bounds=(0.2, 6.0)) == 6.0
    np.testing.assert_array_equal(gamma_correct(black, "auto"), black)
    white = np.full((2, 4, 4, 3), 255, np.uint8)
    assert adaptive_gamma(white, 0.5, gamma_bounds=(0.2, 6.0)) == 0.2


def test_auto_gamma_frame_step(dark_clip):
    clip = dark_clip.copy()
    clip[1::2] = 0  # odd frames black: skipping them changes the estimate
    assert adaptive_gamma(clip, 0.5, frame_step=2) < adaptive_gamma(clip, 0.5)
    assert adaptive_gamma(clip, 0.5, frame_step=2) == adaptive_gamma(clip[::2], 0.5)


@pytest.mark.parametrize("gamma", [0, -1.0, float("nan"), float("inf"), "bright", True])
def test_bad_gamma(dark_clip, gamma):
    with pytest.raises(RepresentationError, match="gamma"):
        gamma_correct(dark_clip, gamma)


@pytest.mark.parametrize("target", [0.0, 1.0, -0.2, 3])
def test_bad_target(dark_clip, target):
    with pytest.raises(RepresentationError, match="target_mean"):
        gamma_correct(dark_clip, "auto", target_mean=target)


def test_empty_clip_is_an_error():
    with pytest.raises(RepresentationError, match="empty clip"):
        gamma_correct(np.zeros((0, 4, 4, 3), np.uint8), 2.0)
