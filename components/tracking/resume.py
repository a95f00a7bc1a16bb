"""Reopening runs: a training job killed and run again logs into the same run.

* :func:`resume_run`: reopen an existing run (a training job killed and run
  again logs into the same run), like ``training_run`` but for a known run id.
* :func:`run_is_usable`: whether a run id exists (and is not deleted) in the store.
* :func:`logged_steps`: the steps at which a metric was logged (to log each epoch
  exactly once when a resumed run reconciles its history).
* :func:`end_running_children`: mark the nested runs of a sweep that Tune stopped
  early (their processes are killed before they can end their runs).
* :func:`child_runs`, :func:`set_run_status`: a sweep's nested runs (by tag and
  status), and ending one with a status and tags (what ``har tune`` does to the
  trials ASHA stopped).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from components.tracking import RunHandle, retry_transient
from components.tracking.runs import end_run_and_children, end_status

_LOG = logging.getLogger(__name__)


def run_is_usable(run_id: str) -> bool:
    """True when ``run_id`` exists in the current store and is not deleted."""
    try:
        run = MlflowClient().get_run(run_id)
    except MlflowException:
        return False
    return run.info.lifecycle_stage != "deleted"


@contextmanager
def resume_run(run_id: str) -> Iterator[RunHandle]:
    """Reopen run ``run_id`` as the active run for a ``with`` block.

    The run ends as :func:`components.tracking.training_run`'s do (see
    :func:`components.tracking.runs.end_status`).
    """
    inherited = os.environ.pop("MLFLOW_RUN_ID", None)
    if inherited and inherited != run_id:
        _LOG.warning("ignoring MLFLOW_RUN_ID=%s: resuming run %s", inherited, run_id)
    run = mlflow.start_run(run_id=run_id)
    status = "FINISHED"
    try:
        yield RunHandle(
            run_id=run.info.run_id,
            experiment_id=run.info.experiment_id,
            name=run.info.run_name or "",
            parent_run_id=run.data.tags.get("mlflow.parentRunId"),
            tracking_uri=mlflow.get_tracking_uri(),
        )
    except BaseException as exc:
        status = end_status(exc)
        raise
    finally:
        end_run_and_children(run_id, status)


def logged_steps(run_id: str, key: str) -> set[int]:
    """Steps at which metric ``key`` of run ``run_id`` was logged."""
    history = retry_transient(lambda: MlflowClient().get_metric_history(run_id, key),
                              what=f"reading metric {key}")
    return {int(m.step) for m in history}


@dataclass(frozen=True)
class ChildRun:
    """A run nested under another (:func:`child_runs`): its id and status
    (``RUNNING``, ``FINISHED``, ``FAILED``, ``KILLED``)."""

    run_id: str
    status: str


def child_runs(parent_run_id: str, *, tags: Mapping[str, str] | None = None,
               status: str | None = None) -> list[ChildRun]:
    """The runs nested under ``parent_run_id`` (in its experiment) that carry every tag
    of ``tags`` and, when given, have ``status``."""
    client = MlflowClient()
    parent = client.get_run(parent_run_id)
    terms = [f"tags.mlflow.parentRunId = '{parent_run_id}'"]
    terms += [f"tags.`{key}` = '{value}'" for key, value in (tags or {}).items()]
    if status is not None:
        terms.append(f"attributes.status = '{status}'")
    return [ChildRun(run.info.run_id, run.info.status) for run in
            client.search_runs([parent.info.experiment_id], filter_string=" and ".join(terms))]


def set_run_status(run_id: str, status: str, *, tags: Mapping[str, str] | None = None) -> None:
    """Set ``tags`` on run ``run_id``, then end it with ``status``."""
    client = MlflowClient()
    for key, value in (tags or {}).items():
        client.set_tag(run_id, key, value)
    client.set_terminated(run_id, status)


def end_running_children(parent_run_id: str, status: str = "KILLED",
                         tags: dict[str, str] | None = None) -> list[str]:
    """End the still-running child runs of ``parent_run_id``; returns their ids."""
    ended = []
    for child in child_runs(parent_run_id, status="RUNNING"):
        set_run_status(child.run_id, status, tags=tags)
        ended.append(child.run_id)
    return ended
