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

The parts live beside it: :mod:`.request` (what a job is asked and gives back),
:mod:`.planning` (``prepare_training``), :mod:`.runtime` (run state, Ray, ``fit``)
and :mod:`.finish` (outputs, MLflow run, registry); this module runs them in order
and re-exports their API.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from components._console import verbose
from components.jobs.config import section_name
from components.training.checkpoint import (
    latest_checkpoint,
    read_checkpoint_meta,
    verify_checkpoint,
)
from components.training.finish import (
    REGISTERED_NAMES,
    final_metrics,
    finish_run,
    open_run,
    registered_name,
)
from components.training.planning import (
    apply_tuned_config,
    is_local_storage,
    local_storage_path,
    prepare_training,
    prune_checkpoints,
    resolve_luminous_input,
    resolve_threads,
)
from components.training.request import (
    Prepared,
    TrainingError,
    TrainRequest,
    TrainResult,
    TrialContext,
)
from components.training.run_lock import exclusive_run
from components.training.runtime import (
    RUN_STATE_FILE,
    cluster_cpus,
    ensure_ray,
    fit,
    planning_cpus,
    read_run_state,
    resolve_use_gpu,
    write_run_state,
)
from components.training.session import ABORT_KEY

#: The driver's API, whichever module of the package defines each name.
__all__ = [
    "REGISTERED_NAMES",
    "RUN_STATE_FILE",
    "Prepared",
    "TrainRequest",
    "TrainResult",
    "TrainingError",
    "TrialContext",
    "apply_tuned_config",
    "cluster_cpus",
    "ensure_ray",
    "final_metrics",
    "fit",
    "prepare_training",
    "prune_checkpoints",
    "registered_name",
    "resolve_luminous_input",
    "resolve_threads",
    "resolve_use_gpu",
    "run_training",
]

log = logging.getLogger(__name__)


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
    from components.tracking import current_tracking_uri

    started = time.time()
    # Check the inputs first: a bad manifest or shard fails in seconds, before Ray or
    # MLflow start.
    total_cpus = planning_cpus()
    prepared = prepare_training(request, total_cpus=total_cpus)
    log.debug("%s: inputs checked, plan ready (%.1f s)", prepared.run_name, time.time() - started)
    if request.trial is None:
        from components.tracking import setup_tracking

        setup_tracking(request.repo_root.resolve(), request.settings.experiment)
    ensure_ray(total_cpus)
    run_dir = _local_run_dir(prepared)

    with exclusive_run(run_dir) if run_dir is not None else contextlib.nullcontext():
        state, resumed_from = _claim_run_dir(run_dir, prepared, fresh=request.fresh)
        context, is_new = open_run(prepared, state)
        with context as run:
            uri = current_tracking_uri()
            if run_dir is not None:
                _write_open_state(run_dir, prepared, run.run_id, uri)
            if is_new:
                _log_new_run(prepared, run.run_id)
            if resumed_from and run_dir is not None:
                _reconcile_resumed_history(run_dir, run.run_id)
            result = _fit_logged(prepared, run.run_id, uri, callbacks)
            final, history, version, decision = _finish_from(result, run_dir, prepared,
                                                             run.run_id)
            if run_dir is not None:
                _mark_completed(run_dir, prepared, prune=request.settings.prune_checkpoints)
    log.info("%s finished in %.0f s: epoch %d selected (validation top-1 %.3f), test top-1 "
             "%.3f (video level)", prepared.run_name, time.time() - started,
             int(final["best_epoch"]), final["val_top1"], final["top1"])
    return TrainResult(
        job=request.job, run_name=prepared.run_name, run_dir=str(run_dir or ""),
        mlflow_run_id=run.run_id, metrics=final, history=history, resumed_from=resumed_from,
        model_version=version, promoted=None if decision is None else decision.promoted,
        decision="" if decision is None else decision.reason,
    )


def _local_run_dir(prepared: Prepared) -> Path | None:
    """The run folder on this machine; None for remote storage (s3://...), which has
    no folder to lock, resume from or prune."""
    if not is_local_storage(prepared.storage_path):
        return None
    return local_storage_path(prepared.storage_path) / prepared.run_name


