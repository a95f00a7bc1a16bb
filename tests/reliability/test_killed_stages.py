"""A killed `dvc repro` takes its stage with it, and two processes never train one run:
the run lock refuses the second with the holder's pid; SIGTERM is an interrupt."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from components.training.run_lock import RunLockedError, exclusive_run, lock_path

HOLD_LOCK = """
import sys, time
from pathlib import Path
from components.training.run_lock import exclusive_run
with exclusive_run(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(120)
"""


def _wait_gone(pid: int, timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # A zombie child of this test still answers kill(0): reap it when it can be.
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        except ChildProcessError:
            pass
        time.sleep(0.1)
    return False


def test_a_second_writer_is_refused_naming_the_holder(tmp_path: Path) -> None:
    run_dir = tmp_path / "ray" / "teacher-0123abcd"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(run_dir)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunLockedError, match=rf"pid {holder.pid} on .*; wait for it"), \
                exclusive_run(run_dir):
            pass
        assert not run_dir.exists()  # refused before touching the run
    finally:
        holder.kill()  # SIGKILL: no cleanup code runs, the kernel drops the lock
        holder.wait()
    with exclusive_run(run_dir):
        assert f"pid {os.getpid()} " in lock_path(run_dir).read_text()


def test_a_stage_run_by_dvc_stops_when_its_parent_dies(tmp_path: Path) -> None:
    # parent (stands in for dvc) starts the stage and is SIGKILLed; the stage, which
    # would otherwise sleep on as an orphan, gets SIGTERM and exits as interrupted.
    stage = textwrap.dedent("""
        import sys, time
        from components._lifetime import stop_with_parent, terminate_as_interrupt
        terminate_as_interrupt()
        assert stop_with_parent()
        try:
            time.sleep(120)
        except KeyboardInterrupt:
            open(sys.argv[1], "w").write("interrupted")
    """)
    parent = textwrap.dedent("""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]])
        print(child.pid, flush=True)
        time.sleep(120)
    """)
    marker = tmp_path / "stage-ended"
    proc = subprocess.Popen([sys.executable, "-c", parent, stage, str(marker)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    stage_pid = int(proc.stdout.readline())
    time.sleep(2.0)  # the stage is in its sleep, pdeathsig armed
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _wait_gone(stage_pid), "the stage outlived its parent"
    assert marker.read_text() == "interrupted"
