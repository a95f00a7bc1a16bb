"""Motion Embedded Images (MEI): batches of consecutive frames summed into one image.

Batch ``k`` covers frames ``[k * interval, k * interval + n)``, for every ``k`` whose
batch fits in the clip, so ``K = (T - n) // interval + 1`` images when ``T >= n``. The
normal stream of the two-stream network sees the last frame of each batch (the *base
frame*), whose index is returned alongside the images.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from components.representations._checks import (
    RepresentationError,
    as_clip,
    positive_int,
    window_starts,
)

MEIMethod = Literal["equal", "gradient"]
METHODS: tuple[str, ...] = ("equal", "gradient")


def mei_weights(n: int, method: MEIMethod) -> np.ndarray:
    """Weights of the frames of one batch of ``n`` frames, oldest first; they sum to 1.

    Args:
        n: Frames in the batch (>= 1).
        method: ``"equal"``: every frame ``1 / n``. ``"gradient"``: the ``j``-th frame
            (``j = 1..n``) ``j / (n (n + 1) / 2)``, so the latest frame counts most.

    Returns:
        (n,) float64.
    """
    num = _integer_weights(positive_int(n, "n"), method)
    return num / num.sum()


def motion_embedded_images(
    frames_thwc_uint8: np.ndarray,
    n: int = 10,
    interval: int = 10,
    method: MEIMethod = "gradient",
) -> tuple[np.ndarray, np.ndarray]:
    """Motion Embedded Images of a clip, and the index of each batch's base frame.

    Weights follow the position in the batch: with ``method="gradient"`` the ``j``-th
    frame of a batch (``j = 1..n``, oldest first) is weighted ``j / (n (n + 1) / 2)``.
    The paper writes this weight as ``(T mod N + 1) / sum_N`` with ``T`` the frame's
    index in the video; that is the same weight when batches start at multiples of
    ``N`` (``interval == n``), and this function uses the position in the batch for
    every ``interval``. ``method="equal"`` weights every frame ``1 / n``.

    A clip shorter than ``n`` gives one image from all its ``T`` frames, the weights
    renormalised over them (``1 / T``, or ``j / (T (T + 1) / 2)``).

    Arithmetic: both weightings are integers over a common denominator
    (``1 / n`` and ``j / (n (n + 1) / 2)``), so the weighted sum of the integer
    numerators is computed exactly (integer accumulators: the floating-point sum
    without its rounding error), then divided by the denominator in float32 (exact
    to far below half a grey level) and rounded to nearest, ties to even
    (``np.rint``). The weights are convex, so the result already lies in 0..255 and
    needs no clipping. The output is exactly ``rint(sum_j w_j * frame_j)`` evaluated
    in exact arithmetic, for any ``n`` and ``interval``.

    Args:
        frames_thwc_uint8: (T, H, W, C) uint8 clip, T >= 1.
        n: Frames per batch (N in the paper; 10 there).
        interval: Frames between the starts of consecutive batches (5 for SEAGS_V1,
            10 for UCF-101 in the paper). ``interval > n`` skips frames between batches;
            ``interval < n`` makes batches overlap.
        method: ``"gradient"`` (latest frame weighted most) or ``"equal"``.

    Returns:
        ``(meis, base_frames)``: (K, H, W, C) uint8 images and (K,) int64 indices of the
        last frame of each batch (``k * interval + n - 1``, or ``T - 1`` for a clip
        shorter than ``n``).

    Raises:
        RepresentationError: an empty clip, a clip that is not (T, H, W, C) uint8, or
            bad ``n`` / ``interval`` / ``method``.
    """
    n = positive_int(n, "n")
    interval = positive_int(interval, "interval")
    if method not in METHODS:
        raise RepresentationError(f"method must be one of {METHODS}, got {method!r}")
    clip = as_clip(frames_thwc_uint8, name="frames")
    t, h, w, c = clip.shape
    starts, size = window_starts(t, n, interval)
    num = _integer_weights(size, method)
    denom = int(num.sum())
    acc_dtype = _accumulator_dtype(denom)
    weights = num.astype(acc_dtype)
    out = np.empty((len(starts), h, w, c), dtype=np.uint8)
    flat_out = out.reshape(len(starts), -1)
    scale = np.float32(denom) if acc_dtype is np.uint16 else np.float64(denom)
    for k, s in enumerate(starts):
        block = clip[s : s + size].reshape(size, -1)
        acc = np.einsum("t,tp->p", weights, block, dtype=acc_dtype, casting="unsafe")
        q = np.divide(acc, scale, dtype=scale.dtype)
        np.rint(q, out=q)
        # acc <= 255 * denom, so q is already within 0..255: no clip needed before the cast.
        flat_out[k] = q
    base_frames = starts + (size - 1)
    return out, base_frames


def _accumulator_dtype(denom: int) -> type[np.integer]:
    """The smallest unsigned integer type that holds a batch's exact weighted sum (at
    most ``255 * denom``)."""
    if 255 * denom < 2**16:
        return np.uint16
    if 255 * denom < 2**32:
        return np.uint32
    return np.uint64  # n >= ~5800 frames per batch: still exact below 2**53


def _integer_weights(size: int, method: str) -> np.ndarray:
    """Integer numerators of the weights of a batch of ``size`` frames, oldest first."""
    if method == "equal":
        return np.ones(size, dtype=np.int64)
    if method == "gradient":
        return np.arange(1, size + 1, dtype=np.int64)
    raise RepresentationError(f"method must be one of {METHODS}, got {method!r}")
