"""The learning-rate schedule: warm-up then cosine, per optimiser step."""

from __future__ import annotations

import math

import pytest
import torch

from components.training.schedule import WARMUP_START, lr_factor, steps_per_epoch, warmup_cosine


@pytest.mark.parametrize(("samples", "batch", "world", "steps"), [
    (100, 8, 1, 12),   # the last incomplete batch is dropped
    (100, 8, 2, 12),   # 50 per rank, batches of 4
    (7, 8, 1, 1),      # never zero
    (101, 8, 2, 12),   # the sampler pads to 51 per rank
])
def test_steps_per_epoch(samples: int, batch: int, world: int, steps: int) -> None:
    assert steps_per_epoch(samples, batch, world) == steps


def test_warm_up_then_cosine_to_the_floor() -> None:
    kw = {"total_steps": 100, "warmup_steps": 10, "min_ratio": 0.1}
    assert lr_factor(0, **kw) == pytest.approx(WARMUP_START)
    assert lr_factor(5, **kw) == pytest.approx(WARMUP_START + (1 - WARMUP_START) * 0.5)
    assert lr_factor(10, **kw) == pytest.approx(1.0)
    assert lr_factor(55, **kw) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi / 2)))
    assert lr_factor(100, **kw) == pytest.approx(0.1)
    assert lr_factor(150, **kw) == pytest.approx(0.1)
    factors = [lr_factor(s, **kw) for s in range(10, 101)]
    assert all(a >= b for a, b in zip(factors, factors[1:], strict=False))  # never rises again


def test_the_scheduler_steps_per_batch_and_round_trips_its_state() -> None:
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([param], lr=1e-3)
    sched = warmup_cosine(opt, total_steps=20, warmup_steps=4, min_ratio=0.0)
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-3 * WARMUP_START)
    for _ in range(4):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-3)
    state = sched.state_dict()
    opt2 = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    sched2 = warmup_cosine(opt2, total_steps=20, warmup_steps=4, min_ratio=0.0)
    sched2.load_state_dict(state)
    opt2.step()
    sched2.step()
    opt.step()
    sched.step()
    assert opt2.param_groups[0]["lr"] == pytest.approx(opt.param_groups[0]["lr"])
