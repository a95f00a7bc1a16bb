"""Fixtures: a real MLflow SQLite store per test, in tmp_path, never in the repository.

Creating a fresh SQLite store runs MLflow's whole schema migration (seconds on a
2-core machine), so the session migrates one template database and every test gets
its own copy of it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from components.tracking import setup_tracking

from ._support import EXPERIMENT, Tracking

REPO_ROOT = Path(__file__).resolve().parents[2]
_REPO_STATE = ("mlflow.db", "mlruns", "mlartifacts")


def pytest_configure(config: pytest.Config) -> None:
    """Silence deprecations inside MLflow that these tests cannot act on."""
    config.addinivalue_line(
        "filterwarnings", "ignore:The ``noload`` loader strategy is deprecated:DeprecationWarning"
    )
    config.addinivalue_line("filterwarnings", "ignore:Operation with range is deprecated")


@pytest.fixture(scope="package", autouse=True)
def _repository_untouched() -> Iterator[None]:
    """Fail if the tracking tests create MLflow state inside the repository."""
    before = {name for name in _REPO_STATE if (REPO_ROOT / name).exists()}
    yield
    created = {name for name in _REPO_STATE if (REPO_ROOT / name).exists()} - before
    assert not created, f"tests wrote MLflow state into the repository: {sorted(created)}"


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file with MLflow's schema, migrated once per session."""
    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments(max_results=1)
    return path


@pytest.fixture
def fresh_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template_db: Path
) -> Iterator[Path]:
    """A migrated, empty store at ``tmp_path/mlflow.db``; cwd is ``tmp_path``.

    ``MLFLOW_TRACKING_URI`` points at it, and MLflow's process-wide state (tracking
    URI, active runs) is reset after the test.
    """
    db = tmp_path / "mlflow.db"
    shutil.copyfile(template_db, db)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{db}")
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    yield db
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)


@pytest.fixture
def tracking(fresh_store: Path) -> Tracking:
    """``setup_tracking`` done on a fresh store: the state a driver leaves for its workers."""
    experiment_id = setup_tracking(fresh_store.parent, EXPERIMENT)
    uri = mlflow.get_tracking_uri()
    return Tracking(
        root=fresh_store.parent,
        uri=uri,
        experiment=EXPERIMENT,
        experiment_id=experiment_id,
        client=MlflowClient(tracking_uri=uri),
    )


@pytest.fixture
def spawn_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Environment for processes this test spawns.

    They read the environment's precompiled bytecode (``make setup`` installs with
    ``--compile-bytecode``), so a spawned worker does not compile MLflow from source
    again; a stray ``PYTHONPYCACHEPREFIX`` would hide that bytecode.
    """
    monkeypatch.delenv("PYTHONPYCACHEPREFIX", raising=False)
