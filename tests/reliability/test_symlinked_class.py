"""A class folder linked from outside the dataset root is not a class: its videos are
refused at ingest, so it must not appear in classes.txt as an empty class."""

from __future__ import annotations

import shutil
from pathlib import Path

from components.cli import main
from components.data.manifest import read_classes, read_manifest


def test_a_class_folder_linked_from_outside_is_not_a_class(
        empty_params: Path, tiny_synth_dataset: Path, tmp_path: Path) -> None:
    root = tmp_path / "folder-dataset"
    for label in ("Rise", "Fall"):
        shutil.copytree(tiny_synth_dataset / label, root / label)
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(tiny_synth_dataset / "MoveLeft", elsewhere)
    (root / "MoveLeft").symlink_to(elsewhere, target_is_directory=True)
    out = tmp_path / "ingest"
    assert main(["ingest", "--params", str(empty_params), "--root", str(root),
                 "--format", "folder", "--out", str(out)]) == 0
    assert read_classes(out / "classes.txt") == ["Fall", "Rise"]
    assert {row.label for row in read_manifest(out / "manifest.csv")} == {"Fall", "Rise"}
