"""Write a model as an ONNX graph or a TorchScript module.

Both exports take the model's inputs by name (``{"x": clip}`` for a teacher or a
stream, ``{"main": frames, "lum": luminous}`` for LIFT-Net, ``{"normal": frame,
"motion": mei}`` for the fused two-stream network) and have one output, ``logits``
(B, K): the first element when the model returns (logits, features); for the
ensemble and the two-stream network, whose forward returns log-probabilities, the
softmax of that output is still the model's probabilities.

ONNX goes through ``torch.export`` and the dynamo exporter (``dynamo=True``), not the
TorchScript-based one: on LIFT-Net the old exporter stops at the luminous pathway's
adaptive pooling and has no translation for complex tensors (the Fourier
Enhancement's FFT pair), while the dynamo exporter translates the FFTs and leaves
one operator, which :mod:`.decompositions` rewrites. Measured here on the demo
preset (torch 2.15, opset 18): teacher, small CNN and two-stream export with both;
LIFT-Net with the dynamo exporter only. Graphs are exported at the example's
batch size (1: a clip at a time, what serving and the latency figure use): with a
dynamic batch axis LIFT-Net's reshapes came out with the example's batch baked in.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from components._atomic import atomic_path
from components.errors import HarError

Format = Literal["onnx", "torchscript"]
FORMATS: tuple[str, ...] = ("onnx", "torchscript")
#: File suffix of each format.
SUFFIX = {"onnx": ".onnx", "torchscript": ".ts.pt"}
#: ONNX opset: 18 is the dynamo exporter's default and onnxruntime >= 1.14 runs it.
DEFAULT_OPSET = 18


class UnsupportedOperatorError(HarError):
    """A model uses an operator the exporter cannot translate.

    Attributes:
        model: the model's name.
        operator: the operator (``aten.cummax.default``), or ``""`` when the exporter's
            message names none.
        fmt: ``onnx`` or ``torchscript``.
    """

    def __init__(self, model: str, operator: str, fmt: str, detail: str = "") -> None:
        self.model, self.operator, self.fmt = model, operator, fmt
        what = f"operator {operator}" if operator else "an operator the exporter did not name"
        tail = f" ({detail})" if detail else ""
        super().__init__(f"{model} cannot be exported to {fmt}: {what} has no {fmt} "
                         f"translation{tail}")


#: Exporter messages that name the operator, most specific first.
_OPERATOR_PATTERNS = (
    # dynamo exporter: No ONNX function found for <OpOverload(op='aten.cummax', overload='default')>
    re.compile(r"No ONNX function found for <OpOverload\(op='([^']+)', overload='([^']+)'"),
    # dynamo exporter, node translation: ... call_function[target=torch.ops.aten.x.default]
    re.compile(r"Error when translating node .*?target=torch\.ops\.([\w.]+)"),
    # TorchScript-based exporter: Exporting the operator 'aten::x' to ONNX opset ...
    re.compile(r"[Ee]xporting the operator '?([\w:.]+)'? to ONNX"),
    re.compile(r"Unsupported: ONNX export of operator ([\w :]+?)[,.]"),
    # torch.export / TorchScript: an operator without an implementation for tracing
    re.compile(r"[Oo]perator '?([\w:.]+)'? (?:is not|does not|has no)"),
)


def operator_of(message: str) -> str:
    """The operator an exporter's error message names, or ``""``."""
    for pattern in _OPERATOR_PATTERNS:
        match = pattern.search(message)
        if match:
            return ".".join(g for g in match.groups() if g)
    return ""


def _full_message(exc: BaseException) -> str:
    """An exception's message and its causes' (the dynamo exporter nests them)."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts.append(str(current))
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


class LogitsOnly(nn.Module):
    """``model`` with one output: logits (B, K) (the first element of a tuple output)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        out = self.model(*inputs)
        return out[0] if isinstance(out, tuple) else out


#: Loggers of the exporter and the ONNX optimizer (one line per rewrite at INFO).
_CHATTY_LOGGERS = ("onnxscript", "onnx_ir", "torch.onnx", "torch.export")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporters print progress (and the ONNX optimizer notes on stderr) and warn
    about module attributes set in forward (LIFT-Net keeps its trunk features for
    distillation): keep the console to ours. Failures still raise."""
    loggers = [logging.getLogger(n) for n in _CHATTY_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:  # the ONNX optimizer logs each rewrite at INFO, which har shows
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def export_onnx(model: nn.Module, example_inputs: Mapping[str, torch.Tensor], path: Path,
                opset: int = DEFAULT_OPSET, name: str = "") -> Path:
    """Export ``model`` (eval mode) to an ONNX file at ``path`` (written atomically).

    Args:
        model: the PyTorch model.
        example_inputs: input name -> example tensor (batch axis first; the graph keeps
            these shapes).
        path: the ``.onnx`` file to write.
        opset: ONNX opset version.
        name: the model's name for error messages (its class name by default).

    Raises:
        UnsupportedOperatorError: the exporter cannot translate an operator (named).
    """
    from components.export.decompositions import decomposition_table

    name = name or type(model).__name__
    wrapped = LogitsOnly(model).eval()
    args = tuple(example_inputs.values())
    path = Path(path)
    try:
        with _quiet(), torch.no_grad(), atomic_path(path) as tmp:
            program = torch.export.export(wrapped, args, strict=False)
            program = program.run_decompositions(decomposition_table())
            torch.onnx.export(program, args, str(tmp), dynamo=True, verbose=False,
                              input_names=list(example_inputs), output_names=["logits"],
                              opset_version=opset, external_data=False)
    except Exception as exc:
        message = _full_message(exc)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnsupportedOperatorError(name, operator_of(message), "onnx",
                                       "" if operator_of(message) else first) from exc
    return path


def export_torchscript(model: nn.Module, example_inputs: Mapping[str, torch.Tensor],
                       path: Path, name: str = "") -> Path:
    """Trace ``model`` (eval mode) with ``example_inputs`` and save it at ``path``.

    Tracing records the operators run on the example, so the module takes inputs of
    the example's shapes (and any batch size: no reshape in these models bakes it).
    Run it by position, in ``example_inputs`` order.

    Raises:
        UnsupportedOperatorError: tracing fails on an operator (named when PyTorch says).
    """
    name = name or type(model).__name__
    wrapped = LogitsOnly(model).eval()
    path = Path(path)
    try:
        with _quiet(), torch.no_grad(), atomic_path(path) as tmp:
            traced = torch.jit.trace(wrapped, tuple(example_inputs.values()), check_trace=False)
            torch.jit.save(traced, str(tmp))
    except Exception as exc:
        message = _full_message(exc)
        raise UnsupportedOperatorError(name, operator_of(message), "torchscript",
                                       str(exc).strip().splitlines()[0]) from exc
    return path


def export_model(model: nn.Module, example_inputs: Mapping[str, torch.Tensor], path: Path,
                 fmt: Format, name: str = "", opset: int = DEFAULT_OPSET) -> Path:
    """:func:`export_onnx` or :func:`export_torchscript` by ``fmt``."""
    if fmt == "onnx":
        return export_onnx(model, example_inputs, path, opset=opset, name=name)
    if fmt == "torchscript":
        return export_torchscript(model, example_inputs, path, name=name)
    raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
