"""Export a trained model to ONNX or TorchScript, with proof it is the same model.

``har export MODEL --format onnx|torchscript`` loads a trained model folder
(``models/teacher``, ``models/student``, ``models/normal``, ``models/motion``; or
``models/normal,models/motion``: the fused two-stream network, equal weights),
exports it (``exports/<job>.onnx`` / ``.ts.pt`` by default; ``--out FILE``) and
checks the export on real clips: evaluation samples of the shards the model was
trained on (``--ingest``, ``--represent``; the test split), or of one video file
(``--video``), made by the evaluation's own datasets. It prints

* parity: the largest absolute difference between PyTorch's and the export's
  softmax probabilities, per clip and per video (must be <= 1e-4);
* latency: median seconds per clip on the CPU of PyTorch and of the export
  (onnxruntime or TorchScript), at the same intra-op thread count (``--threads``),
  and their ratio.

A JSON report is written beside the export (``<file>.json``). When ``model.json``
records an MLflow run (``mlflow_run_id``) and a tracking store exists, both figures
are logged as metrics on the run and as tags on its registered model version(s); an
unreachable store is a warning, never a failed export. A model with an operator the
exporter cannot translate stops with an error naming the operator. Exit status 1:
the export's probabilities differ by more than the tolerance.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from components.export.proof import Clip
    from components.inference.trained import TrainedModel

log = logging.getLogger(__name__)

DEFAULT_OUT_DIR = Path("exports")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL",
                        help="trained model folder (models/student), or the normal and "
                             "motion folders joined by a comma: the fused two-stream network")
    parser.add_argument("--format", choices=("onnx", "torchscript"), default="onnx",
                        dest="fmt", help="export format (default: onnx)")
    parser.add_argument("--out", type=Path, default=None, metavar="FILE",
                        help=f"export file (default: {DEFAULT_OUT_DIR}/<job>.onnx or .ts.pt)")
    parser.add_argument("--clips", type=_positive, default=16, metavar="N",
                        help="real clips the parity check compares (default: 16)")
    parser.add_argument("--ingest", type=Path, default=Path("data/ingest"),
                        help="manifest folder of the shards (default: data/ingest)")
    parser.add_argument("--represent", type=Path, default=Path("data/represent"),
                        help="shard folders (default: data/represent)")
    parser.add_argument("--video", type=Path, default=None,
                        help="take the clips from this video instead of the shards")
    parser.add_argument("--threads", type=_positive, default=1,
                        help="intra-op threads for both latencies (default: 1)")
    parser.add_argument("--repeats", type=_positive, default=20,
                        help="timed calls per latency (median; default: 20)")
    parser.add_argument("--opset", type=_positive, default=18, help="ONNX opset (default: 18)")


def _source(args: argparse.Namespace) -> dict[str, Any]:
    """Where the clips come from: the video, else the shards (when they exist)."""
    from components.errors import InputError

    if args.video is not None:
        return {"video": args.video}
    if not (args.ingest / "manifest.csv").is_file():
        raise InputError(args.ingest, "no shards here to take real clips from: "
                         "run har ingest/represent, point --ingest/--represent at them, "
                         "or give a video with --video")
    return {"ingest_dir": args.ingest, "represent_dir": args.represent}


def _load(model_arg: str, count: int, source: dict[str, Any]
          ) -> tuple[Any, str, list[Clip], list[TrainedModel]]:
    """(module, name, clips, trained parts) of MODEL."""
    from components.errors import InputError
    from components.export.clips import fused_clips, model_clips
    from components.inference.trained import load_trained
    from components.models.two_stream import TwoStreamNet

    folders = [Path(f) for f in model_arg.split(",") if f]
    if len(folders) == 1:
        trained = load_trained(folders[0])
        return trained.model, trained.job, model_clips(trained, count, **source), [trained]
    if len(folders) != 2:
        raise InputError(Path(model_arg), "give one model folder, or two (normal,motion)")
    normal, motion = (load_trained(f) for f in folders)
    if (normal.job, motion.job) != ("normal", "motion"):
        raise InputError(Path(model_arg), f"the fused network takes a normal and a motion "
                         f"stream, in that order; got {normal.job}, {motion.job}")
    if normal.classes != motion.classes:
        raise InputError(folders[1], f"has other classes than {folders[0]}")
    fused = TwoStreamNet(normal.model, motion.model).eval()
    return fused, "two_stream", fused_clips(normal, motion, count, **source), [normal, motion]


def _log_to_mlflow(parts: list[Any], prefix: str, figures: dict[str, float]) -> list[str]:
    """Metrics on each part's run, tags on its registered versions; what was logged
    (:func:`components.tracking.registry.log_export_figures`)."""
    run_ids = [p.info["mlflow_run_id"] for p in parts if p.info.get("mlflow_run_id")]
    if not run_ids:
        return []
    from components.tracking.registry import log_export_figures

    return log_export_figures(run_ids, prefix, figures, repo_root=Path.cwd())


def run(args: argparse.Namespace) -> int:
    import torch

    from components._atomic import write_text_atomic
    from components.export import export_model, latency, open_runner, parity
    from components.export.formats import SUFFIX
    from components.export.proof import PARITY_TOLERANCE
    from components.export.runners import TorchRunner

    model, name, clips, parts = _load(args.model, args.clips, _source(args))
    out = args.out or DEFAULT_OUT_DIR / f"{name}{SUFFIX[args.fmt]}"
    example = {n: torch.from_numpy(a) for n, a in clips[0][1].items()}
    log.info("exporting %s (%s) to %s", args.model, name, out)
    export_model(model, example, out, args.fmt, name=name, opset=args.opset)

    torch_runner = TorchRunner(model, threads=args.threads)
    exported = open_runner(out, threads=args.threads)
    proof = parity(torch_runner, exported, clips)
    torch_s = latency(torch_runner, clips[0][1], args.threads, args.repeats)
    export_s = latency(exported, clips[0][1], args.threads, args.repeats)
    figures = {"max_abs_diff": proof.max_abs_diff_video, "max_abs_diff_clip": proof.max_abs_diff,
               "latency_s": export_s, "torch_latency_s": torch_s,
               "latency_ratio": export_s / torch_s if torch_s > 0 else float("nan")}
    logged = _log_to_mlflow(parts, f"export_{args.fmt}" if name != "two_stream"
                            else f"export_two_stream_{args.fmt}", figures)
    report = {
        "model": args.model, "network": name, "format": args.fmt, "file": str(out),
        "runtime": exported.name, "threads": args.threads, "repeats": args.repeats,
        "inputs": {n: list(a.shape) for n, a in clips[0][1].items()},
        "parity": {**proof.as_dict(), "tolerance": PARITY_TOLERANCE, "ok": proof.ok()},
        "latency_s": {"torch": torch_s, exported.name: export_s,
                      "ratio": figures["latency_ratio"]},
        "mlflow": logged,
    }
    write_text_atomic(Path(f"{out}.json"), json.dumps(report, indent=2) + "\n")
    verdict = "ok" if proof.ok() else f"FAILED (> {PARITY_TOLERANCE:g})"
    print(f"{name} -> {out} ({args.fmt})\n"
          f"  parity   max |p_torch - p_{exported.name}|: video {proof.max_abs_diff_video:.2e}, "
          f"clip {proof.max_abs_diff:.2e} over {proof.clips} clips of {proof.videos} videos "
          f"(top-1 agreement {proof.top1_agreement:.0%}): {verdict}\n"
          f"  latency  torch {torch_s * 1e3:.2f} ms/clip, {exported.name} {export_s * 1e3:.2f} "
          f"ms/clip ({figures['latency_ratio']:.2f}x torch) on {args.threads} thread(s)\n"
          f"  report   {out}.json" + (f"\n  mlflow   {', '.join(logged)}" if logged else ""),
          flush=True)
    if not proof.ok():
        print(f"har export: error: {out}: probabilities differ from PyTorch's by "
              f"{max(proof.max_abs_diff, proof.max_abs_diff_video):.2e} "
              f"(> {PARITY_TOLERANCE:g})", file=sys.stderr)
        return 1
    return 0
