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

_TINY_SIZE = {"height": 32, "width": 32}
_TINY_CLIPS = {**_TINY_SIZE, "clip_len": 4, "stride": 1, "eval_clips": 1, "epochs": 1,
               "batch_size": 4}
#: The whole pipeline in minutes: 12 videos of 12 frames, 32x32, one epoch per model.
TINY_PIPELINE_PARAMS = {
    **TINY_PARAMS,
    "represent": {**_TINY_SIZE, "mei": {"n": 4, "interval": 4, "method": "gradient"},
                  "rank": {"window": 4, "stride": 4}},
    "train_teacher": dict(_TINY_CLIPS),
    "train_student": {**_TINY_CLIPS, "model_kwargs": {
        "vit_name": "vit_tiny_patch16_224", "vit_blocks": 2, "trainable_vit_blocks": 1,
        "depth": 1, "embed_dim": 32, "num_heads": 2,
        "vit_kwargs": {"embed_dim": 32, "num_heads": 2}}},
    "train_normal": {**_TINY_SIZE, "epochs": 1, "batch_size": 4},
    "train_motion": {**_TINY_SIZE, "epochs": 1, "batch_size": 4},
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
