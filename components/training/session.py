"""A worker's training state, built from a plan: plain PyTorch, nothing of Ray.

The driver turns params and inputs into a :class:`WorkerPlan` (picklable, every
path absolute); each Ray worker (or a plain loop: tests, ``bench/train``) calls
:func:`build_session` to get the model, optimiser, scheduler, scaler, task and
datasets, and :func:`session_state` / :func:`restore_session` to checkpoint and
resume them.

Optimiser and schedule: AdamW (no weight decay on biases and normalisation
weights); a linear warm-up over ``warmup_epochs``, then cosine annealing from
``lr`` to ``min_lr`` at the last epoch, stepped per optimiser step
(:mod:`components.training.schedule`).

Model selection: the session keeps the weights of the best validation epoch
(:meth:`Session.consider`); when training stops they are the trained model.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from components.jobs.config import JobConfig
from components.jobs.data import VideoEntry
from components.jobs.datasets import build_datasets
from components.jobs.tasks import ClassifierTask, DistillTask
from components.models.unwrap import unwrap_model
from components.training.checkpoint import Fingerprint, restore_rng_state
from components.training.schedule import steps_per_epoch, warmup_cosine
from components.training.settings import TrainSettings

#: Key of a report that ends a run early (non-finite loss); its value is the message.
ABORT_KEY = "har_abort"


@dataclass(frozen=True)
class ModelPlan:
    """A registered model and its builder arguments (``num_classes`` included)."""

    name: str
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class TeacherPlan:
    """The frozen teacher of the student: builder and trained weights (state dict)."""

    model: ModelPlan
    weights: Path


@dataclass(frozen=True)
class WorkerPlan:
    """Everything a worker needs, resolved by the driver (picklable; absolute paths).

    Attributes:
        job: ``teacher``, ``student``, ``normal``, ``motion``.
        config: the job's resolved config.
        settings: shared training settings.
        model: the model to train.
        teacher: the student's teacher (None for other jobs or without KD).
        roots, kinds: shard folder and representation kind per role.
        train, eval: the videos trained on and evaluated on each epoch (``eval``:
            the validation videos; empty without validation).
        num_classes: K.
        eval_prefix: metric prefix of the per-epoch evaluation (``val``).
        fingerprint: the run's fingerprint (checked before loading a checkpoint).
        threads: torch threads per worker.
        find_unused_parameters: DDP flag (LIFT-Net without KD, or distilled on logits,
            leaves h2's projection unused).
        test: the videos the trained (selected) model is scored on once, when
            training stops (``test/*``); empty for Tune trials, which never see them.
        flip_map: class index -> the class a horizontal flip turns it into.
    """

    job: str
    config: JobConfig
    settings: TrainSettings
    model: ModelPlan
    teacher: TeacherPlan | None
    roots: dict[str, Path]
    kinds: dict[str, str]
    train: tuple[VideoEntry, ...]
    eval: tuple[VideoEntry, ...]
    num_classes: int
    eval_prefix: str
    fingerprint: Fingerprint
    threads: int = 1
    find_unused_parameters: bool = False
    test: tuple[VideoEntry, ...] = ()
    flip_map: dict[int, int] = field(default_factory=dict)


@dataclass
class Session:
    """The mutable training state of one worker.

    Attributes:
        epoch: last completed epoch (0 before training).
        steps: optimiser steps so far.
        history: one metrics dict per completed epoch.
        best_epoch: the epoch whose weights are the model so far (0: none yet).
        best_score: its validation score (video top-1, minus loss).
        best_model: its weights (CPU tensors), or None without validation.
        stopped: training is over (last epoch, or early stop).
        final: the selected model's scores on the test split (``metrics`` dict and
            ``confusion`` matrix), once ``stopped``.
    """

    plan: WorkerPlan
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    task: ClassifierTask
    train_set: Any
    eval_set: Any
    device: torch.device
    epoch: int = 0
    steps: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_score: tuple[float, float] | None = None
    best_model: dict[str, torch.Tensor] | None = None
    stopped: bool = False
    final: dict[str, Any] | None = None

    def consider(self, epoch: int, record: dict[str, float]) -> bool:
        """Keep this epoch's weights if its validation score is the best so far
        (ties: the later epoch, whose statistics had more training). Without
        validation the latest epoch is the best. Returns whether it was kept."""
        prefix = self.plan.eval_prefix
        top1 = record.get(f"{prefix}/top1")
        if top1 is None or not self.plan.eval:
            self.best_epoch, self.best_score, self.best_model = epoch, None, None
            return True
        score = (float(top1), -float(record.get(f"{prefix}/loss", 0.0)))
        if self.best_score is not None and score < self.best_score:
            return False
        self.best_epoch, self.best_score = epoch, score
        self.best_model = {k: v.detach().to("cpu", copy=True)
                           for k, v in unwrap_model(self.model).state_dict().items()}
        return True

    def end_epoch(self, epoch: int, record: dict[str, float]) -> bool:
        """Book ``epoch`` (its ``record`` gains ``best_epoch``, then joins the history)
        and return whether training should stop (:meth:`should_stop`)."""
        self.epoch = epoch
        self.consider(epoch, record)
        record["best_epoch"] = float(self.best_epoch)
        self.history.append(record)
        return self.should_stop()

    def should_stop(self) -> bool:
        """The last epoch is done, validation top-1 reached ``stop_at_top1``, or
        validation has not improved for ``patience``."""
        cfg = self.plan.config
        if self.epoch >= cfg.epochs:
            return True
        threshold = getattr(cfg, "stop_at_top1", 0.0)
        if threshold and self.plan.eval and self.history:
            top1 = self.history[-1].get(f"{self.plan.eval_prefix}/top1")
            if top1 is not None and float(top1) >= threshold:
                return True
        return bool(cfg.patience and self.best_score is not None
                    and self.epoch - self.best_epoch >= cfg.patience)

    def restore_best(self) -> None:
        """Load the best epoch's weights into the model (when validation kept any)."""
        if self.best_model is not None:
            unwrap_model(self.model).load_state_dict(self.best_model, strict=True)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def build_model(plan: ModelPlan) -> nn.Module:
    """``create_model(plan.name, **plan.kwargs)``."""
    from components.models import create_model

    return create_model(plan.name, **plan.kwargs)


def load_teacher(plan: TeacherPlan, device: torch.device) -> nn.Module:
    """The trained teacher, frozen, in eval mode, on ``device``."""
    teacher = build_model(plan.model)
    from components.models.weights import load_torch_file

    state = load_torch_file(plan.weights, "the teacher's trained weights")
    teacher.load_state_dict(state, strict=True)
    teacher.requires_grad_(False)
    return teacher.eval().to(device)


def make_task(plan: WorkerPlan, device: torch.device, teacher: nn.Module | None,
              model: nn.Module | None = None) -> ClassifierTask:
    """The job's task; channels-last layouts only on CUDA (and when enabled).

    A student whose luminous trunk is the teacher's, frozen, takes h1 from that trunk
    (see :class:`DistillTask`).
    """
    cuda = device.type == "cuda" and plan.settings.channels_last
    if plan.job == "student":
        kd_lambda = getattr(plan.config, "kd_lambda", 1.0) if getattr(plan.config, "kd", True) \
            else 0.0
        shares = (teacher is not None and model is not None
                  and getattr(model, "loaded_teacher_trunk", False)
                  and not getattr(model, "train_luminous_trunk", True))
        return DistillTask(teacher=teacher, kd_lambda=kd_lambda, h1_from_student_trunk=shares,
                           kd_target=getattr(plan.config, "kd_target", "logits"))
    if plan.job == "teacher":
        return ClassifierTask(memory_format=torch.channels_last_3d if cuda else None)
    return ClassifierTask(memory_format=torch.channels_last if cuda else None)


def make_optimizer(model: nn.Module, cfg: JobConfig) -> torch.optim.Optimizer:
    """AdamW over trainable parameters; no decay on 1-D ones (biases, norms)."""
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for param in model.parameters():
        if param.requires_grad:
            (no_decay if param.ndim <= 1 else decay).append(param)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=cfg.lr)


def build_session(plan: WorkerPlan, device: torch.device, world: int = 1) -> Session:
    """Model (on ``device``), optimiser, schedule, scaler, task, datasets.

    ``world``: DDP ranks sharing the training set (sizes the schedule in steps).
    """
    model = build_model(plan.model)
    teacher = None
    if plan.teacher is not None:
        teacher = load_teacher(plan.teacher, device)
        load_teacher_trunk = getattr(model, "load_teacher_trunk", None)  # LIFT-Net's
        if load_teacher_trunk is not None:
            load_teacher_trunk(teacher)
    model = model.to(device)
    cuda_layout = device.type == "cuda" and plan.settings.channels_last
    if cuda_layout and plan.job in ("normal", "motion"):
        model = model.to(memory_format=torch.channels_last)
    cfg = plan.config
    optimizer = make_optimizer(model, cfg)
    train_set, eval_set = build_datasets(plan.job, cfg, plan.roots, plan.kinds,
                                         plan.train, plan.eval, plan.settings.seed,
                                         flip_map=plan.flip_map)
    per_epoch = steps_per_epoch(len(train_set), cfg.batch_size, world)
    scheduler = warmup_cosine(optimizer, total_steps=per_epoch * cfg.epochs,
                              warmup_steps=round(per_epoch * cfg.warmup_epochs),
                              min_ratio=cfg.min_lr / cfg.lr)
    scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda" and plan.settings.amp)
    return Session(plan=plan, model=model, optimizer=optimizer, scheduler=scheduler,
                   scaler=scaler, task=make_task(plan, device, teacher, model),
                   train_set=train_set,
                   eval_set=eval_set, device=device)


def session_state(
    session: Session, rng_states: list[dict[str, Any]], extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The checkpoint payload: unwrapped model, optimiser, schedule, scaler, epoch,
    per-rank RNG states, history, and ``extra`` (e.g. the last confusion matrix)."""
    return {
        "model": unwrap_model(session.model).state_dict(),
        "optimizer": session.optimizer.state_dict(),
        "scheduler": session.scheduler.state_dict(),
        "scaler": session.scaler.state_dict(),
        "epoch": session.epoch,
        "steps": session.steps,
        "rng": rng_states,
        "history": [dict(h) for h in session.history],
        # The best weights are stored once: when they are this epoch's (or training
        # stopped and they were loaded back), "model" above already holds them.
        "best": {"epoch": session.best_epoch,
                 "score": list(session.best_score) if session.best_score else None,
                 "model": None if session.best_epoch == session.epoch or session.stopped
                 else session.best_model},
        "stopped": session.stopped,
        "final": session.final,
        "extra": dict(extra or {}),
    }


def restore_session(session: Session, state: dict[str, Any], rank: int) -> None:
    """Load a checkpoint payload into a fresh session (before DDP wrapping).

    RNG states are restored per rank when the checkpoint has one for ``rank``.
    """
    unwrap_model(session.model).load_state_dict(state["model"], strict=True)
    session.optimizer.load_state_dict(state["optimizer"])
    session.scheduler.load_state_dict(state["scheduler"])
    if state.get("scaler"):
        session.scaler.load_state_dict(state["scaler"])
    session.epoch = int(state["epoch"])
    session.steps = int(state.get("steps", 0))
    session.history = [dict(h) for h in state.get("history", [])]
    best = state.get("best") or {}
    session.best_epoch = int(best.get("epoch") or 0)
    score = best.get("score")
    session.best_score = (float(score[0]), float(score[1])) if score else None
    session.best_model = best.get("model")
    if session.best_model is None and session.best_score is not None:
        session.best_model = {k: v.detach().to("cpu", copy=True)
                              for k, v in state["model"].items()}
    session.stopped = bool(state.get("stopped", False))
    session.final = state.get("final")
    rng = state.get("rng") or []
    if rank < len(rng):
        restore_rng_state(rng[rank])
