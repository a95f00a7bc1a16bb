"""Exported models with proof: ONNX and TorchScript files of trained models, checked
against PyTorch (probabilities on real clips) and timed on the CPU.

* :mod:`.formats`: :func:`export_onnx`, :func:`export_torchscript` (a model that
  cannot export raises :class:`UnsupportedOperatorError` naming the operator);
* :mod:`.runners`: one call signature (named numpy inputs -> logits) for the PyTorch
  model, an onnxruntime session and a TorchScript module;
* :mod:`.proof`: :func:`parity` (max absolute difference of softmax probabilities)
  and :func:`latency` (seconds per clip, the same thread count for every runner);
* :mod:`.clips`: the real inputs, from the shards the model was trained on or from a
  video file, built by the evaluation's own datasets.
"""

from components.export.formats import (
    FORMATS,
    UnsupportedOperatorError,
    export_model,
    export_onnx,
    export_torchscript,
)
from components.export.proof import Parity, latency, parity
from components.export.runners import (
    Runner,
    TorchRunner,
    TorchScriptRunner,
    open_runner,
)
from components.inference.onnx_module import OnnxRunner

__all__ = ["FORMATS", "OnnxRunner", "Parity", "Runner", "TorchRunner", "TorchScriptRunner",
           "UnsupportedOperatorError", "export_model", "export_onnx", "export_torchscript",
           "latency", "open_runner", "parity"]
