"""A video predictor from a model folder, for ``har predict`` and ``har stream``.

A trained model folder (``models/student``), folders joined by commas and a logged
model folder (with an ``MLmodel`` file) load here, without MLflow: a cold
``har predict --model models/<job>`` then pays for torch and the model alone
(MLflow's import is about as long as torch's). A ``models:/`` or ``runs:/`` URI is
not a folder: :func:`components.tracking.registry.downloaded_model` resolves and
downloads it first (the one path that imports MLflow), and the logged folder it gives
is read by :func:`predictor_from_logged_model`; ``components.stages.predict`` tells
the two apart (:func:`is_local_folder`). This package never imports
``components.tracking``.

Nothing that came with a model runs here: the ``MLmodel`` file is read as safe YAML
and the weights weights-only, so a crafted model folder or registry entry cannot
run a command on the machine that loads it (the served pyfunc model,
:class:`components.tracking.video_model.VideoModel`, runs the same predictor).
"""

from __future__ import annotations

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
    from components.inference.onnx_module import use_onnx

    try:
        use_onnx(predictor, {str(p): folders[str(p)] / ONNX_FILE for p in parts})
    except (KeyError, FileNotFoundError) as exc:
        raise ModelLoadError(f"the model's ONNX parts do not load: {exc}") from exc


def load_model_folder(model: str) -> VideoPredictor:
    """A video predictor from a local model folder (no MLflow).

    Args:
        model: a trained model folder (``models/student``); trained folders joined by
            commas (``models/normal,models/motion``: fused with equal weights); or a
            logged pyfunc model folder (with an ``MLmodel`` file).

    Returns:
        A :class:`~components.inference.predictor.VideoPredictor` whose ``source`` is
        the folder(s).

    Raises:
        ModelLoadError: a URI rather than a folder, a missing folder, or a logged
            folder that is not a video model.
        InputError: a trained folder that lacks a file or does not fit its weights.
    """
    if not is_local_folder(model):
        raise ModelLoadError(f"{model}: a model URI, not a folder (har predict downloads "
                             "it with components.tracking.registry first)")
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
    config = flavor.get("config")
    if not isinstance(config, dict):
        config = {}
    parts = [str(p) for p in config.get("parts") or []]
    artifacts = flavor.get("artifacts")
    if not isinstance(artifacts, dict):
        artifacts = {}
    if not parts:
        raise ModelLoadError(f"{shown}: {mlmodel} names no parts (model_config.parts)")
    root = folder.resolve()
    folders = {}
    for part in parts:
        entry = artifacts.get(part)
        relative = entry.get("path") if isinstance(entry, dict) else None
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
