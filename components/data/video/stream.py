"""Frame-by-frame reading of a file, a camera (``/dev/videoN``) or a network stream
(``rtsp://``), with presentation times: what live inference consumes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import av
import numpy as np

from components.data.video.container import (
    PYAV_FAILURES,
    VideoError,
    close_quietly,
    describe,
    open_input,
    video_stream,
)


class StreamFrame(NamedTuple):
    """One frame of a stream (:func:`iter_frames`).

    Attributes:
        timestamp_s: presentation time in seconds from the stream's first frame.
        rgb: uint8 ``(H, W, 3)`` at the requested size (native size when none).
        native: uint8 ``(H0, W0, 3)`` at the source's size, or ``None`` unless asked for.
    """

    timestamp_s: float
    rgb: np.ndarray
    native: np.ndarray | None


def open_options(source: str) -> tuple[str | None, dict[str, str]]:
    """The FFmpeg input format and options for ``source``: ``/dev/videoN`` is a V4L2
    camera, ``rtsp://`` goes over TCP (UDP loses packets on busy networks and the
    decoder then shows grey smears), anything else is a file or a URL FFmpeg opens."""
    if source.startswith("/dev/video"):
        return "v4l2", {}
    if source.startswith(("rtsp://", "rtsps://")):
        return None, {"rtsp_transport": "tcp", "timeout": "5000000"}
    return None, {}


def is_live(source: str) -> bool:
    """True for a camera or a network stream (frames arrive at the source's pace)."""
    return source.startswith("/dev/video") or "://" in source


def iter_frames(
    source: str | Path,
    *,
    size: tuple[int, int] | None = None,
    native: bool = False,
    options: dict[str, str] | None = None,
) -> Iterator[StreamFrame]:
    """Decode a file, a camera (``/dev/videoN``) or a URL (``rtsp://``) frame by frame.

    Args:
        source: path, device or URL.
        size: ``(height, width)`` of ``rgb``: scaled by swscale during the colour
            conversion, as :func:`decode_frames` does, so a model sees what it saw in
            training.
        native: also return each frame at the source's size (to draw on).
        options: FFmpeg options added to those of :func:`open_options`.

    Yields:
        :class:`StreamFrame` in presentation order.

    Raises:
        VideoError: the source cannot be opened or has no video stream; a stream
            that fails part way just ends (its frames so far were yielded).
    """
    text = str(source)
    fmt, opts = open_options(text)
    if not is_live(text):
        path = Path(text)
        container = open_input(path)
    else:
        try:
            container = av.open(text, mode="r", format=fmt, options=opts | (options or {}))
        except PYAV_FAILURES as exc:
            raise VideoError(Path(text), f"cannot open stream: {describe(exc)}") from exc
    try:
        stream = video_stream(container, Path(text))
        stream.thread_type = "SLICE"
        height, width = size if size is not None else (None, None)
        first: float | None = None
        rate = stream.average_rate or stream.guessed_rate
        step = 1.0 / float(rate) if rate else 0.04
        count = 0
        try:
            for frame in container.decode(stream):
                if frame.pts is not None and frame.time_base is not None:
                    t = float(frame.pts * frame.time_base)
                else:
                    t = count * step
                first = t if first is None else first
                rgb = frame.to_ndarray(width=width, height=height, format="rgb24")
                yield StreamFrame(t - first, rgb,
                                  frame.to_ndarray(format="rgb24") if native else None)
                count += 1
        except (av.FFmpegError, OSError):
            return  # a damaged tail or a dropped connection ends the stream
    finally:
        close_quietly(container)


def stream_fps(source: str | Path) -> float:
    """The frame rate a source declares (25.0 when it declares none)."""
    text = str(source)
    fmt, opts = open_options(text)
    try:
        container = open_input(Path(text)) if not is_live(text) else av.open(
            text, mode="r", format=fmt, options=opts)
    except PYAV_FAILURES as exc:
        raise VideoError(Path(text), f"cannot open: {describe(exc)}") from exc
    try:
        stream = video_stream(container, Path(text))
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        return float(rate) if rate else 25.0
    finally:
        close_quietly(container)
