"""The export-time rewrite of adaptive pooling computes what PyTorch computes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from components.export.decompositions import adaptive_avg_pool3d, pool_matrix


@pytest.mark.parametrize(("shape", "size"), [
    ((2, 5, 1, 2, 2), (8, 1, 1)),   # LIFT-Net: one trunk step pooled up to 8 tokens
    ((1, 3, 7, 5, 6), (3, 2, 4)),   # uneven windows that overlap
    ((1, 2, 4, 4, 4), (4, 4, 4)),   # identity
])
def test_matches_adaptive_avg_pool3d(shape: tuple[int, ...], size: tuple[int, ...]) -> None:
    x = torch.randn(shape)
    torch.testing.assert_close(adaptive_avg_pool3d(x, size), F.adaptive_avg_pool3d(x, size),
                               atol=1e-6, rtol=1e-6)


def test_pool_matrix_rows_average_pytorch_windows() -> None:
    m = pool_matrix(3, 2)
    torch.testing.assert_close(m, torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]]))
