"""What a model is fed: a shard's uint8 items as floats, normalised per channel
(the datasets of :mod:`.datasets` do it after augmentation, so every model gets
normalised floats).

* RGB for the ViT and the 2D CNNs: ImageNet mean/std (``IMAGENET_MEAN/STD``).
  NOTE: timm's augreg ViT checkpoints were trained with mean = std = 0.5
  (``NORMALISATIONS["half"]``); ImageNet statistics are used for every 2D input.
* gamma-corrected clips for R(2+1)D: Kinetics-400 mean/std (torchvision's).
* optical flow (x, y; 0..255 <-> -bound..+bound pixels): mapped to [-1, 1].
"""

from __future__ import annotations

import numpy as np
import torch

from components.representations.flow import FLOW_CHANNELS

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)
#: name -> (mean, std) per channel; "flow" maps [0, 1] to [-1, 1].
NORMALISATIONS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "imagenet": (IMAGENET_MEAN, IMAGENET_STD),
    "kinetics": (KINETICS_MEAN, KINETICS_STD),
    "half": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    "flow": ((0.5,) * FLOW_CHANNELS, (0.5,) * FLOW_CHANNELS),
}


def normalisation_for(kind: str, *, video_model: bool) -> str:
    """The normalisation of a representation kind: flow -> ``flow``; RGB for the video
    teacher/trunk -> ``kinetics``; RGB for the ViT and 2D CNNs -> ``imagenet``."""
    if kind == "flow":
        return "flow"
    return "kinetics" if video_model else "imagenet"


def normalise(x_tchw: torch.Tensor, name: str) -> torch.Tensor:
    """(T, C, H, W) float in [0, 1] -> normalised with ``NORMALISATIONS[name]``."""
    mean, std = NORMALISATIONS[name]
    if len(mean) != x_tchw.shape[1]:
        raise ValueError(f"normalisation {name!r} is for {len(mean)} channels, "
                         f"got {x_tchw.shape[1]}")
    m = torch.tensor(mean, dtype=x_tchw.dtype).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=x_tchw.dtype).view(1, -1, 1, 1)
    return (x_tchw - m) / s


def to_float_tchw(items_khwc_uint8: np.ndarray) -> torch.Tensor:
    """uint8 (T, H, W, C) -> float32 (T, C, H, W) in [0, 1]."""
    array = np.require(items_khwc_uint8, requirements=("C_CONTIGUOUS", "WRITEABLE"))
    return torch.from_numpy(array).permute(0, 3, 1, 2).float().div_(255.0)
