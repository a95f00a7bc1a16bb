"""The lighting of a dataset, measured from its frames, picks the luminous input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from components.data.lighting import (
    LightingEstimate,
    classify_frames,
    combine,
    luminous_input,
    measure_lighting,
    video_luma,
)
from components.data.synthetic import LIGHTINGS, SynthConfig, VideoSpec, render_video
from components.data.video import write_video


@pytest.mark.parametrize("lighting", LIGHTINGS)
def test_each_synthetic_lighting_is_recognised_through_the_codec(lighting: str,
                                                                  tmp_path: Path) -> None:
    cfg = SynthConfig(lighting=lighting, height=48, width=48, num_frames=8)
    paths = []
    for group in (1, 7, 13):
        path = tmp_path / f"v_Rise_g{group:02d}_c01.mp4"
        write_video(path, render_video(cfg, VideoSpec("Rise", group, 1)), fps=8, crf=17)
        paths.append(path)
    measured = measure_lighting(paths, sample=3)
    assert measured is not None and measured.lighting == lighting and measured.videos == 3
    luma = video_luma(paths[0], 8)
    assert luma is not None and (luma < 0.05 if lighting == "dark" else luma > 0.15)


def test_a_video_that_does_not_decode_has_no_luma(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video\n")
    assert video_luma(bad, 8) is None
    assert video_luma(bad, 0) is None


def test_grey_dim_and_coloured_bright_frames() -> None:
    grey = np.full((2, 8, 8, 3), 120, np.uint8)
    assert classify_frames(grey).lighting == "infrared"
    dim = np.zeros((2, 8, 8, 3), np.uint8)
    dim[..., 0], dim[..., 1], dim[..., 2] = 12, 8, 5  # colour, a few percent of full scale
    assert classify_frames(dim).lighting == "dark"
    bright = dim * 12
    assert classify_frames(bright).lighting == "daylight"
    with pytest.raises(ValueError, match="expected uint8 frames"):
        classify_frames(grey[..., 0])


def test_the_majority_decides_and_ties_go_to_dark() -> None:
    def e(lighting: str) -> LightingEstimate:
        return LightingEstimate(lighting, 0.1, 0.5)  # type: ignore[arg-type]

    assert combine([e("daylight"), e("daylight"), e("dark")]).lighting == "daylight"
    assert combine([e("daylight"), e("dark")]).lighting == "dark"
    assert combine([e("infrared"), e("daylight")]).lighting == "infrared"
    assert measure_lighting([]) is None


def test_the_papers_luminous_input() -> None:
    assert luminous_input("dark") == "gamma"
    assert luminous_input("daylight") == luminous_input("infrared") == "flow"
    with pytest.raises(ValueError, match="lighting must be one of"):
        luminous_input("dusk")
