"""Which errors are retried, and how often."""

from __future__ import annotations

import sqlite3

import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, TEMPORARILY_UNAVAILABLE

from components.tracking import is_transient_store_error, retry_transient


def _wrapped_lock_error() -> MlflowException:
    """What MLflow's SQL store raises when SQLite stays locked past its busy timeout."""
    try:
        try:
            raise sqlite3.OperationalError("database is locked")
        except sqlite3.OperationalError as exc:
            raise MlflowException("database is locked", error_code=TEMPORARILY_UNAVAILABLE) from exc
    except MlflowException as outer:
        return outer


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (sqlite3.OperationalError("database is locked"), True),
        (_wrapped_lock_error(), True),
        (MlflowException("try later", error_code=TEMPORARILY_UNAVAILABLE), True),
        (RuntimeError("(sqlite3.OperationalError) database is locked"), True),
        (MlflowException("bad key", error_code=INVALID_PARAMETER_VALUE), False),
        (ValueError("nope"), False),
    ],
)
def test_is_transient_store_error(exc: BaseException, transient: bool) -> None:
    assert is_transient_store_error(exc) is transient


def test_retries_transient_errors_with_growing_bounded_delays() -> None:
    delays: list[float] = []
    calls = {"n": 0}

    def flaky() -> str:
        calls["n"] += 1
        if calls["n"] < 5:
            raise _wrapped_lock_error()
        return "ok"

    result = retry_transient(
        flaky, attempts=6, base_delay_s=0.1, max_delay_s=0.5, sleep=delays.append
    )
    assert result == "ok"
    assert calls["n"] == 5
    assert len(delays) == 4
    # 0.1, 0.2, 0.4, 0.5 (capped), each with +-25 % jitter
    for delay, nominal in zip(delays, (0.1, 0.2, 0.4, 0.5), strict=True):
        assert nominal * 0.75 <= delay <= nominal * 1.25


def test_gives_up_after_the_last_attempt() -> None:
    delays: list[float] = []

    def always_locked() -> None:
        raise _wrapped_lock_error()

    with pytest.raises(MlflowException, match="locked"):
        retry_transient(always_locked, attempts=3, sleep=delays.append)
    assert len(delays) == 2


def test_other_errors_are_raised_at_once() -> None:
    delays: list[float] = []

    def bad() -> None:
        raise MlflowException("bad key", error_code=INVALID_PARAMETER_VALUE)

    with pytest.raises(MlflowException, match="bad key"):
        retry_transient(bad, sleep=delays.append)
    assert delays == []
