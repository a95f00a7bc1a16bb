"""``har tune``: a Ray Tune sweep over LIFT-Net's N, trainable ViT blocks and learning rate.

Tune runs the training *driver* (:func:`components.training.driver.run_training`)
as a function trainable, one call per trial; each trial starts its own
``TorchTrainer`` (the Train V2 pattern: ``Tuner(trainer)`` is deprecated). Ray
Train's ``TuneReportCallback`` forwards every epoch's report to Tune, where ASHA
compares trials at the same epoch and stops the weak ones.

Resources: a trial's driver needs no CPU of its own (``with_resources`` asks for
none, only a token of memory, since Tune refuses an empty request);
its Train workers reserve ``num_workers x cpus_per_worker``. So as many trials run
at once as the cluster's CPUs hold (two 1-CPU trials on a 2-core machine).

MLflow: the sweep's run is opened here (the store and experiment exist before any
trial starts, so trials never race in the schema migration); each trial's run
is nested under it, and logs its epochs in batches with retries on a locked
SQLite store. At the end, trials that ASHA stopped are marked KILLED, trials
that ran every epoch FINISHED (see :func:`settle_trial_runs`).

Resuming: the sweep's folder (``<tune.storage_path>/sweep-<fingerprint>``) records
its MLflow run in ``har-sweep.json`` (:mod:`components.tuning.sweep_folder`). Run
again after a kill, with the same inputs, the sweep continues (``Tuner.restore``:
finished trials are kept, unfinished and errored ones run again, each resuming its Ray
Train run from its last epoch) and logs into the same MLflow run; once a sweep has
finished, a new run starts afresh.

Placement: a trial ASHA stops is killed with its Train controller, whose workers'
placement group Ray Train's ``PlacementGroupCleaner`` removes; that cleaner asks the
State API (``ray[default]``) whether the controller is alive, and when it cannot (two
local Ray instances on one machine), the sweep's driver frees the group itself
(:mod:`components.tuning.placement`). A worker group that
cannot be placed is retried a bounded number of times (see
``components.training.driver.WORKER_GROUP_START_RETRIES``) and the trial errors.

Output: a YAML file (``metrics/tune_best.yaml`` by default) with the best
trial's ``depth``, ``trainable_vit_blocks`` and ``lr`` under ``best:``, which
``train_student.tuned_config`` can point at.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from components._atomic import write_text_atomic
from components._console import verbose
from components.config import as_plain
from components.jobs.config import StudentConfig
from components.training.driver import Prepared, TrainRequest, TrialContext
from components.training.settings import DataPaths, TrainSettings
from components.tuning.config import Tuned, TuneSettings
from components.tuning.sweep_folder import SweepFolder, resumable_run, write_record

if TYPE_CHECKING:
    from components.tracking import RunHandle

log = logging.getLogger(__name__)

#: What a trial's driver reserves: no CPU (its Train workers reserve theirs), but Tune
#: refuses an empty request, so a token amount of memory (1 MiB).
DRIVER_RESOURCES: dict[str, float] = {"cpu": 0, "memory": 1 << 20}
#: The trials' Ray Train runs, one folder each, inside the sweep's folder.
TRIALS_FOLDER = "trials"


@dataclass(frozen=True)
class SweepResult:
    """The outcome of a sweep.

    Attributes:
        best: the best trial's ``depth``, ``trainable_vit_blocks`` and ``lr``.
        best_metric: its value of the sweep metric.
        trials: one dict per trial: its config, last metric, epochs, status.
        sweep_run_id: the sweep's MLflow run.
        out_file: the best-config file written.
    """

    best: dict[str, Any]
    best_metric: float
    trials: list[dict[str, Any]]
    sweep_run_id: str
    out_file: Path


def search_space(settings: TuneSettings) -> dict[str, Any]:
    """Tune's param space: choices of N and trainable blocks, log-uniform lr."""
    from ray import tune

    return Tuned(depth=tune.choice(list(settings.depth)),
                 trainable_vit_blocks=tune.choice(list(settings.trainable_vit_blocks)),
                 lr=tune.loguniform(*settings.lr))._asdict()


