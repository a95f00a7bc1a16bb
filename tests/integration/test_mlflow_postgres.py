"""MLflow on PostgreSQL, the team set-up of docs/scale-out.md, exercised for real.

A training stage (``dvc repro train_motion``), ``har evaluate`` and ``har predict``
with the ``champion`` alias reach the server only through
``MLFLOW_TRACKING_URI=http://...``;
the run, its metrics, the model version and the alias are read back both through the
server and straight from PostgreSQL's tables, and the artifacts from the folder the
server proxies them to. Concurrent writers (processes logging to one run, runs of one
experiment, and the trials of a Ray Tune sweep, at once) lose nothing.
"""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration._postgres import MlflowServer
from tests.integration.conftest import BIN, TrainedRepo, base_env, class_names, some_video

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MODEL = "har-motion-stream"
WRITERS, POINTS = 4, 50


def _sql(server: MlflowServer, query: str, *args: object) -> list[tuple]:
    import psycopg

    with psycopg.connect(server.postgres.url()) as conn:
        return conn.execute(query, args).fetchall()


def test_training_logs_run_model_and_champion_to_postgres(
        mlflow_on_postgres: MlflowServer, motion_repo: TrainedRepo) -> None:
    from mlflow.tracking import MlflowClient

    server = mlflow_on_postgres
    client = MlflowClient(tracking_uri=server.uri)
    versions = client.search_model_versions(f"name='{MODEL}'")
    assert len(versions) == 1, [v.version for v in versions]
    version = versions[0]
    assert version.status == "READY"
    assert client.get_model_version_by_alias(MODEL, "champion").version == version.version

    run = client.get_run(version.run_id)
    assert run.info.status == "FINISHED"
    for metric in ("train/loss", "val/top1"):  # one epoch
        assert [m.step for m in client.get_metric_history(run.info.run_id, metric)] == [1]
    assert "test/top1" in run.data.metrics

    # The same facts, from PostgreSQL itself: this store is the database.
    rows = _sql(server, "SELECT key, step FROM metrics WHERE run_uuid = %s", run.info.run_id)
    assert ("train/loss", 1) in rows and ("val/top1", 1) in rows, rows
    assert _sql(server, "SELECT version, run_id FROM model_versions WHERE name = %s",
                MODEL) == [(int(version.version), run.info.run_id)]
    champion = _sql(server, "SELECT version FROM registered_model_aliases "
                            "WHERE name = %s AND alias = 'champion'", MODEL)
    assert champion == [(int(version.version),)]

    # Artifacts were proxied (the client never saw the folder) into --artifacts-destination.
    assert run.info.artifact_uri.startswith("mlflow-artifacts:"), run.info.artifact_uri
    run_folder = next(server.artifacts.rglob(run.info.run_id))
    assert any(run_folder.rglob("*.png")), sorted(run_folder.rglob("*"))
    assert any(server.artifacts.rglob("MLmodel")), "the logged model is not in the folder"
    repo = motion_repo.path
    assert not (repo / "mlflow.db").exists() and not (repo / "mlartifacts").exists()


