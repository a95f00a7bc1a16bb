"""Finding runs again: by tag (``har.dvc_exp``, ``har.job``) and by id, with UI links.

``har ablate`` runs every ablation cell as a DVC experiment; the stages it runs
tag their MLflow runs ``har.dvc_exp=<experiment name>`` (the training driver and
``har evaluate`` read ``DVC_EXP_NAME``, which ``dvc exp run`` sets). These helpers
find those runs again, in any experiment of the store::

    runs = runs_tagged("har.dvc_exp", "ablate-mei-equal", tracking_uri=uri)
    newest = latest_by_job(runs)          # {"evaluate": TaggedRun, "train-normal": ...}
    newest["evaluate"].url                # the run's page in the MLflow UI

:func:`run_tag` reads one tag of a known run (the git commit a training run recorded).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from components.tracking._retry import retry_transient
from components.tracking.links import ui_base
from components.tracking.naming import TAG_JOB
from components.tracking.store import sqlite_db_path

#: Tag of the runs a ``dvc exp run`` produced (value: the experiment's name).
TAG_DVC_EXP = "har.dvc_exp"


@dataclass(frozen=True)
class TaggedRun:
    """One run found by :func:`runs_tagged`.

    Attributes:
        run_id, name, experiment_id: the run.
        job: its ``har.job`` tag (``evaluate``, ``train-student``, ...; "" when untagged).
        status: ``FINISHED``, ``FAILED``, ``KILLED``, ``RUNNING``.
        start_time: milliseconds since the epoch.
        url: its page in the MLflow UI.
    """

    run_id: str
    name: str
    experiment_id: str
    job: str
    status: str
    start_time: int
    url: str


def _store_exists(uri: str) -> bool:
    """False for an SQLite store whose file is missing (searching it would create it)."""
    db_path = sqlite_db_path(uri)
    return db_path is None or db_path.is_file()


def _quote(value: str) -> str:
    """``value`` as a single-quoted string of MLflow's search grammar."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def runs_tagged(tag: str, value: str, *, tracking_uri: str | None = None,
                statuses: Iterable[str] | None = ("FINISHED",),
                max_results: int = 1000) -> list[TaggedRun]:
    """Runs with ``tags.<tag> = value`` in every active experiment, newest first.

    Args:
        tag: tag key (``har.dvc_exp``).
        value: the exact value.
        tracking_uri: store to search; the current one by default.
        statuses: keep only runs in these states (None: every state).
        max_results: at most this many runs.
    """
    uri = tracking_uri or mlflow.get_tracking_uri()
    if not _store_exists(uri):
        return []
    client = MlflowClient(tracking_uri=uri)
    base = ui_base(uri)

    def search() -> list[TaggedRun]:
        experiment_ids = [e.experiment_id for e in client.search_experiments()]
        if not experiment_ids:
            return []
        found = client.search_runs(
            experiment_ids, f"tags.`{tag}` = {_quote(value)}", max_results=max_results,
            order_by=["attributes.start_time DESC"],
        )
        return [TaggedRun(
            run_id=r.info.run_id, name=r.info.run_name or "",
            experiment_id=r.info.experiment_id, job=r.data.tags.get(TAG_JOB, ""),
            status=r.info.status, start_time=int(r.info.start_time or 0),
            url=f"{base}/#/experiments/{r.info.experiment_id}/runs/{r.info.run_id}",
        ) for r in found]

    runs = retry_transient(search, what=f"searching runs tagged {tag}={value}")
    if statuses is not None:
        keep = set(statuses)
        runs = [r for r in runs if r.status in keep]
    return runs


def dvc_experiment_runs(experiment: str, *, tracking_uri: str | None = None,
                        since_ms: int = 0) -> dict[str, TaggedRun]:
    """The newest finished run of each ``har.job`` tagged ``har.dvc_exp=experiment``.

    Args:
        experiment: the DVC experiment's name.
        tracking_uri: store to search; the current one by default.
        since_ms: ignore runs started before this time (ms since the epoch), e.g.
            runs of an earlier experiment of the same name.

    Returns:
        ``{"evaluate": run, "train-normal": run, ...}``.
    """
    newest: dict[str, TaggedRun] = {}
    for run in runs_tagged(TAG_DVC_EXP, experiment, tracking_uri=tracking_uri):
        if run.start_time >= since_ms and run.job not in newest:
            newest[run.job] = run  # runs_tagged lists the newest first
    return newest


def run_link(run_id: str, *, tracking_uri: str | None = None) -> str:
    """The UI page of ``run_id``, or "" when the store has no such (live) run."""
    uri = tracking_uri or mlflow.get_tracking_uri()
    if not _store_exists(uri):
        return ""
    client = MlflowClient(tracking_uri=uri)
    try:
        run = client.get_run(run_id)
    except MlflowException:
        return ""
    if run.info.lifecycle_stage == "deleted":
        return ""
    base = ui_base(uri)
    return f"{base}/#/experiments/{run.info.experiment_id}/runs/{run_id}"


def run_tag(run_id: str, key: str, default: str = "") -> str:
    """Tag ``key`` of run ``run_id`` in the current store; ``default`` when the run
    (or the tag) is not there."""
    try:
        return MlflowClient().get_run(run_id).data.tags.get(key, default)
    except MlflowException:
        return default
