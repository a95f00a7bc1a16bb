"""Preparing a training job, with no Ray and no MLflow: join the manifest and the
shards, check them against the config, resolve the luminous input and the tuned
config, build the worker plan and the run's fingerprint (:func:`prepare_training`)."""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from components._hashing import file_sha256
from components.config import as_plain
from components.data.manifest import dataset_labels
from components.errors import ConfigError, InputError
from components.jobs.config import JobConfig, StudentConfig, section_name
from components.jobs.data import JobData, VideoEntry, index_job_data
from components.jobs.datasets import flip_label_map
from components.training.checkpoint import (
    META_FILE,
    make_fingerprint,
)
from components.training.holdout import holdout_split
from components.training.request import Prepared, TrainRequest
from components.training.session import ModelPlan, TeacherPlan, WorkerPlan
from components.training.settings import OPERATIONAL_SETTINGS, TrainSettings

log = logging.getLogger(__name__)


def apply_tuned_config(cfg: StudentConfig, root: Path) -> StudentConfig:
    """``cfg`` with a ``har tune`` result applied (depth, trainable_vit_blocks, lr)."""
    if cfg.tuned_config is None:
        return cfg
    import yaml

    path = cfg.tuned_config if cfg.tuned_config.is_absolute() else root / cfg.tuned_config
    if not path.is_file():
        raise InputError(path, "tuned config not found (run `har tune`, or set "
                         "train_student.tuned_config: null)")
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    best = doc.get("best", doc)
    if not isinstance(best, Mapping):
        raise InputError(path, "expected a mapping with depth, trainable_vit_blocks, lr")
    kwargs = dict(cfg.model_kwargs)
    for key in ("depth", "trainable_vit_blocks"):
        if key in best:
            kwargs[key] = best[key]
    lr = float(best["lr"]) if "lr" in best else cfg.lr
    return dataclasses.replace(cfg, model_kwargs=kwargs, lr=lr, min_lr=min(cfg.min_lr, lr))


def _model_plan(job: str, cfg: JobConfig, data: JobData, request: TrainRequest,
                teacher_info: Mapping[str, Any] | None) -> ModelPlan:
    from components.models import model_spec, resolve_pretrained
    from components.representations.kinds import channels_of

    kwargs: dict[str, Any] = {"num_classes": data.num_classes}
    if job == "teacher":
        kwargs["in_channels"] = channels_of(cfg.input)
    elif job == "student":
        kwargs["img_size"] = cfg.height if cfg.height == cfg.width else (cfg.height, cfg.width)
        kwargs["luminous_in_channels"] = channels_of(cfg.input)
        if teacher_info is not None:  # the luminous trunk is the teacher's
            # Here only: the teacher module imports torchvision (1-2 s in a 2D job's driver).
            from components.models.teacher import TORCHVISION_WIDTH

            kwargs["luminous_arch"] = teacher_info["model"]
            kwargs["luminous_width"] = int(teacher_info.get("model_kwargs", {}).get(
                "width", TORCHVISION_WIDTH))
        elif "train_luminous_trunk" not in cfg.model_kwargs:
            kwargs["train_luminous_trunk"] = True  # no teacher: the trunk must learn
    kwargs.update(cfg.model_kwargs)
    if job == "student" and teacher_info is None:
        # No KD changes one thing only: the trunk starts where the teacher started
        # (its architecture's pretrained file when configured), not from the teacher.
        arch = kwargs.get("luminous_arch", "r2plus1d_18")
        start = dict(request.pretrained).get(arch)
        if start is not None and kwargs.get("luminous_pretrained_path") is None:
            kwargs["luminous_pretrained_path"] = str(start)
    kwargs = resolve_pretrained(cfg.model, kwargs, dict(request.pretrained))
    spec = model_spec(cfg.model)
    import inspect

    try:
        inspect.signature(spec.builder).bind(**kwargs)
    except TypeError as exc:
        raise ConfigError(Path(f"{section_name(job)}.model_kwargs"),
                          f"{cfg.model} does not take these arguments: {exc}") from None
    for key, value in kwargs.items():
        if key.endswith(("pretrained_path", "_path")) and value is not None and \
                not Path(value).is_file():
            raise InputError(Path(value), f"weight file for {cfg.model}.{key} not found")
    return ModelPlan(cfg.model, kwargs)


