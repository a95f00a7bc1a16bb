"""Hyperparameters as flat MLflow params: dotted keys, values within MLflow's limits."""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any

from mlflow.entities import Param
from mlflow.tracking import MlflowClient
from mlflow.utils.validation import (
    MAX_ENTITY_KEY_LENGTH,
    MAX_PARAM_VAL_LENGTH,
    MAX_PARAMS_TAGS_PER_BATCH,
)

from components.config import dataclass_values
from components.tracking._active import resolve_run_id
from components.tracking._retry import retry_transient

_LOG = logging.getLogger(__name__)

TRUNCATION_MARK = "...[truncated]"
# MLflow keys: alphanumerics, underscores, dashes, periods, spaces, colons and slashes.
_INVALID_KEY_CHARS = re.compile(r"[^\w\-. :/]")


def _to_mapping(value: Any) -> Mapping[str, Any] | None:
    """A mapping view of dicts and dataclass instances, None for anything else."""
    return value if isinstance(value, Mapping) else dataclass_values(value)


def format_param_value(value: Any) -> str:
    """Render a leaf value as a param string.

    Args:
        value: A scalar, path, enum, list or other object.

    Returns:
        ``str(value)`` except: enums give their value, paths their POSIX form, and
        lists/tuples ``[a, b]`` of their rendered items.
    """
    if isinstance(value, Enum):
        return format_param_value(value.value)
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_param_value(item) for item in value) + "]"
    return str(value)


def truncate_value(text: str, limit: int = MAX_PARAM_VAL_LENGTH) -> str:
    """Cut ``text`` to ``limit`` characters, ending in a visible truncation mark.

    Args:
        text: The value.
        limit: Maximum length in characters.

    Returns:
        ``text`` itself when short enough, else a prefix plus ``...[truncated]``,
        ``limit`` characters in all.
    """
    if len(text) <= limit:
        return text
    return text[: limit - len(TRUNCATION_MARK)] + TRUNCATION_MARK


def sanitize_key(key: str, limit: int = MAX_ENTITY_KEY_LENGTH) -> str:
    """Make ``key`` a valid MLflow param/metric/tag key.

    Characters MLflow rejects become ``_``; keys longer than ``limit`` keep their
    start and end with a short hash in between, so distinct long keys stay distinct.

    Args:
        key: The key.
        limit: Maximum key length.

    Returns:
        A valid key.
    """
    key = _INVALID_KEY_CHARS.sub("_", key)
    if len(key) <= limit:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]
    keep = limit - len(digest) - 2
    head = keep // 2
    return f"{key[:head]}~{digest}~{key[len(key) - (keep - head) :]}"


def flatten_params(
    params: Mapping[str, Any] | Any, *, prefix: str = "", sep: str = "."
) -> dict[str, str]:
    """Flatten nested mappings (and dataclasses) into ``{"a.b.c": "value"}``.

    Empty mappings are kept as ``"{}"`` so that they still show up; None becomes
    ``"None"``. Keys are sanitized and values truncated to MLflow's limits.

    Args:
        params: Possibly nested parameters: a mapping or a dataclass instance.
        prefix: Prefix for every key (``"train"`` -> ``train.lr``).
        sep: Separator between levels.

    Returns:
        Flat dict of key to string value.
    """
    flat: dict[str, str] = {}

    def visit(node: Mapping[str, Any], path: str) -> None:
        for raw_key, value in node.items():
            key = f"{path}{sep}{raw_key}" if path else str(raw_key)
            child = _to_mapping(value)
            if child is None:
                flat[sanitize_key(key)] = truncate_value(format_param_value(value))
            elif child:
                visit(child, key)
            else:
                flat[sanitize_key(key)] = "{}"

    root = _to_mapping(params)
    if root is None:
        raise TypeError(f"params must be a mapping or a dataclass, got {type(params).__name__}")
    visit(root, prefix)
    return flat


def log_params_flat(
    params: Mapping[str, Any] | Any,
    *,
    prefix: str = "",
    run_id: str | None = None,
) -> dict[str, str]:
    """Log nested parameters as flat params (batched, retried on a locked store).

    MLflow params are immutable: logging a key again with a different value fails.

    Args:
        params: Possibly nested parameters (dicts, dataclasses).
        prefix: Prefix for every key.
        run_id: Run to log to; the active run by default.

    Returns:
        The flat params that were logged.
    """
    run_id = resolve_run_id(run_id)
    flat = flatten_params(params, prefix=prefix)
    client = MlflowClient()
    items = [Param(key, value) for key, value in flat.items()]
    for start in range(0, len(items), MAX_PARAMS_TAGS_PER_BATCH):
        batch = items[start : start + MAX_PARAMS_TAGS_PER_BATCH]
        retry_transient(
            functools.partial(client.log_batch, run_id, params=batch, synchronous=True),
            what="logging params",
        )
    return flat
