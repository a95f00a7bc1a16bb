"""Damaged model files: a truncated, foreign or tampered ``model.pt`` or ``state.pt`` is
refused with a message that names the file, and loading never runs code from it."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
from inference._support import Shards, synthetic_shards, write_untrained

from components.cli import main
from components.errors import InputError
from components.models.weights import load_torch_file


class _RunsACommand:
    """What a crafted pickle holds: unpickling it would create ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (Path.touch, (self.marker,))


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> Shards:
    return synthetic_shards(tmp_path_factory.mktemp("damaged"), kinds=("mei",), groups=2,
                            clips_per_group=1, test_groups=1, num_frames=12)


@pytest.fixture
def model_folder(shards: Shards, tmp_path: Path) -> Path:
    return write_untrained(tmp_path / "motion", "motion", shards)


def _predict(shards: Shards, folder: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    video = next(shards.videos.glob("*/*.mp4"))
    code = main(["predict", str(video), "--model", str(folder)])
    return code, capsys.readouterr().err


def test_a_truncated_model_file_names_the_file(shards: Shards, model_folder: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    weights = model_folder / "model.pt"
    weights.write_bytes(weights.read_bytes()[:200])
    code, err = _predict(shards, model_folder, capsys)
    assert code == 2 and str(weights) in err and "damaged" in err, err
    assert "Traceback" not in err


def test_a_crafted_pickle_is_refused_and_never_run(shards: Shards, model_folder: Path,
                                                   tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    marker = tmp_path / "ran"
    weights = model_folder / "model.pt"
    torch.save({"weight": _RunsACommand(marker)}, weights, pickle_module=pickle)
    code, err = _predict(shards, model_folder, capsys)
    assert code == 2 and str(weights) in err and "nothing was executed" in err, err
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"", b"not a zip file at all", b"PK\x03\x04broken"])
def test_foreign_or_damaged_checkpoint_state_is_an_input_error(tmp_path: Path,
                                                               content: bytes) -> None:
    state = tmp_path / "state.pt"
    state.write_bytes(content)
    with pytest.raises(InputError, match="checkpoint state is damaged") as caught:
        load_torch_file(state, "checkpoint state")
    assert caught.value.path == state


def test_a_missing_file_says_what_it_should_be(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="trained weights not found"):
        load_torch_file(tmp_path / "model.pt", "trained weights")


def _logged_model_folder(root: Path, trained: Path, flavor: dict) -> Path:
    """A pyfunc model folder as MLflow lays one out, holding ``trained`` as part 'model'."""
    import shutil

    import yaml

    shutil.copytree(trained, root / "artifacts" / "model")
    flavor = {"loader_module": "mlflow.pyfunc.model", "code": "code",
              "artifacts": {"model": {"path": "artifacts/model", "uri": str(trained)}}, **flavor}
    (root / "MLmodel").write_text(yaml.safe_dump({"flavors": {"python_function": flavor}}))
    return root


def test_a_pickled_pyfunc_model_is_refused_and_never_unpickled(
        shards: Shards, model_folder: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    marker = tmp_path / "ran"
    folder = _logged_model_folder(tmp_path / "pickled", model_folder,
                                  {"python_model": "python_model.pkl"})
    (folder / "python_model.pkl").write_bytes(pickle.dumps(_RunsACommand(marker)))
    code, err = _predict(shards, folder, capsys)
    assert code != 0 and "a pickled pyfunc model (python_model.pkl)" in err, err
    assert not marker.exists()


def test_the_code_inside_a_logged_model_is_never_run_by_predict(
        shards: Shards, model_folder: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    marker = tmp_path / "ran"
    folder = _logged_model_folder(
        tmp_path / "from-code", model_folder,
        {"model_code_path": "video_model_code.py", "config": {"parts": ["model"]}})
    (folder / "video_model_code.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).touch()\n")
    code, err = _predict(shards, folder, capsys)
    assert code == 0, err  # the weights, read weights-only, are all har needs
    assert not marker.exists()
    escape = _logged_model_folder(
        tmp_path / "escape", model_folder,
        {"model_code_path": "video_model_code.py", "config": {"parts": ["model"]},
         "artifacts": {"model": {"path": "../from-code/artifacts/model"}}})
    code, err = _predict(shards, escape, capsys)
    assert code != 0 and "has no artifact folder inside" in err, err
