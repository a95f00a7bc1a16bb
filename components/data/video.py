"""Video I/O with PyAV: probing, decoding to arrays, and writing H.264 files.

This is the only module in the project that imports ``av``. Everything it
returns is plain numpy: frames are uint8 arrays of shape ``(T, H, W, C)``.

Decoding never raises into a caller's loop for a file that fails part way: it
returns the frames read so far together with the reason (``DecodeResult.error``),
so one damaged video cannot stop a dataset-wide stage.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

import av
import numpy as np

from components.data.sampling import ClipSampling, frame_indices

ThreadType = Literal["SLICE", "FRAME", "AUTO", "NONE"]
#: What PyAV raises on hostile containers (seek on a stream without index, zero
#: durations, absurd headers): reported as the file's reason, never raised out.
_PYAV_FAILURES = (av.FFmpegError, OSError, ValueError, ZeroDivisionError, OverflowError,
                  MemoryError, IndexError)
ProbeDepth = Literal["header", "packets", "decode"]


class VideoError(Exception):
    """A video that cannot be used; ``reason`` is a short, user-readable cause."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


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


def library_versions() -> dict[str, str]:
    """PyAV's version and those of the FFmpeg libraries it bundles (for provenance)."""
    versions = {"av": av.__version__}
    for lib, ver in av.library_versions.items():
        versions[lib] = ".".join(str(v) for v in ver)
    return versions


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    # PyAV messages repeat the path; keep the cause only.
    return text.split(": '")[0] if ": '" in text else text


def _open(path: Path) -> av.container.InputContainer:
    if not path.exists():
        raise VideoError(path, "missing: file does not exist")
    if path.is_dir():
        raise VideoError(path, "not a file: is a directory")
    if path.stat().st_size == 0:
        raise VideoError(path, "empty file (0 bytes)")
    try:
        return av.open(str(path), mode="r")
    except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise VideoError(path, f"not a readable video container: {_describe(exc)}") from exc


def _video_stream(container: av.container.InputContainer, path: Path) -> av.VideoStream:
    if not container.streams.video:
        raise VideoError(path, "no video stream")
    return container.streams.video[0]


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
    container = _open(path)
    try:
        return _probe_open(container, path, depth)
    except VideoError:
        raise
    except _PYAV_FAILURES as exc:
        # Whatever a hostile container makes PyAV raise is this file's reason, never
        # the caller's crash: one bad video must not stop a dataset-wide stage.
        raise VideoError(path, f"unreadable: {_describe(exc)}") from exc
    finally:
        _close(container)


#: Larger frames than 8K UHD are refused before decoding: a header that declares
#: them is corrupt or hostile, and one such frame would take gigabytes.
MAX_FRAME_PIXELS = 7680 * 4320


class _Reopen(Exception):
    """The file was counted but cannot seek back to its start."""

    def __init__(self, num_frames: int) -> None:
        self.num_frames = num_frames


def _rewind(container: av.container.InputContainer) -> bool:
    """Seek to the start; False where the container cannot (raw streams, no index)."""
    try:
        container.seek(0)
    except _PYAV_FAILURES:
        return False
    return True


def _close(container: av.container.InputContainer) -> None:
    # Closing a damaged file may fail too; there is nothing left to save.
    with contextlib.suppress(av.FFmpegError, OSError):
        container.close()


def _probe_open(container: av.container.InputContainer, path: Path, depth: ProbeDepth
                ) -> VideoInfo:
    """:func:`probe` on an open container (closed by the caller)."""
    stream = _video_stream(container, path)
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
        num_frames = _count_packets(container, stream, path)
        if declared and num_frames < declared:
            raise VideoError(path, f"truncated: {num_frames} of {declared} frames present")
        if num_frames == 0:
            raise VideoError(path, "no frames (the video stream has no packets)")
        if _rewind(container):
            _decode_first(container, stream, path)
        else:  # a stream without an index (raw H.264): read it again from the start
            with contextlib.closing(_open(path)) as again:
                _decode_first(again, _video_stream(again, path), path)
    else:
        result = _decode_all(container, stream, path)
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


def _count_packets(
    container: av.container.InputContainer, stream: av.VideoStream, path: Path
) -> int:
    count = 0
    try:
        for packet in container.demux(stream):
            if packet.size:  # the demuxer ends with an empty flush packet
                count += 1
    except (av.FFmpegError, OSError) as exc:
        raise VideoError(
            path, f"truncated or corrupt after {count} packets: {_describe(exc)}"
        ) from exc
    return count


