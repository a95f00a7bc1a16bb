"""Results rows and tables from known probabilities."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest

from components.evaluation import (
    RowResult,
    RowSpec,
    confusion_rows,
    per_class_rows,
    results_csv,
    results_markdown,
    score_metrics,
)
from components.inference import VideoScores, fuse_probabilities

CLASSES = ("Rise", "Fall", "Approach")


def scores(probs: list[list[float]], labels: list[int], keys: tuple[str, ...] | None = None
           ) -> VideoScores:
    keys = keys or tuple(f"v{i}.mp4" for i in range(len(labels)))
    return VideoScores(keys, np.array(probs, float), np.array(labels), CLASSES,
                       np.ones(len(labels), np.int64))


def test_metrics_are_video_level_top1_top5_and_mean_class_accuracy() -> None:
    s = scores([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8], [0.2, 0.5, 0.3]],
               [0, 1, 2, 1])
    metrics, matrix = score_metrics(s)
    assert metrics["top1"] == pytest.approx(0.75)
    assert metrics["top5"] == 1.0  # 3 classes: every class is in the top 5
    # recall: Rise 1/1, Fall 1/2, Approach 1/1
    assert metrics["mean_class_acc"] == pytest.approx((1 + 0.5 + 1) / 3)
    assert matrix.tolist() == [[1, 0, 0], [1, 1, 0], [0, 0, 1]]
    assert metrics["videos"] == 4


def test_fusion_averages_with_weights_over_common_videos() -> None:
    normal = scores([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0]], [0, 1], ("a", "b"))
    motion = scores([[0.1, 0.0, 0.9], [0.0, 1.0, 0.0], [1, 0, 0]], [1, 1, 0], ("b", "a", "c"))
    fused = fuse_probabilities([normal, motion], [1.0, 3.0])
    assert fused.keys == ("a", "b")
    np.testing.assert_allclose(fused.probs[0], (np.array([0.9, 0.1, 0]) + 3 * np.array(
        [0.0, 1.0, 0.0])) / 4)
    with pytest.raises(ValueError, match="weights"):
        fuse_probabilities([normal, motion], [1.0])


def test_tables_group_rows_and_link_runs() -> None:
    good = scores([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1]], [0, 1])
    rows = []
    for name, title, group in (("teacher", "R(2+1)D teacher", "lift_net"),
                               ("two_stream", "two-stream, fused", "two_stream")):
        metrics, matrix = score_metrics(good)
        rows.append(RowResult(RowSpec(name, title, group, (name,)), metrics, matrix, good,
                              {name: "abc"}))
    links = {"teacher": "http://127.0.0.1:5000/#/experiments/1/runs/abc"}
    md = results_markdown(rows, dataset="ucf101-synthetic/split1", run_links=links, chance=1 / 3)
    assert "**LIFT-Net (knowledge distillation)**" in md and "**MEI two-stream network**" in md
    assert "| R(2+1)D teacher | 100.0 | 100.0 | 100.0 | 2 | [run](http://127.0.0.1:5000/" in md
    assert "Chance: 33.3 %" in md
    table = list(csv.DictReader(io.StringIO(results_csv(rows, links))))
    assert table[0]["row"] == "teacher" and float(table[0]["top1"]) == 1.0
    assert table[0]["mlflow"].endswith("/runs/abc") and table[1]["mlflow"] == ""

    per_class = per_class_rows(rows)
    assert [r["class"] for r in per_class] == list(CLASSES)
    assert per_class[0]["teacher"] == 1.0 and math.isnan(per_class[2]["teacher"])
    assert confusion_rows(rows[0]) == [
        {"video": "v0.mp4", "actual": "Rise", "predicted": "Rise"},
        {"video": "v1.mp4", "actual": "Fall", "predicted": "Fall"},
    ]
