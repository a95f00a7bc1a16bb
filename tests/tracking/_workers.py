"""Functions that run in spawned processes (kept light: no pytest, no torch).

Each puts ``("ok", result)`` or ``("error", traceback)`` on ``results``.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any


def _report(results: Queue, work: Callable[[], Any]) -> None:
    try:
        results.put(("ok", work()))
    except BaseException:
        results.put(("error", traceback.format_exc()))
        raise


def log_steps(
    uri: str,
    experiment: str,
    parent_run_id: str,
    worker: int,
    steps: int,
    barrier: Barrier,
    results: Queue,
) -> None:
    """Open a child run under ``parent_run_id`` and log ``steps`` steps of two metrics."""
    from components.tracking import log_metrics, standard_tags, training_run

    def work() -> tuple[int, str]:
        barrier.wait(timeout=300)  # start logging together, after the slow imports
        with training_run(
            f"worker-{worker}",
            experiment=experiment,
            tags=standard_tags(job="test-worker", model="none", dataset="none"),
            params={"worker": worker},
            parent_run_id=parent_run_id,
            tracking_uri=uri,
        ) as run:
            for step in range(steps):
                log_metrics({"loss": 1.0 / (step + 1), "worker": float(worker)}, step=step)
        return worker, run.run_id

    _report(results, work)


def setup_store(repo_root: str, experiment: str, barrier: Barrier, results: Queue) -> None:
    """Call ``setup_tracking`` on a store that may not exist yet, all workers at once."""
    from components.tracking import setup_tracking

    def work() -> str:
        barrier.wait(timeout=300)
        return setup_tracking(Path(repo_root), experiment)

    _report(results, work)
