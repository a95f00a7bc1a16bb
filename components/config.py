"""params.yaml sections as frozen dataclasses.

Only entry points (``components.stages``) read params.yaml; everything below them
takes the dataclasses built here. pydantic checks the types; the dataclasses stay plain
(their ``__post_init__`` checks run as usual) so nothing below this module imports it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import yaml

from components.errors import ConfigError

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

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


def section(params: Mapping[str, Any], name: str, source: str | Path = DEFAULT_PARAMS
            ) -> dict[str, Any]:
    """Return one stage's section (empty if absent); it must be a mapping."""
    value = params.get(name, {}) or {}
    if not isinstance(value, Mapping):
        raise ConfigError(source, f"section '{name}' must be a mapping")
    return dict(value)


@functools.cache
def _validator(cls: type) -> type[BaseModel]:
    """A one-field pydantic model holding ``cls``, built once per class (2-80 ms)."""
    from pydantic import ConfigDict, create_model  # ~0.1-0.3 s: only stages that read params

    # Strict: `epochs: "3"`, `amp: 1` or `lr: true` in params.yaml are mistakes, not values to
    # convert; extra="forbid" refuses unknown keys at every level (nested stdlib dataclasses
    # take the config of the model that holds them).
    strict = ConfigDict(strict=True, extra="forbid")
    return create_model(f"{cls.__name__}Params", __config__=strict, value=(cls, ...))


# pydantic's JSON words for the YAML ones
_YAML_WORDS = {"a valid array": "a list", "an object": "a mapping"}


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):  # command-line flags hand over paths
        return str(value)
    raise TypeError(f"{value!r} is not plain YAML data")


def _union_members(annotation: Any) -> tuple[Any, ...] | None:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return tuple(a for a in typing.get_args(annotation) if a is not type(None))
    return None


def _locate(cls: type, loc: tuple[Any, ...]) -> tuple[str, Any]:
    """The params path of an error location (``augment.rain_density[1]``) and the annotation
    that holds its last part (the dataclass of an unknown key).

    pydantic's locations also name the member of a union being tried (``'bool'``); those
    are dropped.
    """
    path, annotation, holder = "", cls, None
    parts = list(loc)
    while parts:
        members = _union_members(annotation)
        if members is not None and len(members) > 1:  # pydantic names the member tried
            parts.pop(0)
            annotation = Any
            continue
        if members:  # X | None: no member name in the location
            annotation = members[0]
        part = parts.pop(0)
        holder = annotation
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if dataclasses.is_dataclass(annotation) and isinstance(part, str):
            annotation = typing.get_type_hints(annotation).get(part, Any)
        elif origin is list and args:
            annotation = args[0]
        elif origin is tuple and args:
            variadic = len(args) == 2 and args[1] is Ellipsis
            annotation = args[0] if variadic else dict(enumerate(args)).get(part, Any)
        elif origin is dict and len(args) == 2:
            annotation = args[1]
        else:
            annotation = Any
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path.lstrip("."), holder


def _reason(cls: type, exc: ValidationError, where: str) -> str:
    """One message for all of ``exc``'s errors, each naming its params.yaml key."""
    prefix = f"{where}." if where else ""
    unknown: dict[str, tuple[list[str], Any]] = {}
    expected: dict[str, tuple[list[str], Any]] = {}  # key: (alternatives, value given)
    other: dict[str, list[str]] = {}
    for error in exc.errors():
        path, holder = _locate(cls, error["loc"][1:])  # [0] is the wrapper's field
        key = (f"{prefix}{path}" if path else where) or cls.__name__
        message = error["msg"]
        if error["type"] == "unexpected_keyword_argument":
            unknown.setdefault(key.rpartition(".")[0], ([], holder))[0].append(key)
        elif error["type"] in ("value_error", "assertion_error"):  # the dataclass's own checks
            other.setdefault(key, []).append(str(error.get("ctx", {}).get("error", message)))
        elif error["type"] == "missing":
            other.setdefault(key, []).append("required")
        elif message.startswith("Input should be "):
            entry = expected.setdefault(key, ([], error["input"]))
            wanted = message.removeprefix("Input should be ")
            entry[0].append(_YAML_WORDS.get(wanted, wanted))
        else:
            other.setdefault(key, []).append(f"{message} (got {error['input']!r})")
    reasons = [
        f"unknown parameter(s) {', '.join(keys)}; known: "
        f"{', '.join(sorted(f.name for f in dataclasses.fields(holder)))}"
        for keys, holder in unknown.values()
    ]
    reasons += [f"{key}: expected {' or '.join(alternatives)}, got {value!r}"
                for key, (alternatives, value) in expected.items()]
    reasons += [f"{key}: {'; '.join(messages)}" for key, messages in other.items()]
    return "; ".join(reasons)


