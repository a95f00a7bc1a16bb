"""Write the synthetic demo dataset in the UCF101 layout.

Writes ``classInd.txt``, ``trainlist01.txt``, ``testlist01.txt`` and
``<Class>/v_<Class>_gNN_cNN.mp4`` (real H.264 files), byte-for-byte
deterministic for a seed. Classes differ by motion alone; see
``components.data.synthetic``.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from components.stages._common import add_params_flag, progress, stage_config

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    add_params_flag(parser)
    parser.add_argument("--out", type=Path, default=Path("data/synthetic"), help="output folder")
    parser.add_argument("--lighting", choices=("daylight", "dark", "infrared"))
    parser.add_argument("--seed", type=int)
    parser.add_argument("--classes", nargs="+", metavar="CLASS", help="class names")
    parser.add_argument("--groups", type=int, help="UCF-style groups (scenes) per class")
    parser.add_argument("--clips-per-group", type=int)
    parser.add_argument("--test-groups", type=int, help="groups held out for the test list")
    parser.add_argument("--num-frames", type=int)
    parser.add_argument("--height", type=int)
    parser.add_argument("--width", type=int)


def run(args: argparse.Namespace) -> int:
    from components._atomic import atomic_dir
    from components.data import video
    from components.data.synthetic import SynthConfig, write_dataset

    cfg = stage_config(args, "synth", SynthConfig, {
        "lighting": args.lighting, "seed": args.seed,
        "classes": tuple(args.classes) if args.classes else None,
        "groups": args.groups, "clips_per_group": args.clips_per_group,
        "test_groups": args.test_groups, "num_frames": args.num_frames,
        "height": args.height, "width": args.width,
    })

    def write(path: Path, frames: np.ndarray, fps: int, crf: int) -> None:
        video.write_video(path, frames, fps=fps, crf=crf)

    with atomic_dir(args.out) as tmp:
        specs = write_dataset(cfg, tmp, write, progress=lambda s: progress(s, len(s), "synth"))
    log.info("wrote %d %s videos of %d classes to %s", len(specs), cfg.lighting,
             len(cfg.classes), args.out)
    return 0
