"""The project's models on a stream's windows: how many frames a window needs
(:func:`model_window`), the sizes to decode at (:func:`decode_sizes`), and a
:class:`~components.inference.predictor.VideoPredictor` as the window classifier
:class:`~components.inference.streaming.StreamRunner` calls
(:func:`predictor_classifier`), representing frames as ``har predict`` does."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from components.inference.predictor import VideoPredictor
from components.inference.records import MemoryRecords
from components.inference.streaming import Classify
from components.inference.trained import TrainedModel
from components.jobs.config import ClipJobConfig
from components.representations.kinds import KindParams


def _part_window(part: TrainedModel) -> int:
    """Frames one sample of ``part`` needs: a clip, an MEI batch, a rank window, else 1."""
    main = part.kinds.get("main", "")
    params = part.representations.get(main, {})
    stride = int(params.get("frame_stride") or 1)
    clip_len = getattr(part.config, "clip_len", None)
    kind = KindParams.from_json(main, params.get("kind_params", {}))
    if clip_len is not None:
        need = int(clip_len) * int(getattr(part.config, "stride", 1))
    elif main == "mei":
        need = kind.mei.n
    elif main == "rank":
        need = kind.rank.window
    elif main == "flow":  # a pair of frames
        need = 2
    else:
        need = 1
    return need * stride


def model_window(predictor: VideoPredictor) -> int:
    """Frames per window for ``predictor``: the longest any part needs."""
    return max(_part_window(p) for p in predictor.parts.values())


def decode_sizes(predictor: VideoPredictor) -> list[tuple[int, int]]:
    """The (height, width) every representation of the predictor is computed at."""
    sizes: list[tuple[int, int]] = []
    for part in predictor.parts.values():
        for params in part.representations.values():
            size = (int(params["height"]), int(params["width"]))
            if size not in sizes:
                sizes.append(size)
    return sizes


def _one_clip(part: TrainedModel) -> TrainedModel:
    """``part`` scoring one clip per window (the window is exactly one clip long)."""
    if not isinstance(part.config, ClipJobConfig) or part.config.eval_clips == 1:
        return part
    return dataclasses.replace(part, config=dataclasses.replace(part.config, eval_clips=1))


def represent_frames(frames: np.ndarray, representations: Mapping[str, Mapping[str, Any]],
                     key: str) -> dict[str, MemoryRecords]:
    """Every kind of ``representations`` over decoded frames ``(T, H, W, 3)``, as
    :func:`~components.inference.records.represent_video_file` computes them after
    decoding (frame stride and frame limit applied first)."""
    from components.data.sampling import thin_frames
    from components.errors import InputError
    from components.representations import RepresentationError
    from components.representations.kinds import compute

    records: dict[str, MemoryRecords] = {}
    for kind, params in representations.items():
        thinned, _ = thin_frames(frames, list(range(len(frames))),
                                 int(params.get("frame_stride") or 1),
                                 int(params.get("max_frames") or 0))
        try:
            array, meta = compute(kind, np.ascontiguousarray(thinned),
                                  KindParams.from_json(kind, params.get("kind_params", {})))
        except RepresentationError as exc:
            raise InputError(Path(key), f"{kind}: {exc}") from exc
        records[kind] = MemoryRecords({key: array}, {key: meta})
    return records


def predictor_classifier(predictor: VideoPredictor) -> Classify:
    """Window -> fused probabilities, with the predictor's parts and fusion weights."""
    import json

    from components.inference.scoring import fuse_probabilities, score_records

    parts = {name: _one_clip(p) for name, p in predictor.parts.items()}
    key = "<stream>"

    def at_size(frames: Mapping[tuple[int, int], np.ndarray], size: tuple[int, int]
                ) -> np.ndarray:
        if size in frames:
            return frames[size]
        import cv2  # a part at another size than the decode: resized here, not in swscale

        first = next(iter(frames.values()))
        return np.stack([cv2.resize(f, (size[1], size[0]), interpolation=cv2.INTER_AREA)
                         for f in first])

    def classify(frames: Mapping[tuple[int, int], np.ndarray]) -> np.ndarray:
        computed: dict[tuple[str, str], MemoryRecords] = {}  # parts share representations
        scores = []
        for part in parts.values():
            records: dict[str, MemoryRecords] = {}
            for kind, params in part.representations.items():
                tag = (kind, json.dumps(params, sort_keys=True))
                if tag not in computed:
                    size = (int(params["height"]), int(params["width"]))
                    computed[tag] = represent_frames(at_size(frames, size),
                                                     {kind: params}, key)[kind]
                records[kind] = computed[tag]
            scores.append(score_records(part, records, key, Path(key)))
        fused = scores[0] if len(scores) == 1 else fuse_probabilities(scores,
                                                                      predictor.weights)
        return fused.probs[0]

    return classify
