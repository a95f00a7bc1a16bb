"""Per-epoch metrics reach MLflow exactly once (the controller callback, reconciliation)."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.training.reporting import EpochMetricsLogger, metrics_of, reconcile_history
from components.training.session import ABORT_KEY

RECORD = {"epoch": 1.0, "train/loss": 0.7, "test/top1": 0.5, "time": 1.0e9, "lr": 1e-3}


def test_metrics_exclude_bookkeeping_and_non_finite_values() -> None:
    assert metrics_of({**RECORD, "x": float("nan"), ABORT_KEY: "stop"}) == {
        "train/loss": 0.7, "test/top1": 0.5, "lr": 1e-3}


@pytest.mark.integration
def test_logger_logs_registered_epochs_and_reconcile_fills_gaps(mlflow_store: str) -> None:
    from mlflow.tracking import MlflowClient

    from components.tracking import setup_tracking, training_run

    setup_tracking(Path("."), "har-tests")
    with training_run("reporting", experiment="har-tests") as run:
        logger = EpochMetricsLogger(run.run_id, mlflow_store)
        logger.after_report(None, [RECORD], checkpoint=object())
        logger.after_report(None, [{**RECORD, "epoch": 2.0}], checkpoint=None)  # not registered
        logger.after_report(None, [{"epoch": 3.0, ABORT_KEY: "nan"}], checkpoint=object())
        history = [RECORD, {**RECORD, "epoch": 2.0, "train/loss": 0.6}]
        assert reconcile_history(run.run_id, history) == [2]
        assert reconcile_history(run.run_id, history) == []
    client = MlflowClient(tracking_uri=mlflow_store)
    steps = [m.step for m in client.get_metric_history(run.run_id, "train/loss")]
    assert sorted(steps) == [1, 2]
