"""Torch datasets over the representation shards, and the checks that run before training.

Inputs (written by ``har ingest`` and ``har represent``)::

    data/ingest/manifest.csv, classes.txt, dataset.json
    data/represent/<kind>/   one shard folder per kind; record key = manifest path;
                             record (K, H, W, C) uint8; meta {label_index, split,
                             positions, base_positions (mei, rank)}

:func:`index_job_data` joins the manifest with the shards a job needs, checks
them against the job's config (class count, frame size, channels, labels) and
raises :class:`~components.errors.InputError` naming the file at fault before
any training starts. Videos missing from a shard (quarantined or failed) are
skipped and counted.

Datasets (one per input shape; every sample is a dict of tensors):

======================  ==========================================  ===========
dataset                 sample                                      jobs
======================  ==========================================  ===========
:class:`ClipDataset`    ``x`` (C, T, H, W)                          teacher
:class:`PairedClipDataset` ``main`` (T, 3, H, W), ``lum`` (C, T, H, W)  student
:class:`ImageItemDataset`  ``x`` (3, H, W)                          normal, motion
======================  ==========================================  ===========

plus ``y`` (class) and ``video`` (index of the video in the split). Training
samples one random clip (``clip_len`` frames, ``stride`` apart) per video per
epoch; evaluation takes ``eval_clips`` evenly spaced clips per video, or every
item of an image dataset. Shards are memory-mapped: no video is decoded, so none
is decoded twice. Readers open lazily in the process that reads (DataLoader
workers, Ray workers).

Normalisation (done here, after augmentation, so models get normalised floats):

* RGB for the ViT and the 2D CNNs: ImageNet mean/std (``IMAGENET_MEAN/STD``).
  NOTE: timm's augreg ViT checkpoints were trained with mean = std = 0.5
  (``NORMALISATIONS["half"]``); ImageNet statistics are used for every 2D input.
* gamma-corrected clips for R(2+1)D: Kinetics-400 mean/std (torchvision's).
* optical flow (x, y; 0..255 <-> -bound..+bound pixels): mapped to [-1, 1].

Randomness: the clip position and augmentations of a sample come from a
generator seeded by ``(seed, epoch, index)``, so an epoch is the same whichever
worker or process computes it, and a resumed run sees the same data.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from components.data.manifest import (
    CLASSES_FILE,
    DATASET_FILE,
    MANIFEST_FILE,
    read_classes,
    read_dataset_info,
    read_manifest,
)
from components.data.sampling import ClipSampling, frame_indices
from components.data.shards import INDEX_FILE, META_FILE, ShardReader
from components.errors import InputError
from components.representations.kinds import KIND_CHANNELS
from components.training.augment import apply_clip_params, sample_clip_params
from components.training.config import AugmentConfig, JobConfig
from components.training.views import crop_view

log = logging.getLogger(__name__)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)
#: name -> (mean, std) per channel; "flow" maps [0, 1] to [-1, 1].
NORMALISATIONS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "imagenet": (IMAGENET_MEAN, IMAGENET_STD),
    "kinetics": (KINETICS_MEAN, KINETICS_STD),
    "half": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    "flow": ((0.5, 0.5), (0.5, 0.5)),
}
#: Channels of each representation kind's records.


def normalisation_for(kind: str, *, video_model: bool) -> str:
    """The normalisation of a representation kind: flow -> ``flow``; RGB for the video
    teacher/trunk -> ``kinetics``; RGB for the ViT and 2D CNNs -> ``imagenet``."""
    if kind == "flow":
        return "flow"
    return "kinetics" if video_model else "imagenet"


def normalise(x_tchw: torch.Tensor, name: str) -> torch.Tensor:
    """(T, C, H, W) float in [0, 1] -> normalised with ``NORMALISATIONS[name]``."""
    mean, std = NORMALISATIONS[name]
    if len(mean) != x_tchw.shape[1]:
        raise ValueError(f"normalisation {name!r} is for {len(mean)} channels, "
                         f"got {x_tchw.shape[1]}")
    m = torch.tensor(mean, dtype=x_tchw.dtype).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=x_tchw.dtype).view(1, -1, 1, 1)
    return (x_tchw - m) / s


# --------------------------------------------------------------------------- index


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

    roles = job_roles(job, cfg)
    readers = {role: _open_checked(represent_dir / kind, kind, cfg, section)
               for role, kind in roles.items()}
    entries: dict[str, list[VideoEntry]] = {"train": [], "test": []}
    skipped = 0
    for row in rows:
        if any(row.path not in reader for reader in readers.values()):
            skipped += 1
            continue
        main = readers["main"].record(row.path)
        for reader in readers.values():
            meta = reader.record(row.path).meta
            where = reader.root / INDEX_FILE
            if "label_index" in meta and int(meta["label_index"]) != row.label_index:
                raise InputError(where, f"record {row.path!r} has label_index "
                                 f"{meta['label_index']}, {manifest_path} says {row.label_index}")
            if "split" in meta and meta["split"] != row.split:
                raise InputError(where, f"record {row.path!r} is in split {meta['split']!r}, "
                                 f"{manifest_path} says {row.split!r}")
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
            skipped += 1
            continue
        entries[row.split].append(VideoEntry(row.path, row.label_index, items, base))
    if skipped:
        log.warning("%d of %d manifest videos have no record in %s; skipped", skipped, len(rows),
                    ", ".join(sorted({str(r.root) for r in readers.values()})))
    for split in ("train", "test"):
        if not entries[split]:
            raise InputError(manifest_path, f"no usable {split} video for {section} "
                             f"(shards: {', '.join(str(r.root) for r in readers.values())})")

    info_path = ingest_dir / DATASET_FILE
    info = read_dataset_info(info_path) if info_path.is_file() else {}
    files: dict[str, Path] = {"manifest": manifest_path, "classes": classes_path}
    if info_path.is_file():
        files["dataset_info"] = info_path
    for listed in info.get("list_files", []):
        path = Path(listed) if Path(listed).is_absolute() else (root or Path.cwd()) / listed
        if path.is_file():
            files[f"split.{path.name}"] = path
    for kind in sorted(set(roles.values())):
        files[f"shards.{kind}.meta"] = represent_dir / kind / META_FILE
    return JobData(
        classes=tuple(classes),
        train=tuple(entries["train"]),
        test=tuple(entries["test"]),
        skipped=skipped,
        roots={role: represent_dir / kind for role, kind in roles.items()},
        kinds=dict(roles),
        shard_params={kind: readers[role].params for role, kind in roles.items()},
        files=files,
        dataset_info=info,
    )


#: UCF-style ``..._gNN_cNN.ext`` names: NN after ``_g`` is the scene group (UCF101's
#: actor/scene groups, SEAGS_V1, the synthetic demo).
_SCENE_GROUP = re.compile(r"_g(\d+)_c\d+\.[^/]*$")


def scene_group(key: str) -> str | None:
    """The scene group of a UCF-style video name (``v_Rise_g03_c02.mp4`` -> ``03``)."""
    match = _SCENE_GROUP.search(key)
    return match.group(1) if match else None


def holdout_split(
    entries: Sequence[VideoEntry], fraction: float, seed: int
) -> tuple[tuple[VideoEntry, ...], tuple[VideoEntry, ...]]:
    """Split training videos into (train, validation), seeded.

    When every video name carries a UCF-style scene group (``_gNN_cNN``) and there
    are at least two groups, whole groups go to validation (about ``fraction`` of
    them, at least one): clips of one group share actor and background, so a
    validation video from a training group would be scored on a scene the model
    has seen (UCF101's split rule, applied to validation). Otherwise (or when a
    class would lose all its training videos) the split is by video, stratified by
    class: every class keeps at least one training video, and a class with two or
    more gives at least one to validation when ``fraction > 0``.
    """
    if fraction <= 0:
        return tuple(entries), ()
    by_group = _split_by_group(entries, fraction, seed)
    if by_group is not None:
        return by_group
    rng = np.random.default_rng(seed)
    by_class: dict[int, list[VideoEntry]] = {}
    for entry in entries:
        by_class.setdefault(entry.label, []).append(entry)
    val_keys: set[str] = set()
    for label in sorted(by_class):
        group = by_class[label]
        order = rng.permutation(len(group))
        n_val = min(len(group) - 1, max(1, round(fraction * len(group))))
        val_keys.update(group[int(i)].key for i in order[:n_val])
    return (tuple(e for e in entries if e.key not in val_keys),
            tuple(e for e in entries if e.key in val_keys))


def _split_by_group(entries: Sequence[VideoEntry], fraction: float, seed: int
                    ) -> tuple[tuple[VideoEntry, ...], tuple[VideoEntry, ...]] | None:
    groups = [scene_group(e.key) for e in entries]
    names = sorted({g for g in groups if g is not None})
    if any(g is None for g in groups) or len(names) < 2:
        return None
    order = np.random.default_rng(seed).permutation(len(names))
    n_val = min(len(names) - 1, max(1, round(fraction * len(names))))
    chosen = {names[int(i)] for i in order[:n_val]}
    train = tuple(e for e, g in zip(entries, groups, strict=True) if g not in chosen)
    val = tuple(e for e, g in zip(entries, groups, strict=True) if g in chosen)
    if {e.label for e in train} != {e.label for e in entries}:
        return None
    return train, val


# --------------------------------------------------------------------------- sampling


def eval_clip_starts(items: int, clip_len: int, stride: int, clips: int) -> list[int]:
    """Start positions of ``clips`` evenly spaced clips (one clip: the centred one)."""
    span = (clip_len - 1) * stride + 1
    slack = max(items - span, 0)
    if clips == 1:
        return [slack // 2]
    return [int(round(v)) for v in np.linspace(0, slack, clips)]


def clip_positions(items: int, clip_len: int, stride: int, start: int) -> list[int]:
    """Positions of a clip starting at ``start``; short videos repeat their last item."""
    return [min(start + k * stride, items - 1) for k in range(clip_len)]


def sample_generator(seed: int, epoch: int, index: int) -> tuple[np.random.Generator,
                                                                 torch.Generator]:
    """NumPy and torch generators for one sample of one epoch."""
    rng = np.random.default_rng([int(seed), int(epoch), int(index)])
    gen = torch.Generator().manual_seed(int(rng.integers(0, 2**62)))
    return rng, gen


def to_float_tchw(items_khwc_uint8: np.ndarray) -> torch.Tensor:
    """uint8 (T, H, W, C) -> float32 (T, C, H, W) in [0, 1]."""
    array = np.require(items_khwc_uint8, requirements=("C_CONTIGUOUS", "WRITEABLE"))
    return torch.from_numpy(array).permute(0, 3, 1, 2).float().div_(255.0)


# --------------------------------------------------------------------------- datasets


class _ShardDataset(Dataset):
    """Lazily opened readers (per process) and the epoch used to seed samples."""

    def __init__(self, roots: Mapping[str, Path], entries: Sequence[VideoEntry], seed: int,
                 train: bool, augment: AugmentConfig | None,
                 flip_map: Mapping[int, int] | None = None) -> None:
        self.roots = {role: Path(root) for role, root in roots.items()}
        self.entries = tuple(entries)
        self.seed = int(seed)
        self.train = bool(train)
        self.augment = augment if train else None
        self.flip_map = dict(flip_map or {})
        self.epoch = 0
        self._readers: dict[str, ShardReader] = {}

    def label(self, entry: VideoEntry, flipped: bool) -> torch.Tensor:
        """The sample's class: a horizontal flip turns a class of ``flip_map`` into its
        mirror (MoveLeft into MoveRight)."""
        return torch.tensor(self.flip_map.get(entry.label, entry.label) if flipped
                            else entry.label)

    def set_epoch(self, epoch: int) -> None:
        """Make the next pass draw epoch ``epoch``'s clips and augmentations."""
        self.epoch = int(epoch)

    def reader(self, role: str) -> ShardReader:
        reader = self._readers.get(role)
        if reader is None:
            reader = ShardReader(self.roots[role])
            self._readers[role] = reader
        return reader

    def keys_of(self, videos: Sequence[int]) -> tuple[str, ...]:
        """Record keys of video indices (for error messages)."""
        return tuple(self.entries[int(v)].key for v in videos)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_readers"] = {}
        return state


