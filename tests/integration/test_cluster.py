"""Beyond one machine, by configuration alone.

``har train --job motion`` runs, as a subprocess in a throw-away copy of the
project, against services that live in *other* processes and that it reaches only
through environment variables, exactly as it would reach a real cluster:

* a Ray cluster started with ``ray start --head`` (``RAY_ADDRESS``), with token
  authentication on: ``RAY_AUTH_MODE=token`` and the same ``RAY_AUTH_TOKEN`` for
  the cluster and the driver (``conf/ray/raycluster.yaml`` does it with a Secret);
* an ``mlflow server`` with its own SQLite store and artifact folder
  (``MLFLOW_TRACKING_URI=http://...``; artifacts proxied by the server).

Both are given 127.0.0.1 and free ports and live under temporary folders. Ray
resolves a loopback address to the node's IP and its GCS and raylet listen on
every interface whatever they are told; the token is what keeps strangers out
(checked below). The fixtures stop what they started, by process group and by
the cluster's own temporary folder, never with ``ray stop`` (which stops every
Ray on the machine). The cluster and the server start while DVC builds the data.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from components.ray_head import free_ports
from tests.integration._process import run_logged as _run
from tests.integration._process import stop as _stop
from tests.integration._process import tail as _tail
from tests.pipeline_repo import TINY_PARAMS, copy_project, dvc, project_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BIN = Path(sys.executable).parent
HOST = "127.0.0.1"

#: The tiny dataset, a representation stage without Ray, a two-epoch motion stream.
PARAMS = {
    **TINY_PARAMS,
    "represent": {"workers": 1},  # only training uses the cluster
    "train": {"num_workers": 1, "max_failures": 0},
    "train_motion": {"epochs": 2, "batch_size": 4},
}
EPOCHS = PARAMS["train_motion"]["epochs"]
STARTUP_TIMEOUT_S = 180


# --------------------------------------------------------------------------- Ray


@dataclass(frozen=True)
class RayCluster:
    address: str
    temp_dir: Path
    env: dict[str, str]  # what a client needs besides RAY_ADDRESS: the token settings
    proc: subprocess.Popen
    log: Path

    def wait(self) -> None:
        """Until ``ray start`` returned: the head node is up."""
        try:
            code = self.proc.wait(timeout=STARTUP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"ray start --head still running:\n{_tail(self.log)}")
        if code != 0:
            pytest.fail(f"ray start --head failed ({code}):\n{_tail(self.log)}")

    @property
    def logs(self) -> Path:
        return self.temp_dir / "session_latest" / "logs"


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[RayCluster]:
    """A separate one-node Ray cluster (2 CPUs, token auth), starting; ``wait()`` for it."""
    # Ray's sockets live under the temp dir: keep its path short (AF_UNIX: 107 bytes).
    temp_dir = Path(tempfile.mkdtemp(prefix="har-ray-", dir="/tmp"))
    # Every port free and named (the dashboard's too: 8265 may be another Ray's).
    gcs, agent, agent_grpc, env_agent, metrics, node_manager, object_manager, dashboard = \
        free_ports(8)
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    env = {k: v for k, v in project_env().items()
           if k not in ("RAY_ADDRESS", "RAY_AUTH_TOKEN_PATH")}
    env.update(auth, RAY_USAGE_STATS_ENABLED="0")
    cmd = [
        str(BIN / "ray"), "start", "--head", f"--node-ip-address={HOST}", f"--port={gcs}",
        f"--temp-dir={temp_dir}", "--num-cpus=2", "--num-gpus=0", "--include-dashboard=false",
        f"--dashboard-port={dashboard}",
        "--disable-usage-stats", f"--dashboard-agent-listen-port={agent}",
        f"--dashboard-agent-grpc-port={agent_grpc}", f"--runtime-env-agent-port={env_agent}",
        f"--metrics-export-port={metrics}", f"--node-manager-port={node_manager}",
        f"--object-manager-port={object_manager}",
    ]
    log = temp_dir.with_name(temp_dir.name + ".log")
    # A new session: `ray start` returns once the head is up, and the daemons it
    # leaves behind (GCS, raylet, agents, then the workers) keep its process group.
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=temp_dir, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield RayCluster(address=f"{HOST}:{gcs}", temp_dir=temp_dir, env=auth, proc=proc,
                         log=log)
    finally:
        _stop(proc.pid, marker=str(temp_dir), grace_s=3.0)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        shutil.rmtree(temp_dir, ignore_errors=True)
        log.unlink(missing_ok=True)


# --------------------------------------------------------------------------- MLflow


@dataclass(frozen=True)
class MlflowServer:
    uri: str
    root: Path
    proc: subprocess.Popen
    log: Path

    def wait(self) -> None:
        """Until the server answers ``/health``."""
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"mlflow server exited ({self.proc.returncode}):\n"
                            f"{_tail(self.log)}")
            with contextlib.suppress(OSError), \
                    urllib.request.urlopen(f"{self.uri}/health", timeout=2) as response:
                if response.status == 200:
                    return
            time.sleep(0.5)
        pytest.fail(f"mlflow server not healthy after {STARTUP_TIMEOUT_S} s:\n"
                    f"{_tail(self.log)}")


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """A separate ``mlflow server`` (SQLite store, local artifact folder served by it),
    starting; ``wait()`` for it."""
    root = tmp_path_factory.mktemp("mlflow-server")
    (port,) = free_ports(1)
    log = root / "server.log"
    env = {k: v for k, v in project_env().items() if not k.startswith("MLFLOW_")}
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"  # no huey job consumers: unused here
    cmd = [
        str(BIN / "mlflow"), "server", "--host", HOST, "--port", str(port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination", str(root / "artifacts"), "--serve-artifacts",
    ]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        yield MlflowServer(uri=f"http://{HOST}:{port}", root=root, proc=proc, log=log)
    finally:
        _stop(proc.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


# --------------------------------------------------------------------------- the test


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project with the tiny dataset and its MEI shards (DVC, no Ray)."""
    repo = copy_project(tmp_path_factory.mktemp("repo"), PARAMS)
    done = dvc(repo, "repro", "represent_mei")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (repo / "data/represent/mei").is_dir()
    return repo


