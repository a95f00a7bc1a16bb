"""A throw-away PostgreSQL cluster and an ``mlflow server`` on it, for integration tests.

The cluster lives in a temporary folder (``initdb``, trust authentication, superuser
``har``), listens on 127.0.0.1 and a free port, and is stopped with
``pg_ctl stop -m fast``. PostgreSQL refuses to run as root, so under root the server
programs run as the ``postgres`` system user (``runuser``); the clients (``createdb``,
psycopg, MLflow) connect over TCP as ``har`` either way.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.flows._servers import free_port, stop

HOST = "127.0.0.1"
USER = "har"
DATABASE = "mlflow"
STARTUP_TIMEOUT_S = 180


def postgres_bin() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (PATH first, then Debian's
    ``/usr/lib/postgresql/<major>/bin``, newest major), or None when not installed."""
    found = shutil.which("initdb")
    if found:  # resolved: Debian links only some programs into /usr/local/bin
        return Path(found).resolve().parent
    majors = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                    key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit()
                    else 0)
    return majors[-1].parent if majors else None


def _as_owner() -> list[str]:
    """Command prefix that runs the server programs as a user PostgreSQL accepts."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.is_file() else ""


@dataclass(frozen=True)
class Postgres:
    port: int
    root: Path

    def url(self, driver: str = "") -> str:
        """SQLAlchemy URL (``driver="psycopg"``) or libpq URL (``""``) of the database."""
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        return f"{scheme}://{USER}@{HOST}:{self.port}/{DATABASE}"


def _run(cmd: list[str], what: str, log: Path | None = None) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=STARTUP_TIMEOUT_S)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
                           f"{_tail(log) if log else ''}")


@contextlib.contextmanager
def postgres_cluster(bin_dir: Path) -> Iterator[Postgres]:
    """A fresh cluster with an empty database ``mlflow``; stopped and deleted after."""
    # Short path under /tmp: the unix socket goes here too (AF_UNIX paths: 107 bytes),
    # and the postgres user must be able to enter it (pytest's tmp folders are 0700).
    root = Path(tempfile.mkdtemp(prefix="har-pg-", dir="/tmp"))
    data, log = root / "data", root / "postgres.log"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    owner = _as_owner()
    port = free_port()
    started = False
    try:
        _run([*owner, str(bin_dir / "initdb"), "-D", str(data), "-U", USER, "--auth=trust",
              "-E", "UTF8", "--locale=C"], "initdb")
        options = f"-c listen_addresses={HOST} -p {port} -k {root}"
        _run([*owner, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
              "-w", "-t", "60", "start"], "pg_ctl start", log)
        started = True
        import psycopg

        with psycopg.connect(f"postgresql://{USER}@{HOST}:{port}/postgres",
                             autocommit=True) as conn:  # CREATE DATABASE: no transaction
            conn.execute(f"CREATE DATABASE {DATABASE}")
        yield Postgres(port=port, root=root)
    finally:
        if started:
            subprocess.run([*owner, str(bin_dir / "pg_ctl"), "-D", str(data), "stop",
                            "-m", "fast", "-w"], capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True)
class MlflowServer:
    uri: str                 # http://127.0.0.1:PORT, what MLFLOW_TRACKING_URI is set to
    artifacts: Path          # --artifacts-destination (served through the server)
    postgres: Postgres
    log: Path


def _wait_healthy(uri: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mlflow server exited ({proc.returncode}):\n{_tail(log)}")
        with contextlib.suppress(OSError), \
                urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.5)
    raise TimeoutError(f"mlflow server not healthy after {STARTUP_TIMEOUT_S} s:\n{_tail(log)}")


@contextlib.contextmanager
def mlflow_server(postgres: Postgres, root: Path, env: dict[str, str],
                  workers: int = 2) -> Iterator[MlflowServer]:
    """``mlflow server`` on ``postgres`` with artifacts under ``root/artifacts``; no
    ``--serve-artifacts`` flag: proxying is MLflow 3's default, and the tests check it."""
    port = free_port()
    log = root / "mlflow-server.log"
    artifacts = root / "artifacts"
    env = {k: v for k, v in env.items() if not k.startswith("MLFLOW_")}
    # MLflow 3 starts seven huey job consumers (GenAI jobs) with a database store,
    # each importing MLflow: CPU the tests never use.
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    cmd = [str(Path(sys.executable).with_name("mlflow")), "server",
           "--backend-store-uri", postgres.url("psycopg"),
           "--artifacts-destination", str(artifacts),
           "--host", HOST, "--port", str(port), "--workers", str(workers),
           # uvicorn kills a worker that misses a 5 s health check; on a busy machine
           # importing MLflow alone takes longer, and the workers die in a loop.
           "--uvicorn-opts", "--timeout-worker-healthcheck 120"]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # its workers share its group
    try:
        uri = f"http://{HOST}:{port}"
        _wait_healthy(uri, proc, log)
        yield MlflowServer(uri=uri, artifacts=artifacts, postgres=postgres, log=log)
    finally:
        stop(proc)
