"""``train_loop_per_worker``: what each Ray Train worker runs.

Per worker: build the session from the plan, resume from
``ray.train.get_checkpoint()`` (after checking its fingerprint), wrap the model
for DDP (``prepare_model``: gloo on CPUs, NCCL on GPUs, chosen by TorchTrainer)
and the loaders (``prepare_data_loader``), then per epoch:

1. train (:func:`components.training.epoch.train_one_epoch`), the sampler and the
   datasets seeded by (seed, epoch), the learning rate stepped per batch;
2. recompute the BatchNorm statistics with the epoch's final weights (precise BN;
   the ranks' statistics averaged), so that eval mode is the model just trained;
3. evaluate the unwrapped model on this rank's share of the validation videos,
   gather every rank's predictions, compute the metrics (the same on all ranks),
   and keep the weights if this epoch is the best so far;
4. when the last epoch is done or validation stopped improving (``patience``):
   load the best epoch's weights and score them once on the test split;
5. ``ray.train.report(metrics, checkpoint=...)``: rank 0 writes the checkpoint
   (model, optimiser, scheduler, scaler, epoch, every rank's RNG state, history,
   the best weights, the final test scores), the other ranks report metrics only.

A non-finite loss stops every rank at the same step; the workers then report
``{ABORT_KEY: message}`` without a checkpoint and return, so Ray does not retry
a deterministic failure and the last good checkpoint stays the latest.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler, Subset

from components.jobs.datasets import build_eval_dataset
from components.jobs.evaluate import evaluate
from components.metrics import Predictions, summarize
from components.models.unwrap import unwrap_model
from components.training.checkpoint import (
    capture_rng_state,
    checkpoint_dir_name,
    load_checkpoint,
    save_checkpoint,
)
from components.training.epoch import (
    EpochStats,
    recalibrate_batchnorm,
    train_one_epoch,
)
from components.training.nonfinite import NonFiniteLossError
from components.training.progress import Counted, Sender
from components.training.session import (
    ABORT_KEY,
    Session,
    WorkerPlan,
    build_session,
    restore_session,
    seed_everything,
    session_state,
)


def _gather(obj: Any, world: int) -> list[Any]:
    if world == 1:
        return [obj]
    out: list[Any] = [None] * world
    dist.all_gather_object(out, obj)
    return out


def _combine_stats(stats: list[EpochStats]) -> dict[str, float]:
    samples = sum(s.samples for s in stats)
    seconds = max(s.seconds for s in stats)
    denom = max(samples, 1)
    out = {
        "train/loss": sum(s.loss * s.samples for s in stats) / denom,
        "train/top1": sum(s.top1 * s.samples for s in stats) / denom,
        "train/samples": float(samples),
        "train/seconds": seconds,
        "train/samples_per_s": samples / seconds if seconds > 0 else float("nan"),
    }
    for name in stats[0].parts:
        out[f"train/{name}"] = sum(s.parts.get(name, 0.0) * s.samples for s in stats) / denom
    return out


def _sync_buffers(model: torch.nn.Module, world: int) -> None:
    """Give every rank rank 0's buffers (BatchNorm statistics) before evaluation."""
    if world == 1:
        return
    for buffer in unwrap_model(model).buffers():
        dist.broadcast(buffer.data, src=0)


def _score(session: Session, loader: Any, prefix: str, world: int) -> tuple[dict[str, float],
                                                                           Any]:
    """Video-level metrics and confusion of the unwrapped model on every rank's share."""
    preds = evaluate(unwrap_model(session.model), loader, session.task, device=session.device,
                     amp=session.plan.settings.amp)
    merged = Predictions.concat(_gather(preds, world))
    return summarize(merged, session.plan.num_classes, prefix)


