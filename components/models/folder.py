"""The trained-model folder: the one contract training writes and prediction, export,
explanation and the MLflow registry read.

::

    <folder>/model.pt      the trained model's state dict (unwrapped)
    <folder>/model.json    how to rebuild it: model name and kwargs, classes, input kind,
                           frame size, clip length, normalisation, the representations
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from components._atomic import atomic_path, write_text_atomic

MODEL_FILE = "model.pt"
MODEL_INFO_FILE = "model.json"


def write_model(directory: Path, state_dict: Mapping[str, Any], info: Mapping[str, Any]) -> Path:
    """Write ``model.pt`` (state dict) and ``model.json`` (rebuild info) into ``directory``."""
    import torch

    directory.mkdir(parents=True, exist_ok=True)
    with atomic_path(directory / MODEL_FILE) as tmp:
        torch.save(dict(state_dict), tmp)
    write_text_atomic(directory / MODEL_INFO_FILE, json.dumps(info, indent=2, sort_keys=True)
                      + "\n")
    return directory / MODEL_FILE


def read_model_info(directory: Path) -> dict[str, Any]:
    """``model.json`` of a trained model folder."""
    from components._json import read_json

    return read_json(Path(directory) / MODEL_INFO_FILE,
                     missing="trained model info not found (train that model first)")
