"""The ablation tables' definition (``conf/ablations.yaml``) and DVC ``-S`` overrides."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.config import is_open_section, lookup
from components.errors import ConfigError

#: Cell names become DVC experiment names (git refs): keep them plain.
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
#: Metrics of metrics/eval.json's rows.
METRICS = ("top1", "top5", "mean_class_acc", "videos")
METRIC_TITLES = {"top1": "top-1", "top5": "top-5", "mean_class_acc": "mean class",
                 "videos": "videos"}
#: Which job's run produced an eval.json row (``evaluate``: the evaluation run itself).
ROW_JOBS = {"teacher": "teacher", "lift_net_kd": "student", "lift_net_no_kd": "student",
            "normal": "normal", "motion": "motion", "two_stream": "evaluate",
            "ensemble": "evaluate"}


@dataclass(frozen=True)
class Column:
    """One number of a cell: ``metric`` of eval.json's ``row``."""

    row: str
    metric: str
    title: str

    @property
    def key(self) -> str:
        return f"{self.row}.{self.metric}"


@dataclass(frozen=True)
class CellSpec:
    """One configuration: a name, what it is, and its params.yaml overrides.

    Attributes:
        overrides: everything the experiment sets: its table's ``base`` under the
            cell's own ``set``.
        own: the cell's own ``set`` (what the table shows as its configuration).
    """

    name: str
    label: str
    overrides: Mapping[str, Any]
    own: Mapping[str, Any] | None = None

    @property
    def shown(self) -> Mapping[str, Any]:
        return self.overrides if self.own is None else self.own


@dataclass(frozen=True)
class TableSpec:
    """One table.

    Attributes:
        base: overrides under every cell (the model the ablations are taken from:
            LIFT-Net-8 for the paper's Table VI).
        reference: the cell every other is compared with (a delta column).
    """

    name: str
    title: str
    columns: tuple[Column, ...]
    cells: tuple[CellSpec, ...]
    base: Mapping[str, Any] | None = None
    reference: str | None = None


@dataclass(frozen=True)
class AblationConfig:
    """``conf/ablations.yaml``.

    Attributes:
        prefix: experiment names are ``<prefix>-<cell>``.
        tables: table name -> table.
        targets: the DVC stages an experiment reproduces (with what they need).
    """

    prefix: str
    tables: Mapping[str, TableSpec]
    targets: tuple[str, ...] = ("evaluate",)

    def experiment_name(self, cell: str) -> str:
        """The DVC experiment (and ``har.dvc_exp`` tag) of a cell."""
        return f"{self.prefix}-{cell}"


def _require(cond: bool, path: Path, message: str) -> None:
    if not cond:
        raise ConfigError(path, message)


def _column(text: Any, titles: Mapping[str, str], path: Path, where: str) -> Column:
    _require(isinstance(text, str) and text.count(".") == 1, path,
             f"{where}: a column is <row>.<metric>, got {text!r}")
    row, metric = text.split(".")
    _require(metric in METRICS, path, f"{where}: metric {metric!r} is not one of {METRICS}")
    _require(row in ROW_JOBS, path, f"{where}: row {row!r} is not one of {sorted(ROW_JOBS)}")
    return Column(row, metric, f"{titles.get(row, row)} {METRIC_TITLES[metric]}")


def _check_keys(overrides: Any, path: Path, where: str) -> dict[str, Any]:
    _require(isinstance(overrides, Mapping), path, f"{where}: a mapping of params keys")
    for key in overrides:
        _require(isinstance(key, str) and bool(_KEY.match(key)), path,
                 f"{where}: {key!r} is not a dotted params.yaml key")
    return dict(overrides)


def _cell(raw: Any, path: Path, where: str) -> CellSpec:
    _require(isinstance(raw, Mapping) and "name" in raw, path,
             f"{where}: a cell is a mapping with name, label and set")
    name = str(raw["name"])
    _require(bool(_NAME.match(name)), path,
             f"{where}: cell name {name!r}: lower-case letters, digits, '_', '.', '-'")
    overrides = _check_keys(raw.get("set") or {}, path, f"{where}.{name}.set")
    unknown = sorted(set(raw) - {"name", "label", "set"})
    _require(not unknown, path, f"{where}.{name}: unknown field(s) {unknown}")
    return CellSpec(name, str(raw.get("label") or name), dict(overrides))


