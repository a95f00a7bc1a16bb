"""Reading a shard folder: :class:`ShardReader` (memory-mapped, checked: every
problem is an :class:`~components.errors.InputError` naming the file and index line)."""

from __future__ import annotations

import bisect
import functools
import hashlib
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from components._json import read_json
from components.data.shards.format import (
    FORMAT,
    INDEX_FILE,
    META_FILE,
    VERSION,
    ShardRecord,
    shard_name,
)
from components.errors import InputError


class ShardReader:
    """Read records of a shard folder by memory map (no decoding, no copies).

    Opening checks meta.json, every index line and every shard file's size, and raises
    :class:`~components.errors.InputError` naming the file (and index line) at fault:
    a missing or truncated shard, a malformed index, an incomplete folder.
    :meth:`verify` also checks the SHA-256 of every shard (reads all bytes).

    Arrays returned by :meth:`read` and :meth:`read_item` are read-only views into the
    mapped files; copy them to modify. The reader can be pickled (for DataLoader
    workers): the maps are reopened lazily in the new process.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise InputError(self.root, "no such shard folder")
        meta_path = self.root / META_FILE
        if not meta_path.is_file():
            raise InputError(
                meta_path, "missing: not a complete shard folder (an unfinished or killed write?)"
            )
        self._meta = _load_meta(meta_path)
        self._dtype = np.dtype(self._meta["dtype"]).newbyteorder("<")
        self._shard_paths = [self.root / s["file"] for s in self._meta["shards"]]
        self._shard_sizes = [int(s["nbytes"]) for s in self._meta["shards"]]
        self._records = _load_index(self.root / INDEX_FILE, self._meta, self._dtype)
        self._by_key = {r.key: r for r in self._records}
        self._item_ends = np.cumsum([r.items for r in self._records]).tolist()
        self._check_shard_files()
        self._maps: dict[int, np.memmap] = {}

    # -- metadata

    @property
    def meta(self) -> dict[str, Any]:
        """The parsed meta.json (a copy)."""
        return json.loads(json.dumps(self._meta))

    @property
    def kind(self) -> str:
        return str(self._meta["kind"])

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._meta["params"])

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def layout(self) -> str:
        return str(self._meta["layout"])

    @property
    def num_items(self) -> int:
        """Items over all records."""
        return self._item_ends[-1] if self._item_ends else 0

    def keys(self) -> list[str]:
        """Record keys in stored order."""
        return [r.key for r in self._records]

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def record(self, key: str) -> ShardRecord:
        """Location, shape and metadata of ``key``'s record."""
        try:
            return self._by_key[key]
        except KeyError:
            raise KeyError(f"{key!r} is not in {self.root}") from None

    def record_meta(self, key: str) -> dict[str, Any]:
        """The per-record metadata given to :meth:`ShardWriter.add` (a copy)."""
        return json.loads(json.dumps(self.record(key).meta))

    # -- data

    def read(self, key: str) -> np.ndarray:
        """The whole record of ``key`` (read-only view, shape as written)."""
        rec = self.record(key)
        raw = self._bytes(rec.shard, rec.offset, rec.nbytes)
        return raw.view(self._dtype).reshape(rec.shape)

    def read_item(self, key: str, item: int) -> np.ndarray:
        """Item ``item`` (first-axis index, negative counts from the end) of ``key``."""
        rec = self.record(key)
        n = rec.items
        i = int(item)
        if not -n <= i < n:
            raise IndexError(f"item {item} out of range for {key!r} with {n} items")
        i %= n
        item_nbytes = rec.nbytes // n
        raw = self._bytes(rec.shard, rec.offset + i * item_nbytes, item_nbytes)
        return raw.view(self._dtype).reshape(rec.shape[1:])

    def locate(self, index: int) -> tuple[str, int]:
        """``(key, item)`` of the ``index``-th item over all records, in stored order."""
        i = int(index)
        if not 0 <= i < self.num_items:
            raise IndexError(f"item {index} out of range ({self.num_items} items)")
        r = bisect.bisect_right(self._item_ends, i)
        before = self._item_ends[r - 1] if r else 0
        return self._records[r].key, i - before

    def verify(self) -> None:
        """Check every shard's SHA-256 against meta.json (reads every byte)."""
        for path, entry in zip(self._shard_paths, self._meta["shards"], strict=True):
            h = hashlib.sha256()
            with open(path, "rb") as f:
                for chunk in iter(functools.partial(f.read, 1 << 22), b""):
                    h.update(chunk)
            if h.hexdigest() != entry["sha256"]:
                raise InputError(path, "checksum mismatch: the shard is corrupt")

    def close(self) -> None:
        """Drop the memory maps (they are reopened on the next read)."""
        self._maps.clear()

    def __enter__(self) -> ShardReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_maps"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    # -- internals

    def _bytes(self, shard: int, offset: int, nbytes: int) -> np.ndarray:
        if nbytes == 0:
            return np.empty(0, dtype=np.uint8)
        mm = self._maps.get(shard)
        if mm is None:
            mm = np.memmap(self._shard_paths[shard], dtype=np.uint8, mode="r")
            self._maps[shard] = mm
        return np.asarray(mm[offset : offset + nbytes])

    def _check_shard_files(self) -> None:
        for path, size in zip(self._shard_paths, self._shard_sizes, strict=True):
            if not path.is_file():
                raise InputError(path, "missing shard file listed in meta.json")
            actual = path.stat().st_size
            if actual < size:
                raise InputError(path, f"truncated shard: {actual} bytes on disk, {size} expected")
            if actual > size:
                raise InputError(
                    path, f"shard has {actual - size} unexpected extra bytes ({size} expected)"
                )