class ClipDataset(_ShardDataset):
    """Clips of one representation: ``x`` (C, T, H, W) float32, normalised.

    Args:
        root: shard folder (gamma or flow).
        entries: the split's videos.
        kind: representation kind (``gamma``, ``flow``, ``frames``).
        clip_len, stride: clip shape.
        train: random clip + augmentations per epoch; else ``eval_clips`` fixed clips
            x ``eval_crops`` crops per video.
        eval_clips: clips per video at evaluation.
        eval_crops: spatial crops per clip at evaluation
            (:func:`components.training.views.crop_view`; 1: the whole frame).
        seed: base seed.
        augment: augmentations (training only).
        norm: normalisation name (default: :func:`normalisation_for` a video model).
    """

    def __init__(self, root: Path, entries: Sequence[VideoEntry], *, kind: str, clip_len: int,
                 stride: int, train: bool, eval_clips: int = 1, eval_crops: int = 1,
                 seed: int = 0, augment: AugmentConfig | None = None, norm: str | None = None,
                 flip_map: Mapping[int, int] | None = None) -> None:
        super().__init__({"main": root}, entries, seed, train, augment, flip_map)
        self.kind = kind
        self.is_flow = kind == "flow"
        self.clip_len, self.stride = int(clip_len), int(stride)
        self.eval_clips, self.eval_crops = int(eval_clips), int(eval_crops)
        self.norm = norm or normalisation_for(kind, video_model=True)

    def __len__(self) -> int:
        return len(self.entries) * (1 if self.train else self.eval_clips * self.eval_crops)

    def crop_of(self, index: int) -> int:
        """The crop (0 .. eval_crops - 1) of evaluation sample ``index``."""
        return 0 if self.train else index % self.eval_crops

    def _view(self, clip_tchw: torch.Tensor, index: int, is_flow: bool) -> torch.Tensor:
        if self.train or self.eval_crops == 1:
            return clip_tchw
        return crop_view(clip_tchw, self.crop_of(index), self.eval_crops, is_flow=is_flow)

    def positions(self, index: int, rng: np.random.Generator | None) -> tuple[int, list[int]]:
        """(video index, item positions) of sample ``index``."""
        if self.train:
            video = index
            entry = self.entries[video]
            sampling = ClipSampling("stride", self.clip_len, self.stride)
            return video, frame_indices(entry.items, sampling, rng)
        video, clip = divmod(index // self.eval_crops, self.eval_clips)
        entry = self.entries[video]
        start = eval_clip_starts(entry.items, self.clip_len, self.stride, self.eval_clips)[clip]
        return video, clip_positions(entry.items, self.clip_len, self.stride, start)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng, gen = sample_generator(self.seed, self.epoch, index)
        video, positions = self.positions(index, rng if self.train else None)
        entry = self.entries[video]
        clip = to_float_tchw(self.reader("main").read(entry.key)[positions])
        flipped = False
        if self.augment is not None:
            params = sample_clip_params(self.augment, clip.shape[0], gen)
            clip = apply_clip_params(clip, params, is_flow=self.is_flow)
            flipped = params.flip
        clip = self._view(clip, index, self.is_flow)
        x = normalise(clip, self.norm).permute(1, 0, 2, 3).contiguous()  # (C, T, H, W)
        return {"x": x, "y": self.label(entry, flipped), "video": torch.tensor(video)}


class PairedClipDataset(ClipDataset):
    """LIFT-Net's inputs at the same frame positions: ``main`` raw frames (T, 3, H, W)
    ImageNet-normalised, and ``lum`` the luminous clip (C, T, H, W) (gamma:
    Kinetics-normalised; flow: [-1, 1]), with the same geometric augmentation.

    Args:
        frames_root: the ``frames`` shard folder.
        lum_root: the ``gamma`` or ``flow`` shard folder.
        lum_kind: ``gamma`` or ``flow``.
        Others: as :class:`ClipDataset`.
    """

    def __init__(self, frames_root: Path, lum_root: Path, entries: Sequence[VideoEntry], *,
                 lum_kind: str, clip_len: int, stride: int, train: bool, eval_clips: int = 1,
                 eval_crops: int = 1, seed: int = 0, augment: AugmentConfig | None = None,
                 flip_map: Mapping[int, int] | None = None) -> None:
        super().__init__(frames_root, entries, kind="frames", clip_len=clip_len, stride=stride,
                         train=train, eval_clips=eval_clips, eval_crops=eval_crops, seed=seed,
                         augment=augment, norm="imagenet", flip_map=flip_map)
        self.roots["lum"] = Path(lum_root)
        self.lum_kind = lum_kind
        self.lum_norm = normalisation_for(lum_kind, video_model=True)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng, gen = sample_generator(self.seed, self.epoch, index)
        video, positions = self.positions(index, rng if self.train else None)
        entry = self.entries[video]
        main = to_float_tchw(self.reader("main").read(entry.key)[positions])
        lum = to_float_tchw(self.reader("lum").read(entry.key)[positions])
        flipped = False
        if self.augment is not None:
            params = sample_clip_params(self.augment, main.shape[0], gen)
            flipped = params.flip
            main = apply_clip_params(main, params)
            lum = apply_clip_params(lum, params, is_flow=self.lum_kind == "flow", colour=False)
        main = self._view(main, index, is_flow=False)
        lum = self._view(lum, index, is_flow=self.lum_kind == "flow")
        return {
            "main": normalise(main, self.norm).contiguous(),
            "lum": normalise(lum, self.lum_norm).permute(1, 0, 2, 3).contiguous(),
            "y": self.label(entry, flipped),
            "video": torch.tensor(video),
        }


class ImageItemDataset(_ShardDataset):
    """Single images, ``x`` (3, H, W) ImageNet-normalised: every item of every video.

    Motion stream: the items of the MEI (or rank) records. Normal stream: the frame
    at each MEI's base position (``base_from_frames``), read from the frames shard.

    Args:
        root: shard folder of the items (mei/rank), or of the frames for the
            normal stream.
        entries: the split's videos (with ``base_positions`` for the normal stream).
        train: augment (flip etc.) when true.
        base_from_frames: read ``frames`` at ``entry.base_positions``.
        seed, augment: as :class:`ClipDataset`.
    """

    def __init__(self, root: Path, entries: Sequence[VideoEntry], *, train: bool,
                 base_from_frames: bool = False, seed: int = 0,
                 augment: AugmentConfig | None = None,
                 flip_map: Mapping[int, int] | None = None) -> None:
        super().__init__({"main": root}, entries, seed, train, augment, flip_map)
        self.base_from_frames = base_from_frames
        counts = [len(e.base_positions) if base_from_frames else e.items for e in self.entries]
        self._ends = np.cumsum(counts).tolist()

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    def locate(self, index: int) -> tuple[int, int]:
        """(video index, item position in the record) of sample ``index``."""
        video = int(np.searchsorted(self._ends, index, side="right"))
        item = index - (self._ends[video - 1] if video else 0)
        entry = self.entries[video]
        return video, entry.base_positions[item] if self.base_from_frames else item

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        video, position = self.locate(index)
        entry = self.entries[video]
        image = to_float_tchw(self.reader("main").read_item(entry.key, position)[None])
        flipped = False
        if self.augment is not None:
            _, gen = sample_generator(self.seed, self.epoch, index)
            params = sample_clip_params(self.augment, 1, gen)
            image = apply_clip_params(image, params)
            flipped = params.flip
        x = normalise(image, "imagenet")[0].contiguous()
        return {"x": x, "y": self.label(entry, flipped), "video": torch.tensor(video)}


def _job_dataset(job: str, cfg: JobConfig, roots: Mapping[str, Path], kinds: Mapping[str, str],
                 entries: Sequence[VideoEntry], seed: int, train: bool,
                 flip_map: Mapping[int, int] | None = None) -> _ShardDataset:
    augment = cfg.augment if train else None
    if job == "teacher":
        return ClipDataset(roots["main"], entries, kind=kinds["main"], clip_len=cfg.clip_len,
                           stride=cfg.stride, eval_clips=cfg.eval_clips,
                           eval_crops=cfg.eval_crops, seed=seed,
                           train=train, augment=augment, flip_map=flip_map)
    if job == "student":
        return PairedClipDataset(roots["main"], roots["lum"], entries, lum_kind=kinds["lum"],
                                 clip_len=cfg.clip_len, stride=cfg.stride,
                                 eval_clips=cfg.eval_clips, eval_crops=cfg.eval_crops,
                                 seed=seed, train=train,
                                 augment=augment, flip_map=flip_map)
    if job in ("normal", "motion"):
        normal = job == "normal"
        return ImageItemDataset(roots["frames"] if normal else roots["main"], entries,
                                train=train, base_from_frames=normal, seed=seed,
                                augment=augment, flip_map=flip_map)
    raise ValueError(f"unknown job {job!r}")


def build_datasets(
    job: str, cfg: JobConfig, roots: Mapping[str, Path], kinds: Mapping[str, str],
    train_entries: Sequence[VideoEntry], eval_entries: Sequence[VideoEntry], seed: int,
    flip_map: Mapping[int, int] | None = None,
) -> tuple[_ShardDataset, _ShardDataset]:
    """The (train, eval) datasets of a job (see the module table); ``flip_map``: class
    index -> the class a horizontal flip turns it into (training only)."""
    return (_job_dataset(job, cfg, roots, kinds, train_entries, seed, train=True,
                         flip_map=flip_map),
            _job_dataset(job, cfg, roots, kinds, eval_entries, seed, train=False))


def build_eval_dataset(
    job: str, cfg: JobConfig, roots: Mapping[str, Path], kinds: Mapping[str, str],
    entries: Sequence[VideoEntry], seed: int,
) -> _ShardDataset:
    """The evaluation dataset of a job over ``entries`` (fixed clips, no augmentation)."""
    return _job_dataset(job, cfg, roots, kinds, entries, seed, train=False)


def flip_label_map(pairs: Sequence[Sequence[str]], classes: Sequence[str],
                   where: str = "augment.flip_pairs") -> dict[int, int]:
    """Class index -> its mirror's index, from pairs of class names (both ways).

    Raises:
        ConfigError: a name that is not a class, or a class in two pairs.
    """
    from components.errors import ConfigError

    index = {name: i for i, name in enumerate(classes)}
    mapping: dict[int, int] = {}
    for pair in pairs:
        if len(pair) != 2:
            raise ConfigError(Path(where), f"expected pairs of class names, got {list(pair)}")
        unknown = [name for name in pair if name not in index]
        if unknown:
            raise ConfigError(Path(where), f"{unknown} not among the classes "
                              f"{', '.join(classes)}")
        a, b = index[pair[0]], index[pair[1]]
        if a in mapping or b in mapping:
            raise ConfigError(Path(where), f"{list(pair)}: a class may be in one pair only")
        mapping[a], mapping[b] = b, a
    return mapping
