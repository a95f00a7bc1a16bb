"""Scale on paper: hours for a real dataset from a rate a benchmark measured here.

Pure arithmetic, no measuring: ``bench.represent`` and ``bench.train`` pass the rates
they measured in the same run. The assumptions, printed with every table:

* **Pixels**: work grows with the pixel count. A rate measured on frames of
  ``h x w`` is scaled by ``(H * W) / (h * w)`` to frames of ``H x W`` (the
  dataset's, or the model input's for training)
  (decoding and convolutions are linear in pixels; fixed per-frame costs make
  this pessimistic for small frames, optimistic for large ones).
* **Workers**: each added Ray worker adds ``efficiency`` times one worker's rate
  (``1 + (n - 1) * efficiency``), with ``efficiency`` measured from 1 process vs 2
  Ray workers in the same run where the bench measures it, else 1 (linear); on
  one machine this holds up to its core count, beyond it the workers are other
  machines as fast as this one.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class DatasetSize:
    """What a dataset holds, for projections.

    Attributes:
        name: how tables name it.
        videos: number of video files.
        frames: decoded frames, all videos together.
        height, width: frame size of the files (pixels).
        source: where the numbers come from (printed under the table).
    """

    name: str
    videos: int
    frames: int
    height: int
    width: int
    source: str


#: UCF101: 13,320 clips, about 2.5 M frames at 320x240 (Soomro et al. 2012).
UCF101 = DatasetSize("UCF101", 13_320, 2_500_000, 240, 320,
                     "13,320 clips, ~2.5 M frames, 320x240 (Soomro et al., 2012)")
#: ARID v1.0 (conf/datasets/arid.yaml: /datasets/ARID_v1): 3,784 clips at 320x240
#: (Xu et al. 2020). The paper gives no frame total: 100 frames a clip (3.3 s at
#: 30 fps) is this project's assumption; har ingest's manifest counts them exactly.
ARID = DatasetSize("ARID v1.0", 3_784, 3_784 * 100, 240, 320,
                   "3,784 clips, 320x240 (Xu et al., 2020); frames ASSUMED 100 a clip")
DATASETS = (UCF101, ARID)


def pixel_scale(measured_hw: tuple[int, int], target_hw: tuple[int, int]) -> float:
    """How much more work one target frame is than one measured frame (pixel ratio)."""
    (h, w), (th, tw) = measured_hw, target_hw
    if min(h, w, th, tw) <= 0:
        raise ValueError(f"frame sizes must be positive, got {measured_hw}, {target_hw}")
    return (th * tw) / (h * w)


def speedup(workers: int, efficiency: float = 1.0) -> float:
    """Rate of ``workers`` Ray workers over one: ``1 + (workers - 1) * efficiency``."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if not 0.0 < efficiency <= 1.5:
        raise ValueError(f"efficiency must be in (0, 1.5], got {efficiency}")
    return 1.0 + (workers - 1) * efficiency


def efficiency_from(one: float, two: float) -> float:
    """The added-worker efficiency from the rates of 1 and 2 workers (clamped to (0, 1])."""
    if one <= 0 or two <= 0:
        raise ValueError(f"rates must be positive, got {one}, {two}")
    return min(1.0, max(1e-3, two / one - 1.0))


def project_hours(units: float, rate_per_s: float, scale: float = 1.0, workers: int = 1,
                  efficiency: float = 1.0) -> float:
    """Hours to do ``units`` of work (frames, samples) at ``rate_per_s`` measured units
    per second, each unit ``scale`` times a measured one, on ``workers`` workers."""
    if rate_per_s <= 0 or not math.isfinite(rate_per_s):
        raise ValueError(f"rate must be positive and finite, got {rate_per_s}")
    if units < 0 or scale <= 0:
        raise ValueError(f"units must be >= 0 and scale > 0, got {units}, {scale}")
    return units * scale / (rate_per_s * speedup(workers, efficiency)) / 3600.0


UnitsOf = Callable[[DatasetSize], float]


def projection_rows(rate_per_s: float, measured_hw: tuple[int, int], units_of: UnitsOf,
                    datasets: Sequence[DatasetSize] = DATASETS,
                    workers: Sequence[int] = (1, 2, 4, 8), efficiency: float = 1.0,
                    input_hw: tuple[int, int] | None = None) -> list[list[str]]:
    """One row per dataset: name, units, then hours for each worker count.

    Args:
        rate_per_s: measured units per second (one process).
        measured_hw: the frame size the rate was measured at.
        units_of: dataset -> units of work (its frames, or samples of one epoch).
        datasets: the rows (UCF101 and ARID by default).
        workers: the worker counts of the columns.
        efficiency: see :func:`speedup`.
        input_hw: the size a unit is processed at on the real dataset (a model's
            input size); None: the dataset's frame size.
    """
    rows = []
    for ds in datasets:
        units = units_of(ds)
        scale = pixel_scale(measured_hw, input_hw or (ds.height, ds.width))
        rows.append([ds.name, f"{units:,.0f}"] + [
            f"{project_hours(units, rate_per_s, scale, n, efficiency):.2f}" for n in workers])
    return rows


def print_projection(title: str, unit: str, rate_per_s: float, measured_hw: tuple[int, int],
                     units_of: UnitsOf, workers: Sequence[int] = (1, 2, 4, 8),
                     efficiency: float = 1.0, efficiency_source: str = "assumed linear",
                     datasets: Sequence[DatasetSize] = DATASETS,
                     input_hw: tuple[int, int] | None = None) -> None:
    """Print the projection as a Markdown table with its assumptions."""
    target = (f"{input_hw[1]}x{input_hw[0]}" if input_hw else "the dataset's frame size")
    print(f"\n== {title}: projected hours ==")
    print(f"from {rate_per_s:,.1f} {unit}/s measured at {measured_hw[1]}x{measured_hw[0]} "
          f"(one process), scaled by pixel count to {target}; added worker efficiency "
          f"{efficiency:.2f} ({efficiency_source})")
    print(f"| dataset | {unit} | " + " | ".join(
        f"{n} worker{'s' if n > 1 else ''} h" for n in workers) + " |")
    print("|---|---:|" + "---:|" * len(workers))
    for row in projection_rows(rate_per_s, measured_hw, units_of, datasets, workers,
                               efficiency, input_hw):
        print("| " + " | ".join(row) + " |")
    for ds in datasets:
        print(f"  {ds.name}: {ds.source}")
    print(f"  load average now {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPU(s): a busy "
          "machine measures lower rates, so longer hours")
