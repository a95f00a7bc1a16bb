"""`har represent` and `har show` over a tiny real dataset."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from components.cli import main
from components.data.manifest import read_manifest
from components.data.shards import ShardReader
from components.data.synthetic import DEFAULT_CLASSES
from components.data.video import decode_frames

PARAMS = """
represent:
  height: 32
  width: 32
  workers: 1
  mei: {n: 4, interval: 2, method: gradient}
  rank: {window: 4, stride: 4}
"""


@pytest.fixture
def ingested(tiny_synth_dataset: Path, tmp_path: Path) -> tuple[Path, Path]:
    params = tmp_path / "params.yaml"
    params.write_text(PARAMS)
    out = tmp_path / "ingest"
    assert main(["ingest", "--params", str(params), "--root", str(tiny_synth_dataset),
                 "--format", "ucf101", "--out", str(out)]) == 0
    return params, out / "manifest.csv"


def _represent(params: Path, manifest: Path, kind: str, out: Path, workers: int = 1) -> Path:
    assert main(["represent", "--params", str(params), "--kind", kind, "--manifest",
                 str(manifest), "--out", str(out), "--workers", str(workers)]) == 0
    return out


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("kind, channels", [("frames", 3), ("gamma", 3), ("flow", 2),
                                            ("mei", 3), ("rank", 3)])
def test_every_kind_writes_one_record_per_video(ingested, tmp_path, kind, channels):
    params, manifest = ingested
    out = _represent(params, manifest, kind, tmp_path / kind)
    rows = read_manifest(manifest)
    with ShardReader(out) as reader:
        assert reader.keys() == [r.path for r in rows]  # manifest order
        for row in rows:
            array = reader.read(row.path)
            meta = reader.record_meta(row.path)
            assert array.dtype == np.uint8 and array.shape[1:] == (32, 32, channels)
            assert meta["label_index"] == row.label_index and meta["split"] == row.split
            assert len(meta["indices"]) == len(array)
        assert reader.params["height"] == 32
    summary = json.loads((tmp_path / f"{kind}.json").read_text())
    assert summary["videos"] == len(rows) and summary["failed"] == 0


def test_frames_shard_reads_back_what_the_decoder_gives(ingested, tmp_path, tiny_synth_dataset):
    params, manifest = ingested
    out = _represent(params, manifest, "frames", tmp_path / "frames")
    row = read_manifest(manifest)[0]
    decoded = decode_frames(tiny_synth_dataset / row.path, size=(32, 32)).frames
    with ShardReader(out) as reader:
        np.testing.assert_array_equal(reader.read(row.path), decoded)
        np.testing.assert_array_equal(reader.read_item(row.path, 3), decoded[3])


def test_mei_base_positions_follow_the_batches(ingested, tmp_path):
    params, manifest = ingested
    out = _represent(params, manifest, "mei", tmp_path / "mei")
    with ShardReader(out) as reader:
        meta = reader.record_meta(reader.keys()[0])
    # 12 frames, n=4, interval=2: batches start at 0,2,4,6,8 and end at 3,5,7,9,11
    assert meta["base_positions"] == [3, 5, 7, 9, 11]


def test_corrupt_video_is_skipped_with_its_reason(ingested, tmp_path, tiny_synth_dataset):
    params, manifest = ingested
    victim = read_manifest(manifest)[1].path
    data = (tiny_synth_dataset / victim).read_bytes()
    (tiny_synth_dataset / victim).write_bytes(data[: len(data) // 3])  # damaged after ingest
    out = _represent(params, manifest, "mei", tmp_path / "mei")
    with ShardReader(out) as reader:
        assert victim not in reader
        assert len(reader) == len(read_manifest(manifest)) - 1
    with (tmp_path / "mei.failures.csv").open() as handle:
        failures = list(csv.DictReader(handle))
    assert [f["path"] for f in failures] == [victim]
    assert failures[0]["reason"]


def test_missing_manifest_names_the_file(empty_params: Path, tmp_path, capsys):
    assert main(["represent", "--params", str(empty_params), "--kind", "mei",
                 "--manifest", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")]) == 2
    assert "nope.csv" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.integration
@pytest.mark.slow
def test_shards_are_byte_identical_whatever_the_worker_count(ingested, tmp_path, capfd):
    params, manifest = ingested
    one = _represent(params, manifest, "mei", tmp_path / "one", workers=1)
    two = _represent(params, manifest, "mei", tmp_path / "two", workers=2)  # Ray tasks
    assert _digest(one) == _digest(two)
    out, err = capfd.readouterr()
    assert "Ray instance" not in out + err and "Ray cluster" not in out + err  # quiet, no -v


def test_show_draws_a_panel_per_class(ingested, tmp_path):
    params, manifest = ingested
    out = tmp_path / "examples"
    assert main(["show", "--params", str(params), "--per-class", "--manifest", str(manifest),
                 "--out", str(out), "--rows", "2", "--scale", "1"]) == 0
    import cv2

    pictures = sorted(p.name for p in out.glob("*.png"))
    assert pictures == sorted(f"{name}.png" for name in DEFAULT_CLASSES)
    image = cv2.imread(str(out / "Rise.png"))
    assert image.shape[1] > 6 * 32  # six columns (--scale 1: frames as read) and labels
    assert image.shape[0] > 2 * 32  # two rows plus labels


def test_show_enlarges_frames_to_see_the_actor(ingested, tmp_path):
    params, manifest = ingested
    video = Path(read_manifest(manifest)[0].path)
    root = manifest.parent / "dataset.json"
    path = Path(json.loads(root.read_text())["root"]) / video
    out = tmp_path / "one.png"
    assert main(["show", "--params", str(params), str(path), "--out", str(out),
                 "--rows", "1"]) == 0
    import cv2

    image = cv2.imread(str(out))
    assert image.shape[1] >= 6 * 128 and image.shape[0] >= 128  # 32 px frames, 4x


def test_videos_are_dealt_to_alive_nodes_by_their_cpus():
    from components.stages.represent import _placement, node_slots

    a, b, c, d = (f"{i:056x}" for i in range(1, 5))  # node ids: 28 bytes in hex
    nodes = [{"NodeID": a, "Alive": True, "Resources": {"CPU": 2.0}},
             {"NodeID": b, "Alive": True, "Resources": {"CPU": 1.0}},
             {"NodeID": c, "Alive": False, "Resources": {"CPU": 4.0}},
             {"NodeID": d, "Alive": True, "Resources": {"GPU": 1.0}}]
    slots = node_slots(nodes)
    assert slots == [a, a, b]
    dealt = [_placement(slots, i)["scheduling_strategy"] for i in range(6)]
    assert [s.node_id for s in dealt] == [a, a, b, a, a, b]
    assert all(s.soft for s in dealt)
    assert _placement([a, a], 3) == {}  # one node: Ray's own scheduling
