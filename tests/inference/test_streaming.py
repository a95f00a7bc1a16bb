"""Streaming recognition: windows of a file source on a simulated clock (drops,
queue of one), the project's models on windows, and ``har stream``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from components.cli import main
from components.data.video import iter_frames, write_video
from components.inference.streaming import PyAVSource, SimulatedClock, StreamRunner
from components.inference.windows import decode_sizes, model_window, predictor_classifier
from inference._support import Shards

FPS = 8
FRAMES = 24


@pytest.fixture(scope="module")
def tiny_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 frames of 32x32 at 8 fps (3 s): a bright square moving right."""
    frames = np.zeros((FRAMES, 32, 32, 3), np.uint8)
    for t in range(FRAMES):
        frames[t, 12:20, t:t + 8] = 200
    path = tmp_path_factory.mktemp("stream") / "tiny.mp4"
    write_video(path, frames, fps=FPS)
    return path


def _model_taking(clock: SimulatedClock, seconds: float, classes: int = 3):
    """A classifier that takes ``seconds`` of simulated time and favours class 1."""
    calls: list[int] = []

    def classify(window: dict) -> np.ndarray:
        (frames,) = window.values()
        calls.append(len(frames))
        clock.advance(seconds)
        probs = np.full(classes, 0.1)
        probs[1] = 1.0 - 0.1 * (classes - 1)
        return probs

    return classify, calls


def test_a_slow_model_drops_windows_and_never_queues_more_than_one(tiny_video: Path) -> None:
    clock = SimulatedClock()
    model_s = 1.0  # windows come every hop / fps = 0.25 s
    classify, calls = _model_taking(clock, model_s)
    runner = StreamRunner(classify, ("a", "b", "c"), window=4, hop=2, clock=clock,
                          realtime=True)
    results = list(runner.run(PyAVSource(tiny_video)))
    stats = runner.stats
    assert stats.frames == FRAMES
    assert stats.windows == (FRAMES - 4) // 2 + 1
    assert stats.dropped > 0 and stats.scored == len(results) == len(calls)
    assert stats.scored + stats.dropped == stats.windows  # each window scored or dropped
    assert stats.max_queue == 1
    # A queue of one: no window waits for more than the one model run before it.
    assert max(r.latency_s for r in results) <= 2 * model_s + 1e-9
    assert results[-1].end_s == pytest.approx((FRAMES - 1) / FPS)  # the newest wins
    assert all(n == 4 for n in calls)
    # Played in (simulated) real time: the stream took its media time, or longer.
    assert stats.wall_s >= stats.media_s - 1e-9 and stats.real_time_factor <= 1.0


def test_a_fast_model_drops_nothing(tiny_video: Path) -> None:
    clock = SimulatedClock()
    classify, _ = _model_taking(clock, 0.01)
    runner = StreamRunner(classify, ("a", "b", "c"), window=4, hop=2, clock=clock,
                          realtime=True)
    results = list(runner.run(PyAVSource(tiny_video)))
    assert runner.stats.dropped == 0 and runner.stats.max_queue == 0
    assert len(results) == runner.stats.windows == (FRAMES - 4) // 2 + 1
    assert [r.index for r in results] == list(range(len(results)))
    for r in results:
        assert r.label == "b" and r.probability == pytest.approx(0.8)
        assert r.end_s - r.start_s == pytest.approx(3 / FPS)
        assert r.latency_s == pytest.approx(0.01)
    assert runner.stats.media_s == pytest.approx(FRAMES / FPS)


def test_max_seconds_stops_the_stream(tiny_video: Path) -> None:
    clock = SimulatedClock()
    classify, _ = _model_taking(clock, 0.0)
    runner = StreamRunner(classify, ("a", "b", "c"), window=4, clock=clock, max_seconds=1.0)
    list(runner.run(PyAVSource(tiny_video)))
    assert runner.stats.frames == FPS and runner.stats.windows == 2


