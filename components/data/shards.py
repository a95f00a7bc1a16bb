"""Shards: the on-disk format of computed representations (MEIs, flow, gamma frames...).

A few large files instead of one file per frame or per video, so that DVC hashes and
moves little, and training reads by memory map without decoding anything.

Layout of a shard folder (everything little-endian, no timestamps, no absolute paths)::

    <out_dir>/
      meta.json          format, version, representation kind and parameters, dtype,
                         layout, alignment, record and item counts, and one entry per
                         shard file: name, size in bytes, record count, SHA-256
      index.jsonl        one JSON object per record, in the order they were added:
                         {"dtype", "items", "key", "meta", "nbytes", "offset",
                          "shape", "shard"}  (keys sorted, compact separators)
      shard-00000.bin    raw C-order array bytes of the records, back to back, each
      shard-00001.bin    record starting at a multiple of ``alignment`` bytes (zero
      ...                padding in between); a record never spans two shards

One record holds one video: an array of shape (K, H, W, C) (``layout``, "KHWC" by
default) whose first axis counts the items (MEIs, flow pairs, frames), plus a small
JSON-able ``meta`` mapping (for example the base-frame index of each MEI). The writer
starts a new shard when the next record would take the current one past
``shard_size_bytes`` (a record larger than that gets a shard of its own).

Writes are atomic (:func:`components._atomic.atomic_dir`): everything goes into a
temporary sibling folder, shards first, then the index, then ``meta.json``, and the
folder is renamed onto ``out_dir`` only when :meth:`ShardWriter.close` succeeds. An
exception inside ``with ShardWriter(...)`` removes the temporary folder; a killed
process leaves only a ``.tmp-<name>.*`` folder without ``meta.json``, which
:class:`ShardReader` refuses; an existing ``out_dir`` is replaced only on success.

Determinism: records are stored in the order :meth:`ShardWriter.add` is called, so the
same records added in the same order give byte-identical files. When records are
computed in parallel and finish out of order, :class:`ReorderBuffer` restores the
order chosen by the caller (for example the manifest order).
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import os
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from components._atomic import atomic_dir
from components._json import read_json
from components.errors import InputError

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
        return _dumps(doc)


def shard_name(number: int) -> str:
    """File name of shard ``number`` (``shard-00000.bin``...)."""
    return SHARD_NAME.format(number)


# --------------------------------------------------------------------------- writer


class ShardWriter:
    """Append records to shard files; commit them atomically on :meth:`close`.

    Use as a context manager::

        with ShardWriter(out, kind="mei", params={"n": 10, "interval": 5}) as w:
            for key in manifest_order:
                w.add(key, meis_khwc_uint8, meta={"base_frames": base.tolist()})

    Leaving the block normally commits; an exception aborts (nothing is left behind,
    and an existing ``out_dir`` is kept as it was).

    Args:
        out_dir: Final folder. Created (or replaced) on commit only.
        kind: Representation kind stored in meta.json (``"mei"``, ``"flow"``...).
        params: JSON-able parameters of the representation, stored in meta.json.
        dtype: dtype every record must have (no silent casting).
        layout: Axis names of every record; its length is the required ``ndim``.
        shard_size_bytes: Size at which a new shard is started.
        alignment: Every record starts at a multiple of this many bytes.
    """

    def __init__(
        self,
        out_dir: str | Path,
        *,
        kind: str,
        params: Mapping[str, Any] | None = None,
        dtype: str | np.dtype = "uint8",
        layout: str = "KHWC",
        shard_size_bytes: int = DEFAULT_SHARD_SIZE_BYTES,
        alignment: int = DEFAULT_ALIGNMENT,
    ) -> None:
        if not isinstance(kind, str) or not kind:
            raise ValueError(f"kind must be a non-empty string, got {kind!r}")
        self._dtype = np.dtype(dtype)
        if self._dtype.kind not in "biuf" or self._dtype.fields is not None:
            raise ValueError(f"dtype must be a numeric dtype, got {self._dtype}")
        self._dtype = self._dtype.newbyteorder("<")
        if not layout or not isinstance(layout, str):
            raise ValueError(f"layout must be a non-empty string, got {layout!r}")
        if int(shard_size_bytes) < 1:
            raise ValueError(f"shard_size_bytes must be >= 1, got {shard_size_bytes!r}")
        if int(alignment) < 1:
            raise ValueError(f"alignment must be >= 1, got {alignment!r}")
        self.out_dir = Path(out_dir)
        self.kind = kind
        self.params = _jsonable(dict(params or {}), "params")
        _dumps(self.params)  # fail now, not on close, when params are not JSON-able
        self.layout = layout
        self.shard_size_bytes = int(shard_size_bytes)
        self.alignment = int(alignment)

        self._records: list[ShardRecord] = []
        self._keys: set[str] = set()
        self._shards: list[dict[str, Any]] = []  # file, nbytes, records, sha256
        self._file: BinaryIO | None = None
        self._hash: Any = None
        self._size = 0  # bytes in the current shard
        self._current_records = 0
        self._current_name = ""
        self._state = "open"  # open -> committed | aborted | failed
        self._stack = ExitStack()
        self._tmp = self._stack.enter_context(atomic_dir(self.out_dir))

    # -- context manager

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # -- public API

    @property
    def records(self) -> list[ShardRecord]:
        """Records added so far, in order."""
        return list(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def add(
        self, key: str, array: np.ndarray, meta: Mapping[str, Any] | None = None
    ) -> ShardRecord:
        """Append one record (all checks happen before any byte is written).

        Args:
            key: Unique record key (the video key of the manifest).
            array: Array of the writer's dtype with ``len(layout)`` dimensions; the
                first axis counts the items.
            meta: JSON-able per-record metadata (numpy scalars and arrays are
                converted to numbers and lists).

        Returns:
            The record's location.

        Raises:
            ValueError: a duplicate or empty key, a wrong dtype or ndim, meta that is
                not JSON-able, or a writer that is already closed.
        """
        self._check_open()
        if not isinstance(key, str) or not key:
            raise ValueError(f"key must be a non-empty string, got {key!r}")
        if key in self._keys:
            raise ValueError(f"duplicate key {key!r}")
        arr = np.asarray(array)
        if arr.dtype.newbyteorder("<") != self._dtype or arr.dtype.kind != self._dtype.kind:
            raise ValueError(f"{key}: array dtype {arr.dtype} is not the writer's {self._dtype}")
        if arr.ndim != len(self.layout):
            raise ValueError(
                f"{key}: array has {arr.ndim} dimensions {arr.shape}, "
                f"layout {self.layout!r} needs {len(self.layout)}"
            )
        record_meta = _jsonable(dict(meta or {}), f"{key}: meta")
        _dumps(record_meta)
        data = np.ascontiguousarray(arr, dtype=self._dtype)
        nbytes = int(data.nbytes)

        if self._file is not None and self._size > 0:
            start = _align(self._size, self.alignment)
            if start + nbytes > self.shard_size_bytes:
                self._finish_shard()
        if self._file is None:
            self._start_shard()
        start = _align(self._size, self.alignment)
        try:
            assert self._file is not None
            pad = start - self._size
            if pad:
                self._write(b"\0" * pad)
            if nbytes:
                self._write(memoryview(data.reshape(-1)).cast("B"))
        except BaseException:
            self._state = "failed"
            raise
        record = ShardRecord(
            key=key,
            shard=len(self._shards),
            offset=start,
            nbytes=nbytes,
            shape=tuple(int(s) for s in data.shape),
            dtype=self._dtype.name,
            meta=record_meta,
        )
        self._records.append(record)
        self._keys.add(key)
        self._current_records += 1
        return record

    def close(self) -> Path:
        """Finish the last shard, write index and meta.json, move the folder in place.

        Returns:
            The final folder. Calling close again after a commit is a no-op.
        """
        if self._state == "committed":
            return self.out_dir
        self._check_open()
        try:
            if self._file is not None:
                self._finish_shard()
            index_text = "".join(r.to_json() + "\n" for r in self._records)
            _write_synced(self._tmp / INDEX_FILE, index_text.encode("ascii"))
            _write_synced(self._tmp / META_FILE, (_dumps(self._meta(), indent=2) + "\n").encode())
        except BaseException:
            self.abort()
            raise
        self._state = "committed"
        self._stack.close()  # atomic_dir: rename the temporary folder onto out_dir
        return self.out_dir

    def abort(self) -> None:
        """Drop everything written so far; ``out_dir`` is left as it was."""
        if self._state in ("committed", "aborted"):
            return
        self._state = "aborted"
        if self._file is not None:
            self._file.close()
            self._file = None
        # Unwind atomic_dir with an error: it removes the temporary folder.
        self._stack.__exit__(_Aborted, _Aborted("shard write aborted"), None)

    # -- internals

    def _check_open(self) -> None:
        if self._state != "open":
            raise ValueError(f"ShardWriter for {self.out_dir} is {self._state}")

    def _start_shard(self) -> None:
        name = shard_name(len(self._shards))
        self._file = open(self._tmp / name, "wb")  # noqa: SIM115 - closed in _finish_shard
        self._hash = hashlib.sha256()
        self._size = 0
        self._current_records = 0
        self._current_name = name

    def _write(self, buf: bytes | memoryview) -> None:
        assert self._file is not None
        self._file.write(buf)
        self._hash.update(buf)
        self._size += len(buf)

    def _finish_shard(self) -> None:
        assert self._file is not None
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        self._shards.append(
            {
                "file": self._current_name,
                "nbytes": self._size,
                "records": self._current_records,
                "sha256": self._hash.hexdigest(),
            }
        )

    def _meta(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "kind": self.kind,
            "params": self.params,
            "dtype": self._dtype.name,
            "byte_order": "little",
            "layout": self.layout,
            "alignment": self.alignment,
            "shard_size_bytes": self.shard_size_bytes,
            "index": INDEX_FILE,
            "records": len(self._records),
            "items": sum(r.items for r in self._records),
            "shards": self._shards,
        }


class _Aborted(Exception):
    """Thrown into atomic_dir to make it discard the temporary folder."""


class ReorderBuffer:
    """Feed a :class:`ShardWriter` in a fixed order while results arrive in any order.

    Each result carries its position in the caller's order (0, 1, 2, ...; for example
    the manifest row). Results are held until every earlier position has been added
    or skipped (a quarantined video), then written in order. Memory use is the
    results that arrived early.
    """

    def __init__(self, writer: ShardWriter, start: int = 0) -> None:
        self.writer = writer
        self._next = int(start)
        self._held: dict[int, tuple[str, np.ndarray, Mapping[str, Any] | None] | None] = {}

    @property
    def next_position(self) -> int:
        """The position that is written next."""
        return self._next

    @property
    def pending(self) -> int:
        """Results held back, waiting for an earlier position."""
        return len(self._held)

    def put(
        self,
        position: int,
        key: str,
        array: np.ndarray,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        """Accept the result for ``position``; write it and any now-ready followers."""
        self._accept(position, (key, array, meta))

    def skip(self, position: int) -> None:
        """Mark ``position`` as having no record (for example a quarantined video)."""
        self._accept(position, None)

    def finish(self) -> None:
        """Check that nothing is left waiting (every position up to the last was seen)."""
        if self._held:
            missing = self._next
            raise ValueError(
                f"{len(self._held)} result(s) wait for position {missing}, which never came"
            )

    def _accept(self, position: int, item) -> None:
        position = int(position)
        if position < self._next or position in self._held:
            raise ValueError(f"position {position} was already given")
        self._held[position] = item
        while self._next in self._held:
            ready = self._held.pop(self._next)
            self._next += 1
            if ready is not None:
                self.writer.add(*ready)


# --------------------------------------------------------------------------- reader


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
                for chunk in iter(lambda f=f: f.read(1 << 22), b""):
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


# --------------------------------------------------------------------------- helpers


def _align(n: int, alignment: int) -> int:
    return -(-n // alignment) * alignment


def _dumps(obj: Any, indent: int | None = None) -> str:
    separators = (",", ": ") if indent else (",", ":")
    return json.dumps(
        obj,
        sort_keys=True,
        separators=separators,
        indent=indent,
        ensure_ascii=True,
        allow_nan=False,
    )


def _jsonable(obj: Any, where: str) -> Any:
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
        return _jsonable(obj.tolist(), where)
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise ValueError(f"{where}: keys must be strings, got {k!r}")
            out[k] = _jsonable(v, f"{where}.{k}")
        return out
    if isinstance(obj, list | tuple):
        return [_jsonable(v, where) for v in obj]
    if isinstance(obj, os.PathLike):
        raise ValueError(f"{where}: paths are not stored (keep shard metadata relocatable)")
    raise ValueError(f"{where}: {type(obj).__name__} is not JSON-able")


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
