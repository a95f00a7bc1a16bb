"""Dataset split-file parsers, one per format, selected by ``--format``.

Each parser reads the split lists exactly as the public dataset ships them and
returns a :class:`DatasetSplit` of :class:`SplitEntry` records (0-based labels,
train entries first). Listed paths are kept as listed (POSIX separators), so
unsafe ones (``../x.avi``, ``/abs.avi``) reach ingest, which refuses them using
:func:`is_safe_relative`.

Formats (see each module for the exact files and rules):

- ``ucf101``: ``classInd.txt``, ``trainlist0N.txt``, ``testlist0N.txt``.
- ``hmdb51``: ``<class>_test_splitN.txt`` per class (1 train, 2 test, 0 unused).
- ``arid``: ARID v1.0 ``ARID_splitN_{train,test}.txt`` or ARID 1.1 CSV lists
  plus a class map.
- ``seags``: SEAGS_V1 ``classInd.txt``, ``trainlist.txt``, ``testlist.txt``.
- ``folder``: any ``root/<class>/<video>`` tree (InfAR), seeded stable 70/30.

List files are looked for in ``lists_dir`` when given, else in the dataset root
and the folder each dataset ships them in; a missing one is an InputError naming
the paths looked for.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from components.data.formats._common import (
    VIDEO_EXTENSIONS,
    DatasetSplit,
    SplitEntry,
)
from components.data.formats.arid import parse_arid
from components.data.formats.folder import parse_folder
from components.data.formats.hmdb51 import parse_hmdb51
from components.data.formats.seags import parse_seags
from components.data.formats.ucf101 import parse_ucf101
from components.data.paths import is_safe_relative
from components.errors import ConfigError

FORMATS: dict[str, Callable[..., DatasetSplit]] = {
    "ucf101": parse_ucf101,
    "hmdb51": parse_hmdb51,
    "arid": parse_arid,
    "seags": parse_seags,
    "folder": parse_folder,
}
"""Format key -> parser ``(root, split=1, *, lists_dir=None, seed=0) -> DatasetSplit``."""


def parse_dataset(
    root: Path, fmt: str, split: int = 1, *, lists_dir: Path | None = None, seed: int = 0
) -> DatasetSplit:
    """Parse the dataset at ``root`` with the parser for ``fmt``.

    Args:
        root: Dataset root; entry paths are relative to it.
        fmt: A key of :data:`FORMATS` (case-insensitive).
        split: Official split number (1..3 for ucf101, hmdb51 and ARID v1.0; 1
            for the single-split formats).
        lists_dir: Folder holding the list files; default: search the root and
            the folder the dataset ships its lists in.
        seed: Split seed (``folder`` only; the others ignore it).

    Returns:
        The parsed split.

    Raises:
        ConfigError: Unknown format or unshipped split.
        InputError: Missing list file or malformed line (naming file and line).
    """
    parser = FORMATS.get(fmt.strip().lower()) if isinstance(fmt, str) else None
    if parser is None:
        known = ", ".join(FORMATS)
        raise ConfigError(Path(root), f"unknown dataset format {fmt!r}; choose one of {known}")
    return parser(Path(root), split, lists_dir=lists_dir, seed=seed)


__all__ = [
    "FORMATS",
    "VIDEO_EXTENSIONS",
    "DatasetSplit",
    "SplitEntry",
    "is_safe_relative",
    "parse_dataset",
]
