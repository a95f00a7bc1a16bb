"""A video predictor from a model folder or an MLflow model URI, for ``har predict``.

A trained model folder (``models/student``), folders joined by commas and a logged
model folder (with an ``MLmodel`` file) load without importing MLflow: a cold
``har predict --model models/<job>`` then pays for torch and the model alone
(MLflow's import is about as long as torch's). Only ``models:/`` and ``runs:/``
URIs import MLflow, to resolve the alias and download the model's files.

Nothing that came with a model runs here: the ``MLmodel`` file is read as safe YAML
and the weights weights-only, so a crafted model folder or registry entry cannot
run a command on the machine that loads it (the served pyfunc model,
:class:`components.tracking.video_model.VideoModel`, runs the same predictor).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from components.errors import HarError
from components.inference.predictor import VideoPredictor

#: A part's ONNX export inside its artifact folder (``log_video_model(onnx=...)``).
ONNX_FILE = "model.onnx"
#: The models-from-code file every har video model is logged with
#: (``components/tracking/video_model_code.py``); a logged model naming another is refused.
MODEL_CODE_NAME = "video_model_code.py"


class ModelLoadError(HarError):
    """A model URI or folder that does not give a video model (the message names it)."""


def is_local_folder(model: str) -> bool:
    """True for a folder (or folders joined by commas), False for a ``scheme:/`` URI."""
    return "://" not in model and ":/" not in model


def use_onnx_parts(predictor: VideoPredictor, parts: Any, folders: Mapping[str, Path]) -> None:
    """Run the parts ``model_config["onnx"]`` lists on their :data:`ONNX_FILE`.

    Raises:
        ModelLoadError: a listed part without its ONNX file.
    """
    if not parts:
        return
    from components.export.onnx_module import use_onnx

    try:
        use_onnx(predictor, {str(p): folders[str(p)] / ONNX_FILE for p in parts})
    except (KeyError, FileNotFoundError) as exc:
        raise ModelLoadError(f"the model's ONNX parts do not load: {exc}") from exc


def load_video_model(model: str, repo_root: Path | None = None) -> VideoPredictor:
    """A video predictor from a model URI or a local folder.

    Args:
        model: ``models:/<name>@<alias>``, ``models:/<name>/<version>``, ``runs:/...``
            (loaded with MLflow from the tracking store: ``$MLFLOW_TRACKING_URI``, else
            ``<repo_root>/mlflow.db``); a logged pyfunc model folder (with an
            ``MLmodel`` file); a trained model folder (``models/student``, no MLflow);
            or trained folders joined by commas (``models/normal,models/motion``:
            fused with equal weights).
        repo_root: where the default SQLite store lives (the current folder by default).

    Returns:
        A :class:`~components.inference.predictor.VideoPredictor`.

    Raises:
        ModelLoadError: the store, registered model, version or alias does not exist,
            or the model is not a video model.
        InputError: a trained folder that lacks a file or does not fit its weights.
    """
    if is_local_folder(model):
        folders = [Path(p.strip()) for p in model.split(",") if p.strip()]
        if not folders:
            raise ModelLoadError(f"{model!r}: no model folder given")
        for folder in folders:
            if not folder.exists():
                raise ModelLoadError(f"{folder}: no such model folder (a trained model "
                                     "folder such as models/student, or a models:/ URI)")
        if len(folders) == 1 and (folders[0] / "MLmodel").is_file():
            predictor = predictor_from_logged_model(folders[0], model)
        else:
            names = [f.name or str(f) for f in folders]
            if len(set(names)) != len(names):
                names = [f"part{i}" for i in range(len(folders))]
            predictor = VideoPredictor.from_folders(dict(zip(names, folders, strict=True)))
        predictor.source = ",".join(str(f) for f in folders)
        return predictor
    return _load_from_store(model, Path(repo_root or Path.cwd()))


def _load_from_store(model: str, repo_root: Path) -> VideoPredictor:
    """A ``models:/`` or ``runs:/`` URI: the only path that imports MLflow."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from components.tracking.store import resolve_tracking_uri, sqlite_db_path

    uri = resolve_tracking_uri(repo_root)
    db = sqlite_db_path(uri)
    if db is not None and not db.is_file():
        raise ModelLoadError(f"{model}: no MLflow store at {db} (train and register a model "
                             "first, or set MLFLOW_TRACKING_URI)")
    mlflow.set_tracking_uri(uri)
    resolved = _resolve_alias(model)
    with tempfile.TemporaryDirectory(prefix="har-model-") as tmp:
        try:
            local = mlflow.artifacts.download_artifacts(artifact_uri=resolved, dst_path=tmp)
        except (MlflowException, OSError) as exc:
            raise _cannot_load(model, exc) from exc
        # The weights are in memory once loaded: the download can go.
        predictor = predictor_from_logged_model(Path(local), model)
    predictor.source = resolved
    return predictor


