"""Motion and light representations of video clips: pure array functions.

Every function takes a (T, H, W, C) uint8 clip (C = 3 is RGB, the decoder's order)
and returns uint8 arrays; none reads or writes files, and none imports Ray, MLflow,
Prefect, DVC or PyAV. torch/torchvision are imported only inside the RAFT path of
:func:`optical_flow`. Bad clips or parameters raise :class:`RepresentationError`
(a ``ValueError``), which the calling stage reports with the video's path.

* :func:`motion_embedded_images`: MEI batches (equal or gradient weights) and the
  index of each batch's base frame.
* :func:`gamma_correct`: gamma intensity correction through a lookup table, fixed or
  adaptive (``gamma="auto"``, see :func:`adaptive_gamma`).
* :func:`optical_flow`: TV-L1, Farneback, DIS or RAFT flow, quantised TSN style;
  :func:`flow_to_rgb` draws it.
* :func:`rank_pooled_images`: dynamic images by approximate rank pooling.
"""

from __future__ import annotations

from components.representations._checks import RepresentationError
from components.representations.flow import (
    dequantize_flow,
    flow_to_rgb,
    optical_flow,
    quantize_flow,
    to_gray,
)
from components.representations.gamma import (
    adaptive_gamma,
    apply_lut,
    gamma_correct,
    gamma_lut,
    mean_luminance,
)
from components.representations.mei import mei_weights, motion_embedded_images
from components.representations.rank_pool import rank_pool_coefficients, rank_pooled_images

__all__ = [
    "RepresentationError",
    "adaptive_gamma",
    "apply_lut",
    "dequantize_flow",
    "flow_to_rgb",
    "gamma_correct",
    "gamma_lut",
    "mean_luminance",
    "mei_weights",
    "motion_embedded_images",
    "optical_flow",
    "quantize_flow",
    "rank_pool_coefficients",
    "rank_pooled_images",
    "to_gray",
]