def _decode_first(
    container: av.container.InputContainer, stream: av.VideoStream, path: Path
) -> None:
    try:
        for _ in container.decode(stream):
            return
    except (av.FFmpegError, OSError) as exc:
        raise VideoError(path, f"undecodable: {_describe(exc)}") from exc
    raise VideoError(path, "undecodable: no frame could be decoded")


def _decode_all(
    container: av.container.InputContainer, stream: av.VideoStream, path: Path
) -> DecodeResult:
    indices: list[int] = []
    try:
        for i, _ in enumerate(container.decode(stream)):
            indices.append(i)
    except (av.FFmpegError, OSError) as exc:
        return DecodeResult(np.empty((0, 0, 0, 0), np.uint8), indices, _stopped(len(indices), exc))
    return DecodeResult(np.empty((0, 0, 0, 0), np.uint8), indices, None)


def _stopped(n_read: int, exc: BaseException) -> str:
    return f"decoding stopped after {n_read} frames: {_describe(exc)}"


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
        container = _open(path)
    except VideoError as exc:
        return DecodeResult(_empty(size, channels), [], exc.reason)
    try:
        return _decode_open(container, path, size, channels, fmt, sampling, num_frames_hint,
                            thread_type, rng)
    except _Reopen as counted:  # a stream that cannot seek back: decode it again, counted
        _close(container)
        return decode_frames(path, size=size, channels=channels, sampling=sampling,
                             num_frames_hint=counted.num_frames, thread_type=thread_type,
                             rng=rng)
    except VideoError as exc:
        return DecodeResult(_empty(size, channels), [], exc.reason)
    except _PYAV_FAILURES as exc:
        return DecodeResult(_empty(size, channels), [], f"unreadable: {_describe(exc)}")
    finally:
        _close(container)


def _decode_open(
    container: av.container.InputContainer, path: Path, size: tuple[int, int] | None,
    channels: Literal[1, 3], fmt: str, sampling: ClipSampling | None,
    num_frames_hint: int | None, thread_type: ThreadType, rng: np.random.Generator | None,
) -> DecodeResult:
    """:func:`decode_frames` on an open container (closed by the caller); raises
    VideoError or a PyAV error only before the first frame is read."""
    stream = _video_stream(container, path)
    ctx = stream.codec_context
    if size is None and (ctx.width or 0) * (ctx.height or 0) > MAX_FRAME_PIXELS:
        raise VideoError(path, f"declared frame size {ctx.width}x{ctx.height} is larger "
                               f"than 8K: corrupt header?")
    stream.thread_type = thread_type
    wanted: set[int] | None = None
    if sampling is not None and sampling.strategy != "all":
        total = num_frames_hint or int(stream.frames or 0)
        if total <= 0:
            total = _count_packets(container, stream, path)
            if total == 0:
                raise VideoError(path, "no frames (the video stream has no packets)")
            if not _rewind(container):
                raise _Reopen(total)
        wanted_list = frame_indices(total, sampling, rng=rng)
        wanted = set(wanted_list)
        last_wanted = max(wanted_list) if wanted_list else -1
    else:
        last_wanted = math.inf
    height, width = size if size is not None else (None, None)
    frames: list[np.ndarray] = []
    indices: list[int] = []
    error: str | None = None
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
        error = _stopped(i + 1, exc)  # frames 0..i decoded before the failure
    declared = int(stream.frames or 0)
    needed = declared if wanted is None else min(last_wanted + 1, declared or last_wanted + 1)
    if error is None and declared and i + 1 < needed:
        # A truncated file often just ends: FFmpeg reports EOF, not an error.
        error = f"truncated: stream ended after {i + 1} of {declared} frames"
    if not frames:
        return DecodeResult(_empty(size, channels), [], error or "no frames decoded")
    stacked = np.stack(frames)
    if stacked.ndim == 3:
        stacked = stacked[..., None]
    if wanted is not None:
        # Sampled indices may repeat (clips shorter than the sample) and are
        # returned in the requested order; frames past a failure are dropped.
        position = {src: k for k, src in enumerate(indices)}
        requested = [j for j in wanted_list if j in position]
        stacked = stacked[[position[j] for j in requested]]
        indices = requested
    return DecodeResult(np.ascontiguousarray(stacked), indices, error)


def _empty(size: tuple[int, int] | None, channels: int) -> np.ndarray:
    h, w = size if size is not None else (0, 0)
    return np.empty((0, h, w, channels), dtype=np.uint8)


def x264_options(*, crf: int, gop: int, preset: str) -> dict[str, str]:
    """libx264 options of :func:`write_video`: quality ``crf``, a keyframe every ``gop``
    frames, and the settings that make the bytes reproducible (one thread, no
    macroblock-tree rate control: see :func:`write_video`)."""
    return {
        "crf": str(crf),
        "preset": preset,
        "threads": "1",
        "g": str(gop),
        "keyint_min": str(gop),
        "sc_threshold": "0",
        "x264-params": "mbtree=0",
    }


