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

from components.data.shards.format import (
    DEFAULT_ALIGNMENT,
    DEFAULT_SHARD_SIZE_BYTES,
    FORMAT,
    INDEX_FILE,
    META_FILE,
    SHARD_NAME,
    VERSION,
    ShardRecord,
    shard_name,
)
from components.data.shards.reader import ShardReader
from components.data.shards.writer import ReorderBuffer, ShardWriter

__all__ = [
    "DEFAULT_ALIGNMENT",
    "DEFAULT_SHARD_SIZE_BYTES",
    "FORMAT",
    "INDEX_FILE",
    "META_FILE",
    "SHARD_NAME",
    "VERSION",
    "ReorderBuffer",
    "ShardReader",
    "ShardRecord",
    "ShardWriter",
    "shard_name",
]
