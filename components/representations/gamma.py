"""Gamma Intensity Correction (GIC) for dark video.

``out = 255 * (in / 255) ** (1 / gamma)``, applied through a 256-entry lookup table:
``gamma > 1`` brightens, ``gamma < 1`` darkens, ``gamma == 1`` is the identity. The
adaptive mode picks ``gamma`` per clip so that the clip's mean luminance after
correction reaches a target.
"""

from __future__ import annotations

import math
from typing import Literal

import cv2
import numpy as np

from components.representations._checks import RepresentationError, as_clip, positive_int

#: BT.601 luma weights for RGB frames (the decoder's channel order).
LUMA_WEIGHTS_RGB: tuple[float, float, float] = (0.299, 0.587, 0.114)
#: Default range searched by the adaptive mode.
GAMMA_BOUNDS: tuple[float, float] = (0.1, 10.0)

_LEVELS = np.arange(256, dtype=np.float64) / 255.0


def gamma_lut(gamma: float) -> np.ndarray:
    """The (256,) uint8 lookup table ``rint(255 * (i / 255) ** (1 / gamma))``.

    Rounding is to nearest, ties to even (``np.rint``); 0 maps to 0 and 255 to 255
    for every ``gamma``.
    """
    g = _check_gamma(gamma)
    lut = np.rint(255.0 * _LEVELS ** (1.0 / g))
    return np.clip(lut, 0, 255).astype(np.uint8)


def gamma_correct(
    frames_thwc_uint8: np.ndarray,
    gamma: float | Literal["auto"],
    *,
    target_mean: float = 0.5,
    gamma_bounds: tuple[float, float] = GAMMA_BOUNDS,
    frame_step: int = 1,
) -> np.ndarray:
    """Gamma-correct a clip through a lookup table.

    Args:
        frames_thwc_uint8: (T, H, W, C) uint8 clip (any T >= 1; C = 3 is taken as RGB).
        gamma: A positive number (``> 1`` brightens), or ``"auto"`` to choose it per clip
            with :func:`adaptive_gamma`.
        target_mean: Only for ``"auto"``: the mean luminance to reach, as a fraction of
            255.
        gamma_bounds: Only for ``"auto"``: the range ``gamma`` is searched in.
        frame_step: Only for ``"auto"``: measure the luminance on every
            ``frame_step``-th frame (see :func:`adaptive_gamma`).

    Returns:
        (T, H, W, C) uint8, the same shape as the input (a new array).

    Raises:
        RepresentationError: a bad clip, or a gamma that is not positive and finite.
    """
    clip = as_clip(frames_thwc_uint8, name="frames")
    if isinstance(gamma, str):
        if gamma != "auto":
            raise RepresentationError(f"gamma must be a positive number or 'auto', got {gamma!r}")
        gamma = adaptive_gamma(clip, target_mean, gamma_bounds=gamma_bounds, frame_step=frame_step)
    return apply_lut(clip, gamma_lut(gamma))


def apply_lut(frames: np.ndarray, lut_uint8: np.ndarray) -> np.ndarray:
    """Map every uint8 value of ``frames`` (any shape) through a (256,) uint8 table."""
    lut = np.ascontiguousarray(lut_uint8, dtype=np.uint8).reshape(256)
    src = np.ascontiguousarray(frames)
    if src.size == 0:
        return src.copy()
    if src.dtype != np.uint8:
        raise RepresentationError(f"apply_lut needs uint8 values, got {src.dtype}")
    width = src.shape[-1] * src.shape[-2] if src.ndim >= 2 else src.size
    out = cv2.LUT(src.reshape(-1, width), lut)  # one 2-D single-channel image: fast
    return out.reshape(src.shape)