def from_mapping(
    cls: type[T], mapping: Mapping[str, Any], source: str | Path = DEFAULT_PARAMS, where: str = ""
) -> T:
    """Build dataclass ``cls`` from ``mapping``, checking names and types (pydantic, strict).

    Unknown keys are refused (a typo in params.yaml should not silently fall back
    to a default); missing keys take the dataclass default; ints are accepted for floats,
    lists for tuples and strings for paths, nothing else is converted. Every error names
    its key (``where`` + the dotted path: ``train_teacher.augment.flip``).

    Raises:
        ConfigError: naming ``source`` and each key at fault.
    """
    from pydantic import ValidationError

    # JSON mode: in pydantic's strict Python mode a dataclass field only takes an instance
    # and a tuple field only a tuple; its strict JSON rules are YAML's data model (the one
    # loss: a mapping's non-string keys become strings, as in JSON).
    try:
        document = json.dumps({"value": dict(mapping)}, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise ConfigError(source, f"{where or cls.__name__}: {exc}") from exc
    try:
        # the model has one field, ``value: cls`` (built at run time, so typed Any here)
        parsed: Any = _validator(cast(type, cls)).model_validate_json(document)
        return parsed.value
    except ValidationError as exc:
        raise ConfigError(source, _reason(cls, exc, where)) from exc
    except TypeError as exc:  # raised by a dataclass's __post_init__; pydantic lets it through
        raise ConfigError(source, f"{where or cls.__name__}: {exc}") from exc


def merge_overrides(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``base`` with non-None ``overrides`` (command-line flags) applied."""
    merged = dict(base)
    merged.update({k: v for k, v in overrides.items() if v is not None})
    return merged


def dataclass_values(obj: Any) -> dict[str, Any] | None:
    """A dataclass instance's fields by name, values as they are (not converted); None
    for anything else, a dataclass class too."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    return None


def as_plain(obj: Any, *, other: Callable[[Any], Any] | None = None) -> Any:
    """A dataclass (nested) as YAML/JSON-friendly data: tuples become lists, paths
    POSIX strings, mapping keys strings (what a run records, and what
    :func:`from_mapping` reads back).

    ``other`` converts every value none of these rules covers (its own recursion goes
    back through ``as_plain``); by default such values are kept as they are.
    """
    values = dataclass_values(obj)
    if values is not None:
        return {name: as_plain(value, other=other) for name, value in values.items()}
    if isinstance(obj, list | tuple):
        return [as_plain(v, other=other) for v in obj]
    if isinstance(obj, dict):
        return {str(k): as_plain(v, other=other) for k, v in obj.items()}
    if isinstance(obj, Path):
        return obj.as_posix()
    return obj if other is None else other(obj)


def lookup(params: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    """``(True, value)`` of a dotted params key (``train_student.model_kwargs``), or
    ``(False, None)`` when a part of it is missing."""
    node: Any = params
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def is_open_section(key: str) -> bool:
    """Whether a params section passes its keys on to a builder (``*kwargs``: the
    builder checks them against its signature), so an override may add keys to it."""
    return key.endswith("kwargs")
