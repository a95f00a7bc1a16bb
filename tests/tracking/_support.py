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
