"""Class probabilities of video files: one trained model, or several fused.

A :class:`VideoPredictor` holds one or more trained models (*parts*: LIFT-Net
alone, or the normal and motion streams of the MEI two-stream network), decodes
and represents a video once per representation setting the parts need
(:func:`~components.inference.records.represent_video_file`), scores it with each
part (:func:`~components.inference.scoring.score_records`) and fuses the parts'
probabilities (weighted mean, equal by default). ``har predict`` and the
registered pyfunc models both run on it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from components.inference.records import MemoryRecords, represent_video_file
from components.inference.scoring import (
    VideoScores,
    fuse_probabilities,
    score_records,
    top_k,
)
from components.inference.trained import TrainedModel, load_trained
from components.models.two_stream import checked_fusion_weights


class VideoPredictor:
    """Fused class probabilities of video files.

    Args:
        parts: part name -> trained model (``{"model": ...}``, or ``{"normal": ...,
            "motion": ...}``); all over the same classes.
        weights: fusion weight of each part, in ``parts`` order (equal by default).

    Raises:
        ValueError: no part, parts over different classes, or weights that do not fit.
    """

    def __init__(self, parts: Mapping[str, TrainedModel],
                 weights: Sequence[float] | None = None) -> None:
        if not parts:
            raise ValueError("a predictor needs at least one trained model")
        self.parts = dict(parts)
        first = next(iter(self.parts.values()))
        for name, part in self.parts.items():
            if part.classes != first.classes:
                raise ValueError(f"part {name!r} ({part.directory}) has classes "
                                 f"{list(part.classes)}, {first.directory} has "
                                 f"{list(first.classes)}: cannot fuse them")
        self.weights: tuple[float, ...] | None = None if weights is None else \
            tuple(checked_fusion_weights(weights, len(self.parts)))
        self.classes: tuple[str, ...] = first.classes
        #: Where the model came from (a folder, or ``models:/<name>/<version>`` with an
        #: alias resolved to its version); set by the loader.
        self.source: str = ""

    @classmethod
    def from_folders(cls, folders: Mapping[str, str | Path],
                     weights: Sequence[float] | None = None,
                     device: str = "cpu") -> VideoPredictor:
        """Load every trained model folder (``models/<job>``) with :func:`load_trained`."""
        return cls({name: load_trained(Path(folder), device=device)
                    for name, folder in folders.items()}, weights)

    def representation_groups(self) -> list[dict[str, dict[str, Any]]]:
        """Groups of kind -> shard parameters, each computable in one pass (parts that
        need one kind with different parameters get their own group)."""
        groups: list[dict[str, dict[str, Any]]] = []
        for part in self.parts.values():
            for group in groups:
                if all(group.get(k, p) == p for k, p in part.representations.items()):
                    group.update(part.representations)
                    break
            else:
                groups.append(dict(part.representations))
        return groups

    def score(self, path: str | Path) -> VideoScores:
        """The fused probabilities of one video file (one row; ``keys[0]`` is the path).

        Raises:
            InputError: the file is missing, cannot be decoded, or is too short for a
                part (the message names the file).
        """
        path = Path(path)
        key = str(path)
        computed: dict[str, list[tuple[dict[str, Any], MemoryRecords]]] = {}
        for group in self.representation_groups():
            records, _ = represent_video_file(path, group, key=key)
            for kind, params in group.items():
                computed.setdefault(kind, []).append((params, records[kind]))
        scores = []
        for part in self.parts.values():
            mine = {kind: next(r for p, r in computed[kind] if p == params)
                    for kind, params in part.representations.items()}
            scores.append(score_records(part, mine, key, path))
        return scores[0] if len(scores) == 1 else fuse_probabilities(scores, self.weights)

    def probabilities(self, path: str | Path) -> np.ndarray:
        """(K,) fused class probabilities of one video file."""
        return self.score(path).probs[0]

    def top(self, path: str | Path, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` most probable (class, probability) pairs of one video, best first."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        return top_k(self.probabilities(path), self.classes, k)

    def describe(self) -> dict[str, Any]:
        """What the predictor runs (for logs and ``--json`` output)."""
        return {
            "parts": {name: {"job": p.job, "model": p.info.get("model"),
                             "directory": str(p.directory)} for name, p in self.parts.items()},
            "weights": list(self.weights) if self.weights else None,
            "classes": list(self.classes),
            **({"source": self.source} if self.source else {}),
        }

    def __repr__(self) -> str:
        return f"VideoPredictor({json.dumps(self.describe(), sort_keys=True)})"
