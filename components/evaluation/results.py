"""Results rows and tables (pure: NumPy in, dicts and text out).

A *row* of the results table is one evaluated predictor: a trained model (the
teacher, LIFT-Net with or without distillation, one stream) or a late fusion of
several (the two-stream network: normal + motion; an ensemble of backbones).
Every number is video level: a video's prediction is the mean softmax over its
clips or items (the project's choice: the papers are silent).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from components.inference.scoring import VideoScores
from components.metrics import confusion_matrix, mean_class_accuracy, topk_accuracy

#: Metric columns of the results table, in order.
METRICS: tuple[str, ...] = ("top1", "top5", "mean_class_acc")


@dataclass(frozen=True)
class RowSpec:
    """One row to evaluate.

    Attributes:
        name: identifier (``lift_net_kd``); metrics are keyed by it.
        title: what the table shows (``LIFT-Net (KD)``).
        group: table section: ``lift_net`` or ``two_stream``.
        parts: trained model folder names (under the models folder) fused by
            averaging probabilities; one part is a single model.
        weights: fusion weights of the parts (equal when empty).
    """

    name: str
    title: str
    group: str
    parts: tuple[str, ...]
    weights: tuple[float, ...] = ()


@dataclass
class RowResult:
    """An evaluated row.

    Attributes:
        spec: the row.
        metrics: ``top1``, ``top5``, ``mean_class_acc`` (0..1) and ``videos``.
        confusion: (K, K) video counts, row = true class.
        scores: the video probabilities behind the numbers.
        run_ids: MLflow run of each part's training (name -> run id).
        model: ``name@version`` when the row was registered.
    """

    spec: RowSpec
    metrics: dict[str, float]
    confusion: np.ndarray
    scores: VideoScores
    run_ids: dict[str, str] = field(default_factory=dict)
    model: str = ""


def score_metrics(scores: VideoScores) -> tuple[dict[str, float], np.ndarray]:
    """Video-level top-1, top-5, mean class accuracy and the confusion matrix."""
    k = len(scores.classes)
    pred = scores.probs.argmax(1) if len(scores.labels) else scores.labels
    matrix = confusion_matrix(pred, scores.labels, k)
    metrics = {
        "top1": topk_accuracy(scores.probs, scores.labels, 1),
        "top5": topk_accuracy(scores.probs, scores.labels, 5),
        "mean_class_acc": mean_class_accuracy(matrix),
        "videos": float(len(scores.labels)),
    }
    return metrics, matrix


def per_class_rows(results: Sequence[RowResult]) -> list[dict[str, object]]:
    """One row per class: its test videos and each result's accuracy on it."""
    if not results:
        return []
    classes = results[0].scores.classes
    rows = []
    for c, name in enumerate(classes):
        row: dict[str, object] = {"class": name,
                                  "videos": int(results[0].confusion[c].sum())}
        for result in results:
            total = result.confusion[c].sum()
            row[result.spec.name] = float(result.confusion[c, c] / total) if total else math.nan
        rows.append(row)
    return rows


def confusion_rows(result: RowResult) -> list[dict[str, str]]:
    """``actual``, ``predicted`` class names per video (DVC's confusion template)."""
    classes = result.scores.classes
    pred = result.scores.probs.argmax(1)
    return [{"video": key, "actual": classes[int(t)], "predicted": classes[int(p)]}
            for key, t, p in zip(result.scores.keys, result.scores.labels, pred, strict=True)]


def _pct(value: float) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{100 * value:.1f}"


def results_markdown(results: Sequence[RowResult], *, dataset: str,
                     run_links: Mapping[str, str] | None = None, chance: float | None = None
                     ) -> str:
    """The results table as Markdown, grouped as the papers' tables.

    Args:
        results: evaluated rows.
        dataset: dataset and split the numbers are on.
        run_links: row name -> URL (or run id) of its MLflow run.
        chance: accuracy of guessing (1 / classes), shown under the table.
    """
    titles = {"lift_net": "LIFT-Net (knowledge distillation)",
              "two_stream": "MEI two-stream network"}
    lines = [f"Video-level accuracy (%) on {dataset}", ""]
    header = "| model | top-1 | top-5 | mean class | videos | MLflow run |"
    for group in ("lift_net", "two_stream"):
        rows = [r for r in results if r.spec.group == group]
        if not rows:
            continue
        lines += [f"**{titles[group]}**", "", header, "|---|---:|---:|---:|---:|---|"]
        for r in rows:
            link = (run_links or {}).get(r.spec.name, "")
            cell = f"[run]({link})" if link.startswith("http") else link
            lines.append(f"| {r.spec.title} | {_pct(r.metrics['top1'])} | "
                         f"{_pct(r.metrics['top5'])} | {_pct(r.metrics['mean_class_acc'])} | "
                         f"{int(r.metrics['videos'])} | {cell} |")
        lines.append("")
    if chance is not None:
        lines.append(f"Chance: {_pct(chance)} %.")
    return "\n".join(lines).rstrip() + "\n"


def results_csv(results: Sequence[RowResult], run_links: Mapping[str, str] | None = None
                ) -> str:
    """The results table as CSV (fractions, not percent), with the MLflow links."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["row", "title", "group", "parts", *METRICS, "videos", "training_runs",
                     "registered_model", "mlflow"])
    for r in results:
        writer.writerow([
            r.spec.name, r.spec.title, r.spec.group, "+".join(r.spec.parts),
            *(f"{r.metrics[m]:.6f}" for m in METRICS), int(r.metrics["videos"]),
            " ".join(f"{k}={v}" for k, v in r.run_ids.items()), r.model,
            (run_links or {}).get(r.spec.name, ""),
        ])
    return out.getvalue()