# Argument order = set-up order: the cluster and the server start, DVC builds the
# data meanwhile, then the test waits for both.
def test_training_runs_on_a_ray_cluster_and_logs_to_an_mlflow_server(
        ray_cluster: RayCluster, mlflow_server: MlflowServer, repo: Path) -> None:
    from mlflow.tracking import MlflowClient

    ray_cluster.wait()
    mlflow_server.wait()
    base = {k: v for k, v in project_env().items()
            if not k.startswith(("MLFLOW_", "RAY_AUTH_")) and k != "RAY_ADDRESS"}
    base["RAY_USAGE_STATS_ENABLED"] = "0"

    # The cluster really wants the token: a client with a wrong one is turned away.
    wrong = {**base, **ray_cluster.env, "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    code, _, text = _run([str(BIN / "ray"), "status", "--address", ray_cluster.address],
                         repo, wrong, repo / "ray-status.log", timeout_s=60)
    assert code != 0 and "AuthenticationError" in text, text[-3000:]

    # Only configuration differs from a local run: RAY_ADDRESS, the token, the server.
    env = {**base, **ray_cluster.env, "RAY_ADDRESS": ray_cluster.address,
           "MLFLOW_TRACKING_URI": mlflow_server.uri}
    # -v: Ray's own connection lines are hidden by default (issue 12.5)
    code, pid, text = _run([str(BIN / "har"), "-v", "train", "--job", "motion"], repo, env,
                           repo / "train.log", timeout_s=480)
    assert code == 0, text[-6000:]

    # The driver joined the external cluster and started no Ray of its own ...
    port = ray_cluster.address.rsplit(":", 1)[1]
    assert re.search(rf"Connecting to existing Ray cluster at address: \S+:{port}\b", text), \
        text[:3000]
    assert "Started a local Ray instance" not in text
    # ... it registered as a job (driver) of that cluster: its core-worker log, named
    # after the job id and its pid, is in the cluster's session folder ...
    logs = ray_cluster.logs
    drivers = list(logs.glob(f"python-core-driver-*_{pid}.log"))
    assert len(drivers) == 1, sorted(p.name for p in logs.iterdir())
    driver_id = drivers[0].name[len("python-core-driver-"):].rsplit("_", 1)[0]
    # ... and the cluster's raylet ran that job's Train controller and training worker
    # (a worker's log names its job; the driver's worker id starts with the job id).
    actors = "".join(p.read_text(errors="replace") for p in logs.glob("worker-*.out"))
    ran = {name for job, name in re.findall(r":job_id:(\w+)\n:actor_name:(\w+)", actors)
           if driver_id.startswith(job)}
    assert {"TrainController", "RayTrainWorker"} <= ran, (driver_id, actors[-2000:])

    summary = next(json.loads(line) for line in reversed(text.splitlines())
                   if line.startswith("{") and '"mlflow_run_id"' in line)
    client = MlflowClient(tracking_uri=mlflow_server.uri)
    run = client.get_run(summary["mlflow_run_id"])
    assert run.info.status == "FINISHED"
    for metric in ("train/loss", "val/top1"):  # every epoch; the test split once, at the end
        steps = sorted(m.step for m in client.get_metric_history(run.info.run_id, metric))
        assert steps == list(range(1, EPOCHS + 1)), (metric, steps)
    assert "test/top1" in run.data.metrics
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert "figures" in artifacts and "checkpoint" not in artifacts, artifacts
    # Artifacts went through the server into its folder; nothing went to the repo's store.
    assert any((mlflow_server.root / "artifacts").rglob("*.png"))
    assert not (repo / "mlflow.db").exists() and not (repo / "mlartifacts").exists()

    versions = client.search_model_versions("name='har-motion-stream'")
    assert [v.version for v in versions] == [summary["registered_version"]]
    assert versions[0].run_id == run.info.run_id and versions[0].status == "READY"
    assert (repo / "models/motion/model.pt").is_file()
    assert (repo / "metrics/motion.json").is_file()