def _teacher(cfg: StudentConfig, data: JobData, root: Path) -> tuple[TeacherPlan | None,
                                                                    dict[str, Any] | None]:
    if not cfg.kd:
        return None, None
    from components.models.folder import MODEL_FILE, MODEL_INFO_FILE, read_model_info

    folder = cfg.teacher if cfg.teacher.is_absolute() else root / cfg.teacher
    info = read_model_info(folder)
    weights = folder / MODEL_FILE
    if not weights.is_file():
        raise InputError(weights, "trained teacher weights not found (har train --job teacher)")
    info_path = folder / MODEL_INFO_FILE
    if info.get("input") != cfg.input:
        raise ConfigError(info_path, f"the teacher was trained on '{info.get('input')}' but "
                          f"train_student.input is '{cfg.input}': the student's luminous "
                          "input must be the teacher's")
    if list(info.get("classes", [])) != list(data.classes):
        raise InputError(info_path, "the teacher was trained on other classes than "
                         "classes.txt lists now; retrain the teacher")
    return TeacherPlan(ModelPlan(info["model"], dict(info["model_kwargs"])), weights), info


def _model_label(job: str, plan: ModelPlan, cfg: JobConfig) -> str:
    if job == "student":
        return f"lift_net-n{plan.kwargs.get('depth', 'small')}-{cfg.input}"
    return f"{plan.name}-{cfg.input}"


def is_local_storage(storage: str) -> bool:
    return "://" not in storage or storage.startswith("file://")


def local_storage_path(storage: str) -> Path:
    return Path(storage[len("file://"):] if storage.startswith("file://") else storage)


def resolve_luminous_input(job: str, cfg: JobConfig, ingest_dir: Path, root: Path) -> JobConfig:
    """``input: auto`` made concrete (teacher and student): a distilled student reads
    its teacher's input; otherwise the dataset's lighting decides (gamma for dark
    video, flow for daylight and infrared, as the paper does).

    Raises:
        InputError: ``auto`` with no lighting recorded at ingest.
    """
    if job not in ("teacher", "student") or cfg.input != "auto":
        return cfg
    from components.data.lighting import luminous_input
    from components.data.manifest import DATASET_FILE, read_dataset_info

    if job == "student" and getattr(cfg, "kd", True):
        from components.models.folder import read_model_info

        folder = cfg.teacher if cfg.teacher.is_absolute() else root / cfg.teacher  # type: ignore[attr-defined]
        teacher_input = read_model_info(folder).get("input")
        if teacher_input in ("frames", "gamma", "flow"):
            log.info("%s.input auto: the teacher's, %s", section_name(job), teacher_input)
            return dataclasses.replace(cfg, input=teacher_input)
    info_path = ingest_dir / DATASET_FILE
    lighting = read_dataset_info(info_path).get("lighting")
    if lighting is None:
        raise InputError(info_path, f"no lighting recorded: set ingest.lighting (daylight, dark, "
                         f"infrared) or {section_name(job)}.input (gamma, flow)")
    chosen = luminous_input(str(lighting))
    log.info("%s.input auto: %s (the dataset's lighting is %s)", section_name(job), chosen,
             lighting)
    return dataclasses.replace(cfg, input=chosen)


def prune_checkpoints(run_dir: Path) -> tuple[int, int]:
    """Delete the epoch checkpoints of a finished run; (how many, bytes freed)."""
    removed, freed = 0, 0
    for folder in sorted(run_dir.glob("epoch-*")):
        if folder.is_dir():
            freed += sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
            shutil.rmtree(folder)
            removed += 1
    return removed, freed


