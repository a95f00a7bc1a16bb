"""The Ray side of a training job: the run folder's state file, joining or starting
Ray, and the TorchTrainer fit with its progress display and failure messages."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any

from components._atomic import write_text_atomic
from components.training.request import Prepared, TrainingError

log = logging.getLogger(__name__)

RUN_STATE_FILE = "har_run.json"
#: Ray Train's controller advances (workers scheduled, running, finished) only when
#: it polls them, every ``RAY_TRAIN_HEALTH_CHECK_INTERVAL_S`` (Ray's default 2 s):
#: at 0.5 s a training stage attached to a shared head took 19.3 s instead of 26.5
#: (``bench.train --fixed-cost``'s stage, 1.6 s of epochs, idle 2 cores), most of
#: it saved after the last epoch.
CONTROLLER_POLL_S = "0.5"
_CONTROLLER_POLL_ENV = "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S"


def default_controller_poll(environ: MutableMapping[str, str]) -> None:
    """Set Ray Train's poll interval to :data:`CONTROLLER_POLL_S` unless already set.

    Ray Train reads it from the driver's environment only (and passes it on to its
    controller), so ``fit`` sets it there; a value the user set wins.
    """
    environ.setdefault(_CONTROLLER_POLL_ENV, CONTROLLER_POLL_S)


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


def planning_cpus() -> int:
    """The CPUs a job is planned for: the Ray cluster's when this process is connected
    or ``$RAY_ADDRESS`` names one (joined here, to ask it), else this machine's.

    Without a cluster no Ray starts here: the local Ray started later has this
    machine's CPUs, and a bad input then fails before Ray starts at all.
    """
    import ray

    from components.ray_head import ray_address

    if ray.is_initialized() or ray_address():
        ensure_ray()
        return cluster_cpus()
    return os.cpu_count() or 1


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

    default_controller_poll(os.environ)
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
        run_config=RunConfig(  # type: ignore[call-arg]  # v2's, as FailureConfig below
            name=prepared.run_name,
            storage_path=prepared.storage_path,
            # Ray Train v2's configs (the default; ray.train re-exports them then), which
            # the type checker does not see behind ray.train's run-time switch
            failure_config=FailureConfig(  # type: ignore[call-arg]
                max_failures=settings.max_failures,
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
