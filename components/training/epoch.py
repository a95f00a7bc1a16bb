"""One training epoch: plain PyTorch, nothing of Ray (the evaluation pass between
epochs is :func:`components.jobs.evaluate.evaluate`).

``train_one_epoch`` runs the same way in a Ray Train worker (with a DDP-wrapped
model and a distributed sampler) and in a plain loop (tests, ``bench/train``).
When ``torch.distributed`` is initialised, every step agrees across ranks on
whether the loss is finite (one tiny all-reduce), so a NaN on one rank stops all
of them at the same step instead of hanging the others in DDP's gradient sync.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import torch
import torch.distributed as dist
from torch import nn

from components.jobs.config import AugmentConfig
from components.jobs.evaluate import Batch, autocast
from components.jobs.losses import MixedTargets
from components.jobs.tasks import ClassifierTask
from components.training.cutmix import cutmix
from components.training.nonfinite import NonFiniteLossError, is_finite


@dataclass(frozen=True)
class EpochStats:
    """What one training epoch did (this process only).

    Attributes:
        loss: mean training loss over the steps.
        parts: mean of each loss term (``ce``, ``kd``).
        top1: training accuracy of the batches (CutMix: against the first label).
        samples: samples seen by this process.
        steps: optimiser steps.
        seconds: wall-clock time of the epoch.
    """

    loss: float
    parts: dict[str, float] = field(default_factory=dict)
    top1: float = float("nan")
    samples: int = 0
    steps: int = 0
    seconds: float = 0.0

    @property
    def samples_per_s(self) -> float:
        return self.samples / self.seconds if self.seconds > 0 else float("nan")


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def finite_on_all_ranks(loss: torch.Tensor) -> tuple[bool, bool]:
    """(finite here, finite on every rank): one all-reduce when distributed."""
    here = is_finite(loss)
    _, world = _world()
    if world == 1:
        return here, here
    flag = torch.tensor([0.0 if here else 1.0], device=loss.device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return here, bool(flag.item() == 0.0)


def train_one_epoch(
    model: nn.Module,
    loader: Iterable[Batch],
    optimizer: torch.optim.Optimizer,
    task: ClassifierTask,
    *,
    epoch: int,
    device: torch.device,
    steps_before: int = 0,
    scaler: torch.amp.GradScaler | None = None,
    amp: bool = False,
    grad_clip: float = 0.0,
    label_smoothing: float = 0.0,
    augment: AugmentConfig | None = None,
    generator: torch.Generator | None = None,
    describe: Callable[[Batch], Sequence[str]] | None = None,
    max_steps: int | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
) -> EpochStats:
    """Train ``model`` for one pass over ``loader``.

    Args:
        model: the model (possibly DDP-wrapped), on ``device``.
        loader: batches (dicts with the task's input keys and ``y``).
        optimizer: the optimiser (stepped every batch).
        task: how to run the model and compute the loss.
        epoch: 1-based epoch (for messages).
        device: where the model lives; batches are moved there.
        steps_before: optimiser steps of earlier epochs (the step number in messages
            is global).
        scaler: gradient scaler for float16 autocast (disabled on CPU).
        amp: autocast on CUDA.
        grad_clip: clip the gradient norm (0: off).
        label_smoothing: cross-entropy label smoothing.
        augment: batch augmentations (CutMix) to apply.
        generator: CPU generator for CutMix (seeded per epoch and rank by the caller).
        describe: returns the video keys of a batch (named when the loss is not finite).
        max_steps: stop after this many steps (benchmarks).
        scheduler: learning-rate schedule stepped after every optimiser step.

    Returns:
        The epoch's statistics for this process.

    Raises:
        NonFiniteLossError: the loss is NaN or infinite (on this rank or another);
            no optimiser step is taken for that batch.
    """
    model.train()
    rank, world = _world()
    generator = generator or torch.Generator().manual_seed(epoch)
    started = time.perf_counter()
    tally = _Tally()
    for index, batch in enumerate(loader):
        if max_steps is not None and tally.steps >= max_steps:
            break
        inputs, labels, targets = _batch_on(device, batch, task, augment, generator)
        with autocast(device, amp):
            logits, features = task.forward(model, inputs)
            loss, parts = task.loss(logits, features, inputs, targets, label_smoothing)
        _stop_unless_finite(loss, batch, epoch=epoch, step=steps_before + tally.steps + 1,
                            index=index, rank=rank, world=world, describe=describe)
        _optimiser_step(model, loss, optimizer, scaler=scaler, grad_clip=grad_clip,
                        scheduler=scheduler)
        tally.add(loss, parts, logits, targets, labels)
    return tally.stats(time.perf_counter() - started)


def _batch_on(device: torch.device, batch: Batch, task: ClassifierTask,
              augment: AugmentConfig | None, generator: torch.Generator,
              ) -> tuple[tuple[torch.Tensor, ...], torch.Tensor, torch.Tensor | MixedTargets]:
    """(inputs, labels, targets) of a batch on ``device``; targets are mixed where
    CutMix draws this batch (with probability ``augment.cutmix``)."""
    inputs = task.prepare(tuple(batch[k].to(device, non_blocking=True)
                                for k in task.input_keys))
    labels = batch["y"].to(device, non_blocking=True)
    targets: torch.Tensor | MixedTargets = labels
    if augment is not None and augment.cutmix > 0 and \
            float(torch.rand((), generator=generator)) < augment.cutmix:
        inputs, targets = cutmix(inputs, labels, augment.cutmix_alpha, generator)
    return inputs, labels, targets


def _stop_unless_finite(loss: torch.Tensor, batch: Batch, *, epoch: int, step: int, index: int,
                        rank: int, world: int,
                        describe: Callable[[Batch], Sequence[str]] | None) -> None:
    """Raise :class:`NonFiniteLossError` unless the loss is finite on every rank: the
    rank whose loss it is names the batch's videos, the others stop with it."""
    here, everywhere = finite_on_all_ranks(loss)
    if everywhere:
        return
    where = rank if world > 1 else None
    if here:  # another rank's loss: stop with it, name it there
        raise NonFiniteLossError(epoch=epoch, step=step, batch=index, value=float("nan"),
                                 rank=where, local=False,
                                 detail="the loss was not finite on another rank")
    videos = tuple(describe(batch)) if describe is not None else ()
    raise NonFiniteLossError(epoch=epoch, step=step, batch=index,
                             value=float(loss.detach()), videos=videos, rank=where)


def _optimiser_step(model: nn.Module, loss: torch.Tensor, optimizer: torch.optim.Optimizer, *,
                    scaler: torch.amp.GradScaler | None, grad_clip: float,
                    scheduler: torch.optim.lr_scheduler.LRScheduler | None) -> None:
    """Backward and one optimiser step: through the gradient scaler when it is on
    (the gradients are unscaled before clipping), then the schedule's step."""
    optimizer.zero_grad(set_to_none=True)
    if scaler is not None and scaler.is_enabled():
        scaler.scale(loss).backward()
        if grad_clip > 0:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        if grad_clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
    if scheduler is not None:
        scheduler.step()


class _Tally:
    """An epoch's running sums, weighted by batch size: loss, loss terms, correct
    predictions (CutMix: against the first label)."""

    __slots__ = ("correct", "parts", "samples", "steps", "total")

    def __init__(self) -> None:
        self.total = torch.zeros((), dtype=torch.float64)
        self.parts: dict[str, float] = {}
        self.correct = self.samples = self.steps = 0

    def add(self, loss: torch.Tensor, parts: dict[str, torch.Tensor], logits: torch.Tensor,
            targets: torch.Tensor | MixedTargets, labels: torch.Tensor) -> None:
        """Count one optimiser step over a batch."""
        self.steps += 1
        n = labels.shape[0]
        self.samples += n
        self.total += loss.detach().double().cpu() * n
        for name, value in parts.items():
            self.parts[name] = self.parts.get(name, 0.0) + float(value) * n
        first = targets.y_a if isinstance(targets, MixedTargets) else labels
        self.correct += int((logits.detach().argmax(1) == first).sum())

    def stats(self, seconds: float) -> EpochStats:
        """The epoch's means (NaN loss and accuracy when no step was taken)."""
        denom = max(self.samples, 1)
        return EpochStats(
            loss=float(self.total) / denom if self.samples else float("nan"),
            parts={k: v / denom for k, v in self.parts.items()},
            top1=self.correct / denom if self.samples else float("nan"),
            samples=self.samples, steps=self.steps, seconds=seconds,
        )


def recalibrate_batchnorm(
    model: nn.Module, loader: Iterable[Batch], task: ClassifierTask, *, device: torch.device,
    max_batches: int, amp: bool = False,
) -> int:
    """Precise BN on the unwrapped ``model`` over training batches of ``loader``
    (:func:`components.training.precise_bn.recompute_batchnorm_statistics`)."""
    from components.training.precise_bn import recompute_batchnorm_statistics

    def forward(net: nn.Module, batch: Batch) -> None:
        inputs = task.prepare(tuple(batch[k].to(device, non_blocking=True)
                                    for k in task.input_keys))
        with autocast(device, amp):
            task.forward(net, inputs)

    return recompute_batchnorm_statistics(model, loader, forward, max_batches)
