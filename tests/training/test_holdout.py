"""The validation hold-out of the training videos."""

from __future__ import annotations

from components.jobs.config import TeacherConfig
from components.jobs.data import index_job_data
from components.training.holdout import holdout_split
from training._data import TinyDataset

TEACHER = TeacherConfig(height=16, width=16, clip_len=4, eval_clips=2, input="gamma")


def _index(data: TinyDataset, job: str, cfg):  # noqa: ANN202
    return index_job_data(job, cfg, data.ingest, data.represent)


def test_holdout_split_is_stratified_and_seeded(tiny_data: TinyDataset) -> None:
    index = _index(tiny_data, "teacher", TEACHER)
    train, val = holdout_split(index.train, 0.25, seed=0)
    assert len(val) == 4 and len(train) == 8
    assert sorted(e.label for e in val) == [0, 0, 1, 1]
    assert holdout_split(index.train, 0.25, seed=0) == (train, val)
    assert not {e.key for e in train} & {e.key for e in val}
