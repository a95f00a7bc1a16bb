"""Single-tensor wrappers of the trained models, for logging them to MLflow.

MLflow's PyTorch flavour (and ``components.tracking.log_torch_model``) takes a
module whose ``forward`` maps one float tensor to one tensor. The jobs' models
return ``(logits, features)`` or take two inputs, so they are wrapped:

==============  ========================================  ======================
registered as   input (batch first, float32, normalised)  output
==============  ========================================  ======================
har-teacher     clip (B, C, T, H, W)                      logits (B, K)
har-lift-net    packed (B, T, 3 + C_lum, H, W): channels  logits (B, K)
                0..2 the raw frames, the rest the
                luminous clip at the same positions
har-*-stream    image (B, 3, H, W)                        logits (B, K)
==============  ========================================  ======================
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class LogitsOnly(nn.Module):
    """``model(x)`` -> logits, dropping the features of ``(logits, features)`` outputs."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        return out[0] if isinstance(out, tuple) else out


class PackedLiftNet(nn.Module):
    """LIFT-Net behind one tensor: (B, T, 3 + C_lum, H, W) -> logits (B, K).

    For inference only: it sets the model's ``train_luminous_trunk`` flag. NOTE:
    LIFT-Net runs a frozen trunk under ``torch.set_grad_enabled(False)``, which
    ``torch.export`` records as a ``wrap_with_set_grad_enabled`` node that
    ``torch.export.load`` then rejects; with the flag set the grad mode is left
    alone (in eval mode, without gradients, the outputs are the same).
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        if hasattr(model, "train_luminous_trunk"):
            model.train_luminous_trunk = True
        self.model = model

    def forward(self, packed: torch.Tensor) -> torch.Tensor:
        main = packed[:, :, :3]
        luminous = packed[:, :, 3:].permute(0, 2, 1, 3, 4)
        return self.model(main, luminous)[0]


def export_module(job: str, model: nn.Module) -> nn.Module:
    """The single-tensor module logged for ``job``."""
    return PackedLiftNet(model) if job == "student" else LogitsOnly(model)


def input_example(job: str, samples: list[dict[str, torch.Tensor]]) -> np.ndarray:
    """A real input batch (B >= 2) for the logged model, from dataset samples."""
    while len(samples) < 2:
        samples = samples + samples[:1]
    if job == "student":
        packed = [torch.cat([s["main"], s["lum"].permute(1, 0, 2, 3)], dim=1) for s in samples]
        return torch.stack(packed).numpy().astype(np.float32)
    return torch.stack([s["x"] for s in samples]).numpy().astype(np.float32)
