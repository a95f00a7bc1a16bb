"""Opening PyAV input containers, the errors they become, and the limits every reader
applies: the plumbing :mod:`.probing`, :mod:`.decode` and :mod:`.stream` share.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import av

#: What PyAV raises on hostile containers (seek on a stream without index, zero
#: durations, absurd headers): reported as the file's reason, never raised out.
PYAV_FAILURES = (av.FFmpegError, OSError, ValueError, ZeroDivisionError, OverflowError,
                 MemoryError, IndexError)

#: Larger frames than 8K UHD are refused before decoding: a header that declares
#: them is corrupt or hostile, and one such frame would take gigabytes.
MAX_FRAME_PIXELS = 7680 * 4320


class VideoError(Exception):
    """A video that cannot be used; ``reason`` is a short, user-readable cause."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def library_versions() -> dict[str, str]:
    """PyAV's version and those of the FFmpeg libraries it bundles (for provenance)."""
    versions = {"av": av.__version__}
    for lib, ver in av.library_versions.items():
        versions[lib] = ".".join(str(v) for v in ver)
    return versions


def describe(exc: BaseException) -> str:
    """The cause of a PyAV error, without the path its message repeats."""
    text = str(exc).strip() or type(exc).__name__
    return text.split(": '")[0] if ": '" in text else text


def open_input(path: Path) -> av.container.InputContainer:
    """Open a video file for reading.

    Raises:
        VideoError: missing, a directory, empty, or not a container FFmpeg reads.
    """
    if not path.exists():
        raise VideoError(path, "missing: file does not exist")
    if path.is_dir():
        raise VideoError(path, "not a file: is a directory")
    if path.stat().st_size == 0:
        raise VideoError(path, "empty file (0 bytes)")
    try:
        return av.open(str(path), mode="r")
    except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise VideoError(path, f"not a readable video container: {describe(exc)}") from exc


def video_stream(container: av.container.InputContainer, path: Path) -> av.VideoStream:
    """The container's first video stream; VideoError when it has none."""
    if not container.streams.video:
        raise VideoError(path, "no video stream")
    return container.streams.video[0]


def rewind(container: av.container.InputContainer) -> bool:
    """Seek to the start; False where the container cannot (raw streams, no index)."""
    try:
        container.seek(0)
    except PYAV_FAILURES:
        return False
    return True


def close_quietly(container: av.container.InputContainer) -> None:
    """Close a container; closing a damaged file may fail too, with nothing left to save."""
    with contextlib.suppress(av.FFmpegError, OSError):
        container.close()


def count_packets(
    container: av.container.InputContainer, stream: av.VideoStream, path: Path
) -> int:
    """Frames of ``stream`` counted by demuxing without decoding; VideoError on a
    truncated or corrupt file."""
    count = 0
    try:
        for packet in container.demux(stream):
            if packet.size:  # the demuxer ends with an empty flush packet
                count += 1
    except (av.FFmpegError, OSError) as exc:
        raise VideoError(
            path, f"truncated or corrupt after {count} packets: {describe(exc)}"
        ) from exc
    return count
