"""The whole pipeline end to end, as a real Prefect deployment run.

A local Prefect server, ``flows.deploy`` serving the deployment, and
``prefect deployment run`` over a throw-away copy of the project with the tiny
pipeline parameters: synthetic dark videos, ingest, every representation, the
teacher, LIFT-Net, both MEI streams, evaluation and registration. Then the DVC
contracts: a second ``dvc repro`` redoes nothing, and a changed student
parameter reruns only the student and what follows it.

And the work pool route (conf/prefect/work-pool.md), in a minute or so: the
root ``prefect.yaml`` deployed with ``prefect --no-prompt deploy --all``, the
CLI's listings, and a ``process`` worker that runs a one-stage deployment run.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request

import pytest
import yaml

from tests.flows.conftest import prefect_cli
from tests.pipeline_repo import dvc, project_env

REGISTERED = ("har-teacher", "har-lift-net", "har-lift-net-nokd", "har-normal-stream",
              "har-motion-stream", "har-two-stream")


def _ran(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


@pytest.mark.integration
@pytest.mark.slow
def test_deployment_run_completes_the_whole_pipeline(deployed_run) -> None:
    from mlflow.tracking import MlflowClient

    repo, artifact = deployed_run
    # The typed override held for the run (dvc.lock); params.yaml came back as it was.
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    assert lock["stages"]["ingest"]["params"]["params.yaml"]["ingest"]["probe"] == "decode"
    assert "probe: decode" not in (repo / "params.yaml").read_text()
    assert "`ingest.probe` = `'decode'`" in artifact["data"]
    info = json.loads((repo / "data/ingest/dataset.json").read_text())
    assert info["usable"] == 12

    results = json.loads((repo / "metrics/eval.json").read_text())
    assert set(results) == {"teacher", "lift_net_kd", "lift_net_no_kd", "normal", "motion",
                            "two_stream"}
    for row in results.values():
        assert row["videos"] == 4 and 0.0 <= row["top1"] <= row["top5"] <= 1.0
    table = (repo / "reports/eval/results.md").read_text()
    assert "two-stream, fused" in table and "LIFT-Net, distilled (KD)" in table
    assert "LIFT-Net, no KD" in table

    # The flow run's Markdown artifact: the metrics table with links to MLflow runs.
    assert artifact["type"] == "markdown"
    assert "two-stream, fused" in artifact["data"]
    assert re.search(r"\[run\]\(http://127\.0\.0\.1:5000/#/experiments/\d+/runs/\w+\)",
                     artifact["data"])
    assert "| evaluate | ran |" in artifact["data"]

    client = MlflowClient(tracking_uri=f"sqlite:///{repo / 'mlflow.db'}")
    for name in REGISTERED:
        champion = client.get_model_version_by_alias(name, "champion")
        assert str(champion.version) == "1", name
    env = {k: v for k, v in project_env().items() if k != "MLFLOW_TRACKING_URI"}
    listed = subprocess.run([sys.executable, "-m", "components.tracking.champions"], cwd=repo,
                            env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    for name in REGISTERED:
        assert re.search(rf"{name}\s+v1\s+test/top1", listed.stdout), listed.stdout


@pytest.mark.integration
@pytest.mark.slow
def test_repro_redoes_nothing_then_only_what_a_student_change_touches(deployed_run) -> None:
    repo, _ = deployed_run
    again = dvc(repo, "repro")
    assert again.returncode == 0, again.stdout + again.stderr
    # The run's ingest.probe override is gone from params.yaml: ingest alone re-runs, or
    # comes back from DVC's run-cache (its outputs are identical, so nothing after it
    # runs); the lock records the value params.yaml holds again. Then nothing.
    assert _ran(again.stdout) <= {"ingest"}, again.stdout
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    assert lock["stages"]["ingest"]["params"]["params.yaml"]["ingest"]["probe"] == "packets"
    quiet = dvc(repo, "repro")
    assert quiet.returncode == 0 and _ran(quiet.stdout) == set(), quiet.stdout

    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["train_student"]["lr"] = 5.0e-4
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    changed = dvc(repo, "repro")
    assert changed.returncode == 0, changed.stdout + changed.stderr
    # Both LIFT-Net students read train_student (the no-KD one layers its own section
    # over it); the teacher, the streams and the data stages stay put.
    assert _ran(changed.stdout) == {"train_student", "train_student_nokd", "evaluate"}, \
        changed.stdout


POOL_DEPLOYMENT = "har-pipeline/har-pipeline-pool"  # flow name / deployment name in prefect.yaml


@pytest.mark.integration
def test_deploy_from_the_root_and_the_listings_answer(pool_deployment) -> None:
    repo, env, deployed = pool_deployment
    # Exit 0 means the follow-up workers/filter query got through too (422 before the
    # fastapi<0.151 pin, after the deployment had been created).
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert f"Deployment '{POOL_DEPLOYMENT}' successfully created" in deployed.stdout

    deployments = prefect_cli(env, "deployment", "ls")
    assert deployments.returncode == 0, deployments.stdout + deployments.stderr
    assert POOL_DEPLOYMENT in deployments.stdout and "har-process" in deployments.stdout
    flows = prefect_cli(env, "flow", "ls")
    assert flows.returncode == 0, flows.stdout + flows.stderr
    assert "har-pipeline" in flows.stdout

    inspected = prefect_cli(env, "deployment", "inspect", POOL_DEPLOYMENT)
    assert inspected.returncode == 0, inspected.stdout + inspected.stderr
    assert str(repo) in inspected.stdout  # the pull step got $HAR_REPO at deploy time


@pytest.mark.integration
def test_a_process_worker_runs_a_deployment_run(pool_deployment) -> None:
    repo, env, deployed = pool_deployment
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    params = {"dataset_config": None, "stages": ["synth"], "repo": str(repo)}
    created = prefect_cli(env, "deployment", "run", POOL_DEPLOYMENT, "--params",
                          json.dumps(params))
    assert created.returncode == 0, created.stdout + created.stderr
    flow_run_id = re.search(r"UUID:\s*([0-9a-f-]{36})", created.stdout).group(1)

    # --limit makes --run-once wait for the run it submitted before exiting.
    worker = prefect_cli(env, "worker", "start", "--pool", "har-process", "--run-once",
                         "--limit", "1", timeout=600)
    output = worker.stdout + worker.stderr
    assert worker.returncode == 0, output[-6000:]
    with urllib.request.urlopen(f"{env['PREFECT_API_URL']}/flow_runs/{flow_run_id}",
                                timeout=30) as response:
        flow_run = json.loads(response.read())
    assert flow_run["state_type"] == "COMPLETED", output[-6000:]
    assert flow_run["work_pool_name"] == "har-process"
    assert "Running stage 'synth'" in output  # the worker's subprocess ran the stage
    assert sorted((repo / "data/synthetic").rglob("*.mp4")), output[-6000:]
