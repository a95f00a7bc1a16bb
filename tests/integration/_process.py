"""Processes a test starts in their own session: run with a time limit, stop by group.

A service (``mlflow server``, ``ray start``) leaves daemons behind in the process
group of the command that started it; :func:`stop` ends that group and any stray
process naming the service's own folder (``marker``), never a process by a broad
name.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest


def live(pgid: int, marker: str | None) -> list[int]:
    """Pids of live (not zombie) processes in group ``pgid`` or naming ``marker``."""
    import psutil

    pids = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        with contextlib.suppress(psutil.Error, OSError):
            if proc.pid == os.getpid() or proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            named = marker is not None and any(marker in part
                                               for part in proc.info["cmdline"] or ())
            if named or os.getpgid(proc.pid) == pgid:
                pids.append(proc.pid)
    return pids


def stop(pgid: int, marker: str | None = None, grace_s: float = 5.0) -> None:
    """SIGTERM the process group (and stray processes naming ``marker``), then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
        for pid in live(pgid, marker):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace_s
        while live(pgid, marker) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not live(pgid, marker):
            return


def tail(path: Path, chars: int = 4000) -> str:
    """The last ``chars`` characters of a log file ('' if there is none)."""
    return path.read_text(errors="replace")[-chars:] if path.is_file() else ""


def run_logged(cmd: list[str], cwd: Path, env: dict[str, str], log: Path,
               timeout_s: float) -> tuple[int, int, str]:
    """(exit code, pid, output) of ``cmd`` (output also in ``log``); on timeout its
    process group is stopped and the test fails with the output's end."""
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            code = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            stop(proc.pid)
            pytest.fail(f"{' '.join(cmd)} timed out after {timeout_s:.0f} s:\n{tail(log, 6000)}")
    return code, proc.pid, log.read_text(errors="replace")
