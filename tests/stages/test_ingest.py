"""`har ingest` over a dataset salted with every kind of bad entry."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from components.cli import main
from components.data.manifest import read_classes, read_manifest
from components.data.synthetic import DEFAULT_CLASSES


def _salt(root: Path) -> dict[str, str]:
    """Add bad entries to a tiny UCF101-layout dataset; return path -> expected reason."""
    good = root / "Rise" / "v_Rise_g02_c01.mp4"
    truncated = root / "Fall" / "v_Fall_g09_c01.mp4"
    data = (root / "Fall" / "v_Fall_g02_c01.mp4").read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    (root / "Rise" / "v_Rise_g09_c02.mp4").write_bytes(b"")
    (root / "Rise" / "v_Rise_g09_c03.avi").write_text("not a video at all\n")
    (root / "Rise" / "v_Rise_g09_c09.mp4").write_bytes(good.read_bytes())  # on disk, unlisted
    outside = root.parent / "outside.mp4"
    outside.write_bytes(good.read_bytes())
    salted = {
        "Fall/v_Fall_g09_c01.mp4": "truncated",
        "Rise/v_Rise_g09_c02.mp4": "empty file",
        "Rise/v_Rise_g09_c03.avi": "not a readable video",
        "Rise/v_Rise_g09_c04.mp4": "missing",
        "Rise/../../outside.mp4": "outside the dataset root",
    }
    with (root / "trainlist01.txt").open("a") as handle:
        for rel in salted:
            label = 2 if rel.startswith("Fall") else 1
            handle.write(f"{rel} {label}\r\n")  # CRLF as some mirrors ship it
    return salted


def test_ingest_quarantines_bad_videos_and_keeps_the_good(empty_params: Path,
                                                          tiny_synth_dataset: Path, tmp_path):
    root = tiny_synth_dataset
    listed_before = sum(
        1 for f in ("trainlist01.txt", "testlist01.txt")
        for line in (root / f).read_text().splitlines() if line.strip()
    )
    salted = _salt(root)
    out = tmp_path / "ingest"
    code = main(["ingest", "--params", str(empty_params), "--root", str(root),
                 "--format", "ucf101", "--split", "1", "--out", str(out)])
    assert code == 0

    rows = read_manifest(out / "manifest.csv")
    assert len(rows) == listed_before
    assert {r.split for r in rows} == {"train", "test"}
    assert all(r.num_frames > 0 and r.width == 64 and r.height == 48 for r in rows)
    assert read_classes(out / "classes.txt") == list(DEFAULT_CLASSES)
    assert all(r.label == read_classes(out / "classes.txt")[r.label_index] for r in rows)
    # Each video's own mean luma: the tiny set is dark (synthetic dark: 0.01-0.03).
    assert all(r.luminance is not None and 0.0 < r.luminance < 0.06 for r in rows)

    with (out / "quarantine.csv").open() as handle:
        quarantined = {r["path"]: r["reason"] for r in csv.DictReader(handle)}
    assert set(quarantined) == set(salted)
    for path, expected in salted.items():
        assert expected in quarantined[path], (path, quarantined[path])

    info = json.loads((out / "dataset.json").read_text())
    assert info["unlisted_ignored"] == 1
    assert info["quarantined"] == len(salted) and info["usable"] == listed_before


def test_malformed_split_file_is_an_error_naming_file_and_line(empty_params: Path,
                                                                tiny_synth_dataset, tmp_path,
                                                                capsys):
    with (tiny_synth_dataset / "trainlist01.txt").open("a") as handle:
        handle.write("Rise/v_Rise_g05_c01.mp4 one\n")
    n_lines = len((tiny_synth_dataset / "trainlist01.txt").read_text().splitlines())
    out = tmp_path / "ingest"
    code = main(["ingest", "--params", str(empty_params), "--root",
                 str(tiny_synth_dataset), "--format", "ucf101", "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert f"trainlist01.txt:{n_lines}" in err
    assert not (out / "manifest.csv").exists()


def test_unknown_params_key_is_refused(tiny_synth_dataset, tmp_path, capsys):
    params = tmp_path / "params.yaml"
    params.write_text("ingest:\n  root: x\n  fromat: ucf101\n")
    assert main(["ingest", "--params", str(params), "--out", str(tmp_path / "o")]) == 2
    assert "unknown parameter(s) ingest.fromat" in capsys.readouterr().err


@pytest.mark.parametrize("depth", ["header", "decode"])
def test_probe_depths_agree_on_good_videos(empty_params: Path, tiny_synth_dataset, tmp_path, depth):
    out = tmp_path / depth
    assert main(["ingest", "--params", str(empty_params), "--root",
                 str(tiny_synth_dataset), "--format", "ucf101", "--probe", depth,
                 "--out", str(out)]) == 0
    assert len(read_manifest(out / "manifest.csv")) == 12
