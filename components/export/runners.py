"""One call signature for a model in any form: named float32 arrays -> logits.

A runner takes ``{input name: (B, ...) float32 array}`` and returns logits (B, K)
float32 (for the ensemble and two-stream network, log-probabilities: their
softmax is the same probabilities either way). ``threads`` is the intra-op thread
count: ``torch.set_num_threads`` for the PyTorch and TorchScript runners (set on
each call, restored after), ``SessionOptions.intra_op_num_threads`` for onnxruntime
(with one inter-op thread, as PyTorch runs one operator at a time).

:class:`OnnxRunner` is the inference's own session
(:mod:`components.inference.onnx_module`: a registered model's ONNX part runs on it),
so the proof checks what serving runs.
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
from components.inference.onnx_module import OnnxRunner


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


def open_runner(path: str | Path, threads: int = 1) -> OnnxRunner | TorchScriptRunner:
    """The runner of an exported file, by its suffix (``.onnx``, else TorchScript)."""
    path = Path(path)
    if path.suffix == ".onnx":
        return OnnxRunner(path, threads)
    return TorchScriptRunner(path, threads)
