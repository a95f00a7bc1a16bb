"""Which run a logging helper writes to."""

from __future__ import annotations

import mlflow


class NoActiveRunError(RuntimeError):
    """A logging helper was called outside :func:`~components.tracking.runs.training_run`."""


def active_run_id() -> str:
    """The id of this process's active MLflow run.

    Returns:
        The run id.

    Raises:
        NoActiveRunError: When no run is active (and no ``run_id`` was passed).
    """
    run = mlflow.active_run()
    if run is None:
        raise NoActiveRunError(
            "no active MLflow run: log inside `training_run(...)` or pass run_id="
        )
    return run.info.run_id


def resolve_run_id(run_id: str | None) -> str:
    """``run_id`` if given, else the active run's id.

    Args:
        run_id: An explicit run id or None.

    Returns:
        The run id to log to.
    """
    return run_id if run_id else active_run_id()
