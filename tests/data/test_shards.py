"""Shard storage: round trip, rollover, determinism, atomicity, validation."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from components.data.shards import (
    INDEX_FILE,
    META_FILE,
    ReorderBuffer,
    ShardReader,
    ShardWriter,
    shard_name,
)
from components.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def records() -> list[tuple[str, np.ndarray, dict]]:
    """Five videos of different lengths and sizes, with per-record metadata."""
    rng = np.random.default_rng(0)
    out = []
    for i, (k, h, w) in enumerate([(3, 8, 10), (1, 8, 10), (5, 6, 4), (2, 12, 12), (4, 8, 10)]):
        arr = rng.integers(0, 256, (k, h, w, 3), dtype=np.uint8)
        meta = {"base_frames": np.arange(k) * 5 + 9, "label": i % 2, "fps": 25.0}
        out.append((f"v_class{i % 2}_g{i:02d}_c01", arr, meta))
    return out


def _write(out_dir: Path, records, **kwargs) -> Path:
    kwargs.setdefault("kind", "mei")
    kwargs.setdefault("params", {"n": 10, "interval": 5, "method": "gradient"})
    with ShardWriter(out_dir, **kwargs) as writer:
        for key, arr, meta in records:
            writer.add(key, arr, meta=meta)
    return out_dir


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_round_trip(tmp_path, records):
    out = _write(tmp_path / "mei", records)
    assert sorted(p.name for p in out.iterdir()) == [INDEX_FILE, META_FILE, shard_name(0)]
    reader = ShardReader(out)
    assert len(reader) == 5 and reader.keys() == [k for k, _, _ in records]
    assert reader.kind == "mei" and reader.params["interval"] == 5
    assert reader.dtype == np.uint8 and reader.layout == "KHWC"
    for key, arr, meta in records:
        assert key in reader
        got = reader.read(key)
        assert got.dtype == np.uint8 and got.shape == arr.shape
        np.testing.assert_array_equal(got, arr)
        for i in range(len(arr)):
            np.testing.assert_array_equal(reader.read_item(key, i), arr[i])
        np.testing.assert_array_equal(reader.read_item(key, -1), arr[-1])
        assert reader.record_meta(key) == {
            "base_frames": meta["base_frames"].tolist(),
            "label": meta["label"],
            "fps": 25.0,
        }
        assert reader.record(key).items == len(arr)
    assert reader.num_items == sum(len(a) for _, a, _ in records)
    assert reader.locate(0) == (records[0][0], 0)
    assert reader.locate(3) == (records[1][0], 0)
    assert reader.locate(reader.num_items - 1) == (records[-1][0], 3)
    reader.verify()


def test_reads_are_read_only_views(tmp_path, records):
    reader = ShardReader(_write(tmp_path / "s", records))
    arr = reader.read(records[0][0])
    assert type(arr) is np.ndarray and not arr.flags.writeable
    with pytest.raises(ValueError):
        arr[0, 0, 0, 0] = 1


def test_missing_key_and_item(tmp_path, records):
    reader = ShardReader(_write(tmp_path / "s", records))
    with pytest.raises(KeyError, match="nope"):
        reader.read("nope")
    with pytest.raises(IndexError):
        reader.read_item(records[1][0], 1)  # one item only
    with pytest.raises(IndexError):
        reader.locate(reader.num_items)


def test_index_and_meta_content(tmp_path, records):
    out = _write(tmp_path / "s", records)
    lines = (out / INDEX_FILE).read_text().splitlines()
    first = json.loads(lines[0])
    assert first == {
        "dtype": "uint8",
        "items": 3,
        "key": records[0][0],
        "meta": {"base_frames": [9, 14, 19], "fps": 25.0, "label": 0},
        "nbytes": 3 * 8 * 10 * 3,
        "offset": 0,
        "shape": [3, 8, 10, 3],
        "shard": 0,
    }
    meta = json.loads((out / META_FILE).read_text())
    assert meta["format"] == "har-shards" and meta["version"] == 1
    assert meta["records"] == 5 and meta["items"] == 15
    assert meta["shards"][0]["file"] == shard_name(0)
    assert meta["shards"][0]["nbytes"] == (out / shard_name(0)).stat().st_size


def test_rollover_and_alignment(tmp_path, records):
    out = _write(tmp_path / "s", records, shard_size_bytes=1000, alignment=64)
    reader = ShardReader(out)
    meta = reader.meta
    assert len(meta["shards"]) > 1
    sizes = {i: s["nbytes"] for i, s in enumerate(meta["shards"])}
    for key, arr, _ in records:
        rec = reader.record(key)
        assert rec.offset % 64 == 0
        assert rec.offset + rec.nbytes <= sizes[rec.shard]
        # a record larger than the limit gets a shard of its own, others fit the limit
        if rec.nbytes <= 1000:
            assert rec.offset + rec.nbytes <= 1000
        else:
            assert rec.offset == 0
        np.testing.assert_array_equal(reader.read(key), arr)
    assert sum(s["records"] for s in meta["shards"]) == 5
    assert [reader.record(k).shard for k, _, _ in records] == sorted(
        reader.record(k).shard for k, _, _ in records
    )


def test_byte_identical_output_for_identical_input(tmp_path, records):
    a = _write(tmp_path / "a" / "mei", records, shard_size_bytes=1500)
    b = _write(tmp_path / "b" / "mei", records, shard_size_bytes=1500)
    files_a, files_b = _files(a), _files(b)
    assert files_a == files_b
    for name in (INDEX_FILE, META_FILE):
        assert str(tmp_path).encode() not in files_a[name]  # no absolute paths


def test_different_order_gives_different_bytes(tmp_path, records):
    a = _write(tmp_path / "a", records)
    b = _write(tmp_path / "b", list(reversed(records)))
    assert _files(a) != _files(b)


def test_reorder_buffer_restores_caller_order(tmp_path, records):
    expected = _write(tmp_path / "in_order", records[:2] + records[3:])
    with ShardWriter(
        tmp_path / "shuffled", kind="mei", params={"n": 10, "interval": 5, "method": "gradient"}
    ) as writer:
        buf = ReorderBuffer(writer)
        for pos in (4, 1, 3):
            key, arr, meta = records[pos]
            buf.put(pos, key, arr, meta)
        assert len(writer) == 0 and buf.pending == 3
        buf.skip(2)  # say, a quarantined video
        buf.put(0, *records[0])
        assert buf.pending == 0 and buf.next_position == 5
        buf.finish()
        with pytest.raises(ValueError, match="already"):
            buf.put(1, *records[1])
    assert _files(tmp_path / "shuffled") == _files(expected)


def test_reorder_buffer_finish_reports_gaps(tmp_path, records):
    with ShardWriter(tmp_path / "s", kind="mei") as writer:
        buf = ReorderBuffer(writer)
        buf.put(1, *records[1])
        with pytest.raises(ValueError, match="position 0"):
            buf.finish()


def test_truncated_shard_is_a_clear_error(tmp_path, records):
    out = _write(tmp_path / "s", records)
    shard = out / shard_name(0)
    shard.write_bytes(shard.read_bytes()[:-10])
    with pytest.raises(InputError, match="truncated") as err:
        ShardReader(out)
    assert err.value.path == shard
    assert shard.name in str(err.value)


def test_missing_shard_and_extra_bytes(tmp_path, records):
    out = _write(tmp_path / "s", records, shard_size_bytes=1000)
    last = out / shard_name(len(ShardReader(out).meta["shards"]) - 1)
    data = last.read_bytes()
    last.write_bytes(data + b"\0")
    with pytest.raises(InputError, match="extra bytes"):
        ShardReader(out)
    last.unlink()
    with pytest.raises(InputError, match="missing shard") as err:
        ShardReader(out)
    assert err.value.path == last


def test_corrupt_shard_fails_verify(tmp_path, records):
    out = _write(tmp_path / "s", records)
    shard = out / shard_name(0)
    data = bytearray(shard.read_bytes())
    data[5] ^= 0xFF
    shard.write_bytes(bytes(data))
    reader = ShardReader(out)  # same size: opens fine
    with pytest.raises(InputError, match="checksum") as err:
        reader.verify()
    assert err.value.path == shard


def test_bad_index_names_file_and_line(tmp_path, records):
    out = _write(tmp_path / "s", records)
    index = out / INDEX_FILE
    lines = index.read_text().splitlines(keepends=True)
    index.write_text("".join(lines[:2]) + '{"key": "broken"\n' + "".join(lines[3:]))
    with pytest.raises(InputError) as err:
        ShardReader(out)
    assert err.value.path == index and err.value.line == 3

    doc = json.loads(lines[1])
    doc["offset"] = 10**9
    index.write_text(lines[0] + json.dumps(doc) + "\n" + "".join(lines[2:]))
    with pytest.raises(InputError, match="outside") as err:
        ShardReader(out)
    assert err.value.line == 2

    index.write_text("".join(lines[:-1]))  # a record fewer than meta.json says
    with pytest.raises(InputError, match="4 records"):
        ShardReader(out)


def test_incomplete_folder_is_refused(tmp_path, records):
    out = _write(tmp_path / "s", records)
    (out / META_FILE).unlink()
    with pytest.raises(InputError, match="not a complete shard folder"):
        ShardReader(out)
    with pytest.raises(InputError, match="no such shard folder"):
        ShardReader(tmp_path / "absent")


def test_exception_inside_with_block_leaves_nothing(tmp_path, records):
    out = tmp_path / "s"
    with pytest.raises(RuntimeError, match="boom"), ShardWriter(out, kind="mei") as writer:
        writer.add(*records[0])
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_failed_rewrite_keeps_previous_output(tmp_path, records):
    out = _write(tmp_path / "s", records[:2])
    before = _files(out)
    with pytest.raises(RuntimeError), ShardWriter(out, kind="mei") as writer:
        writer.add(*records[3])
        raise RuntimeError("killed half way")
    assert _files(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["s"]
    _write(out, records)  # a successful re-run replaces it
    assert len(ShardReader(out)) == 5


def test_killed_writer_leaves_no_complete_looking_output(tmp_path):
    out = tmp_path / "s"
    script = textwrap.dedent(
        f"""
        import os
        import numpy as np
        from components.data.shards import ShardWriter
        w = ShardWriter({str(out)!r}, kind="mei", shard_size_bytes=100)
        for i in range(5):
            w.add(f"v{{i}}", np.full((2, 4, 4, 3), i, np.uint8))
        os._exit(9)  # killed before close: no cleanup, no commit
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True)
    assert done.returncode == 9, done.stderr.decode()
    assert not out.exists()
    leftovers = list(tmp_path.iterdir())
    assert leftovers and all(p.name.startswith(".tmp-s.") for p in leftovers)
    for tmp in leftovers:
        assert not (tmp / META_FILE).exists() and not (tmp / INDEX_FILE).exists()
        with pytest.raises(InputError):
            ShardReader(tmp)
    with pytest.raises(InputError):
        ShardReader(out)


