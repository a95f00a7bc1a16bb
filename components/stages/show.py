"""Draw every representation of a video side by side (PNG).

``har show VIDEO --out FILE.png`` writes one row per sampled batch: base frame |
gradient MEI | equal MEI | gamma-corrected | flow | rank-pooled image, using the
``represent`` parameters. ``har show --per-class --manifest M --out DIR`` writes
one picture per class (the first test video of each), as the demo does. Frames
are enlarged to at least 128 px a side (``--scale N``: exactly N times).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from components.stages._common import add_params_flag, stage_config

if TYPE_CHECKING:
    from components.stages.represent import RepresentConfig

log = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    add_params_flag(parser)
    parser.add_argument("video", nargs="?", type=Path, help="a video file")
    parser.add_argument("--out", type=Path, required=True,
                        help="PNG file (or folder with --per-class)")
    parser.add_argument("--per-class", action="store_true",
                        help="one picture per class from the manifest")
    parser.add_argument("--manifest", type=Path, default=Path("data/ingest/manifest.csv"))
    parser.add_argument("--rows", type=int, default=4, help="batches (rows) to show")
    parser.add_argument("--scale", type=int, default=0,
                        help="enlarge frames N times (nearest neighbour); 0: to at least "
                             "128 px a side")


def _write_panel(video: Path, out: Path, cfg: RepresentConfig, rows: int, scale: int, title: str,
                 row_label: str = "") -> None:
    from components._atomic import atomic_path
    from components._figures import png_bytes
    from components.data.video import decode_frames
    from components.errors import InputError
    from components.representations.panel import MIN_CELL_PX, representation_panel

    result = decode_frames(video, size=(cfg.height, cfg.width))
    if len(result.frames) < 2:
        raise InputError(video, f"cannot draw: {result.error or 'fewer than 2 frames'}")
    if result.error:
        log.warning("%s: %s; drawing the frames read", video, result.error)
    # --scale N: exactly N times the frame size; 0: large enough to see the actor
    min_cell = scale * min(cfg.height, cfg.width) if scale > 0 else MIN_CELL_PX
    fig = representation_panel(result.frames, cfg.kind_params(), rows, title, row_label,
                               min_cell_px=min_cell)
    with atomic_path(out) as tmp:
        tmp.write_bytes(png_bytes(fig))
    log.info("wrote %s", out)


def run(args: argparse.Namespace) -> int:
    from components.data.manifest import (
        DATASET_FILE,
        dataset_labels,
        read_dataset_info,
        read_manifest,
    )
    from components.errors import InputError
    from components.stages.represent import RepresentConfig

    cfg = stage_config(args, "represent", RepresentConfig, {})
    if not args.per_class:
        if args.video is None:
            raise InputError(Path("."), "give a VIDEO, or --per-class with a manifest")
        _write_panel(args.video, args.out, cfg, args.rows, args.scale, args.video.name,
                     args.video.stem)
        return 0
    rows = read_manifest(args.manifest)
    info = read_dataset_info(args.manifest.parent / DATASET_FILE)
    root, dataset = Path(info["root"]), dataset_labels(info)["dataset"]
    chosen: dict[str, tuple[str, str]] = {}
    for row in sorted(rows, key=lambda r: (r.split != "test", r.path)):
        chosen.setdefault(row.label, (row.path, row.split))
    args.out.mkdir(parents=True, exist_ok=True)
    for label, (rel, split) in sorted(chosen.items()):
        _write_panel(root / rel, args.out / f"{label}.png", cfg, args.rows, args.scale,
                     f"{label} — {rel} ({dataset}, {split} split)",
                     f"{label}\n{Path(rel).stem}")
    return 0
