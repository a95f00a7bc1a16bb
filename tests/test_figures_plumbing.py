"""components._figures: the text-extent check that the picture tests rely on."""

from __future__ import annotations

import struct

from components._figures import fit_to_text, new_figure, overflow_px, png_bytes, text_extents


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_a_title_wider_than_the_figure_overflows_until_fitted():
    fig = new_figure(2.0, 2.0)
    fig.add_subplot(1, 1, 1).plot([0, 1], [0, 1])
    fig.suptitle("a title far, far wider than a two-inch figure can hold")
    assert overflow_px(fig)[0] > 0
    fit_to_text(fig)
    assert overflow_px(fig) == (0.0, 0.0)
    width, height = _png_size(png_bytes(fig))
    assert width > 200 and height >= 200


def test_tick_labels_matplotlib_does_not_draw_are_not_counted():
    fig = new_figure(3.0, 3.0)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot([1, 2, 3], [0.2, 0.5, 0.9])
    texts = [text for text, _ in text_extents(fig)]
    assert overflow_px(fig) == (0.0, 0.0)  # the locator's ticks beyond the view sit off-figure
    assert "2.0" in texts or "2" in texts


def test_a_text_placed_off_the_figure_is_seen():
    fig = new_figure(3.0, 3.0)
    fig.text(1.2, 0.5, "outside")
    assert overflow_px(fig)[0] > 0
