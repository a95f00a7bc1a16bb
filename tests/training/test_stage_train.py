"""``har train`` / ``har tune`` argument and params handling (no training)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import yaml

from components.errors import ConfigError
from components.jobs.config import StreamConfig, TeacherConfig
from components.stages import train as train_stage
from components.stages import tune as tune_stage
from components.training.driver import registered_name


def _args(tmp_path: Path, params: dict, *argv: str) -> argparse.Namespace:
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    parser = argparse.ArgumentParser()
    train_stage.configure(parser)
    return parser.parse_args(["--params", str(tmp_path / "params.yaml"), *argv])


def test_sections_and_flags_build_the_request(tmp_path: Path) -> None:
    args = _args(tmp_path, {
        "train": {"num_workers": 1, "models_file": None},
        "train_teacher": {"input": "flow", "epochs": 5, "augment": {"flip": 0.0}},
    }, "--job", "teacher", "--epochs", "2", "--num-workers", "2", "--fresh")
    request = train_stage.build_request(args, tmp_path)
    assert isinstance(request.config, TeacherConfig)
    assert request.config.input == "flow" and request.config.epochs == 2
    assert request.config.augment.flip == 0.0
    assert request.settings.num_workers == 2 and request.fresh
    assert request.data.ingest == Path("data/ingest")


def test_normal_stream_reads_frames_by_default(tmp_path: Path) -> None:
    args = _args(tmp_path, {"train": {"models_file": None},
                            "train_normal": {"model": "efficientnet_b0"}}, "--job", "normal")
    request = train_stage.build_request(args, tmp_path)
    assert isinstance(request.config, StreamConfig) and request.config.input == "frames"


def test_unknown_parameters_are_refused(tmp_path: Path) -> None:
    args = _args(tmp_path, {"train": {"models_file": None}, "train_teacher": {"kd": True}},
                 "--job", "teacher")
    with pytest.raises(ConfigError, match="train_teacher.kd"):
        train_stage.build_request(args, tmp_path)


def test_motion_stream_must_read_a_motion_representation(tmp_path: Path) -> None:
    args = _args(tmp_path, {"train": {"models_file": None}, "train_motion": {"input": "frames"}},
                 "--job", "motion")
    with pytest.raises(ConfigError, match="mei or rank"):
        train_stage.build_request(args, tmp_path)


def test_pretrained_map_is_made_absolute(tmp_path: Path) -> None:
    (tmp_path / "models.yaml").write_text(yaml.safe_dump(
        {"pretrained": {"resnet50": "weights/r50.pth", "r2plus1d_18": None}}))
    mapping = train_stage.pretrained_map(Path("models.yaml"), tmp_path)
    assert mapping == {"resnet50": str(tmp_path / "weights/r50.pth"), "r2plus1d_18": None}
    assert train_stage.pretrained_map(Path("missing.yaml"), tmp_path) == {}


def test_tune_stage_has_its_flags() -> None:
    parser = argparse.ArgumentParser()
    tune_stage.configure(parser)
    args = parser.parse_args(["--num-samples", "3"])
    assert args.num_samples == 3 and args.out == Path("metrics/tune_best.yaml")


def test_a_variant_layers_its_section_over_the_jobs_and_writes_under_its_name(
        tmp_path: Path) -> None:
    args = _args(tmp_path, {
        "train": {"num_workers": 1, "models_file": None},
        "train_student": {"epochs": 4, "kd": True, "model_kwargs": {"depth": 2, "num_heads": 2}},
        "train_student_nokd": {"kd": False, "model_kwargs": {"depth": 1}},
    }, "--job", "student", "--variant", "nokd")
    request = train_stage.build_request(args, tmp_path)
    assert request.config.kd is False and request.config.epochs == 4
    assert request.config.model_kwargs == {"depth": 1, "num_heads": 2}  # nested keys merge
    assert request.outputs.name == "student_nokd"
    # Another model, not a version of LIFT-Net's: it never competes with the KD student.
    assert registered_name(request) == "har-lift-net-nokd"
    assert request.candidate_only == ""  # a production run (dvc repro's command)


def test_scratch_runs_are_challengers_and_no_register_registers_nothing(
        tmp_path: Path) -> None:
    params = {"train": {"num_workers": 1, "models_file": None}}
    epochs = train_stage.build_request(_args(tmp_path, params, "--job", "teacher",
                                             "--epochs", "1"), tmp_path)
    assert epochs.candidate_only == "a scratch run (--epochs 1 on the command line)"
    elsewhere = train_stage.build_request(_args(tmp_path, params, "--job", "teacher",
                                                "--models", "/tmp/x"), tmp_path)
    assert elsewhere.candidate_only == "a scratch run (--models /tmp/x)"
    assert registered_name(elsewhere) == "har-teacher"
    quiet = train_stage.build_request(_args(tmp_path, params, "--job", "teacher",
                                            "--no-register"), tmp_path)
    assert not quiet.register and quiet.candidate_only == ""


REPO_MODELS = Path(__file__).resolve().parents[2] / "conf" / "models.yaml"


def test_the_preset_names_each_jobs_network_and_the_section_overrides_it(
        tmp_path: Path) -> None:
    from components.models.presets import load_models_config

    demo = load_models_config(REPO_MODELS).presets["demo"]
    params = {"train": {"preset": "demo", "models_file": str(REPO_MODELS)},
              "train_teacher": {"model": None, "model_kwargs": {"dropout": 0.1}}}
    request = train_stage.build_request(_args(tmp_path, params, "--job", "teacher"), tmp_path)
    assert request.config.model == demo.jobs["teacher"]
    assert request.config.model_kwargs == {**demo.networks[demo.jobs["teacher"]], "dropout": 0.1}
    params["train_teacher"] = {"model": "r3d_18"}  # the ablation: same width, other blocks
    request = train_stage.build_request(_args(tmp_path, params, "--job", "teacher"), tmp_path)
    assert request.config.model == "r3d_18"
    assert request.config.model_kwargs == demo.networks["r3d_18"]
    params["train"]["preset"] = "laptop"
    with pytest.raises(ConfigError, match="no preset 'laptop'"):
        train_stage.build_request(_args(tmp_path, params, "--job", "teacher"), tmp_path)
    params["train"] = {"preset": "demo", "models_file": "missing.yaml"}
    with pytest.raises(ConfigError, match="models file not found"):
        train_stage.build_request(_args(tmp_path, params, "--job", "teacher"), tmp_path)
