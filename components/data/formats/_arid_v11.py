"""ARID 1.1 CSV lists (``VideoID,Video,ClassID``) and their class map: finding them
beside each other, and reading them (the rules: :mod:`components.data.formats.arid`)."""

from __future__ import annotations

import csv
from fnmatch import fnmatch
from pathlib import Path

from components.data.formats._class_map import ClassIndex, parse_class_map
from components.data.formats._common import (
    EntryCollector,
    Line,
    Split,
    class_folder,
    parse_int,
    quote,
    read_lines,
    to_posix,
    visible_files,
)
from components.data.paths import is_safe_relative
from components.errors import InputError

CSV_COLUMNS = ("VideoID", "Video", "ClassID")
_MAP_PATTERNS = ("mapping_table*.txt", "*mapping*.txt", "classInd.txt")


def find_csv_lists(dirs: list[Path]) -> tuple[Path, Path] | None:
    """The train and labelled test list of the first folder holding a ``*train*.csv``,
    or ``None`` when no folder holds one.

    Raises:
        InputError: several train lists, or no or several labelled test lists, in
            that folder.
    """
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


def find_class_map(folders: list[Path]) -> Path:
    """The class map in the first of ``folders`` holding one (by the patterns in order).

    Raises:
        InputError: no class map, or several matching one pattern in a folder.
    """
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


def read_v11_lists(map_file: Path, train_file: Path, test_file: Path
                   ) -> tuple[ClassIndex, EntryCollector]:
    """The classes of the map and the entries of the train and test lists.

    Raises:
        InputError: a malformed map or list, an unknown ClassID, a class folder that
            disagrees with its ClassID, duplicates (naming file and line).
    """
    classes = parse_class_map(map_file, bases=None)
    collector = EntryCollector()
    _read_csv_list(train_file, "train", classes, collector)
    _read_csv_list(test_file, "test", classes, collector)
    return classes, collector


def _csv_row(text: str, list_file: Path, line: Line) -> list[str]:
    try:
        return [cell.strip() for cell in next(csv.reader([text], strict=True))]
    except csv.Error as exc:
        raise InputError(list_file, f"bad CSV ({exc}) in {quote(line.text)}", line.number) from None


def _is_labelled_csv(path: Path) -> bool:
    lines = read_lines(path)
    return bool(lines) and "ClassID" in _csv_row(lines[0].text, path, lines[0])


def _read_csv_list(
    list_file: Path, split: Split, classes: ClassIndex, collector: EntryCollector
) -> None:
    lines = read_lines(list_file)
    header = _read_header(list_file, lines)
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
        path = _entry_path(video, class_id, classes.names[index], classes, list_file, line)
        collector.add(path, classes.names, index, split, list_file, line)


def _read_header(list_file: Path, lines: list[Line]) -> list[str]:
    """The header's columns: every one of :data:`CSV_COLUMNS`, none twice."""
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
    return header


def _entry_path(video: str, class_id: int, name: str, classes: ClassIndex, list_file: Path,
                line: Line) -> str:
    """The entry path of a ``Video`` value: ``<Class>/<file>`` as listed (its folder must
    be the ClassID's class), a bare file name under its class folder, an unsafe value
    verbatim (for ingest to refuse)."""
    if not is_safe_relative(video):
        return video
    if "/" in video:
        folder = class_folder(video)
        if folder != name:
            raise InputError(
                list_file,
                f"ClassID {class_id} ({name!r} in {classes.path.name}) disagrees with the class "
                f"folder {folder!r}{classes.hint(folder)} in {quote(line.text)}",
                line.number,
            )
        return video
    return f"{name}/{video}"
