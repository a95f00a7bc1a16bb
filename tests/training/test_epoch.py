"""Epoch functions on a tiny model (no Ray): the loss falls, NaN is named, metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from components.metrics import Predictions, summarize
from components.training.augment import MixedTargets
from components.training.config import AugmentConfig
from components.training.epoch import evaluate, train_one_epoch
from components.training.losses import NonFiniteLossError, classification_loss
from components.training.tasks import ClassifierTask, DistillTask

CPU = torch.device("cpu")


class Blobs(Dataset):
    """Two classes of 4x4 images: mean +1 or -1, plus noise; 3 items per video."""

    def __init__(self, n: int = 24, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.y = torch.arange(n) % 2
        self.x = (self.y.float() * 2 - 1).view(n, 1, 1, 1) + 0.3 * torch.randn(n, 3, 4, 4,
                                                                                 generator=g)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[i], "y": self.y[i], "video": torch.tensor(i // 3)}

    def keys_of(self, videos: list[int]) -> tuple[str, ...]:
        return tuple(f"video{v}" for v in videos)


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(48, 2))


def test_loss_falls_over_epochs() -> None:
    model, data = _model(), Blobs()
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
    model, data = _model(), Blobs()
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


def test_evaluate_gives_item_probabilities_and_video_metrics() -> None:
    model, data = _model(), Blobs()
    opt = torch.optim.AdamW(model.parameters(), lr=0.05)
    loader = DataLoader(data, batch_size=4)
    for e in range(3):
        train_one_epoch(model, loader, opt, ClassifierTask(), epoch=e + 1, device=CPU)
    preds = evaluate(model, DataLoader(data, batch_size=5), ClassifierTask(), device=CPU)
    assert preds.probs.shape == (24, 2)
    np.testing.assert_allclose(preds.probs.sum(1), 1.0, rtol=1e-5)
    metrics, confusion = summarize(preds, 2, "test")
    assert metrics["test/videos"] == 8 and confusion.sum() == 8
    assert metrics["test/top1"] == pytest.approx(1.0) and metrics["test/top5"] == 1.0


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


def test_distillation_adds_lambda_times_l1() -> None:
    class Teacher(nn.Module):
        def forward(self, lum: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return lum, torch.ones(lum.shape[0], 4)  # (logits (B, 2), feature (B, 4))

    lum = torch.tensor([[1.0, 0.5]])
    logits = torch.tensor([[2.0, 0.0]])
    h2 = torch.zeros(1, 4)
    ce = classification_loss(logits, torch.tensor([0]))
    # Eq. 6 (default): |2 - 1| + |0 - 0.5| summed over the classes
    on_logits = DistillTask(teacher=Teacher(), kd_lambda=2.0)
    total, parts = on_logits.loss(logits, h2, (torch.zeros(1), lum), torch.tensor([0]))
    torch.testing.assert_close(total, ce + 2.0 * 1.5)
    assert set(parts) == {"ce", "kd"}
    # features: mean |0 - 1| over the 4 components
    on_features = DistillTask(teacher=Teacher(), kd_lambda=2.0, kd_target="features")
    total, _ = on_features.loss(logits, h2, (torch.zeros(1), lum), torch.tensor([0]))
    torch.testing.assert_close(total, ce + 2.0 * 1.0)
    no_kd = DistillTask(teacher=None)
    total, parts = no_kd.loss(logits, h2, (torch.zeros(1), lum), torch.tensor([0]))
    torch.testing.assert_close(total, ce)
    assert set(parts) == {"ce"}


def test_cutmix_targets_weight_the_two_labels() -> None:
    logits = torch.tensor([[3.0, 0.0]])
    mixed = MixedTargets(torch.tensor([0]), torch.tensor([1]), lam=0.25)
    expected = 0.25 * classification_loss(logits, torch.tensor([0])) + \
        0.75 * classification_loss(logits, torch.tensor([1]))
    torch.testing.assert_close(classification_loss(logits, mixed), expected)
