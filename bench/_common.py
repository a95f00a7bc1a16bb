"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def best_of(fn: Callable[[], object], repeats: int = 3) -> tuple[float, float]:
    """(best, median) wall-clock seconds of ``fn`` over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def report(title: str, rows: list[tuple[str, float, str]], baseline: str) -> None:
    """Print rows of (name, value, unit) and each value's ratio to the baseline row."""
    base = next(v for n, v, _ in rows if n == baseline)
    print(f"\n== {title} ==")
    width = max(len(n) for n, _, _ in rows)
    for name, value, unit in rows:
        ratio = value / base
        print(f"{name:<{width}}  {value:10.1f} {unit:<10}  ratio vs {baseline}: {ratio:5.2f}")
