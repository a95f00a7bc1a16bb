"""``har tune``: the search space, trial requests, and a real 2-trial sweep."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml
from training._data import TinyDataset
from training._fixtures import TINY_LIFT_KWARGS, settings, write_fake_teacher

from components.jobs.config import StudentConfig
from components.training import DataPaths, TrainRequest, TrialContext
from components.tuning import TuneSettings, search_space, trial_request
from components.tuning.sweep import _concurrency
from components.tuning.sweep_folder import SWEEP_RECORD


def test_settings_refuse_bad_spaces() -> None:
    with pytest.raises(ValueError, match="trainable_vit_blocks"):
        TuneSettings(trainable_vit_blocks=(1, "some"))
    with pytest.raises(ValueError, match="lr"):
        TuneSettings(lr=(1e-3, 1e-5))
    with pytest.raises(ValueError, match="grace_period"):
        TuneSettings(max_epochs=2, grace_period=3)


def test_search_space_follows_the_settings() -> None:
    from ray.tune.search.sample import Categorical, Float

    space = search_space(TuneSettings())
    assert isinstance(space["depth"], Categorical) and space["depth"].categories == [4, 6, 8]
    assert space["trainable_vit_blocks"].categories == [0, 1, "all"]
    assert isinstance(space["lr"], Float)
    assert (space["lr"].lower, space["lr"].upper) == (1e-5, 1e-3)


def test_trial_request_applies_the_trial_values(tmp_path: Path) -> None:
    base = TrainRequest(job="student", config=StudentConfig(lr=1e-3, min_lr=1e-4,
                                                            model_kwargs={"num_heads": 4}),
                        settings=settings(tmp_path))
    trial = TrialContext("parent", "sqlite:///x.db", "abc_00001", str(tmp_path))
    request = trial_request(base, {"depth": 6, "trainable_vit_blocks": "all", "lr": 5e-5}, trial)
    assert request.config.model_kwargs == {"num_heads": 4, "depth": 6,
                                           "trainable_vit_blocks": "all"}
    assert request.config.lr == 5e-5 and request.config.min_lr == 5e-5
    assert request.trial == trial and base.config.lr == 1e-3


def test_concurrency_is_what_the_cpus_hold() -> None:
    assert _concurrency(TuneSettings(num_workers=1, cpus_per_worker=1), 2) == 2
    assert _concurrency(TuneSettings(num_workers=2, cpus_per_worker=1), 2) == 1
    assert _concurrency(TuneSettings(max_concurrent=1), 8) == 1


def test_a_finished_sweep_prunes_every_trial_checkpoint_and_keeps_the_rest(tmp_path) -> None:
    from components.tuning.sweep import prune_trial_checkpoints

    for trial, epochs in (("student-trial-a", 2), ("student-trial-b", 1)):
        for epoch in range(1, epochs + 1):
            folder = tmp_path / trial / f"epoch-{epoch:04d}"
            folder.mkdir(parents=True)
            (folder / "state.pt").write_bytes(b"x" * 100)
        (tmp_path / trial / "har-run.json").write_text("{}")
    assert prune_trial_checkpoints(tmp_path) == (3, 300)
    assert not list(tmp_path.glob("*/epoch-*"))
    assert sorted(p.name for p in tmp_path.glob("*/*")) == ["har-run.json"] * 2
    assert prune_trial_checkpoints(tmp_path / "none") == (0, 0)  # no trials folder


@pytest.mark.integration
@pytest.mark.slow
def test_three_trial_sweep_leaves_three_nested_runs_and_a_best_config(
        tiny_data: TinyDataset, mlflow_store: str, ray_session: None) -> None:
    from mlflow.tracking import MlflowClient

    from components.tuning import run_sweep

    root = tiny_data.root
    write_fake_teacher(root / "models" / "teacher", tiny_data.classes)
    student = StudentConfig(height=16, width=16, clip_len=4, eval_clips=1, batch_size=4,
                            model_kwargs=dict(TINY_LIFT_KWARGS), teacher=Path("models/teacher"))
    tune = TuneSettings(depth=(1, 2), trainable_vit_blocks=(0, 1), lr=(1e-4, 1e-3),
                        num_samples=3, max_epochs=2, grace_period=1, val_fraction=0.25,
                        num_workers=1, cpus_per_worker=1, storage_path=str(root / "tune"))
    out = root / "metrics" / "tune_best.yaml"
    result = run_sweep(tune, student, dataclasses.replace(settings(root)), repo_root=root,
                       data=DataPaths(tiny_data.ingest, tiny_data.represent), out_file=out)

    best = yaml.safe_load(out.read_text())
    assert set(best["best"]) == {"depth", "trainable_vit_blocks", "lr"}
    assert best["best"]["depth"] in (1, 2) and 1e-4 <= best["best"]["lr"] <= 1e-3
    # 3 trials, 2 CPUs: the third was placed once a finished or stopped trial's workers
    # gave their CPU back (a killed Train controller's placement group leaked before).
    assert len(best["trials"]) == 3 and result.best == best["best"]
    assert not any(row["error"] for row in best["trials"]), best["trials"]
    # The finished sweep keeps its trials' folders but none of their epoch checkpoints.
    trial_dirs = [p for p in (root / "tune").glob("sweep-*/trials/*") if p.is_dir()]
    assert len(trial_dirs) == 3 and not list((root / "tune").glob("sweep-*/trials/*/epoch-*"))

    client = MlflowClient(tracking_uri=mlflow_store)
    sweep = client.get_run(result.sweep_run_id)
    children = client.search_runs(
        [sweep.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{result.sweep_run_id}'")
    assert len(children) == 3
    for child in children:
        assert child.data.tags["har.job"] == "tune-trial"
        steps = [m.step for m in client.get_metric_history(child.info.run_id, "val/top1")]
        assert steps and sorted(steps) == list(range(1, len(steps) + 1))  # no lost, no repeated
        # Stopped early by ASHA: KILLED and tagged; every epoch run: FINISHED (never FAILED,
        # however the stop reached the trial).
        if len(steps) < tune.max_epochs:
            assert child.info.status == "KILLED", (child.info.status, steps)
            assert child.data.tags["har.stopped_by"].startswith("asha")
        else:
            assert child.info.status == "FINISHED", (child.info.status, steps)
    assert "best/val/top1" in sweep.data.metrics
    # Both trials fit on the 2 CPUs: they ran at the same time.
    first, second, _ = sorted(children, key=lambda r: r.info.start_time)
    assert second.info.start_time < first.info.end_time
    # The student stage can use the file: its values override train_student's.
    from components.training.driver import apply_tuned_config

    tuned = apply_tuned_config(dataclasses.replace(student, tuned_config=out), root)
    assert tuned.model_kwargs["depth"] == best["best"]["depth"]
    assert tuned.lr == pytest.approx(best["best"]["lr"])

    # Run again as after a kill (the record says unfinished): Tune restores the sweep,
    # keeps the finished trials, and logs into the same MLflow run; nothing reruns.
    (record,) = Path(tune.storage_path).glob(f"sweep-*/{SWEEP_RECORD}")
    assert json.loads(record.read_text()) == {"mlflow_run_id": result.sweep_run_id,
                                              "finished": True}
    record.write_text(json.dumps({"mlflow_run_id": result.sweep_run_id, "finished": False}))
    again = run_sweep(tune, student, dataclasses.replace(settings(root)), repo_root=root,
                      data=DataPaths(tiny_data.ingest, tiny_data.represent), out_file=out)
    assert again.sweep_run_id == result.sweep_run_id
    # The same best score (trials that tie on it may come back in another order).
    assert again.best_metric == pytest.approx(result.best_metric)
    assert again.best in [{k: row[k] for k in ("depth", "trainable_vit_blocks", "lr")}
                          for row in best["trials"]]
    assert len(client.search_runs(
        [sweep.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{result.sweep_run_id}'")) == 3
    assert json.loads(record.read_text())["finished"] is True
