"""The committed dvc.lock is the one `make demo` writes on a fresh clone: its
parameters are params.yaml's and its stages are dvc.yaml's, so a demo leaves git clean
and `dvc status` has only missing outputs to report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]


def _get(tree: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        tree = tree[part]
    return tree


def test_the_committed_lock_records_the_parameters_params_yaml_holds() -> None:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    lock = yaml.safe_load((REPO / "dvc.lock").read_text())["stages"]
    assert set(lock) == set(stages), "dvc.lock and dvc.yaml name different stages"
    stale = []
    for stage, entry in lock.items():
        for key, value in (entry.get("params") or {}).get("params.yaml", {}).items():
            if _get(params, key) != value:
                stale.append(f"{stage}: {key}")
    assert not stale, ("dvc.lock is stale (run `make demo` in a fresh clone and commit "
                       f"its dvc.lock): {stale}")
