from __future__ import annotations

from pathlib import Path

import pytest

from components.data.video import VideoError, decode_frames, probe


def test_probe_reports_stream_metadata(write_test_video):
    info = probe(write_test_video(num_frames=12))
    assert (info.width, info.height, info.codec) == (48, 32, "h264")
    assert info.fps == pytest.approx(10.0)
    assert 1 <= info.num_frames <= 12
    assert info.duration_s == pytest.approx(info.num_frames / 10.0, abs=0.2)


def test_bad_files_give_reasons(tmp_path: Path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.avi"
    text.write_text("this is not a video\n")
    cases = {
        tmp_path / "missing.mp4": "missing",
        empty: "empty",
        text: "not a readable video",
    }
    for path, reason in cases.items():
        with pytest.raises(VideoError, match=reason):
            probe(path)
        result = decode_frames(path)
        assert not result.ok and reason in result.error and len(result.frames) == 0
