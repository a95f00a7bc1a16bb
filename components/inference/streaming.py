"""Action labels of a live frame stream, one per window, with bounded work.

Frames come from a :class:`FrameSource` (a file, a camera or an RTSP URL through
PyAV: :class:`PyAVSource`). The last ``W`` frames are kept in a rolling buffer
(``W`` = the model's window: one MEI batch, ``n`` frames, for the two-stream
network; one clip, ``clip_len * stride`` frames, for clip models); every ``hop``
frames a window is ready and is represented with the same code ``har predict``
uses (:func:`components.representations.kinds.compute`, the training datasets)
and scored by every part of the :class:`~components.inference.predictor.VideoPredictor`
(:mod:`components.inference.windows`: the project's models on windows).

The model runs one window at a time. A window that becomes ready while the model
is busy waits in a queue of one; a newer window replaces it, and the replaced one
counts as dropped: the newest frames win and nothing queues without bound. Time
comes from a :class:`Clock`: :class:`RealClock` for use, :class:`SimulatedClock` in
tests (a model "takes" whatever time the test advances it by).

A frame's *arrival* time is when a live source would deliver it (stream start
plus its timestamp) for cameras, URLs and files played with ``realtime=True``,
and the moment it was read for files played as fast as possible (then nothing is
ever dropped and the real-time factor says how much faster than the video the
whole pipeline is: media seconds / wall seconds).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from components.data.video import StreamFrame

#: Probabilities (K,) of one window of frames (``(W, H, W, 3)`` per decode size).
Classify = Callable[[Mapping[tuple[int, int], np.ndarray]], np.ndarray]


class Clock(Protocol):
    """Seconds on a monotonic clock."""

    def now(self) -> float: ...

    def sleep_until(self, t: float) -> None: ...


class RealClock:
    """The machine's monotonic clock."""

    def now(self) -> float:
        import time

        return time.perf_counter()

    def sleep_until(self, t: float) -> None:
        import time

        delay = t - time.perf_counter()
        if delay > 0:
            time.sleep(delay)


