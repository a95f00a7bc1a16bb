"""A two-node Ray cluster on this machine: placement, a lost node, spread tasks.

A head (``ray start --head --num-cpus 1``) and a worker node (``ray start
--address HEAD --num-cpus 1`` with its own temporary folder) make two nodes of
one CPU each, on 127.0.0.1 and free ports (``tests/integration/_ray.py``). Only
``RAY_ADDRESS`` and the token point ``har`` at them, as at any cluster:

* ``har train --num-workers 2`` must put one DDP worker on each node (each has
  one CPU), checkpoint into the shared ``train.storage_path`` and finish;
* ``har represent`` must spread its videos over both nodes and write shards
  byte-identical to a local run's;
* SIGKILL of the worker node's raylet mid-run (a lost machine), then a new
  worker node: the run must restart its workers from the last checkpoint
  (``train.max_failures: 1``) and finish, in bounded time.

What ran where is asked of Ray's State API. The cluster is shared by the module
and stopped at its end by process group and temporary folder, never ``ray stop``.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from components.ray_head import RayHead, start_head, stop_head
from components.training.checkpoint import latest_checkpoint, read_checkpoint_meta
from tests.integration._process import run_logged, stop
from tests.integration._ray import (
    kill_raylet,
    list_state,
    node_env,
    start_worker_node,
    wait_alive_nodes,
)
from tests.integration.conftest import BIN, base_env
from tests.pipeline_repo import TINY_PARAMS, copy_project, dvc

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PARAMS = {
    **TINY_PARAMS,
    "represent": {"workers": 1},  # the reference shards: one local process, no Ray
    # One restart after a lost node; checkpoints kept to be checked after the run.
    "train": {"num_workers": 1, "max_failures": 1, "prune_checkpoints": False},
    "train_motion": {"epochs": 1, "batch_size": 4},
}
TRAIN_TIMEOUT_S = 420
#: Epochs of the run that loses a node: the kill lands after epoch 1's checkpoint.
LONG_EPOCHS = 4


@dataclass
class TwoNodes:
    """The head and the worker nodes started so far (the last worker is the live one).
    They start in the background (while DVC builds the data): call :meth:`ready`."""

    head: RayHead | None = None
    workers: list[RayHead] = field(default_factory=list)
    start_s: float = 0.0
    starting: Future[None] | None = None

    def ready(self) -> TwoNodes:
        """This cluster once both nodes are alive (re-raises a failed start)."""
        assert self.starting is not None
        self.starting.result()
        return self

    @property
    def env(self) -> dict[str, str]:
        assert self.head is not None
        return node_env(self.head, base_env())

    def add_worker(self) -> RayHead:
        assert self.head is not None
        self.workers.append(start_worker_node(self.head, 1, base_env()))
        return self.workers[-1]

    def state(self, what: str, *filters: tuple[str, str, str]) -> list[dict[str, Any]]:
        """Ray's State API: ``list_<what>`` of this cluster (see ``list_state``)."""
        assert self.head is not None
        return list_state(self.head, what, base_env(), list(filters))

    def wait_idle(self, timeout_s: float = 120.0) -> None:
        """Wait until no job's actor is alive and no placement group holds CPUs.

        A run that just ended frees its workers' CPUs (and its group's) some seconds
        after it exits. (Ray Train leaves a detached, CPU-less ``AutoscalingCoordinator``.)
        """
        deadline = time.monotonic() + timeout_s
        while True:
            busy = [*(a for a in self.state("actors", ("state", "=", "ALIVE"))
                      if not a["is_detached"]),
                    *(g for g in self.state("placement_groups") if g["state"] != "REMOVED")]
            if not busy:
                return
            assert time.monotonic() < deadline, f"cluster still busy: {busy}"
            time.sleep(1.0)

    def start(self) -> None:
        started = time.monotonic()
        self.head = start_head(num_cpus=1, env=base_env())
        self.add_worker()
        wait_alive_nodes(self.head, 2, base_env())
        self.start_s = time.monotonic() - started
        print(f"\ntwo-node cluster up in {self.start_s:.1f} s")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project with the tiny dataset and its MEI shards (DVC, no Ray)."""
    repo = copy_project(tmp_path_factory.mktemp("two-nodes") / "repo", PARAMS)
    done = dvc(repo, "repro", "represent_mei")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (repo / "data/represent/mei").is_dir()
    return repo


@pytest.fixture(scope="module")
def cluster() -> Iterator[TwoNodes]:
    """A one-CPU head and a one-CPU worker node, starting; ``ready()`` for them."""
    nodes = TwoNodes()
    with ThreadPoolExecutor(1) as pool:
        nodes.starting = pool.submit(nodes.start)
        try:
            yield nodes
        finally:
            wait([nodes.starting])  # every node it started is listed, then stopped
            for node in [*nodes.workers, *([nodes.head] if nodes.head else [])]:
                stop_head(node)


def _actors(nodes: TwoNodes, class_name: str) -> list[dict[str, Any]]:
    return nodes.state("actors", ("class_name", "=", class_name))


def _alive_node_ids(nodes: TwoNodes) -> set[str]:
    return {n["node_id"] for n in nodes.state("nodes", ("state", "=", "ALIVE"))}


def _run_dirs(repo: Path, before: set[Path]) -> list[Path]:
    """Run folders of ``har train --job motion`` not in ``before`` (not their locks)."""
    return [d for d in (repo / "outputs/ray").glob("motion-*") if d.is_dir() and d not in before]


def _run_dir(repo: Path, before: set[Path]) -> Path:
    new = _run_dirs(repo, before)
    assert len(new) == 1, new
    return new[0]


def _summary(output: str) -> dict[str, Any]:
    return next(json.loads(line) for line in reversed(output.splitlines())
                if line.startswith("{") and '"mlflow_run_id"' in line)


def test_train_places_one_worker_on_each_node_and_checkpoints_to_shared_storage(
        cluster: TwoNodes, repo: Path) -> None:
    cluster.ready().wait_idle()  # started while DVC built the data
    before = {a["actor_id"] for a in _actors(cluster, "RayTrainWorker")}
    runs_before = set(_run_dirs(repo, set()))
    started = time.monotonic()
    code, _, text = run_logged([str(BIN / "har"), "train", "--job", "motion", "--num-workers",
                                "2"], repo, cluster.env, repo / "train-2nodes.log",
                               timeout_s=TRAIN_TIMEOUT_S)
    print(f"\nhar train --num-workers 2 on two nodes: {time.monotonic() - started:.1f} s")
    assert code == 0, text[-6000:]

    # One worker on each node: each has one CPU and a worker takes one.
    workers = [a for a in _actors(cluster, "RayTrainWorker") if a["actor_id"] not in before]
    assert len(workers) == 2, workers
    placed = {a["node_id"] for a in workers}
    assert len(placed) == 2 and placed == _alive_node_ids(cluster), (placed, workers)

    summary = _summary(text)
    assert summary["resumed_after_epoch"] == 0
    assert (repo / "models/motion/model.pt").is_file()
    assert (repo / "metrics/motion.json").is_file()
    # The checkpoints went to the shared storage_path (here a folder both nodes see).
    run_dir = _run_dir(repo, runs_before)
    assert run_dir.name == summary["run"]
    checkpoint = latest_checkpoint(run_dir)
    assert checkpoint is not None and read_checkpoint_meta(checkpoint)["epoch"] == 1


def test_represent_spreads_videos_over_both_nodes_with_identical_shards(
        cluster: TwoNodes, repo: Path) -> None:
    cluster.ready().wait_idle()  # both nodes' CPUs free, as the spread needs
    before = {t["task_id"] for t in cluster.state("tasks", ("type", "=", "NORMAL_TASK"))}
    out = repo / "data/represent-cluster/mei"
    code, _, text = run_logged([str(BIN / "har"), "represent", "--kind", "mei", "--workers",
                                "2", "--out", str(out)], repo, cluster.env,
                               repo / "represent-2nodes.log", timeout_s=300)
    assert code == 0, text[-6000:]

    # One task per video; task events reach the State API a second or so after the end.
    videos = json.loads((repo / "data/represent/mei.json").read_text())["videos"]
    deadline = time.monotonic() + 30
    while True:
        tasks = [t for t in cluster.state("tasks", ("type", "=", "NORMAL_TASK"))
                 if t["task_id"] not in before and t["name"].endswith("task")]
        done = len(tasks) == videos and all(t["state"] == "FINISHED" for t in tasks)
        if done or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert len(tasks) == videos and all(t["state"] == "FINISHED" for t in tasks), tasks
    per_node = Counter(t["node_id"][:8] for t in tasks)
    print(f"\nhar represent on two nodes: videos per node {dict(per_node)}")
    # Videos are dealt to the nodes by their CPUs (components.stages.represent): 1:1 here.
    assert {t["node_id"] for t in tasks} == _alive_node_ids(cluster), per_node

    local = repo / "data/represent/mei"
    files = sorted(p.relative_to(local) for p in local.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    for rel in files:
        assert (out / rel).read_bytes() == (local / rel).read_bytes(), rel


def _latest_epoch(run_dirs: list[Path]) -> int:
    for run_dir in run_dirs:
        latest = latest_checkpoint(run_dir)
        if latest is not None:
            return int(read_checkpoint_meta(latest)["epoch"])
    return 0


def test_losing_the_worker_node_mid_run_restarts_from_the_last_checkpoint(
        cluster: TwoNodes, repo: Path) -> None:
    cluster.ready().wait_idle()
    runs_before = set(_run_dirs(repo, set()))
    log = repo / "train-lost-node.log"
    command = [str(BIN / "har"), "train", "--job", "motion", "--num-workers", "2",
               "--epochs", str(LONG_EPOCHS)]
    with log.open("w") as out:
        proc = subprocess.Popen(command, cwd=repo, env=cluster.env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + TRAIN_TIMEOUT_S
        while _latest_epoch(_run_dirs(repo, runs_before)) < 1:
            assert proc.poll() is None, log.read_text()[-4000:]
            assert time.monotonic() < deadline, "epoch 1 never checkpointed"
            time.sleep(0.1)
        killed_at = time.time()
        kill_raylet(cluster.workers[-1])
        run_dir = _run_dir(repo, runs_before)
        at_kill = _latest_epoch([run_dir])
        assert at_kill < LONG_EPOCHS, "killed too late: the run had finished"
        # A machine comes back: the restarted worker group needs its CPU.
        back = time.monotonic()
        cluster.add_worker()
        print(f"\nnew worker node up {time.monotonic() - back:.1f} s after the kill")
        code = proc.wait(timeout=TRAIN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"har train hung after the node was lost:\n{log.read_text()[-6000:]}")
    finally:
        stop(proc.pid)
    text = log.read_text(errors="replace")
    assert code == 0, text[-6000:]
    print(f"run finished {time.time() - killed_at:.1f} s after the kill")

    # The workers restarted from the checkpoint the kill left: the epochs before it
    # are the ones trained before the kill, the rest were trained after it. An epoch
    # that ended just before the kill may have reached storage just after the count
    # was read (seen on a loaded machine), so the restart point is at_kill or one later.
    history = read_checkpoint_meta(latest_checkpoint(run_dir))["history"]  # type: ignore[arg-type]
    assert [int(h["epoch"]) for h in history] == list(range(1, LONG_EPOCHS + 1))
    before = sum(h["time"] < killed_at for h in history)
    assert all(h["time"] < killed_at for h in history[:before]), (killed_at, history)
    assert at_kill <= before <= at_kill + 1 and before < LONG_EPOCHS, (at_kill, before)
    assert _summary(text)["run"] == run_dir.name
    assert len(_alive_node_ids(cluster)) == 2
