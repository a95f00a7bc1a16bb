"""The papers' claims as checks on this dataset (``conf/claims.yaml``, ``har claims``).

A claim compares numbers of configurations ("cells"), each one DVC experiment::

    left: mei-gradient/motion.top1        # <cell>/<row>.<metric>
    op: ">"                               # > or >=
    right: [mei-equal/motion.top1]        # the best of these

and is *held* when ``left op max(right)``. Rows are models, read from their own
stage's metrics file (``metrics/motion.json``, ...) so that a cell reproduces only
the stages its claims read (``ROWS``); ``two_stream`` is the evaluate stage's.
A claim may require the dataset's lighting (``lighting: dark``) and the inputs the
models read (``inputs: {left: gamma, right: frames}``): otherwise it is *not
applicable*, not false.

Pure: no DVC, no MLflow. ``flows/claims.py`` runs the cells.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from components.ablation.config import _KEY, _NAME, METRICS, override_value
from components.config import lookup
from components.errors import ConfigError

HELD, NOT_HELD, NOT_APPLICABLE, UNKNOWN = "held", "not held", "n/a", "unknown"
OPS = (">", ">=")


@dataclass(frozen=True)
class RowSource:
    """Where a row's numbers come from: the stage that makes them, its metrics file
    (``key`` inside it, or the whole file), and the model folder it writes."""

    stage: str
    metrics: str
    key: str | None = None
    model_dir: str | None = None


#: Rows a claim can read (keep in step with dvc.yaml: tests/ablation/test_claims.py checks).
ROWS: dict[str, RowSource] = {
    "teacher": RowSource("train_teacher", "metrics/teacher.json", None, "models/teacher"),
    "lift_net_kd": RowSource("train_student", "metrics/student.json", None, "models/student"),
    "lift_net_no_kd": RowSource("train_student_nokd", "metrics/student_nokd.json", None,
                                "models/student_nokd"),
    "normal": RowSource("train_normal", "metrics/normal.json", None, "models/normal"),
    "motion": RowSource("train_motion", "metrics/motion.json", None, "models/motion"),
    "two_stream": RowSource("evaluate", "metrics/eval.json", "two_stream"),
}


@dataclass(frozen=True)
class Ref:
    """``<cell>/<row>.<metric>``: one number of one configuration."""

    cell: str
    row: str
    metric: str

    def __str__(self) -> str:
        return f"{self.cell}/{self.row}.{self.metric}"


@dataclass(frozen=True)
class ClaimCell:
    """A configuration: params.yaml overrides (dotted keys; ``{}``: as configured)."""

    name: str
    label: str
    overrides: Mapping[str, Any]


@dataclass(frozen=True)
class ClaimSpec:
    """One claim: ``left op max(right)``, under an optional dataset lighting."""

    name: str
    claim: str
    source: str
    left: Ref
    op: str
    right: tuple[Ref, ...]
    lighting: str | None = None
    inputs: Mapping[str, str] = field(default_factory=dict)  # left/right -> model input

    @property
    def refs(self) -> tuple[Ref, ...]:
        return (self.left, *self.right)


@dataclass(frozen=True)
class ClaimsConfig:
    """``conf/claims.yaml`` read: experiment-name prefix, the cells, the claims."""

    prefix: str
    cells: Mapping[str, ClaimCell]
    claims: tuple[ClaimSpec, ...]

    def select(self, names: Iterable[str] | None) -> tuple[ClaimSpec, ...]:
        """The claims named (all when None); unknown names raise ValueError."""
        if not names:
            return self.claims
        wanted = list(names)
        known = {c.name: c for c in self.claims}
        unknown = [n for n in wanted if n not in known]
        if unknown:
            raise ValueError(f"no claim(s) {', '.join(unknown)}; known: {', '.join(known)}")
        return tuple(known[n] for n in wanted)


@dataclass(frozen=True)
class Evidence:
    """One number as an experiment produced it."""

    value: float | None
    link: str = ""        # MLflow run behind it
    inputs: str = ""      # what the model read (model.json's ``input``), e.g. "gamma"


@dataclass(frozen=True)
class CellOutcome:
    """What one cell's experiment produced for the rows the claims read."""

    name: str
    experiment: str
    ok: bool = True
    error: str = ""
    rows: Mapping[str, Mapping[str, Evidence]] = field(default_factory=dict)  # row -> metric
    lighting: str | None = None
    dataset: str = ""
    exp_rev: str = ""
    stages_run: tuple[str, ...] = ()
    seconds: float = 0.0

    def evidence(self, ref: Ref) -> Evidence:
        return (self.rows.get(ref.row) or {}).get(ref.metric) or Evidence(None)


