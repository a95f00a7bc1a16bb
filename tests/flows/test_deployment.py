"""The whole pipeline end to end, as a real Prefect deployment run.

A local Prefect server, ``flows.deploy`` serving the deployment, and
``prefect deployment run`` over a throw-away copy of the project with the tiny
pipeline parameters: synthetic dark videos, ingest, every representation, the
teacher, LIFT-Net, both MEI streams, evaluation and registration. Then the DVC
contracts: a second ``dvc repro`` redoes nothing, and a changed student
parameter reruns only the student and what follows it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import yaml

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
    assert "probe: decode" in (repo / "params.yaml").read_text()  # typed overrides applied
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
    assert _ran(again.stdout) == set(), again.stdout

    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["train_student"]["lr"] = 5.0e-4
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    changed = dvc(repo, "repro")
    assert changed.returncode == 0, changed.stdout + changed.stderr
    # Both LIFT-Net students read train_student (the no-KD one layers its own section
    # over it); the teacher, the streams and the data stages stay put.
    assert _ran(changed.stdout) == {"train_student", "train_student_nokd", "evaluate"}, \
        changed.stdout
