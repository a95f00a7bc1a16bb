"""One local Ray head for a whole pipeline run, stopped exactly when the run ends.

Every training stage that starts its own Ray pays ``ray.init`` and a cold worker
pool again; a pipeline run (``make demo``, ``python -m flows.pipeline``) instead
starts one head with :func:`local_ray_head` and hands its address to the stages in
``RAY_ADDRESS``, which they join (``components.training.driver.ensure_ray``,
``components.stages.represent``). A stage run alone still starts its own Ray.

The head is ``ray start --head`` in a new session: the daemons it leaves (GCS,
raylet, dashboard and its agents, then the workers) keep that process group, and
the context manager ends that group and any stray process naming the head's own
temporary folder, never ``ray stop`` (which stops every Ray on the machine, other
users' included). Every port is picked free and bound to 127.0.0.1, so a second
head (another user's, a test's) on the machine is never joined or disturbed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.errors import HarError

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
#: Ports a head needs besides GCS's: dashboard, its agent (HTTP, gRPC), the
#: runtime-env agent, metrics export, node manager, object manager.
_PORT_FLAGS = ("--dashboard-port", "--dashboard-agent-listen-port",
               "--dashboard-agent-grpc-port", "--runtime-env-agent-port",
               "--metrics-export-port", "--node-manager-port", "--object-manager-port")


class RayHeadError(HarError):
    """The local Ray head did not start."""


@dataclass(frozen=True)
class RayHead:
    """A running head: ``address`` (host:port of its GCS) is what ``RAY_ADDRESS`` takes."""

    address: str
    temp_dir: Path
    pgid: int
    token: str

    @property
    def env(self) -> dict[str, str]:
        """What a process needs to join: the address and the head's auth token."""
        return {"RAY_ADDRESS": self.address, "RAY_AUTH_MODE": "token",
                "RAY_AUTH_TOKEN": self.token}


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports on 127.0.0.1 the kernel calls free."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((HOST, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _ray_executable() -> str:
    local = Path(sys.executable).with_name("ray")
    return str(local) if local.exists() else "ray"


def _process_group(pid: int) -> int | None:
    """pgid of ``pid`` from /proc (None once gone or a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, pgrp
    return None if fields[0] == "Z" else int(fields[2])


def head_processes(head: RayHead) -> list[int]:
    """Live pids of ``head``: its process group, and any process naming its temp folder."""
    marker = str(head.temp_dir).encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        pid = int(entry.name)
        group = _process_group(pid)
        if group is None:
            continue
        try:
            named = marker in (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if group == head.pgid or named:
            pids.append(pid)
    return pids


def stop_head(head: RayHead, grace_s: float = 3.0) -> None:
    """SIGTERM ``head``'s processes, SIGKILL what is left after ``grace_s``; remove its
    temporary folder. Touches no other Ray on the machine."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(head.pgid, sig)
        for pid in head_processes(head):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace_s
        while head_processes(head) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not head_processes(head):
            break
    shutil.rmtree(head.temp_dir, ignore_errors=True)


