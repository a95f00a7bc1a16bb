"""Representation settings are checked before any video is touched: each bad value is
an error naming its key (exit 2, nothing written), and a run where every video fails
exits non-zero."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.cli import main

BAD = {
    "height: -32": "height",
    "width: 0": "width",
    "shard_size_mb: 0": "shard_size_mb",
    "max_frames: -1": "max_frames",
    "frame_stride: 0": "frame_stride",
    "mei: {n: 0}": "mei.n",
    "mei: {interval: 0}": "mei.interval",
    "flow: {bound: -5}": "flow.bound",
    "gamma: {gamma: -1}": "gamma.gamma",
    "rank: {window: 1}": "rank.window",
}


@pytest.mark.parametrize("setting", list(BAD))
def test_a_bad_setting_is_refused_before_work_starts(setting: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    params = tmp_path / "params.yaml"
    params.write_text(f"represent:\n  {setting}\n")
    out = tmp_path / "out"
    code = main(["represent", "--params", str(params), "--kind", "mei",
                 "--manifest", str(tmp_path / "manifest.csv"), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and BAD[setting] in err and str(params) in err, err
    assert not out.exists()


def test_every_video_failing_exits_non_zero(empty_params: Path, tiny_synth_dataset: Path,
                                            tmp_path: Path) -> None:
    assert main(["ingest", "--params", str(empty_params), "--root",
                 str(tiny_synth_dataset), "--format", "ucf101", "--out",
                 str(tmp_path / "ingest")]) == 0
    for video in tiny_synth_dataset.rglob("*.mp4"):
        video.write_bytes(b"gone")  # every listed file damaged after ingest
    params = tmp_path / "params.yaml"
    params.write_text("represent: {height: 16, width: 16, workers: 1}\n")
    out = tmp_path / "represent" / "mei"
    assert main(["represent", "--params", str(params), "--kind", "mei", "--manifest",
                 str(tmp_path / "ingest" / "manifest.csv"), "--out", str(out)]) == 1
    failures = (tmp_path / "represent" / "mei.failures.csv").read_text()
    assert "not a readable video" in failures


@pytest.mark.parametrize("stage", ["ingest", "represent", "train", "evaluate", "tune", "models"])
def test_a_named_params_file_that_is_missing_is_an_error(stage: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    missing = tmp_path / "parmas.yaml"  # a typo must never mean "train on the defaults"
    with pytest.raises(SystemExit) as exit_info:
        main([stage, "--params", str(missing)])
    assert exit_info.value.code == 2
    assert f"{missing}: no such parameter file" in capsys.readouterr().err