class SimulatedClock:
    """A clock that moves only when told: ``sleep_until`` jumps, ``advance`` adds."""

    def __init__(self, start: float = 0.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    def sleep_until(self, t: float) -> None:
        self.t = max(self.t, t)

    def advance(self, seconds: float) -> None:
        self.t += seconds


class FrameSource(Protocol):
    """Frames in presentation order; ``fps`` is the declared rate, ``live`` is True
    when frames arrive at the source's pace whatever the reader does."""

    fps: float
    live: bool

    def __iter__(self) -> Iterator[StreamFrame]: ...


class PyAVSource:
    """A file, ``/dev/videoN`` or ``rtsp://`` URL decoded by PyAV
    (:func:`components.data.video.iter_frames`) at ``size`` (height, width)."""

    def __init__(self, source: str | Path, size: tuple[int, int] | None = None,
                 native: bool = False) -> None:
        from components.data.video import is_live, stream_fps

        self.source = str(source)
        self.size, self.native = size, native
        self.live = is_live(self.source)
        self.fps = stream_fps(self.source)

    def __iter__(self) -> Iterator[StreamFrame]:
        from components.data.video import iter_frames

        return iter_frames(self.source, size=self.size, native=self.native)


@dataclass(frozen=True)
class WindowResult:
    """One scored window.

    Attributes:
        index: window number (ready windows, dropped ones included), from 0.
        start_s, end_s: media time of the window's first and last frame (seconds).
        label, probability: the most probable class and its probability.
        latency_s: from the arrival of the window's last frame to the result
            (waiting in the queue included).
        probs: (K,) class probabilities.
    """

    index: int
    start_s: float
    end_s: float
    label: str
    probability: float
    latency_s: float
    probs: np.ndarray = field(repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {"window": self.index, "start_s": round(self.start_s, 4),
                "end_s": round(self.end_s, 4), "label": self.label,
                "probability": round(self.probability, 6),
                "latency_ms": round(self.latency_s * 1000, 2)}


@dataclass
class StreamStats:
    """Totals of one stream: frames read, windows ready / scored / dropped, the
    longest the queue ever was (at most 1), media, wall and model-busy seconds."""

    frames: int = 0
    windows: int = 0
    scored: int = 0
    dropped: int = 0
    max_queue: int = 0
    media_s: float = 0.0
    wall_s: float = 0.0
    busy_s: float = 0.0

    @property
    def real_time_factor(self) -> float:
        """Media seconds per wall second (> 1: faster than real time)."""
        return self.media_s / self.wall_s if self.wall_s > 0 else float("inf")

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "real_time_factor": round(self.real_time_factor, 3)}


@dataclass
class _Window:
    index: int
    frames: dict[tuple[int, int], np.ndarray]
    start_s: float
    end_s: float
    ready_at: float


class StreamRunner:
    """Scores windows of a stream as frames arrive.

    Args:
        classify: window (decode size -> ``(W, H, W, 3)`` uint8) -> (K,) probabilities.
        classes: class names of the K columns.
        window: frames per window ``W``.
        hop: frames between window ends (``W``: windows do not overlap).
        clock: time (a :class:`SimulatedClock` in tests).
        realtime: play a non-live source at its frame rate (windows may drop).
        max_seconds: stop after this much media time (None: the whole stream).
    """

    def __init__(self, classify: Classify, classes: Sequence[str], window: int,
                 hop: int | None = None, clock: Clock | None = None,
                 realtime: bool = False, max_seconds: float | None = None) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1 frame, got {window}")
        self.classify, self.classes = classify, tuple(classes)
        self.window, self.hop = window, hop or window
        if self.hop < 1:
            raise ValueError(f"hop must be >= 1 frame, got {self.hop}")
        self.clock = clock or RealClock()
        self.realtime, self.max_seconds = realtime, max_seconds
        self.stats = StreamStats()
        #: The label shown on each frame: the latest result when the frame arrived.
        self.current: WindowResult | None = None

    def _score(self, w: _Window) -> WindowResult:
        started = self.clock.now()
        probs = np.asarray(self.classify(w.frames), dtype=np.float64)
        self.stats.busy_s += self.clock.now() - started
        best = int(np.argmax(probs))
        result = WindowResult(w.index, w.start_s, w.end_s, self.classes[best],
                              float(probs[best]), self.clock.now() - w.ready_at, probs)
        self.stats.scored += 1
        self.current = result
        return result

    def run(self, source: FrameSource,
            on_frame: Callable[[StreamFrame, WindowResult | None], None] | None = None,
            ) -> Iterator[WindowResult]:
        """Read ``source`` to its end (or ``max_seconds``) and yield each scored window.

        ``on_frame(frame, current)`` sees every frame with the latest result at that
        moment (for drawing). The busy model, the queue of one and the drops follow
        the module docstring.
        """
        buffer: deque[StreamFrame] = deque(maxlen=self.window)
        pending: _Window | None = None
        busy_until = -float("inf")
        since_last = 0
        t0 = self.clock.now()
        anchor: float | None = None  # live: wall time of media time 0
        last_ts = 0.0
        frames = iter(source)
        while True:
            asked = self.clock.now()
            try:
                frame = next(frames)
            except StopIteration:
                break
            if self.max_seconds is not None and frame.timestamp_s >= self.max_seconds:
                break
            arrival, anchor = self._arrival(source, frame, asked, t0, anchor)
            self.stats.frames += 1
            last_ts = frame.timestamp_s
            if pending is not None and arrival >= busy_until:
                yield self._score(pending)
                busy_until = self.clock.now()
                pending = None
            buffer.append(frame)
            since_last += 1
            if len(buffer) == self.window and since_last >= self.hop:
                since_last = 0
                ready = self._window(buffer, arrival)
                if arrival >= busy_until and pending is None:
                    yield self._score(ready)
                    busy_until = self.clock.now()
                else:  # the model is busy with an older window: keep only the newest
                    if pending is not None:
                        self.stats.dropped += 1
                    pending = ready
                    self.stats.max_queue = max(self.stats.max_queue, 1)
            if on_frame is not None:
                on_frame(frame, self.current)
        if pending is not None:
            self.clock.sleep_until(busy_until)
            yield self._score(pending)
        self.stats.wall_s = self.clock.now() - t0
        if self.stats.frames:
            self.stats.media_s = last_ts + 1.0 / max(source.fps, 1e-6)

    def _arrival(self, source: FrameSource, frame: StreamFrame, asked: float, t0: float,
                 anchor: float | None) -> tuple[float, float | None]:
        """When ``frame`` arrived (module docstring), asked for at ``asked``; and the
        live source's anchor (wall time of media time 0), moved when the frame was
        waited for. A file played in real time is waited for here."""
        now = self.clock.now()
        if source.live:
            # A frame we had to wait for is fresh: it arrived now (this re-anchors
            # after a connection delay or a stall). One read at once was waiting in
            # the source's buffer while the model ran: it arrived at its media time.
            if anchor is None or now - asked > 0.5 / max(source.fps, 1e-6):
                anchor = now - frame.timestamp_s
            return anchor + frame.timestamp_s, anchor
        if self.realtime:
            arrival = t0 + frame.timestamp_s
            self.clock.sleep_until(arrival)  # a file played as a camera would
            return arrival, anchor
        return now, anchor

    def _window(self, buffer: deque[StreamFrame], arrival: float) -> _Window:
        self.stats.windows += 1
        rgb = np.stack([f.rgb for f in buffer])
        size = (int(rgb.shape[1]), int(rgb.shape[2]))
        return _Window(self.stats.windows - 1, {size: rgb}, buffer[0].timestamp_s,
                       buffer[-1].timestamp_s, arrival)
