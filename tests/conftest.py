"""Fixtures shared by the whole suite: tiny videos and datasets written per test."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

# One thread per test process: the suite runs on 2-core machines.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]


def ramp_frames(num_frames: int = 12, height: int = 32, width: int = 48) -> np.ndarray:
    """uint8 (T, H, W, 3) frames whose mean grows 16 levels a frame: frame identity
    survives lossy coding, so decoded frames can be matched to written ones."""
    levels = 16 + 16 * np.arange(num_frames, dtype=np.int64) % 224
    frames = np.broadcast_to(levels[:, None, None, None], (num_frames, height, width, 3))
    return np.ascontiguousarray(frames, dtype=np.uint8)


@pytest.fixture
def write_test_video(tmp_path: Path) -> Callable[..., Path]:
    """Write a small H.264 mp4 of ``ramp_frames`` and return its path."""
    from components.data.video import write_video

    def _write(name: str = "clip.mp4", num_frames: int = 12, faststart: bool = True,
               frames: np.ndarray | None = None) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = ramp_frames(num_frames) if frames is None else frames
        write_video(path, data, fps=10, crf=10, faststart=faststart)
        return path

    return _write


@pytest.fixture
def tiny_synth_config():
    """A synthetic dataset small enough to write in about a second."""
    from components.data.synthetic import SynthConfig

    return SynthConfig(groups=3, clips_per_group=1, test_groups=1, num_frames=12,
                       height=48, width=64, lighting="dark", seed=3)


@pytest.fixture
def tiny_synth_dataset(tmp_path: Path, tiny_synth_config) -> Path:
    """A tiny synthetic dataset on disk, in the UCF101 layout."""
    from components.data.synthetic import write_dataset
    from components.data.video import write_video

    root = tmp_path / "synthetic"
    root.mkdir()
    write_dataset(tiny_synth_config, root,
                  lambda p, f, fps, crf: write_video(p, f, fps=fps, crf=crf))
    return root


@pytest.fixture
def empty_params(tmp_path: Path) -> Path:
    """An empty parameter file: a stage run on its built-in defaults and flags alone."""
    path = tmp_path / "empty-params.yaml"
    path.write_text("")
    return path
