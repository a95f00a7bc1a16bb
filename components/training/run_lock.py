"""One writer per training run: an exclusive lock beside the run folder.

A training stage whose parent was killed (``dvc repro`` stopped with SIGTERM) can
keep running; a second stage started on the same run would share its run folder,
checkpoints and MLflow run. The lock (``<run folder>.lock``, ``flock``) makes the
second one refuse at once, naming the process that holds it; the kernel releases
it whenever the holder exits, killed or not, so a stale lock never blocks anyone.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from components.errors import HarError


class RunLockedError(HarError):
    """Another process is training the same run (the message names it)."""


def lock_path(run_dir: Path) -> Path:
    """``<storage>/<run name>.lock``: beside the folder, which a fresh run deletes."""
    return run_dir.with_name(f"{run_dir.name}.lock")


@contextmanager
def exclusive_run(run_dir: Path) -> Iterator[None]:
    """Hold the run's lock for a ``with`` block.

    Raises:
        RunLockedError: another process holds it (waiting would resume a run that
            is still being written, so the caller stops instead).
    """
    path = lock_path(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 512, 0).decode("utf-8", "replace").strip() or "unknown"
            raise RunLockedError(
                f"{run_dir}: another process is training this run ({holder}); wait for "
                f"it to finish or stop it, then run again") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, (f"pid {os.getpid()} on {socket.gethostname()} since "
                       f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n").encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
