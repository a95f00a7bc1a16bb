"""Explanation pictures: the frames, the maps over them, the predicted label.

Frames are enlarged (nearest neighbour) to at least :data:`MIN_SIDE` px a side,
as ``har show`` does, so a 32 px frame is readable, and brightened (:func:`brighten`) so a dark one
is visible; each map is drawn over its
frame in a colour scale with a colour bar (0: no evidence, 1: the strongest).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from components._figures import fit_to_text, new_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.image import AxesImage

MIN_SIDE = 128
ALPHA = 0.5
CMAP = "jet"


def enlarge(image: np.ndarray, min_side: int = MIN_SIDE) -> np.ndarray:
    """(H, W[, C]) enlarged by a whole factor (nearest) to at least ``min_side`` a side."""
    scale = max(1, math.ceil(min_side / max(1, min(image.shape[:2]))))
    return np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)


def brighten(image: np.ndarray) -> np.ndarray:
    """uint8 image stretched so its 99th percentile is white: a dark frame becomes
    visible (display only; the model saw the frame as it is)."""
    top = float(np.percentile(image, 99))
    if top <= 0 or top >= 255:
        return image
    return np.clip(image.astype(np.float32) * (255.0 / top), 0, 255).astype(np.uint8)


def _show(ax: Axes, image: np.ndarray, heat: np.ndarray | None, caption: str
          ) -> AxesImage | None:
    picture = brighten(image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image)
    ax.imshow(enlarge(picture), cmap="gray" if picture.ndim == 2 else None,
              interpolation="nearest")
    shown = None
    if heat is not None:
        shown = ax.imshow(enlarge(np.asarray(heat, dtype=np.float32)), cmap=CMAP, alpha=ALPHA,
                          vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_title(caption, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return shown


def streams_figure(title: str, columns: Sequence[tuple[str, np.ndarray, np.ndarray | None]]
                   ) -> Figure:
    """One row: ``(caption, image (H, W, C) uint8, map (H, W) in 0..1 or None)`` per column
    (base frame | Grad-CAM over it | MEI | Grad-CAM over it), one colour bar."""
    fig = new_figure(2.3 * len(columns) + 0.9, 3.2)
    axes = fig.subplots(1, len(columns), squeeze=False)[0]
    mappable = None
    for ax, (caption, image, heat) in zip(axes, columns, strict=True):
        mappable = _show(ax, image, heat, caption) or mappable
    if mappable is not None:
        fig.colorbar(mappable, ax=list(axes), shrink=0.8, label="Grad-CAM (0 to 1)")
    fig.suptitle(title, fontsize=11)
    return fit_to_text(fig)


def lift_figure(title: str, frames: np.ndarray, positions: Sequence[int],
                maps: dict[str, np.ndarray], labels: dict[str, str], rows: int = 4) -> Figure:
    """Rows = up to ``rows`` evenly spaced frames of the clip; columns: the frame, then
    one overlay per map.

    Args:
        title: the figure's title (video, model, predicted label).
        frames: uint8 (T, H, W, C) the clip's raw frames.
        positions: (T,) each frame's index in the decoded video (row captions).
        maps: name -> (T, H, W) in 0..1.
        labels: name -> column caption (``cross-attention``).
        rows: the most frames shown.
    """
    t = len(frames)
    picks = sorted({int(round(i)) for i in np.linspace(0, t - 1, min(rows, t))})
    names = list(maps)
    fig = new_figure(2.1 * (1 + len(names)) + 1.0, 2.2 * len(picks) + 0.8)
    axes = fig.subplots(len(picks), 1 + len(names), squeeze=False)
    mappable = None
    for row, i in zip(axes, picks, strict=True):
        _show(row[0], frames[i], None, f"frame {positions[i]} (brightened)")
        for ax, name in zip(row[1:], names, strict=True):
            mappable = _show(ax, frames[i], maps[name][i], labels.get(name, name)) or mappable
    if mappable is not None:
        fig.colorbar(mappable, ax=axes.ravel().tolist(), shrink=0.6,
                     label="relevance (clip min 0 to max 1)")
    fig.suptitle(title, fontsize=11)
    return fit_to_text(fig)
