"""Datasets over the shards: samples' shapes, labels, clips and crops."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from training._data import TinyDataset

from components.jobs.config import StreamConfig, StudentConfig, TeacherConfig
from components.jobs.data import index_job_data
from components.jobs.datasets import ClipDataset, build_datasets, eval_clip_starts

TEACHER = TeacherConfig(height=16, width=16, clip_len=4, eval_clips=2, input="gamma")


def _index(data: TinyDataset, job: str, cfg):  # noqa: ANN202
    return index_job_data(job, cfg, data.ingest, data.represent)


def test_teacher_clips_have_shape_label_and_video(tiny_data: TinyDataset) -> None:
    index = _index(tiny_data, "teacher", TEACHER)
    assert index.num_classes == 2 and len(index.train) == 12 and len(index.test) == 4
    train, test = build_datasets("teacher", TEACHER, index.roots, index.kinds, index.train,
                                 index.test, seed=0)
    sample = train[3]
    assert sample["x"].shape == (3, 4, 16, 16) and sample["x"].dtype == torch.float32
    assert int(sample["y"]) == index.train[3].label and int(sample["video"]) == 3
    assert len(test) == 4 * 2  # two evaluation clips per video
    assert int(test[5]["video"]) == 2


def test_flow_clips_have_two_channels_in_minus_one_to_one(tiny_data: TinyDataset) -> None:
    cfg = dataclasses.replace(TEACHER, input="flow")
    index = _index(tiny_data, "teacher", cfg)
    train, _ = build_datasets("teacher", cfg, index.roots, index.kinds, index.train, index.test, 0)
    x = train[0]["x"]
    assert x.shape == (2, 4, 16, 16)
    assert x.min() >= -1.0 and x.max() <= 1.0


def test_student_pairs_frames_and_luminous_at_the_same_positions(tiny_data: TinyDataset) -> None:
    cfg = StudentConfig(height=16, width=16, clip_len=4, eval_clips=1, input="gamma")
    index = _index(tiny_data, "student", cfg)
    assert index.kinds == {"main": "frames", "lum": "gamma"}
    _, test = build_datasets("student", cfg, index.roots, index.kinds, index.train, index.test, 0)
    sample = test[0]
    assert sample["main"].shape == (4, 3, 16, 16) and sample["lum"].shape == (3, 4, 16, 16)


def test_image_items_cover_every_mei_and_base_frame(tiny_data: TinyDataset) -> None:
    motion = StreamConfig(height=16, width=16, input="mei")
    normal = StreamConfig(height=16, width=16, input="frames")
    m_index, n_index = _index(tiny_data, "motion", motion), _index(tiny_data, "normal", normal)
    m_train, _ = build_datasets("motion", motion, m_index.roots, m_index.kinds, m_index.train,
                                m_index.test, 0)
    n_train, _ = build_datasets("normal", normal, n_index.roots, n_index.kinds, n_index.train,
                                n_index.test, 0)
    assert len(m_train) == len(n_train) == 12 * 3  # 3 MEIs (n=4, interval=2) per video
    assert m_train[4]["x"].shape == n_train[4]["x"].shape == (3, 16, 16)
    assert n_index.train[0].base_positions == (3, 5, 7)


def test_training_clips_change_with_the_epoch_and_repeat_for_the_same_epoch(
        tiny_data: TinyDataset) -> None:
    index = _index(tiny_data, "teacher", TEACHER)
    train = ClipDataset(index.roots["main"], index.train, kind="gamma", clip_len=2, stride=1,
                        train=True, seed=0)
    first = [train.positions(i, np.random.default_rng([0, 1, i]))[1] for i in range(12)]
    again = [train.positions(i, np.random.default_rng([0, 1, i]))[1] for i in range(12)]
    other = [train.positions(i, np.random.default_rng([0, 2, i]))[1] for i in range(12)]
    assert first == again and first != other


def test_eval_crops_multiply_the_samples_of_a_video_at_the_same_frames(
        tiny_data: TinyDataset) -> None:
    cfg = dataclasses.replace(TEACHER, eval_crops=3)
    index = _index(tiny_data, "teacher", cfg)
    _, test = build_datasets("teacher", cfg, index.roots, index.kinds, index.train, index.test, 0)
    assert len(test) == 4 * 2 * 3  # videos x clips x crops
    views = [test[i] for i in range(6)]  # the first video: clip 0 (3 crops), clip 1 (3 crops)
    assert {int(v["video"]) for v in views} == {0} and int(test[6]["video"]) == 1
    assert [test.positions(i, None)[1] for i in range(3)] == [test.positions(0, None)[1]] * 3
    assert not torch.equal(views[0]["x"], views[2]["x"])  # left and right crops differ


def test_eval_clips_are_evenly_spaced() -> None:
    assert eval_clip_starts(10, 4, 1, 1) == [3]
    assert eval_clip_starts(10, 4, 1, 3) == [0, 3, 6]
    assert eval_clip_starts(3, 4, 1, 2) == [0, 0]
