"""Video-level class probabilities of a trained model, and late fusion.

A video's probabilities are the mean softmax over its evaluation samples: the
``eval_clips`` evenly spaced clips of a clip model (teacher, LIFT-Net), or every
item of an image stream (each MEI for the motion stream, each MEI batch's base
frame for the normal stream): the project's choice (the papers are silent). The samples come from
the same dataset classes training evaluated with (``components.jobs.datasets``),
over the shards (:func:`score_shards`) or over records computed from a video
file (:func:`score_records`), so both see identical inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from components.errors import InputError
from components.inference.records import MemoryRecords
from components.inference.trained import TrainedModel
from components.jobs.data import VideoEntry, index_job_data
from components.jobs.datasets import ShardDataset, build_datasets

if TYPE_CHECKING:
    from components.jobs.tasks import ClassifierTask


@dataclass(frozen=True)
class VideoScores:
    """Class probabilities per video.

    Attributes:
        keys: record keys (manifest paths) of the videos, in order.
        probs: (V, K) float64 mean softmax per video.
        labels: (V,) int64 true classes (-1 where unknown: a file to predict).
        classes: class names of the K columns.
        items: (V,) samples averaged per video.
    """

    keys: tuple[str, ...]
    probs: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    items: np.ndarray

    def subset(self, keys: Sequence[str]) -> VideoScores:
        """These scores restricted to ``keys`` (in that order)."""
        where = {k: i for i, k in enumerate(self.keys)}
        rows = [where[k] for k in keys]
        return VideoScores(tuple(keys), self.probs[rows], self.labels[rows], self.classes,
                           self.items[rows])


def _task(trained: TrainedModel) -> ClassifierTask:
    from components.jobs.tasks import ClassifierTask, DistillTask

    return DistillTask(teacher=None) if trained.job == "student" else ClassifierTask()


def _score_dataset(trained: TrainedModel, dataset: torch.utils.data.Dataset[Any],
                   entries: Sequence[VideoEntry], batch_size: int) -> VideoScores:
    from components.jobs.evaluate import evaluate

    device = next(trained.model.parameters()).device
    loader = DataLoader(dataset, batch_size=max(1, batch_size), shuffle=False, num_workers=0)
    with torch.inference_mode():
        preds = evaluate(trained.model, loader, _task(trained), device=device)
    probs, _ = preds.video_level()
    videos, counts = np.unique(preds.videos, return_counts=True)
    if len(videos) != len(entries):
        raise RuntimeError(f"scored {len(videos)} of {len(entries)} videos")
    return VideoScores(
        keys=tuple(e.key for e in entries), probs=probs.astype(np.float64),
        labels=np.array([e.label for e in entries], dtype=np.int64),
        classes=trained.classes, items=counts.astype(np.int64),
    )


def _eval_dataset(trained: TrainedModel, roots: Mapping[str, Path],
                  entries: Sequence[VideoEntry]) -> ShardDataset:
    _, dataset = build_datasets(trained.job, trained.config, roots, trained.kinds, entries,
                                entries, seed=0)
    return dataset


def score_shards(trained: TrainedModel, ingest_dir: Path, represent_dir: Path, *,
                 split: str = "test", batch_size: int = 0, root: Path | None = None
                 ) -> VideoScores:
    """Score every usable video of ``split`` from the representation shards.

    Raises:
        InputError: the shards or manifest do not fit the model (other classes,
            frame size, or representation parameters than it was trained on).
    """
    data = index_job_data(trained.job, trained.config, ingest_dir, represent_dir,
                          root=root)
    if tuple(data.classes) != trained.classes:
        raise InputError(ingest_dir / "classes.txt", f"lists other classes than model "
                         f"{trained.directory} was trained on: {list(trained.classes)}")
    for kind, params in data.shard_params.items():
        if trained.representations.get(kind) != params:
            raise InputError(represent_dir / kind / "meta.json",
                             f"'{kind}' shards were made with {params}, but "
                             f"{trained.directory} was trained on "
                             f"{trained.representations.get(kind)}: retrain or re-represent")
    entries = data.test if split == "test" else data.train
    dataset = _eval_dataset(trained, data.roots, entries)
    return _score_dataset(trained, dataset, entries, batch_size or trained.config.eval_batch)


def _entry(trained: TrainedModel, key: str, records: Mapping[str, MemoryRecords],
           path: Path) -> VideoEntry:
    """The :class:`VideoEntry` of one in-memory video (as ``index_job_data`` builds it)."""
    roles = trained.kinds
    main = records[roles["main"]].read(key)
    items = len(main)
    if "lum" in roles:
        items = min(items, len(records[roles["lum"]].read(key)))
    base: tuple[int, ...] = ()
    if "frames" in roles:
        base = tuple(int(p) for p in records[roles["main"]].record_meta(key)["base_positions"])
    if items < 1:
        raise InputError(path, f"too short for {trained.job}: no {roles['main']} item")
    return VideoEntry(key, 0, items, base)  # label unknown: 0 keeps the loss finite


def score_records(trained: TrainedModel, records: Mapping[str, MemoryRecords], key: str,
                  path: Path, batch_size: int = 0) -> VideoScores:
    """Score one video whose representations are in memory (``represent_video_file``)."""
    missing = [kind for kind in trained.kinds.values() if kind not in records]
    if missing:
        raise ValueError(f"records lack {missing} for {trained.job}")
    entry = _entry(trained, key, records, path)
    roots = {role: Path(f"<memory:{kind}>") for role, kind in trained.kinds.items()}
    dataset = _eval_dataset(trained, roots, [entry])
    # The dataset's own roles need not be the job's (the normal stream's dataset reads
    # its "main" role from the frames shard): give each the records of its root's kind.
    by_root = {roots[role]: records[kind] for role, kind in trained.kinds.items()}
    dataset._readers = {role: by_root[root] for role, root in dataset.roots.items()}
    scores = _score_dataset(trained, dataset, [entry], batch_size or trained.config.eval_batch)
    return VideoScores(scores.keys, scores.probs, np.full(1, -1, np.int64), scores.classes,
                       scores.items)


def fuse_probabilities(parts: Sequence[VideoScores], weights: Sequence[float] | None = None
                       ) -> VideoScores:
    """Late fusion: the weighted mean of the parts' probabilities (equal by default),
    over the videos every part scored, in the first part's order.

    Raises:
        ValueError: no part, parts over different classes, or weights that do not fit.
    """
    if not parts:
        raise ValueError("nothing to fuse")
    classes = parts[0].classes
    if any(p.classes != classes for p in parts):
        raise ValueError("cannot fuse scores over different classes")
    w = np.ones(len(parts)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(parts),) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"need {len(parts)} non-negative weights with a positive sum, got "
                         f"{list(w)}")
    common = [k for k in parts[0].keys if all(k in set(p.keys) for p in parts[1:])]
    aligned = [p.subset(common) for p in parts]
    probs = sum(wi * p.probs for wi, p in zip(w, aligned, strict=True)) / w.sum()
    return VideoScores(tuple(common), probs, aligned[0].labels, classes,
                       np.sum([p.items for p in aligned], axis=0))


def top_k(probs_k: np.ndarray, classes: Sequence[str], k: int = 5) -> list[tuple[str, float]]:
    """The ``k`` most probable (class, probability) pairs of one (K,) row, best first."""
    order = np.argsort(-np.asarray(probs_k), kind="stable")[:k]
    return [(classes[i], float(probs_k[i])) for i in order]
