"""How a representation's videos are decoded: one spec and one function, for
``har represent`` and for prediction alike.

A model sees a video at prediction time exactly as it saw its training videos only
if both decode to the same size and keep the same frames. :class:`DecodeSpec` is
that decision; it is written into the shards' ``meta.json`` ``params`` (and from
there into ``model.json``) by :meth:`DecodeSpec.to_json` and read back by
:meth:`DecodeSpec.from_json`. :func:`decode_for_representation` is the one decode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from components.data.video import ThreadType


@dataclass(frozen=True)
class DecodeSpec:
    """The decode half of a representation.

    Attributes:
        height, width: frame size the videos are decoded to (pixels).
        frame_stride: keep every k-th decoded frame (1 keeps all).
        max_frames: keep at most this many frames per video (0: no limit).
    """

    height: int
    width: int
    frame_stride: int = 1
    max_frames: int = 0

    def to_json(self) -> dict[str, int]:
        """The spec as the shards' ``params`` hold it (four integer keys)."""
        return {"height": self.height, "width": self.width,
                "frame_stride": self.frame_stride, "max_frames": self.max_frames}

    @classmethod
    def from_json(cls, params: Mapping[str, Any]) -> DecodeSpec:
        """The spec in shard ``params`` (other keys, such as ``kind_params``, ignored)."""
        return cls(height=int(params["height"]), width=int(params["width"]),
                   frame_stride=int(params.get("frame_stride") or 1),
                   max_frames=int(params.get("max_frames") or 0))


@dataclass(frozen=True)
class DecodedVideo:
    """What :func:`decode_for_representation` kept of a video.

    Attributes:
        frames: uint8 ``(T, H, W, 3)``, C-contiguous: the kept frames, or on error
            whatever was decoded before it.
        indices: ``(T,)`` frame index in the file of each kept frame.
        error: why the video could not be decoded to the end; None when it was.
    """

    frames: np.ndarray
    indices: list[int]
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


def decode_for_representation(
    path: str | Path, spec: DecodeSpec, *, thread_type: ThreadType = "SLICE",
    num_frames_hint: int | None = None,
) -> DecodedVideo:
    """Decode ``path`` to ``spec``'s size, RGB, and keep ``spec``'s frames.

    Args:
        path: the video file.
        spec: size and frames to keep.
        thread_type: FFmpeg decoder threading (SLICE measured best on 2 cores).
        num_frames_hint: the manifest's frame count, to allocate once.

    Returns:
        The kept frames; a decode error comes back in ``error``, never raised.
    """
    from components.data.sampling import thin_frames
    from components.data.video import decode_frames

    result = decode_frames(path, size=(spec.height, spec.width), channels=3,
                           num_frames_hint=num_frames_hint, thread_type=thread_type)
    if not result.ok:
        return DecodedVideo(result.frames, list(result.indices), result.error)
    frames, indices = thin_frames(result.frames, result.indices, spec.frame_stride,
                                  spec.max_frames)
    return DecodedVideo(np.ascontiguousarray(frames), indices, None)
