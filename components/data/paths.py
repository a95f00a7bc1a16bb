"""Paths listed in a dataset's split files or manifest: do they stay inside the root?

One home for the rule, read by the split parsers (:mod:`components.data.formats`),
ingest, and every stage that opens the manifest's videos (``har represent``): none
of them follows a listed path out of the dataset root.
"""

from __future__ import annotations

import re
from pathlib import Path

_DRIVE = re.compile(r"^[A-Za-z]:")

#: The quarantine reason of a path that leaves the root.
REFUSED_OUTSIDE = "refused: path points outside the dataset root"


def is_safe_relative(path: str) -> bool:
    """Whether a listed path stays inside the dataset root.

    Both ``/`` and ``\\`` count as separators. False for an empty path, a path
    holding a NUL character, an absolute path (leading ``/`` or ``\\``), a
    drive-letter path (``C:...``), a path naming only the root (``.``), and any
    path with a ``..`` component. Symlinks are not looked at (that is ingest's job).

    Args:
        path: A path as listed in a split file.

    Returns:
        True when the path is a plain relative path below the root.
    """
    if not path or "\x00" in path or path[0] in "/\\" or _DRIVE.match(path):
        return False
    parts = re.split(r"[/\\]", path)
    if ".." in parts:
        return False
    return any(part not in ("", ".") for part in parts)


def resolve_inside(root: Path, relpath: str) -> Path | None:
    """``root / relpath`` if it stays inside ``root`` (symlinks resolved), else ``None``."""
    if not is_safe_relative(relpath):
        return None
    candidate = (root / relpath).resolve()
    try:
        candidate.relative_to(root.resolve())
    except ValueError:
        return None
    return candidate
