"""Fixtures shared by the training and tuning tests (imported by both conftests).

* ``tiny_data``: a tiny dataset (manifest + shards) in ``tmp_path``.
* ``mlflow_store``: a migrated SQLite store in ``tmp_path`` (copied from a template
  migrated once per session), ``MLFLOW_TRACKING_URI`` pointing at it.
* ``ray_session``: one local Ray instance (2 CPUs) for the whole test session.

Nothing is written into the repository: MLflow stores, Ray storage and outputs
live under ``tmp_path``.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from training._data import TinyDataset, write_tiny_dataset

REPO_ROOT = Path(__file__).resolve().parents[2]

#: A LIFT-Net small enough for CPU tests at 16x16 frames.
TINY_LIFT_KWARGS: dict[str, Any] = {
    "vit_name": "vit_tiny_patch16_224", "vit_blocks": 2, "trainable_vit_blocks": 1,
    "depth": 1, "embed_dim": 32, "num_heads": 2, "vit_kwargs": {"embed_dim": 32, "num_heads": 2},
}


@pytest.fixture
def tiny_data(tmp_path: Path) -> TinyDataset:
    """Two classes, 6 + 2 videos each, 8 frames of 16x16, all kinds."""
    return write_tiny_dataset(tmp_path, size=16, frames=8)


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mlflow.tracking import MlflowClient

    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments(max_results=1)
    return path


@pytest.fixture
def mlflow_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                 mlflow_template: Path) -> Iterator[str]:
    """A migrated store in tmp_path; yields its URI (also in MLFLOW_TRACKING_URI)."""
    import mlflow

    db = tmp_path / "mlflow.db"
    shutil.copyfile(mlflow_template, db)
    uri = f"sqlite:///{db}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    # The active experiment is process state: an earlier test's setup_tracking leaves
    # its own store's experiment id active, which this fresh store does not have.
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(experiment_id="0")
    yield uri
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    """One local Ray (2 CPUs) shared by the session's in-process Ray tests."""
    import ray

    if not ray.is_initialized():
        ray.init(address="local", num_cpus=2)
    yield
    ray.shutdown()


def teacher_config(**overrides: Any) -> Any:
    """A teacher config for 16x16 clips of 4 frames."""
    from components.jobs.config import TeacherConfig

    base = TeacherConfig(height=16, width=16, clip_len=4, eval_clips=1, epochs=3, batch_size=4,
                         lr=1e-3)
    return dataclasses.replace(base, **overrides)


def settings(tmp: Path, **overrides: Any) -> Any:
    """Shared settings for tests: storage in tmp, no pretrained map."""
    from components.training import TrainSettings

    base = TrainSettings(num_workers=2, cpus_per_worker=1, storage_path=str(tmp / "ray"),
                         models_file=None, experiment="har-tests", max_failures=0)
    return dataclasses.replace(base, **overrides)


def write_fake_teacher(folder: Path, classes: tuple[str, ...], input_kind: str = "gamma") -> Path:
    """A randomly initialised R(2+1)D saved as a trained teacher (model.pt + model.json)."""
    import torch

    from components.models import create_model
    from components.models.folder import write_model

    torch.manual_seed(0)
    kwargs = {"num_classes": len(classes), "in_channels": 2 if input_kind == "flow" else 3}
    model = create_model("r2plus1d_18", **kwargs)
    return write_model(folder, model.state_dict(), {
        "job": "teacher", "model": "r2plus1d_18", "model_kwargs": kwargs, "input": input_kind,
        "classes": list(classes), "height": 16, "width": 16,
    })
