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
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from components.data.formats._common import (
    ClassIndex,
    DatasetSplit,
    EntryCollector,
    Line,
    Split,
    build_split,
    check_root,
    check_seed,
    check_split,
    class_folder,
    find_list_file,
    list_dirs,
    parse_class_map,
    parse_int,
    quote,
    read_lines,
    source_of,
    split_fields,
    to_posix,
    visible_files,
)
from components.data.paths import is_safe_relative
from components.errors import ConfigError, InputError

FORMAT = "arid"
SUBDIRS = ("list_cvt", "splits", "lists")
CSV_COLUMNS = ("VideoID", "Video", "ClassID")
_MAP_PATTERNS = ("mapping_table*.txt", "*mapping*.txt", "classInd.txt")


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
    found = _find_csv_lists(dirs)
    if found is None:
        looked = ", ".join(str(d) for d in dirs)
        raise InputError(
            dirs[0] / f"ARID_split{split}_train.txt",
            f"no ARID lists found: looked for ARID_split{split}_train.txt (v1.0) and "
            f"*train*.csv (1.1) in: {looked}",
        )
    check_split(root, FORMAT, split, (1,))
    train_file, test_file = found
    map_file = _find_class_map(_unique([train_file.parent, *dirs]))
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
            else _find_class_map(_unique([train_file.parent, *dirs]))
        )
        return _parse_v11(split, map_file, train_file, test_file)
    if class_map is not None:
        raise ConfigError(root, "ARID: class_map only goes with ARID 1.1 .csv lists")
    return _parse_v1(split, train_file, test_file)


# --- ARID v1.0 ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    list_file: Path
    line: Line
    split: Split
    class_id: int
    path: str


def _read_v1_rows(list_file: Path, split: Split) -> list[_Row]:
    rows = []
    for line in read_lines(list_file):
        fields = split_fields(line.text, 2)
        if len(fields) != 3 or not all(fields):
            raise InputError(
                list_file,
                f"expected '<row>\\t<class id>\\t<Class>/<video>' (3 columns), got "
                f"{quote(line.text)}",
                line.number,
            )
        parse_int(fields[0], list_file, line, "row number")
        class_id = parse_int(fields[1], list_file, line, "class id")
        if class_id < 0:
            raise InputError(
                list_file, f"class id {class_id} is negative in {quote(line.text)}", line.number
            )
        rows.append(_Row(list_file, line, split, class_id, to_posix(fields[2])))
    return rows


def _parse_v1(split: int, train_file: Path, test_file: Path) -> DatasetSplit:
    rows = _read_v1_rows(train_file, "train") + _read_v1_rows(test_file, "test")
    name_of: dict[int, tuple[str, _Row]] = {}
    id_of: dict[str, tuple[int, _Row]] = {}
    for row in rows:
        if not is_safe_relative(row.path):
            continue
        folder = class_folder(row.path)
        where, line, text = row.list_file, row.line.number, quote(row.line.text)
        if not folder:
            raise InputError(
                where, f"has no class folder (expected '<Class>/<video>'): {text}", line
            )
        if row.class_id in name_of and name_of[row.class_id][0] != folder:
            name, first = name_of[row.class_id]
            raise InputError(
                where,
                f"class id {row.class_id} is {name!r} at "
                f"{source_of(first.list_file, first.line.number)} but folder {folder!r} in {text}",
                line,
            )
        if folder in id_of and id_of[folder][0] != row.class_id:
            class_id, first = id_of[folder]
            raise InputError(
                where,
                f"class folder {folder!r} has id {class_id} at "
                f"{source_of(first.list_file, first.line.number)} but id {row.class_id} in {text}",
                line,
            )
        name_of.setdefault(row.class_id, (folder, row))
        id_of.setdefault(folder, (row.class_id, row))
    ids = sorted(name_of)
    if not ids:
        raise InputError(train_file, "no entry with a '<Class>/<video>' path: cannot name classes")
    missing = sorted(set(range(ids[-1] + 1)) - set(ids))
    if missing:
        raise InputError(
            train_file,
            f"class ids must run 0..{ids[-1]}, but {missing} never appear with a "
            f"'<Class>/<video>' path in {train_file.name} or {test_file.name}",
        )
    classes = tuple(name_of[i][0] for i in ids)
    collector = EntryCollector()
    for row in rows:
        where, line, text = row.list_file, row.line.number, quote(row.line.text)
        if row.class_id not in name_of:
            raise InputError(
                where, f"unknown class id {row.class_id} (ids run 0..{ids[-1]}) in {text}", line
            )
        folder = class_folder(row.path)
        if folder in id_of and id_of[folder][0] != row.class_id:
            raise InputError(
                where,
                f"class id {row.class_id} ({classes[row.class_id]!r}) disagrees with the class "
                f"folder {folder!r} in {text}",
                line,
            )
        collector.add(row.path, classes, row.class_id, row.split, row.list_file, row.line)
    return build_split(FORMAT, split, classes, collector, (train_file, test_file))