@dataclass(frozen=True)
class Verdict:
    """A claim judged: ``status`` is held, not held, n/a or unknown (with ``why``)."""

    claim: ClaimSpec
    status: str
    left: Evidence
    right: Evidence         # the best of the right-hand side
    right_ref: Ref
    why: str = ""

    @property
    def margin(self) -> float | None:
        if self.left.value is None or self.right.value is None:
            return None
        return self.left.value - self.right.value


def parse_ref(text: str, where: str) -> Ref:
    cell, sep, rest = str(text).partition("/")
    row, dot, metric = rest.partition(".")
    if not (sep and dot and cell and row and metric):
        raise ValueError(f"{where}: {text!r} is not <cell>/<row>.<metric>")
    if row not in ROWS:
        raise ValueError(f"{where}: row {row!r} is not one of {', '.join(ROWS)}")
    if metric not in METRICS:
        raise ValueError(f"{where}: metric {metric!r} is not one of {', '.join(METRICS)}")
    return Ref(cell, row, metric)


def parse_claims(raw: Mapping[str, Any]) -> ClaimsConfig:
    """``conf/claims.yaml`` as read by YAML, checked.

    Raises:
        ValueError: a malformed entry (the message names it).
    """
    prefix = str(raw.get("prefix") or "claim")
    if not _NAME.match(prefix):
        raise ValueError(f"prefix {prefix!r}: lower-case letters, digits, '-', '_', '.'")
    cells: dict[str, ClaimCell] = {}
    for name, body in (raw.get("cells") or {}).items():
        where = f"cells.{name}"
        if not _NAME.match(str(name)):
            raise ValueError(f"{where}: lower-case letters, digits, '-', '_', '.' only")
        body = body or {}
        overrides = body.get("set") or {}
        if not isinstance(overrides, Mapping):
            raise ValueError(f"{where}.set must be a mapping of params.yaml keys to values")
        for key in overrides:
            if not _KEY.match(str(key)):
                raise ValueError(f"{where}.set: {key!r} is not a dotted params.yaml key")
        cells[str(name)] = ClaimCell(str(name), str(body.get("label") or name), dict(overrides))
    claims: list[ClaimSpec] = []
    for i, body in enumerate(raw.get("claims") or []):
        where = f"claims[{i}]"
        name = str(body.get("name") or "")
        if not _NAME.match(name):
            raise ValueError(f"{where}: a name of lower-case letters, digits, '-', '_', '.'")
        where = f"claims.{name}"
        op = str(body.get("op") or ">=")
        if op not in OPS:
            raise ValueError(f"{where}.op: {op!r} is not one of {', '.join(OPS)}")
        right_raw = body.get("right")
        right_list = [right_raw] if isinstance(right_raw, str) else list(right_raw or [])
        if not right_list:
            raise ValueError(f"{where}.right: one or more <cell>/<row>.<metric>")
        left = parse_ref(body.get("left", ""), f"{where}.left")
        right = tuple(parse_ref(r, f"{where}.right") for r in right_list)
        for ref in (left, *right):
            if ref.cell not in cells:
                raise ValueError(f"{where}: cell {ref.cell!r} is not under cells: "
                                 f"({', '.join(cells)})")
        inputs = body.get("inputs") or {}
        if not isinstance(inputs, Mapping) or not set(inputs) <= {"left", "right"}:
            raise ValueError(f"{where}.inputs: a mapping with left and/or right")
        claims.append(ClaimSpec(name=name, claim=str(body.get("claim") or name),
                                source=str(body.get("source") or ""), left=left, op=op,
                                right=right, lighting=body.get("lighting"),
                                inputs={str(k): str(v) for k, v in inputs.items()}))
    if not claims:
        raise ValueError("no claims: list them under claims:")
    if len({c.name for c in claims}) != len(claims):
        raise ValueError("claim names must be unique")
    return ClaimsConfig(prefix=prefix, cells=cells, claims=tuple(claims))


