"""``train_loop_per_worker`` in this process, Ray's worker API replaced by fakes.

One worker, world size 1: checkpoints every epoch, resume from a checkpoint, and
the stop on a non-finite loss (the last good checkpoint stays the latest).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from components.training import DataPaths, TrainRequest
from components.training.checkpoint import read_checkpoint_meta
from components.training.driver import prepare_training
from components.training.nonfinite import NonFiniteLossError
from components.training.session import ABORT_KEY
from training._data import TinyDataset
from training._fixtures import settings, teacher_config

pytestmark = pytest.mark.slow


class FakeRayTrain:
    """Stands in for ray.train's worker functions; keeps reports and checkpoints."""

    def __init__(self, store: Path, checkpoint: Any = None) -> None:
        self.store, self.checkpoint, self.reports = store, checkpoint, []

    def report(self, metrics: dict, checkpoint: Any = None, checkpoint_dir_name: str = "") -> None:
        kept = None
        if checkpoint is not None:  # the loop deletes its temporary folder: copy it
            kept = self.store / checkpoint_dir_name
            shutil.copytree(checkpoint.path, kept)
        self.reports.append((dict(metrics), kept))


@pytest.fixture
def fake_ray(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # noqa: ANN201
    import ray.train
    import ray.train.torch

    def install(checkpoint: Any = None) -> FakeRayTrain:
        fake = FakeRayTrain(tmp_path / f"store{len(list(tmp_path.glob('store*')))}", checkpoint)
        fake.store.mkdir()
        context = SimpleNamespace(get_world_rank=lambda: 0, get_world_size=lambda: 1)
        monkeypatch.setattr(ray.train, "get_context", lambda: context)
        monkeypatch.setattr(ray.train, "get_checkpoint", lambda: fake.checkpoint)
        monkeypatch.setattr(ray.train, "report", fake.report)
        monkeypatch.setattr(ray.train.torch, "get_device", lambda: torch.device("cpu"))
        monkeypatch.setattr(ray.train.torch, "prepare_model", lambda model, **kw: model)
        monkeypatch.setattr(ray.train.torch, "prepare_data_loader", lambda loader, **kw: loader)
        return fake

    return install


def _plan(data: TinyDataset, epochs: int = 2):  # noqa: ANN202
    request = TrainRequest(job="teacher", config=teacher_config(epochs=epochs),
                           settings=settings(data.root, num_workers=1),
                           data=DataPaths(data.ingest, data.represent), repo_root=data.root)
    return prepare_training(request, total_cpus=1).plan


def test_each_epoch_reports_a_checkpoint_and_a_resume_continues(
        tiny_data: TinyDataset, fake_ray) -> None:  # noqa: ANN001
    import ray.train

    from components.training.loop import train_loop_per_worker

    plan = _plan(tiny_data, epochs=3)
    first = fake_ray()
    # Run epochs 1-3 once through, then again from the epoch-1 checkpoint.
    train_loop_per_worker({"plan": plan})
    assert [int(m["epoch"]) for m, _ in first.reports] == [1, 2, 3]
    epoch1 = first.reports[0][1]
    meta = read_checkpoint_meta(epoch1)
    assert meta["epoch"] == 1 and meta["fingerprint"]["digest"] == plan.fingerprint.digest
    state = torch.load(epoch1 / "state.pt", weights_only=True)
    assert {"model", "optimizer", "scheduler", "scaler", "epoch", "rng", "history"} <= set(state)
    assert not any(k.startswith("module.") for k in state["model"])

    resumed = fake_ray(ray.train.Checkpoint.from_directory(str(epoch1)))
    train_loop_per_worker({"plan": plan})
    assert [int(m["epoch"]) for m, _ in resumed.reports] == [2, 3]
    history = read_checkpoint_meta(resumed.reports[-1][1])["history"]
    assert [int(h["epoch"]) for h in history] == [1, 2, 3]
    # Same data, same seeds, restored RNG and optimiser: the resumed epochs match.
    assert resumed.reports[0][0]["train/loss"] == pytest.approx(first.reports[1][0]["train/loss"],
                                                                rel=1e-4)


def test_a_non_finite_loss_stops_with_an_abort_report_after_the_last_good_checkpoint(
        tiny_data: TinyDataset, fake_ray, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from components.training import loop

    real = loop.train_one_epoch

    seen: dict[str, int] = {}

    def nan_in_epoch_two(*args: Any, **kwargs: Any):  # noqa: ANN202
        if kwargs["epoch"] == 2:
            seen["steps_before"] = kwargs["steps_before"]  # epoch 1's optimiser steps
            raise NonFiniteLossError(epoch=2, step=kwargs["steps_before"] + 2, batch=1,
                                     value=float("nan"), videos=("Class0/v_Class0_g01_c01.mp4",))
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "train_one_epoch", nan_in_epoch_two)
    fake = fake_ray()
    loop.train_loop_per_worker({"plan": _plan(tiny_data, epochs=3)})
    (first, checkpoint), (last, none) = fake.reports
    assert checkpoint is not None and none is None
    assert int(last["epoch"]) == 2 and ABORT_KEY not in first
    message = last[ABORT_KEY]
    assert seen["steps_before"] > 0
    assert f"epoch 2, step {seen['steps_before'] + 2} (batch 1 of the epoch)" in message
    assert "Class0/v_Class0_g01_c01.mp4" in message
    assert message.endswith("last good checkpoint: epoch-0001")
