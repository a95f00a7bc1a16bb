"""MLflow runs: one context manager that opens, tags, nests and closes them.

Nesting works in two ways, and the MLflow UI shows both as children of the parent
(it groups on the ``mlflow.parentRunId`` tag, which MLflow sets from ``start_run``):

* in the same process, a ``training_run`` opened inside another one is nested under it;
* in another process (a Ray Tune trial under the sweep's run), pass the parent's id:
  ``training_run(..., parent_run_id=sweep.run_id)``. The parent must be in the same
  experiment and not deleted; it may still be running in the driver.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import mlflow
from mlflow import ActiveRun
from mlflow.tracking import MlflowClient

from components.tracking.params import log_params_flat
from components.tracking.store import default_artifact_location, ensure_experiment, open_store

_LOG = logging.getLogger(__name__)

PARENT_RUN_ID_TAG = "mlflow.parentRunId"


@dataclass(frozen=True)
class RunHandle:
    """What a caller needs to know about an open run (no MLflow types).

    Attributes:
        run_id: The run id (hand it to Tune trials as their ``parent_run_id``).
        experiment_id: Id of the run's experiment.
        name: The run name.
        parent_run_id: The parent's run id, None for a top-level run.
        tracking_uri: Tracking URI the run lives in (hand it to other processes).
    """

    run_id: str
    experiment_id: str
    name: str
    parent_run_id: str | None
    tracking_uri: str


@contextmanager
def training_run(
    name: str,
    *,
    experiment: str,
    tags: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | Any | None = None,
    parent_run_id: str | None = None,
    tracking_uri: str | None = None,
    description: str | None = None,
) -> Iterator[RunHandle]:
    """Open an MLflow run for the duration of a ``with`` block.

    The run always is a new one: an inherited ``MLFLOW_RUN_ID`` environment variable
    (which would make MLflow resume that run instead) is dropped with a warning. The
    run ends ``FINISHED``, or with :func:`end_status` of the exception the block
    raised (``FAILED``, or ``KILLED`` on an interrupt); the exception propagates.

    Args:
        name: Run name (see :func:`components.tracking.naming.run_name`).
        experiment: Experiment name; created if missing (drivers should have created
            it with :func:`~components.tracking.store.setup_tracking` already).
        tags: Run tags (see :func:`components.tracking.naming.standard_tags`).
        params: Nested hyperparameters (a mapping or a dataclass), logged flat (see
            :func:`components.tracking.params.log_params_flat`).
        parent_run_id: Parent run id for a nested run started in another process. In
            the same process the active run, if any, is the parent.
        tracking_uri: Tracking URI to use in this process (for workers that did not
            inherit ``MLFLOW_TRACKING_URI``); the current one by default.
        description: Run description (shown in the UI).

    Yields:
        A :class:`RunHandle` for the open run.

    Raises:
        ValueError: If the parent run is in another experiment, or another run that is
            not ``parent_run_id`` is active in this process.
    """
    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
    uri = mlflow.get_tracking_uri()
    client = open_store(uri)
    experiment_id = ensure_experiment(
        experiment, artifact_location=default_artifact_location(uri), client=client
    )

    active = mlflow.active_run()
    parent_run_id = _parent_run_id(client, parent_run_id, active, experiment, experiment_id)
    _drop_inherited_run_id()

    run = mlflow.start_run(
        experiment_id=experiment_id,
        run_name=name,
        nested=active is not None,
        parent_run_id=parent_run_id,
        tags={key: str(value) for key, value in (tags or {}).items()},
        description=description,
    )
    run_id = run.info.run_id
    status = "FINISHED"
    try:
        if params:
            log_params_flat(params, run_id=run_id)
        yield RunHandle(
            run_id=run_id,
            experiment_id=experiment_id,
            name=name,
            parent_run_id=parent_run_id,
            tracking_uri=uri,
        )
    except BaseException as exc:
        status = end_status(exc)
        raise
    finally:
        end_run_and_children(run_id, status)


def _parent_run_id(client: MlflowClient, parent_run_id: str | None, active: ActiveRun | None,
                   experiment: str, experiment_id: str) -> str | None:
    """The parent of a new run: ``parent_run_id``, else the active run, if any.

    Raises:
        ValueError: another run than ``parent_run_id`` is active, or the parent is in
            another experiment (the UI nests runs only within one).
    """
    if active is not None:
        if parent_run_id is None:
            parent_run_id = active.info.run_id
        elif parent_run_id != active.info.run_id:
            raise ValueError(
                f"run {active.info.run_id} is active in this process; it cannot be nested "
                f"under parent {parent_run_id}: end it first"
            )
    if parent_run_id is not None:
        parent = client.get_run(parent_run_id)
        if parent.info.experiment_id != experiment_id:
            raise ValueError(
                f"parent run {parent_run_id} is in experiment {parent.info.experiment_id}, "
                f"not {experiment!r} ({experiment_id}): the UI nests runs only within one "
                "experiment"
            )
    return parent_run_id


def _drop_inherited_run_id() -> None:
    """Remove ``MLFLOW_RUN_ID`` from the environment: with it MLflow would resume that run."""
    inherited = os.environ.pop("MLFLOW_RUN_ID", None)
    if inherited:
        _LOG.warning("ignoring MLFLOW_RUN_ID=%s: training_run starts a new run", inherited)


def end_status(exc: BaseException) -> str:
    """The MLflow status for a run whose block raised ``exc``.

    ``KILLED`` for an interrupt and for a clean ``SystemExit`` (code 0 or None): that is
    how Ray Tune stops a trial it no longer wants (ASHA, or the last epoch reached) from
    inside ``report``; the trial did not fail. ``FAILED`` for anything else.
    """
    if isinstance(exc, KeyboardInterrupt):
        return "KILLED"
    if isinstance(exc, SystemExit) and exc.code in (0, None):
        return "KILLED"
    return "FAILED"


def end_run_and_children(run_id: str, status: str) -> None:
    """End ``run_id`` and any run left open inside it, with ``status``."""
    while (current := mlflow.active_run()) is not None:
        mlflow.end_run(status)
        if current.info.run_id == run_id:
            return
    # Not on this thread's stack any more: mark it, unless something ended it already.
    client = MlflowClient()
    if client.get_run(run_id).info.status == "RUNNING":
        client.set_terminated(run_id, status)
