"""`har claims`: the papers' claims over DVC experiments, in a copy of the repository."""

from __future__ import annotations

import contextlib
import csv

import pytest
import yaml

from tests.flows.test_ablate import commit, latest_artifact, run_id


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_two_claims_over_two_experiments_with_linked_runs(deployed_run, prefect_harness,
                                                          monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    from mlflow.tracking import MlflowClient

    from flows.claims import har_claims

    # The tiny pipeline the deployment test ran (every stage up to date) is the baseline.
    repo, _ = deployed_run
    commit(repo)
    params_before = (repo / "params.yaml").read_text()
    lock_before = (repo / "dvc.lock").read_text()
    config = tmp_path / "claims.yaml"
    full = yaml.safe_load((repo / "conf/claims.yaml").read_text())
    full["claims"] = [c for c in full["claims"] if c["name"] in ("gradient-mei", "fusion")]
    config.write_text(yaml.safe_dump(full))

    # The experiments' Ray stages join one head the flow starts (each would start its
    # own): record the head and whether Ray workers ran on it before it stops.
    import components.ray_head as ray_head

    heads: list[list[str]] = []
    start_head = ray_head.local_ray_head

    @contextlib.contextmanager
    def recorded_head(*args, **kwargs):
        with start_head(*args, **kwargs) as head:
            yield head
            heads.append([p.name for p in head.temp_dir.rglob("python-core-worker-*")])

    monkeypatch.setattr(ray_head, "local_ray_head", recorded_head)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)

    rows = {r["claim"]: r for r in har_claims(repo=str(repo), config=str(config))}
    assert len(heads) == 1, heads

    # mei-gradient is params.yaml as it is: it shares the baseline's experiment,
    # which ran nothing; mei-equal reproduced only what the motion stream needs.
    assert set(rows) == {"gradient-mei", "fusion"}
    for row in rows.values():
        assert row["verdict"] in ("held", "not held"), row["why"]
        assert 0.0 <= float(row["left_value"]) <= 1.0 and 0.0 <= float(row["right_value"]) <= 1.0
        held = float(row["left_value"]) > float(row["right_value"]) if row["op"] == ">" else \
            float(row["left_value"]) >= float(row["right_value"])
        assert (row["verdict"] == "held") == held
    assert rows["gradient-mei"]["experiments"] == "claim-baseline claim-mei-equal"
    assert rows["fusion"]["right"] in ("baseline/normal.top1", "baseline/motion.top1")
    assert (repo / "params.yaml").read_text() == params_before
    assert (repo / "dvc.lock").read_text() == lock_before

    client = MlflowClient(tracking_uri=f"sqlite:///{repo / 'mlflow.db'}")
    equal_run = client.get_run(run_id(rows["gradient-mei"]["right_run"]))
    assert equal_run.data.tags["har.job"] == "train-motion"
    # The run that trained that model: this experiment's, or, when DVC's run-cache gave
    # the model back, the experiment that first trained it (the ablation's equal-MEI cell).
    assert equal_run.data.tags["har.dvc_exp"] in ("claim-mei-equal", "ablate-mei-equal")
    gradient_run = client.get_run(run_id(rows["gradient-mei"]["left_run"]))
    assert "har.dvc_exp" not in gradient_run.data.tags  # the demo's own model
    assert client.get_run(run_id(rows["fusion"]["left_run"])).data.tags["har.job"] == "evaluate"

    markdown = (repo / "reports/claims/claims.md").read_text()
    line = next(x for x in markdown.splitlines() if x.startswith("| the gradient-MEI"))
    assert f"]({rows['gradient-mei']['left_run']})" in line
    cells = next(x for x in markdown.splitlines() if "`claim-mei-equal`" in x)
    assert "train_normal" not in cells and "evaluate" not in cells  # only what the claim reads
    if equal_run.data.tags["har.dvc_exp"] == "claim-mei-equal":  # it ran, not the run-cache
        assert "represent_mei" in cells and "train_motion" in cells
        assert heads[0], "the stages ran no Ray worker on the flow's head"
    baseline = next(x for x in markdown.splitlines() if "`claim-baseline`" in x)
    assert not any(stage in baseline for stage in ("train_", "evaluate", "represent_mei"))
    with (repo / "reports/claims/claims.csv").open(newline="") as handle:
        assert {r["claim"]: r["verdict"] for r in csv.DictReader(handle)} == \
            {name: row["verdict"] for name, row in rows.items()}
    assert "claim-mei-equal" in latest_artifact("har-claims")
