"""Finding a DVC experiment's MLflow runs by tag (components/tracking/lookup.py)."""

from __future__ import annotations

import time

import pytest
from mlflow.tracking import MlflowClient

from components.tracking.lookup import (
    TAG_DVC_EXP,
    dvc_experiment_runs,
    run_link,
    runs_tagged,
)


@pytest.fixture
def store(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    experiments = [client.create_experiment(n, artifact_location=(tmp_path / n).as_uri())
                   for n in ("har", "other")]

    def run(experiment: int, job: str, exp: str | None, status: str = "FINISHED") -> str:
        tags = {"har.job": job, **({TAG_DVC_EXP: exp} if exp else {})}
        created = client.create_run(experiments[experiment], tags=tags)
        client.set_terminated(created.info.run_id, status)
        time.sleep(0.01)  # distinct start times
        return created.info.run_id

    return uri, run


def test_newest_finished_run_of_each_job(store):
    uri, run = store
    old_eval = run(0, "evaluate", "ablate-a")
    normal = run(0, "train-normal", "ablate-a")
    run(0, "train-motion", "ablate-a", status="FAILED")
    new_eval = run(1, "evaluate", "ablate-a")  # other experiments are searched too
    run(0, "evaluate", "ablate-b")
    run(0, "evaluate", None)

    found = runs_tagged(TAG_DVC_EXP, "ablate-a", tracking_uri=uri)
    assert [r.run_id for r in found] == [new_eval, normal, old_eval]
    newest = dvc_experiment_runs("ablate-a", tracking_uri=uri)
    assert set(newest) == {"evaluate", "train-normal"}  # the failed run is left out
    assert newest["evaluate"].run_id == new_eval
    assert newest["evaluate"].url.startswith("http://127.0.0.1:5000/#/experiments/")
    assert newest["evaluate"].url.endswith(f"/runs/{new_eval}")
    assert run_link(new_eval, tracking_uri=uri) == newest["evaluate"].url
    later = dvc_experiment_runs("ablate-a", tracking_uri=uri,
                                since_ms=newest["evaluate"].start_time + 1)
    assert later == {}
    assert runs_tagged(TAG_DVC_EXP, "it's", tracking_uri=uri) == []  # quoting


def test_missing_store_or_run(tmp_path, store):
    uri, _ = store
    assert run_link("0" * 32, tracking_uri=uri) == ""
    absent = f"sqlite:///{tmp_path / 'none' / 'mlflow.db'}"
    assert runs_tagged(TAG_DVC_EXP, "x", tracking_uri=absent) == []
    assert run_link("abc", tracking_uri=absent) == ""
    assert not (tmp_path / "none" / "mlflow.db").exists()
