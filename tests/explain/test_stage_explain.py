"""``har explain`` on model folders as ``har train`` writes them (random weights)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from inference._support import Shards, write_untrained

from components.cli import main
from components.explain import explain_video, load_parts


def _video(shards: Shards) -> Path:
    return sorted(shards.videos.rglob("*.mp4"))[0]


def _title_label(title: str, classes: tuple[str, ...]) -> str:
    found = re.search(r"predicted (\S+) \((\d+)%\)", title)
    assert found, title
    assert found.group(1) in classes
    return found.group(1)


def test_two_stream_pair_writes_a_png_titled_with_the_prediction(
        shards: Shards, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    normal = write_untrained(tmp_path / "normal", "normal", shards, seed=1, model="small_cnn",
                             model_kwargs={"width": 4, "depth": 1, "stages": 2})
    motion = write_untrained(tmp_path / "motion", "motion", shards, seed=2, model="small_cnn",
                             model_kwargs={"width": 4, "depth": 1, "stages": 2})
    video, out = _video(shards), tmp_path / "pics" / "two.png"
    assert main(["explain", str(video), "--model", f"{normal},{motion}",
                 "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    parts = load_parts(f"{normal},{motion}")
    explanation = explain_video(parts, video)
    label = _title_label(explanation.title, parts["normal"].classes)
    assert f"{video.name}: predicted {label}" in explanation.title
    assert printed.startswith(f"{video}: {label} ")
    assert explanation.figure._suptitle.get_text() == explanation.title
    # the fused probability is har predict's
    from components.inference.predictor import VideoPredictor

    probs = VideoPredictor(parts).probabilities(video)
    assert label == parts["normal"].classes[int(np.argmax(probs))]
    assert explanation.probability == pytest.approx(float(probs.max()))


def test_lift_net_writes_a_png_with_frames_and_maps(shards: Shards, tmp_path: Path) -> None:
    student = write_untrained(tmp_path / "student", "student", shards, seed=0)
    video, out = _video(shards), tmp_path / "lift.png"
    assert main(["explain", str(video), "--model", str(student), "--out", str(out)]) == 0
    assert out.stat().st_size > 0
    parts = load_parts(student)
    explanation = explain_video(parts, video)
    _title_label(explanation.title, parts["student"].classes)
    captions = [ax.get_title() for ax in explanation.figure.axes]
    assert "cross-attention" in captions and "Fourier block (FoE)" in captions


def test_a_missing_video_is_an_error_naming_it(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.mp4"
    assert main(["explain", str(missing), "--model", str(tmp_path)]) == 2
    assert "nope.mp4" in capsys.readouterr().err
