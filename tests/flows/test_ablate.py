"""`har ablate`: the Prefect flow over DVC experiments, in a copy of the repository."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.pipeline_repo import TINY_PARAMS, copy_project, dvc

RUN_URL = "http://127.0.0.1:5000/#/experiments/"


def commit(repo: Path, message: str = "baseline") -> None:
    """DVC experiments start from a commit; copy_project only runs `git init`."""
    git = ["git", "-c", "user.name=har tests", "-c", "user.email=tests@example.invalid"]
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True, capture_output=True)
    subprocess.run([*git, "commit", "-qm", message], cwd=repo, check=True, capture_output=True)


def read_csv(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["cell"]: row for row in csv.DictReader(handle)}


def latest_artifact(key: str) -> str:
    """The Markdown of the newest Prefect artifact ``key`` (REST API of the harness)."""
    import json
    import urllib.request

    from prefect.settings import PREFECT_API_URL

    request = urllib.request.Request(
        f"{PREFECT_API_URL.value()}/artifacts/filter", method="POST",
        data=json.dumps({"artifacts": {"key": {"any_": [key]}}, "sort": "CREATED_DESC",
                         "limit": 1, "offset": 0}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        found = json.loads(response.read())
    assert found, f"no artifact {key!r}"
    return str(found[0]["data"])


def run_id(url: str) -> str:
    assert url.startswith(RUN_URL), url
    return url.rsplit("/", 1)[-1]


@pytest.mark.integration
def test_failing_cells_are_recorded_and_the_rest_go_on(tmp_path, prefect_harness, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    from flows.ablate import har_ablate

    repo = copy_project(tmp_path / "repo", TINY_PARAMS)
    with pytest.raises(RuntimeError, match="git commit"):
        har_ablate(repo=str(repo))
    commit(repo)
    config = tmp_path / "ablations.yaml"
    config.write_text(yaml.safe_dump({"prefix": "t", "tables": {"mei": {
        "title": "MEI", "columns": ["normal.top1", "two_stream.top1"],
        "cells": [{"name": "bad-key", "label": "no such parameter", "set": {"nosuch.key": 1}},
                  {"name": "bad-section", "label": "no such section",
                   "set": {"train_nothing.model": "x"}}]}}}))

    rows = har_ablate(table="mei", repo=str(repo), config=str(config))

    assert [(r["cell"], r["status"]) for r in rows] == [("bad-key", "failed"),
                                                         ("bad-section", "failed")]
    assert "Could not override 'nosuch.key'" in rows[0]["error"]
    markdown = (repo / "reports/ablation/mei.md").read_text()
    assert markdown.count("**failed**") == 2 and "nosuch.key" in markdown
    assert read_csv(repo / "reports/ablation/mei.csv")["bad-section"]["status"] == "failed"
    assert not (repo / "mlflow.db").exists()  # looking nothing up created no store
    assert "nosuch.key" in latest_artifact("har-ablation-mei")


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_mei_cells_fill_the_table_with_linked_runs(deployed_run, prefect_harness, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    from mlflow.tracking import MlflowClient

    from flows.ablate import har_ablate

    # The tiny pipeline the deployment test ran (every stage up to date) is the baseline.
    repo, _ = deployed_run
    commit(repo)
    params_before = (repo / "params.yaml").read_text()
    lock_before = (repo / "dvc.lock").read_text()

    # baseline: nothing to run (its links come from the workspace's runs);
    # mei-equal: represent_mei, train_normal, train_motion, evaluate run again.
    rows = har_ablate(table="mei", cells=["baseline", "mei-equal"], repo=str(repo))

    by_cell = {r["cell"]: r for r in rows}
    assert by_cell["baseline"]["status"] == "ok", by_cell["baseline"]["error"]
    assert by_cell["mei-equal"]["status"] == "ok", by_cell["mei-equal"]["error"]
    # The workspace is untouched: the experiments ran in temporary clones.
    assert (repo / "params.yaml").read_text() == params_before
    assert (repo / "dvc.lock").read_text() == lock_before

    table = read_csv(repo / "reports/ablation/mei.csv")
    assert {"baseline", "mei-equal"} <= set(table)
    assert table["ensemble"]["status"] == "not run"
    equal = table["mei-equal"]
    assert equal["overrides"] == "represent.mei.method=equal"
    assert equal["experiment"] == "ablate-mei-equal" and equal["exp_rev"]
    stages = set(equal["stages_run"].split())
    assert {"represent_mei", "train_normal", "train_motion", "evaluate"} <= stages
    assert not stages & {"train_teacher", "train_student", "represent_gamma", "show"}
    for row in ("normal", "motion", "two_stream"):
        assert 0.0 <= float(equal[f"{row}.top1"]) <= 1.0
        assert 0.0 <= float(table["baseline"][f"{row}.top1"]) <= 1.0

    client = MlflowClient(tracking_uri=f"sqlite:///{repo / 'mlflow.db'}")
    tags = {column: client.get_run(run_id(equal[f"{column}.run"])).data.tags
            for column in ("normal.top1", "motion.top1", "two_stream.top1")}
    assert tags["normal.top1"]["har.job"] == "train-normal"
    assert tags["motion.top1"]["har.job"] == "train-motion"
    assert tags["two_stream.top1"]["har.job"] == "evaluate"
    assert {t.get("har.dvc_exp") for t in tags.values()} == {"ablate-mei-equal"}
    assert equal["evaluate_run"] == equal["two_stream.top1.run"]
    # The baseline ran nothing: its numbers link to the runs `dvc repro` made.
    base_normal = client.get_run(run_id(table["baseline"]["normal.top1.run"]))
    assert base_normal.data.tags["har.job"] == "train-normal"
    assert "har.dvc_exp" not in base_normal.data.tags
    assert client.get_run(run_id(table["baseline"]["evaluate_run"])).data.tags["har.job"] == \
        "evaluate"

    markdown = (repo / "reports/ablation/mei.md").read_text()
    line = next(x for x in markdown.splitlines() if "`ablate-mei-equal`" in x)
    assert f"]({equal['normal.top1.run']})" in line and "[evaluate](" in line
    assert "ablate-mei-equal" in latest_artifact("har-ablation-mei")
    shown = dvc(repo, "exp", "show", "--json")
    assert "ablate-mei-equal" in shown.stdout


def test_a_failed_experiment_task_gives_its_reason_and_seconds() -> None:
    from prefect.states import Failed

    from components.ablation.experiments import CellFailed
    from flows.ablate import experiment_failure

    assert experiment_failure(Failed(data=CellFailed("train_student: boom", 12.5))) == \
        ("train_student: boom", 12.5)
    assert experiment_failure(Failed(data=ValueError("bad value"))) == ("bad value", 0.0)
    assert experiment_failure(Failed(message="crashed")) == ("crashed", 0.0)
