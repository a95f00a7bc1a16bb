"""Probe every listed video of a dataset and write the manifest.

Reads the dataset's own split files (``--format``), probes each listed video with
PyAV and writes ``manifest.csv`` (usable videos), ``quarantine.csv`` (unusable
ones, with the reason), ``classes.txt`` and ``dataset.json`` into ``--out``.
An unusable video never fails the run; a malformed split file does, naming the
file and line.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from components.stages._common import add_params_flag, progress, stage_config

log = logging.getLogger(__name__)

FORMAT_CHOICES = ("ucf101", "hmdb51", "arid", "seags", "folder")


@dataclass(frozen=True)
class IngestConfig:
    """params.yaml ``ingest:``.

    Attributes:
        root: dataset root folder.
        format: split-file format (see ``components.data.formats``).
        split: which official split (1-3); ignored where a format has one.
        lists_dir: where the split files are, if not at the root or the
            folder the dataset ships them in.
        probe: ``header``, ``packets`` (default: exact frame count, catches
            truncation) or ``decode`` (decode every frame; slowest, strictest).
        workers: probing threads.
        seed: seed of the ``folder`` format's 70/30 split.
        lighting: ``daylight``, ``dark`` or ``infrared`` as declared by a dataset
            config, or ``auto``: measured from a sample of the usable videos
            (``components.data.lighting``). Recorded in ``dataset.json``; training
            jobs with ``input: auto`` pick their luminous input from it. Every
            usable video's own mean luma goes into the manifest (``luminance``)
            whatever this says: the evaluation's per-lighting breakdown reads it.
        licence: the dataset's licence terms as its config states them (recorded in
            ``dataset.json``; model cards quote it). Empty: not stated.
    """

    root: Path = Path("data/synthetic")
    format: Literal["ucf101", "hmdb51", "arid", "seags", "folder"] = "ucf101"
    split: int = 1
    lists_dir: Path | None = None
    probe: Literal["header", "packets", "decode"] = "packets"
    workers: int = 2
    seed: int = 0
    lighting: Literal["auto", "daylight", "dark", "infrared"] = "auto"
    licence: str = ""


def configure(parser: argparse.ArgumentParser) -> None:
    add_params_flag(parser)
    parser.add_argument("--root", type=Path, help="dataset root folder")
    parser.add_argument("--format", choices=FORMAT_CHOICES, help="split-file format")
    parser.add_argument("--split", type=int, help="official split number (1-3)")
    parser.add_argument("--lists-dir", type=Path, help="folder holding the split files")
    parser.add_argument("--probe", choices=("header", "packets", "decode"))
    parser.add_argument("--workers", type=int)
    parser.add_argument("--lighting", choices=("auto", "daylight", "dark", "infrared"),
                        help="the dataset's lighting; auto: measured from its frames")
    parser.add_argument("--out", type=Path, default=Path("data/ingest"), help="output folder")


def _lighting(cfg: IngestConfig, videos: list[Path]) -> dict[str, object]:
    """``lighting`` (declared, else measured), where it came from, and the measurement."""
    from components.data.lighting import measure_lighting

    measured = measure_lighting(videos)
    record: dict[str, object] = {
        "lighting_measured": None if measured is None else {
            "lighting": measured.lighting, "mean_luma": round(measured.mean_luma, 4),
            "chroma": round(measured.chroma, 4), "videos": measured.videos},
    }
    if cfg.lighting != "auto":
        if measured is not None and measured.lighting != cfg.lighting:
            log.warning("ingest.lighting says %s; the frames look %s (mean luma %.3f): "
                        "keeping the declared %s", cfg.lighting, measured.lighting,
                        measured.mean_luma, cfg.lighting)
        return {"lighting": cfg.lighting, "lighting_source": "declared", **record}
    if measured is None:
        log.warning("no video decoded to measure the lighting; jobs with input: auto will "
                    "need ingest.lighting")
        return {"lighting": None, "lighting_source": "unknown", **record}
    log.info("lighting: %s (measured on %d videos: mean luma %.3f)", measured.lighting,
             measured.videos, measured.mean_luma)
    return {"lighting": measured.lighting, "lighting_source": "measured", **record}


def run(args: argparse.Namespace) -> int:
    from components.data.formats import parse_dataset
    from components.data.ingest import ingest_split
    from components.data.manifest import (
        CLASSES_FILE,
        DATASET_FILE,
        MANIFEST_FILE,
        QUARANTINE_FILE,
        write_classes,
        write_dataset_info,
        write_manifest,
        write_quarantine,
    )
    from components.errors import InputError

    cfg = stage_config(args, "ingest", IngestConfig, {
        "root": args.root, "format": args.format, "split": args.split,
        "lists_dir": args.lists_dir, "probe": args.probe, "workers": args.workers,
        "lighting": args.lighting,
    })
    if not cfg.root.is_dir():
        raise InputError(cfg.root, "dataset root is not a folder")
    split = parse_dataset(cfg.root, cfg.format, cfg.split, lists_dir=cfg.lists_dir, seed=cfg.seed)
    result = ingest_split(
        split, cfg.root, depth=cfg.probe, workers=cfg.workers,
        progress=lambda it, n: progress(it, n, "ingest"),
    )
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    # Write the manifest last: a stage killed before it leaves no complete-looking output.
    write_classes(out / CLASSES_FILE, split.classes)
    write_quarantine(out / QUARANTINE_FILE, result.quarantined)
    counts = {
        "listed": len(split.entries),
        "usable": len(result.rows),
        "quarantined": len(result.quarantined),
        "unlisted_ignored": result.unlisted,
        "train": sum(r.split == "train" for r in result.rows),
        "test": sum(r.split == "test" for r in result.rows),
        "classes": len(split.classes),
    }
    write_dataset_info(out / DATASET_FILE, {
        "root": str(cfg.root), "format": cfg.format, "split": cfg.split,
        "list_files": [str(p) for p in split.list_files], **counts,
        **({"licence": cfg.licence.strip()} if cfg.licence.strip() else {}),
        **_lighting(cfg, [cfg.root / row.path for row in result.rows]),
    })
    write_manifest(out / MANIFEST_FILE, result.rows)
    for row in result.quarantined:
        log.warning("quarantined %s: %s", row.path, row.reason)
    log.info(
        "%(usable)d usable videos (%(train)d train, %(test)d test) of %(listed)d listed; "
        "%(quarantined)d quarantined; %(unlisted_ignored)d unlisted files ignored", counts,
    )
    return 0
