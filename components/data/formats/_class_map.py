"""Class maps (``classInd.txt``, ARID 1.1's mapping table): ``<id> <name>`` lines read
into 0-based indices, with the checks every format's map gets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from components.data.formats._common import Line, parse_int, quote, read_lines, split_fields
from components.errors import InputError


@dataclass(frozen=True)
class ClassIndex:
    """A class map file (``classInd.txt``, ARID's mapping table) read into indices.

    Attributes:
        path: The map file.
        names: Class names by 0-based index (ascending order of original id).
        index_by_id: Original id -> 0-based index.
        index_by_name: Class name -> 0-based index.
    """

    path: Path
    names: tuple[str, ...]
    index_by_id: Mapping[int, int] = field(repr=False)
    index_by_name: Mapping[str, int] = field(repr=False)

    def hint(self, folder: str) -> str:
        """A ``"; did you mean ..."`` suffix when ``folder`` differs only in case."""
        matches = [n for n in self.names if n.casefold() == folder.casefold()]
        return (
            f"; {self.path.name} has {matches[0]!r} (names are case-sensitive)" if matches else ""
        )

    def describe_ids(self) -> str:
        """The known ids, for messages."""
        ids = sorted(self.index_by_id)
        return ", ".join(str(i) for i in ids) if len(ids) <= 12 else f"{ids[0]}..{ids[-1]}"


def check_class_name(name: str, path: Path, line: Line) -> str:
    """``name`` when it can be a folder name, else an InputError quoting the line."""
    if name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
        raise InputError(
            path, f"class name {name!r} cannot be a folder name in {quote(line.text)}", line.number
        )
    return name


def parse_class_map(path: Path, bases: Sequence[int] | None) -> ClassIndex:
    """Read ``<id> <name>`` lines (tab- or whitespace-separated).

    Args:
        path: The map file (``classInd.txt``: ``1 ApplyEyeMakeup``; ARID 1.1's
            mapping table: ``5\\tRun``).
        bases: When given, ids must be contiguous and start at one of these
            (``(1,)`` for UCF101); when None any distinct integers are accepted.
            Either way indices follow ascending original id.

    Returns:
        The parsed map.

    Raises:
        InputError: Malformed line, duplicate id or name (naming both lines),
            gaps where ``bases`` asks for contiguous ids, or an empty file.
    """
    names_by_id, id_line = _read_class_lines(path)
    if not names_by_id:
        raise InputError(path, "no classes listed")
    ids = sorted(names_by_id)
    if bases is not None:
        _check_contiguous(path, ids, id_line, bases)
    names = tuple(names_by_id[i] for i in ids)
    return ClassIndex(
        path=path,
        names=names,
        index_by_id={class_id: index for index, class_id in enumerate(ids)},
        index_by_name={name: index for index, name in enumerate(names)},
    )


def _read_class_lines(path: Path) -> tuple[dict[int, str], dict[int, Line]]:
    """Class id -> name, and id -> its line; no id or name listed twice."""
    id_line: dict[int, Line] = {}
    name_line: dict[str, Line] = {}
    names_by_id: dict[int, str] = {}
    for line in read_lines(path):
        fields = split_fields(line.text)
        if len(fields) != 2 or not all(fields):
            raise InputError(
                path,
                f"expected '<class id> <class name>' (2 columns), got {quote(line.text)}",
                line.number,
            )
        class_id = parse_int(fields[0], path, line, "class id")
        name = check_class_name(fields[1], path, line)
        if class_id in id_line:
            raise InputError(
                path,
                f"class id {class_id} is listed twice (first at line {id_line[class_id].number}) "
                f"in {quote(line.text)}",
                line.number,
            )
        if name in name_line:
            raise InputError(
                path,
                f"class {name!r} is listed twice (first at line {name_line[name].number}) "
                f"in {quote(line.text)}",
                line.number,
            )
        id_line[class_id] = line
        name_line[name] = line
        names_by_id[class_id] = name
    return names_by_id, id_line


def _check_contiguous(path: Path, ids: list[int], id_line: dict[int, Line],
                      bases: Sequence[int]) -> None:
    """Sorted ``ids`` must start at one of ``bases`` and leave no gap."""
    if ids[0] not in bases:
        allowed = " or ".join(str(b) for b in bases)
        raise InputError(
            path,
            f"class ids must start at {allowed}; lowest is {ids[0]} in "
            f"{quote(id_line[ids[0]].text)}",
            id_line[ids[0]].number,
        )
    for position, class_id in enumerate(ids):
        if class_id != ids[0] + position:
            raise InputError(
                path,
                f"class ids must be contiguous; {ids[0] + position} is missing before "
                f"{quote(id_line[class_id].text)}",
                id_line[class_id].number,
            )
