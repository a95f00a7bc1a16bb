"""The projections of bench.scale: pixel scaling, workers, hours."""

from __future__ import annotations

import pytest

from bench.scale import (
    ARID,
    UCF101,
    DatasetSize,
    efficiency_from,
    pixel_scale,
    project_hours,
    projection_rows,
    speedup,
)


def test_pixels_scale_the_work() -> None:
    assert pixel_scale((240, 320), (240, 320)) == 1.0
    assert pixel_scale((64, 64), (224, 224)) == pytest.approx(12.25)
    assert pixel_scale((240, 320), (120, 160)) == pytest.approx(0.25)
    with pytest.raises(ValueError):
        pixel_scale((0, 320), (240, 320))


def test_workers_add_their_efficiency() -> None:
    assert speedup(1, 0.3) == 1.0
    assert speedup(2) == 2.0
    assert speedup(4, 0.5) == pytest.approx(2.5)
    assert efficiency_from(100.0, 180.0) == pytest.approx(0.8)
    assert efficiency_from(100.0, 90.0) == pytest.approx(1e-3)  # slower: never negative
    assert efficiency_from(100.0, 250.0) == 1.0
    with pytest.raises(ValueError):
        speedup(0)


def test_hours_of_ucf101_at_a_known_rate() -> None:
    # 2.5 M frames at 250 frames/s of the same size: 10,000 s on one worker.
    assert project_hours(UCF101.frames, 250.0) == pytest.approx(10_000 / 3600)
    assert project_hours(UCF101.frames, 250.0, workers=2) == pytest.approx(5_000 / 3600)
    # Measured on frames of a quarter the pixels: four times the work per frame.
    assert project_hours(UCF101.frames, 250.0, scale=4.0) == pytest.approx(40_000 / 3600)
    with pytest.raises(ValueError):
        project_hours(1, 0.0)


def test_rows_name_every_dataset_and_worker_count() -> None:
    tiny = DatasetSize("tiny", 10, 3600, 120, 160, "made up")
    rows = projection_rows(1.0, (240, 320), lambda ds: ds.frames, datasets=(tiny, UCF101),
                           workers=(1, 2), efficiency=1.0)
    assert rows[0] == ["tiny", "3,600", "0.25", "0.12"]  # a quarter the pixels of 320x240
    assert rows[1][0] == "UCF101" and float(rows[1][2]) == pytest.approx(2.5e6 / 3600, abs=0.01)
    # Training: scaled to the model input, not the frame size.
    (row,) = projection_rows(1.0, (112, 112), lambda ds: 3600, datasets=(ARID,), workers=(1,),
                             input_hw=(224, 224))
    assert row == ["ARID v1.0", "3,600", "4.00"]
