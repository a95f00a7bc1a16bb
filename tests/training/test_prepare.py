"""Preparing a job (no Ray, no MLflow): plans, fingerprints, the student's teacher."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from components.errors import ConfigError
from components.jobs.config import StudentConfig
from components.training import DataPaths, TrainRequest
from components.training.driver import prepare_training
from training._data import TinyDataset
from training._fixtures import TINY_LIFT_KWARGS, settings, teacher_config, write_fake_teacher


def _prepare(data: TinyDataset, job: str, config, **changes):  # noqa: ANN001, ANN003, ANN202
    request = TrainRequest(job=job, config=config, settings=settings(data.root),
                           data=DataPaths(data.ingest, data.represent), repo_root=data.root)
    return prepare_training(dataclasses.replace(request, **changes), total_cpus=2)


def _student(**changes) -> StudentConfig:  # noqa: ANN003
    base = StudentConfig(height=16, width=16, clip_len=4, model_kwargs=dict(TINY_LIFT_KWARGS),
                         teacher=Path("models/teacher"))
    return dataclasses.replace(base, **changes)


def test_the_fingerprint_ignores_how_a_run_executes(tiny_data: TinyDataset) -> None:
    a = _prepare(tiny_data, "teacher", teacher_config())
    b = _prepare(tiny_data, "teacher", teacher_config(),
                 settings=settings(tiny_data.root, num_workers=1, max_failures=3))
    c = _prepare(tiny_data, "teacher", teacher_config(epochs=4))
    assert a.fingerprint == b.fingerprint and a.run_name == b.run_name
    assert c.fingerprint.digest != a.fingerprint.digest
    assert a.plan.threads == 1 and a.plan.model.kwargs == {"num_classes": 2, "in_channels": 3}
    assert a.run_name.startswith("teacher-") and Path(a.storage_path).is_absolute()


def test_the_student_builds_on_the_trained_teacher(tiny_data: TinyDataset) -> None:
    write_fake_teacher(tiny_data.root / "models" / "teacher", tiny_data.classes)
    prepared = _prepare(tiny_data, "student", _student())
    plan = prepared.plan
    assert plan.teacher is not None and plan.teacher.model.name == "r2plus1d_18"
    assert plan.model.kwargs["luminous_arch"] == "r2plus1d_18"
    assert plan.model.kwargs["img_size"] == 16 and plan.model.kwargs["luminous_in_channels"] == 3
    assert "input.teacher" in prepared.fingerprint.parts
    # Eq. 6 distils logits: the feature projection h2 is unused, which DDP must know.
    assert plan.find_unused_parameters
    assert not _prepare(tiny_data, "student", _student(kd_target="features")
                        ).plan.find_unused_parameters


def test_without_kd_the_student_needs_no_teacher_and_trains_its_trunk(
        tiny_data: TinyDataset) -> None:
    plan = _prepare(tiny_data, "student", _student(kd=False)).plan
    assert plan.teacher is None and plan.model.kwargs["train_luminous_trunk"] is True
    assert plan.find_unused_parameters
    assert "luminous_pretrained_path" not in plan.model.kwargs  # none configured


def test_without_kd_the_trunk_starts_where_the_teacher_started(tiny_data: TinyDataset) -> None:
    import torch

    from components.models import create_model

    # The teacher's starting weights (a Kinetics-400 file on a real machine).
    start = create_model("r2plus1d_18", num_classes=400)
    weights = tiny_data.root / "r2plus1d_18_start.pth"
    torch.save(start.state_dict(), weights)
    plan = _prepare(tiny_data, "student", _student(kd=False),
                    pretrained={"r2plus1d_18": str(weights)}).plan
    assert plan.model.kwargs["luminous_pretrained_path"] == str(weights)
    student = create_model(plan.model.name, **plan.model.kwargs)
    torch.testing.assert_close(student.luminous_trunk.state_dict()["stem.0.weight"],
                               start.state_dict()["stem.0.weight"])
    # With KD the trunk is the trained teacher's: the starting file is not used.
    write_fake_teacher(tiny_data.root / "models" / "teacher", tiny_data.classes)
    kd_plan = _prepare(tiny_data, "student", _student(),
                       pretrained={"r2plus1d_18": str(weights)}).plan
    assert "luminous_pretrained_path" not in kd_plan.model.kwargs


def test_the_student_must_read_the_teachers_luminous_input(tiny_data: TinyDataset) -> None:
    write_fake_teacher(tiny_data.root / "models" / "teacher", tiny_data.classes, "flow")
    with pytest.raises(ConfigError, match="trained on 'flow'"):
        _prepare(tiny_data, "student", _student(input="gamma"))


def test_bad_model_arguments_fail_before_training(tiny_data: TinyDataset) -> None:
    with pytest.raises(ConfigError, match="does not take"):
        _prepare(tiny_data, "teacher", teacher_config(model_kwargs={"widht": 3}))


def test_a_batch_larger_than_the_data_is_refused(tiny_data: TinyDataset) -> None:
    with pytest.raises(ConfigError, match="batch_size 64"):
        _prepare(tiny_data, "teacher", teacher_config(batch_size=64))


def test_holding_out_validation_videos_changes_what_is_evaluated(tiny_data: TinyDataset) -> None:
    prepared = _prepare(tiny_data, "teacher", teacher_config(), val_fraction=0.25)
    assert prepared.plan.eval_prefix == "val"
    assert len(prepared.plan.train) == 8 and len(prepared.plan.eval) == 4


def test_raw_frames_are_a_luminous_input_the_student_inherits(tiny_data: TinyDataset) -> None:
    # The control of the paper's dark-video claim: the teacher on raw frames.
    teacher = _prepare(tiny_data, "teacher", teacher_config(input="frames")).plan
    assert teacher.model.kwargs["in_channels"] == 3
    write_fake_teacher(tiny_data.root / "models" / "teacher", tiny_data.classes, "frames")
    student = _prepare(tiny_data, "student", _student(input="auto"))
    assert student.plan.model.kwargs["luminous_in_channels"] == 3
    assert student.config.input == "frames"
