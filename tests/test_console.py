"""``har``'s console: quiet by default, ``-v`` shared with child processes."""

from __future__ import annotations

import logging
import os

import pytest

from components import _console


def test_verbose_travels_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_console.VERBOSE_ENV, raising=False)
    assert not _console.verbose()
    _console.set_verbose(True)
    assert _console.verbose()
    _console.set_verbose(False)
    assert not _console.verbose()


def test_quiet_libraries_sets_defaults_and_leaves_the_users_alone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_LOGGING_LEVEL", raising=False)
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "true")  # the user's
    monkeypatch.delenv("RAY_COLOR_PREFIX", raising=False)
    monkeypatch.delenv("PREFECT_SERVER_ANALYTICS_ENABLED", raising=False)
    for name in _console.NOISY_LOGGERS:
        monkeypatch.setattr(logging.getLogger(name), "level", logging.NOTSET)
    _console.quiet_libraries(True)
    assert os.environ["MLFLOW_LOGGING_LEVEL"] == "WARNING"
    assert os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] == "true"
    assert os.environ["RAY_COLOR_PREFIX"] == "0"  # pytest's stderr is not a terminal
    assert logging.getLogger("ray.train").level == logging.WARNING
    assert logging.getLogger("httpx").level == logging.WARNING  # Prefect's requests
    assert os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"  # no telemetry offline
