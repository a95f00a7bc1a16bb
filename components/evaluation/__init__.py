"""Video-level evaluation of the trained models: results tables, per-class tables,
confusion matrices, accuracy by lighting bucket (pure functions;
``components.stages.evaluate`` does the I/O)."""

from components.evaluation.breakdown import (
    LightingBuckets,
    breakdown_markdown,
    bucket_accuracy,
    by_lighting_rows,
    lighting_bucket,
)
from components.evaluation.results import (
    RowResult,
    RowSpec,
    confusion_rows,
    per_class_rows,
    results_csv,
    results_markdown,
    score_metrics,
)

__all__ = [
    "LightingBuckets",
    "RowResult",
    "RowSpec",
    "breakdown_markdown",
    "bucket_accuracy",
    "by_lighting_rows",
    "confusion_rows",
    "lighting_bucket",
    "per_class_rows",
    "results_csv",
    "results_markdown",
    "score_metrics",
]
