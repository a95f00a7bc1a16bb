"""Shared pieces of the split-file parsers: records, line reading, list lookup, checks
(class maps: :mod:`._class_map`).

Everything here is pure except :func:`read_lines` and the lookup helpers, which only
read list files and folder listings. Errors a user can cause are
:class:`~components.errors.InputError` (or :class:`~components.errors.ConfigError`
for a bad ``--split``/``--format``) naming the list file and line at fault.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from components.errors import ConfigError, InputError

VIDEO_EXTENSIONS = (".avi", ".mp4", ".mkv", ".mov", ".webm", ".mpg", ".mpeg", ".m4v")
"""File suffixes (compared case-insensitively) that count as videos in folder trees."""

Split = Literal["train", "test"]

_INT = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True)
class SplitEntry:
    """One video of a split, exactly as its list file names it.

    Attributes:
        path: The video path as listed, relative to the dataset root, with POSIX
            separators (a ``\\`` in a list becomes ``/``) and otherwise verbatim:
            ``../x.avi`` or ``/abs.avi`` entries are kept so that ingest can refuse
            and quarantine them (see :func:`is_safe_relative`).
        label: Class name; ``classes[label_index] == label``.
        label_index: 0-based, project-internal class index.
        split: ``"train"`` or ``"test"``.
        source: ``"<list file>:<line>"`` the entry came from, for messages (the
            video file's own path for the ``folder`` format, which has no lists).
    """

    path: str
    label: str
    label_index: int
    split: Split
    source: str


@dataclass(frozen=True)
class DatasetSplit:
    """A parsed dataset split.

    Attributes:
        format: The format key (``"ucf101"``, ``"hmdb51"``, ...).
        split_id: The official split number (1-based) that was parsed.
        classes: Class names; ``classes[label_index] == label``.
        entries: All entries in list-file order, train lists first, then test.
        list_files: Every split or class-map file read, in reading order (hashed
            later for provenance); empty for the ``folder`` format.
    """

    format: str
    split_id: int
    classes: tuple[str, ...]
    entries: tuple[SplitEntry, ...]
    list_files: tuple[Path, ...]


def to_posix(listed: str) -> str:
    """A listed path with ``\\`` separators turned into ``/``; nothing else changes."""
    return listed.replace("\\", "/")


def class_folder(path: str) -> str:
    """Name of the folder directly holding a listed video (``""`` when there is none).

    ``"HandstandPushups/v_HandStandPushups_g01_c01.avi"`` gives
    ``"HandstandPushups"``; ``"../Run/x.avi"`` gives ``"Run"``; ``"x.avi"`` and
    ``"/x.avi"`` give ``""``. Only the folder is looked at, never the file name.
    """
    return PurePosixPath(path).parent.name


def quote(text: str, limit: int = 160) -> str:
    """``repr`` of a list line for messages, shortened past ``limit`` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def source_of(list_file: Path, line: int) -> str:
    """The ``"<list file>:<line>"`` string stored in :attr:`SplitEntry.source`."""
    return f"{list_file}:{line}"


@dataclass(frozen=True)
class Line:
    """One non-blank line of a list file: 1-based number and stripped text."""

    number: int
    text: str


def read_lines(path: Path) -> list[Line]:
    """Read a list file defensively.

    Decodes UTF-8 (a leading BOM is dropped), accepts LF, CRLF and lone-CR line
    ends, strips leading and trailing whitespace (spaces, tabs) from every line and
    skips blank lines. Line numbers are those an editor shows.

    Args:
        path: The list file.

    Returns:
        The non-blank lines, in file order.

    Raises:
        InputError: When the file is missing, unreadable or not UTF-8.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "list file not found") from None
    except OSError as exc:
        raise InputError(path, f"cannot read list file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        bad = raw[exc.start : exc.start + 1]
        raise InputError(
            path, f"not UTF-8 text (byte {bad!r} at offset {exc.start})", line
        ) from None
    lines = []
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    for number, chunk in enumerate(text.split("\n"), start=1):
        stripped = chunk.strip().lstrip("\ufeff").strip()
        if stripped:
            lines.append(Line(number, stripped))
    return lines


def parse_int(token: str, path: Path, line: Line, what: str) -> int:
    """An ASCII integer column, or an InputError quoting the line."""
    if not _INT.fullmatch(token):
        raise InputError(
            path, f"{what} {token!r} is not an integer in {quote(line.text)}", line.number
        )
    return int(token)


def check_root(root: Path) -> Path:
    """``root`` as a Path, or an InputError when it is not a directory."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(root, "dataset root is not a directory")
    return root


def check_split(root: Path, fmt: str, split: int, allowed: Sequence[int]) -> int:
    """``split`` when ``fmt`` ships it, else a ConfigError listing what it ships."""
    if isinstance(split, bool) or not isinstance(split, int) or split not in allowed:
        shipped = ", ".join(str(s) for s in allowed)
        raise ConfigError(root, f"{fmt} ships split(s) {shipped}; got --split {split!r}")
    return split


def check_seed(root: Path, seed: int) -> int:
    """``seed`` when it is an int, else a ConfigError."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(root, f"seed must be an integer, got {seed!r}")
    return seed


def list_dirs(root: Path, lists_dir: Path | None, subdirs: Sequence[str]) -> list[Path]:
    """Folders searched for list files, in order.

    An explicit ``lists_dir`` (used as given: relative to the working directory
    when relative) is the only folder searched; otherwise ``root`` then each of
    ``root/<subdir>``.
    """
    if lists_dir is not None:
        lists_dir = Path(lists_dir)
        if not lists_dir.is_dir():
            raise InputError(lists_dir, "lists directory not found")
        return [lists_dir]
    return [root, *(root / sub for sub in subdirs)]


def find_list_file(dirs: Sequence[Path], names: Sequence[str], what: str) -> Path:
    """The first ``dir/name`` that is a file (folders outer, names inner).

    Raises:
        InputError: Naming every path looked for when none exists.
    """
    looked = []
    for folder in dirs:
        for name in names:
            candidate = folder / name
            if candidate.is_file():
                return candidate
            looked.append(candidate)
    raise InputError(
        looked[0], f"{what} not found; looked for: {', '.join(str(p) for p in looked)}"
    )


def visible_files(folder: Path) -> list[Path]:
    """Sorted non-hidden files directly in ``folder`` (empty when it is no folder)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".") and p.is_file())


