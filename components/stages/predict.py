"""The most probable actions of video files, with a registered (or a local) model.

``har predict VIDEO [VIDEO ...]`` loads the model (by default the champion
LIFT-Net, ``models:/har-lift-net@champion``, from the MLflow store:
``$MLFLOW_TRACKING_URI`` or ``mlflow.db`` in the current folder), decodes and
represents each video exactly as the model's training data was represented
(frame size, stride and representation parameters recorded with the model) and
prints the top-5 labels with their probabilities (the mean softmax over the
video's clips or MEIs; several parts, like the two streams of the MEI network,
fused).

``--model`` takes any ``models:/`` or ``runs:/`` URI of a registered video model,
a logged model folder, a trained model folder (``models/student``: no MLflow
needed), or trained folders joined by commas (``models/normal,models/motion``:
the two-stream network, equal weights). A missing or undecodable video is
reported on one line naming the file; the other videos are still predicted, and
the exit status is 2.

:func:`load_video_model` tells a folder from a URI: a folder loads with
:mod:`components.inference.loading` alone (no MLflow); a URI is resolved and
downloaded by :mod:`components.tracking.registry` first, then read the same way.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from components.inference.predictor import VideoPredictor

log = logging.getLogger(__name__)

DEFAULT_MODEL = "models:/har-lift-net@champion"


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("videos", nargs="+", type=Path, metavar="VIDEO",
                        help="video file(s) to classify")
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help=f"model URI or folder (default: {DEFAULT_MODEL}); a trained "
                             "folder such as models/student, or folders joined by commas "
                             "(models/normal,models/motion) to fuse them")
    parser.add_argument("--top", type=_positive, default=5, metavar="K",
                        help="how many labels to show per video (default: 5)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON document instead of tables")
    parser.add_argument("--format", choices=("table", "json"), default=None,
                        help="table (default) or json (the same as --json)")


def format_table(video: str, ranked: list[tuple[str, float]]) -> str:
    """A video's ranked labels as a small table.

    For example::

        v_Fall_g01_c01.mp4
          rank  label        probability
             1  Fall              0.9132
             2  Rise              0.0501
    """
    width = max([len("label"), *(len(label) for label, _ in ranked)])
    lines = [video, f"  rank  {'label':<{width}}  probability"]
    lines += [f"  {rank:>4}  {label:<{width}}  {prob:>11.4f}"
              for rank, (label, prob) in enumerate(ranked, start=1)]
    return "\n".join(lines)


def load_video_model(model: str, repo_root: Path | None = None) -> VideoPredictor:
    """A video predictor from a model URI or a local folder.

    Args:
        model: ``models:/<name>@<alias>``, ``models:/<name>/<version>``, ``runs:/...``
            (downloaded with MLflow from the tracking store: ``$MLFLOW_TRACKING_URI``,
            else ``<repo_root>/mlflow.db``); a logged pyfunc model folder (with an
            ``MLmodel`` file); a trained model folder (``models/student``); or trained
            folders joined by commas (``models/normal,models/motion``: fused with equal
            weights). Folders never import MLflow.
        repo_root: where the default SQLite store lives (the current folder by default).

    Returns:
        A :class:`~components.inference.predictor.VideoPredictor` whose ``source`` is
        the folder(s), or the URI it was downloaded from (an alias pinned to its version).

    Raises:
        ModelLoadError: the store, registered model, version or alias does not exist,
            or the model is not a video model.
        InputError: a trained folder that lacks a file or does not fit its weights.
    """
    from components.inference.loading import (
        is_local_folder,
        load_model_folder,
        predictor_from_logged_model,
    )

    if is_local_folder(model):
        return load_model_folder(model)
    from components.tracking.registry import downloaded_model

    with downloaded_model(model, Path(repo_root or Path.cwd())) as (folder, resolved):
        # The weights are in memory once loaded: the download can go.
        predictor = predictor_from_logged_model(folder, model)
    predictor.source = resolved
    return predictor


def run(args: argparse.Namespace) -> int:
    from components.errors import InputError

    if args.format == "json":
        args.json = True
    errors: list[str] = []
    videos: list[Path] = []
    for video in args.videos:
        if video.is_file():
            videos.append(video)
        else:
            reason = "is a folder, not a video file" if video.is_dir() else "video file not found"
            errors.append(str(InputError(video, reason)))
    results: list[dict[str, Any]] = []
    if videos:
        predictor = load_video_model(args.model, repo_root=Path.cwd())
        log.info("model %s (%s): %d classes, parts %s", args.model,
                 predictor.source or args.model, len(predictor.classes),
                 ", ".join(predictor.parts))
        for video in videos:
            try:
                ranked = predictor.top(video, min(args.top, len(predictor.classes)))
            except InputError as exc:
                errors.append(str(exc))
                continue
            results.append({"video": str(video), "label": ranked[0][0],
                            "probability": ranked[0][1],
                            "top": [{"rank": r, "label": label, "probability": prob}
                                    for r, (label, prob) in enumerate(ranked, start=1)]})
            if not args.json:
                print(("\n" if len(results) > 1 else "") + format_table(str(video), ranked),
                      flush=True)
    if args.json:
        print(json.dumps({"model": args.model,
                          "resolved": predictor.source if videos else None,
                          "predictions": results, "errors": errors}, indent=2))
    for error in errors:
        print(f"har predict: error: {error}", file=sys.stderr)
    return 2 if errors else 0
