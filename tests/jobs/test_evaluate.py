"""The evaluation pass: item probabilities that sum to one, scored per video."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader
from training._blobs import Blobs, blob_classifier

from components.jobs.evaluate import evaluate
from components.jobs.tasks import ClassifierTask
from components.metrics import summarize
from components.training.epoch import train_one_epoch

CPU = torch.device("cpu")


def test_evaluate_gives_item_probabilities_and_video_metrics() -> None:
    model, data = blob_classifier(), Blobs()
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
