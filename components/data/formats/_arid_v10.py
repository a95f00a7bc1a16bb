"""ARID v1.0 text lists (``ARID_splitN_{train,test}.txt``): their rows, and the class
names taken from the folders listed with each id (the rules:
:mod:`components.data.formats.arid`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from components.data.formats._common import (
    EntryCollector,
    Line,
    Split,
    class_folder,
    parse_int,
    quote,
    read_lines,
    source_of,
    split_fields,
    to_posix,
)
from components.data.paths import is_safe_relative
from components.errors import InputError


@dataclass(frozen=True)
class _Row:
    list_file: Path
    line: Line
    split: Split
    class_id: int
    path: str


def read_v10_lists(train_file: Path, test_file: Path) -> tuple[tuple[str, ...], EntryCollector]:
    """The class names (index = class id) and the entries of a v1.0 train and test list.

    Raises:
        InputError: malformed lines, an id and a folder that disagree, ids that do not
            run ``0..K-1``, duplicates (naming file and line).
    """
    rows = _read_rows(train_file, "train") + _read_rows(test_file, "test")
    name_of, id_of = _class_names(rows)
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
    return classes, collector


def _read_rows(list_file: Path, split: Split) -> list[_Row]:
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


def _class_names(
    rows: list[_Row],
) -> tuple[dict[int, tuple[str, _Row]], dict[str, tuple[int, _Row]]]:
    """Class id -> (folder, first row) and folder -> (class id, first row), from the rows
    with a safe ``<Class>/<video>`` path; an id must always come with one folder and a
    folder with one id."""
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
    return name_of, id_of
