"""UCF101-style split lists: ``classInd.txt`` plus a train and a test list of
``<Class>/<video> [<class id>]`` lines. UCF101 and SEAGS_V1 ship this layout and differ
only in what :class:`ClassListLayout` records: file names, where the lists lie, the
first class id and whether the lists carry the id column.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from components.data.formats._class_map import ClassIndex, parse_class_map
from components.data.formats._common import (
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
    parse_int,
    quote,
    read_lines,
    to_posix,
)
from components.data.paths import is_safe_relative
from components.errors import InputError

LabelColumn = Literal["required", "absent", "optional"]


def parse_ucf_style_list(
    list_file: Path,
    classes: ClassIndex,
    split: Split,
    label_column: LabelColumn,
    collector: EntryCollector,
) -> None:
    """Parse a UCF101-style list (``<Class>/<video> [<class id>]``) into ``collector``.

    The class comes from the folder holding the video, looked up by name in the
    class map, never from the file name (UCF101 lists
    ``HandstandPushups/v_HandStandPushups_g01_c01.avi``). A class id column, when
    present, is looked up in the class map and must agree with the folder. For a
    path that is not safe (:func:`is_safe_relative`) and whose folder is not a
    known class, the id column decides, so the entry survives for ingest to
    refuse; without an id column such a line is an error, as its class is
    unknowable. Columns are whitespace-separated (spaces or tabs), so paths with
    whitespace are not supported.

    Args:
        list_file: The list to read.
        classes: The parsed class map.
        split: Which split the list feeds.
        label_column: Whether the class id column must be there, must not, or may.
        collector: Receives the entries.

    Raises:
        InputError: Wrong column count, non-integer or unknown class id, class
            folder not in the class map, id/folder disagreement, duplicates.
    """
    counts = {"required": (2,), "absent": (1,), "optional": (1, 2)}[label_column]
    expected = {
        "required": "'<class>/<video> <class id>'",
        "absent": "'<class>/<video>' (no class id column)",
        "optional": "'<class>/<video>' or '<class>/<video> <class id>'",
    }[label_column]
    for line in read_lines(list_file):
        tokens = line.text.split()
        if len(tokens) not in counts:
            raise InputError(
                list_file,
                f"expected {expected}, got {len(tokens)} columns in {quote(line.text)}",
                line.number,
            )
        path = to_posix(tokens[0])
        index = _listed_class(path, tokens, classes, list_file, line)
        collector.add(path, classes.names, index, split, list_file, line)


def _listed_class(path: str, tokens: list[str], classes: ClassIndex, list_file: Path,
                  line: Line) -> int:
    """The class index of one list line: its folder's, checked against its class id
    column when there is one; the id's for an unsafe path whose folder is no class."""
    map_name = classes.path.name
    id_index = None
    if len(tokens) == 2:
        class_id = parse_int(tokens[1], list_file, line, "class id")
        id_index = classes.index_by_id.get(class_id)
        if id_index is None:
            raise InputError(
                list_file,
                f"unknown class id {class_id} ({map_name} has ids {classes.describe_ids()}) "
                f"in {quote(line.text)}",
                line.number,
            )
    folder = class_folder(path)
    folder_index = classes.index_by_name.get(folder)
    if folder_index is None and (id_index is None or is_safe_relative(path)):
        if not folder:
            problem = "has no class folder (expected '<class>/<video>')"
        else:
            problem = f"class folder {folder!r} is not in {map_name}{classes.hint(folder)}"
        raise InputError(list_file, f"{problem}: {quote(line.text)}", line.number)
    if folder_index is not None and id_index is not None and folder_index != id_index:
        raise InputError(
            list_file,
            f"class id {tokens[1]} ({classes.names[id_index]!r} in {map_name}) disagrees "
            f"with the class folder {folder!r} in {quote(line.text)}",
            line.number,
        )
    index = folder_index if folder_index is not None else id_index
    assert index is not None
    return index


@dataclass(frozen=True)
class ClassListLayout:
    """What one UCF101-style dataset ships.

    Attributes:
        format: The ``--format`` key (``ucf101``).
        title: The dataset's name in messages (``UCF101``).
        splits: The split numbers it ships.
        subdirs: Folders under the root where its lists lie, searched in order.
        list_names: ``split -> (train list, test list)`` file names.
        class_id_bases: Allowed first ids of ``classInd.txt`` (ids are contiguous).
        train_ids: Whether train lines carry the class id column.
        test_ids: Whether test lines do.
    """

    format: str
    title: str
    splits: Sequence[int]
    subdirs: Sequence[str]
    list_names: Callable[[int], tuple[str, str]]
    class_id_bases: Sequence[int]
    train_ids: LabelColumn
    test_ids: LabelColumn


def parse_class_lists(
    layout: ClassListLayout, root: Path, split: int, lists_dir: Path | None, seed: int
) -> DatasetSplit:
    """Parse split ``split`` of the dataset at ``root`` laid out as ``layout``.

    Raises:
        InputError: Missing list file (naming the paths looked for) or a malformed
            line (naming file and line).
        ConfigError: ``split`` not one ``layout`` ships.
    """
    root = check_root(root)
    check_split(root, layout.format, split, tuple(layout.splits))
    check_seed(root, seed)
    dirs = list_dirs(root, lists_dir, layout.subdirs)
    train_name, test_name = layout.list_names(split)
    class_file = find_list_file(dirs, ["classInd.txt"], f"{layout.title} class index")
    train_file = find_list_file(dirs, [train_name], f"{layout.title} train list")
    test_file = find_list_file(dirs, [test_name], f"{layout.title} test list")
    classes = parse_class_map(class_file, bases=tuple(layout.class_id_bases))
    collector = EntryCollector()
    parse_ucf_style_list(train_file, classes, "train", layout.train_ids, collector)
    parse_ucf_style_list(test_file, classes, "test", layout.test_ids, collector)
    return build_split(layout.format, split, classes.names, collector,
                       (class_file, train_file, test_file))
