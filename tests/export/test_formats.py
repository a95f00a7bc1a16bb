"""Every model family exports to ONNX and TorchScript with the same probabilities; an
operator without a translation is named in the error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from components.errors import HarError
from components.export import (
    OnnxRunner,
    TorchRunner,
    UnsupportedOperatorError,
    export_model,
    export_onnx,
    open_runner,
    parity,
)
from components.export.formats import SUFFIX, operator_of
from export.conftest import build_case

FAMILIES = ("teacher", "lift", "stream", "fused")


def _clips(inputs: dict[str, torch.Tensor], count: int = 3) -> list:
    """``count`` random inputs shaped like ``inputs`` (two per video key)."""
    return [(f"video{i // 2}", {n: torch.randn_like(t).numpy() for n, t in inputs.items()})
            for i in range(count)]


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_exports_with_the_same_probabilities(family: str, fmt: str,
                                                          tmp_path: Path) -> None:
    case = build_case(family)
    path = export_model(case.model, case.inputs, tmp_path / f"m{SUFFIX[fmt]}", fmt,
                        name=case.name)
    assert path.is_file() and path.stat().st_size > 0
    exported = open_runner(path)
    result = parity(TorchRunner(case.model), exported, _clips(case.inputs))
    assert result.clips == 3 and result.videos == 2
    assert result.max_abs_diff <= 1e-4, result
    assert result.max_abs_diff_video <= result.max_abs_diff + 1e-12
    if fmt == "onnx":
        assert isinstance(exported, OnnxRunner)
        assert exported.input_names == list(case.inputs)


def test_onnx_inputs_are_named_and_checked(tmp_path: Path) -> None:
    case = build_case("fused")
    runner = OnnxRunner(export_onnx(case.model, case.inputs, tmp_path / "f.onnx"))
    assert runner.input_names == ["normal", "motion"]
    assert runner.input_shapes["motion"] == (1, 3, 32, 32)
    # Named inputs: swapping the dictionary's order changes nothing.
    swapped = {"motion": case.inputs["motion"].numpy(), "normal": case.inputs["normal"].numpy()}
    expected = TorchRunner(case.model)({k: v.numpy() for k, v in case.inputs.items()})
    np.testing.assert_allclose(runner(swapped), expected, atol=1e-5)
    with pytest.raises(ValueError, match="missing \\['motion'\\]"):
        runner({"normal": swapped["normal"]})


class RunningMax(nn.Module):
    """cummax has no ONNX translation (torch 2.15's exporter)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cummax(x, dim=1).values


def test_an_operator_that_cannot_export_is_named(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedOperatorError) as caught:
        export_onnx(RunningMax(), {"x": torch.randn(1, 4)}, tmp_path / "m.onnx",
                    name="running_max")
    error = caught.value
    assert isinstance(error, HarError)  # the CLI prints it as one line
    assert error.operator == "aten.cummax.default"
    assert "running_max cannot be exported to onnx: operator aten.cummax.default" in str(error)
    assert not (tmp_path / "m.onnx").exists()  # no half-written file


@pytest.mark.parametrize(("message", "operator"), [
    ("No ONNX function found for <OpOverload(op='aten.mode', overload='default')>. x",
     "aten.mode.default"),
    ("Exporting the operator 'aten::fft_fft2' to ONNX opset version 17 is not supported",
     "aten::fft_fft2"),
    ("Unsupported: ONNX export of operator adaptive pooling, since output_size is not "
     "constant.", "adaptive pooling"),
    ("something else went wrong", ""),
])
def test_exporter_messages_name_the_operator(message: str, operator: str) -> None:
    assert operator_of(message) == operator
