"""`har predict` from a model folder imports no MLflow (nor Ray, Prefect, pandas):
checked in a fresh interpreter, where sys.modules says what the command imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from components.inference.loading import is_local_folder
from inference._support import Shards

#: Heavy modules the local predict path has no use for.
NOT_NEEDED = ("mlflow", "ray", "prefect", "pandas", "matplotlib")

#: Runs `har predict` in this interpreter, then prints the top-level packages it imported.
_PROBE = """
import json, sys
from components.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "packages": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def _predict_in_fresh_process(args: list[str], cwd: Path) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run([sys.executable, "-c", _PROBE, "predict", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {"code": result["code"],
            "imported": [m for m in NOT_NEEDED if m in result["packages"]]}


def test_predict_from_a_folder_imports_no_mlflow(shards: Shards, trained,
                                                 tmp_path: Path) -> None:
    video = next(shards.videos.glob("Fall/*.mp4"))
    result = _predict_in_fresh_process([str(video), "--model", str(trained["motion"]),
                                        "--top", "1"], cwd=tmp_path)
    assert result == {"code": 0, "imported": []}


def test_folders_and_uris_are_told_apart() -> None:
    assert is_local_folder("models/student")
    assert is_local_folder("models/normal,models/motion")
    assert not is_local_folder("models:/har-lift-net@champion")
    assert not is_local_folder("runs:/abc/model")
    assert not is_local_folder("file:///tmp/model")


def test_a_uri_is_not_a_model_folder() -> None:
    import pytest

    from components.inference.loading import ModelLoadError, load_model_folder

    with pytest.raises(ModelLoadError, match="a model URI, not a folder"):
        load_model_folder("models:/har-lift-net@champion")
