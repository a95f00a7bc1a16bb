"""Representation records in memory: what ``har represent`` would store for one
video, computed on the fly, behind the reader interface the datasets use.

Prediction must see a video exactly as training did: the same decoded size,
frame stride and frame limit, and the same kind parameters (MEI n, interval and
weighting; gamma; flow method and bound). Those are read from the shards'
``meta.json`` ``params`` the model was trained on (recorded in ``model.json``),
never from the current params.yaml.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from components.data.decoding import DecodeSpec, decode_for_representation
from components.errors import InputError


class MemoryRecords:
    """A shard reader's ``read`` / ``read_item`` / ``record_meta`` over arrays in memory.

    Args:
        arrays: record key -> uint8 ``(K, H, W, C)``.
        metas: record key -> record metadata (``positions``, ``base_positions``).
    """

    def __init__(self, arrays: Mapping[str, np.ndarray],
                 metas: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self._arrays = dict(arrays)
        self._metas = {k: dict(v) for k, v in (metas or {}).items()}

    def __contains__(self, key: object) -> bool:
        return key in self._arrays

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def read(self, key: str) -> np.ndarray:
        return self._arrays[key]

    def read_item(self, key: str, item: int) -> np.ndarray:
        return self._arrays[key][item]

    def record_meta(self, key: str) -> dict[str, Any]:
        return self._metas.get(key, {})


def _kind_params(kind: str, params: Mapping[str, Any]) -> Any:
    from components.representations.kinds import KindParams

    return KindParams.from_json(kind, params.get("kind_params", {}))


def decode_video(path: Path, params: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Decode ``path`` as a representation's shards were decoded.

    Args:
        path: the video file.
        params: shard ``params`` (their :class:`~components.data.decoding.DecodeSpec`).

    Returns:
        (uint8 ``(T, H, W, 3)`` frames, contiguous; ``(T,)`` their frame indices).

    Raises:
        InputError: the file cannot be decoded or has no frames.
    """
    decoded = decode_for_representation(path, DecodeSpec.from_json(params))
    if not decoded.ok or not len(decoded.frames):
        raise InputError(path, f"cannot decode: {decoded.error or 'no frames'}")
    return decoded.frames, np.asarray(decoded.indices)


def represent_video_file(
    path: Path, representations: Mapping[str, Mapping[str, Any]], key: str | None = None,
) -> tuple[dict[str, MemoryRecords], int]:
    """Decode ``path`` and compute every kind in ``representations``.

    Args:
        path: the video file.
        representations: kind -> shard ``params`` (``height``, ``width``,
            ``frame_stride``, ``max_frames``, ``kind_params``).
        key: record key (the path by default).

    Returns:
        (kind -> one-record :class:`MemoryRecords`, frames decoded). Kinds that
        share decode settings share one decode.

    Raises:
        InputError: the file is missing, cannot be decoded, or is too short for a
            representation (names the file and the reason).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "video file not found")
    key = key or str(path)
    decoded: dict[DecodeSpec, tuple[np.ndarray, np.ndarray]] = {}
    records: dict[str, MemoryRecords] = {}
    frames_decoded = 0
    for kind, params in representations.items():
        setting = DecodeSpec.from_json(params)
        if setting not in decoded:
            decoded[setting] = decode_video(path, params)
            frames_decoded = max(frames_decoded, len(decoded[setting][0]))
        records[kind] = represent_frames(path, kind, decoded[setting][0], params, key)
    return records, frames_decoded


def represent_frames(path: Path, kind: str, frames: np.ndarray, params: Mapping[str, Any],
                     key: str) -> MemoryRecords:
    """One kind of decoded frames (:func:`decode_video`) as a one-record reader.

    Args:
        path: the video file (named in errors).
        kind: the representation kind.
        frames: uint8 ``(T, H, W, 3)``.
        params: the kind's shard ``params`` (``kind_params`` used here).
        key: the record key.

    Raises:
        InputError: the video is too short for the kind, or the kind fails on it.
    """
    from components.representations import RepresentationError
    from components.representations.kinds import compute

    try:
        array, meta = compute(kind, frames, _kind_params(kind, params))
    except RepresentationError as exc:
        raise InputError(path, f"{kind}: {exc}") from exc
    if not len(array):
        raise InputError(path, f"{kind}: the video is too short ({len(frames)} frames)")
    return MemoryRecords({key: array}, {key: meta})
