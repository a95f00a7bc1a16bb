"""Shared argument checks for the representation functions (private)."""

from __future__ import annotations

from typing import Any

import numpy as np


class RepresentationError(ValueError):
    """A clip or parameter a representation cannot work with (empty clip, wrong shape...).

    The functions here know no file names; the stage that calls them catches this error,
    names the video in the message and quarantines it.
    """


def as_clip(frames: Any, *, min_frames: int = 1, name: str = "frames") -> np.ndarray:
    """Return ``frames`` as a (T, H, W, C) uint8 array, or raise :class:`RepresentationError`."""
    arr = np.asarray(frames)
    if arr.ndim != 4:
        raise RepresentationError(
            f"{name} must be a (T, H, W, C) array, got shape {tuple(arr.shape)}"
        )
    if arr.dtype != np.uint8:
        raise RepresentationError(f"{name} must be uint8, got {arr.dtype}")
    t = arr.shape[0]
    if t < min_frames:
        what = "an empty clip" if t == 0 else f"a clip of {t} frame(s)"
        raise RepresentationError(f"{name}: {what}; at least {min_frames} needed")
    if 0 in arr.shape[1:]:
        raise RepresentationError(f"{name}: empty frames of shape {tuple(arr.shape[1:])}")
    return arr


def positive_int(value: Any, name: str) -> int:
    """``value`` as an int >= 1, or raise :class:`RepresentationError`."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise RepresentationError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def window_starts(t: int, size: int, step: int) -> tuple[np.ndarray, int]:
    """Starts of the windows ``[s, s + size)`` that fit in ``t`` frames, ``step`` apart.

    Returns ``(starts, size)``; a clip shorter than ``size`` gives the single window
    ``[0, t)`` (``size`` shrinks to ``t``).
    """
    if t < size:
        return np.zeros(1, dtype=np.int64), t
    k = (t - size) // step + 1
    return np.arange(k, dtype=np.int64) * step, size
