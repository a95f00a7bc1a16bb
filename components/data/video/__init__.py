"""Video I/O with PyAV: probing, decoding to arrays, and writing H.264 files.

This package holds the only modules in the project that import ``av``. Everything
it returns is plain numpy: frames are uint8 arrays of shape ``(T, H, W, C)``.

Decoding never raises into a caller's loop for a file that fails part way: it
returns the frames read so far together with the reason (``DecodeResult.error``),
so one damaged video cannot stop a dataset-wide stage.

Modules: :mod:`.container` (opening files, :class:`VideoError`, limits),
:mod:`.probing` (:func:`probe`), :mod:`.decode` (:func:`decode_frames`),
:mod:`.write` (:func:`write_video`, :class:`VideoWriter`) and :mod:`.stream`
(:func:`iter_frames` over files, cameras and network streams). Import the names
from here: the package is the API, its modules are how it is organised.
"""

from __future__ import annotations

from components.data.video.container import (
    MAX_FRAME_PIXELS,
    VideoError,
    library_versions,
)
from components.data.video.decode import DecodeResult, ThreadType, decode_frames
from components.data.video.probing import ProbeDepth, VideoInfo, probe
from components.data.video.stream import (
    StreamFrame,
    is_live,
    iter_frames,
    open_options,
    stream_fps,
)
from components.data.video.write import VideoWriter, write_video, x264_options

__all__ = [
    "MAX_FRAME_PIXELS",
    "DecodeResult",
    "ProbeDepth",
    "StreamFrame",
    "ThreadType",
    "VideoError",
    "VideoInfo",
    "VideoWriter",
    "decode_frames",
    "is_live",
    "iter_frames",
    "library_versions",
    "open_options",
    "probe",
    "stream_fps",
    "write_video",
    "x264_options",
]
