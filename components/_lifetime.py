"""How a har process ends when something else ends it.

* :func:`stop_with_parent`: a stage run by DVC (``DVC_STAGE`` set) asks the kernel
  for SIGTERM when its parent dies, so killing ``dvc repro`` never leaves an orphan
  stage writing to a run that the next ``dvc repro`` also writes to.
* :func:`terminate_as_interrupt`: SIGTERM raises ``KeyboardInterrupt`` in the main
  thread, like Ctrl-C: ``with`` blocks end their MLflow runs ``KILLED`` and remove
  their temporaries, and ``har`` exits 130 saying it was interrupted.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from typing import Any

#: prctl(2) option: the signal this process gets when its parent thread exits.
_PR_SET_PDEATHSIG = 1


def stop_with_parent(sig: signal.Signals = signal.SIGTERM) -> bool:
    """Get ``sig`` when the parent process exits (Linux); True if arranged.

    The parent must outlive the call: if it has already gone (the process was
    re-parented), ``sig`` is sent at once.
    """
    if not sys.platform.startswith("linux"):
        return False
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() != parent:
        os.kill(os.getpid(), sig)
    return True


def _interrupt(signum: int, frame: Any) -> None:  # noqa: ARG001 - signal handler signature
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def terminate_as_interrupt() -> None:
    """Make SIGTERM raise ``KeyboardInterrupt`` (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)


def under_dvc() -> bool:
    """True in a stage command that ``dvc repro`` / ``dvc exp run`` started."""
    return bool(os.environ.get("DVC_STAGE"))
