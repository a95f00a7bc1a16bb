"""`har models`: the table of parameters and FLOPs (components/stages/models.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import timm
import torch
import yaml

from components.errors import ConfigError, InputError
from components.stages import models as stage

CONFIG = Path(__file__).resolve().parents[2] / "conf" / "models.yaml"


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    stage.configure(parser)
    return stage.run(parser.parse_args(list(argv)))


def test_repository_config_has_both_presets() -> None:
    config = stage.load_models_config(CONFIG)
    assert {"demo", "paper"} <= set(config.presets)
    for preset in ("demo", "paper"):
        models = {e.model for e in config.presets[preset].models}
        assert {
            "r2plus1d_18",
            "r3d_18",
            "lift_net",
            "efficientnet_b0",
            "densenet201",
            "mobilenetv2_100",
            "resnet50",
            "inception_v3",
            "ensemble",
            "two_stream",
        } <= models
    assert all(v is None for v in config.pretrained.values())  # nothing pretrained by default


def test_prints_an_aligned_table(capsys) -> None:
    assert (
        _run(
            "--config",
            str(CONFIG),
            "--preset",
            "paper",
            "--only",
            "teacher_r2plus1d_18_16x112",
            "--only",
            "lift_net_small",
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("model"))
    rows = lines[header + 2 :]
    assert [r.split()[0] for r in rows] == ["teacher_r2plus1d_18_16x112", "lift_net_small"]
    assert "GFLOPs" in lines[header] and "trainable" in lines[header]
    # Columns line up: "params" ends at the same position in every line.
    end = lines[header].index("params") + len("params")
    assert all(r[end - 1] == "M" for r in rows)
    assert "81.04" in rows[0]  # R(2+1)D-18 on 3x16x112x112: 2 x 40.5 G multiply-adds


def test_demo_job_rows_are_what_training_builds_at_the_params_sizes(tmp_path: Path,
                                                                    capsys) -> None:
    """The job rows follow params.yaml: its frame size and clip length, the preset's
    network, and the section's model_kwargs over the preset's arguments."""
    params = yaml.safe_load((CONFIG.parents[1] / "params.yaml").read_text())
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    _run("--config", str(CONFIG), "--params", str(path), "--only", "teacher",
         "--only", "student", "--only", "motion")
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()
            if line.startswith("train_")}
    size, clip = params["train_teacher"]["height"], params["train_teacher"]["clip_len"]
    assert f"3x{clip}x{size}x{size}" in rows["train_teacher"]
    assert f"{clip}x3x{size}x{size} + 3x{clip}x{size}x{size}" in rows["train_student"]
    assert "small_cnn" in rows["train_motion"]

    params["train_teacher"].update(height=48, width=48, model_kwargs={"width": 8})
    path.write_text(yaml.safe_dump(params))
    _run("--config", str(CONFIG), "--params", str(path), "--only", "teacher")
    row = next(line for line in capsys.readouterr().out.splitlines()
               if line.startswith("train_teacher"))
    assert f"3x{clip}x48x48" in row and rows["train_teacher"].split()[3] != row.split()[3]


def test_markdown_and_output_file(tmp_path: Path, capsys) -> None:
    out = tmp_path / "models.md"
    _run(
        "--config",
        str(CONFIG),
        "--preset",
        "paper",
        "--only",
        "resnet50",
        "--format",
        "markdown",
        "--output",
        str(out),
    )
    printed = capsys.readouterr().out
    assert "| resnet50 " in printed and "---:|" in printed
    assert out.read_text() == printed


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["demo", "paper"])
def test_whole_presets(preset: str, capsys) -> None:
    assert _run("--config", str(CONFIG), "--preset", preset) == 0
    out = capsys.readouterr().out
    names = {
        "demo": ("train_teacher", "train_student", "train_normal", "train_motion",
                 "teacher_r3d_18", "lift_net_small_flow", "ensemble_5", "two_stream_small_cnn",
                 "inception_v3"),
        "paper": ("teacher_r2plus1d_18", "teacher_r3d_18", "lift_net_small", "ensemble_5",
                  "two_stream_efficientnet_b0", "inception_v3"),
    }[preset]
    for name in names:
        assert f"\n{name} " in out


def _write_config(tmp_path: Path, models: list[dict], pretrained: dict | None = None) -> Path:
    path = tmp_path / "models.yaml"
    data = {
        "pretrained": pretrained or {},
        "presets": {"demo": {"num_classes": 3, "models": models}},
    }
    path.write_text(yaml.safe_dump(data))
    return path


def test_bad_config_is_a_config_error(tmp_path: Path) -> None:
    path = _write_config(tmp_path, [{"name": "x", "model": "resnet5", "inputs": [[3, 32, 32]]}])
    with pytest.raises(ConfigError, match=r"models\[0\] \(x\): unknown model 'resnet5'"):
        stage.load_models_config(path)
    path = _write_config(tmp_path, [{"name": "x", "model": "resnet50", "inputs": [[3, 0, 32]]}])
    with pytest.raises(ConfigError, match="positive sizes"):
        stage.load_models_config(path)
    path = _write_config(
        tmp_path, [{"name": "x", "model": "resnet50", "inputs": [[3, 32, 32]], "kwarg": {}}]
    )
    with pytest.raises(ConfigError, match="unknown parameter"):
        stage.load_models_config(path)


def test_model_that_cannot_run_at_its_input_is_named(tmp_path: Path) -> None:
    path = _write_config(
        tmp_path, [{"name": "small_inception", "model": "inception_v3", "inputs": [[3, 32, 32]]}]
    )
    with pytest.raises(ConfigError, match="small_inception .*does not run"):
        _run("--config", str(path))


def test_check_pretrained_reports_loaded_keys(tmp_path: Path, capsys) -> None:
    weights = tmp_path / "mobilenet_imagenet.pth"
    torch.save(timm.create_model("mobilenetv2_100", pretrained=False).state_dict(), weights)
    models = [{"name": "m", "model": "mobilenetv2_100", "inputs": [[3, 32, 32]]}]
    path = _write_config(tmp_path, models, {"mobilenetv2_100": str(weights)})
    assert _run("--config", str(path), "--check-pretrained") == 0
    out = capsys.readouterr().out
    assert str(weights) in out and "(missing)" not in out
    assert "classifier backbone.classifier not loaded: the checkpoint has 1000 outputs" in out

    path = _write_config(tmp_path, models, {"mobilenetv2_100": str(tmp_path / "gone.pth")})
    _run("--config", str(path))
    assert "gone.pth (missing)" in capsys.readouterr().out
    with pytest.raises(InputError, match="not found"):
        _run("--config", str(path), "--check-pretrained")
