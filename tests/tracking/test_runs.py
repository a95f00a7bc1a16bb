"""A run: what it logs reads back; nesting; end states."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import mlflow
import pytest
import yaml
from mlflow.artifacts import download_artifacts

from components.tracking import (
    NoActiveRunError,
    log_config,
    log_metrics,
    log_provenance,
    run_name,
    standard_tags,
    training_run,
)

from ._support import Tracking


def _children(tracking: Tracking, parent_run_id: str) -> list[mlflow.entities.Run]:
    return tracking.client.search_runs(
        [tracking.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'"
    )


def test_run_logs_params_metrics_config_and_provenance(tracking: Tracking, tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("path,label\nv_a_01.mp4,0\n", encoding="utf-8")
    trainlist = tmp_path / "trainlist01.txt"
    trainlist.write_text("a/v_a_01.avi 1\n", encoding="utf-8")
    config = {"model": {"name": "r2plus1d-18", "frames": 8}, "optim": {"lr": 1e-4}}
    tags = standard_tags(
        job="train-teacher", model="r2plus1d-18", dataset="synthetic-dark", split="split1"
    )

    with training_run(
        run_name("train-teacher", "r2plus1d-18", "synthetic-dark"),
        experiment=tracking.experiment,
        tags=tags,
        params=config,
    ) as run:
        for step in range(3):
            log_metrics({"train/loss": 1.0 / (step + 1), "val/top1": 0.1 * step}, step=step)
        log_config(config)
        provenance = log_provenance({"manifest": manifest, "trainlist": trainlist})

    stored = tracking.client.get_run(run.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.info.run_name == "train-teacher-r2plus1d-18-synthetic-dark"
    assert stored.info.experiment_id == tracking.experiment_id
    assert {k: stored.data.tags[k] for k in tags} == tags
    assert stored.data.params["model.name"] == "r2plus1d-18"
    assert stored.data.params["optim.lr"] == "0.0001"
    history = tracking.client.get_metric_history(run.run_id, "train/loss")
    assert [(m.step, m.value) for m in history] == [(0, 1.0), (1, 0.5), (2, 1.0 / 3)]
    assert stored.data.metrics["val/top1"] == pytest.approx(0.2)

    # provenance: file hashes as params, versions and git state as tags, plus a JSON record
    sha = hashlib.sha256(manifest.read_bytes()).hexdigest()
    assert stored.data.params["data.manifest.sha256"] == sha
    assert stored.data.params["data.trainlist.sha256"] == provenance.files["trainlist"]["sha256"]
    assert stored.data.tags["har.lib.mlflow"] == mlflow.__version__
    assert stored.data.tags["har.lib.torch"] != ""
    assert "har.git.commit" in stored.data.tags
    assert "har.git.dirty" in stored.data.tags

    local = Path(download_artifacts(run_id=run.run_id, dst_path=str(tmp_path / "dl")))
    assert yaml.safe_load((local / "config.yaml").read_text()) == config
    record = json.loads((local / "provenance.json").read_text())
    assert record["files"]["manifest"]["sha256"] == sha


def test_runs_nest_in_one_process(tracking: Tracking) -> None:
    with training_run("sweep", experiment=tracking.experiment) as parent:
        with training_run("trial-0", experiment=tracking.experiment) as child:
            log_metrics({"loss": 1.0}, step=0)
        assert child.parent_run_id == parent.run_id
        assert mlflow.active_run().info.run_id == parent.run_id  # back to the parent
    children = _children(tracking, parent.run_id)
    assert [run.info.run_id for run in children] == [child.run_id]
    assert mlflow.active_run() is None


def test_run_nests_under_a_parent_id_from_elsewhere(
    tracking: Tracking, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a Tune trial does: no active run here, only the sweep's run id."""
    with training_run("sweep", experiment=tracking.experiment) as parent:
        pass
    parent_id = parent.run_id
    # A worker that inherited MLFLOW_RUN_ID must still start its own run.
    monkeypatch.setenv("MLFLOW_RUN_ID", parent_id)
    with training_run(
        "trial-7",
        experiment=tracking.experiment,
        parent_run_id=parent_id,
        tracking_uri=parent.tracking_uri,
    ) as child:
        log_metrics({"loss": 0.5}, step=1)
    assert child.run_id != parent_id
    child_run = tracking.client.get_run(child.run_id)
    assert child_run.data.tags["mlflow.parentRunId"] == parent_id
    assert [run.info.run_id for run in _children(tracking, parent_id)] == [child.run_id]


def test_parent_in_another_experiment_is_refused(tracking: Tracking) -> None:
    with training_run("other", experiment="another-experiment") as other:
        pass
    with (
        pytest.raises(ValueError, match="experiment"),
        training_run("child", experiment=tracking.experiment, parent_run_id=other.run_id),
    ):
        pass


def test_failing_block_marks_the_run_failed(tracking: Tracking) -> None:
    with (
        pytest.raises(RuntimeError, match="boom"),
        training_run("fails", experiment=tracking.experiment) as run,
    ):
        raise RuntimeError("boom")
    assert tracking.client.get_run(run.run_id).info.status == "FAILED"
    assert mlflow.active_run() is None


@pytest.mark.parametrize(("exc", "status"), [
    (SystemExit(0), "KILLED"),       # how Ray Tune stops a trial from inside report()
    (KeyboardInterrupt(), "KILLED"),
    (SystemExit(2), "FAILED"),
])
def test_stopped_block_marks_the_run_killed(tracking: Tracking, exc: BaseException,
                                            status: str) -> None:
    with (
        pytest.raises(type(exc)),
        training_run("stopped", experiment=tracking.experiment) as run,
    ):
        raise exc
    assert tracking.client.get_run(run.run_id).info.status == status
    assert mlflow.active_run() is None


def test_logging_outside_a_run_is_a_clear_error(tracking: Tracking) -> None:
    with pytest.raises(NoActiveRunError, match="training_run"):
        log_metrics({"loss": 1.0}, step=0)


def test_metrics_are_batched_beyond_one_request(tracking: Tracking) -> None:
    metrics = {f"class/{i}/recall": i / 1500 for i in range(1500)}  # > 1000 per batch
    with training_run("many", experiment=tracking.experiment) as run:
        assert log_metrics(metrics, step=0) == 1500
    assert len(tracking.client.get_run(run.run_id).data.metrics) == 1500
