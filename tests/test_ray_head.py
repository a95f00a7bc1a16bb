"""components.ray_head and ``har with-ray``: one local head, stopped exactly.

Two real heads run side by side: stopping one leaves no process of it and leaves
the other running and joinable. ``har with-ray`` hands its command the address.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from components.ray_head import head_processes, local_ray_head, start_head, stop_head

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BIN = Path(sys.executable).parent
JOIN = "import ray; ray.init(); print(int(ray.cluster_resources()['CPU']))"


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env["OMP_NUM_THREADS"] = "1"
    return env


def test_a_head_stops_with_its_block_and_leaves_another_ray_running() -> None:
    other = start_head(num_cpus=1, dashboard=False)
    try:
        other_pids = head_processes(other)
        with local_ray_head(num_cpus=2) as head:
            assert head.address != other.address
            assert head.temp_dir.is_dir() and head_processes(head)
            joined = subprocess.run([sys.executable, "-c", JOIN], env={**_clean_env(),
                                    **head.env}, capture_output=True, text=True, timeout=120)
            assert joined.returncode == 0, joined.stderr[-2000:]
            assert joined.stdout.split()[-1] == "2"  # this head, not the 1-CPU one
        assert head_processes(head) == []
        assert not head.temp_dir.exists()
        # The other head is untouched: its processes are alive and it still answers.
        assert set(other_pids) <= set(head_processes(other))
        joined = subprocess.run([sys.executable, "-c", JOIN], env={**_clean_env(),
                                **other.env}, capture_output=True, text=True, timeout=120)
        assert joined.returncode == 0, joined.stderr[-2000:]
        assert joined.stdout.split()[-1] == "1"
    finally:
        stop_head(other)
    assert head_processes(other) == []


def test_with_ray_runs_the_command_with_an_address_and_its_exit_status() -> None:
    command = [str(BIN / "har"), "with-ray", "--num-cpus", "1", "--", sys.executable, "-c",
               "import os, sys; print(os.environ['RAY_ADDRESS']); sys.exit(3)"]
    done = subprocess.run(command, env=_clean_env(), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 3, done.stderr[-2000:]
    address = done.stdout.strip().splitlines()[-1]
    host, _, port = address.rpartition(":")
    assert host == "127.0.0.1" and port.isdigit(), done.stdout
    assert "stopped" in done.stderr, done.stderr[-2000:]


def test_with_ray_joins_a_ray_address_that_is_already_set() -> None:
    command = [str(BIN / "har"), "with-ray", "--", sys.executable, "-c",
               "import os; print(os.environ['RAY_ADDRESS'])"]
    done = subprocess.run(command, env={**_clean_env(), "RAY_ADDRESS": "10.1.2.3:6379"},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "10.1.2.3:6379"
    assert "Ray head at" not in done.stderr  # no head of its own


def test_with_ray_without_a_command_says_so() -> None:
    done = subprocess.run([str(BIN / "har"), "with-ray", "--"], env=_clean_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "no command given" in done.stderr, done.stderr


def test_with_ray_passes_sigterm_on_and_waits_for_the_command(tmp_path: Path) -> None:
    import signal

    mark = tmp_path / "terminated"
    child = ("import pathlib, signal, sys, time\n"
             "def stop(signum, frame):\n"
             f"    time.sleep(1); pathlib.Path({str(mark)!r}).write_text('yes'); sys.exit(7)\n"
             "signal.signal(signal.SIGTERM, stop)\n"
             "print('ready', flush=True)\n"
             "time.sleep(120)\n")
    proc = subprocess.Popen([str(BIN / "har"), "with-ray", "--", sys.executable, "-c", child],
                            env={**_clean_env(), "RAY_ADDRESS": "10.1.2.3:6379"},
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    finally:
        proc.kill()
    assert mark.read_text() == "yes"  # the command got SIGTERM and har waited for it
    assert code == 7
