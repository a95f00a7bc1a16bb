"""Shared test types (importable by tests and conftest alike)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlflow.tracking import MlflowClient

EXPERIMENT = "har-tests"


@dataclass(frozen=True)
class Tracking:
    """The store a test logs to (see the ``tracking`` fixture)."""

    root: Path
    uri: str
    experiment: str
    experiment_id: str
    client: MlflowClient


def register_version(tracking: Tracking, name: str) -> tuple[str, str]:
    """A new version of registered model ``name`` made by a finished training run:
    (version, run id)."""
    from components.tracking import training_run

    client = tracking.client
    with training_run("register", experiment=tracking.experiment) as run:
        if not client.search_registered_models(f"name='{name}'"):
            client.create_registered_model(name)
        version = client.create_model_version(name, source=str(tracking.root / "m"),
                                              run_id=run.run_id).version
    return str(version), run.run_id
