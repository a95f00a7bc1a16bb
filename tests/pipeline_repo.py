"""A throw-away copy of the repository, for tests that run the real DVC pipeline."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]

TINY_PARAMS = {
    "synth": {"groups": 3, "clips_per_group": 1, "test_groups": 1, "num_frames": 12,
              "height": 48, "width": 64},
}


def project_files(root: Path = REPO_ROOT) -> list[str]:
    """Files git tracks or would track (not ignored): what a fresh clone would hold."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root, check=True, capture_output=True, text=True,
    ).stdout
    return [p for p in out.split("\0") if p and (root / p).is_file()]


def copy_project(dest: Path, params_overrides: dict | None = None) -> Path:
    """Copy the project into ``dest`` as a new git repository, with params overridden."""
    for rel in project_files():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / rel, target)
    params_path = dest / "params.yaml"
    params = yaml.safe_load(params_path.read_text())
    for name, values in (params_overrides or TINY_PARAMS).items():
        params.setdefault(name, {}).update(values)
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))
    (dest / "dvc.lock").unlink(missing_ok=True)
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    return dest


def project_env() -> dict[str, str]:
    """Environment in which `dvc` and `har` resolve to this interpreter's venv."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    env["DVC_NO_ANALYTICS"] = "1"
    return env


def dvc(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("dvc")
    return subprocess.run([str(exe), *args], cwd=repo, env=project_env(), capture_output=True,
                          text=True, timeout=1800)
