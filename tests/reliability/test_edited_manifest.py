"""A manifest edited after ingest cannot reach outside the dataset root: `har represent`
re-checks every row as ingest did, refuses `../`, absolute paths and symlinks out (each
listed with its reason), and represents the rest."""

from __future__ import annotations

import csv
from pathlib import Path

from components.cli import main
from components.data.shards import ShardReader


def test_rows_pointing_outside_the_root_are_refused_at_represent(
        empty_params: Path, tiny_synth_dataset: Path, tmp_path: Path) -> None:
    root = tiny_synth_dataset
    ingest = tmp_path / "ingest"
    assert main(["ingest", "--params", str(empty_params), "--root", str(root),
                 "--format", "ucf101", "--out", str(ingest)]) == 0
    manifest = ingest / "manifest.csv"
    with manifest.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    outside = tmp_path / "outside.mp4"
    outside.write_bytes((root / rows[0]["path"]).read_bytes())
    (root / "Rise" / "link_out.mp4").symlink_to(outside)
    edited = {1: "../outside.mp4", 2: str(outside), 3: "Rise/link_out.mp4"}
    for index, path in edited.items():
        rows[index]["path"] = path
    with manifest.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    params = tmp_path / "params.yaml"
    params.write_text("represent: {height: 16, width: 16, workers: 1}\n")
    out = tmp_path / "represent" / "frames"
    assert main(["represent", "--params", str(params), "--kind", "frames", "--manifest",
                 str(manifest), "--out", str(out)]) == 0
    with (tmp_path / "represent" / "frames.failures.csv").open(newline="") as handle:
        failures = {row["path"]: row["reason"] for row in csv.DictReader(handle)}
    assert set(failures) == set(edited.values()), failures
    assert all("outside the dataset root" in reason for reason in failures.values())
    with ShardReader(out) as reader:
        assert len(reader.keys()) == len(rows) - len(edited)
