"""Finishing a training job: the final metrics, the outputs DVC tracks (model folder,
metrics, plots), the MLflow run (opened or resumed), the logged and registered
model, its promotion and model card."""

from __future__ import annotations

import contextlib
import io
import logging
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from components._console import verbose
from components.config import as_plain
from components.errors import InputError
from components.jobs.config import section_name
from components.training.checkpoint import (
    STATE_FILE,
    verify_checkpoint,
)
from components.training.request import Prepared, TrainRequest

if TYPE_CHECKING:
    from components.tracking import RunHandle

#: Registered model name of each job.
REGISTERED_NAMES = {"teacher": "har-teacher", "student": "har-lift-net",
                    "normal": "har-normal-stream", "motion": "har-motion-stream"}

log = logging.getLogger(__name__)


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

    from components.models.folder import MODEL_FILE, read_model_info, write_model
    from components.tracking import promote_if_better
    from components.tracking.model_card import training_card_facts
    from components.tracking.registry import attach_card
    from components.tracking.video_model import log_video_model

    job, request = prepared.request.job, prepared.request
    name = registered_name(request)
    written = None
    if request.outputs is not None:
        folder = _output_name_dir(request, request.outputs.models)
        try:
            info = read_model_info(folder)
        except InputError:
            info = {}
        if info.get("fingerprint") == prepared.fingerprint.digest and \
                (folder / MODEL_FILE).is_file():
            written = folder
    with tempfile.TemporaryDirectory(prefix=f"har-{job}-model-") as tmp:
        if written is None:
            written = Path(tmp) / job
            write_model(written, state["model"], _model_info(prepared))
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
        attach_card(name, str(version.version), training_card_facts(
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
    from components.tracking.registry import describe_model_version

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
    tags = {"har.variant": variant or request.job, "har.lighting": str(lighting),
            "har.kd": str(getattr(cfg, "kd", "")).lower()}
    describe_model_version(
        name, version,
        f"{what}: {prepared.plan.model.name}, input {cfg.input}, on {labels['key']} "
        f"({lighting} video); test top-1 {top1:.3f} (video level). Trained by `{command}`, "
        f"run {prepared.run_name}" + (f"; {request.candidate_only}" if request.candidate_only
                                      else "") + ".",
        tags={key: value for key, value in tags.items() if value},
        model_description=(
            f"{what}. Video paths in, top-5 actions out (an MLflow pyfunc model logged as "
            f"code). Aliases: champion (serves; moves only when a production run beats it on "
            f"the same dataset), challenger (the newest experiment or scratch version)."))


def _write_outputs(prepared: Prepared, state: Mapping[str, Any], metrics: Mapping[str, float],
                   figures: Mapping[str, Any], run_id: str) -> None:
    from components.models.folder import write_model
    from components.training import outputs as out

    request = prepared.request
    assert request.outputs is not None
    root = request.repo_root.resolve()
    info = {**_model_info(prepared), "mlflow_run_id": run_id}
    job = request.outputs.name or request.job
    write_model(_output_name_dir(request, request.outputs.models), state["model"], info)
    out.write_metrics(root / request.outputs.metrics / f"{job}.json", metrics)
    plots = root / request.outputs.plots
    out.write_history(plots / f"{job}.csv", state["history"])
    out.save_figure(figures["confusion"], plots / f"{job}_confusion.png")
    out.save_figure(figures["curves"], plots / f"{job}_curves.png")


def finish_run(prepared: Prepared, checkpoint_dir: Path, run_id: str) -> tuple[
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


def open_run(prepared: Prepared, state: Mapping[str, Any] | None
             ) -> tuple[contextlib.AbstractContextManager[RunHandle], bool]:
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
