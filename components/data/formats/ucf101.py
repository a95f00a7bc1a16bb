"""UCF101 split lists, exactly as ``UCF101TrainTestSplits-RecognitionTask.zip`` ships them.

Files (in ``--lists-dir``, else the dataset root or its ``ucfTrainTestlist/``,
``splits/`` or ``lists/`` folder, first hit wins):

- ``classInd.txt``: ``1 ApplyEyeMakeup`` (1-based ids, contiguous).
- ``trainlist0{1,2,3}.txt``: ``ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1``.
- ``testlist0{1,2,3}.txt``: ``ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi`` (no id).

The class of every entry comes from its folder via ``classInd.txt``, never from
the file name: the official lists hold
``HandstandPushups/v_HandStandPushups_g01_c01.avi``. A trainlist id that
disagrees with the folder is an error naming the file and line. Label indices
are ``classInd id - 1``.
"""

from __future__ import annotations

from pathlib import Path

from components.data.formats._common import DatasetSplit
from components.data.formats.class_lists import ClassListLayout, parse_class_lists

FORMAT = "ucf101"
LAYOUT = ClassListLayout(
    format=FORMAT, title="UCF101", splits=(1, 2, 3),
    subdirs=("ucfTrainTestlist", "splits", "lists"),
    list_names=lambda split: (f"trainlist0{split}.txt", f"testlist0{split}.txt"),
    class_id_bases=(1,), train_ids="required", test_ids="absent",
)


def parse_ucf101(
    root: Path, split: int = 1, *, lists_dir: Path | None = None, seed: int = 0
) -> DatasetSplit:
    """Parse UCF101 split ``split`` (1, 2 or 3).

    Args:
        root: Dataset root holding ``<Class>/<video>.avi`` (the ``UCF-101`` folder).
        split: Official split number.
        lists_dir: Folder holding the list files; default: search ``root`` and its
            known subfolders.
        seed: Unused (the split is fixed by the lists); accepted for a uniform API.

    Returns:
        The split, train entries first.

    Raises:
        InputError: Missing list file (naming the paths looked for) or a
            malformed line (naming file and line).
        ConfigError: ``split`` not in 1..3.
    """
    return parse_class_lists(LAYOUT, root, split, lists_dir, seed)
