"""Decoding whole files to uint8 ``(T, H, W, C)`` arrays, resized during decode.

A file that fails part way is never raised into a caller's loop: its frames so far
come back with the reason (``DecodeResult.error``), so one damaged video cannot stop
a dataset-wide stage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import av
import numpy as np

from components.data.sampling import ClipSampling, frame_indices
from components.data.video.container import (
    MAX_FRAME_PIXELS,
    PYAV_FAILURES,
    VideoError,
    close_quietly,
    count_packets,
    describe,
    open_input,
    rewind,
    video_stream,
)

ThreadType = Literal["SLICE", "FRAME", "AUTO", "NONE"]


@dataclass
class DecodeResult:
    """Frames decoded from one file.

    Attributes:
        frames: uint8 ``(T, H, W, C)``; ``T`` may be 0 when nothing decoded.
        indices: source frame index (0-based, in decode order) of each frame.
        error: why decoding stopped early, or ``None`` when the file decoded fully.
    """

    frames: np.ndarray
    indices: list[int] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class _Reopen(Exception):
    """The file was counted but cannot seek back to its start."""

    def __init__(self, num_frames: int) -> None:
        self.num_frames = num_frames


def decode_all(
    container: av.container.InputContainer, stream: av.VideoStream, path: Path
) -> DecodeResult:
    """Decode every frame of ``stream`` without keeping any: the indices decoded, and
    why decoding stopped early (probe depth ``"decode"``)."""
    indices: list[int] = []
    try:
        for i, _ in enumerate(container.decode(stream)):
            indices.append(i)
    except (av.FFmpegError, OSError) as exc:
        return DecodeResult(np.empty((0, 0, 0, 0), np.uint8), indices, _stopped(len(indices), exc))
    return DecodeResult(np.empty((0, 0, 0, 0), np.uint8), indices, None)


def _stopped(n_read: int, exc: BaseException) -> str:
    return f"decoding stopped after {n_read} frames: {describe(exc)}"


def decode_frames(
    path: str | Path,
    *,
    size: tuple[int, int] | None = None,
    channels: Literal[1, 3] = 3,
    sampling: ClipSampling | None = None,
    num_frames_hint: int | None = None,
    thread_type: ThreadType = "SLICE",
    rng: np.random.Generator | None = None,
) -> DecodeResult:
    """Decode a video to uint8 ``(T, H, W, C)`` frames, resizing during decode.

    Args:
        path: the video file.
        size: output ``(height, width)`` in pixels, or ``None`` for the native size.
            Scaling happens in FFmpeg's swscale while converting each frame.
        channels: 3 for RGB, 1 for luminance (grayscale and infrared video);
            a grayscale file asked for 3 channels comes out with R = G = B.
        sampling: which frames to keep (see ``components.data.sampling``);
            ``None`` keeps every frame. Sampling strategies that need the frame
            count use ``num_frames_hint`` (from the manifest) or probe the file.
        num_frames_hint: the video's frame count, if already known.
        thread_type: FFmpeg codec threading; on 2 cores ``"SLICE"`` measured
            fastest, ``"AUTO"`` pays off from about 4 cores.
        rng: randomness for training-time sampling (TSN random offsets).

    Returns:
        A ``DecodeResult``. A file that fails part way returns the frames read so
        far and ``error`` set; a file that cannot be opened returns no frames and
        ``error`` set. Nothing is raised for bad files.
    """
    path = Path(path)
    fmt = "rgb24" if channels == 3 else "gray"
    try:
        container = open_input(path)
    except VideoError as exc:
        return DecodeResult(_empty(size, channels), [], exc.reason)
    try:
        return _decode_open(container, path, size, channels, fmt, sampling, num_frames_hint,
                            thread_type, rng)
    except _Reopen as counted:  # a stream that cannot seek back: decode it again, counted
        close_quietly(container)
        return decode_frames(path, size=size, channels=channels, sampling=sampling,
                             num_frames_hint=counted.num_frames, thread_type=thread_type,
                             rng=rng)
    except VideoError as exc:
        return DecodeResult(_empty(size, channels), [], exc.reason)
    except PYAV_FAILURES as exc:
        return DecodeResult(_empty(size, channels), [], f"unreadable: {describe(exc)}")
    finally:
        close_quietly(container)


def _decode_open(
    container: av.container.InputContainer, path: Path, size: tuple[int, int] | None,
    channels: Literal[1, 3], fmt: str, sampling: ClipSampling | None,
    num_frames_hint: int | None, thread_type: ThreadType, rng: np.random.Generator | None,
) -> DecodeResult:
    """:func:`decode_frames` on an open container (closed by the caller); raises
    VideoError or a PyAV error only before the first frame is read."""
    stream = video_stream(container, path)
    ctx = stream.codec_context
    if size is None and (ctx.width or 0) * (ctx.height or 0) > MAX_FRAME_PIXELS:
        raise VideoError(path, f"declared frame size {ctx.width}x{ctx.height} is larger "
                               f"than 8K: corrupt header?")
    stream.thread_type = thread_type
    wanted_list = _sampled_indices(container, stream, path, sampling, num_frames_hint, rng)
    wanted: set[int] | None = None
    if wanted_list is not None:
        wanted = set(wanted_list)
        last_wanted: float = max(wanted_list) if wanted_list else -1
    else:
        last_wanted = math.inf
    frames, indices, seen, error = _decode_wanted(container, stream, size, fmt, wanted,
                                                  last_wanted)
    declared = int(stream.frames or 0)
    needed = declared if wanted is None else min(last_wanted + 1, declared or last_wanted + 1)
    if error is None and declared and seen < needed:
        # A truncated file often just ends: FFmpeg reports EOF, not an error.
        error = f"truncated: stream ended after {seen} of {declared} frames"
    if not frames:
        return DecodeResult(_empty(size, channels), [], error or "no frames decoded")
    stacked = np.stack(frames)
    if stacked.ndim == 3:
        stacked = stacked[..., None]
    if wanted_list is not None:
        # Sampled indices may repeat (clips shorter than the sample) and are
        # returned in the requested order; frames past a failure are dropped.
        position = {src: k for k, src in enumerate(indices)}
        requested = [j for j in wanted_list if j in position]
        stacked = stacked[[position[j] for j in requested]]
        indices = requested
    return DecodeResult(np.ascontiguousarray(stacked), indices, error)


def _sampled_indices(
    container: av.container.InputContainer, stream: av.VideoStream, path: Path,
    sampling: ClipSampling | None, num_frames_hint: int | None,
    rng: np.random.Generator | None,
) -> list[int] | None:
    """The source frames ``sampling`` keeps, in the requested order (``None``: every
    frame); a file whose count nobody knows is counted first."""
    if sampling is None or sampling.strategy == "all":
        return None
    total = num_frames_hint or int(stream.frames or 0)
    if total <= 0:
        total = count_packets(container, stream, path)
        if total == 0:
            raise VideoError(path, "no frames (the video stream has no packets)")
        if not rewind(container):
            raise _Reopen(total)
    return frame_indices(total, sampling, rng=rng)


def _decode_wanted(
    container: av.container.InputContainer, stream: av.VideoStream,
    size: tuple[int, int] | None, fmt: str, wanted: set[int] | None, last_wanted: float,
) -> tuple[list[np.ndarray], list[int], int, str | None]:
    """Decode in order up to ``last_wanted``, converting the frames in ``wanted`` (every
    frame when ``None``): the arrays, their indices, how many frames the decoder gave,
    and why it stopped early (``None`` when it did not fail)."""
    height, width = size if size is not None else (None, None)
    frames: list[np.ndarray] = []
    indices: list[int] = []
    i = -1
    try:
        for i, frame in enumerate(container.decode(stream)):
            if i > last_wanted:
                break
            if wanted is not None and i not in wanted:
                continue
            array = frame.to_ndarray(width=width, height=height, format=fmt)
            frames.append(array)
            indices.append(i)
    except (av.FFmpegError, OSError) as exc:
        return frames, indices, i + 1, _stopped(i + 1, exc)  # frames 0..i decoded
    return frames, indices, i + 1, None


def _empty(size: tuple[int, int] | None, channels: int) -> np.ndarray:
    h, w = size if size is not None else (0, 0)
    return np.empty((0, h, w, channels), dtype=np.uint8)