def test_writer_rejects_bad_records(tmp_path, records):
    with ShardWriter(tmp_path / "s", kind="mei") as writer:
        key, arr, meta = records[0]
        writer.add(key, arr, meta)
        with pytest.raises(ValueError, match="duplicate"):
            writer.add(key, arr)
        with pytest.raises(ValueError, match="dtype"):
            writer.add("f", arr.astype(np.float32))
        with pytest.raises(ValueError, match="dimensions"):
            writer.add("g", arr[0])
        with pytest.raises(ValueError, match="not finite"):
            writer.add("h", arr, meta={"x": float("nan")})
        with pytest.raises(ValueError, match="JSON"):
            writer.add("i", arr, meta={"x": object()})
        with pytest.raises(ValueError, match="key"):
            writer.add("", arr)
    assert ShardReader(tmp_path / "s").keys() == [key]  # failed adds wrote nothing
    with pytest.raises(ValueError, match="committed"):
        writer.add("late", arr)


def test_other_dtypes_and_empty_writer(tmp_path):
    flow = np.random.default_rng(3).standard_normal((4, 5, 6, 2)).astype(np.float32)
    with ShardWriter(tmp_path / "f", kind="flow", dtype="float32", shard_size_bytes=500) as w:
        w.add("a", flow)
        w.add("b", flow[:1] * 2)
    reader = ShardReader(tmp_path / "f")
    np.testing.assert_array_equal(reader.read("a"), flow)
    np.testing.assert_array_equal(reader.read_item("b", 0), flow[0] * 2)
    with ShardWriter(tmp_path / "empty", kind="mei"):
        pass
    empty = ShardReader(tmp_path / "empty")
    assert len(empty) == 0 and empty.keys() == [] and empty.num_items == 0


def test_reader_pickles_without_data(tmp_path, records):
    reader = ShardReader(_write(tmp_path / "s", records))
    reader.read(records[0][0])  # open a map
    blob = pickle.dumps(reader)
    assert len(blob) < 4096  # maps are not pickled
    clone = pickle.loads(blob)
    np.testing.assert_array_equal(clone.read(records[2][0]), records[2][1])
