"""The synthetic dataset in each lighting, ingested and represented for real: the
lighting measured at ingest picks the teacher's luminous input (``input: auto``),
and the teacher trains on it; a declared lighting wins over the measurement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.cli import main
from components.data.synthetic import SynthConfig, write_dataset
from components.data.video import write_video
from components.errors import InputError
from components.jobs.config import StudentConfig, TeacherConfig
from components.training import DataPaths, TrainRequest
from components.training.driver import prepare_training, resolve_luminous_input
from components.training.local import fit_locally
from training._fixtures import settings, write_fake_teacher

PARAMS = """
represent: {height: 16, width: 16, workers: 1}
"""
EXPECTED = {"dark": "gamma", "daylight": "flow", "infrared": "flow"}


def _pipeline(root: Path, lighting: str, declared: str | None = None) -> Path:
    """synth -> ingest -> represent (frames, gamma, flow) under ``root``."""
    videos = root / "videos"
    videos.mkdir(parents=True)
    cfg = SynthConfig(groups=3, clips_per_group=2, test_groups=1, num_frames=8, height=32,
                      width=32, lighting=lighting, seed=1)  # type: ignore[arg-type]
    write_dataset(cfg, videos, lambda p, f, fps, crf: write_video(p, f, fps=fps, crf=crf))
    params = root / "params.yaml"
    params.write_text(PARAMS)
    ingest = root / "data" / "ingest"
    extra = ["--lighting", declared] if declared else []
    assert main(["ingest", "--params", str(params), "--root", str(videos), "--format",
                 "ucf101", "--out", str(ingest), *extra]) == 0
    for kind in ("frames", "gamma", "flow"):
        assert main(["represent", "--params", str(params), "--kind", kind, "--manifest",
                     str(ingest / "manifest.csv"), "--out",
                     str(root / "data" / "represent" / kind)]) == 0
    return root


@pytest.mark.slow
@pytest.mark.parametrize("lighting", ["dark", "daylight", "infrared"])
def test_the_measured_lighting_picks_the_luminous_input_and_the_teacher_trains(
        lighting: str, tmp_path: Path) -> None:
    root = _pipeline(tmp_path, lighting)
    info = json.loads((root / "data/ingest/dataset.json").read_text())
    assert (info["lighting"], info["lighting_source"]) == (lighting, "measured")
    config = TeacherConfig(height=16, width=16, clip_len=4, eval_clips=1, epochs=1,
                           batch_size=4, model_kwargs={"width": 4})
    assert config.input == "auto"
    request = TrainRequest(job="teacher", config=config, settings=settings(root),
                           data=DataPaths(root / "data/ingest", root / "data/represent"),
                           repo_root=root, val_fraction=0.0)
    prepared = prepare_training(request, total_cpus=1)
    assert prepared.config.input == EXPECTED[lighting]
    assert prepared.plan.kinds["main"] == EXPECTED[lighting]
    session = fit_locally(prepared.plan)
    assert session.epoch == 1 and session.history[0]["train/loss"] > 0


def test_a_declared_lighting_wins_and_a_distilled_student_follows_its_teacher(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = _pipeline(tmp_path, "dark", declared="infrared")
    info = json.loads((root / "data/ingest/dataset.json").read_text())
    assert (info["lighting"], info["lighting_source"]) == ("infrared", "declared")
    assert info["lighting_measured"]["lighting"] == "dark"
    assert "keeping the declared infrared" in caplog.text
    ingest = root / "data/ingest"
    teacher = resolve_luminous_input("teacher", TeacherConfig(), ingest, root)
    assert teacher.input == "flow"
    classes = tuple((ingest / "classes.txt").read_text().split())
    write_fake_teacher(root / "models/teacher", classes, "gamma")
    student = resolve_luminous_input("student", StudentConfig(), ingest, root)
    assert student.input == "gamma"  # the teacher's, whatever the light
    nokd = resolve_luminous_input("student", StudentConfig(kd=False), ingest, root)
    assert nokd.input == "flow"
    # Nothing recorded and nothing declared: a clear error naming dataset.json.
    (ingest / "dataset.json").write_text(json.dumps({**info, "lighting": None}))
    with pytest.raises(InputError, match="dataset.json: no lighting recorded"):
        resolve_luminous_input("teacher", TeacherConfig(), ingest, root)