def trial_request(base: TrainRequest, config: Mapping[str, Any], trial: TrialContext) -> (
        TrainRequest):
    """The training request of one trial: the base student with the trial's values."""
    cfg: StudentConfig = base.config  # type: ignore[assignment]
    values = Tuned.of(config)
    lr = float(values.lr)
    kwargs = {**cfg.model_kwargs, "depth": values.depth,
              "trainable_vit_blocks": values.trainable_vit_blocks}
    tuned = dataclasses.replace(cfg, lr=lr, min_lr=min(cfg.min_lr, lr), model_kwargs=kwargs)
    return dataclasses.replace(base, config=tuned, trial=trial)


def run_trial(config: dict[str, Any], *, base: TrainRequest, parent_run_id: str,
              tracking_uri: str, storage_path: str) -> None:
    """One Tune trial: train the student with ``config`` (runs in a Tune actor)."""
    from ray import tune
    from ray.tune.integration.ray_train import TuneReportCallback

    from components.training.driver import run_training

    trial_id = tune.get_context().get_trial_id()
    trial = TrialContext(parent_run_id=parent_run_id, tracking_uri=tracking_uri,
                         trial_id=trial_id, storage_path=storage_path)
    run_training(trial_request(base, config, trial), callbacks=[TuneReportCallback()])


