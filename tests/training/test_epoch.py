"""Epoch functions on a tiny model (no Ray): the loss falls, NaN is named, metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from components.jobs.config import AugmentConfig
from components.jobs.tasks import ClassifierTask
from components.metrics import Predictions, summarize
from components.training.epoch import train_one_epoch
from components.training.nonfinite import NonFiniteLossError
from training._blobs import Blobs, blob_classifier

CPU = torch.device("cpu")


def test_loss_falls_over_epochs() -> None:
    model, data = blob_classifier(), Blobs()
    loader = DataLoader(data, batch_size=4, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    opt = torch.optim.AdamW(model.parameters(), lr=0.05)
    losses = [train_one_epoch(model, loader, opt, ClassifierTask(), epoch=e, device=CPU).loss
              for e in (1, 2, 3)]
    assert losses[-1] < losses[0]
    stats = train_one_epoch(model, loader, opt, ClassifierTask(), epoch=4, device=CPU)
    assert stats.samples == 24 and stats.steps == 6 and stats.top1 > 0.9
    assert stats.parts["ce"] == pytest.approx(stats.loss)


def test_cutmix_batches_train_too() -> None:
    model, data = blob_classifier(), Blobs()
    loader = DataLoader(data, batch_size=4)
    opt = torch.optim.AdamW(model.parameters(), lr=0.05)
    stats = train_one_epoch(model, loader, opt, ClassifierTask(), epoch=1, device=CPU,
                            augment=AugmentConfig(flip=0.0, cutmix=1.0),
                            generator=torch.Generator().manual_seed(0))
    assert np.isfinite(stats.loss)


class NanAt(nn.Module):
    """Linear model whose output is NaN from the ``bad``-th call on."""

    def __init__(self, bad: int) -> None:
        super().__init__()
        self.linear = nn.Linear(48, 2)
        self.calls, self.bad = 0, bad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        out = self.linear(x.flatten(1))
        return out * float("nan") if self.calls > self.bad else out


def test_a_nan_loss_names_epoch_step_batch_and_videos() -> None:
    model = NanAt(bad=2)
    loader = DataLoader(Blobs(), batch_size=4)
    opt = torch.optim.AdamW(model.parameters(), lr=0.01)
    before = model.linear.weight.detach().clone()
    with pytest.raises(NonFiniteLossError) as err:
        train_one_epoch(model, loader, opt, ClassifierTask(), epoch=3, device=CPU,
                        steps_before=12, describe=lambda b: loader.dataset.keys_of(
                            b["video"].tolist()))
    e = err.value
    assert (e.epoch, e.step, e.batch) == (3, 15, 2)
    assert "epoch 3, step 15 (batch 2 of the epoch)" in str(e)
    assert "video2" in str(e) and e.local
    assert not torch.equal(model.linear.weight, before)  # the good steps were taken
    assert torch.isfinite(model.linear.weight).all()  # the bad one was not


def test_video_level_accuracy_averages_softmax_over_items() -> None:
    # Video 0 (label 0): items 0.9/0.1 and 0.2/0.8 -> mean 0.55/0.45 -> correct, though
    # only half of its items are; video 1 (label 1): one wrong item -> wrong.
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]], dtype=np.float32)
    preds = Predictions(probs, np.array([0, 0, 1]), np.array([0, 0, 1]), 0.0)
    metrics, confusion = summarize(preds, 2, "test")
    assert metrics["test/top1"] == 0.5 and metrics["test/top1_item"] == pytest.approx(1 / 3)
    assert confusion.tolist() == [[1, 0], [1, 0]]
    assert metrics["test/mean_class_acc"] == 0.5


def test_predictions_from_several_ranks_concatenate_by_video() -> None:
    a = Predictions(np.eye(2, dtype=np.float32), np.array([0, 1]), np.array([0, 2]), 1.0)
    b = Predictions(np.eye(2, dtype=np.float32)[:1], np.array([1]), np.array([1]), 2.0)
    merged = Predictions.concat([a, b])
    assert merged.videos.tolist() == [0, 1, 2] and merged.loss_sum == 3.0
