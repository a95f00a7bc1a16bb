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
applicable*, not false. This module reads the claims and plans their experiments;
:mod:`components.ablation.verdicts` judges them and writes the report.

Pure: no DVC, no MLflow. ``flows/claims.py`` runs the cells.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from components.ablation.config import _KEY, _NAME, METRICS
from components.config import lookup
from components.errors import ConfigError

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