def parse_config(data: Mapping[str, Any], path: Path = Path("conf/ablations.yaml")
                 ) -> AblationConfig:
    """Validate the mapping of ``conf/ablations.yaml``.

    Raises:
        ConfigError: a malformed table, column or cell; a cell name used twice in
            a table, or in two tables with different overrides.
    """
    _require(isinstance(data, Mapping), path, "expected a mapping with prefix and tables")
    prefix = str(data.get("prefix") or "ablate")
    _require(bool(_NAME.match(prefix)), path, f"prefix {prefix!r}: letters, digits, '_.-'")
    titles = dict(data.get("row_titles") or {})
    raw_tables = data.get("tables")
    if not isinstance(raw_tables, Mapping) or not raw_tables:
        raise ConfigError(path, "tables: a mapping of table name -> {title, columns, cells}")
    tables: dict[str, TableSpec] = {}
    seen: dict[str, CellSpec] = {}
    for name, raw in raw_tables.items():
        where = f"tables.{name}"
        _require(isinstance(raw, Mapping), path, f"{where}: a mapping")
        _require(bool(_NAME.match(str(name))), path, f"{where}: letters, digits, '_.-'")
        raw_columns = raw.get("columns") or []
        _require(isinstance(raw_columns, Sequence) and not isinstance(raw_columns, str)
                 and bool(raw_columns), path, f"{where}.columns: a list of <row>.<metric>")
        columns = tuple(_column(c, titles, path, f"{where}.columns") for c in raw_columns)
        raw_cells = raw.get("cells") or []
        _require(isinstance(raw_cells, Sequence) and bool(raw_cells), path,
                 f"{where}.cells: a non-empty list")
        base = _check_keys(raw.get("base") or {}, path, f"{where}.base")
        cells = tuple(_cell(c, path, f"{where}.cells") for c in raw_cells)
        if base:  # every cell of the table starts from the base model
            cells = tuple(CellSpec(c.name, c.label, {**base, **c.overrides}, own=c.overrides)
                          for c in cells)
        names = [c.name for c in cells]
        twice = sorted({n for n in names if names.count(n) > 1})
        _require(not twice, path, f"{where}: cell name(s) used twice: {twice}")
        for cell in cells:
            other = seen.setdefault(cell.name, cell)
            _require(dict(other.overrides) == dict(cell.overrides), path,
                     f"{where}: cell {cell.name!r} is in another table with other overrides")
        reference = raw.get("reference")
        if reference is None:  # the base itself: the first cell that changes nothing more
            reference = next((c.name for c in cells if not c.shown), None)
        _require(reference is None or reference in names, path,
                 f"{where}.reference: {reference!r} is not a cell of the table")
        unknown = sorted(set(raw) - {"title", "columns", "cells", "base", "reference"})
        _require(not unknown, path, f"{where}: unknown field(s) {unknown}")
        tables[str(name)] = TableSpec(str(name), str(raw.get("title") or name), columns, cells,
                                      base=base or None, reference=reference)
    targets = data.get("targets", ["evaluate"])
    targets = [targets] if isinstance(targets, str) else list(targets or [])
    _require(all(isinstance(t, str) and t for t in targets), path,
             "targets: DVC stage names (empty: the whole dvc.yaml)")
    return AblationConfig(prefix, tables, tuple(targets))


def load_config(path: Path) -> AblationConfig:
    """Read and validate ``conf/ablations.yaml`` (see :func:`parse_config`)."""
    if not path.is_file():
        raise ConfigError(path, "ablation config not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(path, f"not valid YAML: {exc}") from None
    return parse_config(data, path)


def select(config: AblationConfig, table: str = "all", cells: Iterable[str] | None = None
           ) -> tuple[list[TableSpec], list[CellSpec]]:
    """The tables to fill and the distinct cells to run, in table order.

    Args:
        config: the ablation file, read.
        table: a table name, or ``all``.
        cells: only these cells (each must be in a selected table); default all.

    Raises:
        ValueError: an unknown table or cell.
    """
    if table == "all":
        tables = list(config.tables.values())
    elif table in config.tables:
        tables = [config.tables[table]]
    else:
        raise ValueError(f"unknown table {table!r}; known: all, {', '.join(config.tables)}")
    wanted = None if cells is None else list(dict.fromkeys(cells))
    available = {c.name: c for t in tables for c in t.cells}
    if wanted is not None:
        unknown = [c for c in wanted if c not in available]
        if unknown:
            raise ValueError(f"unknown cell(s) {unknown} in table(s) "
                             f"{[t.name for t in tables]}; known: {sorted(available)}")
        if not wanted:
            raise ValueError("no cell selected")
    chosen = [c for name, c in available.items() if wanted is None or name in wanted]
    if wanted is not None:
        tables = [TableSpec(t.name, t.title, t.columns,
                            tuple(c for c in t.cells if c.name in wanted), t.base,
                            t.reference if t.reference in wanted else None)
                  for t in tables]
        tables = [t for t in tables if t.cells]
    return tables, chosen


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}, "c.d": 2}`` -> ``{"a.b": 1, "c.d": 2}`` (lists stay values)."""
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        where = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{where}."))
        else:
            flat[where] = value
    return flat


_PLAIN = re.compile(r"^[A-Za-z0-9_./:+@-]+$")


def _reads_as_text(text: str) -> bool:
    """Whether ``text`` unquoted still reads as that string (not a number, bool, null)."""
    if text.lower() in ("null", "none", "true", "false", "nan", "inf", "-inf"):
        return False
    try:
        return isinstance(yaml.safe_load(text), str)
    except yaml.YAMLError:
        return False


def override_value(value: Any) -> str:
    """A YAML value in the override grammar of ``dvc exp run -S`` (Hydra's)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}:{override_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(override_value(v) for v in value) + "]"
    text = str(value)
    if _PLAIN.match(text) and _reads_as_text(text):
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _adds_to_open_section(params: Mapping[str, Any], dotted: str) -> bool:
    """Whether ``dotted`` is a new key of an open section params.yaml holds."""
    parent, _, leaf = dotted.rpartition(".")
    found, node = lookup(params, parent) if parent else (False, None)
    return found and is_open_section(parent) and isinstance(node, Mapping) and leaf not in node


def set_params(*overrides: Mapping[str, Any],
               params: Mapping[str, Any] | None = None) -> list[str]:
    """``-S`` arguments of the merged overrides, later ones winning: ``key=value``, or
    ``++key=value`` for a new key of an open section of ``params`` (params.yaml, read;
    :func:`components.config.is_open_section`),
    such as ``train_student.model_kwargs.depth`` over ``model_kwargs: {}``: Hydra's
    grammar refuses a plain override of a missing key, as it should for any other
    (a typo such as ``train_student.epochz`` stays an error)."""
    merged: dict[str, Any] = {}
    for mapping in overrides:
        merged.update(flatten(mapping))
    return [f"{'++' if params is not None and _adds_to_open_section(params, key) else ''}"
            f"{key}={override_value(value)}" for key, value in merged.items()]
