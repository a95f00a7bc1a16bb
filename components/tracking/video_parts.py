"""The parts of a video model before logging: the trained model folders checked (names,
weights, classes that agree), their ONNX exports and fusion weights checked, and each
folder staged as MLflow should copy it (:func:`components.tracking.video_model.log_video_model`)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from components.errors import InputError
from components.inference.loading import ONNX_FILE


def named_parts(parts: Mapping[str, Path]) -> dict[str, Path]:
    """``parts`` with string names and paths; ValueError for a name that is not plain
    (it becomes a folder name among the model's artifacts)."""
    named = {str(k): Path(v) for k, v in parts.items()}
    odd = [k for k in named if not k or k.startswith(".") or "/" in k or "\\" in k]
    if odd:
        raise ValueError(f"part names must be plain names (model, normal, motion), got {odd}")
    return named


def check_parts(parts: Mapping[str, Path]) -> tuple[str, ...]:
    """The classes of the parts (which must agree); InputError for a bad folder."""
    from components.models.folder import MODEL_FILE, read_model_info

    if not parts:
        raise ValueError("log_video_model needs at least one trained model folder")
    classes: tuple[str, ...] | None = None
    for name, folder in parts.items():
        info = read_model_info(Path(folder))
        if not (Path(folder) / MODEL_FILE).is_file():
            raise InputError(Path(folder) / MODEL_FILE, "trained weights not found")
        mine = tuple(info.get("classes", ()))
        if not mine:
            raise InputError(Path(folder) / "model.json", "lists no classes")
        if classes is not None and mine != classes:
            raise InputError(Path(folder) / "model.json", f"part {name!r} has other classes "
                             f"than the first part: {list(mine)} vs {list(classes)}")
        classes = mine
    assert classes is not None
    return classes


def onnx_exports(onnx: Mapping[str, Path] | None, parts: Mapping[str, Path]
                  ) -> dict[str, Path]:
    """The ONNX file of each part that has one; each must name a part and exist."""
    exports = {str(k): Path(v) for k, v in (onnx or {}).items()}
    for part, file in exports.items():
        if part not in parts:
            raise ValueError(f"onnx names part {part!r}; parts: {list(parts)}")
        if not file.is_file():
            raise InputError(file, "ONNX file not found (har export --format onnx)")
    return exports


def link_or_copy(src: str, dst: str) -> None:
    """Hard-link ``src`` to ``dst``, or copy it where a link cannot be made."""
    try:
        os.link(src, dst)
    except OSError:  # another file system, or no hard links there
        shutil.copy2(src, dst)


def stage_parts(parts: Mapping[str, Path], onnx: Mapping[str, Path], tmp: Path
                 ) -> dict[str, Path]:
    """Each part's folder as MLflow should copy it: named after the part, with its ONNX
    file when it has one.

    MLflow names a copied artifact folder after the folder (and refuses symlinks out of
    it): a folder with another name, or one that gains an ONNX file, is staged under
    ``tmp/<part>`` (hard links where possible), so the model holds artifacts/<part>/
    whatever the folders are called.
    """
    staged = {}
    for part, folder in parts.items():
        staged[part] = folder.resolve()
        if staged[part].name != part or part in onnx:
            staged[part] = Path(shutil.copytree(folder, tmp / part,
                                                copy_function=link_or_copy))
        if part in onnx:
            link_or_copy(str(onnx[part]), str(staged[part] / ONNX_FILE))
    return staged
