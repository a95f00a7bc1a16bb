"""Session fixtures for scale-out: PostgreSQL-backed MLflow, and one tiny trained model.

``motion_repo`` trains the tiny motion stream once, through ``dvc repro train_motion``
with ``MLFLOW_TRACKING_URI`` pointed at the PostgreSQL-backed server; the MLflow
tests read that run and model back, and the DVC remote test pushes and pulls that
repository. Without PostgreSQL (no ``initdb``) the MLflow tests skip and the
repository trains into its own embedded SQLite store instead.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration._postgres import MlflowServer, mlflow_server, postgres_bin, postgres_cluster
from tests.pipeline_repo import TINY_PARAMS, copy_project, project_env

BIN = Path(sys.executable).parent

#: The tiny dataset, MEI shards without Ray workers, a one-epoch motion stream.
PARAMS = {
    **TINY_PARAMS,
    "represent": {"workers": 1},
    "train": {"num_workers": 1, "max_failures": 0},
    "train_motion": {"epochs": 1, "batch_size": 4},
}


def base_env() -> dict[str, str]:
    """``project_env()`` without any MLflow or Ray address the caller's shell may set."""
    env = {k: v for k, v in project_env().items()
           if not k.startswith(("MLFLOW_", "RAY_AUTH_")) and k != "RAY_ADDRESS"}
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    return env


@pytest.fixture(scope="session")
def mlflow_on_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """``mlflow server`` on a fresh PostgreSQL cluster, artifacts proxied to a folder."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (no initdb on PATH or under "
                    "/usr/lib/postgresql/*/bin)")
    root = tmp_path_factory.mktemp("mlflow-postgres")
    started = time.monotonic()
    with postgres_cluster(bin_dir) as postgres:
        database_s = time.monotonic() - started
        with mlflow_server(postgres, root, base_env()) as server:
            print(f"\nPostgreSQL up in {database_s:.1f} s, mlflow server healthy "
                  f"{time.monotonic() - started - database_s:.1f} s later")
            yield server


@dataclass(frozen=True)
class TrainedRepo:
    path: Path
    tracking_uri: str | None     # the server it logged to; None: the repo's SQLite store
    repro_output: str
    repro_s: float


@pytest.fixture(scope="session")
def motion_repo(tmp_path_factory: pytest.TempPathFactory,
                request: pytest.FixtureRequest) -> TrainedRepo:
    """A project copy in which ``dvc repro train_motion`` ran (synth, ingest, MEI
    shards, one training epoch, registration), logging to PostgreSQL-backed MLflow."""
    try:
        server: MlflowServer | None = request.getfixturevalue("mlflow_on_postgres")
    except pytest.skip.Exception:
        server = None
    repo = copy_project(tmp_path_factory.mktemp("scale-out") / "repo", PARAMS)
    env = base_env()
    if server is not None:
        env["MLFLOW_TRACKING_URI"] = server.uri
    started = time.monotonic()
    done = subprocess.run([str(BIN / "dvc"), "repro", "train_motion"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=1800)
    elapsed = time.monotonic() - started
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    print(f"\ndvc repro train_motion: {elapsed:.1f} s")
    assert (repo / "models/motion").is_dir(), output[-3000:]
    return TrainedRepo(path=repo, tracking_uri=server.uri if server else None,
                       repro_output=output, repro_s=elapsed)


def some_video(repo: Path) -> Path:
    """One video of the tiny synthetic dataset."""
    videos = sorted((repo / "data/synthetic").rglob("*.mp4"))
    assert videos, "no synthetic video"
    return videos[0]


def class_names(repo: Path) -> list[str]:
    """The labels of ``data/ingest/classes.txt`` (lines ``<index> <label>``)."""
    lines = (repo / "data/ingest/classes.txt").read_text().splitlines()
    return [line.split()[-1] for line in lines if line.strip()]
