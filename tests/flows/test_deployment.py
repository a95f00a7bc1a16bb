"""A real deployment run: a local Prefect server, `flow.serve`, `prefect deployment run`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.pipeline_repo import copy_project, project_env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prefect server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"{url} not healthy after {timeout_s} s")


@pytest.mark.integration
@pytest.mark.slow
def test_deployment_run_completes_the_pipeline(tmp_path: Path):
    repo = copy_project(tmp_path / "repo")
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = project_env() | {
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "INFO",
    }
    env.pop("PREFECT_PROFILES_PATH", None)
    bin_dir = Path(sys.executable).parent
    logs = tmp_path / "logs"
    logs.mkdir()
    server = subprocess.Popen(
        [str(bin_dir / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=(logs / "server.log").open("w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    serve = None
    try:
        _wait_healthy(f"{api}/health", server)
        serve = subprocess.Popen(
            [sys.executable, "-m", "flows.deploy", "--name", "test"], env=env,
            stdout=(logs / "serve.log").open("w"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        params = {"repo": str(repo), "stages": ["synth", "ingest"],
                  "overrides": {"ingest.probe": "decode"}}
        deadline = time.monotonic() + 120
        while True:  # the deployment exists once serve has registered it
            run = subprocess.run(
                [str(bin_dir / "prefect"), "deployment", "run", "har-pipeline/test",
                 "--params", json.dumps(params), "--watch", "--watch-timeout", "900"],
                env=env, capture_output=True, text=True, timeout=1000,
            )
            if run.returncode == 0 or "not found" not in (run.stdout + run.stderr).lower():
                break
            assert time.monotonic() < deadline, run.stdout + run.stderr
            time.sleep(2)
        output = run.stdout + run.stderr
        assert run.returncode == 0, output + (logs / "serve.log").read_text()[-3000:]
        assert "Completed" in output
        info = json.loads((repo / "data/ingest/dataset.json").read_text())
        assert info["usable"] == 12
        assert "probe: decode" in (repo / "params.yaml").read_text()
        request = urllib.request.Request(
            f"{api}/artifacts/filter", method="POST",
            data=json.dumps({"artifacts": {"key": {"any_": ["har-pipeline-stages"]}}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            artifacts = json.loads(response.read())
        assert artifacts and artifacts[0]["type"] == "markdown"
        assert "| ingest | ran |" in artifacts[0]["data"]
    finally:
        for proc in (serve, server):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, 15)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, 9)
