"""The driver end to end on a local Ray: DDP fit, outputs, MLflow, registry, refusals."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from components.training import (
    CheckpointMismatchError,
    DataPaths,
    OutputPaths,
    TrainRequest,
    run_training,
)
from components.training.checkpoint import latest_checkpoint
from components.training.driver import prepare_training
from training._data import TinyDataset, write_tiny_dataset
from training._fixtures import settings, teacher_config


def _request(data: TinyDataset, **changes) -> TrainRequest:  # noqa: ANN003
    root = data.root
    request = TrainRequest(
        job="teacher", config=teacher_config(), settings=settings(root),
        data=DataPaths(data.ingest, data.represent),
        outputs=OutputPaths(root / "models", root / "metrics", root / "plots"), repo_root=root,
    )
    return dataclasses.replace(request, **changes)


@pytest.mark.integration
@pytest.mark.slow
def test_two_worker_ddp_fit_learns_and_everything_is_recorded(
        tmp_path: Path, mlflow_store: str, ray_session: None) -> None:
    from mlflow.tracking import MlflowClient

    # Two classes of coloured stripes (trivially separable), 16 test videos: a model
    # at chance (50 %) scores 14 of 16 or more with probability 0.2 %.
    # 32 px, not 16: at 16 px the last stages see 1x1 maps, and BatchNorm over 2 clips
    # a rank maps any pair to +-1 (measured: 50-80 % after 4 epochs). 26 training
    # videos, batch 4 (2 on each of the 2 ranks): 6 optimiser steps an epoch.
    tiny_data = write_tiny_dataset(tmp_path, size=32, frames=8, train_per_class=16,
                                   test_per_class=8)
    config = teacher_config(height=32, width=32, epochs=4, batch_size=4, lr=3e-3, patience=0,
                            model_kwargs={"width": 8})
    result = run_training(_request(tiny_data, config=config))

    assert [int(h["epoch"]) for h in result.history] == [1, 2, 3, 4]
    assert result.metrics["top1"] >= 14 / 16 and result.metrics["videos"] == 16, result.history
    assert 1 <= result.metrics["best_epoch"] <= 4
    assert all("val/top1" in h and "test/top1" not in h for h in result.history)
    # 26 training videos (3 of 16 scene groups held out for validation): 6 full steps of
    # 4 (the last, partial one dropped), both ranks counted
    assert result.history[0]["train/samples"] == 24
    root = tiny_data.root
    metrics = json.loads((root / "metrics" / "teacher.json").read_text())
    assert {"top1", "top5", "mean_class_acc", "loss", "epochs", "seconds"} <= set(metrics)
    assert (root / "models" / "teacher" / "model.pt").is_file()
    assert (root / "plots" / "teacher.csv").read_text().splitlines()[0].startswith("epoch,")
    assert (root / "plots" / "teacher_confusion.png").stat().st_size > 0

    client = MlflowClient(tracking_uri=mlflow_store)
    run = client.get_run(result.mlflow_run_id)
    assert run.info.status == "FINISHED"
    assert run.data.metrics["test/top1"] == pytest.approx(result.metrics["top1"])
    assert run.data.tags["har.job"] == "train-teacher"
    assert "data.manifest.sha256" in run.data.params
    (used,) = run.inputs.dataset_inputs  # the manifest, as the run page's dataset
    assert used.dataset.source_type == "local" and "manifest.csv" in used.dataset.source
    assert {t.key: t.value for t in used.tags}["mlflow.data.context"] == "training"
    assert "har.git.commit" in run.data.tags and "har.lib.torch" in run.data.tags
    steps = [m.step for m in client.get_metric_history(run.info.run_id, "train/loss")]
    assert sorted(steps) == [1, 2, 3, 4]
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"figures", "config.yaml", "provenance.json"} <= artifacts
    assert "checkpoint" not in artifacts  # the resume state stays out of the store
    version = client.get_model_version("har-teacher", result.model_version)
    assert version.run_id == run.info.run_id
    # The registry says what the model is, what it was trained on and how: its card.
    card = version.description
    assert card.startswith("# Model card: har-teacher v1\n\nR(2+1)D teacher (cross-entropy): "
                           "r2plus1d_18, input gamma, on ")
    assert "`har train --job teacher`" in card and "## Results" in card, card
    assert version.tags["har.variant"] == "teacher" and version.tags["har.lighting"] == "dark"
    assert "champion (serves" in client.get_registered_model("har-teacher").description
    assert str(client.get_registered_model("har-teacher").aliases["champion"]) == \
        str(version.version)
    # The finished run folder keeps its MLflow run id; its checkpoints are pruned.
    state = json.loads((Path(result.run_dir) / "har_run.json").read_text())
    assert state["mlflow_run_id"] == run.info.run_id and state["completed"]
    assert latest_checkpoint(Path(result.run_dir)) is None
    assert not list(Path(result.run_dir).glob("epoch-*"))


@pytest.mark.integration
def test_resume_refuses_a_checkpoint_of_another_config(
        tiny_data: TinyDataset, mlflow_store: str, ray_session: None, tmp_path: Path) -> None:
    from components.training.checkpoint import save_checkpoint

    first = prepare_training(_request(tiny_data), total_cpus=2)
    other = prepare_training(_request(tiny_data, config=teacher_config(lr=5e-4)), total_cpus=2)
    assert first.run_name != other.run_name  # another config never shares a run folder
    # Put config A's checkpoint where config B's run looks for its latest one.
    run_dir = Path(other.storage_path) / other.run_name
    (run_dir / "epoch-0001").mkdir(parents=True)
    save_checkpoint(run_dir / "epoch-0001", fingerprint=first.fingerprint, job="teacher",
                    model_name="r2plus1d_18", epoch=1, state={"model": {}})
    (run_dir / "checkpoint_manager_snapshot.json").write_text(
        json.dumps({"latest_checkpoint_result": {"checkpoint_dir_name": "epoch-0001"}}))
    with pytest.raises(CheckpointMismatchError, match=r"train_teacher\.lr"):
        run_training(_request(tiny_data, config=teacher_config(lr=5e-4)))
    # Nothing was trained or logged for B.
    assert not (tiny_data.root / "models").exists()
    shutil.rmtree(run_dir)
