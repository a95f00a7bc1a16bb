"""The ``har`` command: one sub-command per pipeline stage.

Each stage lives in ``components.stages.<name>`` (the commands that run a Prefect
flow over DVC experiments in ``flows.commands.<name>``: the entry point is the one
place that may reach above ``components/``) and exposes ``configure(parser)`` and
``run(args) -> int``. Stage modules keep heavy imports (torch, ray, av) inside
``run`` so that ``har --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from components._console import quiet_libraries, set_verbose, verbose
from components._lifetime import stop_with_parent, terminate_as_interrupt, under_dvc
from components.errors import HarError

# (sub-command, module, one-line help), in pipeline order.
STAGES: tuple[tuple[str, str, str], ...] = (
    ("synth", "components.stages.synth", "write the synthetic demo dataset (UCF101 layout)"),
    ("ingest", "components.stages.ingest", "probe a dataset's videos; write manifest, quarantine"),
    ("represent", "components.stages.represent", "compute MEI / gamma / flow / rank shards"),
    ("show", "components.stages.show", "picture of every representation of a video (PNG)"),
    ("train", "components.stages.train", "train teacher, student or a two-stream CNN on Ray Train"),
    ("tune", "components.stages.tune", "sweep LIFT-Net's N, trainable ViT blocks, lr (Ray Tune)"),
    ("evaluate", "components.stages.evaluate", "video-level results of every model, registration"),
    ("predict", "components.stages.predict", "top-5 actions of a video with a registered model"),
    ("explain", "components.stages.explain", "picture of where a model looks in a video (PNG)"),
    ("stream", "components.stages.stream", "live labels of a video file, camera or RTSP stream"),
    ("export", "components.stages.export", "ONNX / TorchScript export, checked: parity, latency"),
    ("plots", "components.stages.plots", "DVC's plots as a page that renders offline"),
    ("models", "components.stages.models", "table of every model: parameters and FLOPs per clip"),
    ("ablate", "flows.commands.ablate", "LIFT-Net and MEI ablation tables (DVC experiments)"),
    ("claims", "flows.commands.claims", "the papers' claims checked on this dataset"),
    ("with-ray", "components.stages.with_ray", "run a command whose stages share one Ray head"),
)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("har-pipeline")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="har", description="har-pipeline: action recognition in any light."
    )
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show everything: debug logging, and Ray's and MLflow's own "
                        "output (by default: progress, one line per epoch, warnings)")
    parser.add_argument("--version", action="version", version=f"har {_version()}")
    sub = parser.add_subparsers(dest="stage", metavar="STAGE", required=True)
    for name, module_name, help_text in STAGES:
        module = importlib.import_module(module_name)
        # The module docstring is the stage's manual: keep its lines and lists.
        stage_parser = sub.add_parser(name, help=help_text, description=module.__doc__,
                                      formatter_class=argparse.RawDescriptionHelpFormatter)
        module.configure(stage_parser)
        stage_parser.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    set_verbose(args.verbose or verbose())
    quiet_libraries()
    logging.basicConfig(
        level=logging.DEBUG if verbose() else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    terminate_as_interrupt()
    if under_dvc():
        stop_with_parent()  # a killed `dvc repro` takes its stage with it
    try:
        return int(args._run(args) or 0)
    except HarError as exc:
        print(f"har {args.stage}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"har {args.stage}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
