"""Video-level evaluation of the trained models: results tables, per-class tables,
confusion matrices (pure functions; ``components.stages.evaluate`` does the I/O)."""

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
    "RowResult",
    "RowSpec",
    "confusion_rows",
    "per_class_rows",
    "results_csv",
    "results_markdown",
    "score_metrics",
]
