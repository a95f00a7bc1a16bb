"""Tune LIFT-Net with Ray Tune: N (4/6/8), trainable ViT blocks and learning rate, ASHA.

``har tune`` reads the ``tune:`` section (search space and schedule) with the
``train_student:`` and ``train:`` sections it varies, runs every trial as a nested
MLflow run under the sweep's run, and writes the best trial's values to
``--out`` (default ``metrics/tune_best.yaml``), which ``train_student.tuned_config``
can point at. Trials train on part of the training videos and are compared on
the held-out rest (``val/top1``), never on the test split.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from components.config import from_mapping
from components.stages._common import add_params_flag
from components.stages.train import pretrained_map, read_section, with_preset_network


def configure(parser: argparse.ArgumentParser) -> None:
    add_params_flag(parser)
    parser.add_argument("--num-samples", type=int, help="override tune.num_samples")
    parser.add_argument("--max-epochs", type=int, help="override tune.max_epochs")
    parser.add_argument("--ingest", type=Path, default=Path("data/ingest"))
    parser.add_argument("--represent", type=Path, default=Path("data/represent"))
    parser.add_argument("--out", type=Path, default=Path("metrics/tune_best.yaml"),
                        help="best config file (YAML)")


def run(args: argparse.Namespace) -> int:
    from components.jobs.config import StudentConfig
    from components.training import DataPaths, TrainSettings
    from components.tuning import TuneSettings, run_sweep

    root = Path.cwd()
    tune_values = read_section(args.params, "tune", {"num_samples": args.num_samples,
                                                     "max_epochs": args.max_epochs})
    settings = from_mapping(TuneSettings, tune_values, source=args.params, where="tune")
    train = from_mapping(TrainSettings, read_section(args.params, "train", {}),
                         source=args.params, where="train")
    student_values = with_preset_network("student", read_section(args.params, "train_student", {}),
                                         train.models_file, train.preset, root)
    student = from_mapping(StudentConfig, student_values, source=args.params,
                           where="train_student")
    out = args.out if args.out.is_absolute() else root / args.out
    result = run_sweep(settings, student, train, repo_root=root,
                       data=DataPaths(ingest=args.ingest, represent=args.represent),
                       out_file=out, pretrained=pretrained_map(train.models_file, root))
    print(json.dumps({"best": result.best, settings.metric: result.best_metric,
                      "trials": len(result.trials), "sweep_mlflow_run_id": result.sweep_run_id,
                      "out": str(result.out_file)}, sort_keys=True, default=str))
    return 0
