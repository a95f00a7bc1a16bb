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

Output: a YAML file (``metrics/tune_best.yaml`` by default) with the best
trial's ``depth``, ``trainable_vit_blocks`` and ``lr`` under ``best:``, which
``train_student.tuned_config`` can point at.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components._atomic import write_text_atomic
from components.training.config import (
    DataPaths,
    StudentConfig,
    TrainSettings,
    as_plain,
)
from components.training.driver import TrainRequest, TrialContext
from components.tuning.config import TuneSettings

log = logging.getLogger(__name__)

#: What a trial's driver reserves: no CPU (its Train workers reserve theirs), but Tune
#: refuses an empty request, so a token amount of memory (1 MiB).
DRIVER_RESOURCES = {"cpu": 0, "memory": 1 << 20}


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

    return {
        "depth": tune.choice(list(settings.depth)),
        "trainable_vit_blocks": tune.choice(list(settings.trainable_vit_blocks)),
        "lr": tune.loguniform(*settings.lr),
    }


def trial_request(base: TrainRequest, config: Mapping[str, Any], trial: TrialContext) -> (
        TrainRequest):
    """The training request of one trial: the base student with the trial's values."""
    cfg: StudentConfig = base.config  # type: ignore[assignment]
    lr = float(config["lr"])
    kwargs = {**cfg.model_kwargs, "depth": config["depth"],
              "trainable_vit_blocks": config["trainable_vit_blocks"]}
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
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    experiment = client.get_run(sweep_run_id).info.experiment_id
    stopped = []
    for result in grid:
        metrics = result.metrics or {}
        trial_id = metrics.get("trial_id")
        if result.error is not None or not trial_id:
            continue
        completed = int(metrics.get("training_iteration") or 0) >= max_epochs
        for run in client.search_runs(
                [experiment], filter_string=f"tags.mlflow.parentRunId = '{sweep_run_id}' "
                                            f"and tags.`har.trial_id` = '{trial_id}'"):
            if completed:
                if run.info.status != "FINISHED":
                    client.set_terminated(run.info.run_id, "FINISHED")
                continue
            client.set_tag(run.info.run_id, "har.stopped_by", "asha (early stopping)")
            client.set_terminated(run.info.run_id, "KILLED")
            stopped.append(run.info.run_id)
    return stopped


def _trial_rows(grid: Any, metric: str) -> list[dict[str, Any]]:
    rows = []
    for result in grid:
        metrics = result.metrics or {}
        config = {k: result.config.get(k) for k in ("depth", "trainable_vit_blocks", "lr")}
        rows.append({
            **config,
            metric: metrics.get(metric),
            "epochs": metrics.get("training_iteration"),
            "error": str(result.error).splitlines()[0] if result.error else None,
        })
    return rows


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
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.basic_variant import BasicVariantGenerator

    from components.tracking import (
        current_tracking_uri,
        log_config,
        log_metrics,
        run_name,
        setup_tracking,
        standard_tags,
        training_run,
    )
    from components.tracking.resume import end_running_children
    from components.training.driver import (
        TrainingError,
        cluster_cpus,
        ensure_ray,
        prepare_training,
    )

    root = repo_root.resolve()
    setup_tracking(root, train.experiment)
    ensure_ray()
    base_student = dataclasses.replace(student, epochs=settings.max_epochs, tuned_config=None)
    base_train = dataclasses.replace(train, num_workers=settings.num_workers,
                                     cpus_per_worker=settings.cpus_per_worker, log_model=False,
                                     max_failures=0)
    base = TrainRequest(job="student", config=base_student, settings=base_train,
                        data=(data or DataPaths()).resolved(root), outputs=None, repo_root=root,
                        pretrained=dict(pretrained or {}), val_fraction=settings.val_fraction,
                        register=False)
    checked = prepare_training(base, total_cpus=cluster_cpus())  # fail before any trial
    storage = settings.storage_path
    if "://" not in storage and not Path(storage).is_absolute():
        storage = str((root / storage).resolve())
    name = f"sweep-{checked.fingerprint.short}"
    concurrency = _concurrency(settings, cluster_cpus())
    labels = checked.labels
    with training_run(
        run_name("sweep", "lift_net", labels["dataset"], checked.fingerprint.short),
        experiment=train.experiment,
        tags={**standard_tags(job="sweep", model="lift_net", dataset=labels["dataset"],
                              split=labels["split"], stage="tune"),
              "har.fingerprint": checked.fingerprint.digest},
        params={"tune": as_plain(settings), "student": as_plain(base_student),
                "concurrency": concurrency},
        description="har tune: LIFT-Net depth, trainable ViT blocks and lr, ASHA",
    ) as sweep:
        trainable = tune.with_resources(
            tune.with_parameters(run_trial, base=base, parent_run_id=sweep.run_id,
                                 tracking_uri=current_tracking_uri(),
                                 storage_path=str(Path(storage) / name / "trials")
                                 if "://" not in storage else f"{storage}/{name}/trials"),
            DRIVER_RESOURCES,
        )
        tuner = tune.Tuner(
            trainable,
            param_space=search_space(settings),
            tune_config=tune.TuneConfig(
                metric=settings.metric, mode=settings.mode, num_samples=settings.num_samples,
                scheduler=ASHAScheduler(time_attr="training_iteration",
                                        max_t=settings.max_epochs,
                                        grace_period=settings.grace_period,
                                        reduction_factor=settings.reduction_factor),
                # The limit goes to the generator: Tune ignores max_concurrent_trials
                # with a SearchGenerator (it warns), and then every trial starts at once
                # and the Train workers of the extra ones wait for CPUs forever.
                search_alg=BasicVariantGenerator(random_state=settings.seed,
                                                 max_concurrent=concurrency),
            ),
            run_config=tune.RunConfig(name=name, storage_path=storage),
        )
        log.info("tuning LIFT-Net: %d trials, %d at a time, ASHA on %s", settings.num_samples,
                 concurrency, settings.metric)
        grid = tuner.fit()
        stopped = settle_trial_runs(sweep.run_id, grid, settings.max_epochs)
        # Trials that errored and left their run open: they did not finish.
        end_running_children(sweep.run_id, "FAILED")
        rows = _trial_rows(grid, settings.metric)
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
        best = {k: best_result.config[k] for k in ("depth", "trainable_vit_blocks", "lr")}
        doc = {
            "best": best,
            "metric": {settings.metric: best_value},
            "sweep_mlflow_run_id": sweep.run_id,
            "trials": rows,
            "stopped_early": len(stopped),
        }
        write_text_atomic(out_file, yaml.safe_dump(as_plain(doc), sort_keys=False))
        log_metrics({f"best/{settings.metric}": best_value, "trials": float(len(rows)),
                     "stopped_early": float(len(stopped))}, step=0, run_id=sweep.run_id)
        log_config(doc, artifact_file="tune_best.yaml", run_id=sweep.run_id)
    return SweepResult(best=best, best_metric=best_value, trials=rows,
                       sweep_run_id=sweep.run_id, out_file=out_file)
