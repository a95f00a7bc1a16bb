"""Several processes logging to one SQLite store at once."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from components.tracking import standard_tags, training_run

from . import _workers
from ._support import Tracking

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WORKERS = 4
STEPS = 50


def _run_processes(
    target: Callable[..., None], args_for: Callable[[int], tuple[Any, ...]], count: int
) -> list[Any]:
    """Start ``count`` spawned processes on ``target``; return their results."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(count)
    results = ctx.Queue()
    processes = [
        ctx.Process(target=target, args=(*args_for(index), barrier, results))
        for index in range(count)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    errors = [detail for status, detail in outcomes if status != "ok"]
    assert not errors, "\n".join(errors)
    assert all(process.exitcode == 0 for process in processes)
    return [detail for _, detail in outcomes]


def test_four_processes_lose_no_metric(tracking: Tracking, spawn_env: None) -> None:
    with training_run(
        "sweep",
        experiment=tracking.experiment,
        tags=standard_tags(job="sweep", model="none", dataset="none"),
    ) as sweep:
        results = _run_processes(
            _workers.log_steps,
            lambda i: (tracking.uri, tracking.experiment, sweep.run_id, i, STEPS),
            WORKERS,
        )

    client = tracking.client
    child_ids = {run_id for _, run_id in results}
    assert len(child_ids) == WORKERS
    children = client.search_runs(
        [tracking.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{sweep.run_id}'"
    )
    assert {run.info.run_id for run in children} == child_ids
    for run in children:
        assert run.info.status == "FINISHED"
        worker = int(run.data.params["worker"])
        for key in ("loss", "worker"):
            history = client.get_metric_history(run.info.run_id, key)
            assert sorted(m.step for m in history) == list(range(STEPS)), key
        assert {m.value for m in client.get_metric_history(run.info.run_id, "worker")} == {
            float(worker)
        }


def test_concurrent_setup_on_a_fresh_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spawn_env: None
) -> None:
    """Drivers racing to create the same store and experiment all end up with one id."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    ids = _run_processes(_workers.setup_store, lambda i: (str(tmp_path), "race"), 2)
    assert len(set(ids)) == 1
    assert (tmp_path / "mlflow.db").is_file()
