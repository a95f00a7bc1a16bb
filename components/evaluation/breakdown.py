"""Accuracy by lighting bucket (pure: NumPy and dicts in, dicts and text out).

Every video's mean BT.601 luma (0..1) is measured at ingest (the manifest's
``luminance`` column); :func:`lighting_bucket` sorts it into ``dark`` / ``dim`` /
``bright`` by two thresholds (``evaluate.lighting_buckets``; ``components.data.lighting``),
or ``unknown`` when the manifest has no measurement (written before the column existed). A row's
accuracy per bucket is its video-level top-1 over that bucket's videos.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from components.data.lighting import BUCKETS, LightingBuckets, lighting_bucket
from components.evaluation.results import RowResult

__all__ = ["BUCKETS", "LightingBuckets", "breakdown_markdown", "bucket_accuracy",
           "by_lighting_rows", "lighting_bucket"]



def bucket_accuracy(result: RowResult, buckets: Mapping[str, str]) -> dict[str, dict[str, float]]:
    """A row's top-1 per bucket: ``{bucket: {"top1": 0..1, "videos": n}}``, only the
    buckets that hold at least one of its videos, in :data:`BUCKETS` order.

    Args:
        result: an evaluated row.
        buckets: video key (manifest path) -> bucket; a key missing here is ``unknown``.
    """
    scores = result.scores
    correct = scores.probs.argmax(1) == scores.labels if len(scores.labels) else np.zeros(0, bool)
    names = np.array([buckets.get(k, "unknown") for k in scores.keys], dtype=object)
    table: dict[str, dict[str, float]] = {}
    for bucket in BUCKETS:
        where = names == bucket
        if where.any():
            table[bucket] = {"top1": float(correct[where].mean()), "videos": float(where.sum())}
    return table


def by_lighting_rows(results: Sequence[RowResult], buckets: Mapping[str, str]
                     ) -> list[dict[str, object]]:
    """One row per bucket present: its test videos and each result's top-1 on it
    (NaN where a result scored none of them)."""
    tables = {r.spec.name: bucket_accuracy(r, buckets) for r in results}
    present = [b for b in BUCKETS if any(b in t for t in tables.values())]
    rows = []
    for bucket in present:
        videos = max(int(t[bucket]["videos"]) for t in tables.values() if bucket in t)
        row: dict[str, object] = {"lighting": bucket, "videos": videos}
        for name, table in tables.items():
            row[name] = table[bucket]["top1"] if bucket in table else math.nan
        rows.append(row)
    return rows


def _pct(value: object) -> str:
    return f"{100 * float(value):.1f}" if isinstance(value, float) and math.isfinite(value) \
        else "n/a"


def breakdown_markdown(results: Sequence[RowResult], by_lighting: Sequence[Mapping[str, object]],
                       per_class: Sequence[Mapping[str, object]], thresholds: LightingBuckets,
                       views: str = "") -> str:
    """The evaluate report's section: top-1 (%) per lighting bucket and per class.

    Args:
        results: evaluated rows (their order gives the columns).
        by_lighting: :func:`by_lighting_rows`.
        per_class: ``components.evaluation.per_class_rows``.
        thresholds: the buckets' bounds, quoted under the table.
        views: how the test videos were viewed (``2 clips x 1 crop``), if known.
    """
    names = [r.spec.name for r in results]
    header = "| {} | videos | " + " | ".join(names) + " |"
    rule = "|---|---:|" + "---:|" * len(names)
    lines = ["## By lighting", "",
             f"Top-1 (%) per lighting bucket of the videos' mean luma measured at ingest: "
             f"dark < {thresholds.dark:g} <= dim < {thresholds.dim:g} <= bright"
             + (f"; test views: {views}" if views else "") + ".", "",
             header.format("lighting"), rule]
    for row in by_lighting:
        lines.append(f"| {row['lighting']} | {row['videos']} | "
                     + " | ".join(_pct(row[n]) for n in names) + " |")
    lines += ["", "## By class", "", "Top-1 (%) per class.", "", header.format("class"), rule]
    for row in per_class:
        lines.append(f"| {row['class']} | {row['videos']} | "
                     + " | ".join(_pct(row[n]) for n in names) + " |")
    return "\n".join(lines) + "\n"