def test_predict_loads_the_champion_through_the_server(
        mlflow_on_postgres: MlflowServer, motion_repo: TrainedRepo) -> None:
    repo = motion_repo.path
    env = base_env() | {"MLFLOW_TRACKING_URI": mlflow_on_postgres.uri}
    done = subprocess.run(
        [str(BIN / "har"), "predict", str(some_video(repo)), "--model",
         f"models:/{MODEL}@champion", "--json"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr[-4000:]
    result = json.loads(done.stdout[done.stdout.index("{"):])
    classes = class_names(repo)
    [prediction] = result["predictions"]
    assert prediction["label"] in classes
    assert len(prediction["top"]) == min(5, len(classes))


def test_evaluate_logs_its_run_through_the_server(
        mlflow_on_postgres: MlflowServer, motion_repo: TrainedRepo, tmp_path) -> None:
    from mlflow.tracking import MlflowClient

    repo, server = motion_repo.path, mlflow_on_postgres
    env = base_env() | {"MLFLOW_TRACKING_URI": server.uri}
    # Outputs outside the repository: its DVC state stays what train_motion left.
    out = {"--metrics-file": tmp_path / "eval.json", "--reports": tmp_path / "reports",
           "--plots": tmp_path / "plots"}
    done = subprocess.run([str(BIN / "har"), "evaluate",
                           *[str(a) for pair in out.items() for a in pair]],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr[-4000:]
    metrics = json.loads((tmp_path / "eval.json").read_text())
    assert set(metrics) == {"motion"}, metrics  # the one trained model's row

    client = MlflowClient(tracking_uri=server.uri)
    [run] = client.search_runs(
        [e.experiment_id for e in client.search_experiments()],
        filter_string="tags.`har.stage` = 'evaluate'")
    assert run.info.status == "FINISHED"
    assert run.data.metrics["motion/top1"] == pytest.approx(metrics["motion"]["top1"])
    rows = _sql(server, "SELECT value FROM metrics WHERE run_uuid = %s AND key = %s",
                run.info.run_id, "motion/top1")
    assert rows and rows[0][0] == pytest.approx(metrics["motion"]["top1"])
    assert run.info.artifact_uri.startswith("mlflow-artifacts:"), run.info.artifact_uri
    assert any(server.artifacts.rglob(f"{run.info.run_id}/**/results.md")), \
        "the evaluation's report was not proxied into the server's folder"


def _write_metrics(uri: str, run_id: str, experiment_id: str, writer: int) -> None:
    """One writer: POINTS single ``log_metric`` calls to the shared run, then its own run
    with a POINTS-long batch (both through the server)."""
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    for k in range(POINTS):
        client.log_metric(run_id, "shared/loss", float(k), step=writer * POINTS + k)
    own = client.create_run(experiment_id, run_name=f"writer-{writer}")
    now = int(time.time() * 1000)
    client.log_batch(own.info.run_id, metrics=[Metric("own/loss", float(k), now, k)
                                               for k in range(POINTS)])
    client.set_terminated(own.info.run_id)


def test_concurrent_writers_lose_nothing(mlflow_on_postgres: MlflowServer) -> None:
    from mlflow.tracking import MlflowClient

    uri = mlflow_on_postgres.uri
    client = MlflowClient(tracking_uri=uri)
    experiment_id = client.create_experiment("concurrent-writers")
    shared = client.create_run(experiment_id, run_name="shared")
    context = multiprocessing.get_context("spawn")  # no forked MLflow/HTTP state
    started = time.monotonic()
    writers = [context.Process(target=_write_metrics,
                               args=(uri, shared.info.run_id, experiment_id, w))
               for w in range(WRITERS)]
    for proc in writers:
        proc.start()
    for proc in writers:
        proc.join(timeout=600)
    elapsed = time.monotonic() - started
    assert [proc.exitcode for proc in writers] == [0] * WRITERS

    history = client.get_metric_history(shared.info.run_id, "shared/loss")
    assert sorted(m.step for m in history) == list(range(WRITERS * POINTS))
    runs = client.search_runs([experiment_id], "attributes.run_name LIKE 'writer-%'")
    assert len(runs) == WRITERS
    for run in runs:
        assert len(client.get_metric_history(run.info.run_id, "own/loss")) == POINTS
    print(f"\n{WRITERS} writers x {POINTS} log_metric + a {POINTS}-metric batch each: "
          f"{elapsed:.1f} s")


def _sweep_into(uri: str, root: str, ingest: str, represent: str) -> None:
    """A two-trial Ray Tune sweep (both trials at once on 2 CPUs) logging through ``uri``;
    runs in its own process, with its own local Ray."""
    import dataclasses
    import os

    from training._fixtures import TINY_LIFT_KWARGS, settings

    from components.jobs.config import StudentConfig
    from components.training import DataPaths
    from components.tuning import TuneSettings, run_sweep

    os.environ["MLFLOW_TRACKING_URI"] = uri
    repo = Path(root)
    student = StudentConfig(height=16, width=16, clip_len=4, eval_clips=1, batch_size=4,
                            model_kwargs=dict(TINY_LIFT_KWARGS),
                            teacher=Path("models/teacher"))
    tune = TuneSettings(depth=(1,), trainable_vit_blocks=(0, 1), lr=(1e-4, 1e-3),
                        num_samples=2, max_epochs=2, grace_period=2, val_fraction=0.25,
                        num_workers=1, cpus_per_worker=1, storage_path=str(repo / "tune"))
    run_sweep(tune, student, dataclasses.replace(settings(repo)), repo_root=repo,
              data=DataPaths(Path(ingest), Path(represent)),
              out_file=repo / "tune_best.yaml")


def _tune_reports(storage: Path) -> dict[str, list[int]]:
    """Tune's own record of what each trial reported: trial id -> epochs (result.json)."""
    reports: dict[str, list[int]] = {}
    for result_file in storage.glob("sweep-*/*/result.json"):
        for line in result_file.read_text().splitlines():
            row = json.loads(line)
            reports.setdefault(row["trial_id"], []).append(int(row["epoch"]))
    return reports


def test_concurrent_tune_trials_lose_no_metric(
        mlflow_on_postgres: MlflowServer, tmp_path) -> None:
    from training._data import write_tiny_dataset
    from training._fixtures import write_fake_teacher

    tiny = write_tiny_dataset(tmp_path, size=16, frames=8)
    write_fake_teacher(tiny.root / "models" / "teacher", tiny.classes)
    started = time.monotonic()
    sweep = multiprocessing.get_context("spawn").Process(
        target=_sweep_into,
        args=(mlflow_on_postgres.uri, str(tiny.root), str(tiny.ingest), str(tiny.represent)))
    sweep.start()
    sweep.join(timeout=900)
    elapsed = time.monotonic() - started
    assert sweep.exitcode == 0, "the sweep failed (see its output above)"

    reported = _tune_reports(tiny.root / "tune")
    assert len(reported) == 2 and all(reported.values()), reported
    # Every epoch a trial reported to Tune is a row in PostgreSQL, once, in its own run.
    for trial_id, epochs in reported.items():
        [(run_id, status)] = _sql(
            mlflow_on_postgres,
            "SELECT r.run_uuid, r.status FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid "
            "WHERE t.key = 'har.trial_id' AND t.value = %s", trial_id)
        assert status in ("FINISHED", "KILLED"), (trial_id, status)
        for key in ("val/top1", "train/loss"):
            steps = [step for (step,) in _sql(
                mlflow_on_postgres, "SELECT step FROM metrics WHERE run_uuid = %s AND key = %s "
                                    "ORDER BY step", run_id, key)]
            assert steps == sorted(epochs), (trial_id, key, steps, epochs)
    # The trials overlapped: they wrote to the server at the same time.
    spans = _sql(mlflow_on_postgres,
                 "SELECT r.start_time, r.end_time FROM runs r JOIN tags t "
                 "ON t.run_uuid = r.run_uuid WHERE t.key = 'har.trial_id' ORDER BY 1")
    assert spans[1][0] < spans[0][1], spans
    print(f"\n2 concurrent Tune trials, {sum(map(len, reported.values()))} epochs "
          f"through the server: {elapsed:.1f} s")
