"""`har predict`: the top labels of videos, with a model trained for real on videos of
known classes, from a folder or from the registry; errors on one line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from inference._support import MOTION_DATASET, train_motion_stream, write_one_video

from components.cli import main


@pytest.fixture(scope="module")
def motion_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A motion stream that tells MoveLeft from MoveRight (trained here, ~30 s)."""
    root = tmp_path_factory.mktemp("predict")
    folder, metrics = train_motion_stream(root / "train", root / "models" / "motion")
    assert metrics["train_top1"] >= 0.9, metrics
    return folder


@pytest.fixture(scope="module")
def fresh_videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One new video of each class: another seed than training (new scene, actor, path)."""
    root = tmp_path_factory.mktemp("fresh")
    return {label: write_one_video(root / f"{label}.mp4", label,
                                   **{**MOTION_DATASET, "seed": 101})
            for label in MOTION_DATASET["classes"]}


def _tables(out: str) -> dict[str, list[tuple[int, str, float]]]:
    """video -> [(rank, label, probability)] from the printed tables."""
    tables: dict[str, list[tuple[int, str, float]]] = {}
    current = None
    for line in out.splitlines():
        row = re.fullmatch(r"\s+(\d+)\s+(\S+)\s+([0-9.]+)", line)
        if row:
            tables[current].append((int(row[1]), row[2], float(row[3])))
        elif line.strip() and not line.lstrip().startswith("rank"):
            current = line.strip()
            tables[current] = []
    return tables


@pytest.mark.slow
def test_predict_prints_the_known_class_first(motion_model: Path, fresh_videos, capsys,
                                              monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    videos = [str(fresh_videos["MoveLeft"]), str(fresh_videos["MoveRight"])]
    assert main(["predict", *videos, "--model", str(motion_model)]) == 0
    out = capsys.readouterr().out
    tables = _tables(out)
    assert list(tables) == videos
    for label, video in zip(("MoveLeft", "MoveRight"), videos, strict=True):
        ranks = tables[video]
        assert [r for r, _, _ in ranks] == [1, 2]  # two classes: top-5 shows both
        assert ranks[0][1] == label, out
        assert ranks[0][2] > 0.5 and sum(p for _, _, p in ranks) == pytest.approx(1, abs=2e-4)
    assert "  rank  label      probability" in out


@pytest.mark.slow
def test_predict_with_the_registered_champion(motion_model: Path, fresh_videos, capsys,
                                              monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    import mlflow

    from components.tracking import promote_if_better, setup_tracking, training_run
    from components.tracking.video_model import log_video_model

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    try:
        setup_tracking(tmp_path, "har-tests")  # the default store: ./mlflow.db
        with training_run("register", experiment="har-tests"):
            version = log_video_model({"model": motion_model},
                                      registered_model_name="har-motion-stream")
            promote_if_better("har-motion-stream", version.version, metric_name="test/top1",
                              metric_value=1.0, dataset_key="synthetic")
        mlflow.set_tracking_uri(None)  # har predict finds the store on its own
        video = str(fresh_videos["MoveRight"])
        assert main(["predict", video, "--model", "models:/har-motion-stream@champion",
                     "--top", "1", "--format", "json"]) == 0
        doc = json.loads(capsys.readouterr().out)
        (prediction,) = doc["predictions"]
        assert doc["model"] == "models:/har-motion-stream@champion" and doc["errors"] == []
        # The alias resolved to the version it points at, said in the output.
        assert doc["resolved"] == f"models:/har-motion-stream/{version.version}"
        assert prediction["video"] == video and prediction["label"] == "MoveRight"
        assert [t["rank"] for t in prediction["top"]] == [1]
        assert prediction["top"][0]["probability"] == prediction["probability"] > 0.5
    finally:
        while mlflow.active_run() is not None:
            mlflow.end_run()
        mlflow.set_tracking_uri(None)


@pytest.mark.slow
def test_a_bad_video_is_named_and_the_others_are_predicted(
        motion_model: Path, fresh_videos, capsys, tmp_path: Path) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all" * 50)
    good = str(fresh_videos["MoveLeft"])
    assert main(["predict", str(bad), good, "--model", str(motion_model)]) == 2
    captured = capsys.readouterr()
    assert list(_tables(captured.out)) == [good]
    errors = captured.err.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith(f"har predict: error: {bad}: cannot decode")


def test_a_missing_video_is_one_line_and_loads_no_model(capsys, tmp_path: Path) -> None:
    missing = tmp_path / "v_Fall_g01_c01.mp4"
    assert main(["predict", str(missing), "--model", str(tmp_path / "no-model")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == f"har predict: error: {missing}: video file not found"


def test_an_unknown_model_is_one_line(write_test_video, capsys, tmp_path: Path) -> None:
    video = write_test_video("clip.mp4")
    assert main(["predict", str(video), "--model", str(tmp_path / "models" / "none")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"har predict: error: {tmp_path / 'models' / 'none'}: no such model folder " \
                  "(a trained model folder such as models/student, or a models:/ URI)"


def test_the_default_model_needs_a_store(write_test_video, capsys, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    video = write_test_video("clip.mp4")
    assert main(["predict", str(video)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("har predict: error: models:/har-lift-net@champion: no MLflow store "
                          f"at {tmp_path / 'mlflow.db'}")
    assert len(err.splitlines()) == 1 and not (tmp_path / "mlflow.db").exists()


def test_har_says_its_version(capsys) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.strip() == f"har {version('har-pipeline')}"


def test_top_must_be_positive(capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["predict", "x.mp4", "--top", "0"])
    assert caught.value.code == 2
    assert "must be >= 1" in capsys.readouterr().err
