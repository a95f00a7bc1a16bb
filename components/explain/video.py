"""Explain one video: predict it as ``har predict`` does, map the evidence, draw it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

from components.explain.figure import lift_figure, streams_figure
from components.explain.gradcam import gradcam
from components.explain.inputs import middle_sample, predict, represent
from components.explain.lift_maps import lift_net_maps
from components.inference.trained import TrainedModel

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from components.models.lift_net import LiftNet

LIFT_LABELS = {"cross_attention": "cross-attention", "fourier": "Fourier block (FoE)"}


@dataclass(frozen=True)
class Explanation:
    """The picture and what it says."""

    figure: Figure
    label: str
    probability: float
    title: str


def _title(parts: Mapping[str, TrainedModel], video: Path, label: str, prob: float) -> str:
    from components.training.figures import model_title

    models = " + ".join(model_title(p.job, str(p.info.get("model", ""))) for p in parts.values())
    return f"{video.name}: predicted {label} ({prob:.0%}) — {models}"


def explain_video(parts: Mapping[str, TrainedModel], video: Path) -> Explanation:
    """The explanation picture of ``video`` under ``parts`` (:func:`load_parts`).

    LIFT-Net: :func:`lift_net_maps` over a few frames of the middle clip. The
    streams (``normal`` and/or ``motion``): Grad-CAM of the predicted class on the
    middle MEI and its base frame. The predicted class is the video-level one
    (``har predict``'s, fused over the parts); the maps are of one sample.

    Raises:
        InputError: the video is missing, undecodable or too short.
        ValueError: a model that has no maps here (the R(2+1)D teacher).
    """
    video = Path(video)
    records = {}
    for name, part in parts.items():
        key, records[name] = represent(part, video)
    probs = predict(parts, records, video)
    classes = next(iter(parts.values())).classes
    target = int(np.argmax(probs))
    label, prob = classes[target], float(probs[target])
    title = _title(parts, video, label, prob)
    if any("lum" in p.kinds for p in parts.values()):
        if len(parts) != 1:
            raise ValueError("explain LIFT-Net on its own, not fused with other models")
        part = next(iter(parts.values()))
        sample = middle_sample(part, records[part.job], key, video)
        model = cast("LiftNet", part.model)  # the one model with a luminous input
        maps = {k: v.numpy() for k, v in lift_net_maps(model, *sample.inputs).items()}
        return Explanation(lift_figure(title, sample.images, sample.positions, maps,
                                       LIFT_LABELS), label, prob, title)
    columns = []
    for stream in ("normal", "motion"):
        stream_part = parts.get(stream)
        if stream_part is None:
            continue
        sample = middle_sample(stream_part, records[stream], key, video)
        cam = gradcam(stream_part.model, sample.inputs[0], target).numpy()
        kind = stream_part.kinds["frames" if stream == "normal" else "main"]
        what = (f"base frame {sample.positions[0]} ({kind})" if stream == "normal"
                else f"{kind.upper()} {sample.positions[0]}")
        columns += [(what, sample.images[0], None),
                    (f"Grad-CAM, {stream} stream", sample.images[0], cam)]
    if not columns:
        raise ValueError(f"cannot explain {', '.join(parts)}: only LIFT-Net and the 2D "
                         "streams (normal, motion) have maps")
    return Explanation(streams_figure(title, columns), label, prob, title)
