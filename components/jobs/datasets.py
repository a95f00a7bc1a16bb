"""Torch datasets over the representation shards (the job's data indexed by
:mod:`.data`).

Inputs (written by ``har ingest`` and ``har represent``)::

    data/ingest/manifest.csv, classes.txt, dataset.json
    data/represent/<kind>/   one shard folder per kind; record key = manifest path;
                             record (K, H, W, C) uint8; meta {label_index, split,
                             positions, base_positions (mei, rank)}

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

Normalisation is done here, after augmentation, so models get normalised floats;
the statistics of each input are :mod:`.normalisation`'s (whose names this module
re-exports).

Randomness: the clip position and augmentations of a sample come from a
generator seeded by ``(seed, epoch, index)``, so an epoch is the same whichever
worker or process computes it, and a resumed run sees the same data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch.utils.data import Dataset

from components.data.sampling import ClipSampling, frame_indices
from components.data.shards import ShardReader
from components.jobs.augment import apply_clip_params, sample_clip_params
from components.jobs.config import AugmentConfig, ClipJobConfig, JobConfig
from components.jobs.data import VideoEntry
from components.jobs.normalisation import IMAGENET_MEAN as IMAGENET_MEAN
from components.jobs.normalisation import IMAGENET_STD as IMAGENET_STD
from components.jobs.normalisation import KINETICS_MEAN as KINETICS_MEAN
from components.jobs.normalisation import KINETICS_STD as KINETICS_STD
from components.jobs.normalisation import NORMALISATIONS as NORMALISATIONS
from components.jobs.normalisation import normalisation_for, normalise, to_float_tchw
from components.jobs.views import crop_view

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


# --------------------------------------------------------------------------- datasets


class RecordSource(Protocol):
    """What a dataset reads a role's records through: a :class:`ShardReader`, or
    records held in memory (``har predict``'s ``MemoryRecords``)."""

    def read(self, key: str) -> np.ndarray: ...

    def read_item(self, key: str, item: int) -> np.ndarray: ...


class ShardDataset(Dataset[dict[str, torch.Tensor]]):
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
        self._readers: dict[str, RecordSource] = {}

    def __len__(self) -> int:  # the subclasses': samples per pass
        raise NotImplementedError

    def label(self, entry: VideoEntry, flipped: bool) -> torch.Tensor:
        """The sample's class: a horizontal flip turns a class of ``flip_map`` into its
        mirror (MoveLeft into MoveRight)."""
        return torch.tensor(self.flip_map.get(entry.label, entry.label) if flipped
                            else entry.label)

    def set_epoch(self, epoch: int) -> None:
        """Make the next pass draw epoch ``epoch``'s clips and augmentations."""
        self.epoch = int(epoch)

    def reader(self, role: str) -> RecordSource:
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


class ClipDataset(ShardDataset):
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
            (:func:`components.jobs.views.crop_view`; 1: the whole frame).
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


class ImageItemDataset(ShardDataset):
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


def _clip_config(job: str, cfg: JobConfig) -> ClipJobConfig:
    if not isinstance(cfg, ClipJobConfig):
        raise TypeError(f"the {job} job reads clips: its config must be a ClipJobConfig, "
                        f"got {type(cfg).__name__}")
    return cfg


def _job_dataset(job: str, cfg: JobConfig, roots: Mapping[str, Path], kinds: Mapping[str, str],
                 entries: Sequence[VideoEntry], seed: int, train: bool,
                 flip_map: Mapping[int, int] | None = None) -> ShardDataset:
    augment = cfg.augment if train else None
    if job == "teacher":
        clip = _clip_config(job, cfg)
        return ClipDataset(roots["main"], entries, kind=kinds["main"], clip_len=clip.clip_len,
                           stride=clip.stride, eval_clips=clip.eval_clips,
                           eval_crops=clip.eval_crops, seed=seed,
                           train=train, augment=augment, flip_map=flip_map)
    if job == "student":
        clip = _clip_config(job, cfg)
        return PairedClipDataset(roots["main"], roots["lum"], entries, lum_kind=kinds["lum"],
                                 clip_len=clip.clip_len, stride=clip.stride,
                                 eval_clips=clip.eval_clips, eval_crops=clip.eval_crops,
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
) -> tuple[ShardDataset, ShardDataset]:
    """The (train, eval) datasets of a job (see the module table); ``flip_map``: class
    index -> the class a horizontal flip turns it into (training only)."""
    return (_job_dataset(job, cfg, roots, kinds, train_entries, seed, train=True,
                         flip_map=flip_map),
            _job_dataset(job, cfg, roots, kinds, eval_entries, seed, train=False))


def build_eval_dataset(
    job: str, cfg: JobConfig, roots: Mapping[str, Path], kinds: Mapping[str, str],
    entries: Sequence[VideoEntry], seed: int,
) -> ShardDataset:
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
