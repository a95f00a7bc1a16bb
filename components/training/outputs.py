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
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

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
    from components.errors import InputError

    path = Path(directory) / MODEL_INFO_FILE
    if not path.is_file():
        raise InputError(path, "trained model info not found (train that model first)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON: {exc.msg}", line=exc.lineno) from exc


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


def confusion_figure(matrix: np.ndarray, classes: Sequence[str], title: str):  # noqa: ANN201
    """A Matplotlib figure of a confusion matrix (rows: true, columns: predicted)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    k = len(classes)
    size = max(3.0, 0.45 * k + 2)
    fig = Figure(figsize=(size, size), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(k), labels=list(classes), rotation=90 if k > 6 else 45, fontsize=8)
    ax.set_yticks(range(k), labels=list(classes), fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    if k <= 30:
        peak = matrix.max() if matrix.size else 0
        for i in range(k):
            for j in range(k):
                ax.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if peak and matrix[i, j] > peak / 2 else "black")
    fig.tight_layout()
    return fig


def curves_figure(history: Sequence[Mapping[str, Any]], eval_prefix: str, title: str,  # noqa: ANN201
                  best_epoch: int | None = None):
    """Loss (train, eval) and top-1 (train, eval) per epoch; a dashed line marks the
    selected (best validation) epoch."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    epochs = [int(h["epoch"]) for h in history]
    fig = Figure(figsize=(8, 3.2), dpi=100)
    for i, (what, keys) in enumerate((
        ("loss", ("train/loss", f"{eval_prefix}/loss")),
        ("top-1", ("train/top1", f"{eval_prefix}/top1", f"{eval_prefix}/top1_item")),
    )):
        ax = fig.add_subplot(1, 2, i + 1)
        for key in keys:
            values = [h.get(key, float("nan")) for h in history]
            ax.plot(epochs, values, marker="o", label=key)
        if best_epoch:
            ax.axvline(best_epoch, color="grey", linestyle="--", linewidth=1,
                       label=f"selected (epoch {best_epoch})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(what)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def save_figure(fig: Any, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
