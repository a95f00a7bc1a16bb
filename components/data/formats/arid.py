"""ARID (Action Recognition In the Dark) split lists: v1.0 text lists and 1.1 CSV lists.

Lists are looked for in ``--lists-dir``, else in the dataset root, ``list_cvt/``
(where ARID ships them), ``splits/`` and ``lists/``.

**ARID v1.0** (tried first): ``ARID_split{1,2,3}_train.txt`` and
``ARID_split{1,2,3}_test.txt``, lines ``<row>\\t<class id>\\t<Class>/<video>``
(tab-separated; a line without tabs is split on whitespace into exactly three
columns). Class ids are 0-based (11 classes, ids in alphabetical order of class
name as shipped) and used as label indices unchanged. There is no class map
file: the name of class *i* is the folder of the entries listed with id *i*.
Every id must always come with the same folder and vice versa, and the ids seen
must be exactly ``0..K-1`` (alphabetical order is not enforced: the ids decide).

**ARID 1.1** (UG2+ 2021, used when no v1.0 list exists for the split): CSV lists
with the header ``VideoID,Video,ClassID`` plus a class map of ``<id>\\t<Class>``
lines (``5\\tRun``). Accepted names, matched case-insensitively in the first
searched folder holding a train list:

- train list: the one ``*train*.csv`` (e.g. ``ARID1.1_t1_train_pub.csv``);
- test list: among the other ``*.csv`` files whose header has a ``ClassID``
  column, the one whose name holds ``test``, else the one whose name holds
  ``val`` (e.g. ``ARID1.1_t1_validation_gt_pub.csv``); unlabelled challenge
  test lists are passed over;
- class map: the one ``mapping_table*.txt`` (``mapping_table_t1.txt``), else the
  one ``*mapping*.txt``, else ``classInd.txt``, looked for beside the train list
  first, then in the other searched folders.

Several files matching at the same step is an error (keep one, or point
``--lists-dir`` at a folder holding one set). The lists and map can instead be
named explicitly with :func:`parse_arid`'s ``train_list``/``test_list``/
``class_map`` (a relative name is looked up like the defaults; an absolute path
is used as is). ARID 1.1 ships a single split, so ``--split`` must be 1 unless
the lists are named explicitly.

Class ids in the map need not be contiguous (track 1 of ARID 1.1 uses 5..10):
they map to 0-based indices in ascending order of original id and the names are
those of the map. The ``Video`` column of the 1.1 lists is either
``<Class>/<file>`` (train list) or a bare file name (validation list, shipped
flat as ``0.mp4``, ``1.mp4``...). A bare name is placed under its class folder,
named by the map: the entry path is ``<Class>/<file>``, so the dataset root must
hold every video under ``<Class>/``. A ``<Class>/<file>`` value must name the
class of its ``ClassID``. Unsafe values (``../x.mp4``, ``/x.mp4``) are kept
verbatim for ingest to refuse.

This module finds the lists and picks the version; :mod:`._arid_v10` reads v1.0
lists, :mod:`._arid_v11` finds and reads 1.1 lists and their class map.
"""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path

from components.data.formats._arid_v10 import read_v10_lists
from components.data.formats._arid_v11 import find_class_map, find_csv_lists, read_v11_lists
from components.data.formats._common import (
    DatasetSplit,
    build_split,
    check_root,
    check_seed,
    check_split,
    find_list_file,
    list_dirs,
    visible_files,
)
from components.errors import ConfigError, InputError

FORMAT = "arid"
SUBDIRS = ("list_cvt", "splits", "lists")


