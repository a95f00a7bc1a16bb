"""A worker's training state, built from a plan: plain PyTorch, nothing of Ray.

The driver turns params and inputs into a :class:`WorkerPlan` (picklable, every
path absolute); each Ray worker (or a plain loop: tests, ``bench/train``) calls
:func:`build_session` to get the model, optimiser, scheduler, scaler, task and
datasets, and :func:`session_state` / :func:`restore_session` to checkpoint and
resume them.

Optimiser and schedule: AdamW (no weight decay on biases and normalisation
weights), cosine annealing per epoch from ``lr`` to ``min_lr`` over ``epochs``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from components.training.checkpoint import Fingerprint, restore_rng_state, unwrap_model
from components.training.config import JobConfig, TrainSettings
from components.training.data import VideoEntry, build_datasets
from components.training.tasks import ClassifierTask, DistillTask

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
        train, eval: the videos trained on and evaluated on each epoch.
        num_classes: K.
        eval_prefix: metric prefix of the evaluation (``test`` or ``val``).
        fingerprint: the run's fingerprint (checked before loading a checkpoint).
        threads: torch threads per worker.
        find_unused_parameters: DDP flag (LIFT-Net without KD leaves h2 unused).
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


@dataclass
class Session:
    """The mutable training state of one worker.

    Attributes:
        epoch: last completed epoch (0 before training).
        steps: optimiser steps so far.
        history: one metrics dict per completed epoch.
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
    state = torch.load(plan.weights, map_location="cpu", weights_only=True)
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
        return DistillTask(teacher=teacher, kd_lambda=kd_lambda, h1_from_student_trunk=shares)
    if plan.job == "teacher":
        return ClassifierTask(memory_format=torch.channels_last_3d if cuda else None)
    return ClassifierTask(memory_format=torch.channels_last if cuda else None)


def make_optimizer(model: nn.Module, cfg: JobConfig) -> torch.optim.Optimizer:
    """AdamW over trainable parameters; no decay on 1-D ones (biases, norms)."""
    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:
            (no_decay if param.ndim <= 1 else decay).append(param)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=cfg.lr)


def build_session(plan: WorkerPlan, device: torch.device) -> Session:
    """Model (on ``device``), optimiser, cosine schedule, scaler, task, datasets."""
    model = build_model(plan.model)
    teacher = None
    if plan.teacher is not None:
        teacher = load_teacher(plan.teacher, device)
        if hasattr(model, "load_teacher_trunk"):
            model.load_teacher_trunk(teacher)
    model = model.to(device)
    cuda_layout = device.type == "cuda" and plan.settings.channels_last
    if cuda_layout and plan.job in ("normal", "motion"):
        model = model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, plan.config)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=plan.config.epochs, eta_min=plan.config.min_lr)
    scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda" and plan.settings.amp)
    train_set, eval_set = build_datasets(plan.job, plan.config, plan.roots, plan.kinds,
                                         plan.train, plan.eval, plan.settings.seed)
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
    rng = state.get("rng") or []
    if rank < len(rng):
        restore_rng_state(rng[rank])
