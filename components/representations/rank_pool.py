"""Dynamic images by approximate rank pooling (Bilen et al., CVPR 2016).

A window of ``T`` frames becomes one image ``d = sum_t alpha_t * frame_t`` with

    alpha_t = 2 (T - t + 1) - (T + 1) (H_T - H_{t-1}),   t = 1..T,

``H_t = sum_{i<=t} 1 / i`` the harmonic numbers (``H_0 = 0``). These coefficients
include the time-varying mean of the paper, so they apply to the raw frames. They sum
to zero, so a static window gives ``d = 0``.
"""

from __future__ import annotations

import numpy as np

from components.representations._checks import as_clip, positive_int, window_starts

#: A pooled image whose range is below this fraction of its largest possible range
#: (``255 * sum |alpha|``) is taken as constant: float rounding noise, not motion.
CONSTANT_TOLERANCE = 1e-9


def rank_pool_coefficients(t: int) -> np.ndarray:
    """Approximate rank pooling coefficients ``alpha_1..alpha_T`` as (T,) float64."""
    t = positive_int(t, "t")
    harmonic = np.concatenate(([0.0], np.cumsum(1.0 / np.arange(1, t + 1))))  # H_0..H_T
    idx = np.arange(1, t + 1)
    return 2.0 * (t - idx + 1) - (t + 1) * (harmonic[t] - harmonic[idx - 1])


def rank_pooled_images(
    frames_thwc_uint8: np.ndarray,
    window: int = 10,
    stride: int = 10,
) -> np.ndarray:
    """Dynamic images of the windows of a clip, rescaled to uint8.

    Windows cover frames ``[k * stride, k * stride + window)`` for every ``k`` whose
    window fits; a clip shorter than ``window`` gives one image over all its frames
    (with the coefficients for its length).

    Rescaling, as in the dynamic-image code: each pooled image (all pixels and
    channels together) is shifted and scaled so that its minimum becomes 0 and its
    maximum 255, ``rint(255 * (d - min) / (max - min))`` (ties to even). An image that
    is constant (range at most :data:`CONSTANT_TOLERANCE` times ``255 * sum |alpha|``,
    for example a static window or a one-frame clip) becomes all zeros.

    Args:
        frames_thwc_uint8: (T, H, W, C) uint8 clip, T >= 1.
        window: Frames per dynamic image.
        stride: Frames between the starts of consecutive windows.

    Returns:
        (K, H, W, C) uint8, K = (T - window) // stride + 1 when T >= window, else 1.

    Raises:
        RepresentationError: an empty clip, a bad shape or dtype, bad window or stride.
    """
    window = positive_int(window, "window")
    stride = positive_int(stride, "stride")
    clip = as_clip(frames_thwc_uint8, name="frames")
    t, h, w, c = clip.shape
    starts, size = window_starts(t, window, stride)
    alpha = rank_pool_coefficients(size)
    tol = CONSTANT_TOLERANCE * 255.0 * float(np.abs(alpha).sum())
    out = np.empty((len(starts), h, w, c), dtype=np.uint8)
    flat_out = out.reshape(len(starts), -1)
    for k, s in enumerate(starts):
        block = clip[s : s + size].reshape(size, -1)
        # float64: the coefficients cancel (sum to 0), and float32 sums of long windows
        # leave rounding noise that min-max scaling would blow up into an image.
        d = np.einsum("t,tp->p", alpha, block, dtype=np.float64, casting="unsafe")
        lo, hi = float(d.min()), float(d.max())
        if hi - lo <= tol:
            flat_out[k] = 0
            continue
        d -= lo
        d *= 255.0 / (hi - lo)
        np.rint(d, out=d)
        np.clip(d, 0, 255, out=d)
        flat_out[k] = d
    return out