# --- ARID 1.1 ----------------------------------------------------------------------


def _csv_row(text: str, list_file: Path, line: Line) -> list[str]:
    try:
        return [cell.strip() for cell in next(csv.reader([text], strict=True))]
    except csv.Error as exc:
        raise InputError(list_file, f"bad CSV ({exc}) in {quote(line.text)}", line.number) from None


def _is_labelled_csv(path: Path) -> bool:
    lines = read_lines(path)
    return bool(lines) and "ClassID" in _csv_row(lines[0].text, path, lines[0])


def _find_csv_lists(dirs: list[Path]) -> tuple[Path, Path] | None:
    for folder in dirs:
        csvs = [p for p in visible_files(folder) if p.suffix.lower() == ".csv"]
        train = [p for p in csvs if "train" in p.name.lower()]
        if not train:
            continue
        if len(train) > 1:
            names = ", ".join(p.name for p in train)
            raise InputError(
                train[0], f"several ARID 1.1 train lists ({names}); keep one or use --lists-dir"
            )
        rest = [p for p in csvs if p not in train]
        tests = [p for p in rest if "test" in p.name.lower()]
        vals = [p for p in rest if "val" in p.name.lower() and p not in tests]
        for group in (tests, vals):
            labelled = [p for p in group if _is_labelled_csv(p)]
            if len(labelled) == 1:
                return train[0], labelled[0]
            if labelled:
                names = ", ".join(p.name for p in labelled)
                raise InputError(
                    labelled[0],
                    f"several labelled ARID 1.1 test lists ({names}); keep one or use --lists-dir",
                )
        raise InputError(
            folder / "*test*.csv",
            f"no labelled ARID 1.1 test list (*test*.csv or *val*.csv with a ClassID column) "
            f"beside {train[0].name}",
        )
    return None


def _find_class_map(folders: list[Path]) -> Path:
    for folder in folders:
        files = visible_files(folder)
        for pattern in _MAP_PATTERNS:
            hits = [p for p in files if fnmatch(p.name.lower(), pattern.lower())]
            if len(hits) == 1:
                return hits[0]
            if hits:
                names = ", ".join(p.name for p in hits)
                raise InputError(
                    hits[0], f"several ARID 1.1 class maps ({names}); keep one or use --lists-dir"
                )
    looked = ", ".join(str(f) for f in folders)
    raise InputError(
        folders[0] / "mapping_table.txt",
        f"ARID 1.1 class map not found; looked for {', '.join(_MAP_PATTERNS)} in: {looked}",
    )


def _parse_csv_list(
    list_file: Path, split: Split, classes: ClassIndex, collector: EntryCollector
) -> None:
    lines = read_lines(list_file)
    if not lines:
        raise InputError(list_file, "empty; expected the header 'VideoID,Video,ClassID'")
    head = lines[0]
    header = _csv_row(head.text, list_file, head)
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing or len(set(header)) != len(header):
        problem = f"lacks column(s) {missing}" if missing else "repeats a column"
        raise InputError(
            list_file,
            f"header {problem}; expected 'VideoID,Video,ClassID', got {quote(head.text)}",
            head.number,
        )
    col = {name: header.index(name) for name in CSV_COLUMNS}
    map_name = classes.path.name
    for line in lines[1:]:
        text = quote(line.text)
        row = _csv_row(line.text, list_file, line)
        if len(row) != len(header):
            raise InputError(
                list_file,
                f"expected {len(header)} comma-separated columns ({','.join(header)}), got "
                f"{len(row)} in {text}",
                line.number,
            )
        if not row[col["VideoID"]] or not row[col["Video"]]:
            raise InputError(list_file, f"empty VideoID or Video in {text}", line.number)
        video = to_posix(row[col["Video"]])
        class_id = parse_int(row[col["ClassID"]], list_file, line, "ClassID")
        index = classes.index_by_id.get(class_id)
        if index is None:
            raise InputError(
                list_file,
                f"unknown ClassID {class_id} ({map_name} has ids {classes.describe_ids()}) in "
                f"{text}",
                line.number,
            )
        name = classes.names[index]
        if not is_safe_relative(video):
            path = video
        elif "/" in video:
            folder = class_folder(video)
            if folder != name:
                raise InputError(
                    list_file,
                    f"ClassID {class_id} ({name!r} in {map_name}) disagrees with the class "
                    f"folder {folder!r}{classes.hint(folder)} in {text}",
                    line.number,
                )
            path = video
        else:
            path = f"{name}/{video}"
        collector.add(path, classes.names, index, split, list_file, line)


def _parse_v11(split: int, map_file: Path, train_file: Path, test_file: Path) -> DatasetSplit:
    classes = parse_class_map(map_file, bases=None)
    collector = EntryCollector()
    _parse_csv_list(train_file, "train", classes, collector)
    _parse_csv_list(test_file, "test", classes, collector)
    return build_split(FORMAT, split, classes.names, collector, (map_file, train_file, test_file))
