"""The driver's training progress: one readable line per epoch, bars only on a terminal."""

from __future__ import annotations

import io
import math

import pytest

from components.training.progress import Counted, Display, epoch_line

RECORD = {"epoch": 3.0, "lr": 1e-3, "train/loss": 0.41234, "train/top1": 0.5,
          "val/loss": 0.2, "val/top1": 0.9583, "epoch_seconds": 41.2, "time": 1.7e9}


def test_the_epoch_line_reads_as_a_sentence() -> None:
    assert epoch_line(RECORD, 8) == ("epoch 3/8  train loss 0.412  train top-1 0.500  "
                                     "val loss 0.200  val top-1 0.958  (41 s)")


def test_the_epoch_line_leaves_out_what_is_missing_or_not_finite() -> None:
    line = epoch_line({"epoch": 1.0, "train/loss": math.nan, "epoch_seconds": 2.0}, 2)
    assert line == "epoch 1/2  (2 s)"


@pytest.mark.integration
def test_off_a_terminal_the_display_writes_plain_lines(ray_session: None) -> None:
    stream = io.StringIO()
    with Display(4, stream=stream) as display:
        sender = display.sender()
        batches = list(Counted(range(5), sender, epoch=3))
        sender.send("end", 3, RECORD)
    assert batches == [0, 1, 2, 3, 4]
    text = stream.getvalue()
    assert text == "epoch 3/4  train loss 0.412  train top-1 0.500  val loss 0.200  " \
                   "val top-1 0.958  (41 s)\n"
    assert "\x1b[" not in text and "\r" not in text


@pytest.mark.integration
def test_on_a_terminal_each_epoch_has_a_bar_then_its_line(ray_session: None) -> None:
    stream = io.StringIO()
    with Display(2, stream=stream, bars=True) as display:
        sender = display.sender()
        for epoch in (1, 2):
            list(Counted(range(3), sender, epoch=epoch))
            sender.send("end", epoch, {**RECORD, "epoch": float(epoch)})
    text = stream.getvalue()
    assert "epoch 1/2:" in text and "epoch 2/2:" in text and "/3 [" in text  # tqdm bars
    lines = [line for line in text.replace("\r", "\n").splitlines() if "train loss" in line]
    assert [line.split("  ")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
