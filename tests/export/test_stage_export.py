"""``har export`` on trained model folders: real clips from the shards (or a video),
parity and latency printed and written, figures on the MLflow run and model version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from inference._support import Shards
from training._fixtures import mlflow_store, mlflow_template  # noqa: F401 - fixtures

from components.cli import main


def _export(shards: Shards, model: str, out: Path, *extra: str) -> dict:
    code = main(["export", model, "--out", str(out), "--ingest", str(shards.ingest),
                 "--represent", str(shards.represent), "--repeats", "2", *extra])
    assert code == 0
    return json.loads(Path(f"{out}.json").read_text())


@pytest.mark.slow
def test_the_fused_network_exports_to_onnx_with_proof(shards: Shards, folders, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "two_stream.onnx"
    report = _export(shards, f"{folders['normal']},{folders['motion']}", out, "--clips", "6")
    assert out.is_file()
    assert report["network"] == "two_stream" and report["runtime"] == "onnxruntime"
    assert set(report["inputs"]) == {"normal", "motion"}
    parity = report["parity"]
    assert parity["ok"] and parity["max_abs_diff_video"] <= 1e-4
    assert parity["clips"] == 6 and parity["videos"] >= 2  # spread over the test split
    assert report["latency_s"]["torch"] > 0 and report["latency_s"]["onnxruntime"] > 0
    printed = capsys.readouterr().out
    assert "parity" in printed and "latency" in printed and "x torch" in printed


@pytest.mark.slow
def test_lift_net_exports_to_torchscript_from_a_video(shards: Shards, folders,
                                                      tmp_path: Path) -> None:
    video = next(shards.videos.rglob("*.avi"), None) or next(shards.videos.rglob("*.mp4"))
    out = tmp_path / "student.ts.pt"
    code = main(["export", str(folders["student"]), "--format", "torchscript", "--out",
                 str(out), "--video", str(video), "--repeats", "2"])
    assert code == 0
    report = json.loads(Path(f"{out}.json").read_text())
    assert report["inputs"].keys() == {"main", "lum"} and report["parity"]["ok"]
    assert report["parity"]["videos"] == 1


def test_no_shards_and_no_video_is_a_clear_error(folders, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    code = main(["export", str(folders["motion"]), "--ingest", str(tmp_path / "none"),
                 "--out", str(tmp_path / "m.onnx")])
    assert code == 2
    assert "no shards here to take real clips from" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.slow
def test_figures_go_to_the_run_and_the_model_version(shards: Shards, folders, tmp_path: Path,
                                                     mlflow_store: str) -> None:  # noqa: F811
    import shutil

    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(mlflow_store)
    with mlflow.start_run() as run:
        mlflow.log_param("job", "motion")
    client = MlflowClient(mlflow_store)
    client.create_registered_model("har-motion-test")
    version = client.create_model_version("har-motion-test", f"runs:/{run.info.run_id}/model",
                                          run_id=run.info.run_id)
    folder = tmp_path / "motion"
    shutil.copytree(folders["motion"], folder)
    info = json.loads((folder / "model.json").read_text())
    (folder / "model.json").write_text(json.dumps({**info, "mlflow_run_id": run.info.run_id}))

    report = _export(shards, str(folder), tmp_path / "motion.onnx", "--clips", "2")
    metrics = client.get_run(run.info.run_id).data.metrics
    assert metrics["export_onnx_max_abs_diff"] == pytest.approx(
        report["parity"]["max_abs_diff_video"])
    assert metrics["export_onnx_latency_s"] > 0 and metrics["export_onnx_torch_latency_s"] > 0
    tags = client.get_model_version("har-motion-test", version.version).tags
    assert float(tags["export_onnx.max_abs_diff"]) <= 1e-4
    assert float(tags["export_onnx.latency_ratio"]) > 0
    assert f"models:/har-motion-test/{version.version}" in report["mlflow"]


def test_an_unreachable_store_is_a_warning(shards: Shards, folders, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch,
                                           caplog: pytest.LogCaptureFixture) -> None:
    import shutil

    folder = tmp_path / "motion"
    shutil.copytree(folders["motion"], folder)
    info = json.loads((folder / "model.json").read_text())
    (folder / "model.json").write_text(json.dumps({**info, "mlflow_run_id": "0" * 32}))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # nothing listens
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    report = _export(shards, str(folder), tmp_path / "m.ts.pt", "--format", "torchscript",
                     "--clips", "2")
    assert report["mlflow"] == [] and report["parity"]["ok"]
    assert "could not log the export's figures to MLflow" in caplog.text
