"""Train one model of the pipeline on Ray Train: teacher, student, normal or motion stream.

``har train --job teacher`` trains R(2+1)D on gamma-corrected clips (or optical
flow); ``--job student`` distils LIFT-Net from the trained teacher; ``--job normal``
and ``--job motion`` train the MEI two-stream CNNs on base frames and on MEIs.
Each reads its ``train_<job>:`` section and the shared ``train:`` section of
params.yaml, the manifest (``--ingest``) and the representation shards
(``--represent``), and writes ``models/<job>/model.pt``, ``metrics/<job>.json`` and
``plots/<job>.csv``. Every run is an MLflow run; the model is registered
(har-teacher, har-lift-net, har-normal-stream, har-motion-stream) and becomes the
``champion`` only if it beats the current one on the same dataset and split.

A job killed part way resumes from its latest epoch checkpoint when the same
command runs again (``--fresh`` starts over). Set ``RAY_ADDRESS`` to train on a
Ray cluster, ``MLFLOW_TRACKING_URI`` to log to an MLflow server.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path
from typing import Any

from components.config import from_mapping, load_params, merge_overrides, section
from components.models.presets import deep_merge
from components.stages._common import add_params_flag

log = logging.getLogger(__name__)

JOB_CHOICES = ("teacher", "student", "normal", "motion")


def configure(parser: argparse.ArgumentParser) -> None:
    add_params_flag(parser)
    parser.add_argument("--job", required=True, choices=JOB_CHOICES, help="which model to train")
    parser.add_argument("--variant", default="",
                        help="a variant of the job: params section train_<job>_<variant> over "
                        "train_<job>, outputs named <job>_<variant> (e.g. student --variant "
                        "nokd: the no-KD ablation)")
    parser.add_argument("--epochs", type=int, help="override train_<job>.epochs")
    parser.add_argument("--num-workers", type=int, help="override train.num_workers (Ray workers)")
    parser.add_argument("--fresh", action="store_true",
                        help="discard this run's checkpoints and start over")
    parser.add_argument("--ingest", type=Path, default=Path("data/ingest"),
                        help="folder of manifest.csv, classes.txt, dataset.json")
    parser.add_argument("--represent", type=Path, default=Path("data/represent"),
                        help="folder of the representation shards (one folder per kind)")
    parser.add_argument("--models", type=Path, default=Path("models"),
                        help="writes <models>/<job>/model.pt and model.json")
    parser.add_argument("--metrics", type=Path, default=Path("metrics"),
                        help="writes <metrics>/<job>.json")
    parser.add_argument("--plots", type=Path, default=Path("plots"),
                        help="writes <plots>/<job>.csv and figures")
    parser.add_argument("--no-register", action="store_true",
                        help="log the run but register no model version")


def read_section(params_path: Path, name: str, overrides: dict[str, Any],
                 defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """A params section with ``defaults`` under it and non-None ``overrides`` over it."""
    params = load_params(params_path) if params_path.is_file() else {}
    values = {**(defaults or {}), **section(params, name, params_path)}
    return merge_overrides(values, overrides)


def with_preset_network(job: str, values: dict[str, Any], models_file: Path | None,
                        preset: str, root: Path) -> dict[str, Any]:
    """A job section's values with ``model`` and ``model_kwargs`` resolved: the section's
    ``model`` (null: the preset's network for the job) built with the preset's
    arguments under the section's ``model_kwargs`` (see
    :mod:`components.models.presets`). Without a preset (``train.preset`` empty or
    ``train.models_file: null``) the section's own model, or the job's default, is
    built with the section's arguments alone.

    Raises:
        ConfigError: the models file is missing or has no such preset.
    """
    from components.errors import ConfigError
    from components.models.presets import job_network, load_models_config

    model = values.get("model") or ""
    kwargs = dict(values.get("model_kwargs") or {})
    if models_file is None or not preset:
        resolved = {k: v for k, v in values.items() if k != "model"}
        return {**resolved, **({"model": model} if model else {}), "model_kwargs": kwargs}
    path = models_file if models_file.is_absolute() else root / models_file
    if not path.is_file():
        raise ConfigError(path, f"models file not found: train.preset {preset!r} is defined "
                          "there (set train.models_file, or train.preset: '' to name every "
                          "job's model in its section)")
    config = load_models_config(path)
    model, kwargs = job_network(config.preset(preset, path), job, model, kwargs, path)
    return {**values, "model": model, "model_kwargs": kwargs}


def pretrained_map(path: Path | None, root: Path) -> dict[str, str | None]:
    """The ``pretrained:`` map of conf/models.yaml, with files made absolute."""
    if path is None:
        return {}
    path = path if path.is_absolute() else root / path
    if not path.is_file():
        log.warning("%s not found: every model starts from random weights", path)
        return {}
    params = load_params(path)
    mapping = section(params, "pretrained", path)
    return {name: None if value is None else str(Path(value) if Path(value).is_absolute()
                                                  else root / value)
            for name, value in mapping.items()}


def build_request(args: argparse.Namespace, root: Path) -> Any:
    """The TrainRequest of ``har train`` arguments (params read here, and only here)."""
    from components.jobs.config import config_class, section_name
    from components.training import DataPaths, OutputPaths, TrainRequest, TrainSettings

    job = args.job
    name = section_name(job)
    defaults = {"input": "frames"} if job == "normal" else None
    values = read_section(args.params, name, {"epochs": args.epochs}, defaults)
    output_name = job
    if args.variant:
        output_name = f"{job}_{args.variant}"
        name = f"{name}_{args.variant}"
        values = deep_merge(values, read_section(args.params, name, {"epochs": args.epochs}))
    train_values = read_section(args.params, "train", {"num_workers": args.num_workers})
    settings = from_mapping(TrainSettings, train_values, source=args.params, where="train")
    values = with_preset_network(job, values, settings.models_file, settings.preset, root)
    cfg = from_mapping(config_class(job), values, source=args.params, where=name)
    from components.errors import ConfigError

    if job == "normal" and cfg.input not in ("frames", "gamma"):
        raise ConfigError(args.params, f"{name}.input must be frames or gamma (the normal "
                          "stream reads the base frame of each MEI batch from that shard); "
                          "set base_of: mei|rank")
    if job == "motion" and cfg.input not in ("mei", "rank"):
        raise ConfigError(args.params, f"{name}.input must be mei or rank")
    return TrainRequest(
        job=job, config=cfg, settings=settings,
        data=DataPaths(ingest=args.ingest, represent=args.represent),
        outputs=OutputPaths(models=args.models, metrics=args.metrics, plots=args.plots,
                            name=output_name),
        repo_root=root, fresh=bool(args.fresh),
        pretrained=pretrained_map(settings.models_file, root),
        register=not args.no_register,
        candidate_only=scratch_reason(args, root),
        # `dvc exp run` names its experiment here (har ablate's and claims' cells).
        dvc_experiment=os.environ.get("DVC_EXP_NAME", "").strip(),
    )


def scratch_reason(args: argparse.Namespace, root: Path) -> str:
    """Why a run is a scratch run that must not compete for ``champion`` ("" if not):
    the epochs, or the folder the model goes to, changed on the command line."""
    models = args.models if args.models.is_absolute() else root / args.models
    if args.epochs is not None:
        return f"a scratch run (--epochs {args.epochs} on the command line)"
    if models.resolve() != (root / "models").resolve():
        return f"a scratch run (--models {args.models})"
    return ""


def run(args: argparse.Namespace) -> int:
    from components.training import run_training

    root = Path.cwd()
    request = build_request(args, root)
    result = run_training(request)
    summary = {"job": result.job, "run": result.run_name, "mlflow_run_id": result.mlflow_run_id,
               "resumed_after_epoch": result.resumed_from, **result.metrics,
               "registered_version": result.model_version, "champion": result.promoted}
    print(json.dumps(summary, sort_keys=True))
    return 0
