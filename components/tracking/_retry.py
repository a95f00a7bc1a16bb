"""Bounded retries for transient tracking-store errors (SQLite "database is locked").

MLflow's SQL store already waits up to 20 s on a locked SQLite file (``busy_timeout``);
when that runs out it raises an ``MlflowException`` with error code
``TEMPORARILY_UNAVAILABLE`` wrapping ``sqlalchemy.exc.OperationalError``. Those errors,
and only those, are worth retrying: everything else (bad keys, immutable params) fails
the same way every time and is raised at once.

The retrying itself is tenacity's (stop after N attempts, re-raise the last error,
log before each sleep); only the wait is ours: capped exponential backoff with +-25 %
multiplicative jitter, so that concurrent Tune trials writing one SQLite store do not
retry in lockstep.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

_T = TypeVar("_T")
_LOG = logging.getLogger(__name__)

_TRANSIENT_ERROR_CODES = frozenset({"TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED"})
_TRANSIENT_MESSAGES = ("database is locked", "database table is locked", "database is busy")


def is_transient_store_error(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from) is a transient store error.

    Args:
        exc: The exception to classify.

    Returns:
        True for SQLite lock errors, SQLAlchemy/sqlite3 ``OperationalError`` and MLflow
        errors with a "temporarily unavailable" / rate-limit code; False otherwise.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if type(current).__name__ == "OperationalError":  # sqlite3 or sqlalchemy.exc
            return True
        if getattr(current, "error_code", None) in _TRANSIENT_ERROR_CODES:
            return True
        message = str(current).lower()
        if any(fragment in message for fragment in _TRANSIENT_MESSAGES):
            return True
        current = current.__cause__ or current.__context__
    return False


def retry_transient(
    fn: Callable[[], _T],
    *,
    attempts: int = 6,
    base_delay_s: float = 0.2,
    max_delay_s: float = 5.0,
    what: str = "tracking call",
    retry_if: Callable[[BaseException], bool] = is_transient_store_error,
    sleep: Callable[[float], None] = time.sleep,
) -> _T:
    """Call ``fn`` and retry it with exponential backoff while it fails transiently.

    The delay before retry ``k`` (1-based) is ``min(max_delay_s, base_delay_s * 2**(k-1))``
    with +-25 % jitter, so concurrent writers do not retry in lockstep.

    Args:
        fn: The call to make (no arguments).
        attempts: Total number of calls, at least 1.
        base_delay_s: Delay before the first retry, in seconds.
        max_delay_s: Upper bound of one delay, in seconds.
        what: Name of the operation, for log messages.
        retry_if: Which errors to retry; by default transient store errors only.
        sleep: Sleep function (injectable for tests).

    Returns:
        What ``fn`` returns.

    Raises:
        Exception: The last error once ``attempts`` calls failed, or the first error
            that ``retry_if`` rejects.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")

    def wait(state: RetryCallState) -> float:
        nominal = min(max_delay_s, base_delay_s * 2 ** (state.attempt_number - 1))
        return nominal * random.uniform(0.75, 1.25)

    def log_retry(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        delay = state.next_action.sleep if state.next_action is not None else 0.0
        _LOG.warning("%s failed transiently (attempt %d/%d: %s); retrying in %.2f s",
                     what, state.attempt_number, attempts, error, delay)

    retrying = Retrying(stop=stop_after_attempt(attempts), wait=wait,
                        retry=retry_if_exception(retry_if), before_sleep=log_retry,
                        sleep=sleep, reraise=True)
    return retrying(fn)
