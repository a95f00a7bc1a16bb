"""Probing: a video's stream metadata, and a check (as deep as asked) that it is usable."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import av

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
from components.data.video.decode import decode_all

ProbeDepth = Literal["header", "packets", "decode"]


@dataclass(frozen=True)
class VideoInfo:
    """Stream metadata of one video, as probed."""

    num_frames: int
    fps: float
    width: int
    height: int
    duration_s: float
    codec: str
    pix_fmt: str


def probe(path: str | Path, depth: ProbeDepth = "packets") -> VideoInfo:
    """Read a video's metadata and check that it is usable.

    Args:
        path: the video file.
        depth: how hard to look. ``"header"`` trusts the container; ``"packets"``
            (default) also demuxes every packet without decoding, which counts
            frames exactly and catches truncation, then decodes the first frame;
            ``"decode"`` decodes every frame.

    Raises:
        VideoError: missing, empty, not a video, no video stream, undecodable or
            truncated; the reason says which.
    """
    path = Path(path)
    container = open_input(path)
    try:
        return _probe_open(container, path, depth)
    except VideoError:
        raise
    except PYAV_FAILURES as exc:
        # Whatever a hostile container makes PyAV raise is this file's reason, never
        # the caller's crash: one bad video must not stop a dataset-wide stage.
        raise VideoError(path, f"unreadable: {describe(exc)}") from exc
    finally:
        close_quietly(container)


def _probe_open(container: av.container.InputContainer, path: Path, depth: ProbeDepth
                ) -> VideoInfo:
    """:func:`probe` on an open container (closed by the caller)."""
    stream = video_stream(container, path)
    ctx = stream.codec_context
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    declared = int(stream.frames or 0)
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / av.time_base
    else:
        duration = declared / fps if fps else 0.0
    if not ctx.width or not ctx.height:
        raise VideoError(path, "video stream has no frame size (corrupt header)")
    if ctx.width * ctx.height > MAX_FRAME_PIXELS:
        raise VideoError(path, f"declared frame size {ctx.width}x{ctx.height} is larger "
                               f"than 8K ({MAX_FRAME_PIXELS} pixels): corrupt header?")
    num_frames = declared
    if depth == "header":
        if declared == 0 and fps and duration:
            num_frames = round(duration * fps)
    elif depth == "packets":
        num_frames = _check_packets(container, stream, path, declared)
    else:
        result = decode_all(container, stream, path)
        if result.error is not None:
            raise VideoError(path, result.error)
        num_frames = len(result.indices)
    if num_frames == 0:
        raise VideoError(path, "no frames" if depth != "header" else
                         "the header declares no frames (a raw stream or a damaged header; "
                         "probe depth 'packets' counts them)")
    if not fps and duration:
        fps = num_frames / duration
    return VideoInfo(
        num_frames=num_frames,
        fps=round(fps, 6),
        width=int(ctx.width),
        height=int(ctx.height),
        duration_s=round(duration, 6),
        codec=ctx.name,
        pix_fmt=ctx.pix_fmt or "",
    )


def _check_packets(container: av.container.InputContainer, stream: av.VideoStream,
                   path: Path, declared: int) -> int:
    """Depth ``"packets"``: the frame count by demuxing, checked against the header's,
    then the first frame decoded."""
    num_frames = count_packets(container, stream, path)
    if declared and num_frames < declared:
        raise VideoError(path, f"truncated: {num_frames} of {declared} frames present")
    if num_frames == 0:
        raise VideoError(path, "no frames (the video stream has no packets)")
    if rewind(container):
        _decode_first(container, stream, path)
    else:  # a stream without an index (raw H.264): read it again from the start
        with contextlib.closing(open_input(path)) as again:
            _decode_first(again, video_stream(again, path), path)
    return num_frames


def _decode_first(
    container: av.container.InputContainer, stream: av.VideoStream, path: Path
) -> None:
    try:
        for _ in container.decode(stream):
            return
    except (av.FFmpegError, OSError) as exc:
        raise VideoError(path, f"undecodable: {describe(exc)}") from exc
    raise VideoError(path, "undecodable: no frame could be decoded")
