"""Kill ``har train`` during epoch 2, run it again: it resumes after epoch 1.

The real stage runs in a subprocess (2 DDP workers), as in a pipeline run: both
runs join one local Ray head (``components.ray_head``, ``RAY_ADDRESS``) that
outlives them. Once Ray has registered the epoch-1 checkpoint, the stage's whole
process group is killed with SIGKILL: the head gets every CPU back and keeps no
placement group (Ray ends a dead driver's actors). The same command then continues
from that checkpoint on the same head, logs into the same MLflow run, and every
epoch's metrics appear exactly once; afterwards the head is idle again.

The two runs also check the terminal: the first, ``har -v``, shows Ray's own
output; the second, by default, only the stage's lines: one per epoch, no
library chatter, no ANSI codes (its stderr is a pipe, as under Prefect).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from components.ray_head import RayHead, local_ray_head
from components.training.checkpoint import latest_checkpoint, read_checkpoint_meta
from training._data import TinyDataset

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RUNNER = """\
import sys
from components.cli import main
sys.exit(main(sys.argv[1:]))
"""

#: What a default run's stderr must not show: library tracebacks and internals.
NOISE = ("Traceback", "PlacementGroupCleaner", "TrainingReport(", "core_worker",
         "git add", "Token authentication", "\x1b[")
#: Lines a default run's stderr may have: the stage's few INFO lines, one per epoch.
MAX_QUIET_LINES = 10

PARAMS = {
    "train": {"num_workers": 2, "cpus_per_worker": 1, "storage_path": "ray", "max_failures": 0,
              "models_file": None, "experiment": "har-tests",
              "prune_checkpoints": False},  # the history is read from the last checkpoint
    "train_teacher": {"height": 16, "width": 16, "clip_len": 4, "eval_clips": 1, "epochs": 3,
                      "batch_size": 4, "lr": 1e-3},
}


def _latest_epoch(storage: Path) -> int:
    for run_dir in (d for d in storage.glob("teacher-*") if d.is_dir()):  # not the .lock files
        latest = latest_checkpoint(run_dir)
        if latest is not None:
            return int(read_checkpoint_meta(latest)["epoch"])
    return 0


HEAD_CPUS = 2  # the two DDP workers' CPUs
#: Prints the head's free CPUs and its placement groups that are not removed.
USAGE = """\
import json, ray
ray.init(logging_level="ERROR")
groups = [g["state"] for g in ray.util.placement_group_table().values()]
print(json.dumps({"cpus": ray.available_resources().get("CPU", 0),
                  "groups": [s for s in groups if s != "REMOVED"]}))
"""


def _head_idle(head: RayHead, env: dict[str, str], timeout_s: float = 120) -> dict:
    """Wait until ``head`` has all its CPUs free and no live placement group; its usage."""
    deadline = time.monotonic() + timeout_s
    while True:
        done = subprocess.run([sys.executable, "-c", USAGE], env={**env, **head.env},
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        usage = json.loads(done.stdout.strip().splitlines()[-1])
        if (usage["cpus"] == HEAD_CPUS and not usage["groups"]) or time.monotonic() > deadline:
            return usage
        time.sleep(2)


def test_killed_job_resumes_from_epoch_one_and_logs_each_epoch_once(
        tiny_data: TinyDataset, mlflow_store: str, tmp_path: Path) -> None:
    with local_ray_head(num_cpus=HEAD_CPUS) as head:
        _kill_and_resume_on(head, tiny_data, mlflow_store, tmp_path)


def _kill_and_resume_on(head: RayHead, tiny_data: TinyDataset, mlflow_store: str,
                        tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    root = tiny_data.root
    (root / "params.yaml").write_text(yaml.safe_dump(PARAMS))
    runner = tmp_path / "run_train.py"
    runner.write_text(RUNNER)
    command = [sys.executable, str(runner), "train", "--job", "teacher", "--ingest",
               "data/ingest", "--represent", "data/represent"]
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_store, "OMP_NUM_THREADS": "1"}
    for name in ("RAY_ADDRESS", "HAR_VERBOSE", "RAY_COLOR_PREFIX", "MLFLOW_LOGGING_LEVEL"):
        env.pop(name, None)
    env.update(head.env)
    log_path = tmp_path / "first.log"
    with log_path.open("w") as log:
        verbose = [command[0], command[1], "-v", *command[2:]]
        first = subprocess.Popen(verbose, cwd=root, env=env, stdout=log,
                                 stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 600
        try:
            while _latest_epoch(root / "ray") < 1:
                assert first.poll() is None, log_path.read_text()[-3000:]
                assert time.monotonic() < deadline, "epoch 1 never finished"
                time.sleep(0.1)
        finally:
            killed_at = time.time()
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=60)
    assert _latest_epoch(root / "ray") == 1, "killed too late: epoch 2 had finished"
    loud = log_path.read_text()
    port = head.address.rsplit(":", 1)[1]
    assert "Connecting to existing Ray cluster at address: " in loud  # Ray's INFO, with -v
    assert f":{port}" in loud and "Started a local Ray instance" not in loud
    # The killed driver's actors ended and its placement group went: the head is free.
    usage = _head_idle(head, env)
    assert usage == {"cpus": HEAD_CPUS, "groups": []}, usage
    assert "(RayTrainWorker" in loud or "(TrainController" in loud, loud[-3000:]

    second = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True,
                            timeout=900)
    assert second.returncode == 0, (second.stdout + second.stderr)[-4000:]
    summary = json.loads(second.stdout.strip().splitlines()[-1])
    assert summary["resumed_after_epoch"] == 1
    quiet = second.stderr
    assert not [word for word in NOISE if word in quiet], quiet
    assert len(quiet.splitlines()) <= MAX_QUIET_LINES, quiet
    usage = _head_idle(head, env)  # a stage that finished leaves nothing reserved either
    assert usage == {"cpus": HEAD_CPUS, "groups": []}, usage
    epoch_lines = [line for line in quiet.splitlines() if line.startswith("epoch ")]
    assert [line.split("  ")[0] for line in epoch_lines] == ["epoch 2/3", "epoch 3/3"], quiet
    assert all("train loss" in line and "val top-1" in line for line in epoch_lines), quiet

    # Every epoch once in the history, epoch 1 from before the kill, 2 and 3 after it.
    run_dir = next(p for p in (root / "ray").glob("teacher-*") if p.is_dir())  # not its .lock
    history = read_checkpoint_meta(latest_checkpoint(run_dir))["history"]
    assert [int(h["epoch"]) for h in history] == [1, 2, 3]
    assert history[0]["time"] < killed_at < history[1]["time"] < history[2]["time"]
    rows = (root / "plots" / "teacher.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["1", "2", "3"]

    # One MLflow run (the first one, resumed), each epoch's metrics exactly once.
    client = MlflowClient(tracking_uri=mlflow_store)
    experiment = client.get_experiment_by_name("har-tests")
    runs = client.search_runs([experiment.experiment_id])
    assert [r.info.run_id for r in runs] == [summary["mlflow_run_id"]]
    assert runs[0].info.status == "FINISHED"
    for key in ("train/loss", "val/top1"):
        steps = [m.step for m in client.get_metric_history(runs[0].info.run_id, key)]
        assert sorted(steps) == [1, 2, 3], (key, steps)
    shutil.rmtree(root / "ray", ignore_errors=True)
