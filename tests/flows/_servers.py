"""Local servers for tests: free ports, health checks, process-group clean-up."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"{url} not healthy after {timeout_s} s")


def stop(proc: subprocess.Popen | None) -> None:
    """Stop a process started with ``start_new_session=True`` and its children."""
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, 15)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)


@contextmanager
def prefect_server(root: Path, env: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """``prefect server start`` on a free 127.0.0.1 port (SQLite, home and log under
    ``root``); yields ``env`` pointed at it (``PREFECT_API_URL``, ``PREFECT_HOME``)."""
    port = free_port()
    env = dict(env) | {
        "PREFECT_HOME": str(root / "prefect-home"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    env.pop("PREFECT_PROFILES_PATH", None)
    prefect = Path(sys.executable).with_name("prefect")
    server = subprocess.Popen(
        [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=(root / "server.log").open("w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_healthy(f"{env['PREFECT_API_URL']}/health", server)
        yield env
    finally:
        stop(server)
