from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.flows._servers import free_port, stop, wait_healthy
from tests.pipeline_repo import TINY_PIPELINE_PARAMS, copy_project, project_env


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect API server (SQLite) for the whole test session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def _artifact(api: str, key: str) -> dict:
    request = urllib.request.Request(
        f"{api}/artifacts/filter", method="POST",
        data=json.dumps({"artifacts": {"key": {"any_": [key]}}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        artifacts = json.loads(response.read())
    assert artifacts, f"no artifact {key!r}"
    return artifacts[0]


@pytest.fixture(scope="session")
def deployed_run(tmp_path_factory) -> tuple[Path, dict]:
    """Run the whole tiny pipeline through a real deployment run; (repo, its results
    artifact). Session-scoped: the end-to-end, no-op and ablation tests share it."""
    tmp_path = tmp_path_factory.mktemp("deployment")
    repo = copy_project(tmp_path / "repo", TINY_PIPELINE_PARAMS)
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = project_env() | {
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "INFO",
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    env.pop("PREFECT_PROFILES_PATH", None)
    env.pop("MLFLOW_TRACKING_URI", None)  # the repo's own SQLite store
    env.pop("RAY_ADDRESS", None)
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
        wait_healthy(f"{api}/health", server)
        serve = subprocess.Popen(
            [sys.executable, "-m", "flows.deploy", "--name", "test"], env=env,
            stdout=(logs / "serve.log").open("w"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        params = {"repo": str(repo), "overrides": {"ingest.probe": "decode"}}
        deadline = time.monotonic() + 120
        while True:  # the deployment exists once serve has registered it
            run = subprocess.run(
                [str(bin_dir / "prefect"), "deployment", "run", "har-pipeline/test",
                 "--params", json.dumps(params), "--watch", "--watch-timeout", "1500"],
                env=env, capture_output=True, text=True, timeout=1600,
            )
            if run.returncode == 0 or "not found" not in (run.stdout + run.stderr).lower():
                break
            assert time.monotonic() < deadline, run.stdout + run.stderr
            time.sleep(2)
        output = run.stdout + run.stderr
        assert run.returncode == 0, output + (logs / "serve.log").read_text()[-6000:]
        assert "Completed" in output
        yield repo, _artifact(api, "har-pipeline-results")
    finally:
        stop(serve)
        stop(server)


def prefect_cli(env: dict[str, str], *args: str, cwd: Path | None = None,
                timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the ``prefect`` CLI of this interpreter's venv; stdout and stderr captured."""
    prefect = Path(sys.executable).with_name("prefect")
    return subprocess.run([str(prefect), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="session")
def pool_deployment(tmp_path_factory) -> tuple[Path, dict[str, str], subprocess.CompletedProcess]:
    """The root ``prefect.yaml`` deployed the way conf/prefect/work-pool.md says, into a
    fresh local server: (repo copy, env pointing at the server, ``prefect deploy``'s
    result). The repo copy has the tiny synth parameters."""
    from tests.flows._servers import prefect_server

    root = tmp_path_factory.mktemp("work-pool")
    repo = copy_project(root / "repo")
    env = project_env() | {"RAY_USAGE_STATS_ENABLED": "0", "HAR_REPO": str(repo),
                           "COLUMNS": "250"}  # rich tables: names not cut short
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("RAY_ADDRESS", None)
    with prefect_server(root, env) as env:
        pool = prefect_cli(env, "work-pool", "create", "har-process", "--type", "process")
        assert pool.returncode == 0, pool.stdout + pool.stderr
        deployed = prefect_cli(env, "--no-prompt", "deploy", "--all", cwd=repo)
        yield repo, env, deployed