def resolve_threads(settings: TrainSettings, total_cpus: int) -> int:
    """CPUs (and torch threads) per worker: the setting, or the CPUs divided evenly."""
    if settings.cpus_per_worker:
        return settings.cpus_per_worker
    return max(1, total_cpus // settings.num_workers)


def prepare_training(request: TrainRequest, total_cpus: int | None = None) -> Prepared:
    """Check inputs against the config and build the plan (no Ray, no MLflow).

    Raises:
        InputError, ConfigError: before any training starts.
    """
    job, root = request.job, request.repo_root.resolve()
    section = section_name(job)
    cfg = request.config
    if job == "student":
        cfg = apply_tuned_config(cfg, root)  # type: ignore[arg-type]
    paths = request.data.resolved(root)
    cfg = resolve_luminous_input(job, cfg, paths.ingest, root)
    data = index_job_data(job, cfg, paths.ingest, paths.represent, section, root=root)
    train, evaluated, val_fraction = _hold_out_validation(request, data, paths.ingest)
    prefix = "val"
    _check_batch_fits(job, cfg, train, section)
    teacher, teacher_info = (None, None)
    if job == "student":
        teacher, teacher_info = _teacher(cfg, data, root)  # type: ignore[arg-type]
    model = _model_plan(job, cfg, data, request, teacher_info)

    settings = request.settings
    computed = {k: v for k, v in as_plain(settings).items() if k not in OPERATIONAL_SETTINGS}
    inputs = _input_hashes(paths.represent, data, teacher, model)
    fingerprint = make_fingerprint(
        {"job": job, section: as_plain(cfg), "train": computed, "model_kwargs": model.kwargs,
         "evaluate_on": prefix, "val_fraction": val_fraction},
        manifest_sha256=file_sha256(paths.ingest / "manifest.csv"), model=model.name,
        inputs=inputs,
    )
    cpus = total_cpus or os.cpu_count() or 1
    plan = WorkerPlan(
        job=job, config=cfg, settings=settings, model=model, teacher=teacher,
        roots={k: Path(v) for k, v in data.roots.items()}, kinds=dict(data.kinds),
        train=tuple(train), eval=tuple(evaluated), num_classes=data.num_classes,
        eval_prefix=prefix, fingerprint=fingerprint,
        threads=resolve_threads(settings, cpus),
        find_unused_parameters=job == "student" and (
            not getattr(cfg, "kd", True) or getattr(cfg, "kd_target", "logits") == "logits"),
        test=() if request.trial is not None else tuple(data.test),  # trials never see it
        flip_map=flip_label_map(cfg.augment.flip_pairs, data.classes,
                                f"{section}.augment.flip_pairs"),
    )
    run_name, storage = _run_location(request, fingerprint.short, root)
    labels = dataset_labels(data.dataset_info)
    labels["model"] = _model_label(job, model, cfg)
    return Prepared(request=request, config=cfg, data=data, plan=plan, fingerprint=fingerprint,
                    run_name=run_name, storage_path=storage, labels=labels)


def _hold_out_validation(request: TrainRequest, data: JobData, ingest_dir: Path
                         ) -> tuple[tuple[VideoEntry, ...], tuple[VideoEntry, ...], float]:
    """(train, validation) videos and the fraction held out: the request's, else the
    settings'.

    Raises:
        InputError: a fraction to hold out, but too few videos to hold any out.
    """
    val_fraction = request.settings.val_fraction if request.val_fraction is None \
        else request.val_fraction
    train, evaluated = holdout_split(data.train, val_fraction, request.settings.seed)
    if val_fraction > 0 and not evaluated:
        raise InputError(ingest_dir / "manifest.csv", "too few training videos to hold "
                         "out a validation set (set train.val_fraction: 0 to train without)")
    return train, evaluated, val_fraction


def _check_batch_fits(job: str, cfg: JobConfig, train: Sequence[VideoEntry],
                      section: str) -> None:
    """Raise :class:`ConfigError` unless one batch fits in the training samples (the
    image jobs' samples are items, the clip jobs' videos)."""
    samples = sum(len(e.base_positions) or e.items for e in train) if job in ("normal", "motion") \
        else len(train)
    if samples < cfg.batch_size:
        raise ConfigError(Path(section), f"batch_size {cfg.batch_size} is larger than the "
                          f"{samples} training samples")


def _input_hashes(represent_dir: Path, data: JobData, teacher: TeacherPlan | None,
                  model: ModelPlan) -> dict[str, str]:
    """Name -> SHA-256 of each input file the run depends on besides the manifest:
    the shards' meta.json, the teacher's weights, pretrained weights named by path."""
    inputs = {f"shards.{kind}": file_sha256(represent_dir / kind / META_FILE)
              for kind in sorted(set(data.kinds.values()))}
    if teacher is not None:
        inputs["teacher"] = file_sha256(teacher.weights)
    for key, value in model.kwargs.items():
        if key.endswith("_path") and value is not None:
            inputs[f"weights.{key}"] = file_sha256(Path(value))
    return inputs


def _run_location(request: TrainRequest, short: str, root: Path) -> tuple[str, str]:
    """(run name, storage path): a Tune trial's own, else ``<job>-<short fingerprint>``
    in the settings' storage (a relative local path taken from ``root``)."""
    job = request.job
    if request.trial is not None:
        return f"{job}-trial-{request.trial.trial_id}", request.trial.storage_path
    storage = request.settings.storage_path
    if is_local_storage(storage) and not Path(local_storage_path(storage)).is_absolute():
        storage = str((root / local_storage_path(storage)).resolve())
    return f"{job}-{short}", storage