def run_epoch(
    session: Session, model: torch.nn.Module, train_loader: Any, eval_loader: Any, *,
    epoch: int, rank: int, world: int, progress: Sender | None = None,
) -> tuple[dict[str, float], Any]:
    """Train, recalibrate BatchNorm and validate one epoch; returns (metrics record,
    validation confusion matrix or None without validation). ``progress``: where
    rank 0 sends its batch count (the driver's progress bar), or None."""
    plan, cfg = session.plan, session.plan.config
    session.train_set.set_epoch(epoch)
    sampler = getattr(train_loader, "sampler", None)
    if isinstance(sampler, DistributedSampler):
        sampler.set_epoch(epoch)
    started = time.time()
    lr = session.optimizer.param_groups[0]["lr"]
    generator = torch.Generator().manual_seed(plan.settings.seed * 1_000_003 + epoch * 101 + rank)
    batches = train_loader if progress is None or rank != 0 \
        else Counted(train_loader, progress, epoch)
    stats = train_one_epoch(
        model, batches, session.optimizer, session.task, epoch=epoch,
        device=session.device, steps_before=session.steps, scaler=session.scaler,
        amp=plan.settings.amp, grad_clip=cfg.grad_clip, label_smoothing=cfg.label_smoothing,
        augment=cfg.augment, generator=generator, scheduler=session.scheduler,
        describe=lambda batch: session.train_set.keys_of(batch["video"].tolist()),
    )
    if plan.settings.precise_bn_batches:
        recalibrate_batchnorm(unwrap_model(model), train_loader, session.task,
                              device=session.device, amp=plan.settings.amp,
                              max_batches=plan.settings.precise_bn_batches)
    else:
        _sync_buffers(model, world)
    all_stats = _gather(stats, world)
    session.steps += all_stats[0].steps
    record = {"epoch": float(epoch), "lr": float(lr), **_combine_stats(all_stats)}
    confusion = None
    if eval_loader is not None:
        eval_metrics, confusion = _score(session, eval_loader, plan.eval_prefix, world)
        record.update(eval_metrics)
    record.update({"epoch_seconds": time.time() - started, "time": time.time()})
    return record, confusion


def finish_training(session: Session, test_loader: Any, world: int) -> None:
    """Training is over: load the best epoch's weights and score them on the test split."""
    session.restore_best()
    session.stopped = True
    if test_loader is None:
        return
    metrics, confusion = _score(session, test_loader, "test", world)
    session.final = {"epoch": session.best_epoch, "metrics": metrics,
                     "confusion": torch.from_numpy(confusion)}


def _eval_loader(dataset: Any, rank: int, world: int, batch: int, workers: int,
                 device: torch.device) -> Any:
    """This rank's share of an evaluation set (every world-th item), or None if empty."""
    import ray.train.torch

    if dataset is None or len(dataset) == 0:
        return None
    share = Subset(dataset, list(range(rank, len(dataset), world)))
    return ray.train.torch.prepare_data_loader(DataLoader(
        share, batch_size=batch, shuffle=False, num_workers=workers,
        pin_memory=device.type == "cuda",
    ), add_dist_sampler=False)


def train_loop_per_worker(config: dict[str, Any]) -> None:
    """The Ray Train worker function; ``config["plan"]`` is a :class:`WorkerPlan`."""
    import ray.train
    import ray.train.torch

    plan: WorkerPlan = config["plan"]
    progress: Sender | None = config.get("progress")
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    torch.set_num_threads(max(1, plan.threads))
    seed_everything(plan.settings.seed + rank)
    device = ray.train.torch.get_device()
    session = build_session(plan, device, world)
    _resume_from_ray(session, rank)
    if session.stopped or session.epoch >= plan.config.epochs:
        return  # finished before a restart: nothing left to train

    model = ray.train.torch.prepare_model(
        session.model, move_to_device=False,
        parallel_strategy_kwargs={"find_unused_parameters": plan.find_unused_parameters},
    )
    train_loader, eval_loader, test_loader = _rank_loaders(session, rank, world)
    for epoch in range(session.epoch + 1, plan.config.epochs + 1):
        try:
            record, confusion = run_epoch(session, model, train_loader, eval_loader,
                                          epoch=epoch, rank=rank, world=world,
                                          progress=progress)
        except NonFiniteLossError as error:
            _report_abort(error, epoch, world)
            return
        stop = session.end_epoch(epoch, record)
        if progress is not None and rank == 0:
            progress.send("end", epoch, dict(record))
        if stop:
            finish_training(session, test_loader, world)
        _report_epoch(session, epoch, record, confusion, rank, world)
        if stop:
            return


