"""A trained model folder (``models/<job>``, written by ``har train``) back in memory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from components.config import from_mapping
from components.errors import InputError
from components.jobs.config import JobConfig, config_class, section_name
from components.models.folder import MODEL_FILE, MODEL_INFO_FILE, read_model_info
from components.models.weights import load_torch_file

#: model.json keys that inference needs (``har train`` writes them).
REQUIRED_INFO = ("job", "model", "model_kwargs", "classes", "config", "kinds", "representations")


@dataclass
class TrainedModel:
    """A trained model in eval mode, and how its inputs were made.

    Attributes:
        job: ``teacher``, ``student``, ``normal`` or ``motion``.
        model: the module (eval mode, CPU unless moved).
        config: the job's config as trained (clip length, stride, eval clips, size).
        classes: class names; output column k is ``classes[k]``.
        kinds: role (``main``, ``lum``, ``frames``) -> representation kind.
        representations: kind -> the parameters of the shards it was trained on
            (decoded size, frame stride, kind parameters): prediction recomputes
            them from a video with exactly these.
        info: the whole ``model.json``.
        directory: the folder it was loaded from.
    """

    job: str
    model: nn.Module
    config: JobConfig
    classes: tuple[str, ...]
    kinds: dict[str, str]
    representations: dict[str, dict[str, Any]]
    info: dict[str, Any]
    directory: Path

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def load_trained(directory: Path, device: str | torch.device = "cpu") -> TrainedModel:
    """Load ``model.pt`` + ``model.json`` from a trained model folder.

    Raises:
        InputError: the folder lacks a file, ``model.json`` lacks a key (a model
            trained by an older version), or the weights do not fit the model.
    """
    from components.models import create_model

    directory = Path(directory)
    info = read_model_info(directory)
    info_path = directory / MODEL_INFO_FILE
    missing = [key for key in REQUIRED_INFO if key not in info]
    if missing:
        raise InputError(info_path, f"lacks {', '.join(missing)}: retrain this model "
                         "(har train) to record how its inputs were made")
    job = str(info["job"])
    config = from_mapping(config_class(job), info["config"], info_path, section_name(job))
    weights = directory / MODEL_FILE
    if not weights.is_file():
        raise InputError(weights, "trained weights not found (har train)")
    kwargs = dict(info["model_kwargs"])
    # Pretrained files only initialise training; the trained weights replace them.
    kwargs = {k: (None if k.endswith(("_path", "_paths")) else v) for k, v in kwargs.items()}
    model = create_model(str(info["model"]), **kwargs)
    state = load_torch_file(weights, "trained weights")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise InputError(weights, f"weights do not fit {info['model']}: "
                         f"{str(exc).splitlines()[0]}") from exc
    model.eval().to(device)
    return TrainedModel(
        job=job, model=model, config=config, classes=tuple(info["classes"]),
        kinds=dict(info["kinds"]), representations=dict(info["representations"]), info=info,
        directory=directory,
    )
