"""One call signature for a model in any form: named float32 arrays -> logits.

A runner takes ``{input name: (B, ...) float32 array}`` and returns logits (B, K)
float32 (for the ensemble and two-stream network, log-probabilities: their
softmax is the same probabilities either way). ``threads`` is the intra-op thread
count: ``torch.set_num_threads`` for the PyTorch and TorchScript runners (set on
each call, restored after), ``SessionOptions.intra_op_num_threads`` for onnxruntime
(with one inter-op thread, as PyTorch runs one operator at a time).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import nn

from components._torch_threads import torch_threads
from components.export.formats import LogitsOnly


class Runner(Protocol):
    """A model that maps named inputs to logits."""

    name: str
    threads: int

    def __call__(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray: ...


class TorchRunner:
    """The PyTorch model itself (eval mode, inference mode, CPU)."""

    name = "torch"

    def __init__(self, model: nn.Module, threads: int = 1) -> None:
        self.model = LogitsOnly(model).eval()
        self.threads = threads

    def __call__(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        with torch_threads(self.threads), torch.inference_mode():
            out = self.model(*(torch.from_numpy(np.asarray(v, np.float32))
                               for v in inputs.values()))
        return out.float().numpy()


class TorchScriptRunner:
    """A saved TorchScript module (:func:`~components.export.formats.export_torchscript`);
    inputs by position, in the order they were traced with."""

    name = "torchscript"

    def __init__(self, path: str | Path, threads: int = 1) -> None:
        self.path = Path(path)
        with warnings.catch_warnings():  # torch 2.15 deprecates TorchScript; it still runs
            warnings.simplefilter("ignore", FutureWarning)
            self.module = torch.jit.load(str(self.path), map_location="cpu").eval()
        self.threads = threads

    def __call__(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        with torch_threads(self.threads), torch.inference_mode():
            out = self.module(*(torch.from_numpy(np.asarray(v, np.float32))
                                for v in inputs.values()))
        return out.float().numpy()


class OnnxRunner:
    """An onnxruntime CPU session over an ONNX file; inputs by name.

    Attributes:
        input_names: the graph's input names, in order.
        input_shapes: name -> the graph's input shape (ints; batch first).
    """

    name = "onnxruntime"

    def __init__(self, path: str | Path, threads: int = 1) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        self.threads = threads
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, int(threads))
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only
        self.session = ort.InferenceSession(str(self.path), sess_options=options,
                                            providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.input_shapes = {i.name: tuple(i.shape) for i in self.session.get_inputs()}

    def __call__(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        missing = [n for n in self.input_names if n not in inputs]
        if missing:
            raise ValueError(f"{self.path.name} needs inputs {self.input_names}, "
                             f"missing {missing}")
        feed = {n: np.ascontiguousarray(inputs[n], dtype=np.float32) for n in self.input_names}
        return np.asarray(self.session.run(["logits"], feed)[0], dtype=np.float32)


def open_runner(path: str | Path, threads: int = 1) -> OnnxRunner | TorchScriptRunner:
    """The runner of an exported file, by its suffix (``.onnx``, else TorchScript)."""
    path = Path(path)
    if path.suffix == ".onnx":
        return OnnxRunner(path, threads)
    return TorchScriptRunner(path, threads)