def _resolve_alias(model: str) -> str:
    """``models:/<name>@<alias>`` as ``models:/<name>/<version>`` (the version the alias
    points at now, so that a caller can say which one it used); other URIs unchanged."""
    match = re.fullmatch(r"models:/([^/@]+)@([^/@]+)", model)
    if not match:
        return model
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    try:
        version = MlflowClient().get_model_version_by_alias(match.group(1), match.group(2))
    except MlflowException as exc:
        raise _cannot_load(model, exc) from exc
    return f"models:/{match.group(1)}/{version.version}"


def _cannot_load(model: str, exc: Exception) -> ModelLoadError:
    """"<model>: cannot load the model: <the first line of MLflow's reason>"."""
    message = getattr(exc, "message", None) or str(exc)
    first = str(message).strip().splitlines()[0] if str(message).strip() else str(exc)
    return ModelLoadError(f"{model}: cannot load the model: {first}")


def predictor_from_logged_model(folder: Path, shown: str) -> VideoPredictor:
    """The predictor of a logged video model folder, read without running its code.

    Only the ``MLmodel`` file (safe YAML) and the parts' trained folders (weights read
    weights-only by :func:`components.inference.trained.load_trained`) are read: the
    model must be a har video model logged from code, whose code is this package's.
    A pickled pyfunc model is refused, never unpickled.

    Args:
        folder: the logged model folder (``MLmodel``, ``artifacts/<part>/``).
        shown: how error messages name the model (the URI or folder given).
    """
    import yaml

    mlmodel = folder / "MLmodel"
    try:
        meta = yaml.safe_load(mlmodel.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ModelLoadError(f"{shown}: {mlmodel} is not a readable MLmodel file: "
                             f"{str(exc).splitlines()[0]}") from exc
    flavors = meta.get("flavors") if isinstance(meta, dict) else None
    flavor = (flavors or {}).get("python_function") if isinstance(flavors, dict) else None
    if not isinstance(flavor, dict):
        raise ModelLoadError(f"{shown}: not a har video model (no python_function flavor in "
                             f"{mlmodel})")
    code = flavor.get("model_code_path")
    if not code:
        if flavor.get("python_model"):
            raise ModelLoadError(
                f"{shown}: a pickled pyfunc model ({flavor['python_model']}); har loads only "
                "video models logged as code, which never unpickle: register it again with "
                "this version of har (har train, har evaluate)")
        raise ModelLoadError(f"{shown}: not a har video model (not logged from code)")
    if Path(str(code)).name != MODEL_CODE_NAME:
        raise ModelLoadError(f"{shown}: not a har video model (its code is {code}, not "
                             f"{MODEL_CODE_NAME})")
    config = flavor.get("config") if isinstance(flavor.get("config"), dict) else {}
    parts = [str(p) for p in config.get("parts") or []]
    artifacts = flavor.get("artifacts") if isinstance(flavor.get("artifacts"), dict) else {}
    if not parts:
        raise ModelLoadError(f"{shown}: {mlmodel} names no parts (model_config.parts)")
    root = folder.resolve()
    folders = {}
    for part in parts:
        relative = (artifacts.get(part) or {}).get("path") if isinstance(
            artifacts.get(part), dict) else None
        target = (root / str(relative)).resolve() if relative else None
        if target is None or not target.is_relative_to(root) or not target.is_dir():
            raise ModelLoadError(f"{shown}: part {part!r} has no artifact folder inside "
                                 f"{folder} ({relative!r})")
        folders[part] = target
    weights = config.get("fusion_weights")
    predictor = VideoPredictor.from_folders(
        folders, None if weights is None else [float(w) for w in weights])
    use_onnx_parts(predictor, config.get("onnx"), folders)
    return predictor
