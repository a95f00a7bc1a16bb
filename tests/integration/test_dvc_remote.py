"""A DVC remote round trip, as docs/scale-out.md tells an operator to do it.

The repository in which ``dvc repro train_motion`` ran pushes its outputs to a local
folder remote; a ``git clone`` of it (another machine, in effect) pulls them, finds
the pipeline up to date, reproduces nothing, and predicts with the pulled model.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.conftest import BIN, TrainedRepo, base_env, class_names, some_video

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STAGE = "train_motion"


def _run(cwd: Path, *cmd: str, timeout: float = 900) -> tuple[str, float]:
    """(stdout + stderr, seconds) of a command that must succeed."""
    started = time.monotonic()
    done = subprocess.run(list(cmd), cwd=cwd, env=base_env(), capture_output=True, text=True,
                          timeout=timeout)
    elapsed = time.monotonic() - started
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(cmd)}:\n{output[-4000:]}"
    return output, elapsed


def _files(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file())


def test_push_clone_pull_reproduces_nothing_and_predicts(
        motion_repo: TrainedRepo, tmp_path: Path) -> None:
    dvc, git = str(BIN / "dvc"), "git"
    repo, remote, clone = motion_repo.path, tmp_path / "remote", tmp_path / "clone"
    _run(repo, dvc, "remote", "add", "-d", "local", str(remote))
    _run(repo, git, "add", "-A")
    _run(repo, git, "-c", "user.name=har", "-c", "user.email=har@localhost", "commit", "-q",
         "-m", "tiny pipeline, outputs in the local remote")
    _, push_s = _run(repo, dvc, "push")
    pushed = _files(remote)
    assert pushed > 0

    _run(tmp_path, git, "clone", "-q", str(repo), str(clone))
    assert not (clone / "models/motion").exists()  # git carries only the .dvc metadata
    # Only the stages up to STAGE ever ran: a bare `dvc pull` would fail on the outputs
    # of the others ("Checkout failed ... Is your cache up to date?"), so name them.
    _, pull_s = _run(clone, dvc, "pull", STAGE, "--with-deps")
    for out in ("data/synthetic", "data/represent/mei", "models/motion"):
        assert (clone / out).is_dir(), out

    status, _ = _run(clone, dvc, "status", STAGE, "--with-deps")
    assert "up to date" in status, status
    # Scoped like the pull: the committed lock files also name outputs of stages this
    # tiny repository never ran (sweeps/dvc.lock's tune_best.yaml), absent from any remote.
    cloud, _ = _run(clone, dvc, "status", "--cloud", STAGE, "--with-deps")
    assert "in sync" in cloud, cloud
    repro, _ = _run(clone, dvc, "repro", STAGE)
    assert "Running stage" not in repro and "didn't change, skipping" in repro, repro
    assert "up to date" in repro, repro

    # The pulled model folder serves without any MLflow store.
    done = subprocess.run(
        [str(BIN / "har"), "predict", str(some_video(clone)), "--model", "models/motion",
         "--json"], cwd=clone, env=base_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr[-4000:]
    [prediction] = json.loads(done.stdout[done.stdout.index("{"):])["predictions"]
    assert prediction["label"] in class_names(clone)
    print(f"\ndvc push {push_s:.1f} s ({pushed} files), dvc pull {pull_s:.1f} s; "
          f"dvc repro {STAGE} in the source repo {motion_repo.repro_s:.1f} s")
