"""Per-epoch metrics into MLflow, from the Ray Train controller, exactly once.

:class:`EpochMetricsLogger` is a Ray Train ``UserCallback``. The controller calls
it after every ``ray.train.report`` of the workers, and only after its checkpoint
manager has registered the epoch's checkpoint (and written its snapshot): so an
epoch's metrics reach MLflow only once that epoch can no longer be redone by a
resumed run. Metrics are rank 0's (the workers compute the same evaluation
metrics on every rank), logged in one batch per epoch with step = epoch.

The controller runs on the driver's node, so an SQLite store on that node works
even when the workers run elsewhere in a cluster. A failure to log is reported
and left for the driver, which reconciles MLflow with the checkpoint's history
before and after training (:func:`reconcile_history`).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Mapping
from typing import Any

from ray.train import UserCallback

from components.training.session import ABORT_KEY

log = logging.getLogger(__name__)

#: Record keys that are not metrics.
NOT_METRICS = frozenset({"epoch", "time", ABORT_KEY, "checkpoint_path"})


def metrics_of(record: Mapping[str, Any]) -> dict[str, float]:
    """The loggable metrics of a per-epoch record (numbers only, no bookkeeping keys)."""
    out = {}
    for key, value in record.items():
        if key in NOT_METRICS or isinstance(value, bool):
            continue
        if isinstance(value, int | float) and math.isfinite(float(value)):
            out[key] = float(value)
    return out


class EpochMetricsLogger(UserCallback):
    """Log each reported epoch's metrics to one MLflow run (in the controller).

    Args:
        run_id: the MLflow run.
        tracking_uri: the store (the controller process does not inherit the driver's).
    """

    def __init__(self, run_id: str, tracking_uri: str) -> None:
        self.run_id = run_id
        self.tracking_uri = tracking_uri

    def after_report(self, run_context: Any, metrics: list[dict[str, Any]],
                     checkpoint: Any) -> None:
        record = metrics[0] if metrics else {}
        if checkpoint is None or ABORT_KEY in record or "epoch" not in record:
            return
        os.environ["MLFLOW_TRACKING_URI"] = self.tracking_uri
        try:
            from components.tracking import log_metrics

            log_metrics(metrics_of(record), step=int(record["epoch"]), run_id=self.run_id)
        except Exception as exc:  # the driver reconciles what is missing
            log.warning("could not log epoch %s metrics to MLflow run %s: %s",
                        record.get("epoch"), self.run_id, exc)


def reconcile_history(run_id: str, history: Iterable[Mapping[str, Any]]) -> list[int]:
    """Log the epochs of ``history`` that the run lacks; returns the epochs logged.

    An epoch counts as logged when its ``train/loss`` is (each epoch is one batch).
    """
    from components.tracking import log_metrics
    from components.tracking.resume import logged_steps

    history = list(history)
    if not history:
        return []
    present = logged_steps(run_id, "train/loss")
    added = []
    for record in history:
        epoch = int(record["epoch"])
        if epoch not in present:
            log_metrics(metrics_of(record), step=epoch, run_id=run_id)
            added.append(epoch)
    return added
