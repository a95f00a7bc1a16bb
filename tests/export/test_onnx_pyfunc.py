"""The registered video model (MLflow pyfunc) runs a part on its ONNX export and
gives PyTorch's probabilities."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pytest
from inference._support import Shards
from training._fixtures import mlflow_store, mlflow_template  # noqa: F401 - fixtures

from components.cli import main
from components.inference import VideoPredictor
from components.inference.onnx_module import OnnxModule
from components.stages.predict import load_video_model
from components.tracking.video_model import log_video_model

NAME = "har-onnx-test"


@pytest.mark.slow
def test_the_pyfunc_model_runs_the_onnx_graph(shards: Shards, folders, tmp_path: Path,
                                              mlflow_store: str) -> None:  # noqa: F811
    onnx_file = tmp_path / "motion.onnx"
    assert main(["export", str(folders["motion"]), "--out", str(onnx_file), "--ingest",
                 str(shards.ingest), "--represent", str(shards.represent), "--clips", "2",
                 "--repeats", "1"]) == 0
    mlflow.set_tracking_uri(mlflow_store)
    with mlflow.start_run():
        log_video_model({"model": folders["motion"]}, registered_model_name=NAME,
                        onnx={"model": onnx_file})

    video = sorted(shards.videos.rglob("*.mp4"))[0]
    expected = VideoPredictor.from_folders({"model": folders["motion"]}).probabilities(video)

    pyfunc = mlflow.pyfunc.load_model(f"models:/{NAME}/1")
    predictor = pyfunc.unwrap_python_model().predictor
    assert isinstance(predictor.parts["model"].model, OnnxModule)
    got = predictor.probabilities(video)
    assert np.abs(got - expected).max() <= 1e-4
    rows = pyfunc.predict({"video": [str(video)]}, params={"top": 2})
    assert rows["probability"].iloc[0] == pytest.approx(float(expected.max()), abs=1e-4)

    # har predict's loader reads the same model_config without running the model's code.
    loaded = load_video_model(f"models:/{NAME}/1")
    assert isinstance(loaded.parts["model"].model, OnnxModule)
    assert np.abs(loaded.probabilities(video) - expected).max() <= 1e-4


def test_an_onnx_file_for_no_part_is_refused(folders, tmp_path: Path,
                                             mlflow_store: str) -> None:  # noqa: F811
    (tmp_path / "m.onnx").write_bytes(b"")
    with pytest.raises(ValueError, match="onnx names part 'normal'"):
        log_video_model({"model": folders["motion"]}, registered_model_name=NAME,
                        onnx={"normal": tmp_path / "m.onnx"})