def load_claims(path: Path) -> ClaimsConfig:
    """Read and check ``path``.

    Raises:
        ConfigError: unreadable, not YAML, or malformed (names the file and the entry).
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(path, f"cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ConfigError(path, f"{where}not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(raw, Mapping):
        raise ConfigError(path, "must be a mapping with prefix, cells and claims")
    try:
        return parse_claims(raw)
    except ValueError as exc:
        raise ConfigError(path, str(exc)) from None


def effective_overrides(cell: ClaimCell, params: Mapping[str, Any]) -> dict[str, Any]:
    """The cell's overrides that change params.yaml (those equal to its value are
    dropped, so that such a cell is the configuration as it is, and DVC's cache)."""
    kept = {}
    for key, value in cell.overrides.items():
        found, current = lookup(params, key)
        if not (found and current == value):
            kept[key] = value
    return kept


@dataclass(frozen=True)
class ExperimentPlan:
    """One experiment: the cells it stands for, its overrides, the stages it needs."""

    name: str
    cells: tuple[str, ...]
    overrides: Mapping[str, Any]
    targets: tuple[str, ...]


def plan_experiments(config: ClaimsConfig, claims: Sequence[ClaimSpec],
                     params: Mapping[str, Any]) -> tuple[ExperimentPlan, ...]:
    """The experiments the claims need: one per distinct configuration, reproducing
    only the stages of the rows read from it, named ``<prefix>-<first cell>``."""
    needed: dict[str, set[str]] = {}
    for claim in claims:
        for ref in claim.refs:
            needed.setdefault(ref.cell, set()).add(ROWS[ref.row].stage)
    groups: dict[str, tuple[list[str], dict[str, Any], set[str]]] = {}
    for cell_name in config.cells:  # config order: stable names
        if cell_name not in needed:
            continue
        overrides = effective_overrides(config.cells[cell_name], params)
        key = repr(sorted((k, repr(v)) for k, v in overrides.items()))
        names, _, stages = groups.setdefault(key, ([], overrides, set()))
        names.append(cell_name)
        stages |= needed[cell_name]
    order = list(ROWS_STAGE_ORDER)
    return tuple(
        ExperimentPlan(name=f"{config.prefix}-{names[0]}", cells=tuple(names),
                       overrides=overrides, targets=tuple(sorted(stages, key=order.index)))
        for names, overrides, stages in groups.values())


ROWS_STAGE_ORDER = tuple(dict.fromkeys(source.stage for source in ROWS.values()))


def judge(claim: ClaimSpec, cells: Mapping[str, CellOutcome]) -> Verdict:
    """Held when ``left op max(right)``; n/a under another lighting; unknown when a
    cell failed or a number is missing."""
    failed = [c for c in {r.cell for r in claim.refs} if c in cells and not cells[c].ok]
    missing = [c for c in {r.cell for r in claim.refs} if c not in cells]
    left = cells[claim.left.cell].evidence(claim.left) if claim.left.cell in cells \
        else Evidence(None)
    rights = [(cells[r.cell].evidence(r) if r.cell in cells else Evidence(None), r)
              for r in claim.right]
    best, best_ref = max(rights, key=lambda er: -math.inf if er[0].value is None
                         else er[0].value)

    def verdict(status: str, why: str = "") -> Verdict:
        return Verdict(claim, status, left, best, best_ref, why)

    if missing or failed:
        names = sorted(missing + failed)
        return verdict(UNKNOWN, f"cell(s) {', '.join(names)} "
                                f"{'failed' if failed else 'not run'}")
    if claim.lighting:
        lights = {c: cells[c].lighting for c in {r.cell for r in claim.refs}}
        other = {c: lit for c, lit in lights.items() if lit != claim.lighting}
        if other:
            seen = ", ".join(f"{c}: {lit or 'not recorded'}" for c, lit in sorted(other.items()))
            return verdict(NOT_APPLICABLE, f"needs {claim.lighting} video ({seen})")
    sides = {"left": [(left, claim.left)], "right": rights}
    for side, expected in claim.inputs.items():
        wrong = [f"{ref.cell} read {e.inputs or 'not recorded'}" for e, ref in sides[side]
                 if e.inputs != expected]
        if wrong:
            return verdict(NOT_APPLICABLE, f"{side} needs {expected} input ({', '.join(wrong)})")
    if left.value is None or any(e.value is None for e, _ in rights):
        return verdict(UNKNOWN, "a number is missing from the experiment's metrics")
    assert best.value is not None
    held = left.value > best.value if claim.op == ">" else left.value >= best.value
    return verdict(HELD if held else NOT_HELD)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def _linked(text: str, link: str) -> str:
    return f"[{text}]({link})" if link else text