def adaptive_gamma(
    frames_thwc_uint8: np.ndarray,
    target_mean: float = 0.5,
    *,
    gamma_bounds: tuple[float, float] = GAMMA_BOUNDS,
    frame_step: int = 1,
) -> float:
    """The gamma that brings the clip's mean luminance to ``target_mean``.

    Luminance is BT.601 luma of RGB frames (``0.299 R + 0.587 G + 0.114 B``) for
    C = 3, and the plain mean over channels otherwise. Since luma is linear in the
    channels, the mean luminance after correction is
    ``m(gamma) = sum_i p_i * (i / 255) ** (1 / gamma)``, where ``p_i`` is the
    luma-weighted share of pixel values equal to ``i`` (from one histogram per channel;
    the lookup table's rounding is ignored, so the corrected clip's mean is within
    about half a grey level of the target). ``m`` increases with ``gamma``, and the
    equation ``m(gamma) = target_mean`` is solved by bisection on ``log(gamma)``
    within ``gamma_bounds`` (60 halvings: deterministic and far below a grey level).
    When the target cannot be reached inside the bounds (an all-black clip, say) the
    nearest bound is returned.

    Args:
        frames_thwc_uint8: (T, H, W, C) uint8 clip.
        target_mean: Target mean luminance as a fraction of 255, in (0, 1).
        gamma_bounds: ``(low, high)``, ``0 < low <= high``.
        frame_step: Measure on frames ``0, frame_step, 2 * frame_step, ...`` only. The
            histograms cost about as much as the lookup itself; a step of 2 to 4 halves
            or quarters that and barely moves the estimate. 1 (all frames) by default.

    Returns:
        gamma, a float within ``gamma_bounds``.
    """
    clip = as_clip(frames_thwc_uint8, name="frames")
    clip = clip[:: positive_int(frame_step, "frame_step")]
    if not (isinstance(target_mean, int | float) and 0.0 < float(target_mean) < 1.0):
        raise RepresentationError(f"target_mean must be in (0, 1), got {target_mean!r}")
    lo, hi = (_check_gamma(g) for g in gamma_bounds)
    if lo > hi:
        raise RepresentationError(f"gamma_bounds must be (low, high), got {gamma_bounds!r}")
    p = _luma_histogram(clip)

    def mean_after(g: float) -> float:
        return float(p @ _LEVELS ** (1.0 / g))

    target = float(target_mean)
    if mean_after(lo) >= target:
        return lo
    if mean_after(hi) <= target:
        return hi
    a, b = math.log(lo), math.log(hi)
    for _ in range(60):
        mid = 0.5 * (a + b)
        if mean_after(math.exp(mid)) < target:
            a = mid
        else:
            b = mid
    return math.exp(0.5 * (a + b))


def mean_luminance(frames_thwc_uint8: np.ndarray) -> float:
    """Mean luminance of a clip as a fraction of 255 (the quantity :func:`adaptive_gamma` sets)."""
    clip = as_clip(frames_thwc_uint8, name="frames")
    return float(_luma_histogram(clip) @ _LEVELS)


def _luma_histogram(clip: np.ndarray) -> np.ndarray:
    """(256,) float64 luma-weighted share of each pixel value; sums to 1."""
    t, h, w, c = clip.shape
    weights = LUMA_WEIGHTS_RGB if c == 3 else (1.0 / c,) * c
    img = np.ascontiguousarray(clip).reshape(t * h, w, c)
    p = np.zeros(256, dtype=np.float64)
    for ch, wt in enumerate(weights):
        if c <= 4:  # cv2.calcHist reads the channels of an up-to-4-channel image directly
            hist = cv2.calcHist([img], [ch], None, [256], [0, 256]).ravel().astype(np.float64)
        else:
            hist = np.bincount(img[..., ch].ravel(), minlength=256).astype(np.float64)
        p += wt * hist / hist.sum()
    return p


def _check_gamma(gamma: object) -> float:
    if isinstance(gamma, bool) or not isinstance(gamma, int | float | np.number):
        raise RepresentationError(f"gamma must be a positive number, got {gamma!r}")
    g = float(gamma)
    if not (math.isfinite(g) and g > 0):
        raise RepresentationError(f"gamma must be positive and finite, got {gamma!r}")
    return g
