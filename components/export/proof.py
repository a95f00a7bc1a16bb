"""The proof an export is the model: the same probabilities, and what it costs to run.

* :func:`parity`: the largest absolute difference between the softmax probabilities
  of PyTorch and of the export, per clip and per video (a video's probabilities are
  the mean over its clips, as evaluation computes them: the per-video difference
  is at most the per-clip one).
* :func:`latency`: median seconds per clip of a runner, after warm-up calls, at a
  stated thread count (every runner in one comparison must use the same).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from components.export.runners import Runner

#: One real input: (video key, input name -> (1, ...) float32 array).
Clip = tuple[str, Mapping[str, np.ndarray]]
#: The largest difference of probabilities an export may have (the issue's bar).
PARITY_TOLERANCE = 1e-4


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (B, K) logits, in float64."""
    z = np.asarray(logits, np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Parity:
    """How far an export's probabilities are from PyTorch's.

    Attributes:
        max_abs_diff: largest |p_torch - p_export| over every clip and class.
        max_abs_diff_video: the same over video probabilities (mean over clips).
        clips: clips compared.
        videos: videos they came from.
        top1_agreement: fraction of clips whose most probable class is the same.
    """

    max_abs_diff: float
    max_abs_diff_video: float
    clips: int
    videos: int
    top1_agreement: float

    def ok(self, tolerance: float = PARITY_TOLERANCE) -> bool:
        return self.max_abs_diff_video <= tolerance and self.max_abs_diff <= tolerance

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parity(torch_model: Runner, exported: Runner, clips: Sequence[Clip]) -> Parity:
    """Compare two runners' softmax probabilities on ``clips``.

    Raises:
        ValueError: no clip, or outputs of different shapes.
    """
    if not clips:
        raise ValueError("parity needs at least one clip")
    ref_rows, exp_rows, keys = [], [], []
    for key, inputs in clips:
        ref, out = softmax(torch_model(inputs)), softmax(exported(inputs))
        if ref.shape != out.shape:
            raise ValueError(f"outputs differ in shape: {ref.shape} vs {out.shape}")
        ref_rows.append(ref)
        exp_rows.append(out)
        keys.extend([key] * len(ref))
    ref_all, exp_all = np.concatenate(ref_rows), np.concatenate(exp_rows)
    videos = list(dict.fromkeys(keys))
    key_array = np.array(keys, dtype=object)
    video_diff = max(float(np.abs(ref_all[key_array == v].mean(0)
                                  - exp_all[key_array == v].mean(0)).max()) for v in videos)
    return Parity(
        max_abs_diff=float(np.abs(ref_all - exp_all).max()),
        max_abs_diff_video=video_diff, clips=len(ref_all), videos=len(videos),
        top1_agreement=float((ref_all.argmax(1) == exp_all.argmax(1)).mean()),
    )


def latency(runner: Runner, clip: Mapping[str, np.ndarray], threads: int, repeats: int = 10,
            warmup: int = 2) -> float:
    """Median wall-clock seconds of one call of ``runner`` on ``clip`` (one clip).

    Args:
        runner: the model (its ``threads`` must equal ``threads``: the figure is only
            comparable between runners at the same thread count).
        clip: input name -> (1, ...) float32 array.
        threads: intra-op threads the runner uses.
        repeats: timed calls (the median is returned).
        warmup: untimed calls first (allocations, onnxruntime's first-run set-up).

    Raises:
        ValueError: ``repeats`` < 1, or the runner uses another thread count.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    if int(runner.threads) != int(threads):
        raise ValueError(f"{runner.name} runs on {runner.threads} threads, not {threads}: "
                         "latencies would not compare")
    for _ in range(max(0, warmup)):
        runner(clip)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        runner(clip)
        times.append(time.perf_counter() - start)
    return float(statistics.median(times))
