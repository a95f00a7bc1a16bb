"""A Ray cluster of several nodes on this one machine, for the scale-out tests.

The head is the project's own (:func:`components.ray_head.start_head`: free ports on
127.0.0.1, a token, the dashboard the State API needs); a worker node is a second
``ray start --address HEAD`` with its own temporary folder (Ray keeps one per node:
sockets, session logs) and its own free ports, in its own process group. Both are
stopped with :func:`components.ray_head.stop_head`: by process group and by their
temporary folder, never ``ray stop``.

What the cluster did is asked of Ray's State API (``ray.util.state``) in a
subprocess, so the test process never joins the cluster as a driver.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from components.ray_head import HOST, RayHead, RayHeadError, free_ports, head_processes, stop_head

BIN = Path(sys.executable).parent

#: Ports a worker node needs named (a default one may be another Ray's on this machine).
_WORKER_PORT_FLAGS = ("--node-manager-port", "--object-manager-port", "--metrics-export-port",
                      "--dashboard-agent-listen-port", "--dashboard-agent-grpc-port",
                      "--runtime-env-agent-port")


def node_env(head: RayHead, base: Mapping[str, str]) -> dict[str, str]:
    """``base`` with what a process needs to join ``head`` (address and token)."""
    env = {k: v for k, v in base.items() if k != "RAY_AUTH_TOKEN_PATH"}
    env.update(head.env, RAY_USAGE_STATS_ENABLED="0")
    return env


def start_worker_node(head: RayHead, num_cpus: int, base_env: Mapping[str, str],
                      timeout_s: float = 180.0) -> RayHead:
    """Join a worker node with ``num_cpus`` CPUs to ``head``; return once ``ray start``
    did (its raylet registered). The result is stopped with ``stop_head``; its
    ``address`` is the head's.

    Raises:
        RayHeadError: ``ray start`` failed or timed out; nothing of it is left running.
    """
    temp_dir = Path(tempfile.mkdtemp(prefix="har-ray-node-", dir="/tmp"))  # short: AF_UNIX
    ports = free_ports(len(_WORKER_PORT_FLAGS))
    cmd = [str(BIN / "ray"), "start", f"--address={head.address}", f"--node-ip-address={HOST}",
           f"--temp-dir={temp_dir}", f"--num-cpus={num_cpus}", "--num-gpus=0",
           "--disable-usage-stats",
           *(f"{flag}={port}" for flag, port in zip(_WORKER_PORT_FLAGS, ports, strict=True))]
    log = temp_dir / "ray-start.log"
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=temp_dir, env=node_env(head, base_env), stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    node = RayHead(address=head.address, temp_dir=temp_dir, pgid=proc.pid, token=head.token)
    try:
        code: int | None = proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        code = None
    if code != 0:
        output = log.read_text(errors="replace")[-3000:]
        stop_head(node)
        raise RayHeadError(f"ray start --address failed ({code}):\n{output}")
    return node


def raylet_pid(node: RayHead) -> int:
    """The pid of ``node``'s raylet (the process that makes it a node)."""
    for pid in head_processes(node):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and Path(argv[0].decode(errors="replace")).name == "raylet":
            return pid
    raise LookupError(f"no raylet among the processes of {node.temp_dir}")


def kill_raylet(node: RayHead) -> int:
    """SIGKILL ``node``'s raylet, as a lost machine would; returns its pid."""
    pid = raylet_pid(node)
    os.kill(pid, signal.SIGKILL)
    return pid


# One State API query, in a subprocess; prints JSON. argv: what, address, filters.
_STATE_SCRIPT = """
import json, sys
from ray.util import state
what, address, filters = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
rows = getattr(state, "list_" + what)(address=address, filters=[tuple(f) for f in filters],
                                      detail=True, limit=10000, raise_on_missing_output=False)
print(json.dumps([r if isinstance(r, dict) else r.__dict__ for r in rows], default=str))
"""


def list_state(head: RayHead, what: str, base_env: Mapping[str, str],
               filters: Sequence[tuple[str, str, str]] = (), timeout_s: float = 120.0,
               ) -> list[dict[str, Any]]:
    """Ray's State API: ``ray.util.state.list_<what>`` (``nodes``, ``actors``,
    ``tasks``...) of ``head``'s cluster, with ``detail=True``, as plain dicts."""
    done = subprocess.run([sys.executable, "-c", _STATE_SCRIPT, what, head.address,
                           json.dumps([list(f) for f in filters])],
                          env=node_env(head, base_env), capture_output=True, text=True,
                          timeout=timeout_s)
    if done.returncode != 0:
        raise RuntimeError(f"list_{what} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def wait_alive_nodes(head: RayHead, count: int, base_env: Mapping[str, str],
                     timeout_s: float = 120.0) -> list[dict[str, Any]]:
    """The cluster's alive nodes, once there are ``count`` of them.

    Raises:
        TimeoutError: fewer than ``count`` alive after ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    alive: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        alive = list_state(head, "nodes", base_env, [("state", "=", "ALIVE")])
        if len(alive) == count:
            return alive
        time.sleep(1.0)
    raise TimeoutError(f"{len(alive)} alive node(s), not {count}, after {timeout_s:.0f} s")
