"""The real pipeline: `dvc repro` in a copy of the repository, and the Prefect flow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from flows.stages import PIPELINE, stage_names
from tests.pipeline_repo import REPO_ROOT, copy_project, dvc


def test_flow_order_is_a_topological_order_of_dvc_yaml():
    stages = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]
    stages = {name: spec for name, spec in stages.items() if not spec.get("frozen")}
    assert stage_names() == [s for s in stage_names() if s in stages]
    assert set(stages) == set(stage_names()), "every DVC stage has a Prefect task"
    outs = {name: [str(o) if not isinstance(o, dict) else next(iter(o))
                   for o in spec.get("outs", []) + spec.get("metrics", [])]
            for name, spec in stages.items()}
    position = {name: i for i, name in enumerate(stage_names())}
    for name, spec in stages.items():
        for dep in spec.get("deps", []):
            for producer, produced in outs.items():
                feeds = any(str(dep).startswith(o) or o.startswith(str(dep)) for o in produced)
                if feeds and producer != name and not str(dep).startswith("${"):
                    assert position[producer] < position[name], (producer, name)


# Data and representation stages; the whole pipeline runs end to end (with the
# no-op re-run) in test_deployment.py.
DATA_STAGES = [s.name for s in PIPELINE if not s.name.startswith("train_")
               and s.name != "evaluate"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    return copy_project(tmp_path_factory.mktemp("repo"))


@pytest.mark.integration
@pytest.mark.slow
def test_prefect_flow_runs_stages_as_tasks(repo: Path, prefect_harness):
    from flows.pipeline import har_pipeline

    first = dvc(repo, "repro", *DATA_STAGES)  # up to date before the flow runs
    assert first.returncode == 0, first.stdout + first.stderr
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["ingest"]["probe"] = "decode"
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    outcomes = har_pipeline(repo=str(repo), stages=DATA_STAGES)
    status = {o.name: o.ran for o in outcomes}
    assert [o.name for o in outcomes] == DATA_STAGES
    # Only ingest's parameters moved; its outputs came out identical, so DVC skips
    # every later stage too.
    assert status == {name: name == "ingest" for name in DATA_STAGES}, status
    assert json.loads((repo / "data/ingest/dataset.json").read_text())["usable"] == 12