def _start_once(num_cpus: int | None, env: Mapping[str, str] | None,
                startup_timeout_s: float, dashboard: bool) -> RayHead:
    # Ray's sockets live under the temp dir: keep its path short (AF_UNIX: 107 bytes).
    temp_dir = Path(tempfile.mkdtemp(prefix="har-ray-", dir="/tmp"))
    gcs, *others = free_ports(1 + len(_PORT_FLAGS))
    cmd = [_ray_executable(), "start", "--head", f"--node-ip-address={HOST}", f"--port={gcs}",
           f"--temp-dir={temp_dir}", f"--num-cpus={num_cpus or os.cpu_count() or 1}",
           "--disable-usage-stats", f"--dashboard-host={HOST}",
           f"--include-dashboard={str(dashboard).lower()}",
           *(f"{flag}={port}" for flag, port in zip(_PORT_FLAGS, others, strict=True))]
    # Ray 2.60's head turns token authentication on; a token of our own, handed to
    # the stages with the address, is what lets them in (and keeps others out).
    token = secrets.token_hex(32)
    run_env = {k: v for k, v in (env if env is not None else os.environ).items()
               if k not in ("RAY_ADDRESS", "RAY_AUTH_TOKEN_PATH")}
    run_env.update(RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token)
    log_path = temp_dir / "ray-start.log"
    with log_path.open("w") as out:
        # A new session: `ray start` returns once the head is up, and the daemons it
        # leaves behind keep its process group (pgid = its pid).
        proc = subprocess.Popen(cmd, cwd=temp_dir, env=run_env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    head = RayHead(address=f"{HOST}:{gcs}", temp_dir=temp_dir, pgid=proc.pid, token=token)
    try:
        code = proc.wait(timeout=startup_timeout_s)
    except subprocess.TimeoutExpired:
        code = None
    if code != 0:
        output = log_path.read_text(errors="replace")[-3000:]
        stop_head(head)
        reason = "timed out" if code is None else f"exit {code}"
        raise RayHeadError(f"ray start --head failed ({reason}):\n{output}")
    return head


def start_head(num_cpus: int | None = None, env: Mapping[str, str] | None = None,
               startup_timeout_s: float = 120.0, dashboard: bool = True,
               attempts: int = 2) -> RayHead:
    """Start a one-node head with ``num_cpus`` CPUs (default: all); return once it is up.

    ``dashboard`` stays on by default, as in a stage's own ``ray.init``: Train V2's
    placement-group cleaner asks the dashboard's State API. A start that fails is
    cleaned up and tried again (``attempts`` in all): Ray gives its raylet a fixed
    30 s to register, which a busy machine can miss.

    Raises:
        RayHeadError: every ``ray start`` failed or took longer than
            ``startup_timeout_s`` (the last output is in the message); nothing of
            them is left running.
    """
    for attempt in range(1, attempts + 1):
        try:
            return _start_once(num_cpus, env, startup_timeout_s, dashboard)
        except RayHeadError as error:
            if attempt == attempts:
                raise
            log.warning("Ray head did not start (attempt %d of %d), trying again: %s",
                        attempt, attempts, str(error).splitlines()[0])
    raise AssertionError("unreachable")


@contextlib.contextmanager
def local_ray_head(num_cpus: int | None = None,
                   env: Mapping[str, str] | None = None) -> Iterator[RayHead]:
    """A local Ray head for the ``with`` block; stopped at its end, also on errors and
    interrupts (see :func:`start_head`, :func:`stop_head`)."""
    started = time.monotonic()
    head = start_head(num_cpus, env)
    log.info("Ray head at %s (%.1f s to start); stages join it", head.address,
             time.monotonic() - started)
    try:
        yield head
    finally:
        started = time.monotonic()
        stop_head(head)
        log.info("Ray head at %s stopped (%.1f s)", head.address, time.monotonic() - started)


# --------------------------------------------------------------------------- joining


def ray_address() -> str:
    """The Ray cluster this process is to join (``$RAY_ADDRESS``), '' for none: a local
    Ray is started instead. The one reader of the variable below the entry points."""
    return os.environ.get("RAY_ADDRESS", "").strip()


def connect_ray(num_cpus: int | None = None, *, log_to_driver: bool | None = None,
                include_dashboard: bool | None = None) -> None:
    """Join ``$RAY_ADDRESS`` (a head or a cluster), else start a local Ray with
    ``num_cpus`` CPUs (default: all), unless this process is connected already.

    Never ``ray.init()`` without an address: that may attach to whatever cluster
    another process on the machine started with ``ray start``. Quiet unless
    verbose (``har -v``, components._console): Ray's own INFO lines ("Started a
    local Ray instance", "Connecting to existing Ray cluster"), its token notice
    and, unless ``log_to_driver``, the workers' output stay in Ray's session logs.
    """
    import ray

    from components._console import verbose
    from components._lifetime import terminate_as_interrupt

    if ray.is_initialized():
        return
    loud = verbose()
    options: dict[str, Any] = {"log_to_driver": loud if log_to_driver is None else log_to_driver,
               "logging_level": logging.INFO if loud else logging.WARNING}
    address = ray_address()
    if address:
        ray.init(address=address, **options)
    else:
        if not loud:
            _hide_token_notice()
        if include_dashboard is not None:
            options["include_dashboard"] = include_dashboard
        ray.init(address="local", num_cpus=num_cpus or os.cpu_count(), **options)
    # ray.init makes SIGTERM a sys.exit(15) (runs ending FAILED): keep it an interrupt.
    terminate_as_interrupt()


class _TokenNotice(logging.Filter):
    """Drops Ray's notice that a new local cluster uses token authentication (its
    default, and nothing to act on); a warning that authentication is off stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Token authentication is enabled" not in record.getMessage()


def _hide_token_notice() -> None:
    # Setting RAY_AUTH_MODE=token to silence it instead leaves the driver without a
    # token for its own GCS (seen with Ray 2.60: "InvalidAuthToken", forever).
    logger = logging.getLogger("ray._private.authentication.authentication_token_setup")
    if not any(isinstance(f, _TokenNotice) for f in logger.filters):
        logger.addFilter(_TokenNotice())
