"""Grad-CAM (Selvaraju et al., 2017) for the 2D stream CNNs, hand-written with hooks.

The map says where in the image the activations of one convolutional layer
raise the score of one class: each channel is weighted by the spatial mean of
the class logit's gradient over it, the weighted channels are summed, negative
evidence is cut (ReLU), and the result is upsampled to the input and scaled to
0..1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def default_layer(model: nn.Module) -> nn.Module:
    """The last convolutional stage of a stream CNN: the layer Grad-CAM reads.

    :class:`~components.models.streams.SmallCNN`: its ``features`` (the last
    block's ReLU output, before global pooling);
    :class:`~components.models.streams.StreamCNN`: the timm backbone's last
    feature stage (``feature_info[-1]``).

    Raises:
        ValueError: a model with neither (an ensemble: explain one member).
    """
    features = getattr(model, "features", None)
    if isinstance(features, nn.Module):
        return features
    backbone = getattr(model, "backbone", None)
    info = getattr(backbone, "feature_info", None)
    if backbone is not None and info:
        return backbone.get_submodule(info[-1]["module"])
    raise ValueError(f"no convolutional stage found in {type(model).__name__}: "
                     "Grad-CAM needs a SmallCNN or a timm StreamCNN")


def gradcam(model: nn.Module, inputs: torch.Tensor, target_class: int,
            layer: nn.Module | None = None) -> torch.Tensor:
    """Grad-CAM map of ``target_class`` for one image.

    Args:
        model: a 2D CNN, images (B, C, H, W) -> logits (B, K); eval mode is the
            caller's choice (BatchNorm in train mode mixes the batch in).
        inputs: (C, H, W) or (1, C, H, W) float32, normalised as the model was trained.
        target_class: the class k whose logit is explained.
        layer: the module whose output (1, C', h, w) is weighted
            (:func:`default_layer` when None).

    Returns:
        (H, W) float32 map in 0..1 on the input's device (all zeros when no
        location has positive evidence).
    """
    x = inputs if inputs.dim() == 4 else inputs.unsqueeze(0)
    if x.shape[0] != 1:
        raise ValueError(f"gradcam explains one image, got a batch of {x.shape[0]}")
    layer = layer if layer is not None else default_layer(model)
    saved: dict[str, torch.Tensor] = {}

    def keep(_module: nn.Module, _args: object, output: torch.Tensor) -> None:
        saved["act"] = output

    handle = layer.register_forward_hook(keep)
    try:
        with torch.enable_grad():
            # frozen weights still need a graph from the input to the layer
            logits = model(x.detach().clone().requires_grad_(True))
            if not 0 <= target_class < logits.shape[1]:
                raise ValueError(f"target_class {target_class} not in 0..{logits.shape[1] - 1}")
            # autograd.grad, not backward(): the model's .grad fields stay untouched
            (grad,) = torch.autograd.grad(logits[0, target_class], saved["act"])
    finally:
        handle.remove()
    act = saved["act"].detach()
    weights = grad.mean(dim=(2, 3), keepdim=True)  # (1, C', 1, 1)
    cam = F.relu((weights * act).sum(dim=1, keepdim=True))  # (1, 1, h, w)
    cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
    peak = cam.max()
    return (cam / peak if peak > 0 else cam).float()
