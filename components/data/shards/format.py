"""The shard format's constants, its index record, and the helpers writer and reader
share (canonical JSON, alignment); see :mod:`components.data.shards`."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "har-shards"
VERSION = 1
META_FILE = "meta.json"
INDEX_FILE = "index.jsonl"
SHARD_NAME = "shard-{:05d}.bin"
DEFAULT_SHARD_SIZE_BYTES = 1 << 30  # 1 GiB
DEFAULT_ALIGNMENT = 64


@dataclass(frozen=True)
class ShardRecord:
    """Where one record lives: ``nbytes`` bytes at ``offset`` in shard number ``shard``."""

    key: str
    shard: int
    offset: int
    nbytes: int
    shape: tuple[int, ...]
    dtype: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def items(self) -> int:
        """Number of items (length of the first axis)."""
        return self.shape[0] if self.shape else 1

    def to_json(self) -> str:
        """The record's index line (without newline): sorted keys, compact, ASCII."""
        doc = {
            "dtype": self.dtype,
            "items": self.items,
            "key": self.key,
            "meta": self.meta,
            "nbytes": self.nbytes,
            "offset": self.offset,
            "shape": list(self.shape),
            "shard": self.shard,
        }
        return canonical_json(doc)


def shard_name(number: int) -> str:
    """File name of shard ``number`` (``shard-00000.bin``...)."""
    return SHARD_NAME.format(number)


def align_up(n: int, alignment: int) -> int:
    return -(-n // alignment) * alignment


def canonical_json(obj: Any, indent: int | None = None) -> str:
    separators = (",", ": ") if indent else (",", ":")
    return json.dumps(
        obj,
        sort_keys=True,
        separators=separators,
        indent=indent,
        ensure_ascii=True,
        allow_nan=False,
    )


def to_jsonable(obj: Any, where: str) -> Any:
    """``obj`` with numpy scalars/arrays and tuples turned into JSON types; else ValueError."""
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int | np.integer) and not isinstance(obj, np.bool_):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, float | np.floating):
        value = float(obj)
        if not math.isfinite(value):
            raise ValueError(f"{where}: {value} cannot be stored (not finite)")
        return value
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist(), where)
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise ValueError(f"{where}: keys must be strings, got {k!r}")
            out[k] = to_jsonable(v, f"{where}.{k}")
        return out
    if isinstance(obj, list | tuple):
        return [to_jsonable(v, where) for v in obj]
    if isinstance(obj, os.PathLike):
        raise ValueError(f"{where}: paths are not stored (keep shard metadata relocatable)")
    raise ValueError(f"{where}: {type(obj).__name__} is not JSON-able")


def write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