def parse_arid(
    root: Path,
    split: int = 1,
    *,
    lists_dir: Path | None = None,
    seed: int = 0,
    train_list: str | Path | None = None,
    test_list: str | Path | None = None,
    class_map: str | Path | None = None,
) -> DatasetSplit:
    """Parse an ARID split (v1.0 lists, else ARID 1.1 CSV lists; see the module doc).

    Args:
        root: Dataset root holding ``<Class>/<video>``.
        split: v1.0 split number (1..3); must be 1 for auto-detected 1.1 lists.
        lists_dir: Folder holding the lists; default: search ``root`` and its
            known subfolders.
        seed: Unused (the split is fixed by the lists); accepted for a uniform API.
        train_list: Explicit train list (``.txt`` for v1.0, ``.csv`` for 1.1);
            needs ``test_list`` too.
        test_list: Explicit test list, same kind as ``train_list``.
        class_map: Explicit 1.1 class map (only with ``.csv`` lists).

    Returns:
        The split, train entries first.

    Raises:
        InputError: Missing or ambiguous list files, malformed lines (naming
            file and line), duplicates (naming both lines).
        ConfigError: An unshipped ``split`` or inconsistent explicit names.
    """
    root = check_root(root)
    check_seed(root, seed)
    dirs = list_dirs(root, lists_dir, SUBDIRS)
    if train_list is not None or test_list is not None or class_map is not None:
        return _parse_explicit(root, split, dirs, train_list, test_list, class_map)
    v1_train = _first_file(dirs, f"ARID_split{split}_train.txt")
    if v1_train is not None:
        check_split(root, FORMAT, split, (1, 2, 3))
        v1_test = find_list_file(dirs, [f"ARID_split{split}_test.txt"], "ARID v1.0 test list")
        return _parse_v1(split, v1_train, v1_test)
    if any(fnmatch(p.name, "ARID_split*_train.txt") for d in dirs for p in visible_files(d)):
        check_split(root, FORMAT, split, (1, 2, 3))
    found = find_csv_lists(dirs)
    if found is None:
        looked = ", ".join(str(d) for d in dirs)
        raise InputError(
            dirs[0] / f"ARID_split{split}_train.txt",
            f"no ARID lists found: looked for ARID_split{split}_train.txt (v1.0) and "
            f"*train*.csv (1.1) in: {looked}",
        )
    check_split(root, FORMAT, split, (1,))
    train_file, test_file = found
    map_file = find_class_map(_unique([train_file.parent, *dirs]))
    return _parse_v11(split, map_file, train_file, test_file)


def _first_file(dirs: list[Path], name: str) -> Path | None:
    for folder in dirs:
        if (folder / name).is_file():
            return folder / name
    return None


def _unique(paths: list[Path]) -> list[Path]:
    seen: list[Path] = []
    for path in paths:
        if path not in seen:
            seen.append(path)
    return seen


def _resolve(dirs: list[Path], name: str | Path, what: str) -> Path:
    path = Path(name)
    if path.is_absolute():
        if not path.is_file():
            raise InputError(path, f"{what} not found")
        return path
    return find_list_file(dirs, [str(path)], what)


def _parse_explicit(
    root: Path,
    split: int,
    dirs: list[Path],
    train_list: str | Path | None,
    test_list: str | Path | None,
    class_map: str | Path | None,
) -> DatasetSplit:
    if train_list is None or test_list is None:
        raise ConfigError(root, "ARID: name both train_list and test_list (or neither)")
    if isinstance(split, bool) or not isinstance(split, int) or split < 1:
        raise ConfigError(root, f"ARID: split must be a positive integer, got {split!r}")
    train_file = _resolve(dirs, train_list, "ARID train list")
    test_file = _resolve(dirs, test_list, "ARID test list")
    kinds = {p.suffix.lower() == ".csv" for p in (train_file, test_file)}
    if len(kinds) != 1:
        raise ConfigError(root, "ARID: train_list and test_list must both be .csv (1.1) or not")
    if kinds == {True}:
        map_file = (
            _resolve(dirs, class_map, "ARID 1.1 class map")
            if class_map is not None
            else find_class_map(_unique([train_file.parent, *dirs]))
        )
        return _parse_v11(split, map_file, train_file, test_file)
    if class_map is not None:
        raise ConfigError(root, "ARID: class_map only goes with ARID 1.1 .csv lists")
    return _parse_v1(split, train_file, test_file)


def _parse_v1(split: int, train_file: Path, test_file: Path) -> DatasetSplit:
    classes, collector = read_v10_lists(train_file, test_file)
    return build_split(FORMAT, split, classes, collector, (train_file, test_file))


def _parse_v11(split: int, map_file: Path, train_file: Path, test_file: Path) -> DatasetSplit:
    classes, collector = read_v11_lists(map_file, train_file, test_file)
    return build_split(FORMAT, split, classes.names, collector, (map_file, train_file, test_file))