def _concurrency(settings: TuneSettings, cpus: int) -> int:
    fit = max(1, cpus // (settings.num_workers * settings.cpus_per_worker))
    return min(fit, settings.max_concurrent) if settings.max_concurrent else fit


def settle_trial_runs(sweep_run_id: str, grid: Any, max_epochs: int) -> list[str]:
    """Give each trial's MLflow run the status of what happened to the trial.

    When ASHA stops a trial, its run is either left RUNNING (the trial's actor is
    killed) or ended FAILED (the stop reaches the trial as an exception): which one
    is a race. A trial without an error ran all ``max_epochs`` (FINISHED) or was
    stopped early by the scheduler (KILLED, tagged ``har.stopped_by``).

    Returns:
        The run ids of the trials stopped early.
    """
    from components.tracking.resume import child_runs, set_run_status

    stopped = []
    for result in grid:
        metrics = result.metrics or {}
        trial_id = metrics.get("trial_id")
        if result.error is not None or not trial_id:
            continue
        # The epoch the trial reached, not Tune's count of its reports: a trial resumed
        # by a restored sweep continues its epochs but counts its reports from one.
        reached = metrics.get("epoch") or metrics.get("training_iteration") or 0
        completed = int(reached) >= max_epochs
        for run in child_runs(sweep_run_id, tags={"har.trial_id": str(trial_id)}):
            if completed:
                if run.status != "FINISHED":
                    set_run_status(run.run_id, "FINISHED")
                continue
            set_run_status(run.run_id, "KILLED", tags={"har.stopped_by": "asha (early stopping)"})
            stopped.append(run.run_id)
    return stopped


def _trial_rows(grid: Any, metric: str) -> list[dict[str, Any]]:
    rows = []
    for result in grid:
        metrics = result.metrics or {}
        config = {k: result.config.get(k) for k in Tuned._fields}
        rows.append({
            **config,
            metric: metrics.get(metric),
            "epochs": metrics.get("epoch") or metrics.get("training_iteration"),
            "error": str(result.error).splitlines()[0] if result.error else None,
        })
    return rows


def _base_request(settings: TuneSettings, student: StudentConfig, train: TrainSettings, *,
                  root: Path, data: DataPaths | None,
                  pretrained: Mapping[str, str | None] | None) -> TrainRequest:
    """The request every trial starts from: the sweep's epochs, workers and CPUs, no
    retries, no model logged or registered (a trial is compared, not served)."""
    base_student = dataclasses.replace(student, epochs=settings.max_epochs, tuned_config=None)
    base_train = dataclasses.replace(train, num_workers=settings.num_workers,
                                     cpus_per_worker=settings.cpus_per_worker, log_model=False,
                                     max_failures=0)
    return TrainRequest(job="student", config=base_student, settings=base_train,
                        data=(data or DataPaths()).resolved(root), outputs=None, repo_root=root,
                        pretrained=dict(pretrained or {}), val_fraction=settings.val_fraction,
                        register=False)


def _new_sweep_run(settings: TuneSettings, base: TrainRequest, checked: Prepared, *,
                   experiment: str, concurrency: int) -> AbstractContextManager[RunHandle]:
    """A new MLflow run for the sweep (tagged with the inputs' fingerprint)."""
    from components.tracking import run_name, standard_tags, training_run

    labels = checked.labels
    return training_run(
        run_name("sweep", "lift_net", labels["dataset"], checked.fingerprint.short),
        experiment=experiment,
        tags={**standard_tags(job="sweep", model="lift_net", dataset=labels["dataset"],
                              split=labels["split"], stage="tune"),
              "har.fingerprint": checked.fingerprint.digest},
        params={"tune": as_plain(settings), "student": as_plain(base.config),
                "concurrency": concurrency},
        description="har tune: LIFT-Net depth, trainable ViT blocks and lr, ASHA",
    )


def _trainable(base: TrainRequest, sweep_run_id: str, folder: SweepFolder) -> Any:
    """:func:`run_trial` bound to the sweep, with the driver's resources."""
    from ray import tune

    from components.tracking import current_tracking_uri

    return tune.with_resources(
        tune.with_parameters(run_trial, base=base, parent_run_id=sweep_run_id,
                             tracking_uri=current_tracking_uri(),
                             storage_path=f"{folder.storage}/{folder.name}/{TRIALS_FOLDER}"),
        DRIVER_RESOURCES,
    )


def _new_tuner(trainable: Any, settings: TuneSettings, folder: SweepFolder,
               concurrency: int) -> Any:
    """A Tuner for a fresh sweep: ASHA on the sweep metric, ``concurrency`` trials at once."""
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.basic_variant import BasicVariantGenerator

    from components.tuning.placement import ReleaseOrphanedGroups

    return tune.Tuner(
        trainable,
        param_space=search_space(settings),
        tune_config=tune.TuneConfig(
            metric=settings.metric, mode=settings.mode,
            num_samples=settings.num_samples,
            scheduler=ASHAScheduler(time_attr="epoch",
                                    max_t=settings.max_epochs,
                                    grace_period=settings.grace_period,
                                    reduction_factor=settings.reduction_factor),
            # The limit goes to the generator: Tune ignores max_concurrent_trials
            # with a SearchGenerator (it warns), and then every trial starts at once
            # and the Train workers of the extra ones wait for CPUs forever.
            search_alg=BasicVariantGenerator(random_state=settings.seed,
                                             max_concurrent=concurrency),
        ),
        run_config=tune.RunConfig(name=folder.name, storage_path=folder.storage,
                                  callbacks=[ReleaseOrphanedGroups()],
                                  # Tune's status table; with -v its results too.
                                  verbose=2 if verbose() else 1),
    )


def _restored_tuner(trainable: Any, settings: TuneSettings, experiment_dir: Path) -> Any:
    """The Tuner of an unfinished sweep: finished trials kept, the others run again."""
    from ray import tune

    return tune.Tuner.restore(str(experiment_dir), trainable,
                              resume_unfinished=True, restart_errored=True,
                              param_space=search_space(settings))


def _best_trial(grid: Any, settings: TuneSettings, rows: list[dict[str, Any]]) -> (
        tuple[dict[str, Any], float]):
    """The best trial's values and metric.

    Raises:
        TrainingError: no trial reported the metric (naming the first trial error), or
            the best trial recorded no config.
    """
    from components.training.driver import TrainingError

    try:
        best_result = grid.get_best_result(settings.metric, settings.mode, scope="all")
    except (RuntimeError, KeyError) as exc:
        raise TrainingError(f"no trial reported {settings.metric}: {exc}") from exc
    best_value = float(best_result.metrics.get(settings.metric, math.nan)) \
        if best_result.metrics else math.nan
    if best_result.metrics is None or math.isnan(best_value):
        errors = [r["error"] for r in rows if r["error"]]
        raise TrainingError(f"no trial reported {settings.metric}"
                            + (f"; first error: {errors[0]}" if errors else ""))
    if best_result.config is None:
        raise TrainingError("the best trial recorded no config")
    return Tuned.of(best_result.config)._asdict(), best_value


def _report(doc: dict[str, Any], out_file: Path, *, metric: str, sweep_run_id: str) -> None:
    """Write the sweep's outcome to ``out_file`` and log it to the sweep's run."""
    from components.tracking import log_config, log_metrics

    write_text_atomic(out_file, yaml.safe_dump(as_plain(doc), sort_keys=False))
    log_metrics({f"best/{metric}": doc["metric"][metric], "trials": float(len(doc["trials"])),
                 "stopped_early": float(doc["stopped_early"])}, step=0, run_id=sweep_run_id)
    log_config(doc, artifact_file="tune_best.yaml", run_id=sweep_run_id)


def prune_trial_checkpoints(trials_dir: Path) -> tuple[int, int]:
    """Delete the epoch checkpoints of a finished sweep's trials; (how many, bytes).

    A trial's own run prunes nothing: Tune ends a trial at ``max_epochs`` or when ASHA
    stops it, before its training driver finishes. Once the sweep has finished they
    serve nothing (a finished sweep is never resumed; its best config is in the
    output file and every trial's metrics in MLflow), and the demo's four trials left
    717 MB of them."""
    from components.training.planning import prune_checkpoints

    removed, freed = 0, 0
    for run_dir in sorted(p for p in trials_dir.glob("*") if p.is_dir()):
        count, size = prune_checkpoints(run_dir)
        removed, freed = removed + count, freed + size
    if removed:
        log.info("removed the trials' %d epoch checkpoint(s) (%.0f MB)", removed, freed / 1e6)
    return removed, freed


def run_sweep(
    settings: TuneSettings,
    student: StudentConfig,
    train: TrainSettings,
    *,
    repo_root: Path,
    data: DataPaths | None = None,
    out_file: Path = Path("metrics/tune_best.yaml"),
    pretrained: Mapping[str, str | None] | None = None,
) -> SweepResult:
    """Run the sweep and write the best config (see the module docstring).

    Raises:
        InputError, ConfigError: inputs that do not fit (checked once, before any trial).
        TrainingError: no trial reported the metric.
    """
    from components.tracking import setup_tracking
    from components.tracking.resume import end_running_children, resume_run
    from components.training.driver import cluster_cpus, ensure_ray, prepare_training

    root = repo_root.resolve()
    setup_tracking(root, train.experiment)
    ensure_ray()
    base = _base_request(settings, student, train, root=root, data=data, pretrained=pretrained)
    checked = prepare_training(base, total_cpus=cluster_cpus())  # fail before any trial
    folder = SweepFolder.of(settings.storage_path, root, checked.fingerprint.short)
    concurrency = _concurrency(settings, cluster_cpus())
    resumed_run = resumable_run(folder)
    run_context = resume_run(resumed_run) if resumed_run else _new_sweep_run(
        settings, base, checked, experiment=train.experiment, concurrency=concurrency)
    with run_context as sweep:
        trainable = _trainable(base, sweep.run_id, folder)
        if resumed_run:
            assert folder.local is not None
            log.info("continuing the unfinished sweep in %s (MLflow run %s)", folder.local,
                     resumed_run)
            tuner = _restored_tuner(trainable, settings, folder.local)
        else:
            tuner = _new_tuner(trainable, settings, folder, concurrency)
            if folder.local is not None:
                write_record(folder.local, sweep.run_id, finished=False)
            log.info("tuning LIFT-Net: %d trials, %d at a time, ASHA on %s",
                     settings.num_samples, concurrency, settings.metric)
        grid = tuner.fit()
        stopped = settle_trial_runs(sweep.run_id, grid, settings.max_epochs)
        # Trials that errored and left their run open: they did not finish.
        end_running_children(sweep.run_id, "FAILED")
        rows = _trial_rows(grid, settings.metric)
        best, best_value = _best_trial(grid, settings, rows)
        _report({"best": best, "metric": {settings.metric: best_value},
                 "sweep_mlflow_run_id": sweep.run_id, "trials": rows,
                 "stopped_early": len(stopped)},
                out_file, metric=settings.metric, sweep_run_id=sweep.run_id)
        if folder.local is not None:
            write_record(folder.local, sweep.run_id, finished=True)
            if train.prune_checkpoints:
                prune_trial_checkpoints(folder.local / TRIALS_FOLDER)
    return SweepResult(best=best, best_metric=best_value, trials=rows,
                       sweep_run_id=sweep.run_id, out_file=out_file)
