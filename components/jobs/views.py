"""Test-time spatial views of a clip: the crops of PySlowFast's and MMAction2's
multi-view test, for shards that hold frames at the model's input size.

Their test resizes a video's short side to the crop size and takes 3 crops along
the long side. The shards here are already at the model's size, so a crop is a
square of ``CROP_SCALE`` times the short side, taken at evenly spaced positions
along the longer side (the width when the frame is square) and resized back to the
frame's size: a zoom by ``1 / CROP_SCALE``, like training's affine zoom.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: Crop side over short side: 224 / 256, the ratio of the references' tests.
CROP_SCALE = 0.875


def crop_boxes(height: int, width: int, count: int,
               scale: float = CROP_SCALE) -> list[tuple[int, int, int]]:
    """(top, left, side) in pixels of ``count`` square crops of a ``height`` x
    ``width`` frame; one crop is the whole frame (side = the short side)."""
    if count < 1:
        raise ValueError(f"crops must be >= 1, got {count}")
    if not 0.0 < scale <= 1.0:
        raise ValueError(f"crop scale must be in (0, 1], got {scale}")
    short = min(height, width)
    side = short if count == 1 else max(1, round(scale * short))
    along_width = width >= height
    free = (width if along_width else height) - side
    across = ((height if along_width else width) - side) // 2
    offsets = [free // 2] if count == 1 else [round(i * free / (count - 1)) for i in range(count)]
    return [(across, o, side) if along_width else (o, across, side) for o in offsets]


def crop_view(clip_tchw: torch.Tensor, index: int, count: int, *, is_flow: bool = False,
              scale: float = CROP_SCALE) -> torch.Tensor:
    """Crop ``index`` of ``count`` of a (T, C, H, W) float clip, resized back to (H, W).

    ``count`` 1 on a square frame returns the clip unchanged. For optical flow
    (C = 2, values in [0, 1], 0.5 = still) the vectors are scaled by the zoom, as
    displacements in pixels grow with it (values clipped to [0, 1])."""
    t, c, h, w = clip_tchw.shape
    top, left, side = crop_boxes(h, w, count, scale)[index]
    if (side, side) == (h, w):
        return clip_tchw
    crop = clip_tchw[:, :, top:top + side, left:left + side]
    out = F.interpolate(crop, size=(h, w), mode="bilinear", align_corners=False)
    if is_flow:
        zoom = torch.tensor([w / side, h / side], dtype=out.dtype).view(1, 2, 1, 1)
        out = (0.5 + (out - 0.5) * zoom).clamp(0.0, 1.0)
    return out
