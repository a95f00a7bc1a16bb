"""Accuracy by lighting bucket from known probabilities."""

from __future__ import annotations

import math

import numpy as np
import pytest

from components.data.lighting import LightingBuckets, lighting_bucket
from components.evaluation import (
    RowResult,
    RowSpec,
    breakdown_markdown,
    bucket_accuracy,
    by_lighting_rows,
    per_class_rows,
    score_metrics,
)
from components.inference import VideoScores

CLASSES = ("Rise", "Fall")
BOUNDS = LightingBuckets(dark=0.10, dim=0.16)


def test_buckets_by_luma() -> None:
    assert [lighting_bucket(v, BOUNDS) for v in (0.0, 0.0999, 0.10, 0.159, 0.16, 0.9)] == [
        "dark", "dark", "dim", "dim", "bright", "bright"]
    assert lighting_bucket(None, BOUNDS) == "unknown"
    assert lighting_bucket(math.nan, BOUNDS) == "unknown"
    with pytest.raises(ValueError, match="dark < dim"):
        LightingBuckets(dark=0.2, dim=0.1)


def _row(name: str, correct: list[bool]) -> RowResult:
    labels = np.zeros(len(correct), np.int64)
    probs = np.array([[0.9, 0.1] if ok else [0.2, 0.8] for ok in correct])
    scores = VideoScores(tuple(f"v{i}" for i in range(len(correct))), probs, labels, CLASSES,
                         np.ones(len(correct), np.int64))
    metrics, matrix = score_metrics(scores)
    return RowResult(RowSpec(name, name, "two_stream", (name,)), metrics, matrix, scores)


def test_accuracy_per_bucket_and_the_table() -> None:
    buckets = {"v0": "dark", "v1": "dark", "v2": "bright", "v3": "dim"}  # v4: not measured
    a = _row("a", [True, False, True, True, False])
    b = _row("b", [True, True, False, False, True])
    assert bucket_accuracy(a, buckets) == {
        "dark": {"top1": 0.5, "videos": 2.0}, "dim": {"top1": 1.0, "videos": 1.0},
        "bright": {"top1": 1.0, "videos": 1.0}, "unknown": {"top1": 0.0, "videos": 1.0}}
    rows = by_lighting_rows([a, b], buckets)
    assert [r["lighting"] for r in rows] == ["dark", "dim", "bright", "unknown"]
    assert rows[0] == {"lighting": "dark", "videos": 2, "a": 0.5, "b": 1.0}
    text = breakdown_markdown([a, b], rows, per_class_rows([a, b]), BOUNDS, "2 clip(s) x 1 crop")
    assert "| dark | 2 | 50.0 | 100.0 |" in text
    assert "dark < 0.1 <= dim < 0.16 <= bright" in text and "2 clip(s) x 1 crop" in text
    assert "## By class" in text and "| Rise | 5 | 60.0 | 60.0 |" in text
