"""Train a plan in this process, without Ray: the worker's epochs, one rank.

:func:`fit_locally` runs what each Ray Train worker runs
(:mod:`components.training.loop`: train, precise BN, validate, keep the best
epoch, stop early, score the selected model on the test split) with plain
DataLoaders on one device. Tests of learning, benchmarks and machines without
Ray (the GPU check) use it; ``har train`` uses Ray Train.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.utils.data import DataLoader, DistributedSampler

from components._torch_threads import torch_threads
from components.jobs.datasets import build_eval_dataset
from components.training.loop import finish_training, run_epoch
from components.training.session import Session, WorkerPlan, build_session, seed_everything


def _loader(dataset: Any, batch: int) -> DataLoader[Any] | None:
    if dataset is None or len(dataset) == 0:
        return None
    return DataLoader(dataset, batch_size=batch, shuffle=False)


def fit_locally(
    plan: WorkerPlan, device: torch.device | str = "cpu",
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> Session:
    """Train ``plan`` to its end (last epoch or early stop) on ``device``.

    Args:
        plan: a plan from :func:`components.training.driver.prepare_training`.
        device: where the model trains.
        on_epoch: called with each epoch's metrics record (progress, benchmarks).

    Returns:
        The finished session: ``history``, ``best_epoch``, the selected weights in
        ``model`` and, when the plan has test videos, ``final`` (the test scores).
    """
    with torch_threads(plan.threads):
        return _fit(plan, torch.device(device), on_epoch)


def _fit(plan: WorkerPlan, device: torch.device,
         on_epoch: Callable[[dict[str, float]], None] | None) -> Session:
    seed_everything(plan.settings.seed)
    session = build_session(plan, device)
    sampler: DistributedSampler[Any] = DistributedSampler(
        session.train_set, num_replicas=1, rank=0, shuffle=True, seed=plan.settings.seed)
    train_loader = DataLoader(session.train_set, batch_size=plan.config.batch_size,
                              sampler=sampler, drop_last=True,
                              pin_memory=device.type == "cuda")
    eval_loader = _loader(session.eval_set if plan.eval else None, plan.config.eval_batch)
    test_set = build_eval_dataset(plan.job, plan.config, plan.roots, plan.kinds, plan.test,
                                  plan.settings.seed) if plan.test else None
    test_loader = _loader(test_set, plan.config.eval_batch)
    for epoch in range(1, plan.config.epochs + 1):
        record, _ = run_epoch(session, session.model, train_loader, eval_loader, epoch=epoch,
                              rank=0, world=1)
        stop = session.end_epoch(epoch, record)
        if on_epoch is not None:
            on_epoch(record)
        if stop:
            break
    finish_training(session, test_loader, world=1)
    return session
