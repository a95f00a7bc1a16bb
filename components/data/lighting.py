"""The lighting of a dataset: declared, or measured from a sample of its frames.

LIFT-Net's luminous pathway reads gamma-corrected frames for dark video and optical
flow for daylight and infrared video (the paper). The lighting is declared in a
dataset config (``ingest.lighting``) or, with ``auto``, measured at ingest here, and
recorded in ``data/ingest/dataset.json``; training jobs whose ``input`` is ``auto``
read it (:func:`luminous_input`).

Measurement (pure NumPy on decoded uint8 RGB frames):

* *infrared*: a single-channel picture, the three colour channels equal up to codec
  noise (mean |R - G| + |G - B| under :data:`GRAY_CHROMA` of the mean luma, so that
  dim colour footage is not taken for grey);
* *dark*: mean BT.601 luma under :data:`DARK_LUMA` of full scale (ARID reports
  channel means of about 0.08; the synthetic dark set sits at 0.01-0.03, its
  daylight set at 0.19-0.25, UCF-101 around 0.4);
* *daylight*: anything else.

A dataset's lighting is the majority over its sampled videos (ties: dark, then
infrared: the lightings that change the luminous input's behaviour most).

Ingest also records every usable video's own mean luma (:func:`video_luma`, the
manifest's ``luminance`` column), which the evaluation buckets into dark / dim /
bright (``evaluate.lighting_buckets``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

Lighting = Literal["daylight", "dark", "infrared"]
LIGHTINGS: tuple[str, ...] = ("daylight", "dark", "infrared")
#: Mean luma (0..1) below which footage counts as dark.
DARK_LUMA = 0.12
#: Mean channel difference, relative to the mean luma, below which footage counts as
#: single-channel.
GRAY_CHROMA = 0.05
_VOTE_ORDER: tuple[Lighting, ...] = ("dark", "infrared", "daylight")
#: Frames decoded per video for its own luma at ingest, spread over at most its first
#: :data:`LUMA_WINDOW` frames: the cost stays bounded on long videos (UCF-101 clips
#: run to hundreds of frames), and a 32 x 32 picture is plenty for a mean.
LUMA_FRAMES = 4
LUMA_WINDOW = 64
#: Lighting buckets of a video's mean luma, in table order (``unknown``: not measured).
BUCKETS: tuple[str, ...] = ("dark", "dim", "bright", "unknown")
_BT601 = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class LightingEstimate:
    """What the frames of one video (or a dataset) look like.

    Attributes:
        lighting: ``daylight``, ``dark`` or ``infrared``.
        mean_luma: mean BT.601 luma, 0..1.
        chroma: mean |R - G| + |G - B| over the pixels relative to the mean luma
            (0: grey).
        videos: how many videos the estimate rests on.
    """

    lighting: Lighting
    mean_luma: float
    chroma: float
    videos: int = 1


def classify_frames(frames_rgb: np.ndarray) -> LightingEstimate:
    """The lighting of uint8 RGB frames ``(T, H, W, 3)`` (see the module docstring)."""
    if frames_rgb.ndim != 4 or frames_rgb.shape[-1] != 3 or frames_rgb.size == 0:
        raise ValueError(f"expected uint8 frames (T, H, W, 3), got {frames_rgb.shape}")
    rgb = frames_rgb.astype(np.float32) / 255.0
    luma = float((rgb @ _BT601).mean())
    difference = float((np.abs(rgb[..., 0] - rgb[..., 1])
                        + np.abs(rgb[..., 1] - rgb[..., 2])).mean())
    chroma = difference / max(luma, 1.0 / 255.0)
    if chroma < GRAY_CHROMA:
        lighting: Lighting = "infrared"
    elif luma < DARK_LUMA:
        lighting = "dark"
    else:
        lighting = "daylight"
    return LightingEstimate(lighting, luma, chroma)


def combine(estimates: Sequence[LightingEstimate]) -> LightingEstimate:
    """One estimate for a dataset: the majority lighting, mean luma and chroma."""
    if not estimates:
        raise ValueError("no video to measure the lighting from")
    votes = Counter(e.lighting for e in estimates)
    top = max(votes.values())
    lighting = next(name for name in _VOTE_ORDER if votes.get(name) == top)
    return LightingEstimate(
        lighting,
        float(np.mean([e.mean_luma for e in estimates])),
        float(np.mean([e.chroma for e in estimates])),
        videos=len(estimates),
    )


def measure_lighting(paths: Sequence[Path], *, sample: int = 12, frames: int = 4,
                     size: tuple[int, int] = (64, 64)) -> LightingEstimate | None:
    """Decode the first ``frames`` frames of up to ``sample`` videos, evenly spread over
    ``paths``, and combine their estimates; None when none decodes."""
    from components.data.sampling import ClipSampling
    from components.data.video import decode_frames

    if not paths:
        return None
    picks = sorted({round(i * (len(paths) - 1) / max(sample - 1, 1))
                    for i in range(min(sample, len(paths)))})
    estimates = []
    for index in picks:
        result = decode_frames(paths[index], size=size,
                               sampling=ClipSampling("stride", clip_len=frames, stride=1))
        if len(result.frames):
            estimates.append(classify_frames(result.frames))
    return combine(estimates) if estimates else None


def video_luma(path: Path, num_frames: int, *, frames: int = LUMA_FRAMES,
               window: int = LUMA_WINDOW, size: tuple[int, int] = (32, 32)) -> float | None:
    """Mean BT.601 luma (0..1) of one video: ``frames`` frames evenly spread over its
    first ``min(num_frames, window)`` frames, decoded at ``size``; None when none decodes.
    """
    from components.data.sampling import ClipSampling
    from components.data.video import decode_frames

    if num_frames < 1:
        return None
    result = decode_frames(path, size=size, sampling=ClipSampling("segments", clip_len=frames),
                           num_frames_hint=min(num_frames, window))
    if not len(result.frames):
        return None
    rgb = result.frames.astype(np.float32) / 255.0
    return float((rgb @ _BT601).mean())


@dataclass(frozen=True)
class LightingBuckets:
    """params.yaml ``evaluate.lighting_buckets``: upper luma bounds (0..1, exclusive).

    The defaults sit between what the synthetic sets measure per video (dark
    0.007-0.033; daylight 0.17-0.23, infrared 0.21-0.26: both ``bright``); ARID's
    reported ~0.08 falls in ``dark``, UCF-101's ~0.4 in ``bright``.

    Attributes:
        dark: below it a video is ``dark``.
        dim: below it (and not dark) ``dim``; from it on ``bright``.
    """

    dark: float = 0.10
    dim: float = 0.16

    def __post_init__(self) -> None:
        if not 0.0 < self.dark < self.dim <= 1.0:
            raise ValueError(f"need 0 < dark < dim <= 1 (mean luma), got dark={self.dark}, "
                             f"dim={self.dim}")


def lighting_bucket(luma: float | None, thresholds: LightingBuckets) -> str:
    """``dark``, ``dim``, ``bright``, or ``unknown`` for a missing or NaN luma."""
    if luma is None or not np.isfinite(luma):
        return "unknown"
    if luma < thresholds.dark:
        return "dark"
    return "dim" if luma < thresholds.dim else "bright"


def luminous_input(lighting: str) -> Literal["gamma", "flow"]:
    """The paper's luminous input: gamma-corrected frames for dark video, optical flow
    for daylight and infrared video."""
    if lighting not in LIGHTINGS:
        raise ValueError(f"lighting must be one of {LIGHTINGS}, got {lighting!r}")
    return "gamma" if lighting == "dark" else "flow"
