"""SEAGS_V1 split lists (UCF101-style).

Layout: ``<class>/v_<class>_<index>.mp4`` videos, with ``classInd.txt``
(``<id> <class>``), ``trainlist.txt`` and ``testlist.txt`` (a 70/30 split) in
``--lists-dir``, else the dataset root or its ``splits/`` or ``lists/`` folder.
SEAGS_V1 ships one split, so ``--split`` must be 1.

Accepted, beyond the UCF101 rules (see :mod:`~components.data.formats.ucf101`):

- ``classInd.txt`` ids may start at 0 or 1 but must be contiguous; label indices
  follow ascending id (so they are ``id - first id``).
- Either list may carry the class id column on any line, or not; when present it
  is looked up in ``classInd.txt`` and must agree with the video's folder, which
  always decides the class.
"""

from __future__ import annotations

from pathlib import Path

from components.data.formats._common import DatasetSplit
from components.data.formats.class_lists import ClassListLayout, parse_class_lists

FORMAT = "seags"
LAYOUT = ClassListLayout(
    format=FORMAT, title="SEAGS", splits=(1,), subdirs=("splits", "lists"),
    list_names=lambda split: ("trainlist.txt", "testlist.txt"),
    class_id_bases=(0, 1), train_ids="optional", test_ids="optional",
)


def parse_seags(
    root: Path, split: int = 1, *, lists_dir: Path | None = None, seed: int = 0
) -> DatasetSplit:
    """Parse the SEAGS_V1 split.

    Args:
        root: Dataset root holding ``<class>/<video>.mp4``.
        split: Must be 1 (the only split shipped).
        lists_dir: Folder holding the list files; default: search ``root`` and its
            known subfolders.
        seed: Unused (the split is fixed by the lists); accepted for a uniform API.

    Returns:
        The split, train entries first.

    Raises:
        InputError: Missing list file or malformed line (naming file and line).
        ConfigError: ``split`` other than 1.
    """
    return parse_class_lists(LAYOUT, root, split, lists_dir, seed)
