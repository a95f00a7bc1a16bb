"""Writing a shard folder: :class:`ShardWriter` (atomic, deterministic) and
:class:`ReorderBuffer` (records computed out of order, added in order)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import numpy as np

from components._atomic import atomic_dir
from components.data.shards.format import (
    DEFAULT_ALIGNMENT,
    DEFAULT_SHARD_SIZE_BYTES,
    FORMAT,
    INDEX_FILE,
    META_FILE,
    VERSION,
    ShardRecord,
    align_up,
    canonical_json,
    shard_name,
    to_jsonable,
    write_synced,
)


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
        self.params = to_jsonable(dict(params or {}), "params")
        canonical_json(self.params)  # fail now, not on close, when params are not JSON-able
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

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
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
        data, record_meta = self._checked(key, array, meta)
        nbytes = int(data.nbytes)
        start = self._append(data)
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

    def _checked(self, key: str, array: np.ndarray, meta: Mapping[str, Any] | None
                 ) -> tuple[np.ndarray, dict[str, Any]]:
        """:meth:`add`'s checks: the array as written (contiguous, little-endian) and
        the record's JSON-able meta."""
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
        record_meta = to_jsonable(dict(meta or {}), f"{key}: meta")
        canonical_json(record_meta)
        return np.ascontiguousarray(arr, dtype=self._dtype), record_meta

    def _append(self, data: np.ndarray) -> int:
        """Write ``data`` at the next aligned offset, in a new shard when it would
        overflow the current one (never in an empty one): the offset in its shard."""
        nbytes = int(data.nbytes)
        if self._file is not None and self._size > 0:
            start = align_up(self._size, self.alignment)
            if start + nbytes > self.shard_size_bytes:
                self._finish_shard()
        if self._file is None:
            self._start_shard()
        start = align_up(self._size, self.alignment)
        try:
            assert self._file is not None
            pad = start - self._size
            if pad:
                self._write(b"\0" * pad)
            if nbytes:
                self._write(data.reshape(-1).data.cast("B"))
        except BaseException:
            self._state = "failed"
            raise
        return start

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
            write_synced(self._tmp / INDEX_FILE, index_text.encode("ascii"))
            meta_text = canonical_json(self._meta(), indent=2) + "\n"
            write_synced(self._tmp / META_FILE, meta_text.encode())
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

    def _accept(self, position: int,
                item: tuple[str, np.ndarray, Mapping[str, Any] | None] | None) -> None:
        position = int(position)
        if position < self._next or position in self._held:
            raise ValueError(f"position {position} was already given")
        self._held[position] = item
        while self._next in self._held:
            ready = self._held.pop(self._next)
            self._next += 1
            if ready is not None:
                self.writer.add(*ready)
