"""Real inputs for the proof: evaluation samples of the data a model was trained on.

The samples come from the same evaluation datasets ``har evaluate`` scores with
(:func:`components.jobs.datasets.build_eval_dataset`: fixed clips, no
augmentation, the model's normalisation), over the shards the model was trained
on, or over the representations of one video file computed with the model's own
shard parameters (as ``har predict`` does). Each sample is one clip (teacher,
LIFT-Net) or one image (a stream), with a batch axis of 1.

The fused two-stream network's sample pairs item i of the normal stream (the base
frame of MEI batch i) with item i of the motion stream (MEI i) of the same video.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from components.errors import InputError
from components.export.proof import Clip
from components.inference.trained import TrainedModel

if TYPE_CHECKING:
    from components.jobs.datasets import ShardDataset

#: The fused network's input names: (normal stream's, motion stream's).
FUSED_INPUTS = ("normal", "motion")


def input_names(trained: TrainedModel) -> tuple[str, ...]:
    """The model's inputs as its training task names them (LIFT-Net: main, lum)."""
    return ("main", "lum") if trained.job == "student" else ("x",)


def _sample(dataset: ShardDataset, index: int, names: Sequence[str]
            ) -> tuple[int, dict[str, np.ndarray]]:
    item = dataset[index]
    return int(item["video"]), {n: item[n].unsqueeze(0).numpy().astype(np.float32)
                                for n in names}


def _spread(total: int, count: int) -> list[int]:
    """``count`` evenly spaced indices of ``range(total)`` (all when fewer)."""
    if count <= 0 or count >= total:
        return list(range(total))
    return sorted({int(round(i)) for i in np.linspace(0, total - 1, count)})


def _shard_dataset(trained: TrainedModel, ingest_dir: Path, represent_dir: Path,
                   split: str, root: Path | None) -> tuple[ShardDataset, list[str]]:
    from components.jobs.data import index_job_data
    from components.jobs.datasets import build_eval_dataset

    data = index_job_data(trained.job, trained.config, ingest_dir, represent_dir, root=root)
    if tuple(data.classes) != trained.classes:
        raise InputError(ingest_dir / "classes.txt", f"lists other classes than model "
                         f"{trained.directory} was trained on")
    for kind, params in data.shard_params.items():
        if trained.representations.get(kind) != params:
            raise InputError(represent_dir / kind / "meta.json",
                             f"'{kind}' shards were made with other parameters than "
                             f"{trained.directory} was trained on")
    entries = data.test if split == "test" else data.train
    dataset = build_eval_dataset(trained.job, trained.config, data.roots, trained.kinds,
                                 entries, seed=0)
    return dataset, [e.key for e in entries]


def _video_dataset(trained: TrainedModel, video: Path
                   ) -> tuple[ShardDataset, list[str]]:
    from components.inference.records import represent_video_file
    from components.inference.scoring import _entry  # the entry har predict builds
    from components.jobs.datasets import build_eval_dataset

    key = str(video)
    records, _ = represent_video_file(video, trained.representations, key=key)
    entry = _entry(trained, key, records, video)
    roots = {role: Path(f"<memory:{kind}>") for role, kind in trained.kinds.items()}
    dataset = build_eval_dataset(trained.job, trained.config, roots, trained.kinds, [entry],
                                 seed=0)
    by_root = {roots[role]: records[kind] for role, kind in trained.kinds.items()}
    dataset._readers = {role: by_root[root] for role, root in dataset.roots.items()}
    return dataset, [key]


def model_dataset(trained: TrainedModel, *, ingest_dir: Path | None = None,
                  represent_dir: Path | None = None, video: Path | None = None,
                  split: str = "test", root: Path | None = None
                  ) -> tuple[ShardDataset, list[str]]:
    """(evaluation dataset, record key of each video index) from shards or a video.

    Raises:
        InputError: neither source is given, or the source does not fit the model.
    """
    if video is not None:
        return _video_dataset(trained, Path(video))
    if ingest_dir is None or represent_dir is None:
        raise InputError(Path(trained.directory), "no real clips: give the shards it was "
                         "trained on (--ingest, --represent) or a video (--video)")
    return _shard_dataset(trained, Path(ingest_dir), Path(represent_dir), split, root)


def model_clips(trained: TrainedModel, count: int, **source: object) -> list[Clip]:
    """Up to ``count`` evaluation samples, evenly spread over the split (all when <= 0);
    ``source``: as :func:`model_dataset`."""
    dataset, keys = model_dataset(trained, **source)  # type: ignore[arg-type]
    names = input_names(trained)
    clips: list[Clip] = []
    for index in _spread(len(dataset), count):
        video, inputs = _sample(dataset, index, names)
        clips.append((keys[video], inputs))
    return clips


def fused_clips(normal: TrainedModel, motion: TrainedModel, count: int,
                **source: object) -> list[Clip]:
    """Up to ``count`` (normal frame, motion image) pairs, evenly spread over the videos
    both streams have, named :data:`FUSED_INPUTS`.

    Raises:
        InputError: the streams share no video.
    """
    by_stream: list[dict[str, list[dict[str, np.ndarray]]]] = []
    for trained in (normal, motion):
        dataset, keys = model_dataset(trained, **source)  # type: ignore[arg-type]
        per_video: dict[str, list[dict[str, np.ndarray]]] = {}
        for index in range(len(dataset)):
            video, inputs = _sample(dataset, index, ("x",))
            per_video.setdefault(keys[video], []).append(inputs)
        by_stream.append(per_video)
    pairs: list[Clip] = []
    for key, normal_items in by_stream[0].items():
        for a, b in zip(normal_items, by_stream[1].get(key, []), strict=False):
            pairs.append((key, {FUSED_INPUTS[0]: a["x"], FUSED_INPUTS[1]: b["x"]}))
    if not pairs:
        raise InputError(Path(motion.directory), f"shares no video with {normal.directory}")
    return [pairs[i] for i in _spread(len(pairs), count)]


def clip_shapes(clips: Sequence[Clip]) -> Mapping[str, tuple[int, ...]]:
    """Input name -> shape of the first clip (what the export is traced at)."""
    return {name: tuple(a.shape) for name, a in clips[0][1].items()}
