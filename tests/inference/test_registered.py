"""A trained job is registered as a video model that predicts what its folder predicts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from components.inference import VideoPredictor, load_trained
from components.stages.predict import load_video_model
from components.tracking import setup_tracking, training_run
from components.training import OutputPaths
from components.training.finish import _log_and_register, _model_info
from inference._support import Shards, job_config, prepare

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _registered_info(uri: str) -> dict:
    from mlflow.tracking.artifact_utils import _download_artifact_from_uri

    local = Path(_download_artifact_from_uri(uri))
    return json.loads((local / "artifacts" / "model" / "model.json").read_text())


def test_training_registers_a_video_model(shards: Shards, trained, mlflow_store: str) -> None:
    setup_tracking(shards.root, "har-tests")
    prepared = prepare("motion", shards, job_config("motion"))
    state = {"model": torch.load(trained["motion"] / "model.pt", weights_only=True)}
    with training_run("register", experiment="har-tests"):
        version, decision = _log_and_register(prepared, state, {"top1": 0.5})
    assert version == "1" and decision.promoted
    uri = "models:/har-motion-stream@champion"
    info = _registered_info(uri)
    assert info == json.loads(json.dumps(_model_info(prepared)))  # no outputs: written here
    video = next(shards.videos.glob("Fall/*.mp4"))
    registered = load_video_model(uri)
    reference = VideoPredictor({"model": load_trained(trained["motion"])})
    np.testing.assert_allclose(registered.probabilities(video), reference.probabilities(video),
                               rtol=1e-6)


def test_the_dvc_output_folder_is_what_gets_registered(shards: Shards, trained,
                                                       mlflow_store: str,
                                                       tmp_path: Path) -> None:
    setup_tracking(shards.root, "har-tests")
    outputs = OutputPaths(models=tmp_path / "models", metrics=tmp_path / "m",
                          plots=tmp_path / "p")
    prepared = prepare("motion", shards, job_config("motion"), outputs=outputs)
    folder = shutil.copytree(trained["motion"], tmp_path / "models" / "motion")
    written = {**_model_info(prepared), "written_by": "_write_outputs"}
    (folder / "model.json").write_text(json.dumps(written))
    state = {"model": torch.load(folder / "model.pt", weights_only=True)}
    with training_run("register", experiment="har-tests"):
        _log_and_register(prepared, state, {"top1": 0.5})
        # A folder of another run (another fingerprint) is not reused.
        (folder / "model.json").write_text(json.dumps({**written, "fingerprint": "other"}))
        _log_and_register(prepared, state, {"top1": 0.4})
    assert _registered_info("models:/har-motion-stream/1")["written_by"] == "_write_outputs"
    assert "written_by" not in _registered_info("models:/har-motion-stream/2")
