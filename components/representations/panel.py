"""A picture of every representation of one clip, in the spirit of Figure 7 of the MEI paper.

One row per sampled batch: base frame | gradient MEI | equal MEI | gamma-corrected |
optical flow (direction as hue, magnitude as value) | rank-pooled image. Pure
numpy/OpenCV drawing: returns an RGB uint8 image; the caller writes the file.
"""

from __future__ import annotations

import cv2
import numpy as np

from components.representations.flow import dequantize_flow, flow_to_rgb, optical_flow
from components.representations.gamma import apply_lut, gamma_correct, gamma_lut, mean_luminance
from components.representations.kinds import KindParams
from components.representations.mei import motion_embedded_images
from components.representations.rank_pool import rank_pooled_images

COLUMNS = ("base frame", "gradient MEI", "equal MEI", "gamma", "flow", "rank pooled")
DARK_MEAN_LUMINANCE = 0.15  # below this (0..1), raw-derived cells are brightened for display


def _label(text: str, width: int, height: int = 18) -> np.ndarray:
    strip = np.full((height, width, 3), 255, np.uint8)
    scale = 0.35 if width < 120 else 0.45
    cv2.putText(strip, text, (3, height - 5), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1,
                cv2.LINE_AA)
    return strip


def representation_panel(
    frames_thwc_uint8: np.ndarray, params: KindParams, max_rows: int = 4, title: str = ""
) -> np.ndarray:
    """Compose the panel for one clip; uint8 RGB ``(rows*h + header, 6*w, 3)``.

    Rows are MEI batches, evenly sampled when there are more than ``max_rows``. Each
    column is computed over the same batch of ``n`` frames: flow is the last frame
    pair of the batch, the rank-pooled image pools the batch's frames. Flow is
    drawn with full brightness at the clip's 99th-percentile speed (not at
    ``bound``, which would leave slow motion invisible). For a dark clip, the base
    frame and MEI cells are shown through the gamma lookup table (the images
    themselves are computed from the raw frames) and the title says so.
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
    rows = []
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
        rows.append(np.concatenate([_as_rgb(c) for c in cells], axis=1))
    header = np.concatenate([_label(c, w) for c in COLUMNS], axis=1)
    body = np.concatenate([header, *rows], axis=0)
    if dark:
        title = f"{title} (dark: cols 1-3 shown at gamma 3)".strip()
    if title:
        body = np.concatenate([_label(title, body.shape[1], 22), body], axis=0)
    return body


def _as_rgb(image: np.ndarray) -> np.ndarray:
    return np.repeat(image, 3, axis=2) if image.shape[-1] == 1 else image
