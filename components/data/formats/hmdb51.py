"""HMDB51 split lists, exactly as ``test_train_splits.rar`` ships them.

Files (in ``--lists-dir``, else the first of the dataset root,
``testTrainMulti_7030_splits/``, ``splits/``, ``lists/`` that holds any): one per
class and split, ``<class>_test_split{1,2,3}.txt``, with lines
``<video>.avi <id>`` where id 1 = train, 2 = test, 0 = not used (the official
files end each line with a space; any whitespace is accepted).

- The class is everything before ``_test_split`` in the file name (class names
  hold underscores: ``brush_hair``, ``climb_stairs``); hidden files such as
  macOS ``._brush_hair_test_split1.txt`` are ignored.
- Class indices follow the sorted class names.
- Videos live under ``<class>/``: an entry's path is ``<class>/<video>``. A video
  name that is not a safe relative path (``../x.avi``, ``/x.avi``) is kept
  verbatim, so ingest can refuse it.
- Every class that has a split file for some split must have one for the split
  asked for. Id-0 lines are checked (format, duplicates) but yield no entry.
"""

from __future__ import annotations

import re
from pathlib import Path

from components.data.formats._common import (
    DatasetSplit,
    EntryCollector,
    Split,
    build_split,
    check_root,
    check_seed,
    check_split,
    list_dirs,
    parse_int,
    quote,
    read_lines,
    to_posix,
    visible_files,
)
from components.data.paths import is_safe_relative
from components.errors import InputError

FORMAT = "hmdb51"
SUBDIRS = ("testTrainMulti_7030_splits", "splits", "lists")
_SPLIT_FILE = re.compile(r"(?P<cls>.+)_test_split(?P<split>[0-9]+)\.txt")
_SPLIT_OF_ID: dict[int, Split] = {1: "train", 2: "test"}


def _find_split_files(dirs: list[Path], split: int) -> dict[str, dict[int, Path]]:
    """``{class: {split number: file}}`` from the first folder holding any split file."""
    for folder in dirs:
        found: dict[str, dict[int, Path]] = {}
        for path in visible_files(folder):
            match = _SPLIT_FILE.fullmatch(path.name)
            if match:
                found.setdefault(match["cls"], {})[int(match["split"])] = path
        if found:
            return found
    looked = ", ".join(str(folder) for folder in dirs)
    raise InputError(
        dirs[0] / f"<class>_test_split{split}.txt",
        f"no HMDB51 split files '<class>_test_split{split}.txt' found; looked in: {looked}",
    )


def parse_hmdb51(
    root: Path, split: int = 1, *, lists_dir: Path | None = None, seed: int = 0
) -> DatasetSplit:
    """Parse HMDB51 split ``split`` (1, 2 or 3).

    Args:
        root: Dataset root holding ``<class>/<video>.avi``.
        split: Official split number.
        lists_dir: Folder holding the split files; default: search ``root`` and its
            known subfolders.
        seed: Unused (the split is fixed by the lists); accepted for a uniform API.

    Returns:
        The split: train entries of every class (sorted class order, file order),
        then test entries likewise. ``list_files`` are the class files read.

    Raises:
        InputError: No split files, a class missing this split's file, or a
            malformed line (wrong column count, non-integer id, id not 0/1/2,
            duplicate video) naming file and line.
        ConfigError: ``split`` not in 1..3.
    """
    root = check_root(root)
    check_split(root, FORMAT, split, (1, 2, 3))
    check_seed(root, seed)
    found = _find_split_files(list_dirs(root, lists_dir, SUBDIRS), split)
    classes = sorted(found)
    files = [_split_file(found[name], name, split) for name in classes]
    collector = EntryCollector()
    for index, list_file in enumerate(files):
        _read_class_file(list_file, classes, index, collector)
    return build_split(FORMAT, split, classes, collector, files)


def _split_file(files_of_split: dict[int, Path], name: str, split: int) -> Path:
    """Class ``name``'s file for ``split``; InputError naming it when the class has
    files for other splits only."""
    if split not in files_of_split:
        other = next(iter(files_of_split.values()))
        raise InputError(
            other.with_name(f"{name}_test_split{split}.txt"),
            f"missing: class {name!r} has split files for split(s) "
            f"{sorted(files_of_split)} but not for split {split}",
        )
    return files_of_split[split]


def _read_class_file(list_file: Path, classes: list[str], index: int,
                     collector: EntryCollector) -> None:
    """Lines ``<video> <0|1|2>`` of class ``classes[index]``: 1 and 2 feed train and
    test, 0 (unused) only claims the path (a duplicate elsewhere is still refused)."""
    name = classes[index]
    for line in read_lines(list_file):
        tokens = line.text.split()
        if len(tokens) != 2:
            raise InputError(
                list_file,
                f"expected '<video> <0|1|2>' (2 columns), got {len(tokens)} columns in "
                f"{quote(line.text)}",
                line.number,
            )
        video = to_posix(tokens[0])
        usage = parse_int(tokens[1], list_file, line, "split id")
        path = f"{name}/{video}" if is_safe_relative(video) else video
        if usage == 0:
            collector.claim(path, list_file, line)
            continue
        if usage not in _SPLIT_OF_ID:
            raise InputError(
                list_file,
                f"split id {usage} is not 0 (unused), 1 (train) or 2 (test) in "
                f"{quote(line.text)}",
                line.number,
            )
        collector.add(path, classes, index, _SPLIT_OF_ID[usage], list_file, line)