def _side(ref: Ref, evidence: Evidence) -> str:
    inputs = f", {evidence.inputs}" if evidence.inputs else ""
    row = ref.row if ref.metric == "top1" else f"{ref.row} {ref.metric}"
    return f"{_linked(_pct(evidence.value), evidence.link)} ({ref.cell}: {row}{inputs})"


def claims_markdown(verdicts: Sequence[Verdict], cells: Mapping[str, CellOutcome],
                    config: ClaimsConfig, *, dataset: str = "") -> str:
    """The claims table (one line per claim, numbers linked to their MLflow runs),
    then the cells: their overrides, experiment and the stages they ran."""
    held = sum(v.status == HELD for v in verdicts)
    judged = sum(v.status in (HELD, NOT_HELD) for v in verdicts)
    lines = [f"# The papers' claims on this dataset{f' ({dataset})' if dataset else ''}", "",
             f"{held} of {judged} testable claim(s) held. Numbers are test-split top-1 (%) "
             "unless the claim says otherwise; each links to the MLflow run behind it.", "",
             "| claim | paper | measured | margin (points) | verdict |",
             "|---|---|---|---:|---|"]
    for v in verdicts:
        op = v.claim.op
        right = " / ".join(str(r) for r in v.claim.right)
        measured = f"{_side(v.claim.left, v.left)} {op} {_side(v.right_ref, v.right)}"
        if len(v.claim.right) > 1:
            measured += f" (best of {right})"
        margin = "" if v.margin is None else f"{100 * v.margin:+.1f}"
        status = f"**{v.status}**" + (f": {v.why}" if v.why else "")
        lines.append(f"| {v.claim.claim} | {v.claim.source} | {measured} | {margin} | {status} |")
    lines += ["", "| cell | configuration | experiment | ran | seconds |", "|---|---|---|---|---:|"]
    for name, outcome in cells.items():
        spec = config.cells[name]
        shown = " ".join(f"`{k}={override_value(v)}`" for k, v in spec.overrides.items()) \
            or "as configured"
        state = ", ".join(outcome.stages_run) or "nothing (cached)"
        if not outcome.ok:
            state = f"**failed**: {' '.join(outcome.error.split())[:240]}"
        lines.append(f"| {spec.label} | {shown} | `{outcome.experiment}` | {state} | "
                     f"{outcome.seconds:.0f} |")
    return "\n".join(lines) + "\n"


CSV_FIELDS = ("claim", "statement", "source", "verdict", "why", "op", "left", "left_value",
              "left_run", "left_input", "right", "right_value", "right_run", "right_input",
              "margin", "experiments")


def claims_csv(verdicts: Sequence[Verdict], cells: Mapping[str, CellOutcome]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for v in verdicts:
        experiments = sorted({cells[r.cell].experiment for r in v.claim.refs if r.cell in cells})
        writer.writerow({
            "claim": v.claim.name, "statement": v.claim.claim, "source": v.claim.source,
            "verdict": v.status, "why": v.why, "op": v.claim.op,
            "left": str(v.claim.left), "left_value": "" if v.left.value is None
            else f"{v.left.value:.6f}", "left_run": v.left.link, "left_input": v.left.inputs,
            "right": str(v.right_ref), "right_value": "" if v.right.value is None
            else f"{v.right.value:.6f}", "right_run": v.right.link,
            "right_input": v.right.inputs,
            "margin": "" if v.margin is None else f"{v.margin:.6f}",
            "experiments": " ".join(experiments)})
    return buffer.getvalue()
