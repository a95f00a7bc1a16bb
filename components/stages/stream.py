"""Live action labels of a video file, a camera or an RTSP stream.

``har stream SOURCE --model models/<job>`` reads SOURCE (a video file,
``/dev/videoN``, or an ``rtsp://`` URL) frame by frame, keeps the last window of
frames (one MEI batch for the two-stream network, one clip for the teacher and
LIFT-Net) and prints the most probable label of every window as it comes::

    12.38-13.50 s  MoveLeft  0.93  latency 41 ms

then a summary: windows ready, scored and dropped, and the real-time factor
(media seconds / wall seconds; above 1 is faster than real time). Windows that
become ready while the model is still busy wait in a queue of one; a newer one
replaces it and the older counts as dropped.

A file is read as fast as the machine goes (nothing dropped; the real-time factor
measures the whole pipeline); ``--realtime`` plays it at its frame rate, as a camera
would deliver it. ``--model`` takes what ``har predict`` takes: a trained folder
(no MLflow needed), folders joined by commas (``models/normal,models/motion``: the
two-stream network) or a ``models:/`` URI. ``--out annotated.mp4`` writes the video
with the current label and probability drawn on every frame.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from components.stages.predict import DEFAULT_MODEL, _positive

log = logging.getLogger(__name__)


def _seconds(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SOURCE",
                        help="video file, camera device (/dev/video0) or rtsp:// URL")
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help=f"model folder(s) or URI, as for har predict "
                             f"(default: {DEFAULT_MODEL})")
    parser.add_argument("--out", type=Path, default=None, metavar="FILE",
                        help="write the video with the current label drawn on it (mp4)")
    parser.add_argument("--hop", type=_positive, default=None, metavar="N",
                        help="frames between windows (default: the window length)")
    parser.add_argument("--max-seconds", type=_seconds, default=None, metavar="S",
                        help="stop after S seconds of media")
    parser.add_argument("--realtime", action="store_true",
                        help="play a file at its frame rate (windows may drop)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per window, then the summary")


def load_predictor(model: str) -> Any:
    """A VideoPredictor, loaded as har predict loads one (trained folders without MLflow)."""
    from components.stages.predict import load_video_model

    return load_video_model(model, repo_root=Path.cwd())


def draw_label(rgb: Any, text: str) -> Any:
    """A copy of ``rgb`` (H, W, 3) with ``text`` on a dark band at the top."""
    import cv2
    import numpy as np

    out = np.ascontiguousarray(rgb).copy()
    h, w = out.shape[:2]
    scale = max(0.3, w / 320)
    thickness = 1 if w < 480 else 2
    (_, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    band = th + base + 4
    out[:min(band, h)] = (out[:min(band, h)] * 0.35).astype(np.uint8)
    cv2.putText(out, text, (2, th + 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255),
                thickness, cv2.LINE_AA)
    return out


def format_window(result: Any) -> str:
    """``12.38-13.50 s  MoveLeft  0.93  latency 41 ms``."""
    return (f"{result.start_s:.2f}-{result.end_s:.2f} s  {result.label}  "
            f"{result.probability:.2f}  latency {result.latency_s * 1000:.0f} ms")


def run(args: argparse.Namespace) -> int:
    from components.data.video import VideoError, VideoWriter
    from components.errors import InputError
    from components.inference.streaming import PyAVSource, StreamRunner
    from components.inference.windows import decode_sizes, model_window, predictor_classifier

    source_text = str(args.source)
    if "://" not in source_text and not source_text.startswith("/dev/video") \
            and not Path(source_text).is_file():
        raise InputError(Path(source_text), "video file not found")
    predictor = load_predictor(args.model)
    window = model_window(predictor)
    sizes = decode_sizes(predictor)
    try:
        source = PyAVSource(source_text, size=sizes[0], native=args.out is not None)
    except VideoError as exc:
        raise InputError(Path(source_text), exc.reason) from exc
    runner = StreamRunner(predictor_classifier(predictor), predictor.classes, window,
                          hop=args.hop, realtime=args.realtime, max_seconds=args.max_seconds)
    log.info("model %s: window %d frames, hop %d, %s at %.2f fps", predictor.source or
             args.model, window, runner.hop, "live" if source.live else "file", source.fps)
    writer = VideoWriter(args.out, source.fps) if args.out is not None else None

    def annotate(frame: Any, current: Any) -> None:
        if writer is not None:
            text = (f"{current.label} {current.probability:.2f}" if current is not None
                    else "...")
            writer.write(draw_label(frame.native, text))

    try:
        for result in runner.run(source, on_frame=annotate if writer else None):
            print(json.dumps(result.as_dict()) if args.json else format_window(result),
                  flush=True)
    finally:
        if writer is not None:
            writer.close()
    stats = runner.stats
    if args.json:
        print(json.dumps({"summary": stats.as_dict(), "window_frames": window,
                          "hop": runner.hop, "fps": source.fps,
                          "out": str(args.out) if args.out else None}))
    else:
        print(f"{stats.windows} windows ({stats.scored} scored, {stats.dropped} dropped) "
              f"over {stats.media_s:.2f} s of video in {stats.wall_s:.2f} s: real-time "
              f"factor {stats.real_time_factor:.2f}, model busy {stats.busy_s:.2f} s"
              + (f"; annotated video: {args.out}" if args.out else ""))
    if stats.frames == 0:
        print(f"har stream: error: {source_text}: no frames decoded", file=sys.stderr)
        return 2
    return 0
