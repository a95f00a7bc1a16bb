"""The real pipeline: `dvc repro` in a copy of the repository, and the Prefect flow."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import yaml

from flows.stages import PIPELINE, SWEEP, stage_names
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


def test_the_optional_sweep_task_runs_a_stage_of_sweeps_dvc_yaml_after_its_inputs():
    path, _, name = SWEEP.dvc_target.partition(":")
    sweep = yaml.safe_load((REPO_ROOT / path).read_text())["stages"][name]
    assert name == SWEEP.name and "tune" in sweep["cmd"]
    stages = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]
    produced = [str(o) for spec in stages.values() for o in spec.get("outs", [])]
    fed = [dep for dep in sweep["deps"] if any(str(dep).startswith(o) for o in produced)]
    assert fed, "the sweep reads the pipeline's outputs: it runs after the pipeline"


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

    state = har_pipeline(repo=str(repo), stages=DATA_STAGES, return_state=True)
    outcomes = state.result()
    status = {o.name: o.ran for o in outcomes}
    assert [o.name for o in outcomes] == DATA_STAGES
    # Only ingest's parameters moved; its outputs came out identical, so DVC skips
    # every later stage too.
    assert status == {name: name == "ingest" for name in DATA_STAGES}, status
    assert json.loads((repo / "data/ingest/dataset.json").read_text())["usable"] == 12

    # The stages' output is in the flow-run log, line by line, plain: no ANSI codes,
    # no DVC hint to git-add the lock file. Representation stages ran on one Ray
    # head of the flow's, gone with the flow (RAY_ADDRESS unset again).
    messages = _flow_run_messages(state.state_details.flow_run_id, "ingest | ")
    ingest = [m for m in messages if m.startswith("ingest | ")]
    assert any("Running stage 'ingest'" in m for m in ingest), ingest
    assert len(ingest) >= 3, ingest
    assert not [m for m in messages if "\x1b[" in m or "git add" in m], messages
    assert any(m.startswith("Ray stages join the Ray at 127.0.0.1:") for m in messages), messages
    assert "RAY_ADDRESS" not in os.environ


def _flow_run_messages(flow_run_id, wait_for: str, timeout_s: float = 60) -> list[str]:
    """The flow run's log messages (its tasks' included), once one starts with ``wait_for``
    (logs reach the API in batches)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    deadline = time.monotonic() + timeout_s
    with get_client(sync_client=True) as client:
        while True:
            logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
            messages = [log.message for log in logs]
            if any(m.startswith(wait_for) for m in messages) or time.monotonic() > deadline:
                return messages
            time.sleep(1)
