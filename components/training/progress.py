"""Training progress on the driver's terminal: a bar per epoch, a line of metrics.

Rank 0 of a Ray Train run sends small events through a Ray queue (an actor that
holds no CPU) to the driver, which draws them: a tqdm bar per epoch on a terminal,
and after each epoch one line such as::

    epoch 3/8  train loss 0.412  val top-1 0.958  (41 s)

Off a terminal (a Prefect flow-run log, CI, a file) there is no bar and no ANSI
code: the epoch line, plus a plain ``epoch 3/8: 120/400 batches`` line at most
once a minute during long epochs. The driver draws rather than the workers print
because Ray forwards worker output only with ``log_to_driver``, which also
forwards every library's chatter (:mod:`components._console`).

Events are ``(kind, epoch, payload)``: ``("start", e, batches)``,
``("batch", e, done)``, ``("end", e, record)``. Sending never fails a run: a
lost event costs a bar update, nothing else.
"""

from __future__ import annotations

import contextlib
import logging
import math
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TextIO

log = logging.getLogger(__name__)

#: Seconds between batch events from the worker (the bar's refresh rate).
BATCH_EVERY_S = 1.0
#: Seconds between plain progress lines off a terminal.
PLAIN_EVERY_S = 60.0


def epoch_line(record: Mapping[str, Any], epochs: int, prefix: str = "val") -> str:
    """One readable line of an epoch's metrics record (``epoch``, ``train/loss``,
    ``<prefix>/top1``, ``epoch_seconds``; missing or non-finite values left out)."""
    def number(key: str) -> float | None:
        value = record.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value) if math.isfinite(float(value)) else None

    parts = [f"epoch {int(record.get('epoch', 0))}/{epochs}"]
    if (loss := number("train/loss")) is not None:
        parts.append(f"train loss {loss:.3f}")
    if (top1 := number("train/top1")) is not None:
        parts.append(f"train top-1 {top1:.3f}")
    if (val_loss := number(f"{prefix}/loss")) is not None:
        parts.append(f"{prefix} loss {val_loss:.3f}")
    if (val_top1 := number(f"{prefix}/top1")) is not None:
        parts.append(f"{prefix} top-1 {val_top1:.3f}")
    line = "  ".join(parts)
    if (seconds := number("epoch_seconds")) is not None:
        line += f"  ({seconds:.0f} s)"
    return line


class Sender:
    """The worker's end: sends events to the driver (picklable; rank 0 uses it)."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue
        self._last = 0.0

    def send(self, kind: str, epoch: int, payload: Any) -> None:
        # A full or gone queue must not stop training.
        with contextlib.suppress(Exception):
            self.queue.put_nowait((kind, epoch, payload))

    def batches(self, loader: Iterable[Any], epoch: int) -> Iterator[Any]:
        """``loader``'s batches, with a start event and a batch event every
        :data:`BATCH_EVERY_S` seconds."""
        try:
            total = len(loader)  # type: ignore[arg-type]
        except TypeError:
            total = None
        self.send("start", epoch, total)
        done = 0
        for batch in loader:
            yield batch
            done += 1
            now = time.monotonic()
            if now - self._last >= BATCH_EVERY_S:
                self._last = now
                self.send("batch", epoch, done)
        self.send("batch", epoch, done)


class Counted:
    """An iterable with the length of ``loader`` whose iteration reports progress."""

    def __init__(self, loader: Any, sender: Sender, epoch: int) -> None:
        self.loader, self.sender, self.epoch = loader, sender, epoch

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[Any]:
        return self.sender.batches(self.loader, self.epoch)


class Display:
    """The driver's end: a thread that draws the events of one training run.

    Args:
        epochs: the run's last epoch (the ``N`` of ``epoch n/N``).
        prefix: the validation metrics' prefix.
        stream: where to draw (default: stderr).
        bars: draw tqdm bars (default: when ``stream`` is a terminal).
    """

    def __init__(self, epochs: int, prefix: str = "val", stream: TextIO | None = None,
                 bars: bool | None = None) -> None:
        from ray.util.queue import Queue

        from components._console import is_terminal

        self.epochs, self.prefix = epochs, prefix
        self.stream = stream or sys.stderr
        self.bars = is_terminal(self.stream) if bars is None else bars
        # num_cpus=0: the queue must never take a CPU the workers are waiting for.
        self.queue = Queue(actor_options={"num_cpus": 0})
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="har-progress", daemon=True)
        self._bar: Any = None
        self._total: int | None = None
        self._plain_at = 0.0

    def sender(self) -> Sender:
        return Sender(self.queue)

    def __enter__(self) -> Display:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._drain()
        self._close_bar()
        with contextlib.suppress(Exception):  # Ray may already be going down
            self.queue.shutdown()

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._drain():
                self._stop.wait(0.2)

    def _drain(self) -> bool:
        """Draw every queued event; False when there was none (or Ray is gone)."""
        try:
            events = self.queue.get_nowait_batch(self.queue.qsize())
        except Exception:  # noqa: BLE001 - Ray shut down under us: nothing left to draw
            return False
        for event in events:
            self.handle(*event)
        return bool(events)

    def handle(self, kind: str, epoch: int, payload: Any) -> None:
        """Draw one event (public for tests)."""
        if kind == "start":
            self._close_bar()
            self._total = payload
            self._plain_at = time.monotonic()
            if self.bars:
                from tqdm import tqdm

                self._bar = tqdm(total=payload, desc=f"epoch {epoch}/{self.epochs}",
                                 unit="batch", file=self.stream, leave=False,
                                 dynamic_ncols=True)
        elif kind == "batch":
            if self._bar is not None:
                self._bar.update(max(0, int(payload) - self._bar.n))
            elif time.monotonic() - self._plain_at >= PLAIN_EVERY_S:
                self._plain_at = time.monotonic()
                of = f"/{self._total}" if self._total else ""
                self._write(f"epoch {epoch}/{self.epochs}: {payload}{of} batches")
        elif kind == "end":
            self._close_bar()
            self._write(epoch_line(payload, self.epochs, self.prefix))

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _write(self, line: str) -> None:
        print(line, file=self.stream, flush=True)
