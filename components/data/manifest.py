"""The manifest: one row per usable video, the contract between ingest and every later stage.

Files written by ``har ingest`` into its output folder:

* ``manifest.csv``: ``MANIFEST_COLUMNS``, one row per usable video, paths
  relative to the dataset root (POSIX separators); ``luminance`` (the video's mean
  BT.601 luma, 0..1, empty when not measured) is optional on reading: manifests
  written before it existed still read, their videos' lighting bucket is unknown;
* ``quarantine.csv``: ``path,reason`` for each listed video that cannot be used;
* ``classes.txt``: ``<label_index> <name>`` per line, 0-based;
* ``dataset.json``: the dataset root, format, split and counts.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any, Literal

from components._atomic import write_text_atomic
from components._json import read_json
from components.errors import InputError

Split = Literal["train", "test"]

MANIFEST_FILE = "manifest.csv"
QUARANTINE_FILE = "quarantine.csv"
CLASSES_FILE = "classes.txt"
DATASET_FILE = "dataset.json"


@dataclass(frozen=True)
class ManifestRow:
    """One usable video."""

    path: str
    label: str
    label_index: int
    split: Split
    num_frames: int
    fps: float
    width: int
    height: int
    duration_s: float
    codec: str
    pix_fmt: str
    luminance: float | None = None


MANIFEST_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(ManifestRow))
#: Columns a manifest may lack (written by an older ingest).
OPTIONAL_COLUMNS: tuple[str, ...] = ("luminance",)


@dataclass(frozen=True)
class QuarantineRow:
    """One listed video that cannot be used, and why."""

    path: str
    reason: str


def _csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def write_manifest(path: Path, rows: Sequence[ManifestRow]) -> None:
    write_text_atomic(path, _csv_text(MANIFEST_COLUMNS, (astuple(r) for r in rows)))


def write_quarantine(path: Path, rows: Sequence[QuarantineRow]) -> None:
    write_text_atomic(path, _csv_text(("path", "reason"), ((r.path, r.reason) for r in rows)))


def write_classes(path: Path, classes: Sequence[str]) -> None:
    write_text_atomic(path, "".join(f"{i} {name}\n" for i, name in enumerate(classes)))


def write_dataset_info(path: Path, info: dict[str, Any]) -> None:
    write_text_atomic(path, json.dumps(info, indent=2, sort_keys=True) + "\n")


def read_classes(path: Path) -> list[str]:
    """Read ``classes.txt``; indices must run 0..K-1 in order."""
    if not path.is_file():
        raise InputError(path, "class list not found (run `har ingest` first)")
    names: list[str] = []
    for lineno, raw in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        index, _, name = line.partition(" ")
        if not index.isdigit() or not name.strip():
            raise InputError(path, f"expected '<index> <name>', got {raw!r}", line=lineno)
        if int(index) != len(names):
            raise InputError(path, f"expected index {len(names)}, got {index}", line=lineno)
        names.append(name.strip())
    if not names:
        raise InputError(path, "class list is empty")
    return names


def read_manifest(path: Path) -> list[ManifestRow]:
    """Read and validate ``manifest.csv``; a malformed row names the file and line."""
    if not path.is_file():
        raise InputError(path, "manifest not found (run `har ingest` first)")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in MANIFEST_COLUMNS
                   if c not in OPTIONAL_COLUMNS and c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(path, f"missing column(s) {', '.join(missing)}", line=1)
        rows = []
        for record in reader:
            lineno = reader.line_num
            try:
                rows.append(
                    ManifestRow(
                        path=record["path"],
                        label=record["label"],
                        label_index=int(record["label_index"]),
                        split=_split(record["split"]),
                        num_frames=int(record["num_frames"]),
                        fps=float(record["fps"]),
                        width=int(record["width"]),
                        height=int(record["height"]),
                        duration_s=float(record["duration_s"]),
                        codec=record["codec"],
                        pix_fmt=record["pix_fmt"],
                        luminance=_optional_float(record.get("luminance")),
                    )
                )
            except (TypeError, ValueError) as exc:
                raise InputError(path, f"malformed row: {exc}", line=lineno) from exc
    return rows


def _optional_float(value: str | None) -> float | None:
    return None if value is None or not value.strip() else float(value)


def _split(value: str) -> Split:
    if value not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {value!r}")
    return value  # type: ignore[return-value]


def read_dataset_info(path: Path) -> dict[str, Any]:
    return read_json(path, missing="dataset info not found (run `har ingest` first)")


def dataset_labels(info: dict[str, Any]) -> dict[str, str]:
    """How runs, results and the registry name a dataset, from its ``dataset.json``.

    Returns:
        ``dataset`` (``<format>-<root folder name>``), ``split`` (``split<N>``) and
        ``key`` (``<dataset>/<split>``: champions are compared only on one key).
    """
    root = Path(str(info.get("root", "dataset"))).name or "dataset"
    dataset = f"{info.get('format', 'unknown')}-{root}"
    split = f"split{info.get('split', 1)}"
    return {"dataset": dataset, "split": split, "key": f"{dataset}/{split}"}
