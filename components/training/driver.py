"""The training driver: checks, MLflow run, Ray TorchTrainer, outputs, registry.

:func:`run_training` is what ``har train --job ...`` (and every ``har tune`` trial)
calls::

    prepare_training()      no Ray, no MLflow: join manifest and shards, check them
                            against the config (InputError before any training),
                            build the WorkerPlan and the run's fingerprint
    run folder              <storage>/<job>-<fingerprint[:8]>; an existing latest
                            checkpoint is verified (fingerprint) before anything starts
    MLflow                  setup_tracking (store + experiment, before any worker);
                            a new run, or the run recorded in the run folder
                            (har_run.json) when resuming; params, resolved config,
                            provenance (input hashes, library versions, git commit)
    TorchTrainer.fit()      ScalingConfig(num_workers, use_gpu), RunConfig(name,
                            storage_path, FailureConfig(max_failures)); the workers
                            run components.training.loop; EpochMetricsLogger logs
                            each epoch after its checkpoint is registered; rank 0's
                            progress is drawn on the driver's terminal
                            (components.training.progress), while Ray's own worker
                            output is forwarded only with ``har -v``
    finish                  final checkpoint -> models/<job>/model.pt, metrics and
                            plots for DVC, figures and checkpoint to MLflow, model
                            logged as an MLflow pyfunc video model (video paths in,
                            top-5 out) with a signature, registered, and
                            promoted to champion only if it beats the champion on
                            the same dataset key

Resuming: Ray Train V2 keeps a snapshot of the registered checkpoints in the run
folder (``checkpoint_manager_snapshot.json``) and, when a trainer starts with the
same ``RunConfig(name, storage_path)``, hands the latest one to the workers
(``ray.train.get_checkpoint()``). The run folder is named after the fingerprint,
so another config or dataset never even sees it; the driver also verifies the
latest checkpoint's fingerprint before starting (and the workers again before
loading). A killed job therefore resumes from its last completed epoch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import os
import shutil
import sys
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components._atomic import write_text_atomic
from components._console import verbose
from components._hashing import file_sha256
from components.data.manifest import dataset_labels
from components.errors import ConfigError, HarError, InputError
from components.training.checkpoint import (
    META_FILE,
    STATE_FILE,
    Fingerprint,
    latest_checkpoint,
    make_fingerprint,
    read_checkpoint_meta,
    verify_checkpoint,
)
from components.training.config import (
    OPERATIONAL_SETTINGS,
    DataPaths,
    JobConfig,
    OutputPaths,
    StudentConfig,
    TrainSettings,
    as_plain,
    section_name,
)
from components.training.data import JobData, flip_label_map, holdout_split, index_job_data
from components.training.run_lock import exclusive_run
from components.training.session import ABORT_KEY, ModelPlan, TeacherPlan, WorkerPlan

log = logging.getLogger(__name__)

RUN_STATE_FILE = "har_run.json"
#: Registered model name of each job.
REGISTERED_NAMES = {"teacher": "har-teacher", "student": "har-lift-net",
                    "normal": "har-normal-stream", "motion": "har-motion-stream"}


class TrainingError(HarError):
    """Training failed or stopped (worker errors after retries, a non-finite loss)."""


@dataclass(frozen=True)
class TrialContext:
    """Set when a run is one trial of a ``har tune`` sweep.

    Attributes:
        parent_run_id: the sweep's MLflow run (the trial's run nests under it).
        tracking_uri: the sweep's store.
        trial_id: Tune's trial id (names the Ray run).
        storage_path: where the trial's Ray run folder goes.
    """

    parent_run_id: str
    tracking_uri: str
    trial_id: str
    storage_path: str


@dataclass(frozen=True)
class TrainRequest:
    """One training job, fully specified.

    Attributes:
        job: ``teacher``, ``student``, ``normal`` or ``motion``.
        config: the job's section (resolved: flags applied).
        settings: the ``train:`` section.
        data: input folders (made absolute against ``repo_root``).
        outputs: DVC output folders, or None (Tune trials write none).
        repo_root: repository root (MLflow's default store, relative paths).
        fresh: discard the run folder and start over.
        pretrained: network name -> local weight file (``conf/models.yaml``).
        val_fraction: the share of training videos held out for model selection
            (``val/*``); None: ``settings.val_fraction``. 0: no validation (the last
            epoch is the model). The test split is never evaluated per epoch.
        trial: set for Tune trials.
        register: log and register the model (and move the champion alias).
        candidate_only: why this run must not compete for ``champion`` (a scratch run:
            epochs or output folder changed on the command line); "" for a
            production run. Its version gets the ``challenger`` alias.
        dvc_experiment: the DVC experiment running this job (``DVC_EXP_NAME``, read
            by the stage), "" outside one: tagged ``har.dvc_exp`` on the run (har
            ablate finds its runs by it) and never promoted to ``champion``.
    """

    job: str
    config: JobConfig
    settings: TrainSettings
    data: DataPaths = DataPaths()
    outputs: OutputPaths | None = OutputPaths()
    repo_root: Path = Path(".")
    fresh: bool = False
    pretrained: Mapping[str, str | None] = field(default_factory=dict)
    val_fraction: float | None = None
    trial: TrialContext | None = None
    register: bool = True
    candidate_only: str = ""
    dvc_experiment: str = ""


@dataclass(frozen=True)
class Prepared:
    """A checked job, ready to run (what :func:`prepare_training` returns)."""

    request: TrainRequest
    config: JobConfig
    data: JobData
    plan: WorkerPlan
    fingerprint: Fingerprint
    run_name: str
    storage_path: str
    labels: dict[str, str]


@dataclass(frozen=True)
class TrainResult:
    """What a finished run produced.

    Attributes:
        metrics: final metrics (``top1`` video-level, ``top5``, ``mean_class_acc``...).
        history: one record per epoch.
        resumed_from: the epoch the run resumed after (0: started fresh).
        model_version: registered version, None when not registered.
        promoted: whether the champion alias moved to it.
    """

    job: str
    run_name: str
    run_dir: str
    mlflow_run_id: str
    metrics: dict[str, float]
    history: list[dict[str, float]]
    resumed_from: int = 0
    model_version: str | None = None
    promoted: bool | None = None
    decision: str = ""


# --------------------------------------------------------------------------- preparing


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
    from components.models.teacher import TORCHVISION_WIDTH
    from components.representations.kinds import channels_of

    kwargs: dict[str, Any] = {"num_classes": data.num_classes}
    if job == "teacher":
        kwargs["in_channels"] = channels_of(cfg.input)
    elif job == "student":
        kwargs["img_size"] = cfg.height if cfg.height == cfg.width else (cfg.height, cfg.width)
        kwargs["luminous_in_channels"] = channels_of(cfg.input)
        if teacher_info is not None:  # the luminous trunk is the teacher's
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
    from components.training.outputs import MODEL_FILE, read_model_info

    folder = cfg.teacher if cfg.teacher.is_absolute() else root / cfg.teacher
    info = read_model_info(folder)
    weights = folder / MODEL_FILE
    if not weights.is_file():
        raise InputError(weights, "trained teacher weights not found (har train --job teacher)")
    info_path = folder / "model.json"
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


def _is_local(storage: str) -> bool:
    return "://" not in storage or storage.startswith("file://")


def _local_path(storage: str) -> Path:
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
    from components.data.manifest import DATASET_FILE

    if job == "student" and getattr(cfg, "kd", True):
        from components.training.outputs import read_model_info

        folder = cfg.teacher if cfg.teacher.is_absolute() else root / cfg.teacher  # type: ignore[attr-defined]
        teacher_input = read_model_info(folder).get("input")
        if teacher_input in ("frames", "gamma", "flow"):
            log.info("%s.input auto: the teacher's, %s", section_name(job), teacher_input)
            return dataclasses.replace(cfg, input=teacher_input)
    info_path = ingest_dir / DATASET_FILE
    try:
        lighting = json.loads(info_path.read_text()).get("lighting")
    except (OSError, ValueError) as exc:
        raise InputError(info_path, f"cannot read the dataset's lighting: {exc}") from exc
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
    val_fraction = request.settings.val_fraction if request.val_fraction is None \
        else request.val_fraction
    prefix = "val"
    train, evaluated = holdout_split(data.train, val_fraction, request.settings.seed)
    if val_fraction > 0 and not evaluated:
        raise InputError(paths.ingest / "manifest.csv", "too few training videos to hold "
                         "out a validation set (set train.val_fraction: 0 to train without)")
    samples = sum(len(e.base_positions) or e.items for e in train) if job in ("normal", "motion") \
        else len(train)
    if samples < cfg.batch_size:
        raise ConfigError(Path(section), f"batch_size {cfg.batch_size} is larger than the "
                          f"{samples} training samples")
    teacher, teacher_info = (None, None)
    if job == "student":
        teacher, teacher_info = _teacher(cfg, data, root)  # type: ignore[arg-type]
    model = _model_plan(job, cfg, data, request, teacher_info)

    settings = request.settings
    computed = {k: v for k, v in as_plain(settings).items() if k not in OPERATIONAL_SETTINGS}
    inputs = {f"shards.{kind}": file_sha256(paths.represent / kind / META_FILE)
              for kind in sorted(set(data.kinds.values()))}
    if teacher is not None:
        inputs["teacher"] = file_sha256(teacher.weights)
    for key, value in model.kwargs.items():
        if key.endswith("_path") and value is not None:
            inputs[f"weights.{key}"] = file_sha256(Path(value))
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
    if request.trial is not None:
        run_name = f"{job}-trial-{request.trial.trial_id}"
        storage = request.trial.storage_path
    else:
        run_name = f"{job}-{fingerprint.short}"
        storage = settings.storage_path
        if _is_local(storage) and not Path(_local_path(storage)).is_absolute():
            storage = str((root / _local_path(storage)).resolve())
    labels = dataset_labels(data.dataset_info)
    labels["model"] = _model_label(job, model, cfg)
    return Prepared(request=request, config=cfg, data=data, plan=plan, fingerprint=fingerprint,
                    run_name=run_name, storage_path=storage, labels=labels)


# --------------------------------------------------------------------------- run state


def read_run_state(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / RUN_STATE_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        log.warning("ignoring unreadable %s", path)
        return None


def write_run_state(run_dir: Path, state: Mapping[str, Any]) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(run_dir / RUN_STATE_FILE, json.dumps(dict(state), indent=2,
                                                           sort_keys=True) + "\n")


# --------------------------------------------------------------------------- Ray


def ensure_ray(num_cpus: int | None = None) -> None:
    """Join ``$RAY_ADDRESS``, else start a local Ray (:func:`components.ray_head.connect_ray`)."""
    from components.ray_head import connect_ray

    connect_ray(num_cpus or os.cpu_count())


def cluster_cpus() -> int:
    import ray

    return max(1, int(ray.cluster_resources().get("CPU", os.cpu_count() or 1)))


def resolve_use_gpu(setting: bool | str) -> bool:
    """``auto``: CUDA on the driver, or GPUs in the connected Ray cluster."""
    if setting != "auto":
        return bool(setting)
    import ray
    import torch

    return torch.cuda.is_available() or ray.cluster_resources().get("GPU", 0) > 0


def _failure_message(error: BaseException) -> str:
    failures = getattr(error, "worker_failures", None)
    if failures:
        rank, exc = sorted(failures.items())[0]
        text = str(exc).strip().splitlines()
        return f"worker {rank}: {text[-1] if text else type(exc).__name__}"
    cause = getattr(error, "controller_failure", None)
    return str(cause or error).strip().splitlines()[-1] if str(cause or error).strip() \
        else type(error).__name__


#: Times a worker group that could not start (no free CPUs or GPUs within Ray's
#: 60 s start-up window) is tried again before the run fails. Ray's default is
#: unbounded: a sweep whose trials cannot be placed then waits forever.
WORKER_GROUP_START_RETRIES = 2


def _placement_hint(error: BaseException) -> str:
    """What to do when the workers could not be placed, else ''."""
    cause = getattr(error, "controller_failure", None) or error
    if "StartupTimeout" not in type(cause).__name__:
        return ""
    import ray

    free = ray.available_resources().get("CPU", 0.0)
    return (f" (free CPUs in the Ray cluster: {free:g}; lower train.num_workers or "
            f"train.cpus_per_worker, or stop what holds them)")


def fit(prepared: Prepared, callbacks: Sequence[Any] = ()) -> Any:
    """Build the TorchTrainer and run it; returns Ray's ``Result``.

    Args:
        prepared: the checked job.
        callbacks: Ray Train ``UserCallback``s (the MLflow epoch logger, Tune's).
    """
    import ray.train
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    from components.training.loop import train_loop_per_worker

    settings = prepared.plan.settings
    use_gpu = resolve_use_gpu(settings.use_gpu)
    threads = prepared.plan.threads
    resources = {"CPU": threads, **({"GPU": 1} if use_gpu else {})}
    env = {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    # A Tune trial draws no progress: Tune's own status is the sweep's display.
    display = _progress_display(prepared) if prepared.request.trial is None else None
    trainer = TorchTrainer(
        train_loop_per_worker,
        train_loop_config={"plan": prepared.plan,
                           "progress": display.sender() if display is not None else None},
        scaling_config=ScalingConfig(num_workers=settings.num_workers, use_gpu=use_gpu,
                                     resources_per_worker=resources),
        run_config=RunConfig(
            name=prepared.run_name,
            storage_path=prepared.storage_path,
            failure_config=FailureConfig(max_failures=settings.max_failures,
                                         controller_failure_limit=WORKER_GROUP_START_RETRIES),
            checkpoint_config=CheckpointConfig(num_to_keep=settings.keep_checkpoints),
            callbacks=list(callbacks),
            worker_runtime_env={"env_vars": env},
        ),
    )
    log.info("training %s: %d worker(s) x %d CPU%s, run %s in %s", prepared.request.job,
             settings.num_workers, threads, " + 1 GPU" if use_gpu else "",
             prepared.run_name, prepared.storage_path)
    try:
        with display if display is not None else contextlib.nullcontext():
            return trainer.fit()
    except ray.train.TrainingFailedError as error:
        raise TrainingError(f"training {prepared.run_name} failed after "
                            f"{settings.max_failures} restart(s): {_failure_message(error)}"
                            f"{_placement_hint(error)}") from error


def _progress_display(prepared: Prepared) -> Any:
    """The driver's progress display of a run (None if it cannot start: no bar
    is worth failing a run for)."""
    from components.training.progress import Display

    try:
        return Display(prepared.plan.config.epochs, prefix=prepared.plan.eval_prefix)
    except Exception as exc:  # noqa: BLE001
        log.warning("no progress display: %s", exc)
        return None


# --------------------------------------------------------------------------- finishing


def final_metrics(state: Mapping[str, Any], prefix: str) -> dict[str, float]:
    """The DVC metrics of a finished run: the selected model's test scores (``top1``...,
    NaN for a Tune trial, which never sees the test split), the epoch it came from and
    its validation scores, the epochs run and their seconds."""
    history = [dict(h) for h in state["history"]]
    best_epoch = int((state.get("best") or {}).get("epoch") or len(history))
    best = next((h for h in history if int(h["epoch"]) == best_epoch), history[-1])
    test = ((state.get("final") or {}).get("metrics")) or {}
    nan = float("nan")
    return {
        "top1": test.get("test/top1", nan),
        "top5": test.get("test/top5", nan),
        "mean_class_acc": test.get("test/mean_class_acc", nan),
        "top1_item": test.get("test/top1_item", nan),
        "loss": test.get("test/loss", nan),
        "videos": test.get("test/videos", nan),
        "best_epoch": float(best_epoch),
        "val_top1": best.get(f"{prefix}/top1", nan),
        "val_loss": best.get(f"{prefix}/loss", nan),
        "train_loss": best.get("train/loss", nan),
        "epochs": float(len(history)),
        "seconds": float(sum(h.get("epoch_seconds", 0.0) for h in history)),
    }


def _model_info(prepared: Prepared) -> dict[str, Any]:
    """The ``model.json`` of a trained model: how to rebuild it and, for
    ``components.inference``, how its inputs were made (the job config as trained,
    the representation kind of each role and the shards' parameters)."""
    job, plan, cfg = prepared.request.job, prepared.plan, prepared.config
    return {
        "job": job, "model": plan.model.name, "model_kwargs": as_plain(plan.model.kwargs),
        "input": cfg.input, "height": cfg.height, "width": cfg.width,
        "clip_len": getattr(cfg, "clip_len", None), "stride": getattr(cfg, "stride", None),
        "classes": list(prepared.data.classes), "fingerprint": prepared.fingerprint.digest,
        "registered_name": registered_name(prepared.request),
        "config": as_plain(cfg),
        "kinds": dict(prepared.data.kinds),
        "representations": as_plain(prepared.data.shard_params),
        "eval_split": plan.eval_prefix,
        "dataset_key": prepared.labels["key"],
    }


def _output_name_dir(request: TrainRequest, parent: Path) -> Path:
    """``<root>/<parent>/<job>``, or ``<job>_<variant>`` for a variant (``student_nokd``)."""
    assert request.outputs is not None
    return request.repo_root.resolve() / parent / (request.outputs.name or request.job)


def _log_and_register(prepared: Prepared, state: Mapping[str, Any], metrics: Mapping[str, float],
                      confusion: Any = None) -> tuple[str, Any]:
    """Log the model as a video model (an MLflow pyfunc model: video paths in, top-5
    labels out; ``components.tracking.video_model``), register it, maybe promote it.

    The model's artifact is the trained model folder: ``models/<job>`` as
    ``_write_outputs`` just wrote it (so the registered model is the DVC output), or,
    without outputs (or when that folder is another run's), the same files written
    to a temporary folder.
    """
    import tempfile

    from mlflow.tracking import MlflowClient

    from components.tracking import promote_if_better
    from components.tracking.model_card import attach_model_card, training_card_facts
    from components.tracking.video_model import log_video_model
    from components.training import outputs as out
    from components.training.config import as_plain

    job, request = prepared.request.job, prepared.request
    name = registered_name(request)
    written = None
    if request.outputs is not None:
        folder = _output_name_dir(request, request.outputs.models)
        try:
            info = out.read_model_info(folder)
        except InputError:
            info = {}
        if info.get("fingerprint") == prepared.fingerprint.digest and \
                (folder / out.MODEL_FILE).is_file():
            written = folder
    with tempfile.TemporaryDirectory(prefix=f"har-{job}-model-") as tmp:
        if written is None:
            written = Path(tmp) / job
            out.write_model(written, state["model"], _model_info(prepared))
        with _registry_notices_hidden():
            version = log_video_model({"model": written}, registered_model_name=name)
    top1 = float(metrics["top1"])
    _describe_version(prepared, name, str(version.version), top1)
    metric = "test/top1"
    decision = promote_if_better(name, version.version, metric_name=metric, metric_value=top1,
                                 dataset_key=prepared.labels["key"],
                                 candidate_only=request.candidate_only,
                                 dvc_experiment=request.dvc_experiment)
    log.info("%s v%s: %s (%s)", name, version.version,
             "promoted to champion" if decision.promoted else "champion kept", decision.reason)
    data = prepared.data
    try:  # the model is registered: a card that cannot be written must not fail the stage
        attach_model_card(MlflowClient(), name, str(version.version), training_card_facts(
            dataset_key=prepared.labels["key"], dataset_info=data.dataset_info,
            params=as_plain(prepared.config), metrics=metrics, classes=data.classes,
            confusion=confusion, manifest=data.files.get("manifest"),
            promotion=f"{'promoted' if decision.promoted else 'kept'}: {decision.reason}"))
    except Exception as exc:  # noqa: BLE001 - reported, and `har evaluate` writes cards too
        log.warning("%s v%s: model card not written (%s)", name, version.version, exc)
    return str(version.version), decision


#: How MLflow's own registry notices begin (printed, not logged; the stage logs the
#: outcome itself, with the champion decision).
_REGISTRY_NOTICES = ("Successfully registered model ", "Registered model ", "Created version ")


@contextlib.contextmanager
def _registry_notices_hidden() -> Iterator[None]:
    """Hold back MLflow's registry notices (unless verbose); whatever else it writes
    to stderr meanwhile is written after the block."""
    if verbose():
        yield
        return
    held = io.StringIO()
    try:
        with contextlib.redirect_stderr(held):
            yield
    finally:
        sys.stderr.write("".join(line for line in held.getvalue().splitlines(keepends=True)
                                 if not line.startswith(_REGISTRY_NOTICES)))


def registered_name(request: TrainRequest) -> str:
    """The registry name of a job's model; a variant gets its own
    (``har-lift-net-nokd``): it is another model, not a version of the job's."""
    base = REGISTERED_NAMES[request.job]
    name = request.outputs.name if request.outputs is not None else ""
    variant = name[len(request.job) + 1:] if name.startswith(f"{request.job}_") else ""
    return f"{base}-{variant.replace('_', '-')}" if variant else base


_JOB_TITLES = {"teacher": "R(2+1)D teacher (cross-entropy)",
               "student": "LIFT-Net student", "normal": "MEI normal stream (base frames)",
               "motion": "MEI motion stream"}


def _describe_version(prepared: Prepared, name: str, version: str, top1: float) -> None:
    """Descriptions a registry user reads: what the model is, what it was trained on
    and how, and its test score; the model's description once, each version's own."""
    from mlflow.tracking import MlflowClient

    request, cfg, labels = prepared.request, prepared.config, prepared.labels
    what = _JOB_TITLES[request.job]
    if request.job == "student":
        what += (" distilled from the teacher (Eq. 6, on "
                 f"{getattr(cfg, 'kd_target', 'logits')})" if getattr(cfg, "kd", True)
                 else " without knowledge distillation (cross-entropy only; no-KD ablation)")
    variant = request.outputs.name if request.outputs is not None else ""
    command = f"har train --job {request.job}" + (
        f" --variant {variant[len(request.job) + 1:]}" if variant and variant != request.job
        else "")
    lighting = prepared.data.dataset_info.get("lighting") or "unknown"
    client = MlflowClient()
    client.update_model_version(name, version, description=(
        f"{what}: {prepared.plan.model.name}, input {cfg.input}, on {labels['key']} "
        f"({lighting} video); test top-1 {top1:.3f} (video level). Trained by `{command}`, "
        f"run {prepared.run_name}" + (f"; {request.candidate_only}" if request.candidate_only
                                      else "") + "."))
    for key, value in {"har.variant": variant or request.job,
                       "har.lighting": str(lighting),
                       "har.kd": str(getattr(cfg, "kd", "")).lower()}.items():
        if value:
            client.set_model_version_tag(name, version, key, value)
    if not client.get_registered_model(name).description:
        client.update_registered_model(name, description=(
            f"{what}. Video paths in, top-5 actions out (an MLflow pyfunc model logged as "
            f"code). Aliases: champion (serves; moves only when a production run beats it on "
            f"the same dataset), challenger (the newest experiment or scratch version)."))


def _write_outputs(prepared: Prepared, state: Mapping[str, Any], metrics: Mapping[str, float],
                   figures: Mapping[str, Any], run_id: str) -> None:
    from components.training import outputs as out

    request = prepared.request
    assert request.outputs is not None
    root = request.repo_root.resolve()
    info = {**_model_info(prepared), "mlflow_run_id": run_id}
    job = request.outputs.name or request.job
    out.write_model(_output_name_dir(request, request.outputs.models), state["model"], info)
    out.write_metrics(root / request.outputs.metrics / f"{job}.json", metrics)
    plots = root / request.outputs.plots
    out.write_history(plots / f"{job}.csv", state["history"])
    out.save_figure(figures["confusion"], plots / f"{job}_confusion.png")
    out.save_figure(figures["curves"], plots / f"{job}_curves.png")


def _finish(prepared: Prepared, checkpoint_dir: Path, run_id: str) -> tuple[
        dict[str, float], list[dict[str, float]], str | None, Any]:
    import numpy as np

    from components.tracking import log_artifact, log_figure, log_metrics
    from components.training import outputs as out
    from components.training.figures import figure_title, model_title
    from components.training.reporting import reconcile_history

    verify_checkpoint(checkpoint_dir, prepared.fingerprint)
    from components.models.weights import load_torch_file

    state = load_torch_file(checkpoint_dir / STATE_FILE, "checkpoint state")
    history = [dict(h) for h in state["history"]]
    reconcile_history(run_id, history)
    prefix = prepared.plan.eval_prefix
    metrics = final_metrics(state, prefix)
    log_metrics({f"final/{k}": v for k, v in metrics.items() if np.isfinite(v)},
                step=len(history), run_id=run_id)
    final = state.get("final") or {}
    # The test split's scores under their own names too (test/top1 is what the registry
    # compares), logged once: the test split is scored once, by the selected model.
    test_scores = {k: float(v) for k, v in (final.get("metrics") or {}).items()
                   if k.startswith("test/")}
    log_metrics({k: v for k, v in test_scores.items() if np.isfinite(v)},
                step=len(history), run_id=run_id)
    # The confusion of the selected model on the test split; a trial's: its last validation.
    confusion = final.get("confusion", state.get("extra", {}).get("confusion"))
    confusion = np.asarray(confusion.numpy() if confusion is not None else np.zeros((0, 0)))
    split = "test" if final else prefix
    outputs = prepared.request.outputs
    human = model_title((outputs.name if outputs is not None else "") or prepared.request.job,
                        prepared.plan.model.name)
    best_epoch = int(metrics["best_epoch"])
    figures = {
        "confusion": out.confusion_figure(
            confusion, prepared.data.classes,
            figure_title(human, prepared.labels["key"], split),
            subtitle=f"run {prepared.run_name}, selected epoch {best_epoch}"),
        "curves": out.curves_figure(history, prefix, figure_title(human, prepared.labels["key"]),
                                    best_epoch=best_epoch, subtitle=f"run {prepared.run_name}",
                                    test=test_scores),
    }
    log_figure(figures["confusion"], "figures/confusion_matrix.png", run_id=run_id)
    log_figure(figures["curves"], "figures/training_curves.png", run_id=run_id)
    if prepared.request.trial is None and prepared.plan.settings.log_checkpoint:
        log_artifact(checkpoint_dir, "checkpoint", run_id=run_id)
    if prepared.request.outputs is not None:
        _write_outputs(prepared, state, metrics, figures, run_id)
    version, decision = None, None
    if prepared.request.register and prepared.plan.settings.log_model:
        version, decision = _log_and_register(prepared, state, metrics, confusion)
    return metrics, history, version, decision


def _open_run(prepared: Prepared, state: Mapping[str, Any] | None):  # noqa: ANN202
    """(context manager, is_new): resume the recorded MLflow run, or open a new one."""
    from components.tracking import run_name, standard_tags, training_run
    from components.tracking.resume import resume_run, run_is_usable

    run_id = (state or {}).get("mlflow_run_id")
    if run_id and run_is_usable(run_id):
        return resume_run(run_id), False
    if run_id:
        log.warning("MLflow run %s of %s is gone from this store; opening a new run", run_id,
                    prepared.run_name)
    job, labels, trial = prepared.request.job, prepared.labels, prepared.request.trial
    tags = standard_tags(job=f"train-{job}" if trial is None else "tune-trial",
                         model=labels["model"], dataset=labels["dataset"], split=labels["split"],
                         stage=section_name(job) if trial is None else "tune")
    tags.update({"har.fingerprint": prepared.fingerprint.digest, "har.ray_run": prepared.run_name,
                 "har.input": prepared.config.input, "har.eval_split": prepared.plan.eval_prefix,
                 "har.lighting": str(prepared.data.dataset_info.get("lighting") or "unknown")})
    if trial is not None:
        tags["har.trial_id"] = trial.trial_id
    if prepared.request.dvc_experiment:  # `dvc exp run` (har ablate's and claims' cells)
        tags["har.dvc_exp"] = prepared.request.dvc_experiment
    name = run_name(f"train-{job}" if trial is None else f"trial-{trial.trial_id}",
                    labels["model"], labels["dataset"], prepared.fingerprint.short)
    params = {
        "job": job, "config": as_plain(prepared.config), "train": as_plain(prepared.plan.settings),
        "model_kwargs": as_plain(prepared.plan.model.kwargs),
        "data": {"train_videos": len(prepared.plan.train), "eval_videos": len(prepared.plan.eval),
                 "skipped_videos": prepared.data.skipped, "classes": prepared.data.num_classes,
                 "shards": prepared.data.shard_params},
        "fingerprint": prepared.fingerprint.short,
    }
    context = training_run(
        name, experiment=prepared.plan.settings.experiment, tags=tags, params=params,
        parent_run_id=trial.parent_run_id if trial else None,
        tracking_uri=trial.tracking_uri if trial else None,
        description=f"har train --job {job}: {labels['model']} on {labels['key']}",
    )
    return context, True


def run_training(request: TrainRequest, callbacks: Sequence[Any] = ()) -> TrainResult:
    """Train one job end to end (see the module docstring).

    Args:
        request: the job and its settings.
        callbacks: extra Ray Train ``UserCallback``s (Tune's TuneReportCallback).

    Returns:
        The final metrics, history and registry outcome.

    Raises:
        InputError, ConfigError: inputs that do not fit the config, or a checkpoint
            of another run in the run folder (before any training).
        TrainingError: training failed (after ``max_failures`` restarts) or stopped
            on a non-finite loss (the message names epoch, step and batch).
    """
    import ray

    from components.tracking import current_tracking_uri, log_config, log_provenance

    started = time.time()
    # Check the inputs first: a bad manifest or shard fails in seconds, before Ray or
    # MLflow start. A local Ray will have this machine's CPUs; a cluster is asked.
    if ray.is_initialized() or os.environ.get("RAY_ADDRESS", "").strip():
        ensure_ray()
        total_cpus = cluster_cpus()
    else:
        total_cpus = os.cpu_count() or 1
    prepared = prepare_training(request, total_cpus=total_cpus)
    log.debug("%s: inputs checked, plan ready (%.1f s)", prepared.run_name, time.time() - started)
    if request.trial is None:
        from components.tracking import setup_tracking

        setup_tracking(request.repo_root.resolve(), request.settings.experiment)
    ensure_ray(total_cpus)
    local = _is_local(prepared.storage_path)
    run_dir = _local_path(prepared.storage_path) / prepared.run_name if local else None

    with exclusive_run(run_dir) if run_dir is not None else contextlib.nullcontext():
        state: dict[str, Any] | None = None
        resumed_from = 0
        if run_dir is not None:
            if request.fresh and run_dir.exists():
                log.info("--fresh: discarding %s", run_dir)
                shutil.rmtree(run_dir)
            state = read_run_state(run_dir)
            if state and state.get("completed"):
                log.info("run %s completed before; training it again from scratch", run_dir.name)
                shutil.rmtree(run_dir)
                state = None
            latest = latest_checkpoint(run_dir)
            if latest is not None:
                meta = verify_checkpoint(latest, prepared.fingerprint)
                resumed_from = int(meta["epoch"])
                log.info("resuming %s from its epoch-%d checkpoint (%s)", prepared.run_name,
                         resumed_from, latest)

        context, is_new = _open_run(prepared, state)
        with context as run:
            uri = current_tracking_uri()
            if run_dir is not None:
                write_run_state(run_dir, {
                    "job": request.job, "run_name": prepared.run_name,
                    "fingerprint": prepared.fingerprint.digest, "mlflow_run_id": run.run_id,
                    "tracking_uri": uri, "completed": False,
                })
            if is_new:
                log_config({"job": request.job, section_name(request.job): prepared.config,
                            "train": prepared.plan.settings, "model": prepared.plan.model,
                            "fingerprint": prepared.fingerprint.to_json()}, run_id=run.run_id)
                log_provenance(prepared.data.files, repo_root=request.repo_root.resolve(),
                               run_id=run.run_id)
                from components.tracking.provenance import log_manifest_input

                with warnings.catch_warnings():
                    if not verbose():  # MLflow's hint on the manifest's integer columns
                        warnings.filterwarnings("ignore", message=".*integer column",
                                                category=UserWarning)
                    log_manifest_input(prepared.data.files["manifest"],
                                       name=prepared.labels["key"], run_id=run.run_id)
            if resumed_from and run_dir is not None:
                from components.training.reporting import reconcile_history

                meta = read_checkpoint_meta(latest_checkpoint(run_dir))  # type: ignore[arg-type]
                reconcile_history(run.run_id, meta.get("history", []))

            fit_started = time.time()
            from components.training.reporting import EpochMetricsLogger

            result = fit(prepared, [EpochMetricsLogger(run.run_id, uri), *callbacks])
            log.debug("%s: TorchTrainer.fit took %.1f s", prepared.run_name,
                     time.time() - fit_started)
            metrics = dict(result.metrics or {})
            if ABORT_KEY in metrics:
                message = f"{prepared.run_name}: {metrics[ABORT_KEY]}"
                log_config({"error": message}, artifact_file="failure.yaml", run_id=run.run_id)
                raise TrainingError(message)
            if result.checkpoint is not None:
                # Local storage: the folder itself; remote storage (s3://...): a download.
                with result.checkpoint.as_directory() as directory:
                    final, history, version, decision = _finish(prepared, Path(directory),
                                                                run.run_id)
            elif run_dir is not None and (latest := latest_checkpoint(run_dir)) is not None:
                final, history, version, decision = _finish(prepared, latest, run.run_id)
            else:
                raise TrainingError(f"{prepared.run_name}: no checkpoint to finish from")
            if run_dir is not None:
                state = read_run_state(run_dir) or {}
                write_run_state(run_dir, {**state, "completed": True})
                if request.settings.prune_checkpoints:
                    freed = prune_checkpoints(run_dir)
                    log.debug("%s: removed its %d epoch checkpoint(s) (%.0f MB); the model "
                             "is in its outputs and the registry", prepared.run_name,
                             freed[0], freed[1] / 1e6)
    log.info("%s finished in %.0f s: epoch %d selected (validation top-1 %.3f), test top-1 "
             "%.3f (video level)", prepared.run_name, time.time() - started,
             int(final["best_epoch"]), final["val_top1"], final["top1"])
    return TrainResult(
        job=request.job, run_name=prepared.run_name, run_dir=str(run_dir or ""),
        mlflow_run_id=run.run_id, metrics=final, history=history, resumed_from=resumed_from,
        model_version=version, promoted=None if decision is None else decision.promoted,
        decision="" if decision is None else decision.reason,
    )
