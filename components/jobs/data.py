"""A job's data, indexed and checked before it is trained or scored: the manifest
joined with the shards the job reads (:func:`index_job_data`: class count, frame
size, channels and labels checked, an :class:`~components.errors.InputError` naming
the file at fault). Videos missing from a shard (quarantined or failed) are skipped
and counted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.data.manifest import (
    CLASSES_FILE,
    DATASET_FILE,
    MANIFEST_FILE,
    ManifestRow,
    read_classes,
    read_dataset_info,
    read_manifest,
)
from components.data.shards import INDEX_FILE, META_FILE, ShardReader
from components.errors import InputError
from components.jobs.config import JobConfig
from components.representations.kinds import KIND_CHANNELS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VideoEntry:
    """One usable video of a split.

    Attributes:
        key: manifest path = shard record key.
        label: class index.
        items: items of the job's main record (frames, clips positions, MEIs).
        base_positions: frame positions of each MEI/rank item's base frame (normal
            stream; empty otherwise).
    """

    key: str
    label: int
    items: int
    base_positions: tuple[int, ...] = ()


@dataclass(frozen=True)
class JobData:
    """What a job reads, checked.

    Attributes:
        classes: class names (classes.txt order).
        train, test: the usable videos of each split, in manifest order.
        skipped: manifest rows without a record in some needed shard.
        roots: role (``main``, ``lum``, ``frames``) -> shard folder.
        kinds: role -> representation kind.
        shard_params: kind -> the shard's meta.json ``params``.
        files: name -> input file, for provenance (manifest, classes, dataset info,
            split lists, each shard's meta.json and index).
        dataset_info: dataset.json.
    """

    classes: tuple[str, ...]
    train: tuple[VideoEntry, ...]
    test: tuple[VideoEntry, ...]
    skipped: int
    roots: dict[str, Path]
    kinds: dict[str, str]
    shard_params: dict[str, dict[str, Any]]
    files: dict[str, Path]
    dataset_info: dict[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def job_roles(job: str, cfg: JobConfig) -> dict[str, str]:
    """Role -> representation kind a job reads.

    ``main`` is the record whose items define clips/items; the student adds ``lum``
    (its luminous clip), the normal stream reads pixels from its ``frames`` role (the
    ``frames`` or ``gamma`` shard: the frames its motion images were made from) at
    the base positions of its ``main`` (mei or rank) record.
    """
    if job == "teacher":
        return {"main": cfg.input}
    if job == "student":
        return {"main": "frames", "lum": cfg.input}
    if job == "motion":
        if cfg.input not in ("mei", "rank"):
            raise ValueError(f"train_motion.input must be mei or rank, got {cfg.input!r}")
        return {"main": cfg.input}
    if job == "normal":
        if cfg.input not in ("frames", "gamma"):
            raise ValueError(f"train_normal.input must be frames or gamma, got {cfg.input!r}")
        return {"main": getattr(cfg, "base_of", "mei"), "frames": cfg.input}
    raise ValueError(f"unknown job {job!r}")


def _open_checked(root: Path, kind: str, cfg: JobConfig, section: str) -> ShardReader:
    if not (root / META_FILE).is_file():
        raise InputError(root, f"no '{kind}' shards here (run `har represent --kind {kind}`)")
    reader = ShardReader(root)
    meta_path = root / META_FILE
    if reader.kind != kind:
        raise InputError(meta_path, f"holds '{reader.kind}' shards, expected '{kind}'")
    params = reader.params
    size = (params.get("height"), params.get("width"))
    if size != (cfg.height, cfg.width):
        raise InputError(
            meta_path,
            f"frames are {size[0]}x{size[1]} (height x width) but {section} expects "
            f"{cfg.height}x{cfg.width}: set {section}.height/width to the shards' size or "
            "recompute the representation (represent.height/width)",
        )
    channels = KIND_CHANNELS[kind]
    for key in reader:
        record = reader.record(key)
        if len(record.shape) != 4 or tuple(record.shape[1:]) != (cfg.height, cfg.width, channels):
            raise InputError(
                root / INDEX_FILE,
                f"record {record.key!r} has shape {list(record.shape)}; '{kind}' records "
                f"must be (K, {cfg.height}, {cfg.width}, {channels})",
            )
    return reader


def index_job_data(
    job: str, cfg: JobConfig, ingest_dir: Path, represent_dir: Path, section: str = "",
    root: Path | None = None,
) -> JobData:
    """Join manifest and shards for ``job`` and check them against ``cfg``.

    Args:
        job: ``teacher``, ``student``, ``normal`` or ``motion``.
        cfg: the job's config (frame size, class count, inputs).
        ingest_dir: folder of manifest.csv, classes.txt, dataset.json.
        represent_dir: folder of the shard folders (one per kind).
        section: params section name, for messages.
        root: folder that relative paths in dataset.json (the split lists) are
            relative to (the repository root); the current folder by default.

    Returns:
        The checked :class:`JobData`.

    Raises:
        InputError: a missing input; a class count, frame size, channel count or
            label that does not match; no usable training or test video.
    """
    section = section or f"train_{job}"
    if cfg.input == "auto":  # a programming error: prepare_training resolves it first
        raise ValueError(f"{section}.input auto must be resolved first "
                         "(components.training.driver.resolve_luminous_input)")
    classes, rows = _read_labelled_manifest(ingest_dir, cfg, section)
    roles = job_roles(job, cfg)
    readers = {role: _open_checked(represent_dir / kind, kind, cfg, section)
               for role, kind in roles.items()}
    entries, skipped = _join_shards(rows, readers, ingest_dir / MANIFEST_FILE)
    shards = ", ".join(str(r.root) for r in readers.values())
    if skipped:
        log.warning("%d of %d manifest videos have no record in %s; skipped", skipped, len(rows),
                    ", ".join(sorted({str(r.root) for r in readers.values()})))
    for split in ("train", "test"):
        if not entries[split]:
            raise InputError(ingest_dir / MANIFEST_FILE, f"no usable {split} video for "
                             f"{section} (shards: {shards})")
    info_path = ingest_dir / DATASET_FILE
    info = read_dataset_info(info_path) if info_path.is_file() else {}
    return JobData(
        classes=tuple(classes),
        train=tuple(entries["train"]),
        test=tuple(entries["test"]),
        skipped=skipped,
        roots={role: represent_dir / kind for role, kind in roles.items()},
        kinds=dict(roles),
        shard_params={kind: readers[role].params for role, kind in roles.items()},
        files=_input_files(ingest_dir, info, sorted(set(roles.values())), represent_dir, root),
        dataset_info=info,
    )


def _read_labelled_manifest(ingest_dir: Path, cfg: JobConfig,
                            section: str) -> tuple[list[str], list[ManifestRow]]:
    """The classes and manifest rows, checked: the class count against ``cfg`` and
    every row's label against the classes."""
    classes_path = ingest_dir / CLASSES_FILE
    manifest_path = ingest_dir / MANIFEST_FILE
    classes = read_classes(classes_path)
    if cfg.num_classes and cfg.num_classes != len(classes):
        raise InputError(classes_path, f"lists {len(classes)} classes but {section}.num_classes "
                         f"is {cfg.num_classes}")
    rows = read_manifest(manifest_path)
    for lineno, row in enumerate(rows, start=2):
        if not 0 <= row.label_index < len(classes):
            raise InputError(manifest_path, f"label_index {row.label_index} of {row.path} is "
                             f"outside the {len(classes)} classes of {classes_path}", line=lineno)
    return classes, rows


def _join_shards(rows: list[ManifestRow], readers: dict[str, ShardReader],
                 manifest_path: Path) -> tuple[dict[str, list[VideoEntry]], int]:
    """Split -> the usable videos, in manifest order; and how many rows were skipped
    (a record missing from a shard, or no item in it)."""
    entries: dict[str, list[VideoEntry]] = {"train": [], "test": []}
    skipped = 0
    for row in rows:
        entry = _video_entry(row, readers, manifest_path)
        if entry is None:
            skipped += 1
        else:
            entries[row.split].append(entry)
    return entries, skipped


def _video_entry(row: ManifestRow, readers: dict[str, ShardReader],
                 manifest_path: Path) -> VideoEntry | None:
    """The video of ``row`` in every shard the job reads; None if a shard lacks it or
    it has no item.

    Raises:
        InputError: a record disagrees with the manifest (label, split), or the
            normal stream's base positions do not fit its frames.
    """
    if any(row.path not in reader for reader in readers.values()):
        return None
    main = readers["main"].record(row.path)
    for reader in readers.values():
        _check_record_agrees(reader, row, manifest_path)
    items = main.items
    base: tuple[int, ...] = ()
    if "lum" in readers:
        items = min(items, readers["lum"].record(row.path).items)
    if "frames" in readers:
        base = tuple(int(p) for p in main.meta.get("base_positions", ()))
        frames_items = readers["frames"].record(row.path).items
        if len(base) != main.items or any(not 0 <= p < frames_items for p in base):
            raise InputError(readers["main"].root / INDEX_FILE,
                             f"record {row.path!r}: base_positions {list(base)[:8]} do not "
                             f"fit its {main.items} items and {frames_items} frames")
    if items < 1:
        return None
    return VideoEntry(row.path, row.label_index, items, base)


def _check_record_agrees(reader: ShardReader, row: ManifestRow, manifest_path: Path) -> None:
    """Raise :class:`InputError` where the record's label or split is not the row's."""
    meta = reader.record(row.path).meta
    where = reader.root / INDEX_FILE
    if "label_index" in meta and int(meta["label_index"]) != row.label_index:
        raise InputError(where, f"record {row.path!r} has label_index "
                         f"{meta['label_index']}, {manifest_path} says {row.label_index}")
    if "split" in meta and meta["split"] != row.split:
        raise InputError(where, f"record {row.path!r} is in split {meta['split']!r}, "
                         f"{manifest_path} says {row.split!r}")


def _input_files(ingest_dir: Path, info: dict[str, Any], kinds: list[str],
                 represent_dir: Path, root: Path | None) -> dict[str, Path]:
    """Name -> input file, for provenance: manifest, classes, dataset info and the
    split lists it names (relative to ``root``, default the current folder), and each
    shard kind's meta.json."""
    files: dict[str, Path] = {"manifest": ingest_dir / MANIFEST_FILE,
                              "classes": ingest_dir / CLASSES_FILE}
    info_path = ingest_dir / DATASET_FILE
    if info_path.is_file():
        files["dataset_info"] = info_path
    for listed in info.get("list_files", []):
        path = Path(listed) if Path(listed).is_absolute() else (root or Path.cwd()) / listed
        if path.is_file():
            files[f"split.{path.name}"] = path
    for kind in kinds:
        files[f"shards.{kind}.meta"] = represent_dir / kind / META_FILE
    return files
