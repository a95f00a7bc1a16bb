"""A stage's per-video progress off a terminal: plain lines, no bar, no ANSI codes."""

from __future__ import annotations

import pytest

from components.stages import _common


def test_off_a_terminal_progress_is_one_plain_line_at_the_end(
        capsys: pytest.CaptureFixture[str]) -> None:
    items = list(_common.progress(range(7), total=7, desc="represent mei"))
    assert items == list(range(7))
    err = capsys.readouterr().err  # pytest's capture is not a terminal
    assert err.startswith("represent mei: 7/7 videos (")
    assert err.count("\n") == 1 and "\r" not in err and "\x1b[" not in err


def test_long_runs_get_a_line_every_interval(capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_common, "PLAIN_EVERY_S", 0.0)
    list(_common.progress(iter(range(3)), desc="ingest"))
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(" videos")[0] for line in lines] == [
        "ingest: 1", "ingest: 2", "ingest: 3", "ingest: 3"]
