"""A job's data: the checks that run before it is trained or scored, each naming the
file at fault, and the videos a shard lacks."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from training._data import TinyDataset, write_tiny_dataset

from components.errors import InputError
from components.jobs.config import StreamConfig, TeacherConfig
from components.jobs.data import index_job_data

TEACHER = TeacherConfig(height=16, width=16, clip_len=4, eval_clips=2, input="gamma")


def _index(data: TinyDataset, job: str, cfg):  # noqa: ANN202
    return index_job_data(job, cfg, data.ingest, data.represent)


def test_frame_size_mismatch_names_the_shard_meta(tiny_data: TinyDataset) -> None:
    cfg = dataclasses.replace(TEACHER, height=32, width=32)
    with pytest.raises(InputError, match="16x16") as err:
        _index(tiny_data, "teacher", cfg)
    assert err.value.path == tiny_data.represent / "gamma" / "meta.json"


def test_class_count_mismatch_names_classes_txt(tiny_data: TinyDataset) -> None:
    cfg = dataclasses.replace(TEACHER, num_classes=5)
    with pytest.raises(InputError, match="lists 2 classes") as err:
        _index(tiny_data, "teacher", cfg)
    assert err.value.path.name == "classes.txt"


def test_label_outside_the_classes_names_the_manifest_line(tmp_path: Path) -> None:
    data = write_tiny_dataset(tmp_path, size=16, classes=3)
    (data.ingest / "classes.txt").write_text("0 Class0\n1 Class1\n")
    with pytest.raises(InputError, match="outside the 2 classes") as err:
        _index(data, "teacher", TEACHER)
    assert err.value.path.name == "manifest.csv" and err.value.line is not None


def test_wrong_channel_count_is_refused(tmp_path: Path) -> None:
    data = write_tiny_dataset(tmp_path, size=16, kinds=("frames", "flow"))
    shutil.rmtree(data.represent / "frames")
    shutil.copytree(data.represent / "flow", data.represent / "gamma")
    meta = json.loads((data.represent / "gamma" / "meta.json").read_text())
    meta["kind"] = "gamma"
    (data.represent / "gamma" / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="must be"):
        _index(data, "teacher", TEACHER)


def test_videos_missing_from_a_shard_are_skipped(tmp_path: Path) -> None:
    data = write_tiny_dataset(tmp_path, size=16)
    manifest = data.ingest / "manifest.csv"
    lines = manifest.read_text().splitlines()
    extra = lines[1].replace("g01", "g99")
    manifest.write_text("\n".join([*lines, extra]) + "\n")
    index = _index(data, "teacher", TEACHER)
    assert index.skipped == 1 and len(index.train) == 12


def test_missing_representation_is_a_clear_error(tiny_data: TinyDataset) -> None:
    shutil.rmtree(tiny_data.represent / "mei")
    with pytest.raises(InputError, match="har represent --kind mei"):
        _index(tiny_data, "motion", StreamConfig(height=16, width=16))
