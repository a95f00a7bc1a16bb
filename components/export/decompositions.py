"""Export-time rewrites of operators the ONNX exporter cannot translate.

Each rewrite computes exactly what the operator computes, from operators ONNX has;
it runs only on the exported graph (``ExportedProgram.run_decompositions``), never
on the PyTorch model.

* ``adaptive_avg_pool3d``: LIFT-Net pools the luminous trunk's feature map to
  ``(T, 1, 1)`` where T can exceed the map's length (8 frames -> 1 step, pooled back
  to 8): an *upsampling* adaptive pool that neither exporter translates (the
  dynamo exporter: "No ONNX function found for aten._adaptive_avg_pool3d"; the
  TorchScript-based one: "output_size is not constant"). Shapes are static once
  exported, so each axis becomes a matrix product with PyTorch's averaging windows
  (``start = floor(i * n_in / n_out)``, ``end = ceil((i + 1) * n_in / n_out)``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch


def pool_matrix(n_in: int, n_out: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(n_out, n_in) matrix whose row i averages adaptive pooling window i."""
    m = torch.zeros(n_out, n_in, dtype=dtype)
    for i in range(n_out):
        start, end = (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)
        m[i, start:end] = 1.0 / (end - start)
    return m


def adaptive_avg_pool3d(x: torch.Tensor, output_size: Sequence[int]) -> torch.Tensor:
    """``F.adaptive_avg_pool3d`` of (..., D, H, W) with static sizes, as matrix products."""
    for dim, n_out in zip((-3, -2, -1), output_size, strict=True):
        n_in = int(x.shape[dim])
        if n_in == int(n_out):
            continue
        moved = torch.movedim(x, dim, -1) @ pool_matrix(n_in, int(n_out), x.dtype).T
        x = torch.movedim(moved, -1, dim)
    return x


def decomposition_table() -> dict[Any, Callable[..., Any]]:
    """``torch.export``'s default decompositions plus the rewrites above."""
    aten = torch.ops.aten
    table = dict(torch.export.default_decompositions())
    table[aten.adaptive_avg_pool3d.default] = adaptive_avg_pool3d
    return table
