"""Where a trained model looks when it labels a video: one PNG a person reads at a glance.

``har explain VIDEO --model models/<job> [--out FILE.png]`` predicts the video
as ``har predict`` does (same decoding and representation parameters, same
video-level probability) and draws, under a title with the predicted label and
its probability:

* LIFT-Net (``models/student``): a few frames of the middle clip, each with its
  cross-attention and Fourier-block map (``components.explain.lift_maps``);
* the 2D streams (``models/normal``, ``models/motion``, or both joined by a
  comma, fused like ``har predict``): the middle MEI's base frame and the MEI,
  each with the Grad-CAM of the predicted class.

Only local trained folders are read (no MLflow).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", type=Path, metavar="VIDEO", help="the video file to explain")
    parser.add_argument("--model", required=True,
                        help="a trained model folder (models/student, models/motion), or "
                             "models/normal,models/motion for the two-stream pair")
    parser.add_argument("--out", type=Path, default=None, metavar="FILE.png",
                        help="where to write the picture (default: explain_<video>.png)")


def run(args: argparse.Namespace) -> int:
    from components.errors import InputError
    from components.explain import explain_video, load_parts
    from components.training.outputs import save_figure

    if not args.video.is_file():
        raise InputError(args.video, "video file not found")
    out = args.out or Path(f"explain_{args.video.stem}.png")
    parts = load_parts(args.model)
    explanation = explain_video(parts, args.video)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_figure(explanation.figure, out)
    print(f"{args.video}: {explanation.label} ({explanation.probability:.4f}); wrote {out}",
          flush=True)
    return 0
