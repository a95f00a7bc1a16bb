"""An ONNX graph behind the ``nn.Module`` call the evaluation code makes.

The predictor and the pyfunc model score a video through
:func:`components.jobs.evaluate.evaluate`, which calls ``model(*inputs)`` on
batches and reads logits. :class:`OnnxModule` answers that call with an
onnxruntime session (:class:`OnnxRunner`), one sample at a time (the graphs are
exported at batch 1), so a trained model's ``model`` can be swapped for its ONNX
export without touching the scoring path (:func:`use_onnx`).

:class:`OnnxRunner` lives here, with the inference it serves; ``har export``'s proof
(:mod:`components.export.runners`) runs the same session against PyTorch.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn


class OnnxRunner:
    """An onnxruntime CPU session over an ONNX file; inputs by name.

    Called with ``{input name: (B, ...) float32 array}``, returns logits (B, K)
    float32 (the runner signature of :mod:`components.export.runners`).
    ``threads``: ``SessionOptions.intra_op_num_threads``, with one inter-op thread
    (as PyTorch runs one operator at a time).

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


class OnnxModule(nn.Module):
    """``forward(*inputs) -> logits (B, K)`` computed by an ONNX file.

    Args:
        path: the ``.onnx`` file (:func:`components.export.formats.export_onnx`).
        threads: onnxruntime intra-op threads.

    The inputs are taken by position in the graph's input order (as the model's
    forward takes them). The module holds one empty parameter so that code asking
    for the model's device (``next(model.parameters()).device``) gets the CPU.
    """

    def __init__(self, path: str | Path, threads: int = 1) -> None:
        super().__init__()
        self.runner = OnnxRunner(path, threads)
        self._device_anchor = nn.Parameter(torch.empty(0), requires_grad=False)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        names = self.runner.input_names
        if len(inputs) != len(names):
            raise ValueError(f"{self.runner.path.name} takes {len(names)} inputs {names}, "
                             f"got {len(inputs)}")
        arrays = [x.detach().cpu().float().numpy() for x in inputs]
        rows = [self.runner({n: a[i:i + 1] for n, a in zip(names, arrays, strict=True)})
                for i in range(arrays[0].shape[0])]
        return torch.from_numpy(np.concatenate(rows))


def use_onnx(predictor: Any, files: Mapping[str, str | Path], threads: int = 1) -> None:
    """Run each named part of a :class:`~components.inference.predictor.VideoPredictor`
    on its ONNX file instead of its PyTorch module (part name -> file).

    Raises:
        KeyError: a part the predictor does not have.
        FileNotFoundError: a missing file.
    """
    for part, path in files.items():
        if part not in predictor.parts:
            raise KeyError(f"no part {part!r}; parts: {list(predictor.parts)}")
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path}: ONNX file of part {part!r} not found")
        predictor.parts[part].model = OnnxModule(path, threads).eval()
