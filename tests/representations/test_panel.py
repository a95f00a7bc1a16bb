"""The representation panel: frames big enough to see, every label whole and in place."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from components._figures import png_bytes, text_extents
from components.representations.kinds import FlowParams, KindParams, MEIParams
from components.representations.panel import COLUMNS, panel_cells, panel_figure


@pytest.fixture
def clip() -> np.ndarray:
    """(12, 32, 32, 3) uint8: a bright square walking right over a grey background."""
    frames = np.full((12, 32, 32, 3), 90, np.uint8)
    for t in range(12):
        frames[t, 10:20, 2 + 2 * t : 8 + 2 * t] = 230
    return frames


@pytest.fixture
def params() -> KindParams:
    return KindParams(mei=MEIParams(n=4, interval=4), flow=FlowParams(method="farneback"))


def test_cells_hold_every_representation_of_each_batch(clip, params):
    panel = panel_cells(clip, params, max_rows=2)
    assert panel.cells.shape == (2, len(COLUMNS), 32, 32, 3)
    assert panel.cells.dtype == np.uint8
    assert panel.spans == ((0, 3), (8, 11))
    assert not panel.dark
    np.testing.assert_array_equal(panel.cells[0, 0], clip[3])  # base frame: the batch's last


def test_figure_enlarges_frames_and_keeps_labels_whole(clip, params):
    title = "Fall — Fall/v_Fall_g01_c01.mp4 (ucf101-synthetic, test split)"
    fig = panel_figure(panel_cells(clip, params, max_rows=2), title, "Fall\nv_Fall_g01_c01")
    assert fig._suptitle.get_text() == title
    axes = np.array(fig.axes).reshape(2, len(COLUMNS))
    # nearest-neighbour enlargement to >= 128 px: whole-number factor, sharp pixels
    image = axes[0, 0].get_images()[0]
    assert image.get_array().shape[:2] == (128, 128)
    assert image.get_interpolation() == "nearest"
    box = axes[0, 0].get_window_extent(fig.canvas.get_renderer())
    assert box.width >= 120 and box.height >= 120
    # column names whole (no clipping), each over its own column
    assert [" ".join(ax.get_title().split()) for ax in axes[0]] == list(COLUMNS)
    renderer = fig.canvas.get_renderer()
    for ax in axes[0]:
        header = ax.title.get_window_extent(renderer)
        cell = ax.get_window_extent(renderer)
        assert cell.x0 - 4 <= header.x0 and header.x1 <= cell.x1 + 4, ax.get_title()
    assert axes[1, 0].get_ylabel() == "Fall\nv_Fall_g01_c01\nframes 8-11"
    width, height = fig.bbox.width, fig.bbox.height
    for text, box in text_extents(fig):
        assert box.x0 >= -0.5 and box.y0 >= -0.5, text
        assert box.x1 <= width + 0.5 and box.y1 <= height + 0.5, text
    png_width, png_height = struct.unpack(">II", png_bytes(fig)[16:24])
    assert png_width >= 6 * 128 and png_height >= 2 * 128


def test_dark_clip_says_how_it_is_shown(clip, params):
    fig = panel_figure(panel_cells(clip // 8, params, max_rows=1), "dark")
    assert "gamma 3" in fig._suptitle.get_text()
