"""Tracking URI resolution, store and experiment set-up."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from components.tracking import (
    default_artifact_location,
    ensure_experiment,
    resolve_tracking_uri,
    setup_tracking,
)
from components.tracking.store import sqlite_db_path

from ._support import Tracking


def test_uri_defaults_to_sqlite_in_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = resolve_tracking_uri(tmp_path)
    assert uri == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    assert uri.startswith("sqlite:////")  # an absolute path
    assert sqlite_db_path(uri) == tmp_path.resolve() / "mlflow.db"
    assert default_artifact_location(uri) == (tmp_path.resolve() / "mlartifacts").as_uri()


def test_environment_variable_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.internal:5000")
    assert resolve_tracking_uri(tmp_path) == "http://mlflow.internal:5000"
    assert default_artifact_location("http://mlflow.internal:5000") is None
    assert sqlite_db_path("postgresql://u@h/db") is None
    assert sqlite_db_path("sqlite:///:memory:") is None


def test_setup_creates_store_and_experiment_in_repo_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template_db: Path
) -> None:
    """Default layout: mlflow.db and mlartifacts/ in the given repository root."""
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copyfile(template_db, repo / "mlflow.db")  # skip the slow migration
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    try:
        experiment_id = setup_tracking(repo, "har-demo")
        assert mlflow.get_tracking_uri() == f"sqlite:///{repo.resolve()}/mlflow.db"
        client = MlflowClient()
        experiment = client.get_experiment(experiment_id)
        assert experiment.name == "har-demo"
        assert experiment.artifact_location == (repo.resolve() / "mlartifacts").as_uri()
        # MLflow 3's UI opens it on its training runs, not on the GenAI pages.
        assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
        assert setup_tracking(repo, "har-demo") == experiment_id  # idempotent

        with mlflow.start_run(experiment_id=experiment_id):
            mlflow.log_text("hello", "hello.txt")
        assert list((repo / "mlartifacts").rglob("hello.txt"))
        assert not (tmp_path / "mlruns").exists()
    finally:
        mlflow.set_tracking_uri(None)


def test_deleted_experiment_is_restored(tracking: Tracking) -> None:
    tracking.client.delete_experiment(tracking.experiment_id)
    assert ensure_experiment(tracking.experiment) == tracking.experiment_id
    assert tracking.client.get_experiment(tracking.experiment_id).lifecycle_stage == "active"


def test_concurrent_experiment_creation_yields_one_experiment(tracking: Tracking) -> None:
    ids: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def create() -> None:
        try:
            barrier.wait(timeout=30)
            ids.append(ensure_experiment("raced", client=MlflowClient(tracking.uri)))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert len(ids) == 4 and len(set(ids)) == 1
