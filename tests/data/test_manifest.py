from __future__ import annotations

from pathlib import Path

import pytest

from components.data.manifest import (
    ManifestRow,
    QuarantineRow,
    read_classes,
    read_manifest,
    write_classes,
    write_manifest,
    write_quarantine,
)
from components.errors import InputError

ROW = ManifestRow("Rise/v_Rise_g01_c01.mp4", "Rise", 0, "test", 40, 20.0, 128, 96, 2.0,
                  "h264", "yuv420p")


def test_manifest_round_trip(tmp_path: Path):
    rows = [ROW, ManifestRow("Fall/v.mp4", "Fall, the class", 1, "train", 3, 29.97, 2, 2, 0.1,
                             "h264", "yuv420p", luminance=0.0213)]
    write_manifest(tmp_path / "m.csv", rows)
    assert read_manifest(tmp_path / "m.csv") == rows
    assert not list(tmp_path.glob(".tmp-*"))


def test_a_manifest_written_before_the_luminance_column_still_reads(tmp_path: Path):
    path = tmp_path / "m.csv"
    write_manifest(path, [ROW])
    header, row = path.read_text().splitlines()
    assert header.endswith(",luminance") and row.endswith(",")  # None: an empty cell
    path.write_text(header.removesuffix(",luminance") + "\n" + row.removesuffix(",") + "\n")
    assert read_manifest(path) == [ROW]


def test_malformed_manifest_row_names_file_and_line(tmp_path: Path):
    path = tmp_path / "m.csv"
    write_manifest(path, [ROW, ROW])
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace(",test,", ",validation,")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"m\.csv:3: malformed row.*validation"):
        read_manifest(path)


def test_missing_manifest_and_columns(tmp_path: Path):
    with pytest.raises(InputError, match="run `har ingest` first"):
        read_manifest(tmp_path / "nope.csv")
    (tmp_path / "bad.csv").write_text("path,label\n")
    with pytest.raises(InputError, match="bad.csv:1: missing column"):
        read_manifest(tmp_path / "bad.csv")


def test_classes_round_trip_and_validation(tmp_path: Path):
    write_classes(tmp_path / "classes.txt", ["brush_hair", "Run"])
    assert (tmp_path / "classes.txt").read_text() == "0 brush_hair\n1 Run\n"
    assert read_classes(tmp_path / "classes.txt") == ["brush_hair", "Run"]
    (tmp_path / "gap.txt").write_text("0 a\n2 b\n")
    with pytest.raises(InputError, match="gap.txt:2: expected index 1"):
        read_classes(tmp_path / "gap.txt")


def test_quarantine_file(tmp_path: Path):
    write_quarantine(tmp_path / "q.csv", [QuarantineRow("a.avi", "empty file (0 bytes)")])
    assert (tmp_path / "q.csv").read_text() == "path,reason\na.avi,empty file (0 bytes)\n"
