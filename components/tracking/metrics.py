"""Metrics, logged in batches with retries on a busy SQLite store.

One ``log_batch`` of 1000 metrics costs about as much as 20 single ``log_metric``
calls on SQLite, and fewer transactions mean fewer lock conflicts between the
processes of a sweep.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from numbers import Real
from typing import SupportsFloat

from mlflow.entities import Metric
from mlflow.tracking import MlflowClient
from mlflow.utils.validation import MAX_METRICS_PER_BATCH

from components.tracking._active import resolve_run_id
from components.tracking._retry import retry_transient


def _as_float(key: str, value: SupportsFloat) -> float:
    """``float(value)`` for Python/NumPy/0-d torch numbers, with a clear error otherwise."""
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"metric {key!r}: expected a number, got {type(value).__name__}") from exc


def log_metrics(
    metrics: Mapping[str, SupportsFloat | Real],
    step: int,
    *,
    run_id: str | None = None,
    timestamp_ms: int | None = None,
    attempts: int = 6,
) -> int:
    """Log ``metrics`` at ``step`` through ``MlflowClient.log_batch``.

    Writes are synchronous and retried with bounded exponential backoff when the
    store reports "database is locked" (SQLite ``OperationalError``); other errors
    are raised at once. NaN and infinite values are logged as they are (MLflow keeps
    them), so a diverging loss stays visible.

    Args:
        metrics: Metric name to value (floats, NumPy scalars, 0-d tensors).
        step: Training step or epoch, >= 0.
        run_id: Run to log to; the active run by default.
        timestamp_ms: Wall-clock timestamp in milliseconds; now by default.
        attempts: Attempts per batch before giving up.

    Returns:
        The number of metric values logged.
    """
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    if not metrics:
        return 0
    run_id = resolve_run_id(run_id)
    timestamp = int(time.time() * 1000) if timestamp_ms is None else int(timestamp_ms)
    entries = [
        Metric(key=key, value=_as_float(key, value), timestamp=timestamp, step=int(step))
        for key, value in metrics.items()
    ]
    client = MlflowClient()
    for start in range(0, len(entries), MAX_METRICS_PER_BATCH):
        batch = entries[start : start + MAX_METRICS_PER_BATCH]
        retry_transient(
            functools.partial(client.log_batch, run_id, metrics=batch, synchronous=True),
            attempts=attempts,
            what=f"logging {len(batch)} metrics at step {step}",
        )
    return len(entries)
