"""CPU latency per clip of the demo preset's models: PyTorch, onnxruntime, TorchScript.

    python -m bench.export [--repeats 20] [--threads 1] [--models teacher lift ...]

Each model is built from ``conf/models.yaml``'s demo preset (random weights: latency
does not depend on them) at the demo's input shapes, exported with
:mod:`components.export` to both formats in a temporary folder, and timed with
:func:`components.export.latency` (median of ``--repeats`` calls on one clip after
two warm-up calls) at the same intra-op thread count for all three runtimes.
Ratios are against the PyTorch figure measured in the same run; the parity of each
export on a few random inputs is printed beside it.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

#: name -> (registered model, extra kwargs over the demo preset, input name -> shape).
MODELS: dict[str, tuple[str, dict, dict[str, tuple[int, ...]]]] = {
    "teacher": ("r2plus1d_18", {}, {"x": (1, 3, 8, 32, 32)}),
    "lift": ("lift_net", {"img_size": 32}, {"main": (1, 8, 3, 32, 32),
                                            "lum": (1, 3, 8, 32, 32)}),
    "stream": ("small_cnn", {}, {"x": (1, 3, 32, 32)}),
    "fused": ("two_stream", {"normal_backbone": "small_cnn"},
              {"normal": (1, 3, 32, 32), "motion": (1, 3, 32, 32)}),
}


def main(argv: list[str] | None = None) -> None:
    from components.export import (
        TorchRunner,
        export_model,
        latency,
        open_runner,
        parity,
    )
    from components.export.formats import SUFFIX
    from components.models import create_model
    from components.models.presets import load_models_config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    args = parser.parse_args(argv)
    preset = load_models_config().preset("demo")
    torch.manual_seed(0)
    print(f"threads={args.threads} repeats={args.repeats} torch {torch.__version__}")
    print(f"{'model':<8} {'runtime':<12} {'ms/clip':>9} {'ratio':>6} {'parity':>9} "
          f"{'export s':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            model_name, extra, shapes = MODELS[name]
            model = create_model(model_name, num_classes=preset.num_classes,
                                 **preset.kwargs_of(model_name, extra)).eval()
            example = {n: torch.randn(s) for n, s in shapes.items()}
            clip = {n: t.numpy() for n, t in example.items()}
            clips = [(f"v{i}", {n: np.random.default_rng(i).standard_normal(s, np.float32)
                                for n, s in shapes.items()}) for i in range(4)]
            base = TorchRunner(model, threads=args.threads)
            torch_s = latency(base, clip, args.threads, args.repeats)
            print(f"{name:<8} {'torch':<12} {torch_s * 1e3:9.2f} {1.0:6.2f} {'-':>9} {'-':>8}",
                  flush=True)
            for fmt in ("onnx", "torchscript"):
                start = time.perf_counter()
                path = export_model(model, example, Path(tmp) / f"{name}{SUFFIX[fmt]}", fmt,
                                    name=model_name)
                took = time.perf_counter() - start
                runner = open_runner(path, threads=args.threads)
                diff = parity(base, runner, clips).max_abs_diff
                seconds = latency(runner, clip, args.threads, args.repeats)
                print(f"{name:<8} {runner.name:<12} {seconds * 1e3:9.2f} "
                      f"{seconds / torch_s:6.2f} {diff:9.1e} {took:8.1f}", flush=True)


if __name__ == "__main__":
    main()
