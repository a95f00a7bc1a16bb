"""A tiny learnable data set and model for the epoch and evaluation tests (no shards)."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import Dataset


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


def blob_classifier() -> nn.Module:
    """A linear classifier of :class:`Blobs` images, seeded."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(48, 2))