def test_a_window_scores_as_har_predict_scores_a_video_that_long(
        shards: Shards, trained, tmp_path: Path) -> None:
    """One MEI batch of the stream gives what ``har predict`` gives a file of exactly
    those frames: the same decode, representation and model."""
    from components.inference import VideoPredictor

    predictor = VideoPredictor.from_folders({"normal": trained["normal"],
                                             "motion": trained["motion"]})
    window = model_window(predictor)
    assert window == 4  # the fixtures' MEI n
    source_video = next(shards.videos.glob("Fall/*.mp4"))
    frames = np.stack([f.rgb for f in iter_frames(source_video)])[:window]
    clip = tmp_path / "clip.mp4"
    write_video(clip, frames, fps=FPS)
    runner = StreamRunner(predictor_classifier(predictor), predictor.classes, window)
    (result,) = list(runner.run(PyAVSource(clip, size=decode_sizes(predictor)[0])))
    expected = predictor.probabilities(clip)
    np.testing.assert_allclose(result.probs, expected, rtol=1e-5, atol=1e-6)
    assert result.probs.sum() == pytest.approx(1.0)
    assert result.label in predictor.classes and 0.0 < result.probability <= 1.0
    assert result.label == predictor.classes[int(np.argmax(expected))]


def test_har_stream_prints_windows_and_writes_the_annotated_video(
        shards: Shards, trained, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    video = next(shards.videos.glob("Rise/*.mp4"))
    out = tmp_path / "annotated.mp4"
    code = main(["stream", str(video), "--model", str(trained["motion"]), "--hop", "2",
                 "--out", str(out), "--json"])
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    *windows, summary = lines
    source_frames = list(iter_frames(video))
    n = len(source_frames)
    assert summary["summary"]["windows"] == len(windows) == (n - 4) // 2 + 1
    assert summary["summary"]["dropped"] == 0
    assert all(0.0 < w["probability"] <= 1.0 and w["latency_ms"] >= 0 for w in windows)
    written = list(iter_frames(out))
    assert len(written) == n
    assert written[0].rgb.shape == source_frames[0].rgb.shape
    # The label band is drawn: the top rows differ from the source's.
    assert not np.array_equal(written[-1].rgb[:6], source_frames[-1].rgb[:6])


def test_har_stream_names_a_missing_source(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["stream", str(tmp_path / "nope.mp4"), "--model", str(tmp_path)])
    assert code == 2
    assert "nope.mp4" in capsys.readouterr().err


class _LiveFile:
    """A camera played from a file on a simulated clock: frame t is delivered at
    ``delay + t`` seconds; a read before then waits (the clock jumps), a later read
    gets it at once from the source's buffer."""

    live = True

    def __init__(self, path: Path, clock: SimulatedClock, delay: float) -> None:
        self.path, self.clock, self.delay = path, clock, delay
        self.fps = float(FPS)

    def __iter__(self):
        for frame in iter_frames(self.path):
            self.clock.sleep_until(self.delay + frame.timestamp_s)
            yield frame


def test_a_live_source_late_to_start_is_still_scored_as_it_goes(tiny_video: Path) -> None:
    """A camera whose first frame comes 2 s after opening: windows are scored while
    the stream runs (frames read from the buffer after a model run count as arrived
    while it was busy), and no window waits for more than one model run."""
    clock = SimulatedClock()
    model_s = 0.3  # windows come every 0.25 s: some must drop
    classify, _ = _model_taking(clock, model_s)
    runner = StreamRunner(classify, ("a", "b", "c"), window=4, hop=2, clock=clock)
    results = list(runner.run(_LiveFile(tiny_video, clock, delay=2.0)))
    stats = runner.stats
    assert stats.windows == (FRAMES - 4) // 2 + 1
    assert stats.dropped > 0 and stats.scored + stats.dropped == stats.windows
    assert stats.scored >= stats.windows // 2
    assert max(r.latency_s for r in results) <= 2 * model_s + 1e-9
    assert stats.busy_s == pytest.approx(model_s * stats.scored)