def _resume_from_ray(session: Session, rank: int) -> None:
    """Restore the session from Ray's checkpoint of the run, if it has one (its
    fingerprint checked against the plan's)."""
    import ray.train

    checkpoint = ray.train.get_checkpoint()
    if checkpoint is None:
        return
    with checkpoint.as_directory() as directory:
        state = load_checkpoint(Path(directory), session.plan.fingerprint,
                                map_location=session.device)
    restore_session(session, state, rank)


def _rank_loaders(session: Session, rank: int, world: int) -> tuple[Any, Any, Any]:
    """This rank's (train, validation, test) loaders: training batches from a
    distributed sampler, every world-th item of the evaluation sets (None: no set)."""
    import ray.train.torch

    plan, device = session.plan, session.device
    per_rank = max(1, plan.config.batch_size // world)
    sampler: DistributedSampler[Any] = DistributedSampler(
        session.train_set, num_replicas=world, rank=rank, shuffle=True,
        seed=plan.settings.seed, drop_last=False)
    loader_workers = plan.settings.loader_workers
    train_loader = ray.train.torch.prepare_data_loader(DataLoader(
        session.train_set, batch_size=per_rank, sampler=sampler, drop_last=True,
        num_workers=loader_workers, pin_memory=device.type == "cuda",
    ))
    eval_loader = _eval_loader(session.eval_set if plan.eval else None, rank, world,
                               plan.config.eval_batch, loader_workers, device)
    test_set = build_eval_dataset(plan.job, plan.config, plan.roots, plan.kinds, plan.test,
                                  plan.settings.seed) if plan.test else None
    test_loader = _eval_loader(test_set, rank, world, plan.config.eval_batch, loader_workers,
                               device)
    return train_loader, eval_loader, test_loader


def _report_abort(error: NonFiniteLossError, epoch: int, world: int) -> None:
    """Report the non-finite loss (the rank's own message that names it) without a
    checkpoint, so the last good checkpoint stays the latest."""
    import ray.train

    messages = [m for m in _gather(str(error) if error.local else None, world) if m]
    last = checkpoint_dir_name(epoch - 1) if epoch > 1 else "none (first epoch)"
    ray.train.report({"epoch": float(epoch),
                      ABORT_KEY: f"{messages[0] if messages else error}; "
                                 f"last good checkpoint: {last}"})


def _report_epoch(session: Session, epoch: int, record: dict[str, float], confusion: Any,
                  rank: int, world: int) -> None:
    """Report the epoch's metrics; rank 0 also writes its checkpoint, with every
    rank's RNG state (gathered from all ranks)."""
    import ray.train

    plan = session.plan
    rng_states = _gather(capture_rng_state(), world)
    extra = {} if confusion is None else {"confusion": torch.from_numpy(confusion)}
    with tempfile.TemporaryDirectory(prefix="har-ckpt-") as directory:
        reported = None
        if rank == 0:
            save_checkpoint(
                Path(directory), fingerprint=plan.fingerprint, job=plan.job,
                model_name=plan.model.name, epoch=epoch,
                state=session_state(session, rng_states, extra),
            )
            reported = ray.train.Checkpoint.from_directory(directory)
        ray.train.report(record, checkpoint=reported,
                         checkpoint_dir_name=checkpoint_dir_name(epoch))
