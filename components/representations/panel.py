"""A picture of every representation of one clip, in the spirit of Figure 7 of the MEI paper.

One row per sampled batch: base frame | gradient MEI | equal MEI | gamma-corrected |
optical flow (direction as hue, magnitude as value) | rank-pooled image.
:func:`panel_cells` computes the images (numpy/OpenCV); :func:`panel_figure` lays
them out for people: frames enlarged without smoothing (nearest neighbour) to at
least ``min_cell_px`` pixels, each column named in full, each row named by its
class, video and frames. Returns a Matplotlib figure; the caller writes the file.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from components._figures import fit_to_text, new_figure
from components.representations.flow import dequantize_flow, flow_to_rgb, optical_flow
from components.representations.gamma import apply_lut, gamma_correct, gamma_lut, mean_luminance
from components.representations.kinds import KindParams
from components.representations.mei import motion_embedded_images
from components.representations.rank_pool import rank_pooled_images

if TYPE_CHECKING:
    from matplotlib.figure import Figure

COLUMNS = ("base frame", "gradient MEI", "equal MEI", "gamma-corrected", "optical flow",
           "rank-pooled")
DARK_MEAN_LUMINANCE = 0.15  # below this (0..1), raw-derived cells are brightened for display
MIN_CELL_PX = 128  # smallest side of a drawn cell: a 32 px frame is shown 4x


@dataclass(frozen=True)
class PanelCells:
    """The images of a panel.

    Attributes:
        cells: (rows, 6, H, W, 3) uint8 RGB, columns in :data:`COLUMNS` order.
        spans: per row, the first and last frame (0-based, inclusive) of its batch.
        dark: whether the clip is dark (columns 1-3 are shown through gamma 3).
    """

    cells: np.ndarray
    spans: tuple[tuple[int, int], ...]
    dark: bool


def panel_cells(frames_thwc_uint8: np.ndarray, params: KindParams, max_rows: int = 4
                ) -> PanelCells:
    """Every representation of up to ``max_rows`` batches of one clip.

    Rows are MEI batches, evenly sampled when there are more than ``max_rows``. Each
    column is computed over the same batch of ``n`` frames: flow is the last frame
    pair of the batch, the rank-pooled image pools the batch's frames. Flow is
    drawn with full brightness at the clip's 99th-percentile speed (not at
    ``bound``, which would leave slow motion invisible). For a dark clip, the base
    frame and MEI cells are shown through the gamma lookup table (the images
    themselves are computed from the raw frames).

    Args:
        frames_thwc_uint8: (T, H, W, 3) uint8 RGB clip, T >= 2.
        params: the representation parameters (``represent`` section).
        max_rows: most batches to show.
    """
    frames = np.ascontiguousarray(frames_thwc_uint8)
    n, interval = params.mei.n, params.mei.interval
    gradient, base = motion_embedded_images(frames, n, interval, "gradient")
    equal, _ = motion_embedded_images(frames, n, interval, "equal")
    gamma = gamma_correct(frames, params.gamma.gamma, target_mean=params.gamma.target_mean)
    dark = mean_luminance(frames) < DARK_MEAN_LUMINANCE
    display_lut = gamma_lut(3.0) if dark else None
    rows_idx = np.linspace(0, len(base) - 1, min(max_rows, len(base))).round().astype(int)
    h, w = frames.shape[1:3]
    rows, spans = [], []
    for k in rows_idx:
        last = int(base[k])
        first = max(last - n + 1, 0)
        pair = frames[max(last - 1, 0) : last + 1]
        if len(pair) == 2:
            flow = optical_flow(pair, params.flow.method, params.flow.bound,
                                raft_weights=params.flow.raft_weights, device=params.flow.device)
            speed = np.hypot(*np.moveaxis(dequantize_flow(flow[0], params.flow.bound), -1, 0))
            top = max(float(np.percentile(speed, 99)), 0.5)
            flow_img = flow_to_rgb(flow[0], params.flow.bound, max_magnitude=top)
        else:
            flow_img = np.zeros((h, w, 3), np.uint8)
        rank = rank_pooled_images(frames[first : last + 1], window=last + 1 - first,
                                  stride=last + 1 - first)[0]
        raw_cells = [frames[last], gradient[k], equal[k]]
        if display_lut is not None:
            raw_cells = [apply_lut(c, display_lut) for c in raw_cells]
        cells = [*raw_cells, gamma[last], flow_img, rank]
        rows.append(np.stack([_as_rgb(c) for c in cells]))
        spans.append((first, last))
    return PanelCells(np.stack(rows), tuple(spans), bool(dark))


def panel_figure(panel: PanelCells, title: str = "", row_label: str = "",
                 min_cell_px: int = MIN_CELL_PX) -> Figure:
    """Lay out a panel for people.

    Args:
        panel: the images (:func:`panel_cells`).
        title: over the picture (the class, the video, the dataset).
        row_label: first line of every row's label (the class); the frames follow.
        min_cell_px: each frame is enlarged by the smallest whole factor that makes
            its shorter side at least this many pixels (nearest neighbour: the
            pixels stay sharp squares).

    Returns:
        A figure of ``rows x 6`` cells, column names over the top row, labels at
        the left, every text inside the figure.
    """
    rows, cols, h, w = panel.cells.shape[:4]
    factor = max(1, math.ceil(min_cell_px / min(h, w)))
    cell_h, cell_w = h * factor, w * factor
    # Room for the labels at the left and the title and column names on top; the
    # constrained layout, then fit_to_text, settle the exact margins.
    fig = new_figure((cols * (cell_w + 8) + 190) / 100, (rows * (cell_h + 8) + 110) / 100)
    axes = fig.subplots(rows, cols, squeeze=False, gridspec_kw={"wspace": 0.01,
                                                                "hspace": 0.01})
    width_chars = max(8, cell_w // 8)  # about 8 px per character at 10 pt
    for r in range(rows):
        first, last = panel.spans[r]
        for c in range(cols):
            ax = axes[r, c]
            image = panel.cells[r, c].repeat(factor, axis=0).repeat(factor, axis=1)
            ax.imshow(image, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(textwrap.fill(COLUMNS[c], width_chars), fontsize=10)
        label = f"frames {first}-{last}"
        axes[r, 0].set_ylabel(f"{row_label}\n{label}" if row_label else label, rotation=0,
                              ha="right", va="center", fontsize=9, labelpad=6)
    if panel.dark:
        title = f"{title}\n(dark clip: base frame and MEIs shown at gamma 3)".strip()
    if title:
        fig.suptitle(title, fontsize=11)
    return fit_to_text(fig)


def representation_panel(frames_thwc_uint8: np.ndarray, params: KindParams, max_rows: int = 4,
                         title: str = "", row_label: str = "",
                         min_cell_px: int = MIN_CELL_PX) -> Figure:
    """:func:`panel_cells` drawn by :func:`panel_figure`."""
    return panel_figure(panel_cells(frames_thwc_uint8, params, max_rows), title, row_label,
                        min_cell_px)


def _as_rgb(image: np.ndarray) -> np.ndarray:
    return np.repeat(image, 3, axis=2) if image.shape[-1] == 1 else image
