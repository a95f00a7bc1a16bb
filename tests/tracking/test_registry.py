"""The registry functions callers outside tracking use: version descriptions, cards,
export figures, a run's tag, model URIs, and a sweep's child runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.inference.loading import ModelLoadError
from components.tracking import training_run
from components.tracking.lookup import run_tag
from components.tracking.registry import (
    attach_card,
    describe_model_version,
    downloaded_model,
    log_export_figures,
    resolve_model_alias,
)
from components.tracking.resume import child_runs, set_run_status

from ._support import Tracking, register_version

NAME = "har-registry-test"


def test_a_version_is_described_and_the_model_once(tracking: Tracking) -> None:
    first, _ = register_version(tracking, NAME)
    describe_model_version(NAME, first, "v1 text", tags={"har.variant": "student"},
                           model_description="the model")
    second, _ = register_version(tracking, NAME)
    describe_model_version(NAME, second, "v2 text", model_description="another")
    client = tracking.client
    assert client.get_model_version(NAME, first).description == "v1 text"
    assert client.get_model_version(NAME, first).tags["har.variant"] == "student"
    assert client.get_model_version(NAME, second).description == "v2 text"
    assert client.get_registered_model(NAME).description == "the model"


def test_a_card_is_attached_in_the_current_store(tracking: Tracking) -> None:
    version, _ = register_version(tracking, NAME)
    card = attach_card(NAME, version, {"results": {"overall": {"top1": 0.5}}})
    assert card.startswith(f"# Model card: {NAME} v{version}")
    assert tracking.client.get_model_version(NAME, version).description.startswith(
        "# Model card")


def test_export_figures_go_to_the_run_and_its_versions(tracking: Tracking) -> None:
    version, run_id = register_version(tracking, NAME)
    logged = log_export_figures([run_id], "export_onnx", {"latency_s": 0.25},
                                repo_root=tracking.root)
    assert logged == [f"runs:/{run_id}", f"models:/{NAME}/{version}"]
    assert tracking.client.get_run(run_id).data.metrics["export_onnx_latency_s"] == 0.25
    assert tracking.client.get_model_version(NAME, version).tags[
        "export_onnx.latency_s"] == "0.25"


def test_no_store_logs_no_export_figures(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert log_export_figures(["0" * 32], "export_onnx", {"latency_s": 1.0},
                              repo_root=tmp_path) == []
    assert not (tmp_path / "mlflow.db").exists()


def test_a_runs_tag_or_the_default(tracking: Tracking) -> None:
    with training_run("tagged", experiment=tracking.experiment, tags={"har.x": "1"}) as run:
        pass
    assert run_tag(run.run_id, "har.x") == "1"
    assert run_tag(run.run_id, "har.none") == ""
    assert run_tag("0" * 32, "har.x", "gone") == "gone"


def test_model_uris_resolve_or_say_why_not(tracking: Tracking) -> None:
    assert resolve_model_alias(f"models:/{NAME}/3") == f"models:/{NAME}/3"
    with pytest.raises(ModelLoadError, match=f"models:/{NAME}@champion: cannot load"):
        resolve_model_alias(f"models:/{NAME}@champion")
    with pytest.raises(ModelLoadError, match="cannot load the model"), \
            downloaded_model(f"models:/{NAME}/1", tracking.root):
        pass


def test_a_sweeps_child_runs_by_tag_and_their_status(tracking: Tracking) -> None:
    client = tracking.client
    with training_run("sweep", experiment=tracking.experiment) as sweep:
        for trial in ("a", "b"):
            child = client.create_run(tracking.experiment_id, tags={
                "mlflow.parentRunId": sweep.run_id, "har.trial_id": trial})
    runs = child_runs(sweep.run_id, tags={"har.trial_id": "a"})
    assert [r.status for r in runs] == ["RUNNING"]
    set_run_status(runs[0].run_id, "KILLED", tags={"har.stopped_by": "asha"})
    assert client.get_run(runs[0].run_id).data.tags["har.stopped_by"] == "asha"
    assert [r.run_id for r in child_runs(sweep.run_id, status="RUNNING")] == \
        [child.info.run_id]