def _load_meta(path: Path) -> dict[str, Any]:
    meta = read_json(path)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InputError(path, f"not a {FORMAT} meta file")
    if meta.get("version") != VERSION:
        raise InputError(path, f"unsupported {FORMAT} version {meta.get('version')!r}")
    need = ("kind", "params", "dtype", "layout", "records", "shards")
    missing = [k for k in need if k not in meta]
    if missing:
        raise InputError(path, f"missing fields {missing}")
    try:
        np.dtype(meta["dtype"])
        for s in meta["shards"]:
            if not isinstance(s["file"], str) or "/" in s["file"] or s["file"].startswith("."):
                raise ValueError(f"bad shard file name {s['file']!r}")
            if int(s["nbytes"]) < 0:
                raise ValueError(f"bad size {s['nbytes']!r}")
    except (TypeError, ValueError, KeyError) as exc:
        raise InputError(path, f"malformed field: {exc}") from exc
    return meta


def _load_index(path: Path, meta: dict[str, Any], dtype: np.dtype) -> list[ShardRecord]:
    if not path.is_file():
        raise InputError(path, "missing index file")
    sizes = [int(s["nbytes"]) for s in meta["shards"]]
    records: list[ShardRecord] = []
    seen: set[str] = set()
    with open(path, encoding="ascii", errors="replace") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.endswith("\n"):
                raise InputError(path, "truncated index: last line has no newline", line=lineno)
            try:
                doc = json.loads(line)
                rec = ShardRecord(
                    key=str(doc["key"]),
                    shard=int(doc["shard"]),
                    offset=int(doc["offset"]),
                    nbytes=int(doc["nbytes"]),
                    shape=tuple(int(s) for s in doc["shape"]),
                    dtype=str(doc["dtype"]),
                    meta=dict(doc.get("meta", {})),
                )
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise InputError(path, f"malformed index line: {exc}", line=lineno) from exc
            problem = _record_problem(rec, sizes, dtype, seen)
            if problem:
                raise InputError(path, f"record {rec.key!r}: {problem}", line=lineno)
            seen.add(rec.key)
            records.append(rec)
    if len(records) != int(meta["records"]):
        raise InputError(
            path, f"index has {len(records)} records, {META_FILE} says {meta['records']}"
        )
    return records


def _record_problem(
    rec: ShardRecord, sizes: list[int], dtype: np.dtype, seen: set[str]
) -> str | None:
    if rec.key in seen:
        return "duplicate key"
    if np.dtype(rec.dtype).newbyteorder("<") != dtype:
        return f"dtype {rec.dtype} differs from {META_FILE}'s {dtype.name}"
    if not 0 <= rec.shard < len(sizes):
        return f"shard {rec.shard} does not exist ({len(sizes)} shards)"
    if any(s < 0 for s in rec.shape):
        return f"bad shape {rec.shape}"
    expected = math.prod(rec.shape) * dtype.itemsize
    if rec.nbytes != expected:
        return f"nbytes {rec.nbytes} does not match shape {rec.shape} ({expected})"
    if rec.offset < 0 or rec.offset + rec.nbytes > sizes[rec.shard]:
        return (
            f"bytes {rec.offset}..{rec.offset + rec.nbytes} lie outside "
            f"{shard_name(rec.shard)} ({sizes[rec.shard]} bytes)"
        )
    return None
