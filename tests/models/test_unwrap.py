"""unwrap_model: the module inside the wrappers training puts around it."""

from __future__ import annotations

from torch import nn

from components.models.unwrap import unwrap_model


def test_unwrap_model_strips_wrappers() -> None:
    inner = nn.Linear(2, 2)
    assert unwrap_model(nn.DataParallel(inner)) is inner
    assert unwrap_model(inner) is inner
