"""``train_loop_per_worker``: what each Ray Train worker runs.

Per worker: build the session from the plan, resume from
``ray.train.get_checkpoint()`` (after checking its fingerprint), wrap the model
for DDP (``prepare_model``: gloo on CPUs, NCCL on GPUs, chosen by TorchTrainer)
and the loaders (``prepare_data_loader``), then per epoch:

1. train (:func:`components.training.epoch.train_one_epoch`), the sampler and the
   datasets seeded by (seed, epoch);
2. step the cosine schedule;
3. evaluate the unwrapped model on this rank's share of the evaluation videos,
   gather every rank's predictions, compute the metrics (the same on all ranks);
4. ``ray.train.report(metrics, checkpoint=...)``: rank 0 writes the checkpoint
   (model, optimiser, scheduler, scaler, epoch, every rank's RNG state, history),
   the other ranks report metrics only.

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

from components.training.checkpoint import (
    capture_rng_state,
    checkpoint_dir_name,
    load_checkpoint,
    save_checkpoint,
    unwrap_model,
)
from components.training.epoch import EpochStats, evaluate, train_one_epoch
from components.training.losses import NonFiniteLossError
from components.training.metrics import Predictions, summarize
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


def run_epoch(
    session: Session, model: torch.nn.Module, train_loader: Any, eval_loader: Any, *,
    epoch: int, rank: int, world: int,
) -> tuple[dict[str, float], Any]:
    """Train and evaluate one epoch; returns (metrics record, confusion matrix)."""
    plan, cfg = session.plan, session.plan.config
    session.train_set.set_epoch(epoch)
    sampler = getattr(train_loader, "sampler", None)
    if isinstance(sampler, DistributedSampler):
        sampler.set_epoch(epoch)
    started = time.time()
    lr = session.optimizer.param_groups[0]["lr"]
    generator = torch.Generator().manual_seed(plan.settings.seed * 1_000_003 + epoch * 101 + rank)
    stats = train_one_epoch(
        model, train_loader, session.optimizer, session.task, epoch=epoch,
        device=session.device, steps_before=session.steps, scaler=session.scaler,
        amp=plan.settings.amp, grad_clip=cfg.grad_clip, label_smoothing=cfg.label_smoothing,
        augment=cfg.augment, generator=generator,
        describe=lambda batch: session.train_set.keys_of(batch["video"].tolist()),
    )
    session.scheduler.step()
    _sync_buffers(model, world)
    preds = evaluate(unwrap_model(model), eval_loader, session.task, device=session.device,
                     amp=plan.settings.amp)
    merged = Predictions.concat(_gather(preds, world))
    eval_metrics, confusion = summarize(merged, plan.num_classes, plan.eval_prefix)
    all_stats = _gather(stats, world)
    session.steps += all_stats[0].steps
    record = {"epoch": float(epoch), "lr": float(lr), **_combine_stats(all_stats),
              **eval_metrics, "epoch_seconds": time.time() - started, "time": time.time()}
    return record, confusion


def train_loop_per_worker(config: dict[str, Any]) -> None:
    """The Ray Train worker function; ``config["plan"]`` is a :class:`WorkerPlan`."""
    import ray.train
    import ray.train.torch

    plan: WorkerPlan = config["plan"]
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    torch.set_num_threads(max(1, plan.threads))
    seed_everything(plan.settings.seed + rank)
    device = ray.train.torch.get_device()
    session = build_session(plan, device)

    checkpoint = ray.train.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as directory:
            state = load_checkpoint(Path(directory), plan.fingerprint, map_location=device)
        restore_session(session, state, rank)
    if session.epoch >= plan.config.epochs:
        return  # finished before a restart: nothing left to train

    model = ray.train.torch.prepare_model(
        session.model, move_to_device=False,
        parallel_strategy_kwargs={"find_unused_parameters": plan.find_unused_parameters},
    )
    per_rank = max(1, plan.config.batch_size // world)
    sampler = DistributedSampler(session.train_set, num_replicas=world, rank=rank, shuffle=True,
                                 seed=plan.settings.seed, drop_last=False)
    loader_workers = plan.settings.loader_workers
    train_loader = ray.train.torch.prepare_data_loader(DataLoader(
        session.train_set, batch_size=per_rank, sampler=sampler, drop_last=True,
        num_workers=loader_workers, pin_memory=device.type == "cuda",
    ))
    eval_share = Subset(session.eval_set, list(range(rank, len(session.eval_set), world)))
    eval_loader = ray.train.torch.prepare_data_loader(DataLoader(
        eval_share, batch_size=plan.config.eval_batch, shuffle=False,
        num_workers=loader_workers, pin_memory=device.type == "cuda",
    ), add_dist_sampler=False)

    for epoch in range(session.epoch + 1, plan.config.epochs + 1):
        try:
            record, confusion = run_epoch(session, model, train_loader, eval_loader,
                                          epoch=epoch, rank=rank, world=world)
        except NonFiniteLossError as error:
            messages = [m for m in _gather(str(error) if error.local else None, world) if m]
            last = checkpoint_dir_name(epoch - 1) if epoch > 1 else "none (first epoch)"
            ray.train.report({"epoch": float(epoch),
                              ABORT_KEY: f"{messages[0] if messages else error}; "
                                         f"last good checkpoint: {last}"})
            return
        session.epoch = epoch
        session.history.append(record)
        rng_states = _gather(capture_rng_state(), world)
        with tempfile.TemporaryDirectory(prefix="har-ckpt-") as directory:
            reported = None
            if rank == 0:
                save_checkpoint(
                    Path(directory), fingerprint=plan.fingerprint, job=plan.job,
                    model_name=plan.model.name, epoch=epoch,
                    state=session_state(session, rng_states,
                                        {"confusion": torch.from_numpy(confusion)}),
                )
                reported = ray.train.Checkpoint.from_directory(directory)
            ray.train.report(record, checkpoint=reported,
                             checkpoint_dir_name=checkpoint_dir_name(epoch))
