"""Confusion matrix and learning-curve pictures: human titles, nothing clipped, big enough."""

from __future__ import annotations

import datetime as dt
import struct

import numpy as np
import pytest

from components._figures import png_bytes, text_extents
from components.training.figures import (
    SPLIT_STYLES,
    confusion_figure,
    curves_figure,
    figure_title,
    model_title,
)

CLASSES = ["Rise", "Fall", "MoveLeft", "a rather long class name"]
WHEN = dt.date(2026, 12, 2)


def _png_size(fig) -> tuple[int, int]:  # noqa: ANN001
    return struct.unpack(">II", png_bytes(fig)[16:24])


def _all_inside(fig) -> None:  # noqa: ANN001
    width, height = fig.bbox.width, fig.bbox.height
    for text, box in text_extents(fig):
        assert box.x0 >= -0.5 and box.y0 >= -0.5, f"{text!r} cut at the left/bottom: {box}"
        assert box.x1 <= width + 0.5 and box.y1 <= height + 0.5, f"{text!r} cut: {box}"


@pytest.fixture
def history() -> list[dict[str, float]]:
    # val top-1 per video and per clip identical: the per-clip line must not vanish
    return [{"epoch": e, "train/loss": 1.4 / e, "val/loss": 1.3 / e, "train/top1": 0.2 * e,
             "val/top1": 0.25 * e, "val/top1_item": 0.25 * e} for e in (1, 2, 3)]


def test_titles_name_model_dataset_split_and_date():
    assert model_title("student", "lift_net") == "LIFT-Net (student, distilled)"
    assert model_title("teacher", "r2plus1d_18") == "R(2+1)D-18 (teacher)"
    assert model_title("custom_job", "new_net") == "new_net (custom job)"
    assert (figure_title("LIFT-Net (student)", "ucf101-synthetic/split1", "test", WHEN)
            == "LIFT-Net (student) — ucf101-synthetic/split1, test split, 2026-12-02")
    assert figure_title("M", "d", when=WHEN) == "M — d, 2026-12-02"


def test_confusion_figure_reads_at_a_glance():
    matrix = np.array([[5, 1, 0, 0], [0, 6, 0, 0], [0, 0, 0, 0], [2, 0, 0, 8]])
    title = figure_title("LIFT-Net (student, distilled)", "ucf101-synthetic/split1", "test",
                         WHEN)
    fig = confusion_figure(matrix, CLASSES, title, subtitle="run student-77e519d8")
    assert fig._suptitle.get_text() == title
    _all_inside(fig)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == CLASSES
    assert [t.get_text() for t in ax.get_yticklabels()] == CLASSES
    cells = {t.get_text() for t in ax.texts}
    assert {"5\n83%", "1\n17%", "8\n80%", "0"} <= cells  # counts and row %; empty row: 0
    assert len(fig.axes) == 2  # the colour bar
    width, height = _png_size(fig)
    assert width >= 500 and height >= 400


@pytest.mark.parametrize("k", [2, 12])
def test_confusion_figure_keeps_every_name_and_a_long_title_inside(k):
    classes = [f"class number {i}" for i in range(k)]
    title = figure_title("LIFT-Net (student, distilled)", "hmdb51-" + "very-long-root" * 6,
                         "test", WHEN)
    fig = confusion_figure(np.eye(k, dtype=int) * 3, classes, title)
    _all_inside(fig)


def test_confusion_figure_of_nothing_scored_is_an_empty_grid():
    fig = confusion_figure(np.zeros((0, 0)), CLASSES[:3], "T")
    assert {t.get_text() for t in fig.axes[0].texts} == {"0"}


def test_curves_distinguish_the_splits_and_draw_the_test_on_top(history):
    title = figure_title("R(2+1)D-18 (teacher)", "ucf101-synthetic/split1", when=WHEN)
    fig = curves_figure(history, "val", title, best_epoch=3, subtitle="run teacher-a582e52b",
                        test={"test/top1": 0.7, "test/loss": 0.5})
    assert fig._suptitle.get_text() == title
    assert fig._supxlabel.get_text() == "run teacher-a582e52b"
    _all_inside(fig)
    loss_ax, top1_ax = fig.axes[:2]
    lines = {line.get_label(): line for line in top1_ax.get_lines()}
    train, val, clip = lines["train"], lines["val"], lines["val, per clip"]
    # colour and marker and line style all differ between splits
    for a, b in ((train, val), (val, lines["test, selected model"])):
        assert a.get_color() != b.get_color() and a.get_marker() != b.get_marker()
    assert train.get_linestyle() != val.get_linestyle()
    # the same numbers per clip as per video: drawn above it, hollow, so both show
    assert clip.get_zorder() > val.get_zorder() and clip.get_markerfacecolor() == "white"
    star = lines["test, selected model"]
    assert star.get_zorder() > max(line.get_zorder() for line in (train, val, clip))
    assert list(star.get_xdata()) == [3] and list(star.get_ydata()) == [0.7]
    legend = fig.legends[0]
    assert {t.get_text() for t in legend.get_texts()} >= {"train", "val", "val, per clip",
                                                          "test, selected model",
                                                          "selected epoch (3)"}
    assert not loss_ax.get_legend() and not top1_ax.get_legend()  # off the data
    width, height = _png_size(fig)
    assert width >= 900 and height >= 400


def test_curves_without_a_validation_split_draw_the_test_style(history):
    rows = [{k.replace("val/", "test/"): v for k, v in row.items()} for row in history]
    fig = curves_figure(rows, "test", "T")
    lines = {line.get_label(): line for line in fig.axes[1].get_lines()}
    assert lines["test"].get_color() == SPLIT_STYLES["test"]["color"]
    assert lines["test"].get_zorder() > lines["train"].get_zorder()
    _all_inside(fig)
