"""Apply a flow run's parameter overrides to params.yaml, keeping its comments.

A deployment run names a dataset config (``conf/datasets/*.yaml``: sections of
params.yaml to override) and/or explicit overrides (``{"train_student": {"epochs":
3}}`` or dotted ``{"train_student.epochs": 3}``). They are merged into the
working copy's params.yaml, as ``dvc exp run --set-param`` does, so that DVC sees
the change and re-runs exactly the stages whose parameters moved.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML


def _yaml() -> YAML:
    yaml = YAML()  # round-trip: comments and key order survive
    yaml.preserve_quotes = True
    yaml.width = 100
    return yaml


def expand_dotted(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1, "c": {"d": 2}}`` -> ``{"a": {"b": 1}, "c": {"d": 2}}``."""
    nested: dict[str, Any] = {}
    for key, value in overrides.items():
        parts = key.split(".")
        node = nested
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        last = parts[-1]
        if isinstance(value, Mapping) and isinstance(node.get(last), dict):
            node[last].update(expand_dotted(value))
        else:
            node[last] = expand_dotted(value) if isinstance(value, Mapping) else value
    return nested


def _merge(target: Any, updates: Mapping[str, Any], prefix: str, changed: list[str]) -> None:
    for key, value in updates.items():
        where = f"{prefix}{key}"
        if isinstance(value, Mapping) and isinstance(target.get(key), Mapping):
            _merge(target[key], value, f"{where}.", changed)
        elif target.get(key) != value:
            target[key] = value
            changed.append(where)


def apply_overrides(params_path: Path, overrides: Mapping[str, Any]) -> list[str]:
    """Merge ``overrides`` into the YAML file at ``params_path``; return the changed keys.

    The file is rewritten (atomically) only when something changes.
    """
    from components._atomic import atomic_path

    yaml = _yaml()
    data = yaml.load(params_path.read_text(encoding="utf-8")) or {}
    changed: list[str] = []
    _merge(data, expand_dotted(overrides), "", changed)
    if changed:
        with atomic_path(params_path) as tmp, tmp.open("w", encoding="utf-8") as handle:
            yaml.dump(data, handle)
    return changed


def load_dataset_config(path: Path) -> dict[str, Any]:
    """A dataset config: a mapping of params.yaml sections."""
    from components.errors import ConfigError

    if not path.is_file():
        raise ConfigError(path, "dataset config not found")
    data = _yaml().load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, Mapping):
        raise ConfigError(path, "a dataset config maps params.yaml sections to values")
    return dict(data)
