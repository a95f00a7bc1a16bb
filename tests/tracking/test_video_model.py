"""Video models: logged and registered as MLflow pyfunc models that take video paths,
loaded back from the registry, and served over HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from inference._support import Shards, synthetic_shards, write_untrained
from mlflow.exceptions import MlflowException

from components.data.synthetic import DEFAULT_CLASSES
from components.errors import InputError
from components.inference import VideoPredictor
from components.inference.loading import ModelLoadError
from components.stages.predict import load_video_model
from components.tracking import load_pyfunc, training_run
from components.tracking.video_model import VideoModel, log_video_model, output_columns

from ._support import EXPERIMENT, Tracking

NAME = "har-test-video"
DATASET = {"groups": 2, "clips_per_group": 1, "test_groups": 1, "num_frames": 10,
           "height": 48, "width": 64, "lighting": "daylight", "seed": 5}


@pytest.fixture(scope="module")
def streams(tmp_path_factory: pytest.TempPathFactory) -> tuple[Shards, dict[str, Path]]:
    """A small represented dataset and untrained normal and motion streams over it."""
    root = tmp_path_factory.mktemp("video-model")
    shards = synthetic_shards(root / "data", kinds=("frames", "mei"), **DATASET)
    folders = {job: write_untrained(root / "models" / job, job, shards, seed=i)
               for i, job in enumerate(("normal", "motion"))}
    return shards, folders


def _videos(shards: Shards) -> list[Path]:
    return sorted(shards.videos.glob("*/*.mp4"))


def _log(parts: dict[str, Path], name: str = NAME, **kwargs) -> str:  # noqa: ANN003
    with training_run("video-model", experiment=EXPERIMENT, tags={"har.stage": "test"}):
        version = log_video_model(parts, registered_model_name=name, **kwargs)
    return str(version.version)


def test_a_registered_video_model_predicts_top_labels(tracking: Tracking, streams) -> None:
    shards, folders = streams
    assert _log({"model": folders["motion"]}) == "1"
    model = load_pyfunc(f"models:/{NAME}/1")
    videos = [str(v) for v in _videos(shards)[:3]]
    out = model.predict(pd.DataFrame({"video": videos}))
    classes = DEFAULT_CLASSES
    assert list(out.columns) == output_columns(4)
    assert out["video"].tolist() == videos
    expected = VideoPredictor.from_folders({"m": folders["motion"]})
    for row, video in zip(out.itertuples(index=False), videos, strict=True):
        probs = [getattr(row, f"top{r}_prob") for r in range(1, 5)]
        assert row.label == row.top1_label and row.probability == row.top1_prob
        assert {getattr(row, f"top{r}_label") for r in range(1, 5)} == set(classes)
        assert probs == sorted(probs, reverse=True) and sum(probs) == pytest.approx(1.0)
        assert [p for _, p in expected.top(video, 4)] == pytest.approx(probs, rel=1e-6)
    two = model.predict({"video": [videos[0]]}, params={"top": 2})
    assert list(two.columns) == output_columns(2) and len(two) == 1
    assert two.loc[0, "label"] == out.loc[0, "label"]
    # The Python model itself (no schema in front) also takes a plain list of paths.
    direct = model.unwrap_python_model().predict(None, videos[:2])
    pd.testing.assert_frame_equal(direct, out.iloc[:2])


def test_the_logged_model_carries_its_code_signature_and_weights(tracking: Tracking,
                                                                 streams) -> None:
    from mlflow.models import Model
    from mlflow.tracking.artifact_utils import _download_artifact_from_uri

    shards, folders = streams
    example = _videos(shards)[0]
    _log({"model": folders["motion"]}, example_video=example)
    local = Path(_download_artifact_from_uri(f"models:/{NAME}/1"))
    assert (local / "code" / "components" / "inference" / "predictor.py").is_file()
    assert not list((local / "code").rglob("__pycache__"))
    assert (local / "artifacts" / "model" / "model.pt").is_file()  # named after the part
    assert (local / "artifacts" / "model" / "model.json").is_file()
    meta = Model.load(local)
    assert meta.signature.inputs.input_names() == ["video"]
    assert meta.signature.outputs.input_names() == output_columns(4)
    assert meta.signature.params.to_dict()[0]["name"] == "top"
    assert meta.load_input_example(str(local))["video"].tolist() == [str(example.resolve())]
    version = tracking.client.get_model_version(NAME, "1")
    assert version.tags["har.stage"] == "test"  # the run's har.* tags are copied


def test_two_streams_are_fused_with_their_weights(tracking: Tracking, streams) -> None:
    shards, folders = streams
    _log({"normal": folders["normal"], "motion": folders["motion"]},
         fusion_weights=[1.0, 2.0])
    model = load_pyfunc(f"models:/{NAME}/1")
    video = str(_videos(shards)[1])
    out = model.predict(pd.DataFrame({"video": [video]}), params={"top": 4})
    expected = VideoPredictor.from_folders(folders, weights=[1.0, 2.0]).probabilities(video)
    classes = VideoPredictor.from_folders({"m": folders["motion"]}).classes
    got = {out.loc[0, f"top{r}_label"]: out.loc[0, f"top{r}_prob"] for r in range(1, 5)}
    np.testing.assert_allclose([got[c] for c in classes], expected, rtol=1e-6)
    python_model = model.unwrap_python_model()
    assert isinstance(python_model, VideoModel)
    assert python_model.parts == ("normal", "motion")


def test_a_bad_video_is_named_in_the_error(tracking: Tracking, streams, tmp_path: Path) -> None:
    _, folders = streams
    _log({"model": folders["motion"]})
    model = load_pyfunc(f"models:/{NAME}/1")
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00" * 64)
    for video, reason in ((tmp_path / "missing.mp4", "video file not found"),
                          (bad, "cannot decode")):
        with pytest.raises(MlflowException) as caught:
            model.predict(pd.DataFrame({"video": [str(video)]}))
        assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
        assert f"{video}: {reason}" in caught.value.message
        assert isinstance(caught.value.__cause__, InputError)
    with pytest.raises(MlflowException, match=r"missing inputs \['video'\]"):
        model.predict(pd.DataFrame({"a": ["x"], "b": ["y"]}))
    with pytest.raises(MlflowException, match="positive integer"):
        model.predict({"video": [str(bad)]}, params={"top": 0})


def test_logging_checks_the_folders(tracking: Tracking, streams, tmp_path: Path) -> None:
    _, folders = streams
    with training_run("bad", experiment=EXPERIMENT):
        with pytest.raises(InputError, match="model.json: trained model info not found"):
            log_video_model({"model": tmp_path / "none"}, registered_model_name=NAME)
        with pytest.raises(ValueError, match="fusion weights"):
            log_video_model(folders, registered_model_name=NAME, fusion_weights=[1.0])
    assert tracking.client.search_registered_models() == []


def test_load_video_model_takes_uris_and_folders(tracking: Tracking, streams) -> None:
    shards, folders = streams
    _log({"model": folders["motion"]})
    video = _videos(shards)[0]
    reference = VideoPredictor.from_folders({"m": folders["motion"]}).probabilities(video)
    from_uri = load_video_model(f"models:/{NAME}/1")
    np.testing.assert_allclose(from_uri.probabilities(video), reference, rtol=1e-6)
    from_folder = load_video_model(str(folders["motion"]))
    np.testing.assert_allclose(from_folder.probabilities(video), reference, rtol=1e-6)
    fused = load_video_model(f"{folders['normal']},{folders['motion']}")
    assert list(fused.parts) == ["normal", "motion"]
    with pytest.raises(ModelLoadError, match=f"models:/{NAME}/7: cannot load the model"):
        load_video_model(f"models:/{NAME}/7")
    with pytest.raises(ModelLoadError, match="models:/nothing@champion: cannot load"):
        load_video_model("models:/nothing@champion")
    with pytest.raises(ModelLoadError, match="no such model folder"):
        load_video_model("models/none")


def test_no_store_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with pytest.raises(ModelLoadError, match=r"no MLflow store at .*mlflow\.db"):
        load_video_model("models:/har-lift-net@champion", repo_root=tmp_path)
    assert not (tmp_path / "mlflow.db").exists()


# --------------------------------------------------------------------------- serving


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post(url: str, payload: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _wait_for_ping(url: str, server: subprocess.Popen, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"mlflow models serve exited with {server.returncode}:\n"
                        f"{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"no /ping answer in {timeout_s:.0f} s:\n{log.read_text()[-3000:]}")


def _stop(server: subprocess.Popen) -> None:
    """Stop the server and everything it started (its own process group)."""
    if server.poll() is not None:
        return
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=15)
    except ProcessLookupError:
        pass


@pytest.mark.slow
@pytest.mark.integration
def test_a_served_video_model_answers_over_http(tracking: Tracking, streams, spawn_env,
                                                tmp_path: Path) -> None:
    shards, folders = streams
    _log({"model": folders["motion"]})
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, MLFLOW_TRACKING_URI=tracking.uri,
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "models", "serve", "-m", f"models:/{NAME}/1",
             "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
            env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for_ping(url, server, log, timeout_s=240)
        video = str(_videos(shards)[0])
        status, body = _post(f"{url}/invocations", {"dataframe_records": [{"video": video}]})
        assert status == 200, body
        (row,) = body["predictions"]
        assert row["video"] == video
        assert row["label"] in DEFAULT_CLASSES
        probs = [row[f"top{r}_prob"] for r in range(1, 5)]
        assert row["label"] == row["top1_label"] and 0 < row["probability"] <= 1
        assert sum(probs) <= 1 + 1e-6 and probs == sorted(probs, reverse=True)

        status, body = _post(f"{url}/invocations", {"dataframe_records": [{"video": video}],
                                                    "params": {"top": 2}})
        assert status == 200 and set(body["predictions"][0]) == set(output_columns(2))

        missing = str(tmp_path / "missing.mp4")
        status, body = _post(f"{url}/invocations", {"dataframe_records": [{"video": missing}]})
        assert status == 400, body
        assert f"{missing}: video file not found" in body["message"]
    finally:
        _stop(server)
