"""What a training job leaves for DVC and people: model files, metrics, plots.

Per job (all written atomically)::

    <models>/<job>/model.pt      the trained model's state dict (unwrapped)
    <models>/<job>/model.json    how to rebuild it: model name and kwargs, classes,
                                 input kind, frame size, clip length, normalisation
    <metrics>/<job>.json         final metrics (DVC metrics): top1, top5,
                                 mean_class_acc, loss, top1_item, epochs, seconds
    <plots>/<job>.csv            one row per epoch (DVC plots: x = epoch)
    <plots>/<job>_confusion.png  video-level confusion matrix of the final model
    <plots>/<job>_curves.png     loss and accuracy per epoch

The model folder (``model.pt``, ``model.json``) is written by
:func:`components.models.folder.write_model`, the contract training, prediction,
export and the registry share. The pictures are drawn by
:mod:`components.training.figures` (re-exported here).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from components._atomic import atomic_path, write_text_atomic
from components.training.figures import confusion_figure, curves_figure

__all__ = ["confusion_figure", "curves_figure", "history_csv", "save_figure", "write_history",
           "write_metrics"]

def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_metrics(path: Path, metrics: Mapping[str, Any]) -> None:
    """A flat JSON metrics file (NaN/inf written as null)."""
    write_text_atomic(path, json.dumps({k: _clean(v) for k, v in metrics.items()}, indent=2,
                                       sort_keys=True) + "\n")


def history_csv(history: Sequence[Mapping[str, Any]]) -> str:
    """Per-epoch history as CSV text: ``epoch`` first, then the other columns sorted."""
    columns = ["epoch"] + sorted({k for row in history for k in row} - {"epoch", "time"})
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in history:
        cells = []
        for column in columns:
            value = row.get(column, "")
            if column == "epoch" and value != "":
                value = int(value)
            elif isinstance(value, float):
                value = f"{value:.6g}"
            cells.append(value)
        writer.writerow(cells)
    return buf.getvalue()


def write_history(path: Path, history: Sequence[Mapping[str, Any]]) -> None:
    write_text_atomic(path, history_csv(history))


def save_figure(fig: Any, path: Path) -> None:
    """Write a figure (``components.training.figures``) as a PNG file, atomically."""
    from components._figures import png_bytes

    with atomic_path(path) as tmp:
        tmp.write_bytes(png_bytes(fig))