def _claim_run_dir(run_dir: Path | None, prepared: Prepared, *,
                   fresh: bool) -> tuple[dict[str, Any] | None, int]:
    """Clear the run folder where the run starts over (``--fresh``, or it completed
    before); verify the checkpoint it resumes from.

    Returns:
        The run folder's state (None: a new run) and the epoch it resumes from (0: none).

    Raises:
        ConfigError: the latest checkpoint is another run's (its fingerprint differs).
    """
    if run_dir is None:
        return None, 0
    if fresh and run_dir.exists():
        log.info("--fresh: discarding %s", run_dir)
        shutil.rmtree(run_dir)
    state = read_run_state(run_dir)
    if state and state.get("completed"):
        log.info("run %s completed before; training it again from scratch", run_dir.name)
        shutil.rmtree(run_dir)
        state = None
    resumed_from = 0
    latest = latest_checkpoint(run_dir)
    if latest is not None:
        meta = verify_checkpoint(latest, prepared.fingerprint)
        resumed_from = int(meta["epoch"])
        log.info("resuming %s from its epoch-%d checkpoint (%s)", prepared.run_name,
                 resumed_from, latest)
    return state, resumed_from


def _write_open_state(run_dir: Path, prepared: Prepared, run_id: str, uri: str) -> None:
    """Record the MLflow run in the run folder, so a resumed job logs to the same run."""
    write_run_state(run_dir, {
        "job": prepared.request.job, "run_name": prepared.run_name,
        "fingerprint": prepared.fingerprint.digest, "mlflow_run_id": run_id,
        "tracking_uri": uri, "completed": False,
    })


def _log_new_run(prepared: Prepared, run_id: str) -> None:
    """A new MLflow run's resolved config, provenance and manifest input."""
    from components.tracking import log_config, log_provenance
    from components.tracking.provenance import log_manifest_input

    request = prepared.request
    log_config({"job": request.job, section_name(request.job): prepared.config,
                "train": prepared.plan.settings, "model": prepared.plan.model,
                "fingerprint": prepared.fingerprint.to_json()}, run_id=run_id)
    log_provenance(prepared.data.files, repo_root=request.repo_root.resolve(), run_id=run_id)
    with warnings.catch_warnings():
        if not verbose():  # MLflow's hint on the manifest's integer columns
            warnings.filterwarnings("ignore", message=".*integer column", category=UserWarning)
        log_manifest_input(prepared.data.files["manifest"], name=prepared.labels["key"],
                           run_id=run_id)


def _reconcile_resumed_history(run_dir: Path, run_id: str) -> None:
    """Log to the MLflow run the epochs of the resumed checkpoint's history that it
    lacks (a failed log is left for the driver: :mod:`.reporting`)."""
    from components.training.reporting import reconcile_history

    meta = read_checkpoint_meta(latest_checkpoint(run_dir))  # type: ignore[arg-type]
    reconcile_history(run_id, meta.get("history", []))


def _fit_logged(prepared: Prepared, run_id: str, uri: str, callbacks: Sequence[Any]) -> Any:
    """Run the TorchTrainer with each epoch logged to the MLflow run; Ray's ``Result``.

    Raises:
        TrainingError: a worker stopped the run (a non-finite loss): the reason is
            also logged to the run as failure.yaml.
    """
    from components.tracking import log_config
    from components.training.reporting import EpochMetricsLogger

    fit_started = time.time()
    result = fit(prepared, [EpochMetricsLogger(run_id, uri), *callbacks])
    log.debug("%s: TorchTrainer.fit took %.1f s", prepared.run_name, time.time() - fit_started)
    metrics = dict(result.metrics or {})
    if ABORT_KEY in metrics:
        message = f"{prepared.run_name}: {metrics[ABORT_KEY]}"
        log_config({"error": message}, artifact_file="failure.yaml", run_id=run_id)
        raise TrainingError(message)
    return result


def _finish_from(result: Any, run_dir: Path | None, prepared: Prepared, run_id: str
                 ) -> tuple[dict[str, float], list[dict[str, float]], str | None, Any]:
    """Finish the run (:func:`finish_run`) from the fit's final checkpoint, else from
    the run folder's latest one.

    Raises:
        TrainingError: there is no checkpoint to finish from.
    """
    if result.checkpoint is not None:
        # Local storage: the folder itself; remote storage (s3://...): a download.
        with result.checkpoint.as_directory() as directory:
            return finish_run(prepared, Path(directory), run_id)
    if run_dir is not None and (latest := latest_checkpoint(run_dir)) is not None:
        return finish_run(prepared, latest, run_id)
    raise TrainingError(f"{prepared.run_name}: no checkpoint to finish from")


def _mark_completed(run_dir: Path, prepared: Prepared, *, prune: bool) -> None:
    """Mark the run folder completed (a later run of it starts over); with ``prune``,
    remove its epoch checkpoints, the model being in the outputs and the registry."""
    state = read_run_state(run_dir) or {}
    write_run_state(run_dir, {**state, "completed": True})
    if prune:
        freed = prune_checkpoints(run_dir)
        log.debug("%s: removed its %d epoch checkpoint(s) (%.0f MB); the model "
                  "is in its outputs and the registry", prepared.run_name,
                  freed[0], freed[1] / 1e6)
