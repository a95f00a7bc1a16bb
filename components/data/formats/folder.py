"""Any ``root/<class>/<video>`` tree (also how InfAR ships), with a seeded 70/30 split.

- Classes are the sorted names of the non-hidden folders directly under the root
  that hold at least one video; class indices follow that order.
- Videos are the non-hidden files below a class folder (at any depth, hidden
  folders skipped, symlinked folders not followed) whose suffix is in
  :data:`VIDEO_EXTENSIONS` (compared case-insensitively). Entry paths are
  ``<class>/<...>/<video>`` relative to the root, sorted.
- No list file is read: ``list_files`` is empty and ``--lists-dir`` is refused.
  There is one split per seed, so ``--split`` must be 1; vary ``seed`` instead.

Split rule. Each video gets ``u = sha256(f"{seed}\\0{class}\\0{path}")`` read as
a number in [0, 1); it goes to test when ``u < 0.3``, else to train. The ratio
is therefore 70/30 per class *in expectation* (binomial: a class of 200 videos
gets 60 +- 6.5 test videos), and a video's split depends only on the seed, its
class and its own path, so adding or removing other files never moves it.

Small classes. A class with >= 2 videos whose hashes all fall on one side would
get an empty split; then the one video whose ``u`` is nearest the other side
(lowest ``u`` when all are train, highest when all are test) is moved across.
The trade-off: this override depends on the class's other files, so in such a
class adding a video can undo it (the moved video returns to its hashed split).
It only ever touches classes whose hashed split was one-sided, which happens
with probability ``0.7**n + 0.3**n`` for ``n`` videos (< 3% at n = 10); classes
whose hashed split already has both sides never see an override, and adding
files cannot create one there. A class with one video keeps its hashed split.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from components.data.formats._common import (
    VIDEO_EXTENSIONS,
    DatasetSplit,
    EntryCollector,
    Line,
    Split,
    build_split,
    check_root,
    check_seed,
    check_split,
)
from components.errors import ConfigError, InputError

FORMAT = "folder"
TEST_FRACTION = 0.3


def split_hash(seed: int, label: str, path: str) -> float:
    """The split draw of one video: a number in [0, 1) from (seed, class, path) alone."""
    key = f"{seed}\0{label}\0{path}".encode("utf-8", "surrogateescape")
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / 2.0**64


def assign_splits(seed: int, label: str, paths: list[str]) -> list[Split]:
    """Train/test for each of one class's videos (see the module doc for the rule).

    Args:
        seed: Split seed.
        label: Class name.
        paths: The class's video paths relative to the root.

    Returns:
        ``"train"`` or ``"test"`` per path, in the same order.
    """
    draws = [split_hash(seed, label, path) for path in paths]
    splits: list[Split] = ["test" if u < TEST_FRACTION else "train" for u in draws]
    if len(paths) >= 2 and "test" not in splits:
        splits[min(range(len(draws)), key=draws.__getitem__)] = "test"
    elif len(paths) >= 2 and "train" not in splits:
        splits[max(range(len(draws)), key=draws.__getitem__)] = "train"
    return splits


def _videos(root: Path, label: str) -> list[str]:
    found = []
    for folder, subdirs, files in os.walk(root / label):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        relative = Path(folder).relative_to(root).as_posix()
        for name in files:
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS:
                found.append(f"{relative}/{name}")
    return sorted(found)


def parse_folder(
    root: Path, split: int = 1, *, lists_dir: Path | None = None, seed: int = 0
) -> DatasetSplit:
    """Scan ``root/<class>/<video>`` and split it 70/30 per class by seeded hash.

    Args:
        root: Dataset root.
        split: Must be 1 (one split per seed).
        lists_dir: Must be None (no list files).
        seed: Split seed; the same seed and files always give the same split.

    Returns:
        The split: train entries (class order, path order), then test entries.
        ``source`` is the video file itself (no list line exists).

    Raises:
        InputError: No class folder holds a video.
        ConfigError: ``split`` other than 1, a ``lists_dir``, or a non-int seed.
    """
    root = check_root(root)
    check_split(root, FORMAT, split, (1,))
    seed = check_seed(root, seed)
    if lists_dir is not None:
        raise ConfigError(Path(lists_dir), "the folder format reads no list files")
    resolved_root = root.resolve()
    candidates = sorted(d.name for d in root.iterdir() if not d.name.startswith(".") and d.is_dir()
                        # a class folder linked from outside the root is not a class here:
                        # ingest refuses every video in it
                        and d.resolve().is_relative_to(resolved_root))
    by_class = {label: _videos(root, label) for label in candidates}
    classes = [label for label in candidates if by_class[label]]
    if not classes:
        suffixes = " ".join(VIDEO_EXTENSIONS)
        raise InputError(root, f"no <class>/<video> files found (video suffixes: {suffixes})")
    collector = EntryCollector()
    for index, label in enumerate(classes):
        paths = by_class[label]
        for path, which in zip(paths, assign_splits(seed, label, paths), strict=True):
            collector.add(
                path, classes, index, which, root / path, Line(0, path), source=str(root / path)
            )
    return build_split(FORMAT, split, classes, collector, ())
