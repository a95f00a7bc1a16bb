"""A flow run's parameter overrides: checked against params.yaml, applied for the
run, and the user's file given back afterwards.

A run names a dataset config (``conf/datasets/*.yaml``: sections of params.yaml
to override) and/or explicit overrides (``{"train_student": {"epochs": 3}}`` or
dotted ``{"train_student.epochs": 3}``). Every override key must already be in
params.yaml (or the dataset config), so a typo is refused instead of written in.
For the run they are merged into params.yaml (comments kept), as ``dvc exp run
--set-param`` does, so that DVC re-runs exactly the stages whose parameters
moved; :func:`overridden` then puts the user's file back byte for byte, even when
a stage fails or the run is interrupted. The overrides stay on record as the
flow run's parameters and in its results artifact.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from components.config import is_open_section
from components.errors import ConfigError


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


def _unknown(params: Any, overrides: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in overrides.items():
        node, open_section = params, False
        for part in str(key).split("."):
            if open_section:
                break
            if not (isinstance(node, Mapping) and part in node):
                yield f"{prefix}{key}"
                break
            node, open_section = node[part], is_open_section(part)
        else:
            if isinstance(value, Mapping) and isinstance(node, Mapping) and not open_section:
                yield from _unknown(node, value, f"{prefix}{key}.")


def _dotted_keys(params: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in params.items():
        yield f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _dotted_keys(value, f"{prefix}{key}.")


def check_override_keys(params: Mapping[str, Any], overrides: Mapping[str, Any],
                        where: str | Path = "params.yaml") -> None:
    """Refuse override keys that are not in ``params`` (dotted paths through its
    mappings; keys under ``*kwargs`` sections are free).

    Raises:
        ConfigError: naming each unknown key and the closest existing one.
    """
    unknown = list(_unknown(params, overrides))
    if not unknown:
        return
    known = list(_dotted_keys(params))
    reasons = []
    for key in unknown:
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"sections: {', '.join(params)}"
        reasons.append(f"no parameter {key!r} ({hint})")
    raise ConfigError(where, "; ".join(reasons))


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
    if not path.is_file():
        raise ConfigError(path, "dataset config not found")
    data = _yaml().load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, Mapping):
        raise ConfigError(path, "a dataset config maps params.yaml sections to values")
    return dict(data)


def merged(params: Mapping[str, Any], layers: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``params`` with each layer (nested or dotted) merged over it, in order; a copy."""
    import copy

    result = copy.deepcopy(dict(params))
    for layer in layers:
        _merge(result, expand_dotted(layer), "", [])
    return result


@contextmanager
def overridden(params_path: Path, dataset_config: Mapping[str, Any] | None = None,
               overrides: Mapping[str, Any] | None = None) -> Iterator[list[str]]:
    """params.yaml with the dataset config, then the overrides, merged in, for the
    ``with`` body; yields the changed dotted keys.

    Override keys are checked first (:func:`check_override_keys`; nothing is
    written if one is unknown). On the way out, however the body ends (an
    exception, KeyboardInterrupt), the file gets its original bytes and mode back,
    unless someone edited it meanwhile: then their edit stays and a warning says so.
    """
    yaml = _yaml()
    original = params_path.read_bytes()
    mode = params_path.stat().st_mode
    current = yaml.load(original.decode("utf-8")) or {}
    check_override_keys(merged(current, [dataset_config or {}]), overrides or {}, params_path)
    changed: list[str] = []
    written: bytes | None = None  # stays None if applying fails half way
    try:
        for layer in (dataset_config, overrides):
            if layer:
                changed += apply_overrides(params_path, layer)
        written = params_path.read_bytes()
        yield changed
    finally:
        _restore(params_path, original, mode, written)


def _restore(params_path: Path, original: bytes, mode: int, written: bytes | None) -> None:
    from components._atomic import atomic_path

    now = params_path.read_bytes()
    if now == original:
        return
    if written is not None and now != written:
        logging.getLogger(__name__).warning(
            "%s was edited during the run; keeping that edit instead of restoring it",
            params_path)
        return
    with atomic_path(params_path) as tmp:
        tmp.write_bytes(original)
        os.chmod(tmp, mode & 0o7777)