def split_fields(text: str, maxsplit: int = -1) -> list[str]:
    """Columns of a line: tab-separated when it holds a tab, else whitespace-separated."""
    if "\t" in text:
        return [part.strip() for part in text.split("\t", maxsplit)]
    return text.split(None, maxsplit)


class EntryCollector:
    """Collects entries (train before test) and refuses duplicated paths.

    Two entries are duplicates when their listed paths are equal after
    ``posixpath.normpath`` (so ``./A/x.avi`` and ``A/x.avi`` clash); the error
    names the later line and quotes the first one's source.
    """

    def __init__(self) -> None:
        self._by_split: dict[str, list[SplitEntry]] = {"train": [], "test": []}
        self._seen: dict[str, str] = {}

    def claim(self, path: str, list_file: Path, line: Line) -> None:
        """Record that ``line`` lists ``path``; InputError when already listed."""
        key = posixpath.normpath(path)
        first = self._seen.get(key)
        if first is not None:
            raise InputError(
                list_file,
                f"duplicate entry {path!r} (already listed at {first}) in {quote(line.text)}",
                line.number,
            )
        self._seen[key] = source_of(list_file, line.number)

    def add(
        self,
        path: str,
        classes: Sequence[str],
        index: int,
        split: Split,
        list_file: Path,
        line: Line,
        source: str | None = None,
    ) -> None:
        """Claim ``path`` and append its entry to ``split``.

        ``source`` defaults to ``"<list_file>:<line>"``.
        """
        self.claim(path, list_file, line)
        where = source if source is not None else source_of(list_file, line.number)
        self._by_split[split].append(SplitEntry(path, classes[index], index, split, where))

    def entries(self) -> tuple[SplitEntry, ...]:
        """All entries: train in insertion order, then test."""
        return (*self._by_split["train"], *self._by_split["test"])


def build_split(
    fmt: str,
    split_id: int,
    classes: Iterable[str],
    collector: EntryCollector,
    list_files: Iterable[Path],
) -> DatasetSplit:
    """Freeze the parsed pieces into a :class:`DatasetSplit`."""
    return DatasetSplit(
        format=fmt,
        split_id=split_id,
        classes=tuple(classes),
        entries=collector.entries(),
        list_files=tuple(list_files),
    )