def write_video(
    path: str | Path,
    frames: np.ndarray | Iterable[np.ndarray],
    *,
    fps: int,
    crf: int = 18,
    gop: int = 16,
    preset: str = "medium",
    faststart: bool = True,
) -> None:
    """Write uint8 RGB frames ``(T, H, W, 3)`` as an H.264 mp4, byte-for-byte reproducibly.

    Reproducible because x264 runs single-threaded (its output depends on the
    thread count) and without macroblock-tree rate control (``mbtree=0``: with it,
    the same yuv420p frames gave different bytes in 63 of 440 encodes of 64x48 clips
    on a busy machine, none in 400 without), every frame is converted to yuv420p
    before it reaches the encoder (the encoder's own conversion gave different bytes
    from run to run for the same frames: measured on 5 of 12 small videos), and the
    muxer writes no version strings or timestamps (``+bitexact``). ``gop`` is the
    keyframe interval: short GOPs make random clip reads cheap. ``moov`` goes first
    (``+faststart``) as in streamable files. Height and width must be even (4:2:0
    chroma).
    """
    path = Path(path)
    frame_list: Sequence[np.ndarray] = list(frames)
    if not frame_list:
        raise ValueError(f"{path}: no frames to write")
    height, width = frame_list[0].shape[:2]
    if height % 2 or width % 2:
        raise ValueError(f"{path}: frame size {width}x{height} must be even for yuv420p")
    options = {"fflags": "+bitexact"} | ({"movflags": "+faststart"} if faststart else {})
    container = av.open(str(path), mode="w", format="mp4", options=options)
    try:
        stream = container.add_stream(
            "libx264",
            rate=fps,
            options=x264_options(crf=crf, gop=gop, preset=preset),
        )
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.flags |= int(av.codec.context.Flags.bitexact)
        for array in frame_list:
            frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(array, np.uint8), format="rgb24"
            ).reformat(format="yuv420p")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    finally:
        container.close()


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
        container = _open(path)
    else:
        try:
            container = av.open(text, mode="r", format=fmt, options=opts | (options or {}))
        except _PYAV_FAILURES as exc:
            raise VideoError(Path(text), f"cannot open stream: {_describe(exc)}") from exc
    try:
        stream = _video_stream(container, Path(text))
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
        _close(container)


def stream_fps(source: str | Path) -> float:
    """The frame rate a source declares (25.0 when it declares none)."""
    text = str(source)
    fmt, opts = open_options(text)
    try:
        container = _open(Path(text)) if not is_live(text) else av.open(
            text, mode="r", format=fmt, options=opts)
    except _PYAV_FAILURES as exc:
        raise VideoError(Path(text), f"cannot open: {_describe(exc)}") from exc
    try:
        stream = _video_stream(container, Path(text))
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        return float(rate) if rate else 25.0
    finally:
        _close(container)


class VideoWriter:
    """Write RGB frames one at a time (H.264 when the bundled FFmpeg has libx264,
    MPEG-4 part 2 otherwise); odd sizes are cropped to even (4:2:0 chroma).

    Use as a context manager; ``write(rgb)`` takes uint8 ``(H, W, 3)``.
    """

    def __init__(self, path: str | Path, fps: float, crf: int = 23) -> None:
        self.path = Path(path)
        self._fps = fps
        self._crf = crf
        self._container: av.container.OutputContainer | None = None
        self._stream: av.VideoStream | None = None
        self.frames = 0

    def _start(self, height: int, width: int) -> None:
        from fractions import Fraction

        self._container = av.open(str(self.path), mode="w")
        rate = Fraction(self._fps).limit_denominator(1001)
        try:
            self._stream = self._container.add_stream(
                "libx264", rate=rate, options={"crf": str(self._crf), "preset": "veryfast"})
        except (av.FFmpegError, ValueError):  # an FFmpeg build without libx264
            self._stream = self._container.add_stream("mpeg4", rate=rate)
        self._stream.width, self._stream.height = width, height
        self._stream.pix_fmt = "yuv420p"

    def write(self, rgb: np.ndarray) -> None:
        h, w = (rgb.shape[0] // 2) * 2, (rgb.shape[1] // 2) * 2
        if self._stream is None:
            self._start(h, w)
        assert self._container is not None and self._stream is not None
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[:h, :w], np.uint8),
                                           format="rgb24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        if self._container is None:
            return
        assert self._stream is not None
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
        self._container = None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
