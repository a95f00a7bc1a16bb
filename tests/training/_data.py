"""A tiny dataset in the ``har ingest`` + ``har represent`` layout, written by tests.

Classes differ in stripe orientation and colour (and their flow in direction), so a
small network learns them in a few steps. Every kind the jobs read is written: frames,
gamma, flow, mei (with base positions).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from components.data.manifest import ManifestRow, write_classes, write_manifest
from components.data.shards import ShardWriter

COLOURS = ((200, 40, 40), (40, 200, 40), (40, 40, 200), (200, 200, 40))


@dataclass(frozen=True)
class TinyDataset:
    """Where the tiny dataset lives."""

    root: Path
    ingest: Path
    represent: Path
    classes: tuple[str, ...]
    keys: tuple[str, ...]


def _frames(label: int, rng: np.random.Generator, frames: int, size: int) -> np.ndarray:
    """Stripes whose orientation is the class (horizontal, vertical, two diagonals),
    drifting over time, in a class colour, with noise: spatial structure that batch
    normalisation cannot remove."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    coord = (y, x, x + y, x - y)[label % 4]
    phase = rng.uniform(0, 2 * np.pi)
    out = np.empty((frames, size, size, 3))
    colour = np.array(COLOURS[label % len(COLOURS)], dtype=np.float64) / 255.0
    for t in range(frames):
        wave = 0.5 + 0.5 * np.sin(2 * np.pi * coord / 8.0 + phase + 0.6 * t)
        out[t] = 255.0 * wave[..., None] * colour
    out += rng.normal(0, 12, size=out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


def write_tiny_dataset(
    root: Path, *, classes: int = 2, train_per_class: int = 6, test_per_class: int = 2,
    frames: int = 8, size: int = 32, mei_n: int = 4, mei_interval: int = 2, seed: int = 0,
    kinds: tuple[str, ...] = ("frames", "gamma", "flow", "mei"),
) -> TinyDataset:
    """Write manifest, classes, dataset.json and shards of ``kinds`` under ``root``."""
    rng = np.random.default_rng(seed)
    names = tuple(f"Class{c}" for c in range(classes))
    ingest, represent = root / "data" / "ingest", root / "data" / "represent"
    ingest.mkdir(parents=True, exist_ok=True)
    rows: list[ManifestRow] = []
    videos: list[tuple[str, int, str, np.ndarray]] = []
    for c, name in enumerate(names):
        for i in range(train_per_class + test_per_class):
            split = "train" if i < train_per_class else "test"
            key = f"{name}/v_{name}_g{i + 1:02d}_c01.mp4"
            rows.append(ManifestRow(key, name, c, split, frames, 10.0, size, size,
                                    frames / 10.0, "h264", "yuv420p"))
            videos.append((key, c, split, _frames(c, rng, frames, size)))
    write_manifest(ingest / "manifest.csv", rows)
    write_classes(ingest / "classes.txt", names)
    (ingest / "dataset.json").write_text(json.dumps({
        "root": str(root / "videos"), "format": "ucf101", "split": 1, "list_files": [],
        "lighting": "dark", "lighting_source": "declared",
        "classes": classes, "train": classes * train_per_class,
        "test": classes * test_per_class}))
    params = {"height": size, "width": size, "frame_stride": 1, "max_frames": 0}
    starts = list(range(0, frames - mei_n + 1, mei_interval))
    base = [s + mei_n - 1 for s in starts]
    for kind in kinds:
        with ShardWriter(represent / kind, kind=kind, params={**params, "kind_params": {}}) as w:
            for key, label, split, clip in videos:
                meta = {"label_index": label, "split": split}
                if kind in ("frames", "gamma"):
                    array = clip if kind == "frames" else \
                        (255 * (clip / 255.0) ** (1 / 2.0)).astype(np.uint8)
                    meta["positions"] = list(range(frames))
                elif kind == "flow":
                    array = np.full((frames - 1, size, size, 2), 128, np.uint8)
                    array[..., 0] = 128 + 40 * (1 if label % 2 else -1)
                    meta["positions"] = list(range(frames - 1))
                else:
                    array = np.stack([clip[s:s + mei_n].mean(0) for s in starts]).astype(np.uint8)
                    meta["positions"] = base
                    meta["base_positions"] = base
                w.add(key, array, meta=meta)
    return TinyDataset(root, ingest, represent, names, tuple(v[0] for v in videos))
