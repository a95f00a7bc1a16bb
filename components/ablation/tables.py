"""Ablation tables from cell results: Markdown and CSV, every number linked to its run.

Pure: no DVC, no MLflow. :class:`CellResult` holds what the flow found out about one
cell (its experiment's ``metrics/eval.json``, the MLflow links of its rows); the
functions here only lay it out.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from components.ablation.config import CellSpec, TableSpec, override_value
from components.data.manifest import dataset_labels

OK, FAILED = "ok", "failed"
_SHORT = 240  # characters of a failure reason in a Markdown cell (the CSV has it all)


@dataclass(frozen=True)
class CellResult:
    """One cell's outcome.

    Attributes:
        name: the cell.
        experiment: its DVC experiment name (``<prefix>-<cell>``).
        status: ``ok`` or ``failed``.
        error: why it failed (one line or a few).
        metrics: ``metrics/eval.json`` of the experiment: ``{row: {metric: value}}``.
        run_links: eval.json row -> UI URL of the MLflow run that produced it.
        evaluate_link: UI URL of the experiment's evaluation run.
        exp_rev: the experiment's git commit.
        dataset: dataset and split the numbers are on (``ucf101-synthetic/split1``).
        stages_run: DVC stages the experiment ran (the rest came from the cache).
        seconds: wall time of ``dvc exp run``.
    """

    name: str
    experiment: str
    status: str = OK
    error: str = ""
    metrics: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    run_links: Mapping[str, str] = field(default_factory=dict)
    evaluate_link: str = ""
    exp_rev: str = ""
    dataset: str = ""
    stages_run: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == OK

    def value(self, row: str, metric: str) -> float | None:
        number = (self.metrics.get(row) or {}).get(metric)
        return None if number is None else float(number)


def failed(name: str, experiment: str, error: str, seconds: float = 0.0) -> CellResult:
    return CellResult(name, experiment, FAILED, error=error, seconds=seconds)


def _fmt(metric: str, value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return str(int(value)) if metric == "videos" else f"{100 * value:.1f}"


def _escape(text: str) -> str:
    """Text safe inside a Markdown table cell (one line, no column breaks)."""
    return " ".join(str(text).split()).replace("|", "\\|")


def overrides_text(cell: CellSpec) -> str:
    """``key=value key=value`` (``-S`` form) of the cell's own changes, or "" for the
    baseline (a table's ``base`` is said once, in its heading)."""
    return _sets_text(cell.shown)


def _sets_text(overrides: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={override_value(v)}" for k, v in overrides.items())


def _delta(value: float | None, reference: float | None) -> str:
    if value is None or reference is None or not (math.isfinite(value)
                                                  and math.isfinite(reference)):
        return "n/a"
    return f"{100 * (value - reference):+.1f}"


def _link(text: str, url: str) -> str:
    return f"[{text}]({url})" if url else text


def table_markdown(spec: TableSpec, results: Mapping[str, CellResult], *, dataset: str = ""
                   ) -> str:
    """The table as Markdown: a row per cell, each number a link to its MLflow run.

    Args:
        spec: the table.
        results: cell name -> result; a cell without one shows as not run.
        dataset: dataset and split, for the heading (default: the cells' own).
    """
    dataset = dataset or next((r.dataset for r in results.values() if r.dataset), "")
    on = f" on {dataset}" if dataset else ""
    lines = [f"## {spec.title}{on}", "",
             "Video-level test accuracy (%). Each number links to the MLflow run of the "
             "model behind it; *evaluate* to the experiment's evaluation run."]
    if spec.base:
        lines.append(f"Every cell starts from `{_escape(_sets_text(spec.base))}`; its "
                     "configuration column says what it changes.")
    reference = results.get(spec.reference or "")
    first = spec.columns[0]
    ref_value = reference.value(first.row, first.metric) if reference and reference.ok \
        else None
    delta_title = f"Δ {first.title} vs {spec.reference}" if spec.reference else ""
    if delta_title:
        lines.append(f"Δ: percentage points of {first.title} against the `{spec.reference}` "
                     "cell.")
    lines.append("")
    header = ["cell", "configuration", *(c.title for c in spec.columns),
              *([delta_title] if delta_title else []), "runs", "minutes"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|---|---|" + "---:|" * (len(spec.columns) + bool(delta_title)) + "---|---:|")
    for cell in spec.cells:
        result = results.get(cell.name)
        sets = overrides_text(cell)
        config = _escape(cell.label) + (f" (`{_escape(sets)}`)" if sets else "")
        name = f"`{result.experiment}`" if result else cell.name
        width = len(spec.columns) + bool(delta_title)
        if result is None:
            numbers = ["not run"] + [""] * (width - 1)
            runs, minutes = "", ""
        elif not result.ok:
            reason = _escape(result.error or "failed")
            if len(reason) > _SHORT:
                reason = reason[:_SHORT - 1] + "…"
            numbers = [f"**failed**: {reason}"] + ["—"] * (width - 1)
            runs, minutes = "", f"{result.seconds / 60:.1f}"
        else:
            numbers = [_link(_fmt(c.metric, result.value(c.row, c.metric)),
                             result.run_links.get(c.row, "")) for c in spec.columns]
            if delta_title:
                numbers.append("—" if cell.name == spec.reference else
                               _delta(result.value(first.row, first.metric), ref_value))
            runs = _link("evaluate", result.evaluate_link) if result.evaluate_link else ""
            minutes = f"{result.seconds / 60:.1f}"
        lines.append("| " + " | ".join([name, config, *numbers, runs, minutes]) + " |")
    return "\n".join(lines).rstrip() + "\n"


CSV_FIELDS = ("table", "cell", "label", "overrides", "status", "error", "experiment",
              "exp_rev", "dataset")


def table_rows(spec: TableSpec, results: Mapping[str, CellResult]) -> list[dict[str, Any]]:
    """One dict per cell: the CSV's columns (fractions, not percent) and links."""
    rows = []
    for cell in spec.cells:
        result = results.get(cell.name)
        row: dict[str, Any] = {
            "table": spec.name, "cell": cell.name, "label": cell.label,
            "overrides": overrides_text(cell),
            "status": result.status if result else "not run",
            "error": (result.error if result else "") or "",
            "experiment": result.experiment if result else "",
            "exp_rev": result.exp_rev if result else "",
            "dataset": result.dataset if result else "",
        }
        for column in spec.columns:
            value = result.value(column.row, column.metric) if result and result.ok else None
            row[column.key] = "" if value is None else value
            row[f"{column.key}.run"] = (result.run_links.get(column.row, "")
                                        if result and result.ok else "")
        row["evaluate_run"] = result.evaluate_link if result and result.ok else ""
        row["stages_run"] = " ".join(result.stages_run) if result else ""
        row["seconds"] = round(result.seconds, 1) if result else ""
        rows.append(row)
    return rows


def table_csv(spec: TableSpec, results: Mapping[str, CellResult]) -> str:
    """The table as CSV (see :func:`table_rows`)."""
    rows = table_rows(spec, results)
    fields = [*CSV_FIELDS]
    for column in spec.columns:
        fields += [column.key, f"{column.key}.run"]
    fields += ["evaluate_run", "stages_run", "seconds"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def results_from_csv(spec: TableSpec, text: str) -> dict[str, CellResult]:
    """The ``ok`` and ``failed`` cells of a table's CSV (:func:`table_csv`), read back."""
    results = {}
    for row in csv.DictReader(io.StringIO(text)):
        if row.get("status") not in (OK, FAILED) or not row.get("cell"):
            continue
        metrics: dict[str, dict[str, float]] = {}
        links: dict[str, str] = {}
        for column in spec.columns:
            value = row.get(column.key) or ""
            if value:
                metrics.setdefault(column.row, {})[column.metric] = float(value)
            if row.get(f"{column.key}.run"):
                links[column.row] = row[f"{column.key}.run"]
        results[row["cell"]] = CellResult(
            name=row["cell"], experiment=row.get("experiment") or "", status=row["status"],
            error=row.get("error") or "", metrics=metrics, run_links=links,
            evaluate_link=row.get("evaluate_run") or "", exp_rev=row.get("exp_rev") or "",
            dataset=row.get("dataset") or "",
            stages_run=tuple((row.get("stages_run") or "").split()),
            seconds=float(row.get("seconds") or 0))
    return results


def dataset_key(info: Mapping[str, Any]) -> str:
    """``<format>-<root folder>/split<N>`` of ``data/ingest/dataset.json`` (as evaluate's)."""
    return dataset_labels(dict(info))["key"] if info else ""


_STAGE_FAILED = re.compile(r"failed to reproduce '([^']+)'")
_CAUSE = re.compile(r"^(har [\w-]+: error: .+|[A-Za-z_][\w.]*(Error|Exception|Exit)(: .+)?)$")


def failure_reason(output: str) -> str:
    """One line out of ``dvc exp run``'s output that says why it failed.

    DVC ends with ``ERROR: failed to reproduce '<stage>': ...``; the stage's own
    last words (``har train: error: ...``, or a traceback's last line) come before
    it: ``<stage>: <those words>``. Without them, DVC's first error line.
    """
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [i for i, line in enumerate(lines) if line.startswith("ERROR")]
    if not errors:
        return lines[-1] if lines else "dvc exp run failed"
    first = errors[0]
    dvc_error = lines[first].removeprefix("ERROR:").strip()
    stage = _STAGE_FAILED.search(dvc_error)
    cause = next((line for line in reversed(lines[:first]) if _CAUSE.match(line)), "")
    if stage and cause:
        return f"stage {stage.group(1)}: {cause}"
    return dvc_error
