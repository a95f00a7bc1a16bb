"""params.yaml sections as frozen dataclasses.

Only entry points (``components.stages``) read params.yaml; everything below them
takes the dataclasses built here.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from components.errors import ConfigError

T = TypeVar("T")

DEFAULT_PARAMS = Path("params.yaml")


def load_params(path: str | Path = DEFAULT_PARAMS) -> dict[str, Any]:
    """Read a params file; a missing or malformed file is a ``ConfigError`` naming it."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(path, "parameter file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(path, f"not valid YAML: {exc}", line=line) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(path, "expected a mapping of stage sections at the top level")
    return data


def section(params: Mapping[str, Any], name: str, source: str | Path = DEFAULT_PARAMS) -> dict:
    """Return one stage's section (empty if absent); it must be a mapping."""
    value = params.get(name, {}) or {}
    if not isinstance(value, Mapping):
        raise ConfigError(source, f"section '{name}' must be a mapping")
    return dict(value)


def _coerce(value: Any, annotation: Any, where: str, source: str | Path) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where, source)
            except ConfigError as exc:
                errors.append(exc.reason)
        raise ConfigError(source, f"{where}: {value!r} fits none of {annotation}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(source, f"{where}: {value!r} is not one of {list(args)}")
        return value
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            raise ConfigError(source, f"{where}: expected a list, got {value!r}")
        item_type = args[0] if args else Any
        items = [_coerce(v, item_type, f"{where}[{i}]", source) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict or annotation is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(source, f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, Mapping):
            raise ConfigError(source, f"{where}: expected a mapping, got {value!r}")
        return from_mapping(annotation, value, source=source, where=where)
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(source, f"{where}: expected true or false, got {value!r}")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(source, f"{where}: expected an integer, got {value!r}")
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(source, f"{where}: expected a number, got {value!r}")
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(source, f"{where}: expected a string, got {value!r}")
        return value
    if annotation is Path:
        return Path(value)
    return value


def from_mapping(
    cls: type[T], mapping: Mapping[str, Any], source: str | Path = DEFAULT_PARAMS, where: str = ""
) -> T:
    """Build dataclass ``cls`` from ``mapping``, checking names and types.

    Unknown keys are refused (a typo in params.yaml should not silently fall back
    to a default); missing keys take the dataclass default.
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(mapping) - set(fields))
    prefix = f"{where}." if where else ""
    if unknown:
        raise ConfigError(
            source, f"unknown parameter(s) {', '.join(prefix + u for u in unknown)}; "
            f"known: {', '.join(sorted(fields))}"
        )
    kwargs = {
        name: _coerce(value, hints[name], prefix + name, source) for name, value in mapping.items()
    }
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(source, f"{where or cls.__name__}: {exc}") from exc


def merge_overrides(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``base`` with non-None ``overrides`` (command-line flags) applied."""
    merged = dict(base)
    merged.update({k: v for k, v in overrides.items() if v is not None})
    return merged


def to_dict(obj: Any) -> Any:
    """A dataclass as plain YAML/JSON-friendly data (tuples become lists, paths strings)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, list | tuple):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    if isinstance(obj, Path):
        return str(obj)
    return obj
