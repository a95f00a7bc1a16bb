"""One DVC experiment per configuration, and what it produced: ``har ablate`` and ``har claims``.

An experiment is ``dvc exp run --temp --name NAME -S key=value ... [targets]``: a
temporary clone of the repository (HEAD plus the workspace's uncommitted changes
to tracked files) under ``.dvc/tmp/exps``, so the workspace is left alone; the DVC
cache and run-cache are shared, so only the stages whose parameters the overrides
change run again. DVC names the experiment in ``DVC_EXP_NAME``, and the training
and evaluate runs it starts carry the MLflow tag ``har.dvc_exp=NAME``.

No Prefect here: the flows (``flows/ablate.py``, ``flows/claims.py``) wrap these
functions in tasks.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.ablation.tables import failure_reason

EVAL_METRICS = "metrics/eval.json"
DATASET_METRICS = "data/ingest/dataset.json"
EVAL_RESULTS = "reports/eval/results.csv"
_RAN = re.compile(r"^Running stage '([^']+)'", re.MULTILINE)


class CellFailed(RuntimeError):
    """An experiment failed (the message says why); ``seconds`` it ran."""

    def __init__(self, message: str, seconds: float = 0.0) -> None:
        super().__init__(message)
        self.seconds = seconds


@dataclass(frozen=True)
class ExperimentRun:
    """A finished ``dvc exp run``.

    Attributes:
        name: the experiment's name.
        rev: its git commit.
        entry: its entry of ``dvc exp show --json`` (``data.metrics``, ``data.params``).
        stages_run: stages DVC ran (the rest came from its cache).
        seconds: wall time of ``dvc exp run``.
        since_ms: a time (ms since the epoch) before its first MLflow run started.
    """

    name: str
    rev: str
    entry: dict[str, Any]
    stages_run: tuple[str, ...]
    seconds: float
    since_ms: int

    def metrics(self, path: str) -> dict[str, Any]:
        """The metrics file ``path`` as the experiment left it ({} when absent)."""
        entry = ((self.entry.get("data") or {}).get("metrics") or {}).get(path) or {}
        return dict(entry.get("data") or {})


def dvc_executable() -> str:
    """The dvc executable beside this interpreter (the project's .venv), else PATH's."""
    local = Path(sys.executable).with_name("dvc")
    return str(local) if local.exists() else "dvc"


def experiment_env(tracking_uri: str) -> dict[str, str]:
    """The environment of ``dvc exp run``: this venv first, the store named."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("DVC_NO_ANALYTICS", "1")
    # The experiment runs in a clone under .dvc/tmp/exps, deleted afterwards: the
    # repository's default store (<repo>/mlflow.db) must be named, or the runs
    # would land in the clone's own mlflow.db and vanish with it.
    env["MLFLOW_TRACKING_URI"] = tracking_uri
    env.pop("DVC_EXP_NAME", None)  # set by dvc itself for each experiment
    return env


def _run(args: list[str], repo: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True)


def git_head(repo: str | Path) -> str:
    """HEAD's commit, or "" when the repository has none (dvc exp run needs one)."""
    proc = subprocess.run(["git", "rev-parse", "--verify", "--quiet", "HEAD"], cwd=repo,
                          capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def experiment_repository(repo: str | Path) -> str:
    """``repo`` resolved, once it has a commit ``dvc exp run`` can start from.

    Raises:
        RuntimeError: no commit yet.
    """
    resolved = str(Path(repo).resolve())
    if not git_head(resolved):
        raise RuntimeError(f"{resolved}: dvc exp run needs a git commit to start from "
                           "(git add -A && git commit)")
    return resolved


def in_repository(repo: str, path: str | Path) -> Path:
    """``path`` as given when absolute, else relative to ``repo``."""
    return Path(path) if Path(path).is_absolute() else Path(repo) / path


def find_experiment(repo: str, name: str, env: dict[str, str]) -> dict[str, Any]:
    """The experiment ``name`` of the HEAD baseline in ``dvc exp show --json``."""
    proc = _run([dvc_executable(), "exp", "show", "--json", "--hide-queued"], repo, env)
    if proc.returncode != 0:
        raise CellFailed(f"dvc exp show failed: {failure_reason(proc.stdout + proc.stderr)}")
    for baseline in json.loads(proc.stdout or "[]"):
        for exp in baseline.get("experiments") or []:
            if exp.get("name") == name and exp.get("revs"):
                return dict(exp["revs"][0])
    raise CellFailed(f"experiment {name!r} not found in dvc exp show")


def run_experiment(repo: str, name: str, set_args: Sequence[str], targets: Sequence[str],
                   tracking_uri: str, log: Callable[[str], None] = print) -> ExperimentRun:
    """``dvc exp run --temp --name NAME -S ... targets``, replacing an earlier ``NAME``.

    Raises:
        CellFailed: the experiment failed (the reason DVC or the stage gave).
    """
    env = experiment_env(tracking_uri)
    listed = _run([dvc_executable(), "exp", "list", "--name-only"], repo, env)
    if name in listed.stdout.split():
        # Names are per baseline commit: this configuration ran before on this commit.
        removed = _run([dvc_executable(), "exp", "remove", name], repo, env)
        log(f"replacing experiment {name} ({(removed.stdout + removed.stderr).strip()})")
    cmd = [dvc_executable(), "exp", "run", "--temp", "--name", name]
    for arg in set_args:
        cmd += ["-S", arg]
    cmd += list(targets)
    log(" ".join(cmd[1:]))
    since_ms = int(time.time() * 1000) - 5000
    started = time.monotonic()
    proc = _run(cmd, repo, env)
    seconds = round(time.monotonic() - started, 1)
    output = (proc.stdout + "\n" + proc.stderr).strip()
    for line in output.splitlines()[-30:]:
        log(f"{name} | {line}")
    if proc.returncode != 0:
        raise CellFailed(failure_reason(output), seconds)
    ran = tuple(_RAN.findall(output))
    entry = find_experiment(repo, name, env)
    log(f"{name}: {seconds:.0f} s, ran {', '.join(ran) or 'nothing'}")
    return ExperimentRun(name=name, rev=str(entry["rev"]), entry=entry, stages_run=ran,
                         seconds=seconds, since_ms=since_ms)


def read_at(repo: str, path: str, rev: str) -> str | None:
    """The text of ``path`` (git- or DVC-tracked) at ``rev``; None when it has none."""
    try:
        import dvc.api

        return str(dvc.api.read(path, repo=repo, rev=rev))
    except Exception:  # noqa: BLE001 - DVC raises many kinds for "not there"
        return None


def recorded_links(repo: str, rev: str) -> dict[str, str]:
    """row -> MLflow link, as the experiment's evaluate stage wrote them (results.csv)."""
    text = read_at(repo, EVAL_RESULTS, rev)
    if text is None:  # no file, no links: the table shows bare numbers
        return {}
    return {row["row"]: row.get("mlflow", "") for row in csv.DictReader(io.StringIO(text))
            if row.get("row") and (row.get("mlflow") or "").startswith("http")}
