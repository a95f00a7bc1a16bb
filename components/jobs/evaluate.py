"""One evaluation pass: a job's model on every batch of a loader, softmax out (plain
PyTorch, nothing of Ray). Training scores its validation and test splits with it, and
inference its videos, so both see the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from components.jobs.tasks import ClassifierTask
from components.metrics import Predictions

Batch = Mapping[str, torch.Tensor]


def autocast(device: torch.device, enabled: bool) -> torch.autocast:
    """Mixed precision on CUDA (bfloat16 where supported, else float16); off elsewhere
    (training's steps run under it too)."""
    on = enabled and device.type == "cuda"
    dtype = torch.bfloat16 if on and torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype, enabled=on)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: Iterable[Batch],
    task: ClassifierTask,
    *,
    device: torch.device,
    amp: bool = False,
) -> Predictions:
    """Softmax outputs of ``model`` (eval mode) on every batch of ``loader``.

    Pass the unwrapped model (not DDP): evaluation is local to a rank; combine the
    ranks' predictions with :meth:`Predictions.concat`.

    Returns:
        Per-item probabilities, labels, video indices and the summed cross-entropy.
    """
    was_training = model.training
    model.eval()
    probs: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    videos: list[np.ndarray] = []
    loss_sum = 0.0
    try:
        for batch in loader:
            inputs = task.prepare(tuple(batch[k].to(device, non_blocking=True)
                                        for k in task.input_keys))
            y = batch["y"].to(device)
            with autocast(device, amp):
                logits, _ = task.forward(model, inputs)
            logits = logits.float()
            loss_sum += float(F.cross_entropy(logits, y, reduction="sum"))
            probs.append(logits.softmax(1).cpu().numpy().astype(np.float32))
            labels.append(batch["y"].cpu().numpy().astype(np.int64))
            videos.append(batch["video"].cpu().numpy().astype(np.int64))
    finally:
        model.train(was_training)
    if not probs:
        return Predictions(np.zeros((0, 0), np.float32), np.zeros(0, np.int64),
                           np.zeros(0, np.int64), 0.0)
    return Predictions(np.concatenate(probs), np.concatenate(labels), np.concatenate(videos),
                       loss_sum)
