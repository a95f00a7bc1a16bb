"""The ``-S`` arguments :func:`set_params` writes, as ``dvc exp run`` reads them: a new
key of an open mapping is added; a missing key anywhere else is refused."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from components.ablation import set_params
from tests.pipeline_repo import dvc

pytestmark = pytest.mark.integration

PARAMS = {"train_student": {"epochs": 2, "model_kwargs": {}}}
STAGE = {"stages": {"show": {
    "cmd": "python -c \"import shutil; shutil.copy('params.yaml', 'seen.yaml')\"",
    "params": ["train_student"], "outs": ["seen.yaml"]}}}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(PARAMS))
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(STAGE))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost"]
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    assert dvc(tmp_path, "init", "-q").returncode == 0
    subprocess.run(git + ["add", "-A"], cwd=tmp_path, check=True)
    subprocess.run(git + ["commit", "-qm", "tiny"], cwd=tmp_path, check=True)
    return tmp_path


def test_dvc_adds_a_model_kwarg_and_refuses_a_typo(repo: Path) -> None:
    args = set_params({"train_student.model_kwargs.depth": 8, "train_student.epochs": 3},
                      params=PARAMS)
    done = dvc(repo, "exp", "run", *[a for arg in args for a in ("-S", arg)])
    assert done.returncode == 0, done.stdout + done.stderr
    seen = yaml.safe_load((repo / "seen.yaml").read_text())
    assert seen["train_student"] == {"epochs": 3, "model_kwargs": {"depth": 8}}

    [typo] = set_params({"train_student.epochz": 3}, params=PARAMS)
    refused = dvc(repo, "exp", "run", "-S", typo)
    assert refused.returncode != 0
    assert "Could not override 'train_student.epochz'" in refused.stdout + refused.stderr
