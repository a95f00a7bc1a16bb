"""One video's model inputs, display images and prediction, as ``har predict`` sees it.

The video is decoded and represented with the parameters each model was
trained on (:func:`~components.inference.records.represent_video_file`) and
turned into samples by the same evaluation datasets ``har predict`` scores;
the sample explained is the middle one (the middle clip of a clip model, the
middle MEI of the streams).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from components.inference.records import MemoryRecords, represent_video_file
from components.inference.scoring import fuse_probabilities, score_records
from components.inference.trained import TrainedModel, load_trained
from components.jobs.datasets import ClipDataset, ImageItemDataset, ShardDataset


@dataclass(frozen=True)
class Sample:
    """The explained sample of one trained model.

    Attributes:
        inputs: the model's input tensors, batch of one, as ``evaluate`` feeds them.
        images: uint8 (N, H, W, C) what the inputs show, un-normalised: the clip's
            raw frames (LIFT-Net), the base frame or the MEI (N = 1, the streams).
        positions: the items' positions in the video's record.
    """

    inputs: tuple[torch.Tensor, ...]
    images: np.ndarray
    positions: tuple[int, ...]


def load_parts(spec: str | Path) -> dict[str, TrainedModel]:
    """Trained model folders (``models/student``; ``models/normal,models/motion``) by job."""
    parts: dict[str, TrainedModel] = {}
    for folder in str(spec).split(","):
        if folder.strip():
            trained = load_trained(Path(folder.strip()))
            parts[trained.job] = trained
    if not parts:
        raise ValueError(f"no model folder in {spec!r}")
    return parts


def represent(part: TrainedModel, video: Path) -> tuple[str, dict[str, MemoryRecords]]:
    """(record key, kind -> records) of ``video`` as ``part`` was trained on it."""
    key = str(video)
    records, _ = represent_video_file(video, part.representations, key=key)
    return key, records


def predict(parts: Mapping[str, TrainedModel], records: Mapping[str, Mapping[str, MemoryRecords]],
            video: Path) -> np.ndarray:
    """(K,) video-level probabilities, fused over the parts as ``har predict`` fuses them."""
    scores = [score_records(part, records[name], str(video), video)
              for name, part in parts.items()]
    return (scores[0] if len(scores) == 1 else fuse_probabilities(scores)).probs[0]


def _dataset(part: TrainedModel, records: Mapping[str, MemoryRecords], key: str, video: Path
             ) -> ShardDataset:
    # score_records' own construction (same entry, same eval dataset, same readers)
    from components.inference.scoring import _entry, _eval_dataset

    entry = _entry(part, key, records, video)
    roots = {role: Path(f"<memory:{kind}>") for role, kind in part.kinds.items()}
    dataset = _eval_dataset(part, roots, [entry])
    by_root = {roots[role]: records[kind] for role, kind in part.kinds.items()}
    dataset._readers = {role: by_root[root] for role, root in dataset.roots.items()}
    return dataset


def middle_sample(part: TrainedModel, records: Mapping[str, MemoryRecords], key: str,
                  video: Path, index: int | None = None) -> Sample:
    """The ``index``-th evaluation sample (the middle one by default) of ``part``."""
    dataset = _dataset(part, records, key, video)
    index = len(dataset) // 2 if index is None else index
    item = dataset[index]
    if "lum" in part.kinds:  # LIFT-Net: raw frames and the luminous clip
        assert isinstance(dataset, ClipDataset)  # the student's: paired clips
        _, positions = dataset.positions(index, None)
        images = records[part.kinds["main"]].read(key)[positions]
        return Sample((item["main"][None], item["lum"][None]), images,
                      tuple(int(p) for p in positions))
    if part.job in ("normal", "motion"):  # item i is MEI i's base frame, or MEI i
        assert isinstance(dataset, ImageItemDataset)  # a stream's: one image per item
        _, position = dataset.locate(index)
        kind = part.kinds["frames" if part.job == "normal" else "main"]
        image = records[kind].read_item(key, int(position))
        return Sample((item["x"][None],), image[None], (int(position),))
    raise ValueError(f"cannot explain a {part.job} model ({part.info.get('model')}): "
                     "only LIFT-Net and the 2D streams have maps")

