"""What a ``har`` command prints: quiet by default, everything with ``-v``.

By default a stage prints its own progress and results only; the libraries under
it (Ray, MLflow) print warnings and errors that matter to the user, and their
start-up chatter goes to their own log files. ``har -v`` (or ``HAR_VERBOSE=1``)
restores all of it. Output is plain text (no ANSI codes) when stderr is not a
terminal: that is what a Prefect flow-run log, a CI log or a file receives.

:func:`quiet_libraries` must run before MLflow and Ray are imported: both read
their settings from the environment at import (MLflow's log level) or at
``ray.init`` (Ray's colour prefixes).
"""

from __future__ import annotations

import logging
import os
import sys

#: Set to 1 by ``har -v``; read by the stages and by the processes they start.
VERBOSE_ENV = "HAR_VERBOSE"

#: Loggers whose INFO lines are start-up chatter at a stage's level of detail.
NOISY_LOGGERS = ("ray", "ray.train", "ray.tune", "ray.data", "mlflow", "alembic",
                 "torch.distributed", "filelock", "urllib3",
                 "httpx")  # Prefect's client: a line per request to its server


def verbose() -> bool:
    """True when the user asked for everything (``har -v`` or ``HAR_VERBOSE=1``)."""
    return os.environ.get(VERBOSE_ENV, "").strip().lower() in ("1", "true", "yes")


def set_verbose(on: bool) -> None:
    """Record the choice in the environment, so that child processes share it."""
    if on:
        os.environ[VERBOSE_ENV] = "1"
    else:
        os.environ.pop(VERBOSE_ENV, None)


def is_terminal(stream: object = None) -> bool:
    """Whether ``stream`` (default: stderr) is an interactive terminal with a size
    (tqdm draws nothing on a pseudo-terminal of 0 columns or 0 rows, as ``script``
    without a terminal or some CI runners give: plain lines are better there)."""
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    try:
        if not (isatty and isatty()):
            return False
    except ValueError:  # a closed stream
        return False
    try:
        size = os.get_terminal_size(stream.fileno())  # type: ignore[union-attr]  # AttributeError below
        return size.columns > 0 and size.lines > 0
    except (AttributeError, OSError, ValueError):
        return True


def quiet_libraries(on: bool | None = None) -> None:
    """Quieten Ray and MLflow (``on``; default: not :func:`verbose`).

    Environment defaults only (a value the user set wins): MLflow's own log level
    (``MLFLOW_LOGGING_LEVEL``, read when mlflow is imported) and artifact progress
    bars (``MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR``), and, off a terminal,
    Ray's colour codes around forwarded worker lines (``RAY_COLOR_PREFIX=0``);
    always, Prefect's server telemetry (``PREFECT_SERVER_ANALYTICS_ENABLED``).
    """
    on = not verbose() if on is None else on
    # Prefect's temporary servers (har claims, har ablate, the flows) send usage
    # telemetry: offline that is an ERROR line at every start, and this project
    # sends nothing anywhere unasked.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if not is_terminal():
        os.environ.setdefault("RAY_COLOR_PREFIX", "0")
    if not on:
        return
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    # MLflow's tqdm bar when it copies artifacts (a model's files: seconds at most).
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
