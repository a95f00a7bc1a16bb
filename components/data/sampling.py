"""Which frames of a video to decode: all, a fixed-stride clip, or TSN segments.

Pure functions of the frame count; randomness only through an explicit
``numpy.random.Generator`` (training-time jitter). With ``rng=None`` every
strategy is deterministic (the test-time choice).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

SamplingStrategy = Literal["all", "stride", "segments"]


@dataclass(frozen=True)
class ClipSampling:
    """How to pick frames from a video.

    Attributes:
        strategy: ``"all"`` every frame; ``"stride"`` one clip of ``clip_len``
            frames, ``stride`` apart (centred at test time, random start when an
            rng is given); ``"segments"`` TSN-style: split the video into
            ``clip_len`` equal segments and take one frame from each (the middle
            at test time, a random one when an rng is given).
        clip_len: frames per clip (ignored for ``"all"``).
        stride: step between frames of a ``"stride"`` clip.
    """

    strategy: SamplingStrategy = "all"
    clip_len: int = 8
    stride: int = 1

    def __post_init__(self) -> None:
        if self.clip_len < 1:
            raise ValueError(f"clip_len must be >= 1, got {self.clip_len}")
        if self.stride < 1:
            raise ValueError(f"stride must be >= 1, got {self.stride}")


def frame_indices(
    num_frames: int, sampling: ClipSampling, rng: np.random.Generator | None = None
) -> list[int]:
    """Source frame indices (0-based) to keep, in output order.

    Videos shorter than a clip repeat their last frame (stride) or reuse frames
    (segments) so that every clip has exactly ``clip_len`` frames.
    """
    if num_frames <= 0:
        return []
    if sampling.strategy == "all":
        return list(range(num_frames))
    if sampling.strategy == "stride":
        span = (sampling.clip_len - 1) * sampling.stride + 1
        slack = max(num_frames - span, 0)
        start = int(rng.integers(0, slack + 1)) if rng is not None else slack // 2
        return [min(start + k * sampling.stride, num_frames - 1) for k in range(sampling.clip_len)]
    if sampling.strategy == "segments":
        edges = np.linspace(0, num_frames, sampling.clip_len + 1)
        out = []
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            lo_i = int(np.floor(lo))
            hi_i = max(int(np.ceil(hi)) - 1, lo_i)
            idx = int(rng.integers(lo_i, hi_i + 1)) if rng is not None else int((lo + hi) / 2)
            out.append(min(max(idx, 0), num_frames - 1))
        return out
    raise ValueError(f"unknown sampling strategy {sampling.strategy!r}")


def thin_frames(frames: np.ndarray, indices: list[int], frame_stride: int, max_frames: int
                ) -> tuple[np.ndarray, list[int]]:
    """Every ``frame_stride``-th decoded frame, at most ``max_frames`` (0: no limit).

    What ``har represent`` keeps of a decoded video (``represent.frame_stride`` and
    ``represent.max_frames``); prediction keeps the same frames.
    """
    stride = max(1, int(frame_stride or 1))
    frames, indices = frames[::stride], list(indices)[::stride]
    if max_frames:
        frames, indices = frames[:max_frames], indices[:max_frames]
    return frames, indices
